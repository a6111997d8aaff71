"""The joins several rules need, computed once: pod x node x image platforms, restart counts
counted once over snapshots, failure states, and the signatures seen per container.

`Context` is what every rule receives. Rules never read files; everything they can know is here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

import numpy as np
import pandas as pd

from forensics.analysis import causes
from forensics.analysis.findings import Workload
from forensics.knowledge.arch import Platform, can_run, normalize_os, normalize_platform, parse_platform
from forensics.read.scheduling import tolerates
from forensics.values import image_key, iso_z

# waiting reasons that mean the container cannot run
FAIL_WAITING = frozenset(
    {
        "CrashLoopBackOff",
        "ErrImagePull",
        "ImagePullBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "InvalidImageName",
        "ErrImageNeverPull",
        "ContainerCannotRun",
        "StartError",
    }
)
OK_TERMINATED = frozenset({"Completed"})
WL_KEYS = ["workload_kind", "namespace", "workload_name"]
# A restart whose last termination is older than this (relative to the snapshot that saw it, else the
# collection time) and whose container is Running and Ready since is history, not a failure now. One
# hour: longer than the kubelet's 5-minute maximum back-off many times over (a crash loop restarts
# well within it), and the default lifetime of the events that would explain it (docs/findings.md).
RECENT = pd.Timedelta(hours=1)
# A termination this close to the node's Ready transition followed the node's restart.
NODE_EVENT_GAP = pd.Timedelta(minutes=10)
# A running container that is not Ready this long after it started is failing, not starting up.
STARTUP_GRACE = pd.Timedelta(minutes=5)
# the kubelet reports containers it lost track of (node or runtime restarted) as Unknown / exit 255
NODE_EVENT_REASONS = frozenset({"Unknown"})
NODE_EVENT_EXIT = 255


# Signature hints, by the mark columns they set on the placement rows (`Context.restart_marks`,
# `Context.arch_marks`); a hint is the family a signature row belongs to (forensics/knowledge/signatures.py),
# and which cause owns it is declared in that cause's rule module (`forensics.analysis.causes`).
# restart mark column -> the cause whose hints set it, and the dialects it is limited to
_OWN_COLUMNS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "oom_sig": ("oom-killed", None),
    "probe_sig": ("liveness-probe", ("liveness", "startup")),
    "auth_sig": ("image-pull-auth", None),
    "notfound_sig": ("image-pull-not-found", None),
    "net_sig": ("image-pull-network", None),
    "volume_sig": ("volume-mount", None),
    "config_sig": ("missing-config", None),
    "cmd_sig": ("command-not-found", None),
}


@cache
def restart_sig_marks() -> dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]]:
    """Restart mark column -> (hints, dialects or None), from the causes' declarations. `arch_sig`
    takes every hint owned by a cause with no column of its own (the exec-format family and any cause
    added since), so app-crash stays silent where another rule owns the signature."""
    out = {col: (causes.hints_of(cause), dialects) for col, (cause, dialects) in _OWN_COLUMNS.items()}
    out["app_sig"] = (("app-crash",), None)
    out["appexec_sig"] = (("app-exec",), None)
    taken = {h for hints, _ in out.values() for h in hints}
    out["arch_sig"] = (tuple(h for h in causes.owned_hints() if h not in taken), None)
    return out


@cache
def arch_sig_marks() -> dict[str, tuple[str, ...]]:
    """Architecture mark column -> hints: `arch_sig` is every platform-mismatch cause's hint."""
    return {
        "arch_sig": causes.platform_hints(),
        "pull_sig": ("arch-pull",),
        "emu_sig": ("emulation",),
        "exec_sig": ("arch",),
    }


START_FAIL = frozenset({"StartError", "ContainerCannotRun", "RunContainerError", "CreateContainerError"})
PULL_WAIT = frozenset({"ErrImagePull", "ImagePullBackOff"})
_CLEAN_STOP = (
    r"(?i)\b(?:graceful(?:ly)?\s+shut(?:ting)?\s*down|shutting down(?: gracefully)?|shutdown complete"
    r"|received (?:signal )?(?:SIGTERM|terminated)|exiting on signal|stopped by signal)"
)
# the placement columns the restart-cause rules read; narrow rows keep grouping and evidence cheap on big dumps
_RESTART_COLS = [
    "snapshot",
    "observed_at",
    "snapshot_index",
    "namespace",
    "pod",
    "container",
    "init",
    "image",
    "uid",
    "file",
    "node",
    "node_arch",
    "node_ready",
    "workload_kind",
    "workload_name",
    "restart_count",
    "ready",
    "state",
    "waiting_reason",
    "waiting_message",
    "term_reason",
    "term_exit_code",
    "term_finished",
    "started_at",
    "last_reason",
    "last_exit_code",
    "last_started",
    "last_finished",
    "memory_limit",
    "has_liveness_probe",
    "supported",
    "failing",
    "healthy",
    "node_event",
]
LogKey = tuple[str, str, str]


