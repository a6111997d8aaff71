"""The `forensics` command. Errors from the exception tree become one line on stderr and exit 2;
the only tracebacks shown are for bugs, and only with FORENSICS_DEBUG=1."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from forensics.errors import ForensicsError, ManifestError, UnusableInput
from forensics.findings import SEVERITIES, severity_rank

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Offline forensic analysis of Kubernetes cluster dumps: why are pods crash-looping?")


class Format(str, Enum):
    html = "html"
    json = "json"
    md = "md"


def _load(path: Path, images: Path | None = None) -> Any:
    from forensics.formats import load_any

    return load_any(path, images=images)


def _render(doc: dict[str, Any], fmt: Format) -> str:
    if fmt is Format.json:
        return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"
    if fmt is Format.md:
        from forensics.render.markdown import render_markdown

        return render_markdown(doc)
    from forensics.render.html import render_html

    return render_html(doc)


def _write(text: str, out: Path) -> None:
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise ForensicsError(f"cannot write {out}: {e.strerror or e}") from None


def _exit_for(doc: dict[str, Any], fail_on: str | None) -> int:
    if not fail_on:
        return 0
    bar = severity_rank(fail_on)
    return 1 if any(severity_rank(f["severity"]) >= bar for f in doc["findings"]) else 0


@app.command()
def analyze(
    dump: Annotated[Path, typer.Argument(help="dump directory or archive (.tar.gz/.tgz/.tar/.tar.zst)")],
    format: Annotated[Format | None, typer.Option("--format", "-f", help="html, json or md")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here (default: stdout for "
                                                   "json/md, ./forensics-report-<dump>.html for html)")] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="exit 1 when a finding is at or above: "
                                                   + ", ".join(SEVERITIES))] = None,
    images: Annotated[Path | None, typer.Option("--images", help="add image inspections (an images/ folder "
                                                   "in dump format v1) to any dump")] = None,
) -> None:
    """Analyze a dump: the root cause of each failing workload, with evidence and remediation."""
    if fail_on is not None and fail_on not in SEVERITIES:
        raise ForensicsError(f"--fail-on must be one of {', '.join(SEVERITIES)}")
    from forensics.analyze import analyze as run

    fmt = format
    if fmt is None and output is not None:
        fmt = {".json": Format.json, ".md": Format.md}.get(output.suffix.lower(), Format.html)
    doc = run(_load(dump, images))
    if fmt is None:
        from forensics.render.terminal import print_summary

        out = Path.cwd() / f"forensics-report-{_stem(dump)}.html"
        _write(_render(doc, Format.html), out)
        print_summary(doc, report_path=str(out))
    elif output is None:
        sys.stdout.write(_render(doc, fmt))
    else:
        _write(_render(doc, fmt), output)
        typer.echo(f"wrote {output}", err=True)
    raise typer.Exit(_exit_for(doc, fail_on))


def _stem(p: Path) -> str:
    name = p.name
    for suf in (".tar.gz", ".tar.zst", ".tgz", ".tar"):
        if name.endswith(suf):
            return name[: -len(suf)]
    return name or "dump"


@app.command()
def render(
    findings: Annotated[Path, typer.Argument(help="a findings JSON document (forensics analyze --format json)")],
    output: Annotated[Path, typer.Option("--output", "-o")],
    format: Annotated[Format | None, typer.Option("--format", "-f")] = None,
) -> None:
    """Rebuild a report from a saved findings JSON document."""
    try:
        doc = json.loads(findings.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UnusableInput(f"{findings}: not a findings document ({e})") from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith("cluster-forensics-findings/"):
        raise UnusableInput(f"{findings}: not a findings document (no cluster-forensics-findings schema)")
    fmt = format or {".json": Format.json, ".md": Format.md}.get(output.suffix.lower(), Format.html)
    _write(_render(doc, fmt), output)


@app.command()
def frames(
    dump: Annotated[Path, typer.Argument(help="dump directory or archive")],
    parquet: Annotated[Path | None, typer.Option("--parquet", help="write every frame as DIR/<frame>.parquet")] = None,
    images: Annotated[Path | None, typer.Option("--images")] = None,
) -> None:
    """Load a dump into the analysis frames; print their shapes, or write them as Parquet."""
    d = _load(dump, images)
    if parquet is not None:
        parquet.mkdir(parents=True, exist_ok=True)
        for name, f in d.frames.items():
            f.to_parquet(parquet / f"{name}.parquet", index=False)
    for name, f in d.frames.items():
        typer.echo(f"{name:16} {len(f):>9} rows  {len(f.columns):>3} columns"
                   + (f"  -> {parquet / (name + '.parquet')}" if parquet is not None else ""))
    for p in d.problems:
        typer.echo(f"load problem: {p.file}: {p.what} ({p.why})", err=True)


@app.command()
def platforms(
    inspection: Annotated[Path, typer.Argument(help="a manifest-inspection output file, or an images/<slug>/ folder")],
    require: Annotated[str | None, typer.Option("--require", help="comma-separated platforms, e.g. "
                                                   "linux/amd64,linux/arm64")] = None,
) -> None:
    """Print an image's runnable platforms; with --require, exit 1 naming the missing ones (for CI)."""
    from forensics.arch import parse_platform
    from forensics.platforms_check import check_required, load_inspection_path

    try:
        insp = load_inspection_path(inspection)
    except ManifestError as e:
        raise UnusableInput(f"{inspection}: {e}") from None
    kind = "index" if insp.kind == "index" else "single-platform manifest"
    typer.echo(f"{inspection}: {kind} ({insp.media_type or insp.source_format})")
    for p in insp.platforms:
        typer.echo(f"  {p.platform}" + (f"  {p.digest}" if p.digest else ""))
    if insp.attestations:
        typer.echo(f"  ({insp.attestations} attestation/unknown entries not counted)")
    for w in insp.warnings:
        typer.echo(f"warning: {w}", err=True)
    if require:
        try:
            wanted = [parse_platform(x) for x in require.split(",") if x.strip()]
        except ValueError as e:
            raise ForensicsError(f"--require: {e}") from None
        missing = check_required(insp, wanted)
        if missing:
            typer.echo(f"MISSING platforms: {', '.join(str(m) for m in missing)}", err=True)
            raise typer.Exit(1)
        typer.echo("all required platforms present")


