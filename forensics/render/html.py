"""The HTML post-mortem: one self-contained file made from the findings document alone.

Nothing leaves the page: the CSS and JavaScript are inlined from `reports/`, the charts are inline
SVG drawn here (forensics.render.charts), and a Content-Security-Policy meta tag forbids every
remote load; the one inline script is allowed by its sha256 hash, so a `<script>` smuggled into
the page would not run even if escaping failed. Every string from the dump goes through jinja2
autoescaping; only the SVG charts are inserted as markup, and they are built from sanitized labels.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import jinja2

from forensics.render import charts, view


@cache
def _asset(name: str) -> str:
    return resources.files("forensics.reports").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: _asset(name)),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        {
            "t": view.fmt_time,
            "digest": view.short_digest,
            "wl": view.workload_label,
            "pct": view.pct,
            "title": view.cause_title,
            "conf_word": view.confidence_word,
            "argv": view.argv_text,
            "num": lambda v: f"{v:,}" if isinstance(v, int) else v,
            "counted": view.counted,
        }
    )
    return env


TOP_IN_FULL = 25  # findings shown in full (cards); all of them are rows of the findings table
TABLE_PAGE = 200  # rows of a findings table laid out when the page opens; the rest on "show all" or a filter


def csp(script: str) -> str:
    """The page's policy: nothing remote, inline styles, only our own script (by hash)."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def _finding_view(
    f: dict[str, Any],
    platforms: list[Any],
    by_id: dict[str, dict[str, Any]] | None = None,
    in_full: set[str] | None = None,
) -> dict[str, Any]:
    evidence, evidence_more = view.group_evidence(f.get("evidence"))
    pods, pods_more = view.capped(f.get("pods"), view.CAP_NAMES)
    nodes, nodes_more = view.capped(f.get("nodes"), view.CAP_NAMES)
    matrix = [r for r in f.get("restart_matrix") or [] if isinstance(r, dict)]
    matrix_nodes, matrix_more = view.capped(
        sorted(matrix, key=lambda r: (-int(r.get("restarts") or 0), str(r.get("node")))), view.CAP_NAMES
    )
    images = []
    for im in f.get("images") or []:
        if isinstance(im, dict):
            images.append({**im, "kind_label": view.image_kind_label(im), "support": view.image_support(im, platforms)})
    links = view.causal_links(f, by_id or {})
    if in_full is not None:  # a link to a finding not shown in full has no card to go to: its label only
        for target in [links.get("cause"), *(links.get("consequences") or [])]:
            if target and target.get("id") not in in_full:
                target["id"] = None
    return {
        "links": links,
        "f": f,
        "evidence": evidence,
        "evidence_more": evidence_more,
        "pods": pods,
        "pods_more": pods_more,
        "nodes": nodes,
        "nodes_more": nodes_more,
        "by_arch": view.matrix_by_arch(matrix),
        "matrix_nodes": matrix_nodes,
        "matrix_more": matrix_more,
        "images": images,
        "timeline": sorted(
            (e for e in f.get("timeline") or [] if isinstance(e, dict)), key=lambda e: str(e.get("at") or "")
        ),
    }