@dataclass
class Context:
    """Everything a rule may read. Frames are shared: rules must not modify them.

    The fields are the joins every rule needs; the cached properties below are the joins some rules
    need, each computed once on first use and typed (docs/architecture.md, "What a rule may read")."""

    frames: dict[str, pd.DataFrame]
    snapshots: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    nodes: pd.DataFrame = field(default_factory=pd.DataFrame)  # last observation of each node
    placement: pd.DataFrame = field(default_factory=pd.DataFrame)  # containers x node x image, all snapshots
    current: pd.DataFrame = field(default_factory=pd.DataFrame)  # placement, each pod's last observation
    signatures: pd.DataFrame = field(default_factory=pd.DataFrame)  # with workload columns
    cluster_archs: list[str] = field(default_factory=list)
    has_binfmt: bool = False
    inspected_images: int = 0
    # workloads (kind, namespace, name) failing at the last snapshot (docs/findings.md)
    failing_now: frozenset[tuple[str, str, str]] = frozenset()
    # Jobs that failed and whose pods are all gone from the dump (`failed_jobs`), with `recent`
    failed_jobs: pd.DataFrame = field(default_factory=pd.DataFrame)
    _reachable: dict[tuple[str, ...] | None, frozenset[str]] = field(default_factory=dict, repr=False)

    @property
    def mixed(self) -> bool:
        return len(self.cluster_archs) > 1

    # --- signatures per container -----------------------------------------------------------------

    @cached_property
    def _sig_index(self) -> tuple[dict[Any, np.ndarray], dict[Any, Any]]:
        """Signature rows by (namespace, pod, container), as positions; rows without a container by
        (namespace, pod), as labels (`_sig_pod_positions` has their positions)."""
        s = self.signatures
        by_c = s.groupby(["namespace", "pod", "container"], sort=False, dropna=True).indices
        return by_c, {k: s.index[v] for k, v in self._sig_pod_positions.items()}

    @cached_property
    def _sig_pod_positions(self) -> dict[Any, np.ndarray]:
        s = self.signatures
        no_c = np.flatnonzero(s["container"].isna().to_numpy()) if not s.empty else np.zeros(0, dtype=np.int64)
        if not len(no_c):
            return {}
        return {k: no_c[v] for k, v in s.iloc[no_c].groupby(["namespace", "pod"], sort=False).indices.items()}

    def sigs_for(self, rows: pd.DataFrame | Rows, hints: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Signature rows for the containers in `rows` (any snapshot); event rows without a
        container match by pod. Uses an index built once, so a call costs what `rows` holds
        (`sig_rows` as a frame)."""
        return self.sig_rows(rows, hints).frame().reset_index(drop=True)

    @cached_property
    def _sig_table(self) -> Workloads:
        return Workloads.at(self.signatures, [])

    def sig_rows(self, rows: pd.DataFrame | Rows, hints: tuple[str, ...] | None = None) -> Rows:
        """The signature rows for the containers in `rows` (any snapshot; event rows without a container
        match by pod), as `Rows` over the signature frame (its columns read once): what one finding's
        evidence is built from, without a DataFrame per finding."""
        s, table = self.signatures, self._sig_table
        if s.empty or rows.empty:
            return Rows(table, np.zeros(0, dtype=np.int64))
        by_c, by_pod = self._sig_index[0], self._sig_pod_positions
        pos: set[int] = set()
        for key in set(zip(rows["namespace"], rows["pod"], rows["container"])):
            hit = by_c.get(key)
            if hit is not None:
                pos.update(hit.tolist())
        at = sorted(pos)
        for pkey in set(zip(rows["namespace"], rows["pod"])):
            hit = by_pod.get(pkey)
            if hit is not None:
                at.extend(hit.tolist())
        out = Rows(table, np.asarray(at, dtype=np.int64))
        if hints is not None:
            out = out.keep([not is_na(h) and h in hints for h in out["hint"]])
        return out

    @cached_property
    def _sig_pairs(self) -> tuple[dict[tuple[str, str | None], int], np.ndarray]:
        """Which (hint, dialect) pairs have a signature for each placement row (by container, or by
        pod for signatures that name none): the pair -> column map and a rows x pairs bool matrix."""
        p, s = self.placement, self.signatures
        if s.empty or p.empty:
            return {}, np.zeros((len(p), 0), dtype=bool)
        hint = s["hint"].astype(object).where(s["hint"].notna(), None)
        dialect = (
            s["dialect"].astype(object).where(s["dialect"].notna(), None)
            if "dialect" in s
            else pd.Series(None, index=s.index, dtype=object)
        )
        pairs = list(dict.fromkeys(zip(hint, dialect)))
        col = {pr: i for i, pr in enumerate(pairs)}
        out = np.zeros((len(p), len(pairs)), dtype=bool)
        sp = s[["namespace", "pod", "container"]].assign(_pair=[col[pr] for pr in zip(hint, dialect)])
        pos = p[["namespace", "pod", "container"]].reset_index(drop=True).assign(_pos=np.arange(len(p)))
        for keys, sub in ((_CKEY, sp[sp["container"].notna()]), (_PKEY, sp[sp["container"].isna()])):
            if sub.empty:
                continue
            m = pos[keys + ["_pos"]].merge(sub[keys + ["_pair"]].drop_duplicates(), how="inner", on=keys)
            out[m["_pos"].to_numpy(dtype=np.int64), m["_pair"].to_numpy(dtype=np.int64)] = True
        return col, out

    def sig_hits(self, hints: tuple[str, ...], dialects: tuple[str, ...] | None = None) -> np.ndarray:
        """Per placement row: a signature of one of `hints` (and `dialects`) was seen for its container."""
        col, m = self._sig_pairs
        cols = [i for (h, d), i in col.items() if h in hints and (dialects is None or d in dialects)]
        return np.asarray(m[:, cols].any(axis=1)) if cols else np.zeros(len(self.placement), dtype=bool)

    # --- lookups by name ----------------------------------------------------------------------------

    @cached_property
    def images_by_key(self) -> pd.DataFrame:
        """The images frame indexed by `image_key`."""
        return self.frames["images"].set_index("image_key", drop=False).sort_index()

    @cached_property
    def nodes_by_name(self) -> pd.DataFrame:
        """Each node's last observation, indexed by name."""
        return self.nodes.set_index("node", drop=False).sort_index()

    @cached_property
    def node_records(self) -> dict[str, Any]:
        """Each node's last observation as a named tuple (`itertuples`), by name."""
        return {str(r.node): r for r in self.nodes_by_name.itertuples(index=False)}

    @cached_property
    def image_records(self) -> dict[str, Any]:
        """Per `image_key`, the last row of `images_by_key` for it, as a named tuple."""
        return {k: r for k, r in zip(self.images_by_key.index, self.images_by_key.itertuples(index=False))}

    @cached_property
    def multiarch_pods(self) -> list[Any]:
        """Pods with the multiarch tuning operator's labels (OpenShift), each pod once (its last row),
        as the named tuples `itertuples` gives."""
        pods = self.frames["pods"]
        if "multiarch" not in pods or pods["multiarch"].isna().all():
            return []
        sub = pods[pods["multiarch"].notna()].drop_duplicates(["namespace", "pod"], keep="last")
        return list(sub.itertuples(index=False))

    @cached_property
    def arch_constrained(self) -> frozenset[tuple[Any, Any, Any]]:
        """(kind, namespace, name) of the workload objects whose pod template has a kubernetes.io/arch
        constraint (`arch_allowed` or `arch_excluded` set on any observation)."""
        wl = self.frames["workloads"]
        has = wl[wl["arch_allowed"].notna() | wl["arch_excluded"].notna()]
        return frozenset(zip(has["kind"], has["namespace"], has["name"]))

    @cached_property
    def arch_failing(self) -> Workloads:
        """`arch_marks` rows of the workloads with at least one arch failure (all their rows, for the
        full picture), grouped by workload."""
        p = self.arch_marks
        bad = p[p["arch_fail"]][WL_KEYS].drop_duplicates()
        return Workloads(p.merge(bad, on=WL_KEYS, how="inner"))

    @cached_property
    def _toleration_index(self) -> tuple[Any, dict[tuple[Any, Any], int]]:
        pods = self.frames["pods"]
        at = {k: i for i, k in enumerate(zip(pods["namespace"].tolist(), pods["pod"].tolist()))}  # the last wins
        return pods["tolerations"].array, at

    def pod_tolerations(self, namespace: Any, pod: Any) -> tuple[str, ...] | None:
        """The pod's tolerations (its last observation); None when it has none or is unknown. Looked up
        one pod at a time: a cluster has many pods, few are asked for."""
        values, at = self._toleration_index
        i = at.get((namespace, pod))
        if i is None:
            return None
        t = values[i]
        return None if is_na(t) else tuple(t)

    @cached_property
    def _schedulable_nodes(self) -> list[tuple[list[str] | None, str | None]]:
        n = self.nodes[~self.nodes["unschedulable"].fillna(False)]
        return [
            (None if is_na(t) else list(t), None if is_na(a) else str(a))
            for t, a in zip(n["taints"].tolist(), n["arch"])
        ]

    def reachable_archs(self, tolerations: tuple[str, ...] | None) -> frozenset[str]:
        """The architectures of the schedulable nodes whose hard taints a pod with these tolerations
        tolerates: computed once per distinct set of tolerations."""
        hit = self._reachable.get(tolerations)
        if hit is None:
            hit = self._reachable[tolerations] = frozenset(
                a for t, a in self._schedulable_nodes if a is not None and tolerates(tolerations, t)
            )
        return hit

    @cached_property
    def present_pods(self) -> set[tuple[str, str]]:
        """(namespace, pod) of every pod the last snapshot holds."""
        pods = self.frames["pods"]
        if pods.empty:
            return set()
        last = pods["snapshot_index"].max()
        at = (pods["snapshot_index"] == last).fillna(False).to_numpy(dtype=bool)
        return set(zip(pods["namespace"][at].astype(str), pods["pod"][at].astype(str)))

    @cached_property
    def log_keys(self) -> frozenset[LogKey]:
        """(namespace, pod, container) of every container with a log in the dump."""
        logs = self.frames["logs"]
        return frozenset(zip(logs["namespace"].astype(str), logs["pod"].astype(str), logs["container"].astype(str)))

    @cached_property
    def previous_log_keys(self) -> frozenset[LogKey]:
        """(namespace, pod, container) of every container with a previous (crashed) log in the dump."""
        logs = self.frames["logs"]
        prev = logs[logs["previous"].fillna(False)]
        return frozenset(zip(prev["namespace"].astype(str), prev["pod"].astype(str), prev["container"].astype(str)))

    @cached_property
    def _replicasets(self) -> tuple[pd.DataFrame, dict[tuple[Any, Any], np.ndarray]]:
        wl = self.frames["workloads"]
        rsf = wl[wl["kind"] == "ReplicaSet"].drop_duplicates(["namespace", "name"], keep="last")
        return rsf, rsf.groupby(["namespace", "owner_name"]).indices

    def replicasets_of(self, namespace: str, owner: str) -> pd.DataFrame:
        """The ReplicaSets (each once, last observation) a Deployment owns: its rollouts."""
        rsf, idx = self._replicasets
        pos = idx.get((namespace, owner))
        return rsf.iloc[pos] if pos is not None else rsf.iloc[0:0]

    @cached_property
    def _replicaset_records(self) -> tuple[list[Any], dict[tuple[Any, Any], np.ndarray]]:
        rsf, idx = self._replicasets
        return list(rsf.itertuples(index=False)), idx

    def replicaset_records(self, namespace: str, owner: str) -> list[Any]:
        """`replicasets_of` as named tuples, read out of the frame once."""
        recs, idx = self._replicaset_records
        pos = idx.get((namespace, owner))
        return [recs[i] for i in pos] if pos is not None else []

    @cached_property
    def pool_events(self) -> list[dict[str, Any]]:
        """The first node of each pool and arch, as timeline entries."""
        ev = []
        for (pool, arch), g in self.nodes.groupby(["pool", "arch"], dropna=False):
            if g["created"].notna().any():
                r = g.sort_values("created").iloc[0]
                label = pool if not pd.isna(pool) else "(no pool label)"
                ev.append(
                    {
                        "at": iso_z(r["created"]),
                        "what": f"first {arch} node of pool {label} created ({r['node']})",
                        "kind": "node-pool",
                        "source": str(r["file"]),
                    }
                )
        return ev

    # --- marks on placement rows ------------------------------------------------------------------------

    @cached_property
    def restart_marks(self) -> pd.DataFrame:
        """`placement`, narrowed to the columns the restart-cause rules read, plus the marks saying which
        known failure explains each container (forensics/analysis/rules/_restart.py lists them)."""
        return _restart_marks(self)

    @cached_property
    def arch_marks(self) -> pd.DataFrame:
        """`placement` plus the marks saying which containers fail for an architecture reason
        (forensics/analysis/rules/_arch.py, `marked`)."""
        return _arch_marks(self)

    @cached_property
    def term_messages(self) -> dict[tuple[str, str, str, str], str]:
        """(snapshot, namespace, pod, container) -> the termination message shown with the container's
        state (current termination, else the last one), only for containers that have one."""
        c = self.placement
        term = (c["state"] == "terminated").fillna(False)
        msg = c["term_message"].where(term, c["last_message"])
        has = msg.notna()
        return {
            (str(a), str(b), str(d), str(e)): str(m)
            for a, b, d, e, m in zip(
                c.loc[has, "snapshot"], c.loc[has, "namespace"], c.loc[has, "pod"], c.loc[has, "container"], msg[has]
            )
            if str(m).strip()
        }

    @cached_property
    def healthy_pods(self) -> dict[tuple[str, str, str], int]:
        """Per workload, how many of its pods (last observation) have every app container healthy
        (on a Ready node)."""
        cur = self.current
        out: dict[tuple[str, str, str], int] = {}
        if not cur.empty:
            app = cur[~cur["init"].fillna(False)]
            # a pod on a node that is not Ready shows its last (stale) status: it does not serve
            app = app.assign(healthy=app["healthy"].fillna(False) & ~app["node_ready"].eq(False).fillna(False))
            per_pod = app.groupby(WL_KEYS + ["pod"], dropna=False)["healthy"].all().reset_index()
            counts = per_pod[per_pod["healthy"].fillna(False).astype(bool)].groupby(WL_KEYS, dropna=False).size()
            for key, n in counts.items():
                kind, ns, name = (str(k) if not pd.isna(k) else "" for k in key)
                out[(kind or "Pod", ns, name)] = int(n)
        return out

    @cached_property
    def pod_events(self) -> tuple[pd.DataFrame, dict[tuple[str, str], np.ndarray]]:
        """Pod events, each once (last snapshot), and their row positions per (namespace, pod)."""
        ev = self.frames["events"]
        ev = (
            ev[ev["object_kind"] == "Pod"]
            .sort_values(["snapshot_index", "last_seen"])
            .drop_duplicates(["object_namespace", "object_name", "reason", "message"], keep="last")
            .reset_index(drop=True)
        )
        idx = (
            {(str(k[0]), str(k[1])): v for k, v in ev.groupby(["object_namespace", "object_name"]).indices.items()}
            if not ev.empty
            else {}
        )
        return ev, idx

    @cached_property
    def pod_event_records(self) -> list[Any]:
        """The rows of `pod_events` as the named tuples `itertuples` gives (read once), by position."""
        return list(self.pod_events[0].itertuples(index=False))

    @cached_property
    def ghost_events(self) -> pd.DataFrame:
        """Pod events (each once) about pods the dump holds no Pod object for, with `workload_kind`,
        `workload_name` derived by `ghost_workload`."""
        ev, _ = self.pod_events
        pods = self.frames["pods"]
        known = set(zip(pods["namespace"].astype(str), pods["pod"].astype(str)))
        keep = [
            (str(n), str(p)) not in known and not pd.isna(p) for n, p in zip(ev["object_namespace"], ev["object_name"])
        ]
        g = ev[np.array(keep, dtype=bool)] if len(ev) else ev
        return g.assign(
            workload_kind=[ghost_workload(str(p)).kind for p in g["object_name"]],
            workload_name=[ghost_workload(str(p)).name for p in g["object_name"]],
        ).reset_index(drop=True)

    @cached_property
    def container_rows(self) -> tuple[pd.DataFrame, dict[Any, np.ndarray]]:
        """A narrow copy of `placement` (the columns a first failure is decided from) and its row
        positions per (namespace, pod, container), for per-finding lookups."""
        narrow = self.placement[[c for c in _INCIDENT_COLS if c in self.placement]].reset_index(drop=True)
        index = narrow.groupby(_CKEY, sort=False).indices if not narrow.empty else {}
        return narrow, index

    @cached_property
    def pod_first_times(self) -> tuple[TimesByKey, TimesByKey]:
        """Per pod (namespace, name): its earliest startTime, and the earliest firstTimestamp of a
        Warning event about it."""
        pods = self.frames["pods"]
        starts = pods.dropna(subset=["start_time"]).groupby(["namespace", "pod"])["start_time"].min()
        ev = self.frames["events"]
        ev = ev[(ev["object_kind"] == "Pod") & (ev["type"] == "Warning")].dropna(subset=["first_seen"])
        ns = ev["object_namespace"].fillna(ev["namespace"])
        warned = ev["first_seen"].groupby([ns, ev["object_name"]]).min() if not ev.empty else None
        return TimesByKey(starts), TimesByKey(warned)


class TimesByKey:
    """A time Series indexed by key, looked up one key at a time: only the times asked for become
    Timestamps (a cluster has many pods, a finding names a few)."""

    def __init__(self, times: pd.Series | None) -> None:
        self._times = times.array if times is not None else None
        self._at = dict(zip(times.index, range(len(times)))) if times is not None else {}

    def get(self, key: Any) -> Any:
        i = self._at.get(key)
        return None if i is None or self._times is None else self._times[i]


_CKEY = ["namespace", "pod", "container"]
_PKEY = ["namespace", "pod"]
# the placement columns a finding's first failure and figures are decided from (forensics/analysis/incident.py)
_INCIDENT_COLS = [
    "snapshot",
    "observed_at",
    "snapshot_index",
    "namespace",
    "pod",
    "container",
    "uid",
    "file",
    "node",
    "node_arch",
    "restart_count",
    "ready",
    "failing",
    "healthy",
    "last_started",
    "last_finished",
    "term_finished",
]


def build_context(frames: dict[str, pd.DataFrame], snapshots: list[str], meta: dict[str, Any] | None = None) -> Context:
    nodes_all = frames["nodes"]
    nodes = nodes_all.sort_values("snapshot_index").drop_duplicates("node", keep="last")
    archs = sorted(a for a in nodes["arch"].dropna().unique() if a)

    c = frames["containers"].copy()
    # one image_key per distinct reference (a cluster has few images and many containers)
    codes, refs = pd.factorize(c["image"].fillna(""))
    c["image_key"] = pd.array(
        np.asarray([image_key(str(x)) for x in refs], dtype=object)[codes] if len(c) else [], dtype="string[pyarrow]"
    )

    # node facts from the same snapshot, else from the node's last observation
    ncols = [
        "node",
        "arch",
        "variant",
        "pool",
        "ready",
        "created",
        "instance_type",
        "runtime",
        "runtime_version",
        "os",
        "cpu_level",
        "cpu_level_from",
        "cpu_model",
        "windows_build",
        "ready_since",
    ]
    same = nodes_all[["snapshot"] + ncols].rename(columns={k: f"node_{k}" for k in ncols[1:]})
    c = c.merge(same, how="left", on=["snapshot", "node"])
    last = nodes[ncols].rename(columns={k: f"node_{k}" for k in ncols[1:]})
    missing = c["node_arch"].isna() & c["node"].notna()
    if missing.any():
        fill = c.loc[missing, ["node"]].merge(last, how="left", on="node")
        for col in last.columns[1:]:
            c.loc[missing, col] = fill[col].to_numpy()

    imgs = frames["images"]
    icols = [
        "image_key",
        "inspected",
        "kind",
        "media_type",
        "digest",
        "platforms",
        "archs",
        "n_platforms",
        "attestations",
        "config_arch",
        "config_variant",
        "created",
        "file",
        "source_format",
    ]
    ii = imgs[imgs["inspected"].fillna(False)][icols].drop_duplicates("image_key", keep="last")
    ii = ii.rename(columns={k: f"img_{k}" for k in icols[1:]})
    c = c.merge(ii, how="left", on="image_key")
    c["img_inspected"] = c["img_inspected"].fillna(False).astype("boolean")

    # can the node run the image? NA when the image or the node arch is unknown
    c = _platform_join(c, frames)

    mark_failing(c, meta or {})

    current = c.sort_values("snapshot_index").drop_duplicates(["namespace", "pod", "container"], keep="last")

    sig = frames["signatures"]
    if not sig.empty:
        pk = frames["pods"][["namespace", "pod", "node", "workload_kind", "workload_name"]].drop_duplicates(
            ["namespace", "pod"], keep="last"
        )
        sig = sig.merge(pk, how="left", on=["namespace", "pod"])
    else:
        sig = sig.assign(
            node=pd.Series(dtype="string"),
            workload_kind=pd.Series(dtype="string"),
            workload_name=pd.Series(dtype="string"),
        )

    jobs = failed_jobs(frames, _last_time(frames, meta or {}))
    return Context(
        frames=frames,
        snapshots=snapshots,
        meta=meta or {},
        nodes=nodes,
        placement=c,
        current=current,
        signatures=sig,
        cluster_archs=archs,
        has_binfmt=not frames["binfmt"].empty,
        inspected_images=int(frames["images"]["inspected"].fillna(False).sum()),
        failing_now=failing_workloads(frames["pods"], c, nodes_all, snapshots, meta or {})
        | _ghosts_failing(frames["events"], frames["pods"], _last_time(frames, meta or {}))
        | set(
            zip(
                jobs.loc[jobs["recent"], "workload_kind"],
                jobs.loc[jobs["recent"], "namespace"],
                jobs.loc[jobs["recent"], "workload_name"],
            )
        ),
        failed_jobs=jobs,
    )


# the job controller's reasons for a Job's Failed condition, also posted as events about the Job
JOB_FAILURES = (
    "BackoffLimitExceeded",
    "DeadlineExceeded",
    "FailedIndexes",
    "MaxFailedIndexesExceeded",
    "PodFailurePolicy",
)


def failed_jobs(frames: dict[str, pd.DataFrame], ref: pd.Timestamp | None) -> pd.DataFrame:
    """Jobs that failed (a `Failed` condition True, else a `BackoffLimitExceeded` / `DeadlineExceeded`
    event about the Job) and of which no pod is in the dump (deleted by `ttlSecondsAfterFinished` or
    a cleanup): one row per Job with namespace, job, workload_kind/workload_name (the CronJob that made
    it, else the Job), reason, message, at (when it failed), file, snapshot, from ("condition" |
    "event") and recent (failed within RECENT of `ref`)."""
    cols = ["namespace", "job", "workload_kind", "workload_name", "reason", "message", "at", "file", "snapshot", "from"]
    wl, pods, events = frames["workloads"], frames["pods"], frames["events"]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    jobs = wl[wl["kind"] == "Job"]
    owners = {
        (str(n), str(j)): (str(k), str(o))
        for n, j, k, o in zip(jobs["namespace"], jobs["name"], jobs["owner_kind"], jobs["owner_name"])
        if not pd.isna(k) and not pd.isna(o)
    }
    for r in (
        jobs[jobs["failed_reason"].notna()].drop_duplicates(["namespace", "name"], keep="last").itertuples(index=False)
    ):
        rows[(str(r.namespace), str(r.name))] = dict(
            reason=r.failed_reason,
            message=r.failed_message,
            at=r.failed_at,
            file=r.file,
            snapshot=r.snapshot,
            **{"from": "condition"},
        )
    ev = events[(events["object_kind"] == "Job") & events["reason"].isin(list(JOB_FAILURES)).fillna(False)]
    for r in ev.sort_values("last_seen").itertuples(index=False):
        ns = "" if pd.isna(r.object_namespace) else str(r.object_namespace)
        rows.setdefault(
            (ns, str(r.object_name)),
            dict(
                reason=r.reason,
                message=r.message,
                at=r.last_seen,
                file=r.file,
                snapshot=r.snapshot,
                **{"from": "event"},
            ),
        )
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols}).assign(recent=pd.Series(dtype=bool))
    with_pods = set(
        zip(
            pods.loc[pods["owner_kind"] == "Job", "namespace"].astype(str),
            pods.loc[pods["owner_kind"] == "Job", "owner_name"].astype(str),
        )
    )
    cronjobs = set(
        zip(
            wl.loc[wl["kind"] == "CronJob", "namespace"].astype(str),
            wl.loc[wl["kind"] == "CronJob", "name"].astype(str),
        )
    )
    # a dump without any Job or CronJob object (a cluster-info dump collects none) cannot show the
    # CronJob, so the name the controller gives its Jobs decides alone
    batch_read = bool(wl["kind"].isin(["Job", "CronJob"]).any()) if not wl.empty else False
    out = []
    for (ns, job), r in sorted(rows.items()):
        if (ns, job) in with_pods:
            continue  # its pods speak for it (their own causes)
        kind, name = owners.get((ns, job), ("", ""))
        if kind != "CronJob":
            # <cronjob>-<scheduled time in minutes>: how the CronJob controller names its Jobs
            base, _, stamp = job.rpartition("-")
            made = base and len(stamp) >= 8 and stamp.isdigit() and ((ns, base) in cronjobs or not batch_read)
            kind, name = ("CronJob", base) if made else ("Job", job)
        out.append({"namespace": ns, "job": job, "workload_kind": kind, "workload_name": name, **r})
    df = pd.DataFrame(out, columns=cols)
    df["at"] = pd.to_datetime(df["at"], utc=True, errors="coerce")
    df["recent"] = (df["at"] >= ref - RECENT).fillna(False).astype(bool) if ref is not None else False
    return df


