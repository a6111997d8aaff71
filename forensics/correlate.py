"""The joins several rules need, computed once: pod x node x image platforms, restart counts
counted once over snapshots, failure states, and the signatures seen per container.

`Context` is what every rule receives. Rules never read files; everything they can know is here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from forensics.arch import Platform, can_run, normalize_os, normalize_platform, parse_platform
from forensics.frames import image_key

# waiting reasons that mean the container cannot run
FAIL_WAITING = frozenset({
    "CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError",
    "CreateContainerError", "RunContainerError", "InvalidImageName", "ErrImageNeverPull",
    "ContainerCannotRun", "StartError",
})
OK_TERMINATED = frozenset({"Completed"})
WL_KEYS = ["workload_kind", "namespace", "workload_name"]


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
             "os", "cpu_level", "cpu_level_from", "cpu_model", "windows_build"]
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

    state = c["state"]
    wr = c["waiting_reason"]
    c["waiting_fail"] = (state == "waiting") & wr.isin(list(FAIL_WAITING))
    term_fail = (state == "terminated") & ~c["term_reason"].isin(list(OK_TERMINATED)) & (c["term_exit_code"].fillna(0) != 0)
    restarted = (c["restart_count"].fillna(0) > 0) & c["last_reason"].notna() & ~c["last_reason"].isin(list(OK_TERMINATED))
    c["failing"] = (c["waiting_fail"] | term_fail.fillna(False) | restarted.fillna(False)).astype("boolean")
    c["healthy"] = ((state == "running") & c["ready"].fillna(False) & ~c["failing"]).fillna(False).astype("boolean")

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
    )


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
