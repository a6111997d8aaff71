"""The frame builder: Kubernetes objects, logs and inspections as rows of the analysis frames.

`FrameBuilder` takes what the loader (or a foreign format) streams out of a dump: typed object lists
(`add_objects`, `add_objects_chunked`, `add_items`), container logs (`add_log`), binfmt_misc entries,
/proc/cpuinfo lines and image inspection parts. `build()` turns the accumulated rows into the frames
of `forensics.read.schema` (long tables, one row per object per snapshot) and scans messages for
known error signatures. Scheduling semantics (arch constraints, taints x tolerations) live in
`forensics.read.scheduling`, item-aligned splitting of huge lists in `forensics.read.chunks`, what a
dump lacks in `forensics.read.gaps`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
import pandas as pd

from forensics.knowledge.arch import (
    NFD_CPU_MODEL_PREFIX,
    NFD_CPUID_PREFIX,
    normalize_arch,
    normalize_os,
    windows_build,
    x86_level_from_cpuinfo,
    x86_level_from_features,
)
from forensics.knowledge.binfmt import parse_entry
from forensics.knowledge.signatures import label_signatures
from forensics.read import kube, layout, parallel
from forensics.read.chunks import item_batches
from forensics.read.scheduling import ARCH_LABELS, arch_constraint, hard_taints, tolerations_of
from forensics.read.schema import (
    BINFMT_COLS,
    CONTAINER_COLS,
    EVENT_COLS,
    IMAGE_COLS,
    IMAGE_PLATFORM_COLS,
    LOG_COLS,
    NODE_COLS,
    POD_COLS,
    SIGNATURE_COLS,
    WORKLOAD_COLS,
    Columns,
    to_utc,
)
from forensics.read.source import LoadProblem
from forensics.values import digest_of, image_key, is_missing, snapshot_time

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
# the kubelet's eviction-manager conditions (pkg/kubelet/nodestatus/setters.go); True means it evicts
PRESSURE_CONDITIONS = ("MemoryPressure", "DiskPressure", "PIDPressure")
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
_FIELD_CONTAINER = re.compile(r"spec\.(?:initContainers|containers|ephemeralContainers)\{([^}]*)\}")
_MAX_FIELD_PATH = 1024
MAX_CHILD_CONFIGS = 1024  # per image: an index has a few dozen children


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
        self.nodes = Columns(NODE_COLS)
        self.pods = Columns(POD_COLS)
        self.containers = Columns(CONTAINER_COLS)
        self.events = Columns(EVENT_COLS)
        self.workloads = Columns(WORKLOAD_COLS)
        self.logs = Columns(LOG_COLS)
        self.sigs = Columns(SIGNATURE_COLS)
        self.binfmt = Columns(BINFMT_COLS)
        self.image_parts: dict[str, dict[str, Any]] = defaultdict(dict)
        self.cpuinfo: dict[str, tuple[str | None, str, str | None]] = {}  # node -> (level, from, model)
        self._snaps: set[str] = set()

    # --- what was read ------------------------------------------------------------------------------
    def snapshots_seen(self) -> set[str]:
        """The snapshots any object list or log was added under."""
        return set(self._snaps)

    def rename_snapshot(self, old: str, new: str) -> None:
        """Rename a snapshot in every accumulated row (a format learns its collection time late)."""
        for cols in (self.nodes, self.pods, self.containers, self.events, self.workloads, self.logs, self.sigs):
            col = cols.data["snapshot"]
            for i, v in enumerate(col):
                if v == old:
                    col[i] = new
        if old in self._snaps:
            self._snaps.discard(old)
            self._snaps.add(new)

    def newest_time(self, extra: Iterable[Any] = ()) -> pd.Timestamp | None:
        """The newest timestamp among what was observed (events, container states, pods, nodes) and `extra`."""
        values: list[Any] = list(extra)
        for cols, names in (
            (self.events, ("last_seen", "first_seen")),
            (self.containers, ("started_at", "term_finished", "last_finished", "last_started")),
            (self.pods, ("start_time", "created")),
            (self.nodes, ("ready_since", "created")),
            (self.workloads, ("created",)),
        ):
            for n in names:
                values.extend(v for v in cols.data[n] if v)
        if not values:
            return None
        s = to_utc(values).dropna()
        return None if s.empty else s.max()

    def image_by_digest(self) -> dict[str, str]:
        """image digest (from pods' imageID) -> the image reference the pod spec names, first seen first."""
        out: dict[str, str] = {}
        data = self.containers.data
        for digest, image in zip(data["image_digest"], data["image"], strict=True):
            if digest and image and digest not in out:
                out[digest] = image
        return out

    # --- object lists -------------------------------------------------------------------------
    def add_objects(self, snapshot: str, kind: str, file: str, data: bytes, notes: list[str] | None = None) -> None:
        self.add_items(snapshot, kind, file, kube.decode_list(kind, data, notes))

    def add_objects_chunked(
        self, snapshot: str, kind: str, file: str, chunks: Iterator[bytes], notes: list[str] | None = None
    ) -> None:
        """Decode a huge list in batches of whole items (`forensics.read.chunks`), never holding the
        whole file, pods.json's batches shared with a second process (`forensics.read.parallel`); a list
        not laid out as kubectl prints it is decoded whole, as a fallback."""
        whole: list[bytes] = []

        def batches() -> Iterator[bytes]:
            for batch in item_batches(chunks):
                if batch.whole:  # then the only one
                    whole.append(batch.data)
                    return
                yield batch.data

        parallel.add_batches(self, snapshot, kind, file, batches(), notes)
        for data in whole:
            self.add_objects(snapshot, kind, file, data, notes)

    def add_batch(self, snapshot: str, kind: str, file: str, dec: Any, text: bytes, notes: list[str] | None) -> None:
        """Add the items of one batch (a JSON array of whole items of a `kind` list)."""
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

    def note_snapshot(self, snapshot: str) -> None:
        """A snapshot rows were added under (`snapshots_seen`)."""
        self._snaps.add(snapshot)

    def add_items(self, snapshot: str, kind: str, file: str, items: list[Any]) -> None:
        """Add already-decoded typed items (`forensics.read.kube` structs) of one kind file."""
        self._snaps.add(snapshot)
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
                failed = None
                if wkind == "Job":  # a Job's Failed condition outlives its pods (TTL, cleanup)
                    failed = next(
                        (c for c in w.status.conditions or () if c.type == "Failed" and c.status == "True"), None
                    )
                self._add_workload(snapshot, file, wkind, w.metadata, w.spec, failed)

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
        pressure: list[str] = []
        pressure_words: list[str] = []
        for c in n.status.conditions or ():
            if c.type == "Ready":
                ready = c.status == "True"
                reason = c.reason
                message = c.message
                since = c.last_transition_time
            elif c.status != "False":  # every other condition (pressure, node-problem-detector) is healthy False
                troubled.append(f"{c.type}={c.status}")
                if c.type in PRESSURE_CONDITIONS and c.status == "True":
                    pressure.append(c.type)
                    words = ": ".join(x for x in (c.reason, c.message) if x)
                    pressure_words.append(f"{c.type}=True" + (f" ({words})" if words else ""))
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
            taints=hard_taints(n.spec.taints),
            conditions=",".join(sorted(troubled)) or None,
            pressure=pressure,
            pressure_words=pressure_words,
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
            tolerations=tolerations_of(spec.tolerations),
            claims=[v.persistent_volume_claim.claim_name for v in spec.volumes if v.persistent_volume_claim]
            if spec.volumes
            else None,
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

    def _add_workload(
        self,
        snapshot: str,
        file: str,
        kind: str,
        md: kube.Meta,
        spec: kube.WorkloadSpec | None,
        failed: kube.WorkloadCondition | None = None,
    ) -> None:
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
            failed_reason=(failed.reason or "Failed") if failed is not None else None,
            failed_message=failed.message if failed is not None else None,
            failed_at=failed.last_transition_time if failed is not None else None,
            file=file,
        )

    # --- logs, binfmt, images ---------------------------------------------------------------------
    def add_log(self, m: layout.Member, file: str, data: bytes, *, line_offset: int = 0) -> bool:
        """Record a log and its signature lines; returns whether it held invalid UTF-8. `line_offset`
        shifts the signature line numbers when the log is a block inside a bigger file (cluster-info
        `logs.txt`), so evidence points at the file's own line."""
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
                line=x.line + line_offset if x.line is not None and line_offset else x.line,
                signature=x.signature,
                dialect=x.dialect,
                hint=x.hint,
                text=x.text,
                platform=x.platform,
            )
        return invalid

    def add_binfmt(self, node: str, entry: str, file: str, data: bytes) -> None:
        """One of a node's binfmt_misc files (`forensics.knowledge.binfmt`)."""
        e = parse_entry(entry, data)
        if e is None:
            return
        if e.entry == "status":
            self.binfmt.add(node=node, entry=e.entry, enabled=e.enabled, file=file)
            return
        self.binfmt.add(
            node=node,
            entry=e.entry,
            enabled=e.enabled,
            interpreter=e.interpreter,
            flags=e.flags,
            arch=e.arch,
            file=file,
        )

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

        img = Columns(IMAGE_COLS)
        plat = Columns(IMAGE_PLATFORM_COLS)
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