_DEPLOY_POD = re.compile(r"^(?P<w>[a-z0-9][-a-z0-9.]*?)-(?P<h>[bcdfghjklmnpqrstvwxz2456789]{6,10})-[a-z0-9]{5}$")
# warning reasons that say a pod was failing, for pods known only from events
GHOST_FAILURES = frozenset({"Failed", "BackOff", "Unhealthy", "FailedMount", "FailedAttachVolume", "Evicted"})


def ghost_workload(pod: str) -> Workload:
    """The workload a vanished pod belonged to, from its name alone: `<deployment>-<template hash>-<5>`
    names a Deployment (the hash alphabet is the one the controller uses); anything else stays the
    pod, since `<name>-<5>` may be a DaemonSet, a Job or a ReplicaSet."""
    m = _DEPLOY_POD.match(pod)
    return Workload("Deployment", "", m.group("w")) if m else Workload("Pod", "", pod)


def _ghosts_failing(events: pd.DataFrame, pods: pd.DataFrame, ref: pd.Timestamp | None) -> set[tuple[str, str, str]]:
    """Workloads of pods gone from the dump whose failure events are recent (within RECENT of `ref`)."""
    if events.empty or ref is None:
        return set()
    ev = events[
        (events["object_kind"] == "Pod")
        & events["reason"].isin(list(GHOST_FAILURES)).fillna(False)
        & (events["last_seen"] >= ref - RECENT).fillna(False)
    ]
    known = set(zip(pods["namespace"].astype(str), pods["pod"].astype(str)))
    out = set()
    for ns, pod in set(zip(ev["object_namespace"].astype(str), ev["object_name"].astype(str))):
        if (ns, pod) not in known:
            w = ghost_workload(pod)
            out.add((w.kind, ns, w.name))
    return out


