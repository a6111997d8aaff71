"""The `forensics` command.

Every way out of the command is decided in `main`, whatever typer and its click do underneath:

    0  done (also --help, --version)
    1  a finding at or above --fail-on; `platforms --require` found a platform missing
    2  a usage error or unusable input: one line on stderr, never a traceback
    3  an unforeseen error (a bug): one line on stderr asking for a report;
       FORENSICS_DEBUG=1 shows the traceback
    130 interrupted

Usage errors are recognised through the exception classes typer itself exports (`typer.BadParameter`
and its bases), never by importing click: typer has shipped click as a dependency and as a private
copy, and the error path must not depend on which. Text that comes from a dump is printed through
`forensics.render.text.neutral`, so it cannot drive the terminal.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from forensics import __version__
from forensics.analysis.findings import SEVERITIES, severity_rank
from forensics.errors import ForensicsError, ManifestError, UnusableInput
from forensics.render.text import neutral

app = typer.Typer(
    add_completion=True,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    help="Offline forensic analysis of Kubernetes cluster dumps: why are pods crash-looping?",
)


class Format(str, Enum):
    html = "html"
    json = "json"
    md = "md"


FailOn = Enum("FailOn", {s: s for s in SEVERITIES}, type=str)  # type: ignore[misc]

# the file name endings each format is written under
SUFFIXES = {Format.html: (".html", ".htm"), Format.json: (".json",), Format.md: (".md", ".markdown")}


class UsageProblem(ForensicsError):
    """A command line that cannot be run as given (exit 2), found by our own checks."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"{command}: {message} (see {command} --help)")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cluster-forensics {__version__}")
        raise typer.Exit(0)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Offline forensic analysis of Kubernetes cluster dumps: why are pods crash-looping?"""
    if ctx.invoked_subcommand is None and not ctx.resilient_parsing:
        names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
        raise UsageProblem("forensics", f"missing command, one of: {', '.join(n for n in names if n)}")


# ---------------------------------------------------------------------------------------------- analyze


def _load(path: Path, images: Path | None, step: Callable[[str], None]) -> Any:
    from forensics.read.formats import load_any

    step(f"reading {path.name or path}")
    return load_any(path, images=images)


def json_text(doc: Any) -> str:
    """`doc` as indented JSON (UTF-8 text as is, values JSON lacks as their `str`): msgspec's encoder,
    the same text `json.dumps(doc, indent=2, ensure_ascii=False, default=str)` gives, about ten times
    faster on a large findings document (a missing float is `null`, never the invalid `NaN`)."""
    import msgspec

    return msgspec.json.format(msgspec.json.encode(doc, enc_hook=str), indent=2).decode("utf-8") + "\n"


def _render(doc: dict[str, Any], fmt: Format) -> str:
    if fmt is Format.json:
        return json_text(doc)
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


def output_format(command: str, output: Path | None, fmt: Format | None) -> Format | None:
    """The format to write `output` in: --format, else the file name's ending. A name whose ending
    says another format than --format, or an ending we cannot tell, is a usage error."""
    if output is None:
        return fmt
    if str(output) == "-":
        if fmt is None:
            raise UsageProblem(command, "-o - writes to standard output: say which format with --format html|json|md")
        return fmt
    suffix = output.suffix.lower()
    named = next((f for f, sfx in SUFFIXES.items() if suffix in sfx), None)
    if fmt is None:
        if named is None:
            raise UsageProblem(
                command,
                f"cannot tell the report format from the name {output.name!r}: "
                "end it in .html, .md or .json, or give --format",
            )
        return named
    if suffix and named is not fmt:
        raise UsageProblem(
            command,
            f"--format {fmt.value} does not match the output name {output.name!r} "
            f"(a {fmt.value} report is written as {' or '.join(SUFFIXES[fmt])})",
        )
    return fmt


def not_an_input(command: str, out: Path | None, *inputs: Path | None) -> None:
    """A usage error when the report would be written over one of the command's own inputs: the
    analyzer never changes what it reads (`forensics analyze pods.json -o pods.json`)."""
    if out is None or str(out) == "-":
        return
    for given in inputs:
        try:
            same = given is not None and os.path.samefile(out, given)
        except OSError:  # one of them does not exist (yet): not the same file
            same = False
        if same:
            raise UsageProblem(command, f"the output {out} is the input {given}: it is never overwritten")


def report_name(dump: Path) -> str:
    """The default report file for a dump: its folder or archive name, archive ending included, so that
    a dump and its tarball (`x/` and `x.tar.gz`) never overwrite each other's report."""
    name = Path(os.path.abspath(dump)).name or "dump"
    return "forensics-report-" + re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".html"


