"""The findings document as types: what `forensics analyze -f json` writes and `forensics render`
reads (docs/findings.md is the prose of the same contract, and a test holds the two together).

The Structs describe exactly the fields `analyze()` produces. `render` decodes a document with
them, so a field of the wrong kind (a number where a list belongs) is refused with the field's
path (`$.findings[3].pods`) before any renderer sees it. Every field but `schema` has a default: a
document from an older producer that lacks a part still renders, as the reports tolerate missing
parts. Keys the producer writes only sometimes (`restart_history[].earlier_causes`) are `UNSET`
when absent, so a round trip writes what was read. Fields a foreign producer adds are ignored.

`schema()` is the JSON Schema generated from these types.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import UNSET, Struct, UnsetType, field

Severity = Literal["critical", "high", "medium", "low", "info"]


class _S(Struct, kw_only=True):
    """Base of the document's types (keyword construction, defaults anywhere)."""


class Tool(_S, kw_only=True):
    name: str = ""
    version: str = ""


class Snapshot(_S, kw_only=True):
    name: str
    observed_at: str | None = None


class Counts(_S, kw_only=True):
    nodes: int = 0
    pods: int = 0
    containers: int = 0
    workloads: int = 0
    events: int = 0
    images: int = 0
    logs: int = 0


class DumpFile(_S, kw_only=True):
    path: str
    size: int = 0
    sha256: str | None = None


class Dump(_S, kw_only=True):
    path: str = ""
    format: str = ""
    collected_at: str | None = None
    collected_at_derived: bool = False
    # as the collector recorded them (free-form mappings)
    cluster: dict[str, Any] = field(default_factory=dict)
    collector: dict[str, Any] = field(default_factory=dict)
    snapshots: list[Snapshot] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    commands_failed: list[dict[str, Any]] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    files: list[DumpFile] = field(default_factory=list)


class ArchitectureAnswer(_S, kw_only=True):
    answer: Literal["yes", "partly", "no", "unknown", "none"] = "none"
    sentence: str = ""


class CauseSummary(_S, kw_only=True):
    cause: str
    findings: int = 0
    max_confidence: float = 0.0
    sentence: str = ""


class Summary(_S, kw_only=True):
    verdict: str = ""
    architecture: ArchitectureAnswer = field(default_factory=ArchitectureAnswer)
    failing_workloads: int = 0
    failing_pods: int = 0
    affected_nodes: int = 0
    restarts: int = 0
    first_failure: str | None = None
    last_failure: str | None = None
    by_cause: dict[str, int] = field(default_factory=dict)
    causes: list[CauseSummary] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)


class Pool(_S, kw_only=True):
    pool: str
    arch: str
    instance_types: list[str] = field(default_factory=list)
    nodes: int = 0
    ready: int = 0
    first_created: str | None = None
    last_created: str | None = None


class InventoryNode(_S, kw_only=True):
    name: str
    arch: str | None = None
    variant: str | None = None
    os: str | None = None
    pool: str | None = None
    instance_type: str | None = None
    created: str | None = None
    ready: bool | None = None
    runtime: str | None = None
    runtime_version: str | None = None
    kernel: str | None = None
    os_image: str | None = None


class Inventory(_S, kw_only=True):
    architectures: dict[str, int] = field(default_factory=dict)
    pools: list[Pool] = field(default_factory=list)
    nodes: list[InventoryNode] = field(default_factory=list)
    nodes_total: int = 0


class Workload(_S, kw_only=True):
    kind: str
    namespace: str = ""
    name: str


class Image(_S, kw_only=True):
    ref: str
    digest: str | None = None
    kind: str = "unknown"
    media_type: str | None = None
    platforms: list[str] = field(default_factory=list)
    inspected: bool = False
    # written once the image was looked up in the dump's inspections
    attestations: int | UnsetType = UNSET
    config_arch: str | UnsetType | None = UNSET
    created: str | UnsetType | None = UNSET
    file: str | UnsetType | None = UNSET
    running_digests: list[str] | UnsetType = UNSET


