"""The short terminal summary of a findings document (rich). Dump text is printed as plain text,
never interpreted as rich markup."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from forensics.render.view import history_rows, workload_label

_SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def print_summary(doc: dict[str, Any], console: Console | None = None, report_path: str | None = None) -> None:
    con = console or Console()
    d = doc["dump"]
    con.print(Text(f"cluster-forensics {doc['tool']['version']}  ·  {d['path']}  ·  {d['format']}", style="bold"))
    snaps = d.get("snapshots") or []
    con.print(Text(f"collected {d.get('collected_at') or 'unknown'}  ·  {len(snaps)} snapshot(s)  ·  "
                   f"{d['counts']['nodes']} nodes, {d['counts']['pods']} pods  ·  architectures: "
                   + ", ".join(f"{a} {n}" for a, n in doc["inventory"]["architectures"].items())))
    con.print()
    con.print(Text(doc["summary"]["verdict"]))
    con.print()
    fs = doc["findings"]
    if fs:
        t = Table(title="Findings", show_lines=False, expand=False)
        for col in ("severity", "cause", "workload", "pods", "restarts", "confidence", "contributing"):
            t.add_column(col)
        for f in fs:
            # a consequence is listed right after its cause, marked as following from it
            label = ("  ↳ " if f.get("caused_by") else "") + workload_label(f["workload"])
            t.add_row(Text(f["severity"], style=_SEV_STYLE.get(f["severity"], "")), Text(f["cause"]),
                      Text(label), str(len(f["pods"])), str(f["restarts"]),
                      f"{f['confidence']:.2f}", Text(", ".join(f["contributing"])))
        con.print(t)
    if doc.get("latent"):
        t = Table(title="Latent risks (healthy now, would fail if rescheduled)")
        for col in ("cause", "workload", "why"):
            t.add_column(col)
        for f in doc["latent"]:
            t.add_row(Text(f["cause"]), Text(workload_label(f["workload"])), Text(f["summary"]))
        con.print(t)
    hist = doc.get("restart_history") or []
    if hist:
        con.print(Text(f"Restart history (not failing now): {len(hist)} workload(s), e.g. "
                       + "; ".join(f"{h['workload']} {h['restarts']} restarts ({h['why']})"
                                   for h in history_rows(doc)[:3]), style="dim"))
    probs = doc.get("load_problems") or []
    failed = d.get("commands_failed") or []
    if probs or failed or doc.get("gaps"):
        con.print(Text("What the dump could not tell:", style="bold"))
        for p in probs[:10]:
            con.print(Text(f"  load problem: {p['file']}: {p['what']} ({p['why']})"))
        if len(probs) > 10:
            con.print(Text(f"  ... and {len(probs) - 10} more load problems"))
        for c in failed[:10]:
            argv = " ".join(map(str, c.get("argv") or []))
            con.print(Text(f"  failed command (exit {c.get('exit_code')}): {argv}"))
        for g in doc.get("gaps") or []:
            con.print(Text(f"  {g['what']}: {g['impact']}"))
    if report_path:
        con.print()
        con.print(Text(f"report written to {report_path}", style="bold green"))