@contextmanager
def progress() -> Iterator[Callable[[str], None]]:
    """A spinner on stderr naming the current stage, when stderr is a terminal; nothing otherwise. Each
    stage is drawn the moment it begins, so a short one is seen too (not only at the next animation tick)."""
    from rich.console import Console
    from rich.live import Live
    from rich.spinner import Spinner

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda _msg: None
        return
    spinner = Spinner("dots", text="starting", style="status.spinner")
    with Live(spinner, console=console, refresh_per_second=12.5, transient=True) as live:

        def step(msg: str) -> None:
            spinner.update(text=neutral(msg))
            live.refresh()

        yield step


@app.command()
def analyze(
    dump: Annotated[
        Path,
        typer.Argument(
            help="The dump: a directory, an archive (.tar.gz, .tgz, .tar, .tar.zst, .zip) or a single "
            "file (also gzip- or zstd-compressed), in any format `forensics` recognises."
        ),
    ],
    format: Annotated[
        Format | None, typer.Option("--format", "-f", help="Report format. Without -o it goes to standard output.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the report to this file (its ending "
            "gives the format: .html, .md, .json) or to standard output "
            "with '-'. Default: a terminal summary and "
            "./forensics-report-DUMPNAME.html.",
        ),
    ] = None,
    fail_on: Annotated[
        FailOn | None, typer.Option("--fail-on", help="Exit 1 when a finding is at or above this severity.")
    ] = None,
    images: Annotated[
        Path | None,
        typer.Option("--images", help="Add image inspections (an images/ folder in dump format v1) to any dump."),
    ] = None,
) -> None:
    """Analyze a dump: the root cause of each failing workload, with evidence and remediation."""
    fmt = output_format("forensics analyze", output, format)
    from forensics.analysis.analyze import analyze as run
    from forensics.render.terminal import print_summary

    to_stdout = (output is None and format is not None) or (output is not None and str(output) == "-")
    fmt = fmt or Format.html
    out = output if output is not None else Path.cwd() / report_name(dump)
    if not to_stdout:
        not_an_input("forensics analyze", out, dump, images)
    with progress() as step:
        loaded = _load(dump, images, step)
        step("analyzing: frames, rules, findings")
        doc = run(loaded)
        step(f"rendering the {fmt.value} report")
        text = _render(doc, fmt)
    if to_stdout:
        sys.stdout.write(text)
    else:
        _write(text, out)
        print_summary(doc, report_path=str(out))
    raise typer.Exit(_exit_for(doc, fail_on.value if fail_on is not None else None))


# ---------------------------------------------------------------------------------------------- render

MAX_FINDINGS = 1 << 30  # a bound on what `render` reads into memory


def read_findings(path: Path) -> dict[str, Any]:
    """A findings document from disk, or UnusableInput saying what the file is instead."""
    from forensics.read.inputs import describe_file

    too_big = UnusableInput(f"{path}: larger than {MAX_FINDINGS >> 20} MiB, not a findings document this tool wrote")
    try:
        with path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size > MAX_FINDINGS:  # refused before reading a byte of it
                raise too_big
            data = fh.read(MAX_FINDINGS + 1)
    except IsADirectoryError:
        raise UnusableInput(f"{path}: a directory, not a findings document (forensics analyze -f json)") from None
    except OSError as e:
        raise UnusableInput(f"{path}: cannot read ({e.strerror or e})") from None
    if len(data) > MAX_FINDINGS:
        raise too_big
    try:
        doc = json.loads(data)
    except RecursionError:
        raise UnusableInput(f"{path}: JSON nested too deeply, not a findings document") from None
    except (UnicodeDecodeError, ValueError):
        raise UnusableInput(
            f"{path}: {describe_file(path)}, not a findings document (expected the JSON of forensics analyze -f json)"
        ) from None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith("cluster-forensics-findings/"):
        raise UnusableInput(
            f"{path}: JSON without a cluster-forensics-findings schema, not a findings document "
            "(expected the JSON of forensics analyze -f json)"
        )
    from forensics.render.check import problem

    bad = problem(data)
    if bad:
        raise UnusableInput(f"{path}: not a findings document the reports can be made from: {bad} (docs/findings.md)")
    return doc


