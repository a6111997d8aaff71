"""What the HTML and Markdown renderings share: cause titles (declared by the rule modules), time
and digest formatting, caps for big dumps, and the derived tables (restart matrix by architecture,
image platforms against the cluster's architectures). Everything here works from the findings
document alone (docs/findings.md) and tolerates missing or odd fields: the document may come from
an older or foreign producer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from forensics.analysis import causes
from forensics.knowledge.arch import Platform, can_run, normalize_platform, parse_platform

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")

# caps that keep a report of a 150,000-pod dump at a few MB; the JSON document keeps everything
CAP_CARDS = 25
CAP_TABLE = 500
CAP_EVIDENCE = 50
CAP_NAMES = 30
CAP_NODES = 300
CAP_FILES = 300
CAP_PROBLEMS = 100


def cause_title(cause: Any) -> str:
    """The title the cause's rule module declares (`forensics.analysis.causes`); the id for an unknown cause."""
    return causes.title(str(cause))


def is_arch(cause: Any) -> bool:
    return str(cause).startswith("arch.")


def parse_time(at: Any) -> datetime | None:
    if not at or not isinstance(at, str):
        return None
    try:
        return datetime.fromisoformat(at)
    except ValueError:
        return None


def fmt_time(at: Any) -> str:
    """'2024-03-12 14:05 UTC' for ISO-8601 strings; anything else as given, '—' for nothing."""
    t = parse_time(at)
    if t is None:
        return str(at) if at else "—"
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def short_digest(d: Any) -> str:
    s = str(d or "")
    if ":" in s:
        algo, _, hexpart = s.partition(":")
        return f"{algo}:{hexpart[:12]}"
    return s[:19]


def workload_label(w: Any) -> str:
    if not isinstance(w, dict):
        return str(w)
    if w.get("namespace") == "":  # cluster-scoped: a node
        return f"{w.get('kind', '?')} {w.get('name', '?')}"
    return f"{w.get('kind', '?')} {w.get('namespace', '?')}/{w.get('name', '?')}"