def _wl(kind: Any, ns: Any, name: Any) -> tuple[str, str, str]:
    return (
        str(kind) if not pd.isna(kind) and kind else "Pod",
        "" if pd.isna(ns) else str(ns),
        "" if pd.isna(name) else str(name),
    )


def failing_workloads(
    pods: pd.DataFrame, containers: pd.DataFrame, nodes: pd.DataFrame, snapshots: list[str], meta: dict[str, Any]
) -> frozenset[tuple[str, str, str]]:
    """The workloads failing at the last snapshot: a container failing there (`mark_failing`), or a pod
    Failed, Pending past its start-up grace, on a node that is not Ready, or Running but not Ready past
    its start-up grace."""
    if pods.empty or not snapshots:
        return frozenset()
    last = snapshots[-1]
    lp = pods[pods["snapshot"] == last]
    out: set[tuple[str, str, str]] = set()
    lc = containers[(containers["snapshot"] == last) & containers["failing"].fillna(False)]
    out.update(_wl(*k) for k in zip(lc["workload_kind"], lc["namespace"], lc["workload_name"]))
    down = set(nodes[(nodes["snapshot"] == last) & nodes["ready"].eq(False).fillna(False)]["node"].astype(str))
    on_down = lp["node"].astype(str).isin(down) & ~lp["phase"].isin(["Succeeded", "Failed"]).fillna(False)
    ref = lp["observed_at"] if "observed_at" in lp else pd.Series(pd.NaT, index=lp.index)
    fallback = reference_time(meta)
    if fallback is not None:
        ref = ref.fillna(fallback)
    unready = (
        (lp["phase"] == "Running")
        & lp["ready"].eq(False)
        & lp["start_time"].notna()
        & (lp["start_time"] < ref - STARTUP_GRACE)
    ).fillna(False)
    # a pod created moments before the snapshot is starting, not stuck: Pending counts after the grace
    just_created = (lp["created"].notna() & (lp["created"] >= ref - STARTUP_GRACE)).fillna(False)
    bad_phase = ((lp["phase"] == "Failed") | ((lp["phase"] == "Pending") & ~just_created)).fillna(False)
    sel = lp[bad_phase | on_down | unready]
    out.update(_wl(*k) for k in zip(sel["workload_kind"], sel["namespace"], sel["workload_name"]))
    return frozenset(out)


def _last_time(frames: dict[str, pd.DataFrame], meta: dict[str, Any]) -> pd.Timestamp | None:
    t = frames["pods"]["observed_at"].max() if "observed_at" in frames["pods"] and not frames["pods"].empty else None
    return reference_time(meta) if t is None or pd.isna(t) else t