@app.command()
def serve(
    dumps: Annotated[list[str], typer.Argument(help="dumps, any format analyze reads; NAME=PATH names the kube "
                                                    "context, PATH@SNAPSHOT picks a snapshot")],
    port: Annotated[int, typer.Option("--port", help="0 picks free ports (several dumps: N, N+1, ...)")] = 0,
    snapshot: Annotated[str | None, typer.Option("--snapshot", help="snapshot folder name (default: the last)")] = None,
    all_snapshots: Annotated[bool, typer.Option("--all-snapshots", help="serve every snapshot, one context "
                                                                        "each")] = False,
    kubeconfig_out: Annotated[Path | None, typer.Option("--kubeconfig-out", help="write a kubeconfig here")] = None,
) -> None:
    """Answer the Kubernetes API from dumps on 127.0.0.1, read-only, for the real kubectl: one kube
    context per dump (or snapshot)."""
    from forensics.serve_many import serve_many

    if snapshot is not None:
        if len(dumps) != 1:
            raise ForensicsError("--snapshot takes one dump; with several, write PATH@SNAPSHOT")
        dumps = [f"{dumps[0]}@{snapshot}"]

    def ready(contexts: list[Any], text: str) -> None:
        for c in contexts:
            typer.echo(f"serving {c.path} @ {c.snapshot} on {c.url} as context {c.name} (read-only)", err=True)
        typer.echo("Ctrl-C to stop", err=True)
        if kubeconfig_out is None:
            typer.echo(text)
        else:
            typer.echo(f"kubeconfig written to {kubeconfig_out}: KUBECONFIG={kubeconfig_out} kubectl "
                       f"--context {contexts[0].name} get pods -A", err=True)
        sys.stdout.flush()

    serve_many(dumps, all_snapshots=all_snapshots, port=port, ready=ready, kubeconfig_out=kubeconfig_out)


class DiffFormat(str, Enum):
    text = "text"
    html = "html"
    json = "json"
    md = "md"


