"""The command line as a user meets it: the installed `forensics` entry point, run as a subprocess.

Every way out is checked: usage errors (one line on stderr, exit 2, for every command), unusable
input (saying what the input is), an unforeseen error (one line, "please report this", exit 3),
--version, `causes`, shell completion, where reports are written, and what reaches the terminal.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sysconfig
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from forensics import __version__
from forensics.analysis.rules import all_rules

SAMPLES = Path(__file__).resolve().parent.parent / "sample_dumps"


def _entry_point() -> str:
    if os.environ.get("FORENSICS_ENTRY_POINT"):  # another installed build of the command, to compare
        return os.environ["FORENSICS_ENTRY_POINT"]
    here = Path(sysconfig.get_path("scripts")) / "forensics"
    if here.is_file():
        return str(here)
    found = shutil.which("forensics")
    if found is None:
        pytest.skip("the forensics entry point is not installed (pip install -e .)", allow_module_level=True)
    return found


FORENSICS = _entry_point()


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LC_ALL": "C.UTF-8",
    }
    return subprocess.run(
        [FORENSICS, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={**base, **(env or {})},
        check=False,
    )


def one_line_error(r: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert r.returncode == code, (r.returncode, r.stdout[-500:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


# ---------------------------------------------------------------------------------------------- usage

USAGE_ERRORS = [
    [],
    ["no-such-command"],
    ["--no-such-option"],
    ["analyze"],
    ["analyze", "DUMP", "-f", "pdf"],
    ["analyze", "DUMP", "--fail-on", "huge"],
    ["analyze", "DUMP", "--no-such-option"],
    ["analyze", "DUMP", "-o", "report.pdf"],
    ["analyze", "DUMP", "-o", "report.md", "-f", "json"],
    ["analyze", "DUMP", "-o", "-"],
    ["render"],
    ["render", "FINDINGS"],
    ["render", "FINDINGS", "-o", "report.html", "-f", "md"],
    ["render", "FINDINGS", "-o", "FINDINGS"],
    ["frames"],
    ["frames", "DUMP", "--no-such-option"],
    ["platforms"],
    ["platforms", "MANIFEST", "--require", "linux/"],
    ["serve"],
    ["serve", "DUMP", "--port", "not-a-number"],
    ["causes", "extra-argument"],
    ["diff"],
    ["diff", "DUMP", "DUMP", "-f", "pdf"],
    ["diff", "DUMP", "DUMP", "--fail-on", "old"],
    ["diff", "DUMP", "DUMP", "-o", "changes.pdf"],
    ["diff", "DUMP", "DUMP", "-o", "changes.md", "-f", "json"],
    ["fleet"],
    ["fleet", "DUMP"],
    ["fleet", "DUMP", "-o", "out", "--workers", "0"],
]


@pytest.fixture(scope="module")
def findings_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("doc") / "findings.json"
    r = run("analyze", str(SAMPLES / "graviton-new-pool"), "-o", str(out), cwd=out.parent)
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=lambda a: " ".join(a) or "no-arguments")
def test_usage_errors_are_one_line_and_exit_2(argv: list[str], tmp_path: Path, findings_json: Path) -> None:
    subst = {
        "DUMP": str(SAMPLES / "graviton-new-pool"),
        "FINDINGS": str(findings_json),
        "MANIFEST": str(next((SAMPLES / "graviton-new-pool" / "images").glob("*ledger-api*"))),
    }
    r = run(*[subst.get(a, a) for a in argv], cwd=tmp_path)
    line = one_line_error(r)
    assert line.startswith("forensics"), line
    assert "--help" in line  # where to read more
    assert r.stdout == ""
    assert not list(tmp_path.glob("report.*")), "a refused command line wrote a report"


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.strip() == f"cluster-forensics {__version__}"


COMMANDS = ["analyze", "render", "frames", "platforms", "serve", "diff", "fleet", "causes"]


def test_help_texts_are_clean() -> None:
    for cmd in ([], *([c] for c in COMMANDS)):
        r = run(*cmd, "--help", env={"COLUMNS": "200"})
        assert r.returncode == 0, r.stderr
        assert not re.search(r"<bool>|\{[a-z_]+\}|\bTEXT\b.*TEXT", r.stdout), r.stdout
        # every option has a description: no option line ends right after its type
        for line in r.stdout.splitlines():
            m = re.match(r"^\W*(--[a-z-]+)(?:\s+-\w)?\s+(?:PATH|TEXT|INTEGER|\[[a-z|]+\])?\s*\W*$", line)
            assert m is None, f"{cmd}: option without help: {line!r}"
    # a wide terminal shows each command's summary on one line: a line break inside a docstring's
    # first paragraph must not cut it
    r = run("--help", env={"COLUMNS": "400"})
    rows = r.stdout.split("Commands", 1)[1].splitlines()[1:]
    rows = [row.strip("│ ") for row in rows if row.startswith("│")]
    assert [row.split()[0] for row in rows] == COMMANDS, r.stdout


def test_every_argument_is_described_in_help() -> None:
    # typer shows an argument's help only on some click releases (click 8.5 drops it): the declared
    # bounds must keep it, for every command
    import typer.main

    from forensics.cli import app

    group = typer.main.get_command(app)
    seen = 0
    for name in COMMANDS:
        r = run(name, "--help", env={"COLUMNS": "400"})
        assert r.returncode == 0, r.stderr
        text = " ".join(r.stdout.replace("│", " ").split())
        for param in group.commands[name].params:  # type: ignore[attr-defined]
            if param.param_type_name != "argument":
                continue
            seen += 1
            words = " ".join(str(getattr(param, "help", "") or "").split())
            assert words, f"{name} {param.name}: no help text declared"
            assert words[:40] in text, f"`forensics {name} --help` does not describe {param.name}: {r.stdout}"
    assert seen >= 7


def test_causes_lists_every_registered_rule() -> None:
    r = run("causes")
    assert r.returncode == 0, r.stderr
    for rule in all_rules():
        m = re.search(rf"^{re.escape(rule.cause)}\s+(\S.*)\n\s+(\S.*)$", r.stdout, re.MULTILINE)
        assert m, f"{rule.cause} missing from `forensics causes`"
        title, line = m.group(1), m.group(2)
        assert title != rule.cause and len(line) > 20
        assert " ".join(line.split())[:30] in " ".join(rule.doc.split())  # the rule's own words


def test_shell_completion_installs_and_completes(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    r = run("--install-completion", "bash", cwd=tmp_path, env={"HOME": str(tmp_path), "SHELL": "/bin/bash"})
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    rc_text = (tmp_path / ".bashrc").read_text()
    script = re.search(r"source '([^']+)'", rc_text)
    assert script, rc_text
    # the installed script, sourced by a real bash, completes our commands and options
    probe = (
        f"source {script.group(1)}; COMP_WORDS=(forensics an); COMP_CWORD=1; _forensics_completion forensics; "
        'echo "${COMPREPLY[*]}"; COMP_WORDS=(forensics analyze --fa); COMP_CWORD=2; '
        '_forensics_completion forensics; echo "${COMPREPLY[*]}"'
    )
    out = subprocess.run(
        ["bash", "--norc", "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": f"{Path(FORENSICS).parent}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert out.stdout.splitlines() == ["analyze", "--fail-on"], (out.stdout, out.stderr)


# ---------------------------------------------------------------------------------------------- the guard


def test_an_unforeseen_error_is_one_line_asking_for_a_report(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    # a bug planted in the analysis, the way any unforeseen exception would surface
    (site / "sitecustomize.py").write_text(
        "import forensics.analysis.analyze\n"
        "def _broken(dump):\n"
        "    raise KeyError('\\x1b]0;title\\x07 unexpected')\n"
        "forensics.analysis.analyze.analyze = _broken\n"
    )
    r = run("analyze", str(SAMPLES / "graviton-new-pool"), "-f", "json", cwd=tmp_path, env={"PYTHONPATH": str(site)})
    line = one_line_error(r, code=3)
    assert "please report this" in line and "KeyError" in line
    assert "\x1b" not in line and "\x07" not in line
    # and with FORENSICS_DEBUG the traceback is there for the developer
    r = run(
        "analyze",
        str(SAMPLES / "graviton-new-pool"),
        "-f",
        "json",
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "FORENSICS_DEBUG": "1"},
    )
    assert r.returncode != 0 and "Traceback" in r.stderr


# ---------------------------------------------------------------------------------------------- bad input


def _zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("notes/readme.txt", "nothing to see")


BAD_INPUTS = {
    "empty-file": (lambda p: p.write_bytes(b""), "an empty file"),
    "random-bytes": (lambda p: p.write_bytes(bytes(range(256)) * 40), "random bytes"),
    "empty-dir": (lambda p: p.mkdir(), "an empty directory"),
    "unrelated-folder": (
        lambda p: (p.mkdir(), (p / "a.txt").write_text("hello"), (p / "b.csv").write_text("1,2")),
        "a folder of 2 unrelated file(s)",
    ),
    "archive.zip": (_zip, "a zip archive"),
    "notes.json.gz": (lambda p: p.write_bytes(gzip.compress(b'{"hello": "world"}')), "gzip-compressed JSON"),
    "two.json": (
        lambda p: p.write_text('{"kind": "PodList", "items": []}\n{"kind": "Pod"}\n'),
        "JSON with trailing data at byte 33",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_unusable_input_says_what_it_is(name: str, tmp_path: Path) -> None:
    make, what = BAD_INPUTS[name]
    target = tmp_path / name
    make(target)
    for cmd in (["analyze", str(target)], ["frames", str(target)]):
        line = one_line_error(run(*cmd, cwd=tmp_path))
        assert what in line, line
        # what the input is comes first, then what was looked for
        assert line.index(what) < line.index("Looked for")
        assert "cluster-resources/" in line


def test_render_of_a_non_findings_file_says_what_it_is(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"a": 1} trailing')
    line = one_line_error(run("render", str(tmp_path / "x.json"), "-o", str(tmp_path / "r.html"), cwd=tmp_path))
    assert "JSON with trailing data at byte 9" in line and "not a findings document" in line
    assert not (tmp_path / "r.html").exists()


# ---------------------------------------------------------------------------------------------- output


def test_report_file_still_prints_the_verdict(tmp_path: Path) -> None:
    r = run("analyze", str(SAMPLES / "graviton-new-pool"), "-o", "report.html", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads(run("analyze", str(SAMPLES / "graviton-new-pool"), "-f", "json", cwd=tmp_path).stdout)
    assert doc["summary"]["verdict"] in " ".join(r.stdout.split())
    assert f"report written to {'report.html'}" in r.stdout
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("fmt", ["json", "md", "html"])
def test_dash_writes_to_stdout(fmt: str, tmp_path: Path) -> None:
    r = run("analyze", str(SAMPLES / "graviton-new-pool"), "-o", "-", "-f", fmt, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not list(tmp_path.iterdir()), "-o - wrote a file"
    head = {"json": '{\n  "schema"', "md": "# Cluster post-mortem", "html": "<!DOCTYPE html>"}[fmt]
    assert r.stdout.startswith(head)


def test_directory_and_tarball_reports_do_not_overwrite_each_other(tmp_path: Path) -> None:
    written = []
    for dump in (SAMPLES / "graviton-new-pool", SAMPLES / "graviton-new-pool.tar.gz"):
        r = run("analyze", str(dump), cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        m = re.search(r"report written to (\S+)", r.stdout)
        assert m, r.stdout
        written.append(Path(m.group(1)))
    assert written[0] != written[1]
    assert all(p.is_file() and p.parent == tmp_path for p in written)
    assert len(list(tmp_path.glob("forensics-report-*.html"))) == 2
    assert "tar.gz" in written[1].name  # the archive's report says it came from the archive


def test_the_input_is_never_overwritten(tmp_path: Path) -> None:
    pods = next((SAMPLES / "graviton-new-pool" / "snapshots").glob("*/pods.json")).read_bytes()
    dump = tmp_path / "pods.json"
    dump.write_bytes(pods)
    (tmp_path / "link.json").symlink_to(dump)
    for argv in (["pods.json", "-o", "pods.json"], ["link.json", "-o", str(dump)], ["pods.json", "-o", "./pods.json"]):
        line = one_line_error(run("analyze", *argv, cwd=tmp_path))
        assert "never overwritten" in line, line
    assert dump.read_bytes() == pods


def test_render_says_where_it_wrote(tmp_path: Path, findings_json: Path) -> None:
    for name in ("again.html", "again.md"):
        r = run("render", str(findings_json), "-o", name, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert f"report written to {name}" in r.stdout
        assert (tmp_path / name).stat().st_size > 1000


def test_output_to_a_file_never_truncates(tmp_path: Path) -> None:
    """`forensics analyze X > ticket.txt`: whole cause ids, workload names and numbers."""
    for sample in ("graviton-new-pool", "not-arch"):
        r = run("analyze", str(SAMPLES / sample), cwd=tmp_path, env={"COLUMNS": "40"})
        assert r.returncode == 0, r.stderr
        doc = json.loads(run("analyze", str(SAMPLES / sample), "-f", "json", cwd=tmp_path).stdout)
        assert "…" not in r.stdout
        for f in doc["findings"]:
            assert f["cause"] in r.stdout
            assert _label(f["workload"]) in r.stdout
        assert doc["summary"]["verdict"] in r.stdout
        assert r.stderr == "", "progress or noise on a stderr that is not a terminal"


def test_next_step_and_the_architecture_answer(tmp_path: Path) -> None:
    r = run("analyze", str(SAMPLES / "not-arch"), cwd=tmp_path)
    doc = json.loads(run("analyze", str(SAMPLES / "not-arch"), "-f", "json", cwd=tmp_path).stdout)
    assert "Not the ARM/amd64 mismatch" in r.stdout
    top = doc["findings"][0]
    first = next(x for x in top["remediation"] if x["command"])
    assert first["command"].splitlines()[0] in r.stdout
    html = (tmp_path / "forensics-report-not-arch.html").read_text()
    verdict = html[html.index('id="verdict"') : html.index('id="inventory"')]
    assert "Not the ARM/amd64 mismatch" in verdict
    r = run("analyze", str(SAMPLES / "graviton-new-pool"), cwd=tmp_path)
    assert "Not the ARM/amd64 mismatch" not in r.stdout


def test_no_architecture_answer_without_node_architectures(tmp_path: Path) -> None:
    # the graviton story's pods alone: its arm64 nodes are not in the dump, so whether the crash is the
    # mismatch cannot be told, and the summary, Markdown and HTML must not say it is not
    pods = next((SAMPLES / "graviton-new-pool" / "snapshots").glob("*/pods.json"))
    folder = tmp_path / "pods-only"
    folder.mkdir()
    shutil.copy(pods, folder / "pods.json")
    r = run("analyze", str(folder), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    md = run("analyze", str(folder), "-o", "-", "-f", "md", cwd=tmp_path).stdout
    html = (tmp_path / "forensics-report-pods-only.html").read_text()
    doc = json.loads(run("analyze", str(folder), "-f", "json", cwd=tmp_path).stdout)
    assert doc["findings"] and doc["summary"]["architecture"]["answer"] == "unknown"
    for text in (r.stdout, md, html[html.index('id="verdict"') : html.index('id="inventory"')]):
        assert "Not the ARM/amd64 mismatch" not in text
        assert "ARM/amd64 mismatch cannot be told" in " ".join(text.split())


def _run_with_tty_stderr(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (stdout a pipe); return (rc, stdout, what the tty saw)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [FORENSICS, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "TERM": "xterm", "COLUMNS": "100"},
    )
    os.close(slave)
    assert proc.stdout is not None
    seen, out = io.BytesIO(), io.BytesIO()
    open_fds = {master: seen, proc.stdout.fileno(): out}  # both drained: a full stdout pipe would stall it
    deadline = time.monotonic() + 120
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_fds), [], [], 0.2)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the terminal's other end closed
                chunk = b""
            if chunk:
                open_fds[fd].write(chunk)
            else:
                del open_fds[fd]
    proc.wait(timeout=30)
    os.close(master)
    return proc.returncode, out.getvalue().decode(), seen.getvalue().decode(errors="replace")


def test_progress_only_on_a_terminal(tmp_path: Path) -> None:
    rc, out, tty = _run_with_tty_stderr(["analyze", str(SAMPLES / "not-arch"), "-f", "json"], tmp_path)
    assert rc == 0
    json.loads(out)  # stdout is the document alone
    assert "reading not-arch" in tty and "rendering" in tty
    r = run("analyze", str(SAMPLES / "not-arch"), "-f", "json", cwd=tmp_path)
    assert r.stderr == ""


def _terminal_output(args: list[str], cwd: Path, columns: int) -> str:
    """What a terminal of `columns` columns shows for the command (stdout on a pseudo-terminal)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [FORENSICS, *args],
        cwd=cwd,
        stdout=slave,
        stderr=subprocess.DEVNULL,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "TERM": "xterm",
            "COLUMNS": str(columns),
        },
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=120)
    os.close(master)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace")).replace("\r", "")


