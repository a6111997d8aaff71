"""image-pull-auth: the registry refused to serve the image to the node: no imagePullSecret, a
wrong or expired one (ECR tokens last 12 hours), or a secret in another namespace. Symptom: pods
stuck in ErrImagePull / ImagePullBackOff; the kubelet's `Failed` event and the ErrImagePull message
carry the registry's answer: `pull access denied`, `unauthorized: authentication required`,
`denied: requested access to the resource is denied`, `401 Unauthorized` / `403 Forbidden`.

Proof: a waiting pull reason together with one of those lines (in the waiting message or an event).
ImagePullBackOff alone proves nothing about why: its message is only `Back-off pulling image`.
Docker Hub answers `pull access denied ... repository does not exist or may require authorization`
for both a private and a missing repository: check both.
"""

from __future__ import annotations

from forensics.analysis.correlate import Context
from forensics.analysis.findings import Finding, Remediation
from forensics.analysis.rules import rule
from forensics.analysis.rules._restart import pod_spec_path, pull_findings, q, resource
from forensics.values import registry_of

CAUSE = "image-pull-auth"
TITLE = "Image pull denied (registry credentials)"
SPECIFICITY = 140
HINTS = ("image-pull-auth",)


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    out = pull_findings(
        ctx,
        CAUSE,
        "auth_sig",
        "image-pull-auth",
        "the registry refused the credentials (missing or wrong imagePullSecret)",
    )
    for f in out:
        w = f.workload
        ns = q(w.namespace)
        image = f.images[0]["ref"] if f.images else "<IMAGE>"
        reg = registry_of(image) if f.images else "<REGISTRY>"  # unknown: never docker.io by default
        spec = pod_spec_path(w)
        f.remediation.extend(
            [
                Remediation(
                    title="See which pull secrets the pods use (pod spec, else the service account)",
                    command=(
                        f"kubectl -n {ns} get {resource(w)} {q(w.name)} -o jsonpath="
                        + q(f'{{{spec}.imagePullSecrets}}{{"\\n"}}{{{spec}.serviceAccountName}}')
                        + "\n"
                        f"kubectl -n {ns} get serviceaccount default -o jsonpath='{{.imagePullSecrets}}'"
                    ),
                    kind="investigate",
                ),
                Remediation(
                    title=f"Check the credentials can pull {image} (from a machine that can reach {reg})",
                    command=f"docker login {q(reg)}\ndocker buildx imagetools inspect {q(image)}",
                    kind="investigate",
                ),
                Remediation(
                    title=f"Create a pull secret for {reg} in {w.namespace} and reference it",
                    command=(
                        f"kubectl -n {ns} create secret docker-registry regcred "
                        f"--docker-server={q(reg)} --docker-username=<USER> --docker-password=<TOKEN>\n"
                        f"kubectl -n {ns} patch serviceaccount default "
                        f'-p \'{{"imagePullSecrets":[{{"name":"regcred"}}]}}\''
                    ),
                    kind="config",
                ),
            ]
        )
    return out
