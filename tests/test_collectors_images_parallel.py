"""collectors/inspect-images inspects several images at once, never more than --jobs, and stops them all
at an interrupt.

The registry side is a stand-in `skopeo` that answers a single-arch manifest after a pause and notes
how many copies of itself run at once; what the real tools write is tested against a real registry in
tests/test_collectors_images.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.dump_builder import INSPECT, dump_with_images, load_meta, tool_env

_SKOPEO = r"""#!/bin/sh
# stand-in skopeo: note this run in $CONC, pause, print a manifest (or a config with --config)
me="$CONC/$$"
: > "$me"
ls "$CONC" | wc -l >> "$CONC.seen"
sleep "${PAUSE:-0.6}"
rm -f "$me"
case " $* " in
  *" --config "*) printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' ;;
  *) printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%064d","size":2},"layers":[]}' 0 ;;
esac
"""

REFS = [f"registry.example/team/app-{i}:1.{i}" for i in range(7)]


def _env(tmp_path: Path, pause: float) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "skopeo").write_text(_SKOPEO)
    (bin_dir / "skopeo").chmod(0o755)
    conc = tmp_path / "conc"
    conc.mkdir(exist_ok=True)
    env = tool_env(tmp_path / "home")
    env.update(PATH=f"{bin_dir}:{env['PATH']}", CONC=str(conc), PAUSE=str(pause))
    return env


@pytest.mark.parametrize("jobs", [1, 3])
def test_images_are_inspected_in_parallel_within_the_bound(tmp_path: Path, jobs: int) -> None:
    dump = dump_with_images(tmp_path / "dump", REFS)
    env = _env(tmp_path, 0.4)
    proc = subprocess.run(
        ["bash", str(INSPECT), "--tool", "skopeo", "--jobs", str(jobs), str(dump)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    seen = [int(n) for n in (tmp_path / "conc.seen").read_text().split()]
    assert max(seen) == jobs  # as many at once as allowed (11 images, 2 calls each), never more
    # every image was inspected, its records kept: one ref.txt, manifest and config per image
    for ref in REFS:
        slug = "".join(c if c.isalnum() or c in "._-" else "_" for c in ref)
        folder = dump / "images" / slug
        assert (folder / "ref.txt").read_text() == ref + "\n"
        assert (folder / "manifest.json").is_file() and (folder / "config.json").is_file()
    meta = load_meta(dump)
    skopeo = [c for c in meta["commands"] if "skopeo" in c["argv"]]
    images = list((dump / "images").iterdir())  # ours and the tiny dump's own
    assert len(images) > len(REFS)
    assert len(skopeo) == 2 * len(images) and all(c["exit_code"] == 0 for c in skopeo)
    assert [c["started_at"] for c in skopeo] == sorted(c["started_at"] for c in skopeo)  # records in start order


def test_an_interrupt_stops_every_running_inspection(tmp_path: Path) -> None:
    dump = dump_with_images(tmp_path / "dump", REFS)
    env = _env(tmp_path, 30)
    proc = subprocess.Popen(
        ["bash", str(INSPECT), "--tool", "skopeo", "--jobs", "3", str(dump)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        conc = tmp_path / "conc"
        deadline = time.monotonic() + 30
        while len(list(conc.iterdir())) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        running = [int(p.name) for p in conc.iterdir()]
        assert len(running) == 3
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        assert time.monotonic() - t0 < 10
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    time.sleep(0.2)
    for pid in running:  # no inspection left running after the collector is gone
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    meta = load_meta(dump)
    assert any("interrupted" in f for f in meta["failures"])
