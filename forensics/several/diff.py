"""What changed between two dumps of one cluster (or two snapshots of one dump): `forensics diff`.

    diff_dumps(old, new, force=False) -> the diff document (contract: docs/diff.md)
    cluster_mismatch(old, new) -> reasons the two dumps are of different clusters ([] when not)

Both dumps are analyzed as usual; the diff is then made from their frames and findings documents,
never from files: nodes and pools added or removed, the architecture and OS mix, node conditions
(Ready, schedulable, taints, pressure conditions); per image reference the digest, platforms and index/manifest kind;
per workload failing or not, the cause, restarts during the interval, pods and ready pods, and the
image references it moved between (with the platforms the move gained or lost: the tag that lost
arm64); findings new, resolved and persisting, matched by workload and cause.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from forensics import __version__
from forensics.errors import ForensicsError
from forensics.read.load import Dump
from forensics.values import image_key, is_missing, opt_str

__all__ = ["SCHEMA", "DifferentClusters", "cluster_mismatch", "diff_documents", "diff_dumps"]

SCHEMA = "cluster-forensics-diff/1"
_NODE_LIST_CAP = 12
_SWAPPED_AFTER_S = 600  # NEW collected this long before OLD: the headline asks whether they were swapped


class DifferentClusters(ForensicsError):
    """The two dumps are of different clusters (the CLI says why and exits 2; `--force` overrides)."""


# --- identity -------------------------------------------------------------------------------------


def _cluster(d: Dump) -> dict[str, str]:
    c = d.meta.get("cluster")
    return {k: str(v) for k, v in c.items() if isinstance(v, (str, int)) and str(v)} if isinstance(c, dict) else {}


def _node_names(d: Dump) -> set[str]:
    """The nodes a dump knows of: its Node objects and the nodes its pods were bound to (dumps
    without Node objects, such as loose pod lists or a namespace-only must-gather, still name them
    in `spec.nodeName`)."""
    names: set[str] = set()
    for kind in ("nodes", "pods"):
        f = d.frames.get(kind)
        if f is not None and not f.empty and "node" in f:
            names |= set(f["node"].dropna().astype(str))
    return names - {""}


def _few(names: set[str]) -> str:
    s = sorted(names)
    return ", ".join(s[:2]) + (f" (+{len(s) - 2} more)" if len(s) > 2 else "") if s else "none"


def cluster_mismatch(old: Dump, new: Dump) -> list[str]:
    """Why OLD and NEW are not the same cluster; empty when they may be.

    A recorded cluster UID or API server that differs is decisive; a context name that differs is too
    when neither has a server. Without any recorded identity that agrees, two dumps that both name
    nodes (Node objects or the nodes their pods run on) and have no node name in common are taken to be
    different clusters (autoscaling replaces nodes, but rarely all of them between two dumps of one
    incident)."""
    a, b = _cluster(old), _cluster(new)
    reasons: list[str] = []
    agreed = False
    for key, label in (("uid", "cluster UID"), ("server", "API server"), ("name", "cluster name")):
        if a.get(key) and b.get(key):
            if a[key] != b[key]:
                reasons.append(f"{label} differs: {a[key]} vs {b[key]}")
            else:
                agreed = True
    if not agreed and not (a.get("server") and b.get("server")) and a.get("context") and b.get("context"):
        if a["context"] != b["context"]:
            reasons.append(f"kube context differs: {a['context']} vs {b['context']}")
        else:
            agreed = True
    na, nb = _node_names(old), _node_names(new)
    if not agreed and na and nb and not (na & nb):
        reasons.append(f"no node name in common (old: {_few(na)}; new: {_few(nb)})")
    return reasons


# --- nodes ----------------------------------------------------------------------------------------


def _s(v: Any) -> str | None:
    return opt_str(v)


def _b(v: Any) -> bool | None:
    return None if is_missing(v) else bool(v)


def _last_nodes(d: Dump) -> pd.DataFrame:
    n = d.frames["nodes"]
    if n.empty:
        return n
    return n.sort_values("snapshot_index").drop_duplicates("node", keep="last").set_index("node", drop=False)


def _mix(n: pd.DataFrame, col: str) -> dict[str, int]:
    if n.empty:
        return {}
    return {str(k): int(v) for k, v in n[col].fillna("unknown").astype(str).value_counts().sort_index().items()}


def _node_row(r: Any) -> dict[str, Any]:
    return {
        "node": str(r.node),
        "arch": _s(r.arch),
        "os": _s(r.os),
        "pool": _s(r.pool),
        "instance_type": _s(r.instance_type),
        "ready": _b(r.ready),
    }


def _conditions(r: Any) -> dict[str, Any]:
    ready = _b(r.ready)
    return {
        "Ready": None if ready is None else ("True" if ready else f"False ({_s(r.ready_reason) or 'no reason'})"),
        "Schedulable": None if is_missing(r.unschedulable) else ("False (cordoned)" if r.unschedulable else "True"),
        "Taints": "" if is_missing(r.taints) else ",".join(r.taints),
        # pressure and node-problem-detector conditions not in their healthy False state
        "Conditions": _s(getattr(r, "conditions", None)) or "",
    }


def node_changes(old: Dump, new: Dump) -> dict[str, Any]:
    a, b = _last_nodes(old), _last_nodes(new)
    names_a, names_b = set(a.index) if not a.empty else set(), set(b.index) if not b.empty else set()
    added = [_node_row(r) for r in b.loc[sorted(names_b - names_a)].itertuples(index=False)] if names_b else []
    removed = [_node_row(r) for r in a.loc[sorted(names_a - names_b)].itertuples(index=False)] if names_a else []
    pools_a = set(a["pool"].dropna().astype(str)) if not a.empty else set()
    pools_b = set(b["pool"].dropna().astype(str)) if not b.empty else set()
    changed = []
    for name in sorted(names_a & names_b):
        ca, cb = _conditions(a.loc[name]), _conditions(b.loc[name])
        for cond in ca:
            if ca[cond] != cb[cond]:
                changed.append({"node": name, "condition": cond, "old": ca[cond], "new": cb[cond]})
    return {
        "old_total": len(names_a),
        "new_total": len(names_b),
        "added": added,
        "removed": removed,
        "pools_added": sorted(pools_b - pools_a),
        "pools_removed": sorted(pools_a - pools_b),
        "arch_mix": {"old": _mix(a, "arch"), "new": _mix(b, "arch")},
        "os_mix": {"old": _mix(a, "os"), "new": _mix(b, "os")},
        "conditions_changed": changed,
    }


# --- images ---------------------------------------------------------------------------------------


def _image_table(d: Dump) -> dict[str, dict[str, Any]]:
    """image_key -> what the dump knows of it: the inspection (digest, kind, platforms) and the digests
    the runtime reported for the containers running it."""
    out: dict[str, dict[str, Any]] = {}
    im, plats, c = d.frames["images"], d.frames["image_platforms"], d.frames["containers"]
    by_key: dict[str, list[str]] = {}
    for k, p in zip(plats["image_key"].astype(str), plats["platform"].astype(str), strict=True):
        by_key.setdefault(k, []).append(p)
    for r in im.itertuples(index=False):
        key = str(r.image_key) if _s(r.image_key) else image_key(str(r.image))
        inspected = bool(r.inspected) if _b(r.inspected) is not None else False
        out[key] = {
            "ref": str(r.image),
            "inspected": inspected,
            "digest": _s(r.digest),
            "kind": _s(r.kind),
            "platforms": sorted(set(by_key.get(key, []))) if inspected else None,
            "running_digests": [],
            "running_archs": [],
        }
    if not c.empty:
        last = c.sort_values("snapshot_index").drop_duplicates(["namespace", "pod", "container"], keep="last")
        nodes = _last_nodes(d)
        arch_of = nodes["arch"].to_dict() if not nodes.empty else {}
        for ref, g in last.groupby(last["image"].fillna(""), sort=True):
            if not ref:
                continue
            key = image_key(str(ref))
            e = out.setdefault(
                key,
                {
                    "ref": str(ref),
                    "inspected": False,
                    "digest": None,
                    "kind": None,
                    "platforms": None,
                    "running_digests": [],
                    "running_archs": [],
                },
            )
            e["running_digests"] = sorted(set(g["image_digest"].dropna().astype(str)))
            e["running_archs"] = sorted({str(arch_of[n]) for n in g["node"].dropna() if _s(arch_of.get(n))})
            e["containers"] = len(g)
    return out


def _digests(e: dict[str, Any]) -> set[str]:
    return ({e["digest"]} if e.get("digest") else set()) or set(e.get("running_digests") or [])


def _platform_change(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    pa, pb = a.get("platforms"), b.get("platforms")
    out: dict[str, Any] = {"platforms_gained": [], "platforms_lost": [], "kind_change": None}
    if pa is not None and pb is not None:
        out["platforms_gained"] = sorted(set(pb) - set(pa))
        out["platforms_lost"] = sorted(set(pa) - set(pb))
    if a.get("kind") and b.get("kind") and a["kind"] != b["kind"]:
        out["kind_change"] = f"{a['kind']} -> {b['kind']}"
    return out


def _arch_of_platform(p: str) -> str:
    parts = p.split("/")
    return parts[1] if len(parts) > 1 else p


def image_changes(ta: dict[str, dict[str, Any]], tb: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per image reference seen in both dumps: digest, platforms and kind changes."""
    out = []
    for key in sorted(set(ta) & set(tb)):
        a, b = ta[key], tb[key]
        da, db = _digests(a), _digests(b)
        ch = _platform_change(a, b)
        digest_changed = bool(da and db and not (da & db))
        if not (digest_changed or ch["platforms_gained"] or ch["platforms_lost"] or ch["kind_change"]):
            continue
        lost_archs = {_arch_of_platform(p) for p in ch["platforms_lost"]}
        out.append(
            {
                "ref": b["ref"],
                "digest_changed": digest_changed,
                "old": _image_view(a),
                "new": _image_view(b),
                **ch,
                "needed_by_nodes": sorted(lost_archs & set(b.get("running_archs") or [])),
            }
        )
    return out


