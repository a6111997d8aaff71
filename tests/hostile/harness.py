"""Run the installed `forensics` command against hostile dumps built at test time, and check what a
user would: an exit code of 0 or 2, no traceback, bounded time (CPU seconds, so that a loaded shared
machine does not decide; wall time only as a kill switch) and peak memory (an address-space limit in
the child, and its peak RSS), the expected load problem, and that the valid rest of the dump is still
analyzed.

Every hostile case starts from a real-shaped dump (`sample_dumps/graviton-new-pool`, whose story is
an arm64-only mismatch of `payments/ledger-api`) and adds one hostile part. Big contents are never
written: sparse files leave holes, and compressed bombs repeat one small compressed piece (several
gzip members or zstd frames are one stream, so `n` copies of a compressed 64 MiB of zeros are
`n * 64 MiB` of content).
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_dumps" / "graviton-new-pool"
SNAP = "20240312T140512Z"
WORKLOAD = ("Deployment", "payments", "ledger-api")  # the sample's crash-looping workload
CAUSE = "arch.single-arch-image"

MiB = 1024 * 1024
GiB = 1024 * MiB
TIME_LIMIT = 20.0  # CPU seconds per run: what the analyzer's own work costs, whatever the machine's load
WALL_LIMIT = 120.0  # wall seconds before the run is killed (a shared, loaded machine stretches wall time)
ADDRESS_LIMIT = 3 * GiB  # RLIMIT_AS of the child: an unbounded read or decode fails against it
RSS_LIMIT = 1 * GiB  # peak resident memory we accept for a run


@dataclass
class Run:
    rc: int
    stdout: str
    stderr: str
    seconds: float  # wall
    cpu: float  # user + system
    peak_rss: int

    def doc(self) -> dict[str, Any]:
        return json.loads(self.stdout)


def _command() -> list[str]:
    exe = Path(sys.executable).parent / "forensics"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "forensics"]


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))


def forensics(*args: str | Path, cwd: Path, limit: float = WALL_LIMIT) -> Run:
    """Run the installed command with an address-space limit; kill it past `limit` seconds."""
    out, err = cwd / ".stdout", cwd / ".stderr"
    env = dict(os.environ)
    env.pop("FORENSICS_DEBUG", None)  # the user's view: no debug tracebacks
    with open(out, "wb") as o, open(err, "wb") as e:
        start = time.monotonic()
        proc = subprocess.Popen([*_command(), *map(str, args)], stdout=o, stderr=e, cwd=cwd, env=env, preexec_fn=_limit)
        timer = threading.Timer(limit, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
    run = Run(
        proc.returncode,
        out.read_text(errors="replace"),
        err.read_text(errors="replace"),
        seconds,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss * 1024,
    )
    report = os.environ.get("FORENSICS_HOSTILE_REPORT")  # a line per run, for measuring the bounds
    if report:
        with open(report, "a") as f:
            f.write(
                f"{os.environ.get('PYTEST_CURRENT_TEST', '?').split(' ')[0]}\t{args[0]}\trc={run.rc}\t"
                f"cpu={run.cpu:.1f}s\twall={run.seconds:.1f}s\trss={run.peak_rss // (1 << 20)}MiB\n"
            )
    return run


def analyze(dump: Path, cwd: Path, *extra: str) -> Run:
    return forensics("analyze", dump, "-f", "json", *extra, cwd=cwd)


def assert_bounded(run: Run, codes: tuple[int, ...] = (0,)) -> None:
    """Exit code, no traceback, time and memory within bounds."""
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.rc in codes, (run.rc, run.stderr[-2000:])
    assert run.cpu < TIME_LIMIT, (run.cpu, run.seconds)
    assert run.seconds < WALL_LIMIT, run.seconds
    assert run.peak_rss < RSS_LIMIT, run.peak_rss


def assert_unusable(run: Run) -> None:
    """Exit 2 with one line on stderr."""
    assert_bounded(run, (2,))
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def problems(doc: dict[str, Any], what: str = "", file: str = "") -> list[dict[str, str]]:
    return [p for p in doc["load_problems"] if what.lower() in p["what"].lower() and file in p["file"]]


def assert_problem(doc: dict[str, Any], what: str, file: str = "", why: str = "") -> dict[str, str]:
    found = [p for p in problems(doc, what, file) if why.lower() in p["why"].lower()]
    assert found, (what, file, why, doc["load_problems"])
    return found[0]


def assert_rest_analyzed(doc: dict[str, Any]) -> None:
    """The sample's story survived: ledger-api's arm64-only image on amd64 nodes is still found."""
    kinds = {
        (f["workload"]["kind"], f["workload"]["namespace"], f["workload"]["name"]): f["cause"] for f in doc["findings"]
    }
    assert kinds.get(WORKLOAD) == CAUSE, kinds


def sample_files(top: str = "dump/") -> list[tuple[str, bytes]]:
    """The sample dump's files as archive members under `top`."""
    out = []
    for p in sorted(SAMPLE.rglob("*")):
        if p.is_file() and p.name not in ("README.md", "expected.yaml"):
            out.append((top + p.relative_to(SAMPLE).as_posix(), p.read_bytes()))
    return out


def copy_sample(into: Path) -> Path:
    dest = into / "dump"
    shutil.copytree(SAMPLE, dest, ignore=shutil.ignore_patterns("README.md", "expected.yaml"))
    return dest


def tar_members(members: Iterable[tuple[str, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """Tar members without the end-of-archive blocks (the archive may go on after them)."""
    out = []
    for name, data in members:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 1700000000
        out.append(info.tobuf(fmt) + data + b"\0" * (-len(data) % 512))
    return b"".join(out)


def tar_bytes(members: Iterable[tuple[str, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    return tar_members(members, fmt) + b"\0" * 1024


def write_tgz(path: Path, members: Iterable[tuple[str, bytes]]) -> Path:
    path.write_bytes(gzip.compress(tar_bytes(members), compresslevel=1))
    return path


_ZEROS: dict[str, bytes] = {}
CHUNK = 64 * MiB


def gzip_zeros() -> bytes:
    """One gzip member holding 64 MiB of zeros (about 65 KB)."""
    if "gz" not in _ZEROS:
        _ZEROS["gz"] = gzip.compress(b"\0" * CHUNK, compresslevel=9)
    return _ZEROS["gz"]


def gzip_padding(byte: bytes) -> bytes:
    key = "gz" + byte.hex()
    if key not in _ZEROS:
        _ZEROS[key] = gzip.compress(byte * CHUNK, compresslevel=9)
    return _ZEROS[key]


def tgz_with_big_member(
    path: Path,
    before: list[tuple[str, bytes]],
    name: str,
    head: bytes,
    size: int,
    fill: bytes = b"\0",
    after: list[tuple[str, bytes]] | None = None,
) -> Path:
    """A `.tar.gz` whose member `name` declares `size` bytes: `head`, then `fill` up to `size`. Written
    as several gzip members (the way pigz does), so the file stays a few MB whatever `size` is."""
    tar_head = tar_members(before)
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 1700000000
    piece = gzip_padding(fill)
    with open(path, "wb") as f:
        f.write(gzip.compress(tar_head + info.tobuf(tarfile.PAX_FORMAT) + head, compresslevel=1))
        left = size - len(head)
        n, rest = divmod(left, CHUNK)
        f.writelines(piece for _ in range(n))
        tail = fill * rest + b"\0" * ((512 - size % 512) % 512)
        f.write(gzip.compress(tail + tar_bytes(after or []), compresslevel=1))
    return path
