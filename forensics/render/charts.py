"""Inline SVG charts for the HTML report, drawn with matplotlib when the report is rendered.

The SVG goes into the page as markup, so it must hold nothing the page could fetch or run: text
is drawn as `<text>` (`svg.fonttype: none`, the page's fonts apply), the XML prologue and DOCTYPE
are stripped, and labels that come from the dump are reduced to a safe character set before they
reach matplotlib (which also escapes them, and would otherwise read `$...$` as mathtext).
A chart that cannot be drawn is `None`; the report then shows its table alone.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from typing import Any

ARCH_COLORS = {
    "amd64": "#2f6db5",
    "arm64": "#e07b24",
    "arm": "#c9a227",
    "386": "#7a5fb3",
    "ppc64le": "#3a9a6b",
    "s390x": "#8c564b",
    "riscv64": "#b34d7a",
}
_OTHER_COLORS = ("#6b7a8f", "#4f9da6", "#a05195", "#8a8a8a")
KIND_COLORS = {
    "node-pool": "#2f6db5",
    "rollout": "#6b4fb3",
    "image-built": "#3a9a6b",
    "first-failure": "#c0392b",
    "snapshot": "#8a8f98",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9 ._:/@+()=,#'-]")
_FORBIDDEN = re.compile(r"<script|javascript:|<foreignObject|\son[a-z]+\s*=|href=\"(?!#)", re.IGNORECASE)


def arch_color(arch: str, order: list[str]) -> str:
    """A stable color per architecture, the same in every chart and in the page's legend."""
    if arch in ARCH_COLORS:
        return ARCH_COLORS[arch]
    others = [a for a in order if a not in ARCH_COLORS]
    return _OTHER_COLORS[others.index(arch) % len(_OTHER_COLORS)] if arch in others else _OTHER_COLORS[0]


def safe_label(text: Any, limit: int = 70) -> str:
    """Dump text reduced to characters that mean nothing to SVG, HTML or mathtext."""
    s = _UNSAFE.sub("?", str(text if text is not None else ""))
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _parse(at: Any) -> datetime | None:
    if not at or not isinstance(at, str):
        return None
    try:
        t = datetime.fromisoformat(at).replace(tzinfo=None)
    except ValueError:
        return None
    # an epoch-zero or otherwise pre-Kubernetes time is a missing value that would squash the axis
    return t if t.year >= 2010 else None


def _pyplot(salt: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": salt,  # deterministic ids, distinct between the charts of one page
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.edgecolor": "#b8bec8",
            "axes.labelcolor": "#3b4252",
            "xtick.color": "#4c566a",
            "ytick.color": "#4c566a",
            "text.color": "#2e3440",
            "text.parse_math": False,
        }
    )
    return plt


def _to_svg(fig: Any, plt: Any, prefix: str) -> str | None:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    svg = buf.getvalue()
    start = svg.find("<svg")
    if start < 0:
        return None
    svg = svg[start:]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.DOTALL)
    # matplotlib's `*{...}` rule would style the whole page; the report's CSS sets the same on .chart
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, flags=re.DOTALL)
    # two charts in one page must not share element ids
    svg = re.sub(r'\bid="', f'id="{prefix}-', svg)
    svg = svg.replace('href="#', f'href="#{prefix}-').replace("url(#", f"url(#{prefix}-")
    svg = svg.replace("<svg", '<svg role="img" class="chart"', 1)
    if _FORBIDDEN.search(svg):
        return None
    return svg.strip()


