"""The short terminal summary of a findings document (rich).

Two readers: a person at a terminal, and a file or pipe (`forensics analyze X > ticket.txt`). In a
terminal, long tables are capped ("and N more (see the report)") and columns may wrap; anywhere
else nothing is ever cut: cause ids, workload names and numbers are printed whole, tables as wide
as their content. Dump text is printed as plain text (never rich markup) with its control
characters neutralised (forensics.render.text).
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from forensics.render import view
from forensics.render.text import neutral

_SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
CAP_ROWS = 10  # table rows shown in a terminal
CAP_LINES = 8  # "could not tell" lines shown in a terminal
NEXT_STEPS = 3  # findings whose first remediation is printed


def _t(value: Any, style: str = "") -> Text:
    return Text(neutral(value), style=style)


def _console(console: Console | None) -> tuple[Console, bool]:
    if console is not None:
        return console, console.is_terminal
    probe = Console()
    if probe.is_terminal:
        return probe, True
    # not a terminal: no wrapping, no cutting; lines are as long as they need to be
    return Console(width=100_000, no_color=True, highlight=False, soft_wrap=True), False


def print_summary(doc: dict[str, Any], console: Console | None = None, report_path: str | None = None) -> None:
    con, tty = _console(console)
    d = doc.get("dump") or {}
    summary = doc.get("summary") or {}
    counts = d.get("counts") or {}
    tool = doc.get("tool") or {}
    con.print(
        _t(f"cluster-forensics {tool.get('version', '')}  ·  {d.get('path')}  ·  {d.get('format')}", "bold"),
        soft_wrap=not tty,
    )
    snaps = d.get("snapshots") or []
    archs = (doc.get("inventory") or {}).get("architectures") or {}
    con.print(
        _t(
            f"collected {d.get('collected_at') or 'unknown'}  ·  {len(snaps)} snapshot(s)  ·  "
            f"{view.counted(counts.get('nodes', 0), 'node')}, {view.counted(counts.get('pods', 0), 'pod')}"
            "  ·  architectures: " + (", ".join(f"{a} {n}" for a, n in archs.items()) or "unknown")
        ),
        soft_wrap=not tty,
    )
    con.print()
    con.print(_t(summary.get("verdict")), soft_wrap=not tty)
    arch_sentence = (summary.get("architecture") or {}).get("sentence")
    if arch_sentence and (summary.get("architecture") or {}).get("answer") in ("no", "partly", "unknown"):
        con.print()
        con.print(_t(arch_sentence, "bold"), soft_wrap=not tty)
    con.print()
    fs = [f for f in doc.get("findings") or [] if isinstance(f, dict)]
    if fs:
        if tty:
            _finding_list(con, fs)
        else:
            contributing = any(f.get("contributing") for f in fs)
            head = ("severity", "cause", "workload", "pods", "restarts", "confidence", "first failure") + (
                ("contributing",) if contributing else ()
            )
            _table(
                con,
                tty,
                "Findings",
                head,
                [
                    [
                        _t(f.get("severity")),
                        _t(f.get("cause")),
                        _t(("↳ " if f.get("caused_by") else "") + view.workload_label(f.get("workload"))),
                        str(len(f.get("pods") or [])),
                        str(f.get("restarts", 0)),
                        view.pct(f.get("confidence")),
                        _t(view.fmt_time(f.get("first_seen"))),
                    ]
                    + ([_t(", ".join(map(str, f.get("contributing") or [])))] if contributing else [])
                    for f in fs
                ],
                "findings",
            )
        _next_steps(con, tty, fs)
    latent = [f for f in doc.get("latent") or [] if isinstance(f, dict)]
    if latent and tty:
        con.print(_t("Latent risks (healthy now, would fail if rescheduled)", "bold"))
        for f in latent[:CAP_ROWS]:
            con.print(_t(f"  {f.get('cause')}  {view.workload_label(f.get('workload'))}"), overflow="fold")
            con.print(_t(f"          {f.get('summary')}", "dim"), overflow="fold")
        if len(latent) > CAP_ROWS:
            con.print(_t(f"  … and {len(latent) - CAP_ROWS} more latent risks (see the report)"))
        con.print()
    elif latent:
        _table(
            con,
            tty,
            "Latent risks (healthy now, would fail if rescheduled)",
            ("cause", "workload", "why"),
            [[_t(f.get("cause")), _t(view.workload_label(f.get("workload"))), _t(f.get("summary"))] for f in latent],
            "latent risks",
        )
    hist = view.history_rows(doc)
    if hist:
        con.print(
            _t(
                f"Restart history (not failing now): {len(hist)} workload(s), e.g. "
                + "; ".join(f"{h['workload']} {h['restarts']} restarts ({h['why']})" for h in hist[:3]),
                "dim",
            ),
            soft_wrap=not tty,
        )
        con.print()
    _limits(con, tty, doc)
    if report_path:
        con.print()
        con.print(_t(f"report written to {report_path}", "bold green"), soft_wrap=not tty)


def _finding_list(con: Console, fs: list[dict[str, Any]]) -> None:
    """Findings in a terminal: two lines each, wrapped by the terminal's width, never cut."""
    con.print(_t("Findings", "bold"))
    for f in fs[:CAP_ROWS]:
        sev = str(f.get("severity") or "")
        line = Text("  ")
        line.append(neutral(sev).ljust(8), style=_SEV_STYLE.get(sev, ""))
        line.append(neutral(f.get("cause")), style="bold")
        # a consequence follows its cause, marked as following from it
        line.append(("  ↳ " if f.get("caused_by") else "  ") + neutral(view.workload_label(f.get("workload"))))
        con.print(line, overflow="fold")
        facts = (
            f"{len(f.get('pods') or [])} pod(s) · {f.get('restarts', 0)} restarts · confidence "
            f"{view.pct(f.get('confidence'))} · first failure {view.fmt_time(f.get('first_seen'))}"
        )
        if f.get("contributing"):
            facts += " · also " + ", ".join(map(str, f.get("contributing") or []))
        con.print(Text("          " + neutral(facts), style="dim"), overflow="fold")
    if len(fs) > CAP_ROWS:
        con.print(_t(f"  … and {len(fs) - CAP_ROWS} more findings (see the report)"))
    con.print()


