"""The post-mortem as Markdown (GitHub/GitLab/Jira-flavoured CommonMark), to paste into a ticket.

Same sections and caps as the HTML report, made from the findings document alone. Dump text is
hostile to Markdown as much as to HTML: a pipe would split a table cell, a backtick run would end a
code span, `<script>` would pass through many renderers as raw HTML. So plain text has every
Markdown punctuation character backslash-escaped, code spans and fences are made longer than any
backtick run inside them, and table cells never hold a newline.
"""

from __future__ import annotations

import re
from typing import Any

from forensics.render import view

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#!|~&$])")
_LINE_START = re.compile(r"^(\d+)([.)])|^([-+=])")
_NEWLINES = re.compile(r"[\r\n\u2028\u2029]+")
# C0/C1 controls (ANSI escapes, NUL) and bidi overrides would garble a ticket; shown as U+FFFD
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _clean(s: Any) -> str:
    return _CONTROLS.sub("\ufffd", "" if s is None else str(s))


def esc(s: Any, block: bool = False) -> str:
    """Plain text for a table cell or inline use: one line, every Markdown character literal.
    `block=True` when the text starts a line (then "1." or "-" must not start a list)."""
    text = _MD_SPECIAL.sub(r"\\\1", _NEWLINES.sub(" ", _clean(s)).strip())
    if not block:
        return text
    # a leading "1." or "-" would start a list, "=" a setext heading
    return _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else f"\\{m.group(3)}", text)


def code(s: Any, cell: bool = False) -> str:
    """An inline code span that no backtick run in `s` can close; `cell=True` escapes pipes for a
    GFM table (the only escape GFM honours inside a code span in a table)."""
    text = _NEWLINES.sub(" ", _clean(s))
    if not text:
        return ""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith("`") else ""
    if cell:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def fence(s: Any, lang: str = "") -> str:
    """A fenced code block that no backtick line in `s` can close."""
    text = _clean(s).rstrip("\n")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    f = "`" * max(3, longest + 1)
    return f"{f}{lang}\n{text}\n{f}"


def table(head: list[str], rows: list[list[str]]) -> str:
    """A GFM table; cells must already be escaped (esc/code)."""
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(c if c else " " for c in r) + " |" for r in rows]
    return "\n".join(out)


def _more(n: int, what: str) -> list[str]:
    return [f"_… and {n:,} more {what} (all of them are in the JSON findings document)._", ""] if n else []


