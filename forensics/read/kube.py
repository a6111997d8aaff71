"""Typed decoding of `kubectl get <kind> -A -o json` lists: only the fields the analysis reads.

msgspec skips every field a Struct does not name (managedFields, annotations we do not need, the
spec's volumes but their claim names ...) without building Python objects for them, which is what
keeps a 150,000-pod dump within memory and time. Unknown or wrongly-typed values fail the decode of that one file,
which the loader records as a load problem.

`LIST_TYPES` maps the v1 layout's kind file names to their list type.
"""

from __future__ import annotations

from typing import Any

import msgspec


class _S(msgspec.Struct, rename="camel", omit_defaults=True):
    pass


class OwnerRef(_S):
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool | None = None


class Meta(_S):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    creation_timestamp: str | None = None
    labels: dict[str, str] | None = None
    owner_references: list[OwnerRef] | None = None


class NodeSelectorRequirement(_S):
    key: str = ""
    operator: str = ""
    values: list[str] | None = None


class NodeSelectorTerm(_S):
    match_expressions: list[NodeSelectorRequirement] | None = None


class NodeSelector(_S):
    node_selector_terms: list[NodeSelectorTerm] | None = None


class PreferredTerm(_S):
    weight: int = 0
    preference: NodeSelectorTerm | None = None


class NodeAffinity(_S):
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: list[PreferredTerm] | None = None


class Affinity(_S):
    node_affinity: NodeAffinity | None = None


class Probe(_S):
    failure_threshold: int | None = None
    period_seconds: int | None = None


class Resources(_S):
    # quantities: kubectl accepts YAML integers and floats (`cpu: 12`, `memory: 1073741824`) as well as strings
    limits: dict[str, str | int | float] | None = None
    requests: dict[str, str | int | float] | None = None


class Container(_S):
    name: str = ""
    image: str = ""
    command: list[str] | None = None
    termination_message_policy: str | None = None
    liveness_probe: Probe | None = None
    resources: Resources | None = None


class Toleration(_S):
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None


class ClaimSource(_S):
    claim_name: str = ""


class Volume(_S):
    persistent_volume_claim: ClaimSource | None = None


class PodSpec(_S):
    node_name: str | None = None
    node_selector: dict[str, str] | None = None
    affinity: Affinity | None = None
    containers: list[Container] = msgspec.field(default_factory=list)
    init_containers: list[Container] | None = None
    tolerations: list[Toleration] | None = None
    volumes: list[Volume] | None = None


class StateWaiting(_S):
    reason: str | None = None
    message: str | None = None


class StateRunning(_S):
    started_at: str | None = None


class StateTerminated(_S):
    exit_code: int | None = None
    signal: int | None = None
    reason: str | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


class ContainerState(_S):
    waiting: StateWaiting | None = None
    running: StateRunning | None = None
    terminated: StateTerminated | None = None


class ContainerStatus(_S):
    name: str = ""
    image: str = ""
    image_i_d: str = msgspec.field(default="", name="imageID")
    container_i_d: str | None = msgspec.field(default=None, name="containerID")
    restart_count: int = 0
    ready: bool = False
    started: bool | None = None
    state: ContainerState | None = None
    last_state: ContainerState | None = None


class PodCondition(_S):
    type: str = ""
    status: str = ""
    reason: str | None = None
    message: str | None = None


class PodStatus(_S):
    phase: str | None = None
    reason: str | None = None
    message: str | None = None
    start_time: str | None = None
    conditions: list[PodCondition] | None = None
    container_statuses: list[ContainerStatus] | None = None
    init_container_statuses: list[ContainerStatus] | None = None