@app.command()
def render(
    findings: Annotated[Path, typer.Argument(help="A findings JSON document (forensics analyze -f json).")],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Write the report here (.html, .md or .json), or to standard output with '-'."
        ),
    ],
    format: Annotated[
        Format | None, typer.Option("--format", "-f", help="Report format; default: from the output name.")
    ] = None,
) -> None:
    """Rebuild a report from a saved findings JSON document."""
    fmt = output_format("forensics render", output, format)
    assert fmt is not None
    not_an_input("forensics render", output, findings)
    doc = read_findings(findings)
    text = _render(doc, fmt)
    if str(output) == "-":
        sys.stdout.write(text)
        return
    _write(text, output)
    typer.echo(f"report written to {output} ({fmt.value}, from {neutral(findings)})")


# ---------------------------------------------------------------------------------------------- frames


@app.command()
def frames(
    dump: Annotated[Path, typer.Argument(help="The dump: a directory, an archive or a single file, any format.")],
    parquet: Annotated[
        Path | None, typer.Option("--parquet", help="Write every frame as DIR/FRAME.parquet (pandas, DuckDB, Arrow).")
    ] = None,
    images: Annotated[
        Path | None,
        typer.Option("--images", help="Add image inspections (an images/ folder in dump format v1) to any dump."),
    ] = None,
) -> None:
    """Load a dump into the analysis frames; print their shapes, or write them as Parquet."""
    with progress() as step:
        d = _load(dump, images, step)
        if parquet is not None:
            step(f"writing Parquet to {parquet}")
            try:
                import pyarrow.parquet as pq

                from forensics.read.schema import arrow_table

                parquet.mkdir(parents=True, exist_ok=True)
                for name, f in d.frames.items():
                    pq.write_table(arrow_table(f), parquet / f"{name}.parquet")
            except OSError as e:
                raise ForensicsError(f"cannot write {parquet}: {e.strerror or e}") from None
    for name, f in d.frames.items():
        typer.echo(
            f"{name:16} {len(f):>9} rows  {len(f.columns):>3} columns"
            + (f"  -> {parquet / (name + '.parquet')}" if parquet is not None else "")
        )
    for p in d.problems:
        typer.echo(f"load problem: {neutral(p.file)}: {neutral(p.what)} ({neutral(p.why)})", err=True)


# ---------------------------------------------------------------------------------------------- platforms


@app.command()
def platforms(
    inspection: Annotated[
        Path,
        typer.Argument(
            help="A manifest or inspection file (skopeo inspect --raw, "
            "docker buildx imagetools inspect --raw, crane manifest), "
            "or a dump's images/SLUG/ folder."
        ),
    ],
    require: Annotated[
        str | None,
        typer.Option("--require", help="Comma-separated platforms that must be present, e.g. linux/amd64,linux/arm64."),
    ] = None,
) -> None:
    """Print an image's runnable platforms; with --require, exit 1 naming the missing ones (for CI)."""
    from forensics.analysis.platforms_check import check_required, load_inspection_path
    from forensics.knowledge.arch import parse_platform

    wanted = []
    spelled = [x.strip() for x in (require or "").split(",") if x.strip()]
    if require is not None:
        try:
            wanted = [parse_platform(x) for x in spelled]
        except ValueError as e:
            raise UsageProblem("forensics platforms", f"--require: {e}") from None
        if not wanted:
            raise UsageProblem("forensics platforms", "--require names no platform")
    try:
        insp = load_inspection_path(inspection)
    except ManifestError as e:
        raise UnusableInput(f"{inspection}: {e}") from None
    kind = "index" if insp.kind == "index" else "single-platform manifest"
    if wanted and not insp.platforms:
        raise UnusableInput(
            f"{inspection}: the {kind} does not say which platform it is for (its config "
            "does): pass the image's folder with its config.json, or an index"
        )
    typer.echo(f"{neutral(inspection)}: {kind} ({neutral(insp.media_type or insp.source_format)})")
    for p in insp.platforms:
        typer.echo(f"  {neutral(p.platform)}" + (f"  {neutral(p.digest)}" if p.digest else ""))
    if insp.attestations:
        typer.echo(f"  ({insp.attestations} attestation/unknown entries not counted)")
    for w in insp.warnings:
        typer.echo(f"warning: {neutral(w)}", err=True)
    if wanted:
        missing = set(check_required(insp, wanted))
        if missing:
            # the platforms as the user spelled them, each once, in the order given
            names = list(dict.fromkeys(s for s, w in zip(spelled, wanted) if w in missing))
            typer.echo(f"MISSING platforms: {', '.join(names)}", err=True)
            raise typer.Exit(1)
        typer.echo("all required platforms present: " + ", ".join(w.short for w in wanted))