def _image_view(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "ref": e["ref"],
        "digest": e.get("digest") or (e["running_digests"][0] if e.get("running_digests") else None),
        "kind": e.get("kind"),
        "platforms": e.get("platforms"),
        "inspected": bool(e.get("inspected")),
        "running_archs": e.get("running_archs") or [],
    }


# --- workloads ------------------------------------------------------------------------------------

WKey = tuple[str, str, str]


def _wl_key(w: dict[str, Any]) -> WKey:
    return (str(w.get("kind")), str(w.get("namespace")), str(w.get("name")))


def _wl_state(d: Dump) -> dict[WKey, dict[str, Any]]:
    """Per workload at the dump's last snapshot: pods, ready pods, desired replicas, image refs per container,
    and restart counts per container instance (keyed by pod uid or name) for the interval."""
    last = d.snapshots[-1] if d.snapshots else None
    pods, cont, wls = d.frames["pods"], d.frames["containers"], d.frames["workloads"]
    if last is not None:
        pods, cont, wls = (f[f["snapshot"] == last] for f in (pods, cont, wls))
    out: dict[WKey, dict[str, Any]] = {}
    if not pods.empty:
        keys = (
            pods["workload_kind"].fillna("Pod").astype(str),
            pods["namespace"].astype(str),
            pods["workload_name"].fillna(pods["pod"]).astype(str),
        )
        for k, g in pods.groupby(list(keys), sort=True):
            out[k] = {
                "pods": len(g),
                "ready": int(g["ready"].fillna(False).astype(bool).sum()),
                "replicas": None,
                "images": {},
                "restarts": {},
            }
    if not wls.empty:
        for r in wls.itertuples(index=False):
            k = (str(r.kind), str(r.namespace), str(r.name))
            if k in out or r.kind in ("Deployment", "StatefulSet", "DaemonSet"):
                e = out.setdefault(k, {"pods": 0, "ready": 0, "replicas": None, "images": {}, "restarts": {}})
                e["replicas"] = None if is_missing(r.replicas) else int(r.replicas)
    if not cont.empty:
        ck = (
            cont["workload_kind"].fillna("Pod").astype(str),
            cont["namespace"].astype(str),
            cont["workload_name"].fillna(cont["pod"]).astype(str),
        )
        for r, kind, ns, name in zip(cont.itertuples(index=False), *ck, strict=True):
            found = out.get((kind, ns, name))
            if found is None:
                continue
            if _s(r.image):
                found["images"].setdefault(str(r.container), set()).add(str(r.image))
            inst = (_s(r.uid) or str(r.pod), str(r.container))
            found["restarts"][inst] = 0 if is_missing(r.restart_count) else int(r.restart_count)
    return out