def _table(con: Console, tty: bool, title: str, head: tuple[str, ...], rows: list[list[Any]], what: str) -> None:
    if not tty:
        con.print(_plain_table(title, head, rows), end="", soft_wrap=True, markup=False, highlight=False)
        return
    shown = rows[:CAP_ROWS]
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD if tty else box.ASCII2, expand=False)
    for col in head:
        # in a terminal long cells fold onto the next line; nothing is ever cut with an ellipsis
        t.add_column(col, overflow="fold", no_wrap=not tty)
    for r in shown:
        t.add_row(*r)
    con.print(t)
    if len(rows) > len(shown):
        con.print(_t(f"  … and {len(rows) - len(shown)} more {what} (see the report)"))


def _plain_table(title: str, head: tuple[str, ...], rows: list[list[Any]]) -> Text:
    """The whole table in rich's ASCII2 layout, written directly: every row, no cell cut. Laying out
    thousands of rows through `rich.table` takes seconds; this is one pass over the cells."""
    cells = [[c.plain if isinstance(c, Text) else neutral(c) for c in r] for r in rows]
    widths = [max([cell_len(h), *(cell_len(r[i]) for r in cells)]) for i, h in enumerate(head)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(values: list[str] | tuple[str, ...]) -> str:
        return "|" + "|".join(f" {v}{' ' * (w - cell_len(v))} " for v, w in zip(values, widths)) + "|"

    return Text("\n".join([title, rule, line(head), rule, *(line(r) for r in cells), rule]) + "\n")


def _next_steps(con: Console, tty: bool, fs: list[dict[str, Any]]) -> None:
    lines: list[tuple[str, str, str]] = []
    for f in fs[:NEXT_STEPS]:
        steps = [r for r in f.get("remediation") or [] if isinstance(r, dict)]
        step = next((r for r in steps if r.get("command")), steps[0] if steps else None)
        if step is None:
            continue
        lines.append(
            (view.workload_label(f.get("workload")), str(step.get("title") or ""), str(step.get("command") or ""))
        )
    if not lines:
        return
    con.print(_t("Next steps:", "bold"))
    for wl, title, command in lines:
        con.print(_t(f"  {wl}: {title}"), soft_wrap=not tty)
        cmd_lines = neutral(command, newlines=True).strip("\n").split("\n")
        if tty and len(cmd_lines) > 6:
            cmd_lines = cmd_lines[:6] + ["… (the full command is in the report)"]
        for line in cmd_lines:
            if line.strip():
                con.print(Text(f"      {line}", style="cyan" if tty else ""), soft_wrap=not tty)
    if len(fs) > NEXT_STEPS:
        con.print(_t(f"  (the remediation of the other {len(fs) - NEXT_STEPS} finding(s) is in the report)"))
    con.print()


def _limits(con: Console, tty: bool, doc: dict[str, Any]) -> None:
    d = doc.get("dump") or {}
    lines: list[str] = []
    for p in doc.get("load_problems") or []:
        if isinstance(p, dict):
            lines.append(f"load problem: {p.get('file')}: {p.get('what')} ({p.get('why')})")
    for c in d.get("commands_failed") or []:
        if isinstance(c, dict):
            lines.append(f"failed command (exit {c.get('exit_code')}): {view.argv_text(c.get('argv'))}")
    for g in doc.get("gaps") or []:
        if isinstance(g, dict) and g.get("relevant", True):
            lines.append(f"{g.get('what')}: {g.get('impact')}")
    if not lines:
        return
    con.print(_t("What the dump could not tell:", "bold"))
    shown = lines[:CAP_LINES] if tty else lines
    for line in shown:
        con.print(_t(f"  {line}"), soft_wrap=not tty)
    if len(lines) > len(shown):
        con.print(_t(f"  … and {len(lines) - len(shown)} more (see the report)"))