def _finding(
    f: dict[str, Any], platforms: list[Any], level: str = "###", by_id: dict[str, dict[str, Any]] | None = None
) -> list[str]:
    out = [f"{level} {esc(view.workload_label(f.get('workload')))}: {esc(view.cause_title(f.get('cause')))}", ""]
    links = view.causal_links(f, by_id or {})
    if links["cause"]:
        out += [f"Consequence of: {esc(links['cause']['label'])}", ""]
    out += [
        (
            f"**{esc(str(f.get('severity', '')).upper())}** · cause {code(f.get('cause'))} · confidence "
            f"{view.pct(f.get('confidence'))} · {len(f.get('pods') or [])} pod(s) on {len(f.get('nodes') or [])} "
            f"node(s) ({esc(', '.join(map(str, f.get('node_archs') or [])) or '?')}) · {f.get('restarts', 0)} restarts "
            f"· first {esc(view.fmt_time(f.get('first_seen')))} · last {esc(view.fmt_time(f.get('last_seen')))}"
        ),
        "",
    ]
    out += [esc(f.get("summary"), block=True), ""]
    if f.get("contributing"):
        out += ["Also holds: " + ", ".join(code(c) for c in f["contributing"]), ""]
    if links["consequences"]:
        out += ["Causes: " + "; ".join(esc(c["label"]) for c in links["consequences"]), ""]
    if links["takes_down"]:
        out += ["Takes down: " + ", ".join(esc(x) for x in links["takes_down"]), ""]
    by_arch = view.matrix_by_arch(f.get("restart_matrix") or [])
    if by_arch:
        out += [
            "**Restarts by node architecture**",
            "",
            table(
                ["arch", "nodes", "pods", "failing", "running", "restarts"],
                [
                    [
                        esc(r["arch"]),
                        str(r["nodes"]),
                        str(r["pods"]),
                        str(r["failing"]),
                        str(r["running"]),
                        str(r["restarts"]),
                    ]
                    for r in by_arch
                ],
            ),
            "",
        ]
    images = [im for im in f.get("images") or [] if isinstance(im, dict)]
    if images:
        head = ["image", "published as", "platforms"] + [esc(p.short) + " node" for p in platforms]
        rows = []
        for im in images:
            sup = view.image_support(im, platforms)
            kind = view.image_kind_label(im) + (
                f" {code(im.get('media_type'), cell=True)}" if im.get("media_type") else ""
            )
            if im.get("attestations"):
                kind += f" \\+ {im['attestations']} attestation(s)"
            plats = (
                "not inspected"
                if im.get("inspected") is False
                else ", ".join(code(p, cell=True) for p in im.get("platforms") or []) or "none recorded"
            )
            rows.append(
                [
                    code(im.get("ref"), cell=True)
                    + (f" {code(view.short_digest(im.get('digest')), cell=True)}" if im.get("digest") else ""),
                    kind,
                    plats,
                ]
                + ["?" if s["runs"] is None else ("runs" if s["runs"] else "**cannot run**") for s in sup]
            )
        out += ["**Image platforms against the cluster's architectures**", "", table(head, rows), ""]
    tl = [e for e in f.get("timeline") or [] if isinstance(e, dict)]
    if tl:
        out += ["**Timeline**", ""]
        out += [f"- {esc(view.fmt_time(e.get('at')))}: {esc(e.get('what'))}" for e in tl[: view.CAP_NAMES]]
        out += [""] + _more(max(0, len(tl) - view.CAP_NAMES), "events")
    groups, more = view.group_evidence(f.get("evidence"))
    if groups:
        rows = []
        for g in groups:
            w = g["where"][0]
            where = code(str(w.get("file") or "") + (f":{w['line']}" if w.get("line") else ""), cell=True)
            extra = g["count"] - 1
            rows.append(
                [
                    esc(g["kind"]) + (f" ×{g['count']}" if g["count"] > 1 else ""),
                    code(g["text"], cell=True)
                    if g["kind"] in ("log", "event", "termination-message", "waiting-message")
                    else esc(g["text"]),
                    esc(w.get("object")),
                    where + (f" and {extra} more" if extra else ""),
                    code(g["supports"], cell=True) if g.get("supports") else "",
                ]
            )
        out += [
            f"**Evidence** ({len(f.get('evidence') or [])} items)",
            "",
            table(["kind", "fact", "object", "file", "supports"], rows),
            "",
        ] + _more(more, "kinds of evidence")
    if f.get("missing_evidence"):
        out += ["**Missing evidence**", ""]
        for m in f["missing_evidence"]:
            if isinstance(m, dict):
                out.append(
                    f"- **{esc(m.get('what'))}**: {esc(m.get('why'))}."
                    + (f" How to collect: {code(m.get('how'))}" if m.get("how") else "")
                )
        out.append("")
    if f.get("remediation"):
        out += ["**Remediation**", ""]
        for i, r in enumerate(x for x in f["remediation"] if isinstance(x, dict)):
            out.append(f"{i + 1}. \\[{esc(r.get('kind'))}\\] {esc(r.get('title'))}")
            if r.get("command"):
                out += ["", "\n".join("   " + line if line else "" for line in fence(r["command"], "sh").split("\n"))]
            out.append("")
    return out