# ---------------------------------------------------------------------------------------------- serve


@app.command()
def serve(
    dumps: Annotated[
        list[str],
        typer.Argument(
            help="Dumps, any format analyze reads; NAME=PATH names the kube context, PATH@SNAPSHOT picks a snapshot."
        ),
    ],
    port: Annotated[
        int, typer.Option("--port", help="Port on 127.0.0.1; 0 picks free ports (several dumps: N, N+1, ...).")
    ] = 0,
    snapshot: Annotated[
        str | None, typer.Option("--snapshot", help="Snapshot folder name to serve; default: the last.")
    ] = None,
    all_snapshots: Annotated[
        bool, typer.Option("--all-snapshots", help="Serve every snapshot, one context each.")
    ] = False,
    kubeconfig_out: Annotated[
        Path | None,
        typer.Option("--kubeconfig-out", help="Write a kubeconfig for the servers here instead of printing it."),
    ] = None,
    idle_timeout: Annotated[
        float,
        typer.Option(
            "--idle-timeout",
            min=0.1,
            help="Seconds a connection may sit without a complete request before it is closed.",
        ),
    ] = 30.0,
) -> None:
    """Answer kubectl from dumps on 127.0.0.1, read-only: one kube context per dump (or snapshot)."""
    from forensics.serve.many import serve_many

    if snapshot is not None:
        if len(dumps) != 1:
            raise ForensicsError("--snapshot takes one dump; with several, write PATH@SNAPSHOT")
        dumps = [f"{dumps[0]}@{snapshot}"]

    def ready(contexts: list[Any], text: str) -> None:
        for c in contexts:
            typer.echo(
                f"serving {neutral(c.path)} @ {neutral(c.snapshot)} on {c.url} as context {neutral(c.name)} "
                "(read-only)",
                err=True,
            )
        typer.echo("Ctrl-C to stop", err=True)
        if kubeconfig_out is None:
            typer.echo(text)
        else:
            typer.echo(
                f"kubeconfig written to {neutral(kubeconfig_out)}: KUBECONFIG={neutral(kubeconfig_out)} "
                f"kubectl --context {neutral(contexts[0].name)} get pods -A",
                err=True,
            )
        sys.stdout.flush()

    serve_many(
        dumps,
        all_snapshots=all_snapshots,
        port=port,
        ready=ready,
        kubeconfig_out=kubeconfig_out,
        idle_timeout=idle_timeout,
    )


class DiffFormat(str, Enum):
    text = "text"
    html = "html"
    json = "json"
    md = "md"


@app.command("diff")
def diff_cmd(
    old: Annotated[
        str,
        typer.Argument(
            help="the earlier dump, any format; PATH@SNAPSHOT for one snapshot (name, or index: @0 oldest, @-1 newest)"
        ),
    ],
    new: Annotated[
        str | None, typer.Argument(help="the later dump (default: OLD's newest snapshot, OLD then meaning its oldest)")
    ] = None,
    format: Annotated[DiffFormat | None, typer.Option("--format", "-f", help="text, json, html or md")] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="write here; the ending gives the format (.txt, .html, .md, .json); '-' for standard output",
        ),
    ] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="new: exit 1 when a finding is new in NEW")] = None,
    force: Annotated[bool, typer.Option("--force", help="compare dumps that look like different clusters")] = False,
) -> None:
    """What changed between two dumps of one cluster: nodes, images, workloads, findings."""
    from forensics.read.dumpspec import DumpSpec, at_snapshot, load_spec, parse_spec, pick_snapshot
    from forensics.render import multi
    from forensics.several.diff import diff_dumps

    if fail_on is not None and fail_on != "new":
        raise UsageProblem("forensics diff", f"--fail-on takes one value, new (not {fail_on!r})")
    by_suffix = {".json": DiffFormat.json, ".md": DiffFormat.md, ".markdown": DiffFormat.md}
    by_suffix |= {".html": DiffFormat.html, ".htm": DiffFormat.html, ".txt": DiffFormat.text}
    named = by_suffix.get(output.suffix.lower()) if output is not None else None
    if output is not None and str(output) != "-" and (named is None and format is None):
        raise UsageProblem(
            "forensics diff",
            f"cannot tell the format from the name {output.name!r}: "
            "end it in .txt, .html, .md or .json, or give --format",
        )
    if output is not None and format is not None and named is not None and named is not format:
        raise UsageProblem("forensics diff", f"--format {format.value} does not match the output name {output.name!r}")
    a = parse_spec(old)
    if new is None:
        whole = load_spec(DumpSpec(a.path))
        if len(whole.snapshots) < 2:
            raise UnusableInput(
                f"{a.path}: one snapshot only; name the dump to compare it with (forensics diff OLD NEW)"
            )
        first = pick_snapshot(whole.snapshots, a.snapshot or "first", str(a.path))
        a, b = DumpSpec(a.path, first), DumpSpec(a.path, whole.snapshots[-1])
        dumps = at_snapshot(whole, first), at_snapshot(whole, whole.snapshots[-1])
    else:
        b = parse_spec(new)
        dumps = load_spec(a), load_spec(b)
    doc = diff_dumps(*dumps, force=force, labels=(str(a), str(b)))
    fmt = format or named or DiffFormat.text
    text = {
        DiffFormat.json: json_text,
        DiffFormat.md: multi.diff_markdown,
        DiffFormat.html: multi.diff_html,
        DiffFormat.text: multi.diff_text,
    }[fmt](doc)
    if output is None or str(output) == "-":
        sys.stdout.write(text)
    else:
        _write(text, output)
        typer.echo(f"wrote {output}", err=True)
    raise typer.Exit(1 if fail_on == "new" and doc["findings"]["new"] else 0)