class Evidence(_S, kw_only=True):
    kind: str
    file: str
    object: str
    text: str
    line: int | None = None
    snapshot: str | None = None
    supports: str | None = None


class MissingEvidence(_S, kw_only=True):
    what: str
    why: str = ""
    how: str = ""


class Remediation(_S, kw_only=True):
    title: str
    command: str = ""
    kind: str = "action"


class MatrixRow(_S, kw_only=True):
    arch: str | None = None
    node: str | None = None
    pods: int = 0
    restarts: int = 0
    failing: int = 0
    running: int = 0


class TimelineEvent(_S, kw_only=True):
    at: str | None = None
    what: str
    kind: str = ""
    source: str = ""


class Consequence(_S, kw_only=True):
    id: str
    cause: str
    workload: str


class Interval(_S, kw_only=True):
    from_: str | None = field(default=None, name="from")
    to: str | None = None


class Finding(_S, kw_only=True):
    id: str
    cause: str
    severity: Severity
    confidence: float
    workload: Workload
    summary: str = ""
    contributing: list[str] = field(default_factory=list)
    latent: bool = False
    pods: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    node_archs: list[str] = field(default_factory=list)
    restarts: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    missing_evidence: list[MissingEvidence] = field(default_factory=list)
    remediation: list[Remediation] = field(default_factory=list)
    restart_matrix: list[MatrixRow] = field(default_factory=list)
    timeline: list[TimelineEvent] = field(default_factory=list)
    caused_by: str | None = None
    consequences: list[Consequence] = field(default_factory=list)
    takes_down: list[str] = field(default_factory=list)
    failing_intervals: list[Interval] = field(default_factory=list)


class EarlierCause(_S, kw_only=True):
    cause: str
    summary: str = ""
    confidence: float = 0.0


class RestartHistory(_S, kw_only=True):
    workload: Workload
    pods: list[str] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    restarts: int = 0
    last_reasons: list[str] = field(default_factory=list)
    last_reason: str | None = None
    last_exit_code: int | None = None
    last_finished: str | None = None
    # absent for a workload known only from an earlier finding
    last_message: str | UnsetType | None = UNSET
    node_event: bool = False
    severity: Severity = "info"
    note: str = ""
    file: str | None = None
    earlier_causes: list[EarlierCause] | UnsetType = UNSET


class SeriesRow(_S, kw_only=True):
    snapshot: str
    at: str | None = None
    arch: str
    restarts: int = 0
    failing_pods: int = 0


class Series(_S, kw_only=True):
    restarts_by_arch: list[SeriesRow] = field(default_factory=list)


class Gap(_S, kw_only=True):
    what: str
    impact: str = ""
    relevant: bool = True


class LoadProblem(_S, kw_only=True):
    file: str
    what: str
    why: str = ""


class FindingsDocument(_S, kw_only=True):
    schema: str
    tool: Tool = field(default_factory=Tool)
    dump: Dump = field(default_factory=Dump)
    summary: Summary = field(default_factory=Summary)
    inventory: Inventory = field(default_factory=Inventory)
    findings: list[Finding] = field(default_factory=list)
    latent: list[Finding] = field(default_factory=list)
    restart_history: list[RestartHistory] = field(default_factory=list)
    series: Series = field(default_factory=Series)
    timeline: list[TimelineEvent] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    load_problems: list[LoadProblem] = field(default_factory=list)


_DECODER = msgspec.json.Decoder(FindingsDocument)


def decode(data: bytes) -> FindingsDocument:
    """The document in `data`, validated; raises `msgspec.ValidationError` naming the first field
    of the wrong kind (`Expected `array`, got `int` - at `$.findings[3].pods``), or
    `msgspec.DecodeError` for bytes that are not JSON."""
    return _DECODER.decode(data)


def convert(doc: dict[str, Any]) -> FindingsDocument:
    """A document built in memory (`analyze()`'s dict), validated like `decode`."""
    return msgspec.convert(doc, FindingsDocument)


def schema() -> dict[str, Any]:
    """The JSON Schema of the findings document, generated from the types above."""
    return msgspec.json.schema(FindingsDocument)