def restarts_by_arch_svg(series: list[dict[str, Any]], snapshots: list[dict[str, Any]] | None = None) -> str | None:
    """Bars: the failing workloads' restarts *during* each interval between snapshots, by node
    architecture, the count written on each bar.

    `series` is `doc["series"]["restarts_by_arch"]`: `[{snapshot, at, arch, restarts, failing_pods}]`,
    `restarts` counted since the previous snapshot (the first: up to it); `snapshots` is
    `doc["dump"]["snapshots"]` (`[{name, observed_at}]`), which names each interval's start. Only bars with restarts are
    drawn (no zero-height bar with a number floating on the axis); an architecture without restarts
    is left out, so the ticks sit under the bars they name.
    """
    rows = [r for r in series or [] if isinstance(r, dict) and _int(r.get("restarts")) > 0]
    if not rows:
        return None
    snaps: list[str] = []
    for r in sorted(rows, key=lambda r: (str(r.get("at") or ""), str(r.get("snapshot")))):
        if str(r.get("snapshot")) not in snaps:
            snaps.append(str(r.get("snapshot")))
    snaps = snaps[-24:]
    archs = sorted({str(r.get("arch")) for r in rows if str(r.get("snapshot")) in snaps})[:8]
    at = {str(r.get("snapshot")): r.get("at") for r in series or [] if isinstance(r, dict)}
    val = {(str(r.get("snapshot")), str(r.get("arch"))): _int(r.get("restarts")) for r in rows}
    plt = _pyplot("restarts")
    fig, ax = plt.subplots(figsize=(min(9.0, max(5.5, 2.5 + 0.6 * len(snaps) * max(1, len(archs)))), 2.9))
    width = 0.8 / max(1, len(archs))
    top = max(val.values(), default=0)
    for i, arch in enumerate(archs):
        xs, ys = [], []
        for j, s in enumerate(snaps):
            if val.get((s, arch), 0) > 0:
                xs.append(j + (i - (len(archs) - 1) / 2) * width)
                ys.append(val[(s, arch)])
        bars = ax.bar(xs, ys, width * 0.92, label=safe_label(arch, 20), color=arch_color(arch, archs))
        for b, y in zip(bars, ys):
            ax.text(
                b.get_x() + b.get_width() / 2,
                b.get_height() + top * 0.02,
                f"{y:,}",
                ha="center",
                va="bottom",
                fontsize=8,
                color="#3b4252",
            )
    known = [x for x in snapshots or [] if isinstance(x, dict)]
    for x in known:
        at.setdefault(str(x.get("name")), x.get("observed_at"))
    all_snaps = [str(x.get("name")) for x in sorted(known, key=lambda x: str(x.get("observed_at") or ""))] or [
        str(r.get("snapshot"))
        for r in sorted((r for r in series or [] if isinstance(r, dict)), key=lambda r: str(r.get("at") or ""))
    ]
    labels = []
    for s in snaps:
        t = _parse(at.get(s))
        end = t.strftime("%b %d %H:%M") if t else safe_label(s, 20)
        i = all_snaps.index(s) if s in all_snaps else 0
        prev = next((p for p in reversed(all_snaps[:i]) if p != s), None)
        pt = _parse(at.get(prev)) if prev else None
        if pt is None:
            labels.append(f"up to {end}")
        else:
            same_day = t is not None and pt.date() == t.date()
            labels.append(f"{pt:%b %d %H:%M}–{t:%H:%M}" if same_day and t else f"{pt:%b %d %H:%M}–{end}")
    ax.set_xticks(range(len(snaps)), labels)
    ax.set_xlim(-0.6, len(snaps) - 0.4)
    ax.set_ylabel("restarts during the interval")
    ax.set_ylim(0, max(1, top) * 1.25)
    ax.grid(axis="y", color="#e5e9f0", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.legend(
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        title="node architecture",
        title_fontsize=8,
        fontsize=8,
        alignment="left",
    )
    return _to_svg(fig, plt, "cr")


def _int(v: Any) -> int:
    try:
        return int(v or 0)
    except (TypeError, ValueError):
        return 0


def _wrap(text: str, width: int = 56, lines: int = 3) -> str:
    """A label on at most `lines` lines of about `width` characters, cut (with …) only past that."""
    import textwrap

    parts = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: width - 1] + "…"
    return "\n".join(parts)


