"""The analysis frames: long tables, one row per object per snapshot, in a shared vocabulary.

`FrameBuilder` accumulates column lists while the loader streams the dump, then `build()` turns them
into pandas DataFrames (Arrow-backed strings, nullable ints/bools, UTC timestamps). The columns of
every frame are documented in `docs/dump-format.md` ("Frames"); they are the words rules are written
in: `snapshot`, `observed_at`, `namespace`, `pod`, `container`, `node`, `image`, `image_digest`, `arch`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec
import pandas as pd
import pyarrow as pa

from forensics.knowledge.arch import (
    NFD_CPU_MODEL_PREFIX,
    NFD_CPUID_PREFIX,
    normalize_arch,
    normalize_os,
    windows_build,
    x86_level_from_cpuinfo,
    x86_level_from_features,
)
from forensics.knowledge.signatures import label_signatures
from forensics.read import kube, layout
from forensics.read.source import LoadProblem
from forensics.values import digest_of, image_key, is_missing, stamp_time

STR = "str"
INT = "int"
BOOL = "bool"
TS = "ts"
FLOAT = "float"
LIST = "list"  # a list of strings (Arrow list<string>); null when the object says nothing
STR_LIST = pd.ArrowDtype(pa.list_(pa.string()))

NODE_COLS = {
    "snapshot": STR,
    "node": STR,
    "arch": STR,
    "variant": STR,
    "arch_label": STR,
    "os": STR,
    "kernel": STR,
    "os_image": STR,
    "runtime": STR,
    "runtime_version": STR,
    "kubelet_version": STR,
    "instance_type": STR,
    "pool": STR,
    "zone": STR,
    "created": TS,
    "ready": BOOL,
    "ready_reason": STR,
    "ready_message": STR,
    "ready_since": TS,
    "unschedulable": BOOL,
    "taints": LIST,
    "conditions": STR,
    "file": STR,
    "cpu_level": STR,
    "cpu_level_from": STR,
    "cpu_model": STR,
    "windows_build": STR,
}
POD_COLS = {
    "snapshot": STR,
    "namespace": STR,
    "pod": STR,
    "uid": STR,
    "node": STR,
    "phase": STR,
    "reason": STR,
    "message": STR,
    "created": TS,
    "start_time": TS,
    "owner_kind": STR,
    "owner_name": STR,
    "pod_template_hash": STR,
    "arch_allowed": LIST,
    "arch_excluded": LIST,
    "arch_preferred": LIST,
    "scheduled": STR,
    "scheduled_message": STR,
    "ready": BOOL,
    "tolerations": LIST,
    "file": STR,
    "multiarch": STR,
}
CONTAINER_COLS = {
    "snapshot": STR,
    "namespace": STR,
    "pod": STR,
    "container": STR,
    "init": BOOL,
    "image": STR,
    "status_image": STR,
    "image_id": STR,
    "image_digest": STR,
    "restart_count": INT,
    "ready": BOOL,
    "has_status": BOOL,
    "state": STR,
    "waiting_reason": STR,
    "waiting_message": STR,
    "term_reason": STR,
    "term_exit_code": INT,
    "term_message": STR,
    "term_finished": TS,
    "started_at": TS,
    "last_reason": STR,
    "last_exit_code": INT,
    "last_signal": INT,
    "last_message": STR,
    "last_started": TS,
    "last_finished": TS,
    "termination_message_policy": STR,
    "has_liveness_probe": BOOL,
    "memory_limit": STR,
    "command": STR,
    "file": STR,
}
EVENT_COLS = {
    "snapshot": STR,
    "namespace": STR,
    "name": STR,
    "uid": STR,
    "api": STR,
    "object_kind": STR,
    "object_namespace": STR,
    "object_name": STR,
    "field_path": STR,
    "container": STR,
    "reason": STR,
    "message": STR,
    "type": STR,
    "count": INT,
    "first_seen": TS,
    "last_seen": TS,
    "source_component": STR,
    "source_host": STR,
    "file": STR,
}
WORKLOAD_COLS = {
    "snapshot": STR,
    "kind": STR,
    "namespace": STR,
    "name": STR,
    "uid": STR,
    "created": TS,
    "owner_kind": STR,
    "owner_name": STR,
    "replicas": INT,
    "images": STR,
    "arch_allowed": LIST,
    "arch_excluded": LIST,
    "file": STR,
}
LOG_COLS = {
    "snapshot": STR,
    "namespace": STR,
    "pod": STR,
    "container": STR,
    "previous": BOOL,
    "file": STR,
    "size": INT,
    "lines": INT,
    "invalid_utf8": BOOL,
}
SIGNATURE_COLS = {
    "snapshot": STR,
    "namespace": STR,
    "pod": STR,
    "container": STR,
    "source": STR,
    "file": STR,
    "object": STR,
    "line": INT,
    "signature": STR,
    "dialect": STR,
    "hint": STR,
    "text": STR,
    "platform": STR,
    "at": TS,
}
IMAGE_COLS = {
    "image": STR,
    "image_key": STR,
    "slug": STR,
    "inspected": BOOL,
    "kind": STR,
    "media_type": STR,
    "source_format": STR,
    "digest": STR,
    "platforms": LIST,
    "archs": LIST,
    "n_platforms": INT,
    "attestations": INT,
    "config_os": STR,
    "config_arch": STR,
    "config_variant": STR,
    "created": TS,
    "child_digests": STR,
    "warnings": STR,
    "file": STR,
    "amd64_level": STR,
    "amd64_level_from": STR,
}
IMAGE_PLATFORM_COLS = {
    "image": STR,
    "image_key": STR,
    "os": STR,
    "arch": STR,
    "variant": STR,
    "platform": STR,
    "digest": STR,
    "created": TS,
    "os_version": STR,
    "config_platform": STR,
    "amd64_level": STR,
    "amd64_level_from": STR,
}
BINFMT_COLS = {
    "node": STR,
    "entry": STR,
    "enabled": BOOL,
    "interpreter": STR,
    "flags": STR,
    "arch": STR,
    "file": STR,
}

SCHEMAS: dict[str, dict[str, str]] = {
    "nodes": NODE_COLS,
    "pods": POD_COLS,
    "containers": CONTAINER_COLS,
    "events": EVENT_COLS,
    "workloads": WORKLOAD_COLS,
    "logs": LOG_COLS,
    "signatures": SIGNATURE_COLS,
    "images": IMAGE_COLS,
    "image_platforms": IMAGE_PLATFORM_COLS,
    "binfmt": BINFMT_COLS,
}

ARCH_LABELS = ("kubernetes.io/arch", "beta.kubernetes.io/arch")
POOL_LABELS = (
    "eks.amazonaws.com/nodegroup",
    "alpha.eksctl.io/nodegroup-name",
    "cloud.google.com/gke-nodepool",
    "kubernetes.azure.com/agentpool",
    "agentpool",
    "karpenter.sh/nodepool",
    "karpenter.sh/provisioner-name",
    "doks.digitalocean.com/node-pool",
    "node.kubernetes.io/pool",
    "node-pool",
    "nodepool",
    "node.cluster.x-k8s.io/pool",
)
INSTANCE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
_FIELD_CONTAINER = re.compile(r"spec\.(?:initContainers|containers|ephemeralContainers)\{([^}]*)\}")
# ELF e_machine -> GOARCH, for binfmt magic (byte 18-19 of the ELF header, little endian)
_E_MACHINE = {
    0x3E: "amd64",
    0xB7: "arm64",
    0x28: "arm",
    0x03: "386",
    0x15: "ppc64le",
    0x16: "s390x",
    0xF3: "riscv64",
    0x08: "mips64le",
}
_QEMU_NAMES = {
    "aarch64": "arm64",
    "x86_64": "amd64",
    "arm": "arm",
    "i386": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "armeb": "armbe",
    "aarch64_be": "arm64be",
}


WHOLE_DECODE_MAX = 1024 * 1024 * 1024  # a list not in kubectl's layout is decoded whole up to this
ITEM_MAX = 64 * 1024 * 1024  # no Kubernetes object is this large (etcd refuses objects over 1.5 MiB)
_MAX_FIELD_PATH = 1024
MAX_CHILD_CONFIGS = 1024  # per image: an index has a few dozen children
_ITEMS_OPEN = b'"items": [\n'
_ITEM_CLOSE = b"\n        }"  # an item's last line, followed by "," or a newline and "    ]"


class _Cols:
    """Column lists for one frame, appended row by row while streaming."""

    __slots__ = ("data", "schema")

    def __init__(self, schema: dict[str, str]) -> None:
        self.schema = schema
        self.data: dict[str, list[Any]] = {c: [] for c in schema}

    def add(self, **row: Any) -> None:
        for c, col in self.data.items():
            col.append(row.get(c))

    def frame(self, problems: list[LoadProblem] | None = None) -> pd.DataFrame:
        try:
            return make_frame(self.schema, self.data, strict=True)
        except (OverflowError, TypeError, ValueError):
            self._out_of_range(problems if problems is not None else [])
            return make_frame(self.schema, self.data)

    def _out_of_range(self, problems: list[LoadProblem]) -> None:
        """Integers an Int64 column cannot hold (past int64) become unknown, one load problem per file."""
        files = self.data.get("file")
        for c, kind in self.schema.items():
            if kind != INT:
                continue
            col = self.data[c]
            bad = [i for i, v in enumerate(col) if v is not None and _int64(v) is None]
            if not bad:
                continue
            for i in bad:
                col[i] = None
            where = sorted({str(files[i]) for i in bad if files is not None and files[i]}) or ["(dump)"]
            for f in where[:20]:
                problems.append(
                    LoadProblem(
                        f,
                        "number out of range",
                        f"{c}: a value past 64-bit integers (or not an integer) read as unknown",
                    )
                )


def make_frame(
    schema: dict[str, str], data: dict[str, list[Any]] | None = None, *, strict: bool = False
) -> pd.DataFrame:
    """Build a DataFrame with the dtypes of a schema (also used to make empty frames). An integer column
    value past int64 is unknown, or (`strict`) raises OverflowError/TypeError."""
    data = data or {c: [] for c in schema}
    cols: dict[str, Any] = {}
    for c, kind in schema.items():
        values = data.get(c, [])
        if kind == STR:
            cols[c] = pd.array(values, dtype="string[pyarrow]")
        elif kind == INT:
            try:
                cols[c] = pd.array(values, dtype="Int64")
            except (OverflowError, TypeError, ValueError):
                if strict:
                    raise
                cols[c] = pd.array([_int64(v) for v in values], dtype="Int64")
        elif kind == BOOL:
            cols[c] = pd.array(values, dtype="boolean")
        elif kind == FLOAT:
            cols[c] = pd.array(values, dtype="Float64")
        elif kind == LIST:
            cols[c] = pd.array(values, dtype=STR_LIST)
        else:
            cols[c] = to_utc(values)
    return pd.DataFrame(cols)


def arrow_table(frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """`frame` as an Arrow table for Parquet. The pandas metadata names an Arrow list column's dtype
    `list<item: string>[pyarrow]`, which pandas (3.x) cannot parse back, so `read_parquet` would fail:
    such columns are recorded as `object` there (their Arrow type stays `list<string>`)."""
    t = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    meta = t.schema.metadata or {}
    raw = meta.get(b"pandas")
    if raw is None:
        return t
    doc = json.loads(raw)
    for c in doc.get("columns", []):
        if str(c.get("numpy_type", "")).startswith("list<"):
            c["numpy_type"] = "object"
    return t.replace_schema_metadata({**meta, b"pandas": json.dumps(doc).encode()})


_INT64 = (-(1 << 63), (1 << 63) - 1)


def _int64(v: Any) -> int | None:
    """An integer the Int64 columns can hold; anything else (past int64, not an int) is unknown."""
    if isinstance(v, bool) or not isinstance(v, int) or not _INT64[0] <= v <= _INT64[1]:
        return None
    return v


def to_utc(values: Any) -> pd.Series:
    """UTC nanosecond timestamps; text that is no time, and times outside what nanoseconds can hold
    (Go's zero time 0001-01-01, year 9999), are unknown (NaT)."""
    s = pd.Series(values, dtype="object") if not isinstance(values, pd.Series) else values
    t = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
    if t.dtype != "datetime64[ns, UTC]":
        t = t.where((t >= pd.Timestamp.min.tz_localize("UTC")) & (t <= pd.Timestamp.max.tz_localize("UTC")))
    return t.astype("datetime64[ns, UTC]")


def snapshot_time(name: str) -> pd.Timestamp | None:
    t = stamp_time(name)
    return None if t is None else pd.Timestamp(t)


def arch_constraint(spec: kube.PodSpec) -> tuple[list[str] | None, list[str] | None, list[str] | None]:
    """(allowed, excluded, preferred) architectures of a pod spec, each a sorted list or None.

    The required constraint is nodeSelector on kubernetes.io/arch (or beta.) ANDed with the required
    node affinity, whose terms are ORed. It is either a set of allowed architectures (`allowed`, `In`
    values minus `NotIn` values) or, when it names only `NotIn` values, the architectures it excludes
    (`excluded`); both None when unconstrained. `preferred` are the `In` values of the preferred terms.
    """
    allowed: set[str] | None = None
    excluded: set[str] | None = None
    if spec.node_selector:
        for key in ARCH_LABELS:
            v = spec.node_selector.get(key)
            if v:
                allowed = {normalize_arch(v)[0]}
    preferred: set[str] = set()
    na = spec.affinity.node_affinity if spec.affinity else None
    if na is not None:
        req = na.required_during_scheduling_ignored_during_execution
        if req and req.node_selector_terms:
            terms: list[tuple[set[str] | None, set[str]]] = []
            for term in req.node_selector_terms:
                t = _term_archs(term)
                if t is None:
                    terms = []
                    break  # a term without an arch expression admits every arch
                terms.append(t)
            if terms:
                pos = set().union(*(a for a, _ in terms if a is not None))
                negs = [e for a, e in terms if a is None]
                if not negs:  # every term names the architectures it allows
                    allowed = pos if allowed is None else allowed & pos
                else:  # any arch but those every excluding term excludes (unless another term allows it)
                    out = set.intersection(*negs) - pos
                    if allowed is not None:
                        allowed -= out
                    elif out:
                        excluded = out
        for pt in na.preferred_during_scheduling_ignored_during_execution or ():
            if pt.preference is not None:
                t = _term_archs(pt.preference)
                if t is not None and t[0]:
                    preferred |= t[0]
    return (
        sorted(allowed) if allowed is not None else None,
        sorted(excluded) if excluded else None,
        sorted(preferred) or None,
    )


def _term_archs(term: kube.NodeSelectorTerm) -> tuple[set[str] | None, set[str]] | None:
    """(allowed, excluded) of one node selector term's kubernetes.io/arch expressions: allowed is the
    `In` values (intersected) minus the `NotIn` values, None when the term names only `NotIn`; None
    when the term has no arch expression."""
    pos: set[str] | None = None
    neg: set[str] = set()
    seen = False
    for e in term.match_expressions or ():
        if e.key not in ARCH_LABELS:
            continue
        vals = {normalize_arch(v)[0] for v in (e.values or ())}
        if e.operator == "In":
            seen = True
            pos = vals if pos is None else pos & vals
        elif e.operator == "NotIn":
            seen = True
            neg |= vals
    if not seen:
        return None
    return (pos - neg if pos is not None else None), neg


def _label(labels: dict[str, str] | None, keys: tuple[str, ...]) -> str | None:
    if not labels:
        return None
    for k in keys:
        v = labels.get(k)
        if v:
            return v
    return None


def _controller(meta: kube.Meta) -> tuple[str | None, str | None]:
    refs = meta.owner_references or []
    for r in refs:
        if r.controller:
            return r.kind, r.name
    return (refs[0].kind, refs[0].name) if refs else (None, None)


class FrameBuilder:
    """Accumulates rows while the loader streams; `build()` makes the frames."""

    def __init__(self) -> None:
        self.nodes = _Cols(NODE_COLS)
        self.pods = _Cols(POD_COLS)
        self.containers = _Cols(CONTAINER_COLS)
        self.events = _Cols(EVENT_COLS)
        self.workloads = _Cols(WORKLOAD_COLS)
        self.logs = _Cols(LOG_COLS)
        self.sigs = _Cols(SIGNATURE_COLS)
        self.binfmt = _Cols(BINFMT_COLS)
        self.image_parts: dict[str, dict[str, Any]] = defaultdict(dict)
        self.cpuinfo: dict[str, tuple[str | None, str, str | None]] = {}  # node -> (level, from, model)
        self.kinds_seen: dict[str, set[str]] = defaultdict(set)
        self._snaps: set[str] = set()

    def snapshots_seen(self) -> set[str]:
        return set(self._snaps)

    # --- object lists -------------------------------------------------------------------------
    def add_objects(self, snapshot: str, kind: str, file: str, data: bytes, notes: list[str] | None = None) -> None:
        self.add_items(snapshot, kind, file, kube.decode_list(kind, data, notes))

    def add_objects_chunked(
        self, snapshot: str, kind: str, file: str, chunks: Iterator[bytes], notes: list[str] | None = None
    ) -> None:
        """Decode a huge list in batches of whole items, never holding the whole file.

        `kubectl get -o json` prints its list with a 4-space indent, each item opening with a line
        `        {` and closing with `        }` (JSON strings hold no raw newline, so these lines
        are unambiguous). Text that does not have that shape is decoded whole, as a fallback.
        """
        dec = kube.item_decoder(kind)
        buf = b""
        started = False
        head: list[bytes] = []
        for chunk in chunks:
            buf += chunk
            if not started:
                i = buf.find(_ITEMS_OPEN)
                if i < 0:
                    if len(buf) > 16 * 1024 * 1024:  # not kubectl's shape: decode whole, if it can be
                        lead = buf[:4096].lstrip()
                        if not lead.startswith((b"{", b"[")):
                            raise msgspec.DecodeError(f"not a JSON object list (starts with {lead[:16]!r})")
                        head.append(buf)
                        size = len(buf)
                        buf = b""
                        for more in chunks:
                            size += len(more)
                            if size > WHOLE_DECODE_MAX:
                                raise msgspec.DecodeError(
                                    f"over {WHOLE_DECODE_MAX} bytes and not laid out as kubectl prints lists: "
                                    "not decoded whole"
                                )
                            head.append(more)
                        self.add_objects(snapshot, kind, file, b"".join(head), notes)
                        return
                    continue
                buf = buf[i + len(_ITEMS_OPEN) :]
                started = True
            cut = max(buf.rfind(_ITEM_CLOSE + b","), buf.rfind(_ITEM_CLOSE + b"\n"))
            if cut < 0:
                if len(buf) > ITEM_MAX:
                    raise msgspec.DecodeError(
                        f"no end of an item within {ITEM_MAX} bytes (padding or a giant "
                        "object): the rest of the list was not read"
                    )
                continue
            cut += len(_ITEM_CLOSE)
            batch, buf = buf[:cut], buf[cut:]
            self._add_batch(snapshot, kind, file, dec, batch, notes)
        if not started:
            self.add_objects(snapshot, kind, file, b"".join(head) + buf, notes)
            return
        tail = buf.strip()
        end = tail.find(b"]")
        rest = tail[:end].strip().lstrip(b",").strip() if end >= 0 else tail
        if rest:
            self._add_batch(snapshot, kind, file, dec, rest, notes)

    def _add_batch(self, snapshot: str, kind: str, file: str, dec: Any, batch: bytes, notes: list[str] | None) -> None:
        text = b"[" + batch.lstrip().lstrip(b",") + b"]"
        try:
            items = dec.decode(text)
        except (msgspec.ValidationError, RecursionError) as e:
            if notes is None:
                raise msgspec.DecodeError(str(e) or "JSON nested too deeply") from None
            try:
                raws = msgspec.json.decode(text, type=list[msgspec.Raw])
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                raise msgspec.DecodeError(str(e) or "JSON nested too deeply") from None
            items = kube.decode_items(kind, raws, notes)
        self.add_items(snapshot, kind, file, items)

    def add_items(self, snapshot: str, kind: str, file: str, items: list[Any]) -> None:
        """Add already-decoded typed items (`forensics.read.kube` structs) of one kind file."""
        self._snaps.add(snapshot)
        self.kinds_seen[snapshot].add(kind)
        if kind == "pods":
            for p in items:
                self._add_pod(snapshot, file, p)
        elif kind == "nodes":
            for n in items:
                self._add_node(snapshot, file, n)
        elif kind == "events":
            for e in items:
                self._add_event(snapshot, file, e)
        elif kind == "cronjobs":
            for w in items:
                spec = w.spec.job_template.spec if w.spec.job_template and w.spec.job_template.spec else None
                self._add_workload(snapshot, file, "CronJob", w.metadata, spec)
        else:
            wkind = {
                "deployments": "Deployment",
                "replicasets": "ReplicaSet",
                "daemonsets": "DaemonSet",
                "statefulsets": "StatefulSet",
                "jobs": "Job",
            }[kind]
            for w in items:
                self._add_workload(snapshot, file, wkind, w.metadata, w.spec)

    def _add_node(self, snapshot: str, file: str, n: kube.Node) -> None:
        info = n.status.node_info
        labels = n.metadata.labels or {}
        label_arch = _label(labels, ARCH_LABELS)
        arch, variant = normalize_arch(info.architecture or label_arch)
        runtime, _, rversion = (info.container_runtime_version or "").partition("://")
        ready = None
        reason = None
        message = None
        since = None
        troubled = []
        for c in n.status.conditions or ():
            if c.type == "Ready":
                ready = c.status == "True"
                reason = c.reason
                message = c.message
                since = c.last_transition_time
            elif c.status != "False":  # every other condition (pressure, node-problem-detector) is healthy False
                troubled.append(f"{c.type}={c.status}")
        node_os = normalize_os(info.operating_system or labels.get("kubernetes.io/os")) or None
        level, level_from, model = _cpu_facts(labels)
        wbuild = labels.get("node.kubernetes.io/windows-build") or (
            windows_build(info.kernel_version) if node_os == "windows" else None
        )
        self.nodes.add(
            snapshot=snapshot,
            node=n.metadata.name,
            arch=arch or None,
            variant=variant or None,
            cpu_level=level,
            cpu_level_from=level_from,
            cpu_model=model,
            windows_build=wbuild,
            arch_label=label_arch,
            os=node_os,
            kernel=info.kernel_version or None,
            os_image=info.os_image or None,
            runtime=runtime or None,
            runtime_version=rversion or None,
            kubelet_version=info.kubelet_version or None,
            instance_type=_label(labels, INSTANCE_LABELS),
            pool=_label(labels, POOL_LABELS),
            zone=_label(labels, ZONE_LABELS),
            created=n.metadata.creation_timestamp,
            ready=ready,
            ready_reason=reason,
            ready_message=message,
            ready_since=since,
            unschedulable=bool(n.spec.unschedulable),
            taints=[
                f"{t.key}={t.value or ''}:{t.effect}" for t in n.spec.taints if t.effect in ("NoSchedule", "NoExecute")
            ]
            if n.spec.taints
            else None,
            conditions=",".join(sorted(troubled)) or None,
            file=file,
        )

    def _add_pod(self, snapshot: str, file: str, p: kube.Pod) -> None:
        md, spec, st = p.metadata, p.spec, p.status
        okind, oname = _controller(md)
        allowed, excluded, preferred = arch_constraint(spec)
        sched = sched_msg = None
        ready = None
        for cond in st.conditions or ():
            if cond.type == "PodScheduled":
                sched, sched_msg = cond.status, cond.message
            elif cond.type == "Ready":
                ready = cond.status == "True"
        ns, name = md.namespace, md.name
        self.pods.add(
            snapshot=snapshot,
            namespace=ns,
            pod=name,
            uid=md.uid,
            node=spec.node_name,
            phase=st.phase,
            reason=st.reason,
            message=st.message,
            created=md.creation_timestamp,
            start_time=st.start_time,
            owner_kind=okind,
            owner_name=oname,
            pod_template_hash=(md.labels or {}).get("pod-template-hash"),
            arch_allowed=allowed,
            arch_excluded=excluded,
            arch_preferred=preferred,
            scheduled=sched,
            scheduled_message=sched_msg,
            ready=ready,
            tolerations=_tolerations(spec.tolerations),
            file=file,
            multiarch=_multiarch_labels(md.labels),
        )
        for sig in label_signatures(md.labels):
            self.sigs.add(
                snapshot=snapshot,
                namespace=ns,
                pod=name,
                container=None,
                source="pod-label",
                file=file,
                object=f"Pod {ns}/{name}",
                line=None,
                signature=sig.signature,
                dialect=sig.dialect,
                hint=sig.hint,
                text=sig.text,
                platform=None,
            )
        add = self.containers.add
        for init, specs, statuses in (
            (True, spec.init_containers or [], st.init_container_statuses or []),
            (False, spec.containers or [], st.container_statuses or []),
        ):
            by_name = {s.name: s for s in statuses}
            names = [c.name for c in specs] + [s.name for s in statuses if s.name not in {c.name for c in specs}]
            spec_by = {c.name: c for c in specs}
            for cname in names:
                c = spec_by.get(cname)
                s = by_name.get(cname)
                row: dict[str, Any] = {
                    "snapshot": snapshot,
                    "namespace": ns,
                    "pod": name,
                    "container": cname,
                    "init": init,
                    "image": c.image if c else (s.image if s else None),
                    "has_status": s is not None,
                    "file": file,
                }
                if c is not None:
                    row["termination_message_policy"] = c.termination_message_policy
                    row["has_liveness_probe"] = c.liveness_probe is not None
                    if c.resources and c.resources.limits:
                        mem = c.resources.limits.get("memory")
                        row["memory_limit"] = None if mem is None else str(mem)
                    if c.command:
                        row["command"] = " ".join(c.command)[:300]
                if s is not None:
                    row["status_image"] = s.image
                    row["image_id"] = s.image_i_d or None
                    row["image_digest"] = digest_of(s.image_i_d)
                    row["restart_count"] = s.restart_count
                    row["ready"] = s.ready
                    state = s.state
                    if state is not None:
                        if state.waiting is not None:
                            row["state"] = "waiting"
                            row["waiting_reason"] = state.waiting.reason
                            row["waiting_message"] = state.waiting.message
                        elif state.running is not None:
                            row["state"] = "running"
                            row["started_at"] = state.running.started_at
                        elif state.terminated is not None:
                            t = state.terminated
                            row["state"] = "terminated"
                            row["term_reason"] = t.reason
                            row["term_exit_code"] = t.exit_code
                            row["term_message"] = t.message
                            row["term_finished"] = t.finished_at
                            row["started_at"] = t.started_at
                    last = s.last_state.terminated if s.last_state is not None else None
                    if last is not None:
                        row["last_reason"] = last.reason
                        row["last_exit_code"] = last.exit_code
                        row["last_signal"] = last.signal
                        row["last_message"] = last.message
                        row["last_started"] = last.started_at
                        row["last_finished"] = last.finished_at
                add(**row)

    def _add_event(self, snapshot: str, file: str, e: kube.Event) -> None:
        obj = e.involved_object or e.regarding or kube.ObjectRef()
        api = "core/v1" if e.involved_object is not None else "events.k8s.io/v1"
        src = e.source or e.deprecated_source
        count = e.count or e.deprecated_count or (e.series.count if e.series else None) or 1
        first = e.first_timestamp or e.deprecated_first_timestamp or e.event_time
        last = (
            e.last_timestamp
            or e.deprecated_last_timestamp
            or (e.series.last_observed_time if e.series else None)
            or e.event_time
            or first
        )
        fp = obj.field_path or ""
        m = _FIELD_CONTAINER.search(fp[:_MAX_FIELD_PATH])
        self.events.add(
            snapshot=snapshot,
            namespace=e.metadata.namespace,
            name=e.metadata.name,
            uid=e.metadata.uid,
            api=api,
            object_kind=obj.kind,
            object_namespace=obj.namespace or e.metadata.namespace,
            object_name=obj.name,
            field_path=fp or None,
            container=m.group(1) if m else None,
            reason=e.reason,
            message=e.message if e.message is not None else e.note,
            type=e.type,
            count=count,
            first_seen=first,
            last_seen=last,
            source_component=(src.component if src else None) or e.reporting_component or e.reporting_controller,
            source_host=(src.host if src else None) or None,
            file=file,
        )

    def _add_workload(self, snapshot: str, file: str, kind: str, md: kube.Meta, spec: kube.WorkloadSpec | None) -> None:
        okind, oname = _controller(md)
        tspec = spec.template.spec if spec is not None and spec.template is not None else None
        images = None
        allowed = excluded = None
        if tspec is not None:
            imgs = [c.image for c in (tspec.init_containers or [])] + [c.image for c in tspec.containers]
            images = ",".join(imgs)
            allowed, excluded, _ = arch_constraint(tspec)
        self.workloads.add(
            snapshot=snapshot,
            kind=kind,
            namespace=md.namespace,
            name=md.name,
            uid=md.uid,
            created=md.creation_timestamp,
            owner_kind=okind,
            owner_name=oname,
            replicas=spec.replicas if spec is not None else None,
            images=images,
            arch_allowed=allowed,
            arch_excluded=excluded,
            file=file,
        )

    # --- logs, binfmt, images ---------------------------------------------------------------------
    def add_log(self, m: layout.Member, file: str, data: bytes) -> bool:
        """Record a log and its signature lines; returns whether it held invalid UTF-8."""
        from forensics.knowledge.signatures import scan_bytes

        matches, invalid = scan_bytes(data)
        self._snaps.add(m.snapshot)
        self.logs.add(
            snapshot=m.snapshot,
            namespace=m.namespace,
            pod=m.pod,
            container=m.container,
            previous=m.previous,
            file=file,
            size=len(data),
            lines=data.count(b"\n"),
            invalid_utf8=invalid,
        )
        source = "previous-log" if m.previous else "log"
        for x in matches:
            self.sigs.add(
                snapshot=m.snapshot,
                namespace=m.namespace,
                pod=m.pod,
                container=m.container,
                source=source,
                file=file,
                object=f"Pod {m.namespace}/{m.pod} container {m.container}",
                line=x.line,
                signature=x.signature,
                dialect=x.dialect,
                hint=x.hint,
                text=x.text,
                platform=x.platform,
            )
        return invalid

    def add_binfmt(self, node: str, entry: str, file: str, data: bytes) -> None:
        text = data.decode("utf-8", errors="replace")
        if entry in ("register",):
            return
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if entry == "status":
            self.binfmt.add(node=node, entry=entry, enabled=bool(lines) and lines[0] == "enabled", file=file)
            return
        enabled = bool(lines) and lines[0] == "enabled"
        interp = flags = magic = None
        offset = 0
        for ln in lines[1:]:
            key, _, val = ln.partition(" ")
            if key == "interpreter":
                interp = val.strip()
            elif key == "flags:":
                flags = val.strip()
            elif key == "magic":
                magic = val.strip()
            elif key == "offset":
                offset = int(val) if val.strip().isdigit() and len(val.strip()) < 10 else 0
        arch = _binfmt_arch(entry, magic, offset)
        self.binfmt.add(node=node, entry=entry, enabled=enabled, interpreter=interp, flags=flags, arch=arch, file=file)

    def add_cpuinfo(self, node: str, file: str, data: bytes) -> None:
        """The node's /proc/cpuinfo lines (`model name`, `flags`): its x86-64 level and CPU model, used
        where Node Feature Discovery labels are absent."""
        model = flags = None
        for line in data.decode("utf-8", errors="replace").splitlines()[:200]:
            key, _, val = line.partition(":")
            key = key.strip().lower()
            if key == "model name" and model is None:
                model = val.strip()[:120] or None
            elif key in ("flags", "features") and flags is None:
                flags = set(val.split()[:400])
        level = x86_level_from_cpuinfo(flags) if flags else None
        shown = sorted(f for f in (flags or set()) if f in ("avx", "avx2", "avx512f", "sse4_2", "popcnt", "fma"))
        self.cpuinfo[node] = (level, f"{file}: flags " + (" ".join(shown) if shown else "without sse4_2/avx"), model)

    def add_image_part(self, m: layout.Member, file: str, data: bytes) -> None:
        parts = self.image_parts[m.slug]
        if m.role == layout.ROLE_IMAGE_CHILD_CONFIG:
            configs = parts.setdefault("configs", {})
            if len(configs) >= MAX_CHILD_CONFIGS:
                parts["configs_dropped"] = parts.get("configs_dropped", 0) + 1
                return
            configs[m.digest] = data
        else:
            parts[m.role] = (file, data)

    # --- build ------------------------------------------------------------------------------------
    def build(self, snapshots: list[str], problems: list[LoadProblem]) -> dict[str, pd.DataFrame]:
        frames = {
            "nodes": self._with_cpuinfo(self.nodes.frame(problems)),
            "pods": self.pods.frame(problems),
            "containers": self.containers.frame(problems),
            "events": self.events.frame(problems),
            "workloads": self.workloads.frame(problems),
            "logs": self.logs.frame(problems),
            "binfmt": self.binfmt.frame(problems),
        }
        self._scan_messages(frames)
        frames["signatures"] = self.sigs.frame()
        frames["images"], frames["image_platforms"] = self._images(problems)
        times = {s: snapshot_time(s) for s in snapshots}
        order = {s: i for i, s in enumerate(snapshots)}
        for f in frames.values():
            if "snapshot" in f.columns:
                f.insert(1, "observed_at", to_utc(f["snapshot"].map(times).astype("object")))
                f.insert(2, "snapshot_index", f["snapshot"].map(order).astype("Int64"))
        _resolve_workloads(frames)
        return frames

    def _with_cpuinfo(self, nodes: pd.DataFrame) -> pd.DataFrame:
        """Fill the CPU columns NFD labels left empty from the collected /proc/cpuinfo lines."""
        if not self.cpuinfo or nodes.empty:
            return nodes
        no_level = nodes["cpu_level"].isna()
        for col, i in (("cpu_level", 0), ("cpu_level_from", 1), ("cpu_model", 2)):
            known = nodes["node"].map({n: v[i] for n, v in self.cpuinfo.items()}).astype("string[pyarrow]")
            fill = (no_level if col != "cpu_model" else nodes[col].isna()) & known.notna()
            nodes.loc[fill, col] = known[fill]
        return nodes

    def _scan_messages(self, frames: dict[str, pd.DataFrame]) -> None:
        """Scan termination/waiting/event messages, each distinct text once."""
        from forensics.knowledge.signatures import reason_signatures, scan_text

        cache: dict[str, list[Any]] = {}

        def scan(text: str) -> list[Any]:
            r = cache.get(text)
            if r is None:
                r = cache[text] = scan_text(text, max_matches=5)
            return r

        c = frames["containers"]
        for col, source, at_col in (
            ("last_message", "last-terminated-message", "last_finished"),
            ("term_message", "terminated-message", "term_finished"),
            ("waiting_message", "waiting-message", None),
        ):
            sub = c[c[col].notna()]
            if sub.empty:
                continue
            keys = ["snapshot", "namespace", "pod", "container", "file", col] + ([at_col] if at_col else [])
            for row in sub[keys].itertuples(index=False, name=None):
                snap, ns, pod, cont, file, text = row[:6]
                at = row[6] if at_col else None
                for x in scan(text):
                    self.sigs.add(
                        snapshot=snap,
                        namespace=ns,
                        pod=pod,
                        container=cont,
                        source=source,
                        file=file,
                        object=f"Pod {ns}/{pod} container {cont}",
                        line=None,
                        signature=x.signature,
                        dialect=x.dialect,
                        hint=x.hint,
                        text=x.text,
                        platform=x.platform,
                        at=None if at is None or is_missing(at) else at.isoformat(),
                    )
        ev = frames["events"]
        sub = ev[ev["message"].notna() & (ev["object_kind"] == "Pod")]
        for row in sub[
            ["snapshot", "object_namespace", "object_name", "container", "file", "message", "last_seen", "reason"]
        ].itertuples(index=False, name=None):
            snap, ns, pod, cont, file, text, at, reason = row
            found = scan(text)
            if not found and isinstance(reason, str):
                found = reason_signatures(reason, text)
            for x in found:
                self.sigs.add(
                    snapshot=snap,
                    namespace=ns,
                    pod=pod,
                    container=None if is_missing(cont) else cont,
                    source="event",
                    file=file,
                    object=f"Event {reason} on Pod {ns}/{pod}",
                    line=None,
                    signature=x.signature,
                    dialect=x.dialect,
                    hint=x.hint,
                    text=x.text,
                    platform=x.platform,
                    at=None if is_missing(at) else at.isoformat(),
                )

    def _images(self, problems: list[LoadProblem]) -> tuple[pd.DataFrame, pd.DataFrame]:
        from forensics.errors import ManifestError
        from forensics.knowledge.manifests import parse_inspection

        img = _Cols(IMAGE_COLS)
        plat = _Cols(IMAGE_PLATFORM_COLS)
        for slug, parts in sorted(self.image_parts.items()):
            ref_part = parts.get(layout.ROLE_IMAGE_REF)
            ref = ref_part[1].decode("utf-8", errors="replace").strip() if ref_part else slug
            key = image_key(ref)
            man = parts.get(layout.ROLE_IMAGE_MANIFEST)
            if man is None:
                problems.append(
                    LoadProblem(layout.image_file(slug, ""), "image inspection incomplete", "no manifest.json")
                )
                img.add(image=ref, image_key=key, slug=slug, inspected=False)
                continue
            cfg = parts.get(layout.ROLE_IMAGE_CONFIG)
            if parts.get("configs_dropped"):
                problems.append(
                    LoadProblem(
                        layout.image_file(slug, "configs"),
                        "too many child configs",
                        f"{parts['configs_dropped']} beyond the first {MAX_CHILD_CONFIGS} were not read",
                    )
                )
            try:
                insp = parse_inspection(man[1], config=cfg[1] if cfg else None, configs=parts.get("configs"))
            except ManifestError as e:
                problems.append(LoadProblem(man[0], "unreadable image inspection", str(e)))
                img.add(image=ref, image_key=key, slug=slug, inspected=False, file=man[0])
                continue
            platforms = [str(p.platform) for p in insp.platforms]
            img.add(
                image=ref,
                image_key=key,
                slug=slug,
                inspected=True,
                kind=insp.kind,
                media_type=insp.media_type,
                source_format=insp.source_format,
                digest=insp.digest,
                platforms=platforms,
                archs=sorted({p.platform.arch for p in insp.platforms}),
                n_platforms=len(platforms),
                attestations=insp.attestations,
                config_os=insp.config_os,
                config_arch=insp.config_arch,
                config_variant=insp.config_variant,
                created=insp.created,
                child_digests=",".join(p.digest for p in insp.platforms if p.digest) or None,
                warnings="; ".join(insp.warnings) or None,
                file=man[0],
                amd64_level=insp.amd64_level,
                amd64_level_from=insp.amd64_level_from,
            )
            for p in insp.platforms:
                plat.add(
                    image=ref,
                    image_key=key,
                    os=p.platform.os,
                    arch=p.platform.arch,
                    variant=p.platform.variant or None,
                    platform=str(p.platform),
                    digest=p.digest,
                    created=p.created,
                    os_version=p.os_version,
                    config_platform=str(p.config_platform) if p.config_platform else None,
                    amd64_level=p.amd64_level,
                    amd64_level_from=p.amd64_level_from,
                )
        return img.frame(), plat.frame()

    def gaps(self, frames: dict[str, pd.DataFrame], *, has_meta: bool) -> list[dict[str, str]]:
        """What this dump cannot tell, and how that limits the conclusions."""
        out: list[dict[str, str]] = []
        if frames["images"].empty:
            out.append(
                {
                    "what": "no image inspections",
                    "impact": "image platforms are unknown: architecture findings rest on logs, events and "
                    "node architectures only, and their confidence is capped",
                }
            )
        if frames["logs"].empty:
            out.append(
                {
                    "what": "no container logs",
                    "impact": "exec format errors and crashes are only seen where the runtime put them in a "
                    "termination message or an event",
                }
            )
        if frames["events"].empty:
            out.append(
                {
                    "what": "no events",
                    "impact": "pull errors, probe failures and scheduling failures are only seen in pod status",
                }
            )
        if frames["binfmt"].empty:
            out.append(
                {
                    "what": "no binfmt_misc listings",
                    "impact": "whether a node emulates foreign architectures (qemu) is unknown",
                }
            )
        if frames["nodes"].empty:
            out.append(
                {
                    "what": "no nodes",
                    "impact": "node architectures are unknown: no architecture finding can be confirmed",
                }
            )
        if len(self._snaps) <= 1:
            out.append(
                {
                    "what": "a single snapshot",
                    "impact": "restart growth, rollouts and tag changes over time cannot be observed",
                }
            )
        return out


def _cpu_facts(labels: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    """(x86-64 level, what it rests on, CPU model) from Node Feature Discovery labels."""
    feats = {
        k[len(NFD_CPUID_PREFIX) :]
        for k, v in labels.items()
        if k.startswith(NFD_CPUID_PREFIX) and str(v).lower() == "true"
    }
    model_parts = {k[len(NFD_CPU_MODEL_PREFIX) :]: v for k, v in labels.items() if k.startswith(NFD_CPU_MODEL_PREFIX)}
    model = " ".join(f"{k}={model_parts[k]}" for k in ("vendor_id", "family", "id") if k in model_parts) or None
    level = x86_level_from_features(feats)
    if level is None:
        return None, None, model
    shown = sorted(f for f in feats if f in ("AVX", "AVX2", "FMA3", "AVX512F", "SSE42", "POPCNT"))
    return level, "NFD cpu-cpuid labels: " + (", ".join(shown) if shown else "no AVX/SSE4.2"), model


_MULTIARCH = "multiarch.openshift.io/"


def _multiarch_labels(labels: dict[str, str] | None) -> str | None:
    """The multiarch tuning operator's pod labels as `key=value` items joined by ","."""
    if not labels:
        return None
    items = [f"{k[len(_MULTIARCH) :]}={v}" for k, v in sorted(labels.items()) if k.startswith(_MULTIARCH)]
    return ",".join(items) or None


def _tolerations(tols: list[kube.Toleration] | None) -> list[str] | None:
    """Tolerations as "key=value:effect" items; `*` tolerates everything."""
    if not tols:
        return None
    out = []
    for t in tols:
        if not t.key and t.operator == "Exists":  # every taint, or every taint of one effect
            out.append(f"*=*:{t.effect}" if t.effect else "*")
        else:
            val = "*" if t.operator == "Exists" else (t.value or "")
            out.append(f"{t.key or ''}={val}:{t.effect or '*'}")
    return out


def tolerates(tolerations: Sequence[str] | None, taints: Sequence[str] | None) -> bool:
    """Whether a pod with these tolerations (`key=value:effect` items, `*` for all) may be scheduled
    on a node with these hard taints (`key=value:effect`)."""
    if not taints:
        return True
    tols = list(tolerations or ())
    if "*" in tols:
        return True
    for taint in taints:
        kv, _, effect = taint.rpartition(":")
        key, _, value = kv.partition("=")
        ok = False
        for t in tols:
            tkv, _, teffect = t.rpartition(":")
            tkey, _, tval = tkv.partition("=")
            if tkey in ("*", key) and tval in ("*", value) and teffect in ("*", effect):
                ok = True
                break
        if not ok:
            return False
    return True


def _binfmt_arch(entry: str, magic: str | None, offset: int) -> str | None:
    if magic and offset == 0:
        try:
            b = bytes.fromhex(magic)
            if len(b) >= 20 and b[:4] == b"\x7fELF":
                em = int.from_bytes(b[18:20], "little" if b[5] == 1 else "big")
                if em in _E_MACHINE:
                    return _E_MACHINE[em]
        except ValueError:
            pass
    name = entry.removeprefix("qemu-").removesuffix("-static")
    return _QEMU_NAMES.get(name)


def _resolve_workloads(frames: dict[str, pd.DataFrame]) -> None:
    """Add workload_kind/workload_name to pods and containers: Pod -> ReplicaSet -> Deployment,
    Job -> CronJob, DaemonSet/StatefulSet direct, bare pods as themselves.

    A ReplicaSet missing from the dump is resolved to its Deployment by the pod-template-hash
    suffix (`<deployment>-<hash>`), which is how the Deployment controller names it.
    """
    pods = frames["pods"]
    wl = frames["workloads"]
    parents = (
        wl[wl["kind"].isin(["ReplicaSet", "Job"])]
        .drop_duplicates(["kind", "namespace", "name"], keep="last")[
            ["kind", "namespace", "name", "owner_kind", "owner_name"]
        ]
        .rename(
            columns={
                "kind": "owner_kind_",
                "name": "owner_name_",
                "owner_kind": "parent_kind",
                "owner_name": "parent_name",
            }
        )
    )
    merged = pods[["namespace", "owner_kind", "owner_name", "pod_template_hash"]].merge(
        parents,
        how="left",
        left_on=["owner_kind", "namespace", "owner_name"],
        right_on=["owner_kind_", "namespace", "owner_name_"],
    )
    kind = merged["owner_kind"].astype("string[pyarrow]")
    name = merged["owner_name"].astype("string[pyarrow]")
    has_parent = merged["parent_kind"].notna()
    kind = kind.where(~has_parent, merged["parent_kind"])
    name = name.where(~has_parent, merged["parent_name"])
    # ReplicaSet not in the dump: strip "-<pod-template-hash>"
    rs_orphan = (merged["owner_kind"] == "ReplicaSet") & ~has_parent & merged["pod_template_hash"].notna()
    suffix_ok = rs_orphan
    if suffix_ok.any():
        stripped = merged.loc[suffix_ok, "owner_name"].str.replace(r"-[a-z0-9]{5,10}$", "", regex=True)
        kind = kind.mask(suffix_ok, "Deployment")
        name = name.mask(suffix_ok, stripped)
    # a static pod's mirror is owned by its Node and named `<name>-<node>`: the workload is the
    # component (`kube-apiserver`), grouped over nodes, never the node itself
    static = (merged["owner_kind"] == "Node").fillna(False)
    if static.any():
        comp = [
            p[: -len(o) - 1]
            if isinstance(p, str) and isinstance(o, str) and p.endswith("-" + o) and len(p) > len(o) + 1
            else p
            for p, o in zip(pods.loc[static.to_numpy(), "pod"], merged.loc[static, "owner_name"])
        ]
        kind = kind.mask(static, "StaticPod")
        name = name.copy()
        name.loc[static] = comp
    bare = kind.isna()
    kind = kind.mask(bare, "Pod")
    name = name.mask(bare, pods["pod"].values)
    pods["workload_kind"] = pd.array(kind.to_numpy(dtype=object), dtype="string[pyarrow]")
    pods["workload_name"] = pd.array(name.to_numpy(dtype=object), dtype="string[pyarrow]")
    keys = ["snapshot", "namespace", "pod"]
    extra = pods[
        keys + ["node", "workload_kind", "workload_name", "arch_allowed", "arch_excluded", "uid"]
    ].drop_duplicates(keys)
    c = frames["containers"].merge(extra, how="left", on=keys)
    frames["containers"] = c