def render_markdown(doc: dict[str, Any]) -> str:
    """The report as Markdown (a string)."""
    dump = doc.get("dump") or {}
    summary = doc.get("summary") or {}
    inv = doc.get("inventory") or {}
    counts = dump.get("counts") or {}
    findings = [f for f in doc.get("findings") or [] if isinstance(f, dict)]
    latent = [f for f in doc.get("latent") or [] if isinstance(f, dict)]
    platforms = view.cluster_platforms(doc)
    cluster = dump.get("cluster") or {}
    name = str(cluster.get("context") or dump.get("path") or "cluster")
    out = [
        f"# Cluster post-mortem: {esc(name)}",
        "",
        (
            f"Collected {esc(view.fmt_time(dump.get('collected_at')))} · "
            f"{len(dump.get('snapshots') or [])} snapshot(s) · "
            f"{view.counted(counts.get('nodes'), 'node')}, {view.counted(counts.get('pods'), 'pod')} · "
            f"{esc((doc.get('tool') or {}).get('name'))} {esc((doc.get('tool') or {}).get('version'))}"
        ),
        "",
    ]

    out += ["## 1. Verdict", "", esc(summary.get("verdict") or "No failing workloads found.", block=True), ""]
    raw_answer = summary.get("architecture")
    answer: dict[str, Any] = raw_answer if isinstance(raw_answer, dict) else {}
    if answer.get("answer") in ("no", "partly", "unknown") and answer.get("sentence"):
        out += [f"**{esc(answer['sentence'])}**", ""]
    if findings:
        out += [
            table(
                [
                    "failing workloads",
                    "failing pods",
                    "nodes involved",
                    "restarts of failing workloads",
                    "first failure",
                ],
                [
                    [
                        str(summary.get("failing_workloads", "")),
                        f"{summary.get('failing_pods', '')} of {counts.get('pods', '?')}",
                        f"{summary.get('affected_nodes', '')} of {counts.get('nodes', '?')}",
                        str(summary.get("restarts", "")),
                        esc(view.fmt_time(summary.get("first_failure"))),
                    ]
                ],
            ),
            "",
        ]
        out += ["Root causes:", ""]
        for c in summary.get("causes") or []:
            if isinstance(c, dict):
                out.append(
                    f"- **{esc(view.cause_title(c.get('cause')))}** ({code(c.get('cause'))}, {c.get('findings')} "
                    f"workload(s), confidence {view.pct(c.get('max_confidence'))}): {esc(c.get('sentence'))}"
                )
        out.append("")
    if latent:
        out += [f"Also: {len(latent)} workload(s) healthy now would fail if rescheduled (section 4).", ""]

    out += ["## 2. Architecture inventory", ""]
    archs = inv.get("architectures") or {}
    out += [", ".join(f"**{esc(a)}**: {n} node(s)" for a, n in archs.items()) or "No nodes in the dump.", ""]
    pools = [p for p in inv.get("pools") or [] if isinstance(p, dict)]
    if pools:
        out += [
            table(
                ["node pool", "arch", "instance types", "nodes", "ready", "first created", "last created"],
                [
                    [
                        esc(p.get("pool")),
                        esc(p.get("arch")),
                        esc(", ".join(map(str, p.get("instance_types") or []))),
                        str(p.get("nodes", "")),
                        str(p.get("ready", "")),
                        esc(view.fmt_time(p.get("first_created"))),
                        esc(view.fmt_time(p.get("last_created"))),
                    ]
                    for p in pools[: view.CAP_TABLE]
                ],
            ),
            "",
        ]

    arch_f = [f for f in findings if view.is_arch(f.get("cause"))]
    other_f = [f for f in findings if not view.is_arch(f.get("cause"))]
    out += ["## 3. Findings: architecture", ""]
    shown, more = view.capped(arch_f, view.CAP_CARDS)
    for f in shown:
        out += _finding(f, platforms)
    out += _more(more, "architecture findings") if arch_f else ["No architecture problem found.", ""]

    out += ["## 4. Latent risks", ""]
    if latent:
        out += [
            "Healthy today, would fail if rescheduled onto nodes of another architecture.",
            "",
            _summary_table(latent[: view.CAP_TABLE]),
            "",
        ] + _more(max(0, len(latent) - view.CAP_TABLE), "latent risks")
        shown, more = view.capped(latent, 5)
        for f in shown:
            out += _finding(f, platforms, "###")
    else:
        out += ["No latent architecture risk found.", ""]

    out += ["## 5. Findings: other restart causes", ""]
    if other_f:
        out += [_summary_table(other_f[: view.CAP_TABLE]), ""] + _more(
            max(0, len(other_f) - view.CAP_TABLE), "findings"
        )
        shown, more = view.capped(other_f, 10)
        by_id = {str(f.get("id")): f for f in findings}
        for f in shown:
            out += _finding(f, platforms, "###", by_id)
        out += _more(more, "detailed findings")
    else:
        out += ["No other restart cause found.", ""]
    hist = view.history_rows(doc)
    if hist:
        out += [
            "### Restart history (not failing now)",
            "",
            "Restarts that are over: the containers run since. Not findings; listed so that nothing is hidden.",
            "",
            table(
                ["workload", "restarts", "last termination", "when", "why"],
                [[esc(h["workload"]), str(h["restarts"]), esc(h["last"]), esc(h["when"]), esc(h["why"])] for h in hist],
            ),
            "",
        ]

    out += ["## 6. What the dump could not tell us", ""]
    gaps = view.gaps(doc, relevant=True)
    others = view.gaps(doc, relevant=False)
    problems, pmore = view.capped(doc.get("load_problems"), view.CAP_PROBLEMS)
    failed, fmore = view.capped(dump.get("commands_failed"), view.CAP_PROBLEMS)
    if not (gaps or problems or failed):
        out += ["Nothing: every expected part of the dump was present and readable.", ""]
    if gaps:
        out += [
            table(
                ["not in the dump", "what that means for the findings"],
                [[esc(g.get("what")), esc(g.get("impact"))] for g in gaps],
            ),
            "",
        ]
    if others:
        out += [
            f"_{len(others)} other gap(s) in the dump do not affect these findings: "
            + esc("; ".join(str(g.get("what")) for g in others))
            + "._",
            "",
        ]
    if problems:
        out += [
            "Files that could not be read (skipped; the rest was analyzed):",
            "",
            table(
                ["file", "problem", "why"],
                [
                    [code(p.get("file"), cell=True), esc(p.get("what")), esc(p.get("why"))]
                    for p in problems
                    if isinstance(p, dict)
                ],
            ),
            "",
        ] + _more(pmore, "load problems")
    if failed:
        out += [
            "Collection commands that failed (what they would have collected is absent):",
            "",
            table(
                ["command", "exit", "error"],
                [
                    [
                        code(view.argv_text(c.get("argv")), cell=True),
                        esc(c.get("exit_code")),
                        code(str(c.get("stderr") or "").strip(), cell=True),
                    ]
                    for c in failed
                    if isinstance(c, dict)
                ],
            ),
            "",
        ] + _more(fmore, "failed commands")

    out += ["## 7. Dump metadata", ""]
    collector = dump.get("collector") or {}
    out += [
        f"- Dump: {code(dump.get('path'))} ({esc(dump.get('format'))})",
        f"- Collected at: {esc(view.fmt_time(dump.get('collected_at')))}"
        + (" (derived from the newest timestamp inside)" if dump.get("collected_at_derived") else ""),
        f"- Cluster: {code(cluster.get('context')) or 'not recorded'}"
        + (f" at {code(cluster.get('server'))}" if cluster.get("server") else ""),
        f"- Collector: {esc(collector.get('name') or 'not recorded')} {esc(collector.get('version') or '')}".rstrip(),
        "- Snapshots: "
        + (
            ", ".join(
                f"{code(s.get('name'))} ({esc(view.fmt_time(s.get('observed_at')))})"
                for s in dump.get("snapshots") or []
                if isinstance(s, dict)
            )
            or "none"
        ),
        f"- Commands: {len(dump.get('commands') or [])} run, {len(dump.get('commands_failed') or [])} failed",
        "",
    ]
    files, more = view.capped(dump.get("files"), view.CAP_FILES)
    if files:
        sums = sum(1 for fi in files if isinstance(fi, dict) and fi.get("sha256"))
        if sums:
            out += [
                (
                    f"<details><summary>Files read ({len(files) + more}), with the SHA-256 the collector recorded for "
                    f"{sums}</summary>"
                ),
                "",
                table(
                    ["file", "size", "sha256 (recorded by the collector)"],
                    [
                        [
                            code(fi.get("path"), cell=True),
                            str(fi.get("size", "")),
                            code(fi.get("sha256"), cell=True) or "not recorded",
                        ]
                        for fi in files
                        if isinstance(fi, dict)
                    ],
                ),
                "",
            ]
        else:
            out += [
                f"<details><summary>Files read ({len(files) + more})</summary>",
                "",
                table(
                    ["file", "size"],
                    [
                        [code(fi.get("path"), cell=True), str(fi.get("size", ""))]
                        for fi in files
                        if isinstance(fi, dict)
                    ],
                ),
                "",
            ]
        out += _more(more, "files") + ["</details>", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _summary_table(fs: list[dict[str, Any]]) -> str:
    return table(
        ["severity", "cause", "workload", "pods", "restarts", "confidence"],
        [
            [
                esc(f.get("severity")),
                code(f.get("cause"), cell=True),
                esc(view.workload_label(f.get("workload"))),
                str(len(f.get("pods") or [])),
                str(f.get("restarts", 0)),
                view.pct(f.get("confidence")),
            ]
            for f in fs
        ],
    )