def _label(w: dict) -> str:
    """How a person names the object: `Kind ns/name`, or `Kind name` for a cluster-scoped one."""
    return f"{w['kind']} {w['namespace']}/{w['name']}" if w["namespace"] else f"{w['kind']} {w['name']}"


def test_terminal_tables_are_capped(tmp_path: Path) -> None:
    text = _terminal_output(["analyze", str(SAMPLES / "not-arch")], tmp_path, 120)
    doc = json.loads(run("analyze", str(SAMPLES / "not-arch"), "-f", "json", cwd=tmp_path).stdout)
    listed = text[text.index("Findings") :]
    more = re.search(r"and (\d+) more findings \(see the report\)", listed)
    assert more, text
    shown = [f for f in doc["findings"] if _label(f["workload"]) in listed[: more.start()]]
    assert 0 < len(shown) < len(doc["findings"])
    assert len(shown) + int(more.group(1)) == len(doc["findings"])  # nothing lost, only folded away


def test_a_narrow_terminal_never_crops_names(tmp_path: Path) -> None:
    text = _terminal_output(["analyze", str(SAMPLES / "mixed-no-affinity")], tmp_path, 80)
    doc = json.loads(run("analyze", str(SAMPLES / "mixed-no-affinity"), "-f", "json", cwd=tmp_path).stdout)
    for f in doc["findings"] + doc["latent"]:
        assert f["cause"] in text and _label(f["workload"]) in text, text
    assert "…" not in text.split("Next steps")[0]


