"""Reports about several dumps (`forensics diff`, `forensics fleet`): text, Markdown and HTML.

Made from the diff or fleet document alone, like the single-dump report. The HTML pages follow the
same discipline as `forensics.render.html`: one self-contained file, the stylesheet inlined, no
script at all, a Content-Security-Policy forbidding every load, every string through jinja2
autoescaping. The Markdown templates escape every `{{ }}` through `forensics.render.markdown.esc`
(jinja2's `finalize`), so a pipe or `<script>` from a dump never becomes table structure or markup;
`|code` gives a code span that no backtick run can close. Text output has control characters
replaced, so a dump cannot move the terminal's cursor.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import jinja2

from forensics.render import markdown as md
from forensics.render import view

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# the only links a fleet page makes: to the per-dump reports written beside it
_REPORT_LINK = re.compile(r"reports/[0-9a-f]{16}\.html")
PAGE_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)


@cache
def _asset(name: str) -> str:
    return resources.files("forensics.reports").joinpath(name).read_text(encoding="utf-8")


class _Raw(str):
    """Markdown already made safe (a code span): `finalize` leaves it alone."""


def _md_finalize(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, _Raw):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    return md.esc(v)


def _filters() -> dict[str, Any]:
    return {
        "t": view.fmt_time,
        "digest": view.short_digest,
        "wl": view.workload_label,
        "title": view.cause_title,
        "pct": view.pct,
        "num": lambda v: f"{v:,}" if isinstance(v, int) else v,
        "dur": duration,
        "mix": mix_text,
        "plats": lambda p: ", ".join(p) if p else ("?" if p is None else "none"),
    }


@lru_cache(maxsize=2)
def _env(markdown: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: _asset(name)),
        autoescape=not markdown,
        finalize=_md_finalize if markdown else None,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_filters())
    env.tests["match_report"] = lambda v: isinstance(v, str) and _REPORT_LINK.fullmatch(v) is not None
    if markdown:
        env.filters["code"] = lambda s: _Raw(md.code(s, cell=True))
    return env


def duration(seconds: Any) -> str:
    """`1200` -> "20m", `3900` -> "1h 5m", `90000` -> "1d 1h"; negative when NEW is older than OLD."""
    if not isinstance(seconds, int):
        return "unknown"
    sign, s = ("-" if seconds < 0 else ""), abs(seconds)
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if d:
        return f"{sign}{d}d" + (f" {h}h" if h else "")
    if h:
        return f"{sign}{h}h" + (f" {m}m" if m else "")
    return f"{sign}{m}m" if m else f"{sign}{s}s"


def mix_text(m: Any) -> str:
    return ", ".join(f"{k} {v}" for k, v in (m or {}).items()) or "none"


def render_page(template: str, **ctx: Any) -> str:
    """An HTML page from `reports/<template>` with the inlined stylesheet and the no-script policy."""
    return _env(False).get_template(template).render(**ctx, css=_asset("report.css"), csp=PAGE_CSP)


def render_markdown(template: str, **ctx: Any) -> str:
    return _env(True).get_template(template).render(**ctx)


def plain(s: Any) -> str:
    """Dump text for a terminal: control characters (ANSI escapes, bidi overrides) shown as U+FFFD."""
    return _CONTROLS.sub("\ufffd", "" if s is None else str(s))


# --- diff -------------------------------------------------------------------------------------------


def diff_text(doc: dict[str, Any]) -> str:
    o, n = doc["old"], doc["new"]
    out = [
        f"old: {o['path']} @ {o['snapshot']} ({o['format']}, {o['collected_at']})",
        f"new: {n['path']} @ {n['snapshot']} ({n['format']}, {n['collected_at']})",
        f"interval: {duration(doc.get('interval_s'))}",
    ]
    if doc["same_cluster"]["reasons"]:
        out.append("compared with --force although: " + "; ".join(doc["same_cluster"]["reasons"]))
    out.append("")
    out += doc["headline"]
    nodes = doc["nodes"]
    mix = nodes["arch_mix"], nodes["os_mix"]
    out += [
        "",
        (
            f"nodes: {nodes['old_total']} -> {nodes['new_total']}; architectures {mix_text(mix[0]['old'])}"
            f" -> {mix_text(mix[0]['new'])}; OS {mix_text(mix[1]['old'])} -> {mix_text(mix[1]['new'])}"
        ),
    ]
    for x in nodes["added"]:
        out.append(f"  + node {x['node']} ({x['arch']}, pool {x['pool'] or '-'})")
    for x in nodes["removed"]:
        out.append(f"  - node {x['node']} ({x['arch']}, pool {x['pool'] or '-'})")
    for p in nodes["pools_added"]:
        out.append(f"  + pool {p}")
    for p in nodes["pools_removed"]:
        out.append(f"  - pool {p}")
    for c in nodes["conditions_changed"]:
        out.append(f"  ~ node {c['node']} {c['condition']}: {c['old']} -> {c['new']}")
    if doc["images"]:
        out += ["", "images:"]
        for im in doc["images"]:
            bits = []
            if im["digest_changed"]:
                bits.append(
                    f"digest {view.short_digest(im['old']['digest'])} -> {view.short_digest(im['new']['digest'])}"
                )
            if im["platforms_lost"]:
                bits.append("lost " + ", ".join(im["platforms_lost"]))
            if im["platforms_gained"]:
                bits.append("gained " + ", ".join(im["platforms_gained"]))
            if im["kind_change"]:
                bits.append(im["kind_change"])
            out.append(f"  ~ {im['ref']}: {'; '.join(bits)}")
    if doc["workloads"]:
        out += ["", "workloads:"]
        for w in doc["workloads"]:
            label = view.workload_label(w["workload"])
            cause = (
                f"{w['old_cause'] or '-'} -> {w['new_cause'] or '-'}"
                if w["old_cause"] != w["new_cause"]
                else (w["new_cause"] or "-")
            )
            counts = ""
            if w["old"] and w["new"]:
                counts = f", ready {w['old']['ready']}/{w['old']['pods']} -> {w['new']['ready']}/{w['new']['pods']}"
            out.append(
                f"  {w['status']:16} {label}: cause {cause}, restarts during {w['restarts_during'] or 0}{counts}"
                + (f" ({w['presence']})" if w["presence"] else "")
            )
            for m in w["image_moves"]:
                lost = f", lost {', '.join(m['platforms_lost'])}" if m["platforms_lost"] else ""
                kind = f", {m['kind_change']}" if m["kind_change"] else ""
                out.append(f"      {m['container']}: {m['old_ref']} -> {m['new_ref']}{lost}{kind}")
    f = doc["findings"]
    out += ["", "findings:"]
    for tag, key in (("new", "new"), ("resolved", "resolved"), ("persisting", "persisting")):
        for x in f[key]:
            out.append(f"  {tag:10} {x['severity']:8} {x['cause']:28} {view.workload_label(x['workload'])}")
    if not any(f[k] for k in ("new", "resolved", "persisting")):
        out.append("  none in either dump")
    return "\n".join(plain(line) for line in out) + "\n"


def diff_html(doc: dict[str, Any]) -> str:
    return render_page("diff.html.j2", d=doc)


def diff_markdown(doc: dict[str, Any]) -> str:
    return render_markdown("diff.md.j2", d=doc)


# --- fleet ------------------------------------------------------------------------------------------


def fleet_html(doc: dict[str, Any]) -> str:
    return render_page("fleet.html.j2", d=doc)


def fleet_markdown(doc: dict[str, Any]) -> str:
    return render_markdown("fleet.md.j2", d=doc)