def reference_time(meta: dict[str, Any]) -> pd.Timestamp | None:
    """The collection time, the moment "recent" is measured from when a row's snapshot has no time."""
    v = meta.get("collected_at")
    if not v:
        return None
    t = pd.to_datetime(str(v), utc=True, errors="coerce")
    return None if pd.isna(t) else t


def mark_failing(c: pd.DataFrame, meta: dict[str, Any]) -> None:
    """Add the failure columns to container rows (docs/findings.md, "Failing now and restart history"):

    waiting_fail   waiting in a reason that means the container cannot run
    node_event     the last termination followed a node (or runtime) restart: reason Unknown / exit 255,
                   or it ended within NODE_EVENT_GAP of the node's Ready transition
    restart_recent the last termination ended within RECENT of the snapshot (else the collection time)
    restart_grew   restartCount grew since the previous snapshot that saw this container
    failing        failing in that snapshot: waiting_fail, terminated in error, or restarted and not
                   recovered (restarts grew, or the last termination is recent, or the container is not
                   Running and Ready), unless the restart was a node event and the container runs again,
                   or the container has since completed successfully (exit 0)
    healthy        Running and Ready and not failing
    """
    state = c["state"]
    wr = c["waiting_reason"]
    c["waiting_fail"] = (state == "waiting") & wr.isin(list(FAIL_WAITING))
    term_fail = (
        (state == "terminated") & ~c["term_reason"].isin(list(OK_TERMINATED)) & (c["term_exit_code"].fillna(0) != 0)
    )
    restarted = (
        (c["restart_count"].fillna(0) > 0) & c["last_reason"].notna() & ~c["last_reason"].isin(list(OK_TERMINATED))
    ).fillna(False)
    ref = c["observed_at"] if "observed_at" in c else pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns, UTC]")
    fallback = reference_time(meta)
    if fallback is not None:
        ref = ref.fillna(fallback)
    finished = c["last_finished"]
    recent = (finished.notna() & ref.notna() & (finished >= ref - RECENT)).fillna(False)
    key = c["uid"].fillna(c["pod"]) if "uid" in c else c["pod"]
    rc = c["restart_count"].fillna(0).astype("int64")
    order = c["snapshot_index"].fillna(0) if "snapshot_index" in c else pd.Series(0, index=c.index)
    prev = rc.groupby([key, c["container"]], dropna=False, sort=False).shift(1) if not c.empty else rc
    if not c.empty and not order.is_monotonic_increasing:
        srt = c.assign(_k=key, _rc=rc, _o=order).sort_values("_o", kind="stable")
        prev = srt.groupby(["_k", "container"], dropna=False, sort=False)["_rc"].shift(1).reindex(c.index)
    grew = (prev.notna() & (rc > prev.fillna(0))).astype(bool)
    ready_since = c["node_ready_since"] if "node_ready_since" in c else pd.Series(pd.NaT, index=c.index)
    near_boot = (finished.notna() & ready_since.notna() & ((finished - ready_since).abs() <= NODE_EVENT_GAP)).fillna(
        False
    )
    # exit 255 alone is also an application's `exit(-1)`: it is the lost container only with reason Unknown
    # (or no reason at all)
    node_event = (
        c["last_reason"].isin(list(NODE_EVENT_REASONS))
        | (c["last_exit_code"].eq(NODE_EVENT_EXIT) & c["last_reason"].isna())
    ).fillna(False) | near_boot
    running_ready = ((state == "running") & c["ready"].fillna(False)).fillna(False)
    # a container that has since run to completion (an init container that succeeded on a retry, a Job's
    # container under restartPolicy OnFailure) has recovered, whatever its restarts
    completed = ((state == "terminated") & c["term_exit_code"].eq(0)).fillna(False)
    restart_fail = restarted & ~completed & (grew | recent | ~running_ready) & ~(node_event & running_ready)
    c["node_event"] = node_event.astype(bool)
    c["restart_recent"] = recent.astype(bool)
    c["restart_grew"] = grew
    c["failing"] = (c["waiting_fail"].fillna(False) | term_fail.fillna(False) | restart_fail).astype("boolean")
    c["healthy"] = (running_ready & ~c["failing"]).fillna(False).astype("boolean")


_JOIN_COLS = (
    "supported",
    "platform_lie",
    "emulated",
    "os_mismatch",
    "img_platform",
    "img_config_platform",
    "img_level",
    "img_level_from",
)


def _runs(node: Platform, image: Platform) -> bool:
    """The platform part of "can this node run this image": OS, architecture and variant, the way
    the runtime's matcher compares them. amd64 levels (v2/v3) are not a platform mismatch: the node
    does match, and whether its CPU has the level is the `arch.microarch-level` question."""
    if image.arch == "amd64" and node.arch == "amd64":
        return node.os == image.os
    return can_run(node, image)