# ---------------------------------------------------------------------------------------------- hostile text


def _pod(name: str, ns: str, message: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": "u-" + str(abs(hash(name))),
            "creationTimestamp": "2024-05-01T10:00:00Z",
        },
        "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": "example/app:1"}]},
        "status": {
            "phase": "Running",
            "startTime": "2024-05-01T10:00:01Z",
            "containerStatuses": [
                {
                    "name": "app",
                    "image": "example/app:1",
                    "ready": False,
                    "restartCount": 7,
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": message}},
                    "lastState": {
                        "terminated": {
                            "exitCode": 1,
                            "reason": "Error",
                            "message": message,
                            "startedAt": "2024-05-01T10:20:00Z",
                            "finishedAt": "2024-05-01T10:20:01Z",
                        }
                    },
                }
            ],
        },
    }


def test_dump_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    evil = "\x1b]0;owned\x07\x1b[31mred\x1b]8;;http://x.invalid/\x1b\\link\x1b]8;;\x1b\\\r\u202e"
    pods = {
        "apiVersion": "v1",
        "kind": "PodList",
        "items": [
            _pod("api-7d9f-abcde", "shop", "panic: " + evil),
            _pod("web-5c-xyz\x1b[2J", "shop", "fatal: " + evil),
        ],
    }
    (tmp_path / "pods.json").write_text(json.dumps(pods))
    (tmp_path / "broken\x1b[31m.json").write_text('{"kind": "Pod", "metadata": ')
    for args in (["analyze", str(tmp_path)], ["frames", str(tmp_path)]):
        r = run(*args, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        for stream in (r.stdout, r.stderr):
            assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", stream), repr(stream[:2000])
    r = run("analyze", str(tmp_path), cwd=tmp_path)
    assert "\\x1b" in r.stdout  # shown, not obeyed


def test_bare_pods_file_counts_its_nodes(tmp_path: Path) -> None:
    """A bare pods.json has no Node objects: the nodes its pods ran on are still counted."""
    pods = {"apiVersion": "v1", "kind": "PodList", "items": [_pod(f"api-{i}", "shop", "panic: boom") for i in range(3)]}
    for i, p in enumerate(pods["items"]):
        p["spec"]["nodeName"] = f"node-{i}"
    (tmp_path / "pods.json").write_text(json.dumps(pods))
    doc = json.loads(run("analyze", str(tmp_path / "pods.json"), "-f", "json", cwd=tmp_path).stdout)
    s, c = doc["summary"], doc["dump"]["counts"]
    assert s["affected_nodes"] <= c["nodes"] and c["nodes"] == 3
    assert s["failing_pods"] <= c["pods"]


def test_zstd_without_zstandard_says_how_to_install_it(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        data = b"collected_at: 2024-01-01T00:00:00Z\n"
        info = tarfile.TarInfo("d/forensics-dump.yaml")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    (tmp_path / "d.tar.zst").write_bytes(zstandard.ZstdCompressor().compress(raw.getvalue()))
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['zstandard'] = None  # not installed\n")
    line = one_line_error(run("analyze", str(tmp_path / "d.tar.zst"), cwd=tmp_path, env={"PYTHONPATH": str(site)}))
    assert "pip install 'cluster-forensics[zstd]'" in line


@pytest.mark.parametrize(
    "path, value, named",
    [
        (("findings", 0, "pods"), 7, "findings[0].pods is a number, not a list"),
        (("dump",), "x", "dump is a string, not an object"),
        (("inventory", "architectures"), ["amd64"], "inventory.architectures is a list, not an object"),
        (("timeline",), 3, "timeline is a number, not a list"),
        (("findings", 0, "evidence"), ["a line"], "findings[0].evidence[0] is a string, not an object"),
        (("dump", "counts", "pods"), "many", "dump.counts.pods is a string, not an integer"),
    ],
)
def test_render_refuses_a_document_of_the_wrong_shape(
    path: tuple, value: object, named: str, tmp_path: Path, findings_json: Path
) -> None:
    doc = json.loads(findings_json.read_text())
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    (tmp_path / "odd.json").write_text(json.dumps(doc))
    for out in ("r.html", "r.md"):
        line = one_line_error(run("render", str(tmp_path / "odd.json"), "-o", out, cwd=tmp_path))
        assert named in line, line
        assert not (tmp_path / out).exists()