def causal_links(f: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What a finding's card says about cause and consequence: `{cause: {id, label} | None,
    consequences: [{id, label}], takes_down: [str]}` (ids point at other cards of the report)."""
    cause = by_id.get(str(f.get("caused_by") or ""))
    cons = []
    for c in f.get("consequences") or []:
        if isinstance(c, dict) and c.get("id"):
            cons.append({"id": str(c["id"]), "label": f"{c.get('workload', '?')}: {cause_title(c.get('cause'))}"})
    return {
        "cause": {
            "id": str(cause.get("id")),
            "label": f"{workload_label(cause.get('workload'))}: {cause_title(cause.get('cause'))}",
        }
        if cause
        else None,
        "consequences": cons,
        "takes_down": [str(x) for x in f.get("takes_down") or []][:CAP_NAMES],
    }


def history_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The restart history (docs/findings.md, `restart_history`) as table rows, capped."""
    out = []
    for h in (doc.get("restart_history") or [])[:CAP_TABLE]:
        if not isinstance(h, dict):
            continue
        earlier = [str(c.get("cause")) for c in h.get("earlier_causes") or [] if isinstance(c, dict)]
        out.append(
            {
                "workload": workload_label(h.get("workload")),
                "restarts": _int(h.get("restarts")),
                "last": ", ".join(str(x) for x in h.get("last_reasons") or []) or "—",
                "when": fmt_time(h.get("last_finished")),
                "why": "node restart"
                if h.get("node_event")
                else ("earlier: " + ", ".join(earlier) if earlier else "over; running since"),
                "note": str(h.get("note") or ""),
            }
        )
    return out


def gaps(doc: dict[str, Any], relevant: bool = True) -> list[dict[str, Any]]:
    """The dump's gaps that limit these findings (`relevant: true`, or no flag: an older document),
    or, with `relevant=False`, the others."""
    out = [g for g in doc.get("gaps") or [] if isinstance(g, dict)]
    return [g for g in out if bool(g.get("relevant", True)) is relevant]


def capped(items: Any, n: int) -> tuple[list[Any], int]:
    """(the first n items, how many were left out)."""
    xs = list(items or [])
    return xs[:n], max(0, len(xs) - n)


def cluster_platforms(doc: dict[str, Any]) -> list[Platform]:
    """The node platforms of the cluster, from the inventory's nodes, else its architecture counts."""
    inv = doc.get("inventory") or {}
    seen: dict[str, Platform] = {}
    for n in inv.get("nodes") or []:
        if isinstance(n, dict) and n.get("arch"):
            p = normalize_platform(n.get("os"), n.get("arch"), n.get("variant"))
            seen.setdefault(p.short, p)
    if not seen:
        for a in inv.get("architectures") or {}:
            if a and a != "unknown":
                p = normalize_platform("linux", a)
                seen.setdefault(p.short, p)
    return sorted(seen.values(), key=lambda p: p.short)


def image_support(image: dict[str, Any], platforms: list[Platform]) -> list[dict[str, Any]]:
    """For each cluster platform: whether the image has a runnable entry (True/False), or None when
    the image was not inspected or lists no platforms."""
    parsed = []
    for s in image.get("platforms") or []:
        try:
            parsed.append(parse_platform(str(s)))
        except ValueError:
            continue
    known = bool(image.get("inspected", True)) and bool(parsed)
    return [{"platform": p.short, "runs": (any(can_run(p, ip) for ip in parsed) if known else None)} for p in platforms]


def image_kind_label(image: dict[str, Any]) -> str:
    kind = str(image.get("kind") or "unknown")
    return {"index": "multi-platform index", "manifest": "single-platform manifest (no index)"}.get(kind, "unknown")


def matrix_by_arch(matrix: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The restart matrix summed per node architecture: nodes, pods, restarts, failing, running."""
    agg: dict[str, dict[str, Any]] = {}
    for r in matrix or []:
        if not isinstance(r, dict):
            continue
        a = str(r.get("arch") or "unknown")
        g = agg.setdefault(a, {"arch": a, "nodes": 0, "pods": 0, "restarts": 0, "failing": 0, "running": 0})
        g["nodes"] += 1
        for k in ("pods", "restarts", "failing", "running"):
            g[k] += _int(r.get(k))
    rows = sorted(agg.values(), key=lambda g: g["arch"])
    top = max((g["restarts"] for g in rows), default=0)
    for g in rows:
        g["share"] = (g["restarts"] / top) if top else 0.0
        g["state"] = "failing" if g["failing"] else ("ok" if g["pods"] else "none")
    return rows


def _int(v: Any) -> int:
    try:
        return int(v or 0)
    except (TypeError, ValueError):
        return 0


def counted(n: Any, noun: str) -> str:
    """`n noun`, plural unless n is 1 (`1 node`, `12 pods`, `? pods` when unknown), thousands grouped."""
    if not isinstance(n, int) or isinstance(n, bool):
        return f"? {noun}s"
    return f"{n:,} {noun if n == 1 else noun + 's'}"


def pct(conf: Any) -> str:
    try:
        return f"{float(conf) * 100:.0f}%"
    except (TypeError, ValueError):
        return "?"


def confidence_word(conf: Any) -> str:
    try:
        c = float(conf)
    except (TypeError, ValueError):
        return "unknown"
    return "very high" if c >= 0.9 else "high" if c >= 0.75 else "moderate" if c >= 0.5 else "low"


def argv_text(argv: Any) -> str:
    if isinstance(argv, list):
        return " ".join(str(a) for a in argv)
    return str(argv or "")


def group_evidence(
    evidence: Any, groups_cap: int = CAP_EVIDENCE, where_cap: int = 20
) -> tuple[list[dict[str, Any]], int]:
    """Evidence items with the same kind, text and supported cause folded into one row listing
    every place it was seen: `[{kind, text, supports, count, where: [{file, line, object, snapshot}],
    where_more}]` in first-seen order, capped; returns (groups, groups left out)."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in evidence or []:
        if not isinstance(e, dict):
            continue
        key = (str(e.get("kind") or ""), str(e.get("text") or ""), str(e.get("supports") or ""))
        g = groups.get(key)
        if g is None:
            g = groups[key] = {
                "kind": key[0],
                "text": key[1],
                "supports": e.get("supports"),
                "count": 0,
                "where": [],
                "where_more": 0,
            }
        g["count"] += 1
        if len(g["where"]) < where_cap:
            g["where"].append({k: e.get(k) for k in ("file", "line", "object", "snapshot")})
        else:
            g["where_more"] += 1
    return capped(list(groups.values()), groups_cap)