def _platform_join(c: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Add the node x image platform columns to the placement rows:

    supported            the image has a platform entry the node runs (OS, arch, variant); NA unknown
    platform_lie         that entry's own config names a platform the node cannot run (a lying index)
    emulated             the image lacks the node's platform, but the node has an enabled binfmt_misc
                         handler for one of the image's architectures
    os_mismatch          the image has no entry for the node's operating system at all (Linux/Windows)
    img_platform         the image platform the node would pull ("linux/arm/v7"); the config's when known
    img_level(_from)     the x86-64 level that platform needs (v2..v4) and the fact it rests on

    Computed once per distinct (image, node platform) pair: a cluster has few of those.
    """
    plat = frames["image_platforms"]
    by_image: dict[str, list[tuple[Platform, str | None, str | None, str | None]]] = {}
    for key, os_, arch, variant, cfg, level, level_from in zip(
        plat["image_key"].astype(str),
        plat["os"],
        plat["arch"],
        plat["variant"],
        plat["config_platform"],
        plat["amd64_level"],
        plat["amd64_level_from"],
    ):
        by_image.setdefault(key, []).append(
            (normalize_platform(_s(os_), _s(arch), _s(variant)), _s(cfg), _s(level), _s(level_from))
        )
    imgs = frames["images"]
    single_level = {
        str(k): (_s(lv), _s(lf))
        for k, lv, lf in zip(imgs["image_key"], imgs["amd64_level"], imgs["amd64_level_from"])
        if _s(lv)
    }
    b = frames["binfmt"]
    off = set(b[(b["entry"] == "status") & ~b["enabled"].fillna(False)]["node"].astype(str))
    on = b[b["enabled"].fillna(False) & b["arch"].notna() & (b["entry"] != "status")]
    emulates: dict[str, set[str]] = {}
    for n, a in zip(on["node"].astype(str), on["arch"].astype(str)):
        if n not in off:
            emulates.setdefault(n, set()).add(a)

    inspected = c["img_inspected"].fillna(False).to_numpy(dtype=bool)
    keys = zip(
        inspected.tolist(),
        c["image_key"].astype(str),
        c["node_os"].astype(object),
        c["node_arch"].astype(object),
        c["node_variant"].astype(object),
        c["node"].astype(object) if emulates else [None] * len(c),
    )
    # each distinct (image, node platform) pair is joined once, then spread over its rows
    index: dict[tuple[Any, ...], int] = {}
    codes = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.int64, count=len(c))
    joined: list[tuple[Any, ...]] = []
    for ok, key, n_os, n_arch, n_var, node in index:
        if not ok or _s(n_arch) is None:
            joined.append((pd.NA, False, False, False, None, None, None, None))
            continue
        joined.append(
            _join_one(
                normalize_platform(normalize_os(_s(n_os)) or "linux", _s(n_arch), _s(n_var)),
                by_image.get(key, []),
                single_level.get(key),
                emulates.get(_s(node) or "", set()),
            )
        )
    out: dict[str, Any] = {}
    for j, col in enumerate(_JOIN_COLS):
        values = np.empty(len(joined), dtype=object)
        values[:] = [v[j] for v in joined]
        out[col] = values[codes]
    c["supported"] = pd.array(out["supported"], dtype="boolean")
    c["platform_lie"] = pd.array(out["platform_lie"], dtype="boolean")
    c["emulated"] = pd.array(out["emulated"], dtype="boolean")
    c["os_mismatch"] = pd.array(out["os_mismatch"], dtype="boolean")
    for col in _JOIN_COLS[4:]:
        c[col] = pd.array(out[col], dtype="string[pyarrow]")
    return c


def _join_one(
    node: Platform,
    entries: list[tuple[Platform, str | None, str | None, str | None]],
    single: tuple[str | None, str | None] | None,
    emulates: set[str],
) -> tuple[Any, ...]:
    match = [e for e in entries if _runs(node, e[0])]
    if not match:
        emu = any(e[0].arch in emulates and e[0].os == node.os for e in entries)
        other_os = bool(entries) and not any(e[0].os == node.os for e in entries)
        return (False, False, emu, other_os, None, None, None, None)
    plat, cfg, level, level_from = match[0]
    lie = False
    if cfg:
        try:
            lie = not any(_runs(node, parse_platform(m[1])) for m in match if m[1])
        except ValueError:
            lie = False
    if level is None and single:
        level, level_from = single
    return (True, lie, False, False, str(plat), cfg, level, level_from)


def _s(v: Any) -> str | None:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) or v == "" else str(v)


def restarts_once(rows: pd.DataFrame | Rows) -> int:
    """Restarts counted once over snapshots: per pod instance (uid) and container, the highest
    restartCount seen; pods recreated under new names count separately."""
    r = Rows.of(rows)
    return r.groups.restarts_at(r.pos) if not r.empty else 0


def restart_history(ctx: Context, exclude: set[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Restarts that are over, per workload (never a finding): containers of the last snapshot with
    restarts that are not failing now, minus the workloads in `exclude` (those with a finding).

    Each entry: `{workload, pods, containers, restarts, last_reason, last_exit_code, last_finished,
    node_event, note}`; `node_event` says the last terminations followed a node restart (reason
    Unknown / exit 255, near the node's Ready transition, or the API server unreachable right after
    such a termination on the same node)."""
    c = ctx.placement
    if c.empty or not ctx.snapshots:
        return []
    last = c[(c["snapshot"] == ctx.snapshots[-1]) & (c["restart_count"].fillna(0) > 0)]
    last = last[~last["failing"].fillna(False)]
    if last.empty:
        return []
    api_lost = _apiserver_unreachable(ctx, last)
    boots = (
        last[last["node_event"]].groupby("node")["last_finished"].apply(list).to_dict()
        if last["node_event"].any()
        else {}
    )
    out: list[dict[str, Any]] = []
    for key, g in last.groupby(WL_KEYS, dropna=False, sort=True):
        w = _wl(*key)
        if w in exclude or w in ctx.failing_now:
            continue
        node_ev = []
        for r in g.itertuples(index=False):
            ev = bool(r.node_event)
            if not ev and (r.namespace, r.pod, r.container) in api_lost and not pd.isna(r.last_finished):
                ev = any(not pd.isna(t) and abs(r.last_finished - t) <= NODE_EVENT_GAP for t in boots.get(r.node, []))
            node_ev.append(ev)
        newest = g.sort_values("last_finished", na_position="first").iloc[-1]
        all_node = all(node_ev)
        reasons = sorted(
            {
                f"{r} (exit {'?' if pd.isna(x) else int(x)})"
                for r, x in zip(g["last_reason"], g["last_exit_code"])
                if not pd.isna(r)
            }
        )
        note = (
            "the containers stopped when their node or its runtime restarted and run again since"
            if all_node
            else "the containers restarted earlier and have been Running and Ready since; nothing is failing now"
        )
        out.append(
            {
                "workload": {"kind": w[0], "namespace": w[1], "name": w[2]},
                "pods": sorted(g["pod"].astype(str).unique().tolist()),
                "containers": sorted({f"{p}/{n}" for p, n in zip(g["pod"].astype(str), g["container"].astype(str))}),
                "nodes": sorted(g["node"].dropna().astype(str).unique().tolist()),
                "restarts": restarts_once(g),
                "last_reasons": reasons,
                "last_reason": None if pd.isna(newest["last_reason"]) else str(newest["last_reason"]),
                "last_exit_code": None if pd.isna(newest["last_exit_code"]) else int(newest["last_exit_code"]),
                "last_finished": iso_z(g["last_finished"].max()),
                "last_message": None if pd.isna(newest["last_message"]) else str(newest["last_message"])[:500],
                "node_event": all_node,
                "severity": "info",
                "note": note,
                "file": str(newest["file"]),
            }
        )
    out.sort(key=lambda e: (-int(e["restarts"]), e["workload"]["namespace"], e["workload"]["name"]))
    return out


_API_LOST = ("i/o timeout", "connection refused", "no route to host", "tls handshake timeout")


def _apiserver_unreachable(ctx: Context, rows: pd.DataFrame) -> set[tuple[str, str, str]]:
    """Containers whose last words say a dial (to the API server, typically) failed."""
    out: set[tuple[str, str, str]] = set()
    for r in rows[["namespace", "pod", "container", "last_message"]].itertuples(index=False):
        if (
            not pd.isna(r.last_message)
            and "dial tcp" in str(r.last_message)
            and any(x in str(r.last_message).lower() for x in _API_LOST)
        ):
            out.add((str(r.namespace), str(r.pod), str(r.container)))
    s = ctx.sigs_for(rows)
    if not s.empty:
        t = s["text"].fillna("").astype(str)
        hit = s[t.str.contains("dial tcp", regex=False) & t.str.lower().str.contains("|".join(_API_LOST))]
        out.update(zip(hit["namespace"].astype(str), hit["pod"].astype(str), hit["container"].astype(str)))
    return out


def _restart_marks(ctx: Context) -> pd.DataFrame:
    src = ctx.placement
    p = src[_RESTART_COLS].reset_index(drop=True).copy()
    term = p["state"] == "terminated"
    p["reason"] = p["term_reason"].where(term.fillna(False), p["last_reason"])
    p["exit_code"] = p["term_exit_code"].where(term.fillna(False), p["last_exit_code"])
    for col, (hints, dialects) in restart_sig_marks().items():
        p[col] = ctx.sig_hits(hints, dialects)
    p["oom_reason"] = (
        ((p["last_reason"] == "OOMKilled") | (p["term_reason"] == "OOMKilled")).fillna(False).to_numpy(dtype=bool)
    )
    wr = p["waiting_reason"]
    starts = [
        p[c].isin(list(START_FAIL)).fillna(False).to_numpy(dtype=bool)
        for c in ("waiting_reason", "last_reason", "term_reason")
    ]
    p["start_fail"] = starts[0] | starts[1] | starts[2]
    p["pull_wait"] = wr.isin(list(PULL_WAIT)).fillna(False).to_numpy(dtype=bool)
    p["config_wait"] = (wr == "CreateContainerConfigError").fillna(False).to_numpy(dtype=bool)
    p["failing_b"] = p["failing"].fillna(False).to_numpy(dtype=bool)
    pods = ctx.frames["pods"]
    ev = pods[pods["reason"] == "Evicted"][["snapshot", "namespace", "pod"]].drop_duplicates().assign(_ev=True)
    p["evicted"] = (
        p[["snapshot", "namespace", "pod"]]
        .merge(ev, how="left", on=["snapshot", "namespace", "pod"])["_ev"]
        .notna()
        .to_numpy()
    )
    p["node_down"] = p["node_ready"].eq(False).fillna(False).to_numpy(dtype=bool)
    # a termination message saying the container was stopped on purpose (SIGTERM handled, clean
    # shutdown), with a clean or SIGTERM exit code: stopped, not crashed
    msg = (
        pd.Series(
            src["term_message"].where((src["state"] == "terminated").fillna(False), src["last_message"]).to_numpy(),
            index=p.index,
        )
        .fillna("")
        .astype(str)
    )
    p["clean_stop"] = (
        msg.str.contains(_CLEAN_STOP, regex=True) & p["exit_code"].isin([0, 143]).fillna(False)
    ).to_numpy(dtype=bool)
    return p


def _arch_marks(ctx: Context) -> pd.DataFrame:
    p = ctx.placement.copy()
    for col, hints in arch_sig_marks().items():
        p[col] = ctx.sig_hits(hints)
    p["unsupported"] = (p["supported"] == False).fillna(False).to_numpy(dtype=bool)
    failing = p["failing"].fillna(False).to_numpy(dtype=bool)
    unsupported = p["unsupported"].to_numpy(dtype=bool)
    lie = p["platform_lie"].fillna(False).to_numpy(dtype=bool)
    emulated = p["emulated"].fillna(False).to_numpy(dtype=bool)
    exec_sig = p["exec_sig"].to_numpy(dtype=bool)
    pull_sig = p["pull_sig"].to_numpy(dtype=bool)
    # the differential: an exec format error where the image's platform is the node's (or where the
    # same uninspected image fails the same way on nodes of two architectures) is not an architecture
    # failure; a foreign image that ran under emulation and crashed there is an emulation fault
    p["platform_match"] = (p["supported"] == True).fillna(False).to_numpy(dtype=bool) & ~lie
    p["exec_everywhere"] = _exec_on_several_archs(p, failing & exec_sig)
    not_arch = (p["platform_match"].to_numpy(dtype=bool) | p["exec_everywhere"].to_numpy(dtype=bool)) & ~pull_sig
    # a foreign binary that demonstrably ran (for seconds, or healthy) without any exec or pull error
    # was emulated, whether or not the dump holds the node's binfmt_misc listing
    p["ran_foreign"] = unsupported & ~exec_sig & ~pull_sig & _ran(p)
    # so was one whose failure is the emulator's own message (qemu, Rosetta): only a registered
    # handler prints it, listing or not (kubectl text never shows the listing)
    emulated = emulated | p["ran_foreign"].to_numpy(dtype=bool) | (p["emu_sig"].to_numpy(dtype=bool) & ~exec_sig)
    p["emulated_or_ran"] = emulated
    emu_only = emulated & ~exec_sig
    # a Windows node, or an image with no entry for the node's OS: a platform (OS) mismatch
    other_os = p["os_mismatch"].fillna(False).to_numpy(dtype=bool) | (p["node_os"] == "windows").fillna(False).to_numpy(
        dtype=bool
    )
    p["arch_fail"] = (
        failing
        & ~other_os
        & ((p["arch_sig"].to_numpy(dtype=bool) & ~not_arch & ~emu_only) | (unsupported & ~emulated) | (lie & exec_sig))
    )
    return p


def _ran(p: pd.DataFrame, seconds: float = 5.0) -> np.ndarray:
    """Rows whose container ran at least `seconds` (last run, or running now) or is healthy."""
    last = (p["last_finished"] - p["last_started"]).dt.total_seconds()
    now = (p["observed_at"] - p["started_at"]).dt.total_seconds()
    long_run = (last >= seconds).fillna(False).to_numpy(dtype=bool) | (
        (p["state"] == "running").fillna(False).to_numpy(dtype=bool)
        & (now >= seconds).fillna(False).to_numpy(dtype=bool)
    )
    return long_run | p["healthy"].fillna(False).to_numpy(dtype=bool)


def _exec_on_several_archs(p: pd.DataFrame, exec_fail: np.ndarray) -> np.ndarray:
    """Rows of uninspected images that fail with an exec format error on nodes of two or more
    architectures: no single platform explains that, the image's content does."""
    out = np.zeros(len(p), dtype=bool)
    if not exec_fail.any():
        return out
    sub = p[exec_fail & ~p["img_inspected"].fillna(False).to_numpy(dtype=bool) & p["node_arch"].notna().to_numpy()]
    if sub.empty:
        return out
    n = sub.groupby("image_key")["node_arch"].nunique()
    several = set(n[n >= 2].index.astype(str))
    if several:
        out = p["image_key"].astype(str).isin(several).to_numpy() & exec_fail
    return out


# --- rows grouped by workload, with what every finding needs computed for all workloads at once ------

_EPOCH_FLOOR = pd.Timestamp("1990-01-01", tz="UTC")
# the times a failure is placed from: the earliest last termination, else what the snapshot saw
_TIME_COLS = ("last_started", "last_finished", "term_finished", "observed_at")


@dataclass(frozen=True)
class WorkloadFacts:
    """The fields every finding fills the same way from its rows (`rules/_common.new_finding`)."""

    pods: list[str]
    nodes: list[str]
    containers: list[str]  # "pod/container"
    node_archs: list[str]
    restarts: int  # counted once: per pod instance (uid) and container, the highest restartCount seen
    first_seen: str | None
    last_seen: str | None


def is_na(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


class Workloads:
    """`rows` grouped by workload (kind, namespace, name) with one group-by, in the order a sorted
    `groupby` gives. Columns are read out of the frame once, as Python lists, and the per-workload
    facts, evidence rows, missing logs and restart matrices are computed from slices of those lists:
    a rule looping over workloads makes no pandas call per workload unless it asks for `rows(i)`.

    Iterating yields `(Workload, rows)`; `each()` yields `(i, Workload)` for the list-based accessors."""

    def __init__(self, rows: pd.DataFrame) -> None:
        self.frame = rows
        self._lists: dict[str, list[Any]] = {}
        self._flags: dict[str, np.ndarray] = {}
        self._rows: dict[int, pd.DataFrame] = {}
        self._records: list[Any] | None = None
        self.workloads: list[Workload] = []
        self.positions: list[np.ndarray] = []
        if rows.empty:
            return
        codes = rows.groupby(WL_KEYS, sort=True, dropna=False).ngroup().to_numpy()
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(int(codes.max()) + 2))
        self.positions = [order[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)]
        keys = [self.col(k) for k in WL_KEYS]
        for pos in self.positions:
            j = int(pos[0])
            kind, ns, name = ("" if is_na(k[j]) else str(k[j]) for k in keys)
            self.workloads.append(Workload(kind or "Pod", ns, name))

    @classmethod
    def one(cls, rows: pd.DataFrame) -> Workloads:
        """All of `rows` as a single group (what a finding built from arbitrary rows gets)."""
        g = cls.__new__(cls)
        g.frame, g._lists, g._flags, g._records = rows, {}, {}, None
        g.workloads = [Workload("Pod", "", "")]
        g.positions = [np.arange(len(rows))]
        return g

    @classmethod
    def at(cls, frame: pd.DataFrame, positions: list[np.ndarray]) -> Workloads:
        """Groups of `frame` given by row positions (e.g. the rows of each finding)."""
        g = cls.__new__(cls)
        g.frame, g._lists, g._flags, g._records = frame, {}, {}, None
        g.workloads = [Workload("Pod", "", "")] * len(positions)
        g.positions = positions
        return g

    def __len__(self) -> int:
        return len(self.workloads)

    def __iter__(self) -> Iterator[tuple[Workload, pd.DataFrame]]:
        for w, pos in zip(self.workloads, self.positions):
            yield w, self.frame.iloc[pos]

    def each(self) -> Iterator[tuple[int, Workload]]:
        return iter(enumerate(self.workloads))

    def rows(self, i: int) -> pd.DataFrame:
        """Workload `i`'s rows, sliced once: the arch rules share one grouping and each asks for the same
        workloads (a slice of a wide Arrow frame costs a `take` per column). Read-only to callers."""
        got = self._rows.get(i)
        if got is None:
            got = self._rows[i] = self.frame.iloc[self.positions[i]]
        return got

    def any(self, i: int, mask: np.ndarray) -> bool:
        """Whether `mask` (over the whole frame) holds for one of workload `i`'s rows."""
        return bool(mask[self.positions[i]].any())

    def col(self, name: str) -> list[Any]:
        """The whole column as a list (read once)."""
        v = self._lists.get(name)
        if v is None:
            v = self._lists[name] = self.frame[name].tolist() if name in self.frame else [None] * len(self.frame)
        return v

    def _str_col(self, name: str) -> list[str]:
        key = f"{name}:str"
        v = self._lists.get(key)
        if v is None:
            v = self._lists[key] = self.frame[name].astype(str).tolist()
        return v

    def values(self, i: int, name: str) -> list[Any]:
        """Column `name` of workload `i`'s rows, in row order."""
        c = self.col(name)
        return [c[j] for j in self.positions[i]]

    def flag(self, name: str) -> np.ndarray:
        """A boolean column over the whole frame, missing read as False (read once)."""
        key = f"{name}:flag"
        v = self._flags.get(key)
        if v is None:
            v = self._flags[key] = (
                self.frame[name].fillna(False).to_numpy(dtype=bool)
                if name in self.frame
                else np.zeros(len(self.frame), dtype=bool)
            )
        return v

    def sel(self, i: int) -> Rows:
        """Workload `i`'s rows as `Rows`."""
        return Rows(self, self.positions[i])

    @cached_property
    def _facts(self) -> list[WorkloadFacts]:
        return [self.facts_at(pos) for pos in self.positions]

    def facts_at(self, pos: np.ndarray) -> WorkloadFacts:
        """The facts of the rows at frame positions `pos` (one workload's, or a subset of them)."""
        pod, node, arch = self.col("pod"), self.col("node"), self.col("node_arch")
        pod_s, cont_s = self._str_col("pod"), self._str_col("container")
        times = [self.col(c) for c in _TIME_COLS if c in self.frame]
        first = last = None
        for t in times:
            vals = [t[j] for j in pos if not is_na(t[j]) and t[j] > _EPOCH_FLOOR]
            if vals:
                lo, hi = min(vals), max(vals)
                first = lo if first is None or lo < first else first
                last = hi if last is None or hi > last else last
        return WorkloadFacts(
            pods=sorted({str(pod[j]) for j in pos if not is_na(pod[j])}),
            nodes=sorted({str(node[j]) for j in pos if not is_na(node[j])}),
            containers=sorted({f"{pod_s[j]}/{cont_s[j]}" for j in pos}),
            node_archs=sorted({str(arch[j]) for j in pos if not is_na(arch[j])}),
            restarts=self.restarts_at(pos),
            first_seen=iso_z(first),
            last_seen=iso_z(last),
        )

    def restarts_at(self, pos: np.ndarray) -> int:
        """Restarts of the rows at `pos`, counted once: per pod instance (uid) and container, the
        highest restartCount seen."""
        pod, uid, cont, rc = self.col("pod"), self.col("uid"), self.col("container"), self.col("restart_count")
        peak: dict[tuple[Any, Any], Any] = {}
        for j in pos:
            k = (pod[j] if is_na(uid[j]) else uid[j], None if is_na(cont[j]) else cont[j])
            r = 0 if is_na(rc[j]) else rc[j]
            if k not in peak or r > peak[k]:
                peak[k] = r
        return int(sum(peak.values()))

    def facts(self, i: int) -> WorkloadFacts:
        return self._facts[i]

    def last_observations(self, i: int, where: np.ndarray | None = None) -> list[int]:
        """Frame positions of each container's last row among workload `i`'s rows (those where
        `where` holds), in row order."""
        return self.last_observations_at(self.positions[i], where)

    def last_observations_at(self, pos: np.ndarray, where: np.ndarray | None = None) -> list[int]:
        ns, pod, cont = self.col("namespace"), self.col("pod"), self.col("container")
        last: dict[tuple[Any, Any, Any], int] = {}
        for j in pos:
            if where is not None and not where[j]:
                continue
            key = (ns[j], pod[j], cont[j])
            last.pop(key, None)
            last[key] = int(j)
        return sorted(last.values())

    def records(self, positions: list[int]) -> list[Any]:
        """The rows at `positions` as the named tuples `itertuples` gives (built once for the frame)."""
        if len(self.workloads) <= 1:  # one finding's rows: read only the rows asked for
            return list(self.frame.iloc[positions].itertuples(index=False)) if positions else []
        if self._records is None:
            self._records = list(self.frame.itertuples(index=False))
        return [self._records[j] for j in positions]

    def lacking_logs(self, i: int, have: frozenset[LogKey]) -> list[LogKey]:
        """Distinct (namespace, pod, container) of workload `i`'s rows with no log in `have`, in row order."""
        return self.lacking_at(self.positions[i], have)

    def lacking_at(self, pos: np.ndarray, have: frozenset[LogKey]) -> list[LogKey]:
        return [k for k in self.keys_at(pos) if k not in have]

    def restart_matrix(self, i: int) -> list[dict[str, Any]]:
        """Workload `i`'s restarts by node architecture and node: each container's last observation
        gives the pod and state counts; restarts are counted once per pod instance (uid) and
        container, on its last node."""
        return self.matrix_at(self.positions[i])

    def matrix_at(self, pos: np.ndarray) -> list[dict[str, Any]]:
        """`restart_matrix` of the rows at frame positions `pos`."""
        names = [
            "uid",
            "pod",
            "container",
            "node_arch",
            "node",
            "snapshot_index",
            "restart_count",
            "failing",
            "healthy",
        ]
        cols = [self.col(c) for c in names]
        last: dict[tuple[Any, Any], tuple[Any, ...]] = {}
        peak: dict[tuple[Any, Any], int] = {}
        for j in pos:
            uid, pod, cont, arch, node, si, rc, fl, hl = (c[j] for c in cols)
            k = (pod if is_na(uid) else uid, cont)
            si = -1 if is_na(si) else si
            if k not in last or si >= last[k][0]:
                last[k] = (
                    si,
                    None if is_na(arch) else str(arch),
                    None if is_na(node) else str(node),
                    pod,
                    not is_na(fl) and bool(fl),
                    not is_na(hl) and bool(hl),
                )
            peak[k] = max(peak.get(k, 0), 0 if is_na(rc) else int(rc))
        cells: dict[tuple[Any, Any], dict[str, Any]] = {}
        for k, (_, arch, node, pod, fl, hl) in last.items():
            c = cells.setdefault(
                (arch or "", node or ""),
                {"arch": arch, "node": node, "pods": set(), "restarts": 0, "failing": 0, "running": 0},
            )
            c["pods"].add(pod)
            c["restarts"] += peak[k]
            c["failing"] += fl
            c["running"] += hl
        return [{**c, "pods": len(c["pods"])} for _, c in sorted(cells.items())]

    def container_keys(self, i: int) -> list[LogKey]:
        """Distinct (namespace, pod, container) of workload `i`'s rows, as strings, in row order."""
        return self.keys_at(self.positions[i])

    def keys_at(self, pos: np.ndarray) -> list[LogKey]:
        ns, pod, cont = self._str_col("namespace"), self._str_col("pod"), self._str_col("container")
        return list(dict.fromkeys((ns[j], pod[j], cont[j]) for j in pos))

    def last_row(self, i: int) -> int:
        """The frame position of workload `i`'s most recent row (highest `snapshot_index`; among equals,
        the one `sort_values("snapshot_index")` puts last)."""
        return self.last_at(self.positions[i])

    def last_at(self, pos: np.ndarray) -> int:
        """`last_row` of the rows at frame positions `pos` (not empty)."""
        si = self.col("snapshot_index")
        vals = [si[j] for j in pos]
        if any(is_na(v) for v in vals):
            return int(pos[self.frame.iloc[pos].reset_index(drop=True)["snapshot_index"].sort_values().index[-1]])
        return int(pos[np.argsort(np.asarray(vals), kind="quicksort")[-1]])


class Rows:
    """Some rows of a `Workloads` frame, by frame position and in that order: what a rule hands from
    one step to the next while it works on one workload. Columns come from the lists `Workloads`
    read once (`rows[name]` is a list), filters are numpy masks over the whole frame computed once
    per rule (`where`), so working on one workload's rows makes no pandas call; `frame()` gives the
    DataFrame where one is really needed."""

    __slots__ = ("groups", "pos")

    def __init__(self, groups: Workloads, pos: np.ndarray) -> None:
        self.groups = groups
        self.pos = np.asarray(pos, dtype=np.int64)

    @classmethod
    def of(cls, rows: pd.DataFrame | Rows) -> Rows:
        """`rows` as `Rows` (a DataFrame becomes one group of its own)."""
        return rows if isinstance(rows, Rows) else cls(Workloads.one(rows), np.arange(len(rows)))

    def __len__(self) -> int:
        return len(self.pos)

    @property
    def empty(self) -> bool:
        return len(self.pos) == 0

    def __contains__(self, name: str) -> bool:
        return name in self.groups.frame

    def __getitem__(self, name: str) -> list[Any]:
        c = self.groups.col(name)
        return [c[j] for j in self.pos]

    def none(self) -> Rows:
        """No rows (of the same frame)."""
        return Rows(self.groups, self.pos[:0])

    def unique(self, cols: tuple[str, ...]) -> Rows:
        """The first row of each distinct `cols` (missing values equal), like `drop_duplicates`."""
        seen: set[tuple[Any, ...]] = set()
        picks = []
        for key in zip(*(self[c] for c in cols)):
            k = tuple(None if is_na(v) else v for v in key)
            picks.append(k not in seen)
            seen.add(k)
        return self.keep(picks)

    def where(self, mask: np.ndarray) -> Rows:
        """The rows where `mask` (over the whole frame, e.g. `groups.flag(...)`) holds."""
        return Rows(self.groups, self.pos[mask[self.pos]])

    def head(self, n: int) -> Rows:
        """The first `n` rows."""
        return Rows(self.groups, self.pos[:n])

    def keep(self, picks: list[bool]) -> Rows:
        """The rows where `picks` (one per row, in row order) holds."""
        return Rows(self.groups, self.pos[np.asarray(picks, dtype=bool)] if len(self.pos) else self.pos)

    def __add__(self, other: Rows) -> Rows:
        return Rows(self.groups, np.concatenate([self.pos, other.pos]))

    def any(self, mask: np.ndarray) -> bool:
        return bool(mask[self.pos].any())

    def text(self, name: str) -> list[str]:
        """Column `name` as text, in row order (a missing value reads "nan", as `astype(str)` gives it)."""
        c = self.groups._str_col(name)
        return [c[j] for j in self.pos]

    def flags(self, name: str) -> np.ndarray:
        """A boolean column, missing read as False, one per row."""
        return self.groups.flag(name)[self.pos]

    def any_of(self, name: str) -> bool:
        """Whether a boolean column holds for one of the rows."""
        return bool(self.flags(name).any())

    def present(self, name: str) -> list[Any]:
        """Column `name`'s values that are not missing, in row order."""
        return [v for v in self[name] if not is_na(v)]

    def nunique(self, name: str) -> int:
        return len(set(self.present(name)))

    def frame(self) -> pd.DataFrame:
        return self.groups.frame.iloc[self.pos]

    def facts(self) -> WorkloadFacts:
        return self.groups.facts_at(self.pos)

    def restart_matrix(self) -> list[dict[str, Any]]:
        return self.groups.matrix_at(self.pos)

    def lacking_logs(self, have: frozenset[LogKey]) -> list[LogKey]:
        return self.groups.lacking_at(self.pos, have)

    def records(self) -> list[Any]:
        """The rows as the named tuples `itertuples` gives."""
        return self.groups.records([int(j) for j in self.pos])

    def last(self) -> Any:
        """The most recent row (highest `snapshot_index`, as `sort_values("snapshot_index").iloc[-1]`
        picks it) as the named tuple `itertuples` gives; the rows must not be empty."""
        return self.groups.records([self.groups.last_at(self.pos)])[0]
