"""image-pull-not-found: the image reference names a tag, digest or repository the registry does
not have: a typo, a tag never pushed (a failed CI push), a tag deleted by a retention policy.
Symptom: pods stuck in ErrImagePull / ImagePullBackOff; the registry's answer is in the
ErrImagePull message and the kubelet's `Failed` event: containerd `failed to resolve reference
"r": r: not found`, `manifest unknown`, Docker `manifest for r not found`.

Proof: a waiting pull reason together with one of those lines. A platform miss (`no match for
platform in manifest: not found`) is an architecture cause, not this one.
"""

from __future__ import annotations

from forensics.analysis.correlate import Context
from forensics.analysis.findings import Finding, Remediation
from forensics.analysis.rules import rule
from forensics.analysis.rules._common import container_known
from forensics.analysis.rules._restart import pull_findings, q, repo_of, resource

CAUSE = "image-pull-not-found"
TITLE = "Image or tag not found"
SPECIFICITY = 130
HINTS = ("image-pull-not-found",)


@rule(CAUSE)
def find(ctx: Context) -> list[Finding]:
    out = pull_findings(
        ctx, CAUSE, "notfound_sig", "image-pull-not-found", "the registry has no such tag, digest or repository"
    )
    for f in out:
        w = f.workload
        for img in f.images[:3]:
            ref = img["ref"]
            repo = repo_of(ref)
            f.remediation.append(
                Remediation(
                    title=f"Check whether {ref} exists, and which tags the repository has",
                    command=f"docker buildx imagetools inspect {q(ref)}\ncrane ls {q(repo)}",
                    kind="investigate",
                )
            )
        containers = sorted({c.split("/", 1)[1] for c in f.containers})
        c = next((c for c in containers if container_known(c)), "<CONTAINER>")
        f.remediation.append(
            Remediation(
                title="Point the workload at a tag that exists (or push the missing one)",
                command=f"kubectl -n {q(w.namespace)} set image {resource(w)}/{q(w.name)} {q(c)}=<EXISTING_REF>",
                kind="config",
            )
        )
    return out