_SCHEDULER_TIMEOUT = "5s"


@app.command("fleet")
def fleet_cmd(
    dumps: Annotated[list[Path], typer.Argument(help="dumps (directories or archives, any format)")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="the fleet folder: Parquet dataset, reports, fleet.html/.md/.json")
    ],
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="local workers (default: one per core)")
    ] = None,
) -> None:
    """Analyze many dumps in parallel on Dask into one Parquet dataset and a fleet summary."""
    from forensics.several.fleet import local_client, run_fleet

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
    typer.echo(
        f"{c['dumps']} dumps in {output} ({c['ok']} analyzed, {c['failed']} failed), {c['findings']} "
        f"findings in {c['dumps_with_findings']} dumps; summary: {output / 'fleet.html'}"
    )


# ---------------------------------------------------------------------------------------------- causes


@app.command()
def causes() -> None:
    """List every cause the analyzer can name: its id, its title and what it means."""
    from forensics.analysis.rules import all_rules, describe

    rows = [describe(r) for r in all_rules()]
    width = max(len(c) for c, _, _ in rows)
    for cause, title, line in rows:
        typer.echo(f"{cause:<{width}}  {title}")
        typer.echo(f"{'':<{width}}  {line}")


# ---------------------------------------------------------------------------------------------- main


def _usage_types() -> tuple[type[BaseException], ...]:
    """The usage-error base class of the click typer runs on: `ClickException` in the MRO of the
    `BadParameter` typer exports, wherever that click lives."""
    base = next((c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"), typer.BadParameter)
    return (base,)


def _one_line(s: str, limit: int = 500) -> str:
    s = " ".join(neutral(s, newlines=True).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _usage_line(e: BaseException) -> str:
    ctx = getattr(e, "ctx", None)
    command = getattr(ctx, "command_path", None) or "forensics"
    fmt = getattr(e, "format_message", None)
    message = fmt() if callable(fmt) else str(e)
    return f"{command}: {_one_line(message)} (see {command} --help)"


def run(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit code; nothing but SystemExit from shell completion
    escapes."""
    try:
        rc = app(args=argv, prog_name="forensics", standalone_mode=False)
        return rc if isinstance(rc, int) else 0
    except typer.Exit as e:
        return int(getattr(e, "exit_code", 0) or 0)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("forensics: interrupted\n")
        return 130
    except UsageProblem as e:
        sys.stderr.write(f"{_one_line(str(e))}\n")
        return 2
    except ForensicsError as e:
        sys.stderr.write(f"forensics: {_one_line(str(e))}\n")
        return 2
    except BrokenPipeError:
        # the reader went away (`forensics analyze X -f json | head`): nothing more to say
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        except OSError:
            pass
        return 1
    except Exception as e:
        if isinstance(e, _usage_types()):
            sys.stderr.write(_usage_line(e) + "\n")
            return 2
        if os.environ.get("FORENSICS_DEBUG"):
            raise
        sys.stderr.write(
            f"forensics: internal error ({type(e).__name__}: {_one_line(str(e), 300)}); "
            "please report this, with the command you ran (FORENSICS_DEBUG=1 shows the traceback)\n"
        )
        return 3


def main() -> None:
    sys.exit(run())