class Pod(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: PodSpec = msgspec.field(default_factory=PodSpec)
    status: PodStatus = msgspec.field(default_factory=PodStatus)


class NodeInfo(_S):
    architecture: str = ""
    operating_system: str = ""
    kernel_version: str = ""
    os_image: str = ""
    container_runtime_version: str = ""
    kubelet_version: str = ""


class NodeCondition(_S):
    type: str = ""
    status: str = ""
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None


class NodeStatus(_S):
    node_info: NodeInfo = msgspec.field(default_factory=NodeInfo)
    conditions: list[NodeCondition] | None = None


class Taint(_S):
    key: str = ""
    value: str | None = None
    effect: str = ""


class NodeSpec(_S):
    unschedulable: bool | None = None
    taints: list[Taint] | None = None
    provider_i_d: str | None = msgspec.field(default=None, name="providerID")


class Node(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: NodeSpec = msgspec.field(default_factory=NodeSpec)
    status: NodeStatus = msgspec.field(default_factory=NodeStatus)


class ObjectRef(_S):
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    field_path: str | None = None


class EventSource(_S):
    component: str | None = None
    host: str | None = None


class EventSeries(_S):
    count: int | None = None
    last_observed_time: str | None = None


class Event(_S):
    """Both shapes: core/v1 (involvedObject, count, first/lastTimestamp, source) and
    events.k8s.io/v1 (regarding, note, series, eventTime, reportingController)."""

    metadata: Meta = msgspec.field(default_factory=Meta)
    involved_object: ObjectRef | None = None
    regarding: ObjectRef | None = None
    reason: str | None = None
    message: str | None = None
    note: str | None = None
    type: str | None = None
    count: int | None = None
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    event_time: str | None = None
    deprecated_count: int | None = None
    deprecated_first_timestamp: str | None = None
    deprecated_last_timestamp: str | None = None
    series: EventSeries | None = None
    source: EventSource | None = None
    deprecated_source: EventSource | None = None
    reporting_component: str | None = None
    reporting_controller: str | None = None
    reporting_instance: str | None = None


class PodTemplate(_S):
    spec: PodSpec = msgspec.field(default_factory=PodSpec)


class WorkloadSpec(_S):
    replicas: int | None = None
    template: PodTemplate | None = None
    selector: Any = None


class JobTemplate(_S):
    spec: WorkloadSpec | None = None


class CronJobSpec(_S):
    schedule: str | None = None
    job_template: JobTemplate | None = None


class WorkloadCondition(_S):
    type: str = ""
    status: str = ""
    reason: str | None = None
    message: str | None = None
    last_transition_time: str | None = None


class WorkloadStatus(_S):
    conditions: list[WorkloadCondition] | None = None


class Workload(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: WorkloadSpec = msgspec.field(default_factory=WorkloadSpec)
    status: WorkloadStatus = msgspec.field(default_factory=WorkloadStatus)


class CronJob(_S):
    metadata: Meta = msgspec.field(default_factory=Meta)
    spec: CronJobSpec = msgspec.field(default_factory=CronJobSpec)


def _list(item: type) -> type:
    return msgspec.defstruct(
        f"{item.__name__}List",
        [("items", list[item] | None, None)],  # type: ignore[valid-type]
        rename="camel",
    )


PodList = _list(Pod)
NodeList = _list(Node)
EventList = _list(Event)
WorkloadList = _list(Workload)
CronJobList = _list(CronJob)

LIST_TYPES: dict[str, type] = {
    "pods": PodList,
    "nodes": NodeList,
    "events": EventList,
    "deployments": WorkloadList,
    "replicasets": WorkloadList,
    "daemonsets": WorkloadList,
    "statefulsets": WorkloadList,
    "jobs": WorkloadList,
    "cronjobs": CronJobList,
}

_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {k: msgspec.json.Decoder(t) for k, t in LIST_TYPES.items()}


def decode_list(kind: str, data: bytes, notes: list[str] | None = None) -> list[Any]:
    """Decode one kind file into its typed items. Raises msgspec.DecodeError / ValidationError (also
    for JSON nested too deeply to decode). A key repeated at the top level (two `"items"`) is read
    last-wins, as Go's encoding/json and so kubectl read it, and noted in `notes`."""
    try:
        items = _DECODERS[kind].decode(data).items or []
    except RecursionError:
        pieces = kubectl_items(data) if notes is not None else None
        if pieces is None:
            raise msgspec.DecodeError("JSON nested too deeply") from None
        items = _decode_pieces(kind, pieces, notes)  # type: ignore[arg-type]
    except msgspec.ValidationError as e:
        if notes is None:
            raise
        try:
            raw = _RAW_LIST.decode(data).items or []
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            raise e from None
        items = decode_items(kind, raw, notes)
        if not items:
            raise
    if notes is not None:
        notes.extend(
            f"key {k!r} appears more than once at the top level; the last one was read (as kubectl does)"
            for k in duplicate_keys(data)
        )
    return items


_ITEMS_OPEN = b'"items": [\n'
_ITEM_END = b"\n        }"  # kubectl's 4-space indent: an item's closing line


def kubectl_items(data: bytes) -> list[bytes] | None:
    """The items of a list as `kubectl get -o json` lays it out, cut at their closing lines without
    parsing (so one absurdly nested item cannot stop the others); None for another layout."""
    i = data.find(_ITEMS_OPEN)
    if i < 0:
        return None
    body = data[i + len(_ITEMS_OPEN) :]
    end = body.rfind(_ITEM_END)
    if end < 0:
        return None
    return [p + _ITEM_END for p in body[:end].split(_ITEM_END + b",\n")]


def _decode_pieces(kind: str, pieces: list[bytes], notes: list[str]) -> list[Any]:
    dec = item_decoder(kind)
    out: list[Any] = []
    bad = 0
    for p in pieces:
        try:
            out.extend(dec.decode(b"[" + p + b"]"))
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            bad += 1
    if bad:
        notes.append(f"{bad} of {len(pieces)} objects unreadable and skipped (JSON nested too deeply or malformed)")
    return out


class _RawList(msgspec.Struct):
    items: list[msgspec.Raw] | None = None


_RAW_LIST = msgspec.json.Decoder(_RawList)
_ONE: dict[str, msgspec.json.Decoder[Any]] = {}


def decode_items(kind: str, raws: list[Any], notes: list[str]) -> list[Any]:
    """Decode objects one by one, so that one object with a wrong type or absurd nesting is skipped
    (and counted in `notes`) while the others are read."""
    dec = _ONE.get(kind)
    if dec is None:
        item = {"pods": Pod, "nodes": Node, "events": Event, "cronjobs": CronJob}.get(kind, Workload)
        dec = _ONE[kind] = msgspec.json.Decoder(item)
    out: list[Any] = []
    bad = 0
    first = ""
    for r in raws:
        try:
            out.append(dec.decode(r))
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as e:
            bad += 1
            first = first or (str(e) or type(e).__name__)[:200]
    if bad:
        notes.append(f"{bad} of {len(raws)} objects unreadable and skipped (first: {first})")
    return out


_TOP = msgspec.json.Decoder(dict[str, msgspec.Raw])
_STRUCTURE = frozenset(b" \t\r\n,:{}")


_TOP_ITEMS = b'\n    "items":'  # in kubectl's 4-space layout, a top-level key opens a line with 4 spaces
DUPLICATE_CHECK_MAX = 64 * 1024 * 1024


def duplicate_keys(data: bytes) -> list[str]:
    """Keys that occur more than once at the top level of a JSON object (decoders keep the last one
    silently). In kubectl's layout a byte count finds a second `items`; other text up to
    DUPLICATE_CHECK_MAX is checked in one structural pass, and the search for which key repeats only
    runs when the bytes not covered by the kept values show there is something to find."""
    if data.find(_TOP_ITEMS, 0, 1 << 16) >= 0:
        return ["items"] if data.count(_TOP_ITEMS) > 1 else []
    if len(data) > DUPLICATE_CHECK_MAX:
        return []
    try:
        top = _TOP.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return []
    used = sum(len(k.encode("utf-8", "replace")) + 2 + len(v) for k, v in top.items())
    if len(data) - used <= 8 * len(top) + 16:  # kubectl's 4-space indent: 8 per key, 5 more
        return []
    out: list[str] = []
    pos = data.find(b"{") + 1
    for k, v in top.items():
        raw = bytes(v)
        i = data.find(raw, pos) if raw else -1
        if i < 0:
            return out
        gap = data[pos:i]
        if any(b not in _STRUCTURE for b in gap.replace(b'"' + k.encode("utf-8", "replace") + b'"', b"", 1)):
            out.append(k)
        pos = i + len(raw)
    return out


_ITEM_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {}


def item_decoder(kind: str) -> msgspec.json.Decoder[Any]:
    """A decoder for a bare JSON array of `kind` items (used for lists decoded in batches)."""
    dec = _ITEM_DECODERS.get(kind)
    if dec is None:
        item = {"pods": Pod, "nodes": Node, "events": Event, "cronjobs": CronJob}.get(kind, Workload)
        dec = _ITEM_DECODERS[kind] = msgspec.json.Decoder(list[item])  # type: ignore[valid-type]
    return dec
