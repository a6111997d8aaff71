"""The joins several rules need, computed once: pod x node x image platforms, restart counts
counted once over snapshots, failure states, and the signatures seen per container.

`Context` is what every rule receives. Rules never read files; everything they can know is here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

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
    ncols = ["node", "arch", "variant", "pool", "ready", "created", "instance_type", "runtime", "runtime_version"]
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
    plat = frames["image_platforms"]
    runnable = set(zip(plat["image_key"].astype(str), plat["arch"].astype(str)))
    known = c["img_inspected"] & c["node_arch"].notna()
    pairs = list(zip(c["image_key"].astype(str), c["node_arch"].astype(str)))
    sup = pd.array([(p in runnable) for p in pairs], dtype="boolean")
    sup[~known.to_numpy(dtype=bool)] = pd.NA
    c["supported"] = sup

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