def _findings_by_wl(doc: dict[str, Any]) -> dict[WKey, dict[str, Any]]:
    return {_wl_key(f["workload"]): f for f in doc.get("findings") or []}


def _f_view(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "cause": f["cause"],
        "severity": f["severity"],
        "confidence": f["confidence"],
        "workload": f["workload"],
        "summary": f["summary"],
        "id": f["id"],
    }


def workload_changes(
    old: Dump,
    new: Dump,
    doc_a: dict[str, Any],
    doc_b: dict[str, Any],
    ta: dict[str, dict[str, Any]],
    tb: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    sa, sb = _wl_state(old), _wl_state(new)
    fa, fb = _findings_by_wl(doc_a), _findings_by_wl(doc_b)
    out: list[dict[str, Any]] = []
    for k in sorted(set(sa) | set(sb) | set(fa) | set(fb)):
        a, b = sa.get(k), sb.get(k)
        f_old, f_new = fa.get(k), fb.get(k)
        if f_old and f_new:
            status = "still-failing" if f_old["cause"] == f_new["cause"] else "cause-changed"
        elif f_new:
            status = "started-failing"
        elif f_old:
            status = "stopped-failing" if b else "gone"
        else:
            status = "ok"
        restarts = None
        if b is not None:
            before = (a or {}).get("restarts") or {}
            restarts = sum(max(0, n - before.get(inst, 0)) for inst, n in b["restarts"].items())
        moves = _image_moves(a, b, ta, tb)
        appeared = "added" if a is None and b is not None else "removed" if b is None and a is not None else None
        counts_changed = bool(
            a and b and (a["pods"], a["ready"], a["replicas"]) != (b["pods"], b["ready"], b["replicas"])
        )
        if status == "ok" and not (restarts or moves or appeared or counts_changed):
            continue
        out.append(
            {
                "workload": {"kind": k[0], "namespace": k[1], "name": k[2]},
                "status": status,
                "presence": appeared,
                "old_cause": f_old["cause"] if f_old else None,
                "new_cause": f_new["cause"] if f_new else None,
                "restarts_during": restarts,
                "old": {"pods": a["pods"], "ready": a["ready"], "replicas": a["replicas"]} if a else None,
                "new": {"pods": b["pods"], "ready": b["ready"], "replicas": b["replicas"]} if b else None,
                "image_moves": moves,
            }
        )
    order = {"started-failing": 0, "cause-changed": 1, "still-failing": 2, "stopped-failing": 3, "gone": 4, "ok": 5}
    out.sort(key=lambda w: (order[w["status"]], w["workload"]["namespace"], w["workload"]["name"]))
    return out


def _image_moves(
    a: dict[str, Any] | None, b: dict[str, Any] | None, ta: dict[str, dict[str, Any]], tb: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per container: references the new dump runs that the old one did not, each compared with what
    the container ran before (the platforms the move gained or lost)."""
    if not a or not b:
        return []
    out = []
    for container in sorted(b["images"]):
        before = a["images"].get(container) or set()
        for ref in sorted(b["images"][container] - before):
            for prev in sorted(before - b["images"][container]) or sorted(before):
                ea = ta.get(image_key(prev)) or tb.get(image_key(prev)) or {"ref": prev}
                eb = tb.get(image_key(ref)) or {"ref": ref}
                ch = _platform_change(ea, eb)
                lost = {_arch_of_platform(p) for p in ch["platforms_lost"]}
                out.append(
                    {
                        "container": container,
                        "old_ref": prev,
                        "new_ref": ref,
                        "old": _image_view({"running_digests": [], **ea}),
                        "new": _image_view({"running_digests": [], **eb}),
                        **ch,
                        "needed_by_nodes": sorted(lost & set(eb.get("running_archs") or [])),
                    }
                )
    return out


# --- findings -------------------------------------------------------------------------------------


def finding_changes(doc_a: dict[str, Any], doc_b: dict[str, Any], section: str = "findings") -> dict[str, Any]:
    def key(f: dict[str, Any]) -> tuple[str, str, str, str]:
        return (*_wl_key(f["workload"]), f["cause"])

    a = {key(f): f for f in doc_a.get(section) or []}
    b = {key(f): f for f in doc_b.get(section) or []}
    return {
        "new": [_f_view(b[k]) for k in b if k not in a],
        "resolved": [_f_view(a[k]) for k in a if k not in b],
        "persisting": [
            {**_f_view(b[k]), "old_severity": a[k]["severity"], "old_confidence": a[k]["confidence"]}
            for k in b
            if k in a
        ],
    }


# --- the document ---------------------------------------------------------------------------------


def _side(d: Dump, doc: dict[str, Any], label: str) -> dict[str, Any]:
    dump = doc.get("dump") or {}
    return {
        "label": label,
        "path": str(d.path),
        "format": d.format,
        "snapshot": d.snapshots[-1] if d.snapshots else None,
        "collected_at": dump.get("collected_at"),
        "cluster": _cluster(d),
        "counts": dump.get("counts") or {},
        "verdict": (doc.get("summary") or {}).get("verdict"),
    }


def diff_dumps(
    old: Dump, new: Dump, *, force: bool = False, labels: tuple[str, str] = ("old", "new")
) -> dict[str, Any]:
    """Analyze both dumps and say what changed. Raises `DifferentClusters` unless `force`."""
    from forensics.analysis.analyze import analyze

    reasons = cluster_mismatch(old, new)
    if reasons and not force:
        raise DifferentClusters(
            "the two dumps look like different clusters (--force to compare anyway): " + "; ".join(reasons)
        )
    return diff_documents(old, new, analyze(old), analyze(new), reasons=reasons, labels=labels)


def diff_documents(
    old: Dump,
    new: Dump,
    doc_a: dict[str, Any],
    doc_b: dict[str, Any],
    *,
    reasons: list[str] | None = None,
    labels: tuple[str, str] = ("old", "new"),
) -> dict[str, Any]:
    """The diff of two already analyzed dumps (their findings documents)."""
    ta, tb = _image_table(old), _image_table(new)
    nodes = node_changes(old, new)
    images = image_changes(ta, tb)
    workloads = workload_changes(old, new, doc_a, doc_b, ta, tb)
    findings = finding_changes(doc_a, doc_b)
    latent = finding_changes(doc_a, doc_b, "latent")
    sa, sb = _side(old, doc_a, labels[0]), _side(new, doc_b, labels[1])
    interval = None
    try:
        ta_ts, tb_ts = pd.Timestamp(sa["collected_at"]), pd.Timestamp(sb["collected_at"])
        interval = int((tb_ts - ta_ts).total_seconds())
    except (TypeError, ValueError):
        pass
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "tool": {"name": "cluster-forensics", "version": __version__},
        "old": sa,
        "new": sb,
        "interval_s": interval,
        "same_cluster": {"ok": not reasons, "reasons": list(reasons or []), "forced": bool(reasons)},
        "nodes": nodes,
        "images": images,
        "workloads": workloads,
        "findings": findings,
        "latent": latent,
    }
    doc["headline"] = headline(doc)
    return doc


def _ago(seconds: int) -> str:
    d, r = divmod(seconds, 86400)
    h, r = divmod(r, 3600)
    m, sec = divmod(r, 60)
    parts = [f"{v}{u}" for v, u in ((d, "d"), (h, "h"), (m, "m")) if v][:2]
    return " ".join(parts) if parts else f"{sec}s"


def headline(doc: dict[str, Any]) -> list[str]:
    """A few sentences a reader acts on, most important first."""
    out = []
    iv = doc.get("interval_s")
    if isinstance(iv, int) and iv < -_SWAPPED_AFTER_S:
        # new and resolved read backwards when the later dump is given first (a few minutes either
        # way are the noise of collection times derived from the newest timestamp inside a dump)
        out.append(
            f"NEW ({doc['new']['label']}) was collected {_ago(-iv)} before OLD ({doc['old']['label']}): "
            "were the two swapped? new and resolved are as if OLD came first."
        )
    f = doc["findings"]
    out.append(f"{len(f['new'])} new, {len(f['resolved'])} resolved, {len(f['persisting'])} persisting finding(s).")
    for w in doc["workloads"]:
        for m in w["image_moves"]:
            if m["platforms_lost"] or m["kind_change"]:
                wl = w["workload"]
                what = []
                if m["platforms_lost"]:
                    what.append("lost " + ", ".join(m["platforms_lost"]))
                if m["kind_change"]:
                    what.append(m["kind_change"].replace("index -> manifest", "multi-arch index -> bare manifest"))
                need = f" while {', '.join(m['needed_by_nodes'])} nodes run it" if m["needed_by_nodes"] else ""
                out.append(
                    f"{wl['kind']} {wl['namespace']}/{wl['name']} moved {m['container']} from "
                    f"{m['old_ref']} to {m['new_ref']}: {'; '.join(what)}{need}."
                )
    for im in doc["images"]:
        if im["platforms_lost"] or im["kind_change"]:
            what = ([f"lost {', '.join(im['platforms_lost'])}"] if im["platforms_lost"] else []) + (
                [im["kind_change"]] if im["kind_change"] else []
            )
            out.append(f"{im['ref']} was re-pushed ({'; '.join(what)}).")
    n = doc["nodes"]
    if n["added"] or n["removed"]:
        archs = Counter(str(x.get("arch")) for x in n["added"])
        out.append(
            f"{len(n['added'])} node(s) added"
            + (f" ({', '.join(f'{v} {k}' for k, v in sorted(archs.items()))})" if archs else "")
            + f", {len(n['removed'])} removed."
        )
    return out
