"""Findings are data: what the rules return, and what every rendering (JSON, terminal, Markdown,
HTML) is made from. The JSON contract is `docs/findings.md`; the report can be rebuilt from the
JSON alone, so nothing a renderer needs lives only in Python objects.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from forensics.analysis import causes as _causes

# a rule that raised becomes a finding of this cause instead of aborting the run
INTERNAL_CAUSES = _causes.internal_ids()


def __getattr__(name: str) -> tuple[str, ...]:
    """`CAUSES` (the vocabulary), `ARCH_CAUSES` and `COMMON_CAUSES`, derived from what the rule
    modules declare (`forensics.analysis.causes`). Derived on first use: the rule modules import this module,
    so it cannot import them while it loads."""
    if name == "CAUSES":
        return _causes.ids()
    if name == "ARCH_CAUSES":
        return _causes.arch_ids()
    if name == "COMMON_CAUSES":
        return tuple(c for c in _causes.ids() if c not in _causes.arch_ids() and c not in INTERNAL_CAUSES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")


def severity_rank(s: str) -> int:
    return SEVERITIES.index(s) if s in SEVERITIES else -1


@dataclass
class Evidence:
    """One fact a finding rests on, pointing at the dump file and object (and line) it came from."""

    kind: str  # log | termination-message | waiting-message | event | image | node | pod | binfmt | workload
    file: str  # path inside the dump, as the layout spells it
    object: str  # "Pod ns/name", "Node name", "Image ref", ...
    text: str  # the fact, or the log line verbatim
    line: int | None = None  # 1-based line in `file`, for logs
    snapshot: str | None = None
    supports: str | None = None  # the cause id this item supports (None: the primary cause)


@dataclass
class MissingEvidence:
    what: str  # what is missing
    why: str  # what it would confirm or refute
    how: str = ""  # how to collect it


@dataclass
class Remediation:
    title: str
    command: str = ""  # shell or YAML, with the workload's real names filled in
    kind: str = "action"  # rebuild | ci-check | pin | restart | config | resources | investigate


@dataclass
class Workload:
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        # nodes are cluster-scoped: no namespace
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


def finding_id(cause: str, w: Workload) -> str:
    """The stable id of the finding of `cause` about `w` (what `caused_by` points at)."""
    return _id(f"{cause}|{w.kind}|{w.namespace}|{w.name}")


@functools.lru_cache(maxsize=1 << 16)
def _id(key: str) -> str:
    # asked for many times per finding (linking, ordering, rendering); a sha256 costs tens of µs here
    return "f-" + hashlib.sha256(key.encode()).hexdigest()[:10]


@dataclass
class Finding:
    cause: str
    severity: Severity
    confidence: float
    workload: Workload
    summary: str  # one sentence a reader can act on
    contributing: list[str] = field(default_factory=list)
    latent: bool = False
    pods: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)  # {ref, digest, kind, media_type, platforms}
    node_archs: list[str] = field(default_factory=list)
    restarts: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    missing_evidence: list[MissingEvidence] = field(default_factory=list)
    remediation: list[Remediation] = field(default_factory=list)
    restart_matrix: list[dict[str, Any]] = field(default_factory=list)  # {arch, node, pods, restarts, failing}
    timeline: list[dict[str, Any]] = field(default_factory=list)  # {at, what, source}
    # the id of the finding this one is a consequence of (docs/findings.md, "What caused what")
    caused_by: str | None = None
    # the findings this one causes: {id, cause, workload}; filled by the analysis, not by rules
    consequences: list[dict[str, Any]] = field(default_factory=list)
    # the workloads this cause takes down ("Kind ns/name"), for causes outside a workload (a node)
    takes_down: list[str] = field(default_factory=list)
    # [{from, to}]: when the workload was failing, per run of snapshots (filled by the analysis)
    failing_intervals: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return finding_id(self.cause, self.workload)

    def to_dict(self) -> dict[str, Any]:
        """The finding as plain JSON values (msgspec's converter: the fields of `asdict`, a tenth of
        its time on thousands of findings)."""
        d = msgspec.to_builtins(self, enc_hook=str)
        d = {"id": self.id, **d}
        d["confidence"] = round(float(self.confidence), 2)
        return d


def clamp(x: float) -> float:
    return max(0.0, min(1.0, x))