def timeline_svg(timeline: list[dict[str, Any]], findings: list[dict[str, Any]]) -> str | None:
    """One row per event (node pool created, image built, rollout, first failure, snapshot) on a
    time axis, and a red bar per failing workload over each interval it was failing (`failing_intervals`;
    an older document: from its first to its last failure), which stands for that workload's
    first-failure event. Each event is drawn once: with a broken axis, in the
    panel its time falls in."""
    events = []
    for e in timeline or []:
        t = _parse(e.get("at")) if isinstance(e, dict) else None
        if t is not None:
            events.append((t, str(e.get("kind") or ""), str(e.get("what") or "")))
    spans: list[tuple[datetime, datetime, str, list[tuple[datetime, datetime]]]] = []
    spanned: set[str] = set()
    for f in (findings or [])[:6]:
        w = f.get("workload") or {}
        label = f"failing: {w.get('namespace')}/{w.get('name')}" if w.get("namespace") else f"failing: {w.get('name')}"
        raw = [
            (_parse(i.get("from")), _parse(i.get("to")))
            for i in f.get("failing_intervals") or []
            if isinstance(i, dict)
        ]
        parts = [(a, b or a) for a, b in raw if a is not None]
        a, b = _parse(f.get("first_seen")), _parse(f.get("last_seen"))
        if not parts and a is not None:  # an older document: from its first to its last failure
            parts = [(a, b or a)]
        if parts:  # only over the intervals where it was failing (docs/findings.md)
            spans.append((parts[0][0], parts[-1][1], label, parts))
            spanned.add(f"first failure of {w.get('kind')} {w.get('namespace')}/{w.get('name')}")
    # a workload's failing bar starts at its first failure: the same fact is not drawn twice
    events = [e for e in events if not (e[1] == "first-failure" and e[2] in spanned)]
    # snapshots are the least telling events: keep the others first when there are too many
    if len(events) > 22:
        keep = [e for e in events if e[1] != "snapshot"][:20]
        events = sorted(keep + [e for e in events if e[1] == "snapshot"][: 22 - len(keep)])
    if not events and not spans:
        return None
    import matplotlib.dates as mdates

    times = [e[0] for e in events] + [t for a, b, _, _ in spans for t in (a, b)]
    t0, t1 = min(times), max(times)
    fails = [e[0] for e in events if e[1] == "first-failure"] + [a for a, _, _, _ in spans]
    # months of history before an incident of hours: break the axis so both can be read
    focus = min(fails) - timedelta(hours=24) if fails else None
    broken = bool(focus and any(t < focus for t in times) and (focus - t0) > 3 * (t1 - focus))
    plt = _pyplot("timeline")
    rows: list[tuple[str, str]] = []  # (label, color)
    n = len(events) + len(spans)
    size = (9.0, 0.9 + 0.28 * n + 0.12 * sum(r.count("\n") for r in [_wrap(safe_label(e[2], 240)) for e in events]))
    if broken:
        fig, axes = plt.subplots(
            1, 2, sharey=True, figsize=size, gridspec_kw={"width_ratios": [1, 1.5], "wspace": 0.06}
        )
    else:
        fig, ax0 = plt.subplots(figsize=size)
        axes = [ax0]

    def side(t: datetime) -> Any:
        """The one panel a time is drawn in: before the break on the left, from it on the right."""
        return axes[0] if not broken or focus is None or t < focus else axes[1]

    y = n - 1
    for t, kind, what in events:
        color = KIND_COLORS.get(kind, "#4c566a")
        side(t).plot([t], [y], marker="D" if kind == "first-failure" else "o", markersize=6, color=color)
        rows.append((_wrap(safe_label(what, 240)), color))
        y -= 1
    for _, _, label, parts in spans:
        for a, b in parts:
            if broken and focus is not None and a < focus:
                axes[0].plot([a, min(b, focus)], [y, y], color="#c0392b", linewidth=5, solid_capstyle="round")
                if b >= focus:
                    axes[1].plot([focus, b], [y, y], color="#c0392b", linewidth=5, solid_capstyle="round")
            else:
                side(a).plot([a, b], [y, y], color="#c0392b", linewidth=5, solid_capstyle="round")
        rows.append((_wrap(safe_label(label, 240)), "#c0392b"))
        y -= 1
    for ax in axes:
        for yy in range(n):
            ax.axhline(yy, color="#eceff4", linewidth=0.6, zorder=0)
        loc = mdates.AutoDateLocator(minticks=2, maxticks=5 if broken else 7)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
        ax.grid(axis="x", color="#e5e9f0", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
    axes[0].set_yticks(list(range(n - 1, -1, -1)), [r[0] for r in rows])
    for tick, (_, color) in zip(axes[0].get_yticklabels(), rows):
        tick.set_color(color)
    axes[0].set_ylim(-0.7, n - 0.3)
    if broken and focus is not None:
        before = max(t for t in times if t < focus)
        pad = max((before - t0) * 0.06, timedelta(hours=6))
        axes[0].set_xlim(t0 - pad, min(before + pad, focus))
        pad2 = max((t1 - focus) * 0.04, timedelta(minutes=5))
        axes[1].set_xlim(focus, t1 + pad2)
        axes[1].tick_params(axis="y", left=False)
        for x in (1.0, 0.0):
            ax = axes[0] if x == 1.0 else axes[1]
            ax.plot(
                [x, x],
                [0, 1],
                transform=ax.transAxes,
                color="#b8bec8",
                linestyle=(0, (2, 2)),
                linewidth=1,
                clip_on=False,
            )
        axes[0].set_title("before", fontsize=8, color="#4c566a", loc="left")
        axes[1].set_title(
            f"from {focus:%Y-%m-%d %H:%M} (a day before the first failure)", fontsize=8, color="#4c566a", loc="left"
        )
    else:
        axes[0].margins(x=0.04)
    return _to_svg(fig, plt, "ct")