def build_context(doc: dict[str, Any]) -> dict[str, Any]:
    """Everything the template shows, capped for big dumps; the template only lays it out."""
    dump = doc.get("dump") or {}
    summary = doc.get("summary") or {}
    inventory = doc.get("inventory") or {}
    findings = [f for f in doc.get("findings") or [] if isinstance(f, dict)]
    latent = [f for f in doc.get("latent") or [] if isinstance(f, dict)]
    platforms = view.cluster_platforms(doc)
    arch_f = [f for f in findings if view.is_arch(f.get("cause"))]
    other_f = [f for f in findings if not view.is_arch(f.get("cause"))]
    by_id = {str(f.get("id")): f for f in findings}
    # the most severe findings in full (the document's order: severity, architecture first, confidence);
    # every finding is a row of one table, which is what keeps a 150,000-pod report small and quick
    cards, cards_more = view.capped(findings, TOP_IN_FULL)
    in_full = {str(f.get("id")) for f in cards}
    latent_cards, latent_cards_more = view.capped(latent, TOP_IN_FULL)
    nodes, nodes_more = view.capped(inventory.get("nodes"), view.CAP_NODES)
    files, files_more = view.capped(dump.get("files"), view.CAP_FILES)
    problems, problems_more = view.capped(doc.get("load_problems"), view.CAP_PROBLEMS)
    failed, failed_more = view.capped(dump.get("commands_failed"), view.CAP_PROBLEMS)
    counts = dump.get("counts") or {}
    series = (doc.get("series") or {}).get("restarts_by_arch") or []
    worst = min(
        (view.SEVERITY_ORDER.index(f.get("severity")) for f in findings if f.get("severity") in view.SEVERITY_ORDER),
        default=None,
    )
    cluster = dump.get("cluster") or {}
    return {
        "doc": doc,
        "dump": dump,
        "summary": summary,
        "inventory": inventory,
        "counts": counts,
        "cluster_name": _cluster_name(cluster, dump),
        "worst": view.SEVERITY_ORDER[worst] if worst is not None else "ok",
        "platforms": [p.short for p in platforms],
        "findings": findings,
        "latent": latent,
        "arch_findings": arch_f,
        "other_findings": other_f,
        "cards": [_finding_view(f, platforms, by_id, in_full) for f in cards],
        "cards_more": cards_more,
        "in_full": in_full,
        "latent_cards": [_finding_view(f, platforms) for f in latent_cards],
        "latent_cards_more": latent_cards_more,
        "latent_in_full": {str(f.get("id")) for f in latent_cards},
        "nodes": nodes,
        "nodes_more": nodes_more + max(0, int(inventory.get("nodes_total") or 0) - len(inventory.get("nodes") or [])),
        "files": files,
        "files_more": files_more,
        "problems": problems,
        "problems_more": problems_more,
        "failed": failed,
        "failed_more": failed_more,
        "gaps": view.gaps(doc, relevant=True),
        "gaps_irrelevant": view.gaps(doc, relevant=False),
        "files_with_sums": sum(1 for fi in dump.get("files") or [] if isinstance(fi, dict) and fi.get("sha256")),
        "arch_colors": {
            a: charts.arch_color(a, sorted(inventory.get("architectures") or {}))
            for a in (inventory.get("architectures") or {})
        },
        "restarts_chart": _chart(charts.restarts_by_arch_svg, series, dump.get("snapshots") or []),
        "timeline_chart": _chart(charts.timeline_svg, doc.get("timeline") or [], findings),
        "timeline": [e for e in doc.get("timeline") or [] if isinstance(e, dict)][: view.CAP_TABLE],
        "history": view.history_rows(doc),
    }


def _cluster_name(cluster: dict[str, Any], dump: dict[str, Any]) -> str:
    ctx = str(cluster.get("context") or "")
    if ctx:
        # EKS contexts are ARNs: arn:aws:eks:REGION:ACCOUNT:cluster/NAME
        return ctx.rsplit("/", 1)[-1] if ctx.startswith("arn:") else ctx
    return str(dump.get("path") or "cluster").rstrip("/").rsplit("/", 1)[-1] or "cluster"


def _chart(fn: Any, *args: Any) -> str | None:
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - a chart that cannot be drawn is left out; its table remains
        return None


def render_html(doc: dict[str, Any]) -> str:
    """The report as one self-contained HTML page (a string)."""
    script = _asset("report.js")
    ctx = build_context(doc)
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            **ctx,
            css=_asset("report.css"),
            script=script,
            csp=csp(script),
            charts_svg={"restarts": ctx["restarts_chart"], "timeline": ctx["timeline_chart"]},
            table_page=TABLE_PAGE,
        )
    )