@app.command("diff")
def diff_cmd(
    old: Annotated[str, typer.Argument(help="the earlier dump, any format; PATH@SNAPSHOT for one snapshot "
                                            "(name, or index: @0 oldest, @-1 newest)")],
    new: Annotated[str | None, typer.Argument(help="the later dump (default: OLD's newest snapshot, OLD "
                                                   "then meaning its oldest)")] = None,
    format: Annotated[DiffFormat | None, typer.Option("--format", "-f", help="text, json, html or md")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here (format from the suffix)")] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="new: exit 1 when a finding is new in NEW")] = None,
    force: Annotated[bool, typer.Option("--force", help="compare dumps that look like different clusters")] = False,
) -> None:
    """What changed between two dumps of one cluster: nodes, images, workloads, findings."""
    from forensics.diff import diff_dumps
    from forensics.dumpspec import DumpSpec, at_snapshot, load_spec, parse_spec, pick_snapshot
    from forensics.render import multi

    if fail_on is not None and fail_on != "new":
        raise ForensicsError("--fail-on must be: new")
    a = parse_spec(old)
    if new is None:
        whole = load_spec(DumpSpec(a.path))
        if len(whole.snapshots) < 2:
            raise UnusableInput(f"{a.path}: one snapshot only; name the dump to compare it with (forensics diff "
                                "OLD NEW)")
        first = pick_snapshot(whole.snapshots, a.snapshot or "first", str(a.path))
        a, b = DumpSpec(a.path, first), DumpSpec(a.path, whole.snapshots[-1])
        dumps = at_snapshot(whole, first), at_snapshot(whole, whole.snapshots[-1])
    else:
        b = parse_spec(new)
        dumps = load_spec(a), load_spec(b)
    doc = diff_dumps(*dumps, force=force, labels=(str(a), str(b)))
    fmt = format
    if fmt is None:
        fmt = {".json": DiffFormat.json, ".md": DiffFormat.md, ".html": DiffFormat.html,
               ".htm": DiffFormat.html}.get(output.suffix.lower(), DiffFormat.text) if output else DiffFormat.text
    text = {DiffFormat.json: lambda d: json.dumps(d, indent=2, ensure_ascii=False, default=str) + "\n",
            DiffFormat.md: multi.diff_markdown, DiffFormat.html: multi.diff_html,
            DiffFormat.text: multi.diff_text}[fmt](doc)
    if output is None:
        sys.stdout.write(text)
    else:
        _write(text, output)
        typer.echo(f"wrote {output}", err=True)
    raise typer.Exit(1 if fail_on == "new" and doc["findings"]["new"] else 0)


_SCHEDULER_TIMEOUT = "5s"


@app.command("fleet")
def fleet_cmd(
    dumps: Annotated[list[Path], typer.Argument(help="dumps (directories or archives, any format)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the fleet folder: Parquet dataset, reports, "
                                                              "fleet.html/.md/.json")],
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="address of a running Dask scheduler "
                                                                      "(default: a local cluster)")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="local workers (default: one per "
                                                                         "core)")] = None,
) -> None:
    """Analyze many dumps in parallel on Dask into one Parquet dataset and a fleet summary."""
    from forensics.fleet import local_client, run_fleet

    try:
        from dask.distributed import Client
    except ImportError:
        raise ForensicsError("forensics fleet needs Dask: pip install 'cluster-forensics[fleet]'") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout=_SCHEDULER_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as e:
            raise ForensicsError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
    else:
        client = local_client(workers)

    def progress(status: str, entry: dict[str, Any]) -> None:
        reason = f": {entry['reason']}" if entry.get("reason") else ""
        typer.echo(f"{status:10} {entry['source_path']}{reason}", err=True)

    try:
        summary = run_fleet([str(d) for d in dumps], output, client=client, progress=progress)
    finally:
        cluster = getattr(client, "cluster", None) if not scheduler else None
        client.close()
        if cluster is not None:
            cluster.close()
    c = summary["counts"]
    typer.echo(f"{c['dumps']} dumps in {output} ({c['ok']} analyzed, {c['failed']} failed), {c['findings']} "
               f"findings in {c['dumps_with_findings']} dumps; summary: {output / 'fleet.html'}")


def main() -> None:
    try:
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("forensics: interrupted\n")
        sys.exit(130)
    except ForensicsError as e:
        sys.stderr.write(f"forensics: {_one_line(str(e))}\n")
        sys.exit(2)
    except Exception as e:  # click usage errors and bugs
        import click

        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(2)
        if os.environ.get("FORENSICS_DEBUG"):
            raise
        sys.stderr.write(f"forensics: internal error: {type(e).__name__}: {_one_line(str(e))} "
                         "(set FORENSICS_DEBUG=1 for a traceback)\n")
        sys.exit(3)


def _one_line(s: str) -> str:
    return " ".join(s.split())[:500]
