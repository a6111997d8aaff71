"""image-pull-network: the node could not fetch the image for a reason on the way, not the
registry's refusal nor a missing tag: a TLS failure (`x509: certificate signed by unknown
authority`, `certificate is valid for a, not b`: a proxy or a private registry's own CA), a DNS
failure (`dial tcp: lookup r.example: no such host`), a timeout (`i/o timeout`, `TLS handshake
timeout`, `Client.Timeout exceeded`), or a rate limit (`toomanyrequests`, `429 Too Many Requests`
from Docker Hub). Symptom: pods stuck in ErrImagePull / ImagePullBackOff; the kubelet's `Failed`
event carries the error.

Proof: a waiting pull reason together with one of those lines (waiting message or event). Never
`image-pull-auth` (credentials) or `image-pull-not-found` (tag): those rules own the registry's answers.
"""

from __future__ import annotations

from forensics.analysis.correlate import Context
from forensics.analysis.findings import Finding, Remediation
from forensics.analysis.rules import rule
from forensics.analysis.rules._restart import pull_findings, q
from forensics.values import registry_of

CAUSE = "image-pull-network"
TITLE = "Image pull failed on the way (TLS, DNS, timeout, rate limit)"
SPECIFICITY = 120
HINTS = ("image-pull-network", "image-pull-tls")


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    out = pull_findings(
        ctx,
        CAUSE,
        "net_sig",
        "image-pull-network",
        "the pull failed on the way to the registry (TLS, DNS, timeout or rate limit)",
    )
    for f in out:
        image = f.images[0]["ref"] if f.images else "its image"
        reg = registry_of(image) if f.images else "<REGISTRY>"  # unknown: never docker.io by default
        said = " ".join(e.text for e in f.evidence).lower()
        host = reg.rsplit(":", 1)[0] if reg.rsplit(":", 1)[-1].isdigit() else reg
        hostport = reg if host != reg else f"{reg}:443"
        if "x509" in said or "certificate" in said:
            f.summary = f"{f.workload} cannot pull {image}: the TLS certificate of {reg} is not trusted by the node"
            f.remediation.append(
                Remediation(
                    title=f"Check the certificate {reg} presents (a proxy or a private CA?) and trust "
                    f"that CA on the nodes "
                    "(containerd: /etc/containerd/certs.d/<registry>/ca.crt; docker: /etc/docker/certs.d/)",
                    command=f"openssl s_client -connect {q(hostport)} -servername {q(host)} </dev/null | "
                    "openssl x509 -noout -subject -issuer -ext subjectAltName",
                    kind="investigate",
                )
            )
        elif "toomanyrequests" in said or "429" in said:
            f.summary = f"{f.workload} cannot pull {image}: {reg} rate-limits the pulls"
            f.remediation.append(
                Remediation(
                    title=f"Pull with an authenticated account or through a mirror/cache so {reg}'s anonymous limit "
                    "does not apply",
                    command="kubectl create secret docker-registry regcred --docker-server=https://index.docker.io/v1/ "
                    "--docker-username=<USER> --docker-password=<TOKEN>",
                    kind="config",
                )
            )
        else:
            f.remediation.append(
                Remediation(
                    title=f"Check the nodes resolve and reach {reg} (DNS, proxy, firewall, egress)",
                    command=f"# on a node: getent hosts {q(reg)}; curl -sv https://{reg}/v2/ -o /dev/null\n"
                    f"# with a proxy: systemctl show containerd --property=Environment",
                    kind="investigate",
                )
            )
    return out
