"""The joins several rules need, computed once: pod x node x image platforms, restart counts
counted once over snapshots, failure states, and the signatures seen per container.

`Context` is what every rule receives. Rules never read files; everything they can know is here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from forensics.arch import Platform, can_run, normalize_os, normalize_platform, parse_platform
from forensics.findings import Workload
from forensics.frames import image_key

# waiting reasons that mean the container cannot run
FAIL_WAITING = frozenset({
    "CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError",
    "CreateContainerError", "RunContainerError", "InvalidImageName", "ErrImageNeverPull",
    "ContainerCannotRun", "StartError",
})
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


@dataclass
class Context:
    """Everything a rule may read. Frames are shared: rules must not modify them."""

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
    cache: dict[str, Any] = field(default_factory=dict)  # derived indexes, built once on first use
    # workloads (kind, namespace, name) failing at the last snapshot (docs/findings.md)
    failing_now: frozenset[tuple[str, str, str]] = frozenset()

    @property
    def mixed(self) -> bool:
        return len(self.cluster_archs) > 1

    def sigs_for(self, rows: pd.DataFrame, hints: tuple[str, ...] | None = None) -> pd.DataFrame:
        """Signature rows for the containers in `rows` (any snapshot); event rows without a
        container match by pod. Uses an index built once, so a call costs what `rows` holds."""
        s = self.signatures
        if s.empty or rows.empty:
            return s.iloc[0:0]
        idx = self.cache.get("sig_index")
        if idx is None:
            by_c = s.groupby(["namespace", "pod", "container"], sort=False, dropna=True).indices
            no_c = s[s["container"].isna()]
            by_pod = {k: no_c.index[v] for k, v in
                      no_c.groupby(["namespace", "pod"], sort=False).indices.items()} if not no_c.empty else {}
            idx = self.cache["sig_index"] = (by_c, by_pod)
        by_c, by_pod = idx
        pos: list[int] = []
        for key in set(zip(rows["namespace"], rows["pod"], rows["container"])):
            hit = by_c.get(key)
            if hit is not None:
                pos.extend(hit.tolist())
        labels: list[Any] = []
        for pkey in set(zip(rows["namespace"], rows["pod"])):
            hit = by_pod.get(pkey)
            if hit is not None:
                labels.extend(hit.tolist())
        out = pd.concat([s.iloc[sorted(set(pos))], s.loc[labels]]) if labels else s.iloc[sorted(set(pos))]
        if hints is not None:
            out = out[out["hint"].isin(list(hints))]
        return out.reset_index(drop=True)

    def indexed(self, name: str, frame: pd.DataFrame, key: str) -> pd.DataFrame:
        """`frame` indexed by `key` (built once per context), for per-finding lookups."""
        f = self.cache.get(name)
        if f is None:
            f = self.cache[name] = frame.set_index(key, drop=False).sort_index()
        return f


def build_context(frames: dict[str, pd.DataFrame], snapshots: list[str], meta: dict[str, Any] | None = None
                  ) -> Context:
    nodes_all = frames["nodes"]
    nodes = nodes_all.sort_values("snapshot_index").drop_duplicates("node", keep="last")
    archs = sorted(a for a in nodes["arch"].dropna().unique() if a)

    c = frames["containers"].copy()
    c["image_key"] = pd.array([image_key(x) for x in c["image"].fillna("")], dtype="string[pyarrow]")

    # node facts from the same snapshot, else from the node's last observation
    ncols = ["node", "arch", "variant", "pool", "ready", "created", "instance_type", "runtime", "runtime_version",
             "os", "cpu_level", "cpu_level_from", "cpu_model", "windows_build", "ready_since"]
    same = nodes_all[["snapshot"] + ncols].rename(columns={k: f"node_{k}" for k in ncols[1:]})
    c = c.merge(same, how="left", on=["snapshot", "node"])
    last = nodes[ncols].rename(columns={k: f"node_{k}" for k in ncols[1:]})
    missing = c["node_arch"].isna() & c["node"].notna()
    if missing.any():
        fill = c.loc[missing, ["node"]].merge(last, how="left", on="node")
        for col in last.columns[1:]:
            c.loc[missing, col] = fill[col].to_numpy()

    imgs = frames["images"]
    icols = ["image_key", "inspected", "kind", "media_type", "digest", "platforms", "archs", "n_platforms",
             "attestations", "config_arch", "config_variant", "created", "file", "source_format"]
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
            ["namespace", "pod"], keep="last")
        sig = sig.merge(pk, how="left", on=["namespace", "pod"])
    else:
        sig = sig.assign(node=pd.Series(dtype="string"), workload_kind=pd.Series(dtype="string"),
                         workload_name=pd.Series(dtype="string"))

    return Context(
        frames=frames, snapshots=snapshots, meta=meta or {}, nodes=nodes, placement=c, current=current,
        signatures=sig, cluster_archs=archs, has_binfmt=not frames["binfmt"].empty,
        inspected_images=int(frames["images"]["inspected"].fillna(False).sum()),
        failing_now=failing_workloads(frames["pods"], c, nodes_all, snapshots, meta or {})
        | _ghosts_failing(frames["events"], frames["pods"], _last_time(frames, meta or {})),
    )


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
    ev = events[(events["object_kind"] == "Pod") & events["reason"].isin(list(GHOST_FAILURES)).fillna(False)
                & (events["last_seen"] >= ref - RECENT).fillna(False)]
    known = set(zip(pods["namespace"].astype(str), pods["pod"].astype(str)))
    out = set()
    for ns, pod in set(zip(ev["object_namespace"].astype(str), ev["object_name"].astype(str))):
        if (ns, pod) not in known:
            w = ghost_workload(pod)
            out.add((w.kind, ns, w.name))
    return out


def _wl(kind: Any, ns: Any, name: Any) -> tuple[str, str, str]:
    return (str(kind) if not pd.isna(kind) and kind else "Pod", "" if pd.isna(ns) else str(ns),
            "" if pd.isna(name) else str(name))


def failing_workloads(pods: pd.DataFrame, containers: pd.DataFrame, nodes: pd.DataFrame, snapshots: list[str],
                      meta: dict[str, Any]) -> frozenset[tuple[str, str, str]]:
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
    unready = ((lp["phase"] == "Running") & lp["ready"].eq(False) & lp["start_time"].notna()
               & (lp["start_time"] < ref - STARTUP_GRACE)).fillna(False)
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
    term_fail = (state == "terminated") & ~c["term_reason"].isin(list(OK_TERMINATED)) & (c["term_exit_code"].fillna(0) != 0)
    restarted = ((c["restart_count"].fillna(0) > 0) & c["last_reason"].notna()
                 & ~c["last_reason"].isin(list(OK_TERMINATED))).fillna(False)
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
    near_boot = (finished.notna() & ready_since.notna()
                 & ((finished - ready_since).abs() <= NODE_EVENT_GAP)).fillna(False)
    # exit 255 alone is also an application's `exit(-1)`: it is the lost container only with reason Unknown
    # (or no reason at all)
    node_event = (c["last_reason"].isin(list(NODE_EVENT_REASONS))
                  | (c["last_exit_code"].eq(NODE_EVENT_EXIT) & c["last_reason"].isna())).fillna(False) | near_boot
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


_JOIN_COLS = ("supported", "platform_lie", "emulated", "os_mismatch", "img_platform", "img_config_platform", "img_level",
              "img_level_from")


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
            plat["image_key"].astype(str), plat["os"], plat["arch"], plat["variant"], plat["config_platform"],
            plat["amd64_level"], plat["amd64_level_from"]):
        by_image.setdefault(key, []).append((normalize_platform(_s(os_), _s(arch), _s(variant)), _s(cfg),
                                            _s(level), _s(level_from)))
    imgs = frames["images"]
    single_level = {str(k): (_s(lv), _s(lf)) for k, lv, lf in
                    zip(imgs["image_key"], imgs["amd64_level"], imgs["amd64_level_from"]) if _s(lv)}
    b = frames["binfmt"]
    off = set(b[(b["entry"] == "status") & ~b["enabled"].fillna(False)]["node"].astype(str))
    on = b[b["enabled"].fillna(False) & b["arch"].notna() & (b["entry"] != "status")]
    emulates: dict[str, set[str]] = {}
    for n, a in zip(on["node"].astype(str), on["arch"].astype(str)):
        if n not in off:
            emulates.setdefault(n, set()).add(a)

    inspected = c["img_inspected"].fillna(False).to_numpy(dtype=bool)
    keys = list(zip(c["image_key"].astype(str), c["node_os"].astype(object), c["node_arch"].astype(object),
                    c["node_variant"].astype(object), c["node"].astype(object)))
    memo: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    out: dict[str, list[Any]] = {k: [] for k in _JOIN_COLS}
    for i, (key, n_os, n_arch, n_var, node) in enumerate(keys):
        if not inspected[i] or _s(n_arch) is None:
            vals: tuple[Any, ...] = (pd.NA, False, False, False, None, None, None, None)
        else:
            mk = (key, n_os, n_arch, n_var, node if emulates else None)
            vals = memo.get(mk) or memo.setdefault(mk, _join_one(
                normalize_platform(normalize_os(_s(n_os)) or "linux", _s(n_arch), _s(n_var)), by_image.get(key, []),
                single_level.get(key), emulates.get(_s(node) or "", set())))
        for col, v in zip(_JOIN_COLS, vals):
            out[col].append(v)
    c["supported"] = pd.array(out["supported"], dtype="boolean")
    c["platform_lie"] = pd.array(out["platform_lie"], dtype="boolean")
    c["emulated"] = pd.array(out["emulated"], dtype="boolean")
    c["os_mismatch"] = pd.array(out["os_mismatch"], dtype="boolean")
    for col in _JOIN_COLS[4:]:
        c[col] = pd.array(out[col], dtype="string[pyarrow]")
    return c


def _join_one(node: Platform, entries: list[tuple[Platform, str | None, str | None, str | None]],
              single: tuple[str | None, str | None] | None, emulates: set[str]) -> tuple[Any, ...]:
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


def restarts_once(rows: pd.DataFrame) -> int:
    """Restarts counted once over snapshots: per pod instance (uid) and container, the highest
    restartCount seen; pods recreated under new names count separately."""
    if rows.empty:
        return 0
    key = rows["uid"].fillna(rows["pod"])
    g = rows["restart_count"].fillna(0).groupby([key, rows["container"]], dropna=False).max()
    return int(g.sum())


def iso(ts: Any) -> str | None:
    if ts is None or (not isinstance(ts, str) and pd.isna(ts)):
        return None
    return pd.Timestamp(ts).isoformat().replace("+00:00", "Z")


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
    boots = last[last["node_event"]].groupby("node")["last_finished"].apply(list).to_dict() \
        if last["node_event"].any() else {}
    out: list[dict[str, Any]] = []
    for key, g in last.groupby(WL_KEYS, dropna=False, sort=True):
        w = _wl(*key)
        if w in exclude or w in ctx.failing_now:
            continue
        node_ev = []
        for r in g.itertuples(index=False):
            ev = bool(r.node_event)
            if not ev and (r.namespace, r.pod, r.container) in api_lost and not pd.isna(r.last_finished):
                ev = any(not pd.isna(t) and abs(r.last_finished - t) <= NODE_EVENT_GAP
                         for t in boots.get(r.node, []))
            node_ev.append(ev)
        newest = g.sort_values("last_finished", na_position="first").iloc[-1]
        all_node = all(node_ev)
        reasons = sorted({f"{r} (exit {'?' if pd.isna(x) else int(x)})"
                          for r, x in zip(g["last_reason"], g["last_exit_code"]) if not pd.isna(r)})
        note = ("the containers stopped when their node or its runtime restarted and run again since"
                if all_node else
                "the containers restarted earlier and have been Running and Ready since; nothing is failing now")
        out.append({
            "workload": {"kind": w[0], "namespace": w[1], "name": w[2]},
            "pods": sorted(g["pod"].astype(str).unique().tolist()),
            "containers": sorted({f"{p}/{n}" for p, n in zip(g["pod"].astype(str), g["container"].astype(str))}),
            "nodes": sorted(g["node"].dropna().astype(str).unique().tolist()),
            "restarts": restarts_once(g),
            "last_reasons": reasons,
            "last_reason": None if pd.isna(newest["last_reason"]) else str(newest["last_reason"]),
            "last_exit_code": None if pd.isna(newest["last_exit_code"]) else int(newest["last_exit_code"]),
            "last_finished": iso(g["last_finished"].max()),
            "last_message": None if pd.isna(newest["last_message"]) else str(newest["last_message"])[:500],
            "node_event": all_node,
            "severity": "info",
            "note": note,
            "file": str(newest["file"]),
        })
    out.sort(key=lambda e: (-int(e["restarts"]), e["workload"]["namespace"], e["workload"]["name"]))
    return out


_API_LOST = ("i/o timeout", "connection refused", "no route to host", "tls handshake timeout")


def _apiserver_unreachable(ctx: Context, rows: pd.DataFrame) -> set[tuple[str, str, str]]:
    """Containers whose last words say a dial (to the API server, typically) failed."""
    out: set[tuple[str, str, str]] = set()
    for r in rows[["namespace", "pod", "container", "last_message"]].itertuples(index=False):
        if not pd.isna(r.last_message) and "dial tcp" in str(r.last_message) \
                and any(x in str(r.last_message).lower() for x in _API_LOST):
            out.add((str(r.namespace), str(r.pod), str(r.container)))
    s = ctx.sigs_for(rows)
    if not s.empty:
        t = s["text"].fillna("").astype(str)
        hit = s[t.str.contains("dial tcp", regex=False) & t.str.lower().str.contains("|".join(_API_LOST))]
        out.update(zip(hit["namespace"].astype(str), hit["pod"].astype(str), hit["container"].astype(str)))
    return out
