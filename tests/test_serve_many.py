"""`forensics serve` for every format analyze reads, several dumps or snapshots at once, with the real kubectl."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from forensics.errors import UnusableInput
from forensics.read.formats import load_any
from forensics.serve.many import kubeconfig_multi, make_contexts
from tests.dump_builder import REPO, tool_env
from tests.foreign_dumps import (
    latest_snapshot,
    read_logs,
    read_objects,
    real_cluster_info_dump,
    to_mustgather,
    to_troubleshoot,
)
from tests.multi_dumps import SAMPLES, snapshots_of

pytestmark = pytest.mark.kubectl
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
STORY = SAMPLES / "graviton-new-pool"
LOST = SAMPLES / "lost-multiarch-tag"
# the real dumps: the copies kept in tests/fixtures/wild, the others next to the repository (as in test_wild)
WILD_ROOTS = (Path(__file__).resolve().parent / "fixtures" / "wild", REPO.parent / "shared" / "wild")


@contextmanager
def serving(tmp: Path, *args: str) -> Iterator[Path]:
    """`forensics serve ARGS --kubeconfig-out K` as a user runs it; yields K once written."""
    kc = tmp / "kubeconfig"
    proc = subprocess.Popen(
        [sys.executable, "-m", "forensics", "serve", *args, "--kubeconfig-out", str(kc)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not kc.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if not kc.exists():
            err = proc.stderr.read() if proc.poll() is not None and proc.stderr else "timed out"
            raise AssertionError(f"serve did not start: {err}")
        yield kc
    finally:
        # SIGTERM, not SIGINT: a test run started in the background inherits SIGINT ignored
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def kubectl(kc: Path, home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    proc = subprocess.run(
        [KUBECTL, *args], env=tool_env(home, kc), text=True, capture_output=True, timeout=90, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {proc.stderr}")
    return proc


def names(out: str) -> list[str]:
    return sorted(i["metadata"]["name"] for i in json.loads(out)["items"])


@pytest.fixture(scope="module")
def formats(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The graviton story in every format analyze reads."""
    root = tmp_path_factory.mktemp("formats")
    out: dict[str, Path] = {"v1": STORY, "v1-tgz": SAMPLES / "graviton-new-pool.tar.gz"}
    out["bundle"] = to_troubleshoot(STORY, root / "ts")[0]
    out["bundle-old"] = to_troubleshoot(STORY, root / "ts-old", bare_arrays=True)[0]
    out["must-gather"] = to_mustgather(STORY, root / "mg")[0]
    out["inspect"] = to_mustgather(STORY, root / "mgi", inspect=True)[0]
    if KUBECTL is not None:
        out["cluster-info"] = real_cluster_info_dump(STORY, root / "ci")
        out["cluster-info-stdout"] = real_cluster_info_dump(STORY, root / "cis", stdout=True)
        out["cluster-info-yaml"] = real_cluster_info_dump(STORY, root / "ciy", output="yaml")
    loose = root / "loose"
    loose.mkdir()
    snap = latest_snapshot(STORY)
    for kind in ("pods", "nodes", "events"):
        shutil.copy(STORY / "snapshots" / snap / f"{kind}.json", loose / f"{kind}.json")
    out["loose"] = loose
    return out


@needs_kubectl
def test_every_format_at_once_one_context_each(formats: dict[str, Path], tmp_path: Path) -> None:
    snap = latest_snapshot(STORY)
    want_pods = sorted(p["metadata"]["name"] for p in read_objects(STORY, snap)["pods"])
    want_nodes = sorted(n["metadata"]["name"] for n in read_objects(STORY, snap)["nodes"])
    previous = {(ns, pod, c): data for ns, pod, c, prev, data in read_logs(STORY, snap) if prev}
    (ns, pod, container), prev_log = min(previous.items())
    with serving(tmp_path, *(f"{k}={v}" for k, v in formats.items())) as kc:
        home = tmp_path / "home"
        listed = kubectl(kc, home, "config", "get-contexts", "-o", "name").stdout.split()
        assert sorted(listed) == sorted(formats)
        for ctx in formats:
            pods = kubectl(kc, home, "--context", ctx, "get", "pods", "-A", "-o", "json")
            assert names(pods.stdout) == want_pods, ctx
            nodes = kubectl(kc, home, "--context", ctx, "get", "nodes", "-o", "json")
            assert names(nodes.stdout) == want_nodes, ctx
            table = kubectl(kc, home, "--context", ctx, "get", "pods", "-n", ns).stdout
            assert pod in table and "CrashLoopBackOff" in table, ctx
            logs = kubectl(
                kc, home, "--context", ctx, "logs", "-n", ns, pod, "-c", container, "--previous", check=False
            )
            if ctx.startswith("cluster-info"):
                # kubectl cluster-info dump never keeps previous logs: the real error, not an empty log
                assert logs.returncode == 1 and "previous terminated container" in logs.stderr, ctx
            elif ctx != "loose":
                assert logs.returncode == 0, (ctx, logs.stderr)
                assert logs.stdout.encode() == prev_log, ctx  # must-gather's --timestamps prefixes removed
        stamped = kubectl(
            kc, home, "--context", "must-gather", "logs", "-n", ns, pod, "-c", container, "--previous", "--timestamps"
        ).stdout
        first = stamped.splitlines()[0]
        assert first.endswith(prev_log.decode().splitlines()[0]) and first[:4].isdigit() and "T" in first[:20]


@needs_kubectl
def test_all_snapshots_of_one_dump_as_contexts(tmp_path: Path) -> None:
    snaps = snapshots_of(LOST)
    with serving(tmp_path, str(LOST), "--all-snapshots") as kc:
        home = tmp_path / "home"
        ctxs = kubectl(kc, home, "config", "get-contexts", "-o", "name").stdout.split()
        assert ctxs == [f"lost-multiarch-tag@{s}" for s in snaps]
        current = kubectl(kc, home, "config", "current-context").stdout.strip()
        assert current == ctxs[-1]

        def images(ctx: str) -> set[str]:
            out = kubectl(kc, home, "--context", ctx, "get", "pods", "-n", "shop", "-o", "json").stdout
            return {c["image"] for p in json.loads(out)["items"] for c in p["spec"]["containers"]}

        assert "registry.example.com/shop/checkout:2.4" not in images(ctxs[0])
        assert "registry.example.com/shop/checkout:2.4" in images(ctxs[-1])


@needs_kubectl
def test_two_snapshots_and_two_dumps_named_on_the_command_line(tmp_path: Path) -> None:
    with serving(tmp_path, f"before={LOST}@0", f"after={LOST}@-1", str(STORY)) as kc:
        home = tmp_path / "home"
        assert sorted(kubectl(kc, home, "config", "get-contexts", "-o", "name").stdout.split()) == [
            "after",
            "before",
            "graviton-new-pool",
        ]
        before = kubectl(kc, home, "--context", "before", "get", "pods", "-n", "shop", "-o", "json").stdout
        after = kubectl(kc, home, "--context", "after", "get", "pods", "-n", "shop", "-o", "json").stdout
        assert names(before) != names(after)
        g = kubectl(kc, home, "--context", "graviton-new-pool", "get", "nodes", "-o", "name").stdout.split()
        assert g and all(n.startswith("node/ip-") for n in g)


def test_kubeconfig_names_are_quoted_and_distinct(tmp_path: Path) -> None:
    text = kubeconfig_multi([("a: b", "http://127.0.0.1:1"), ("c", "http://127.0.0.1:2")])
    doc = yaml.safe_load(text)
    assert [c["name"] for c in doc["contexts"]] == ["a: b", "c"] and doc["current-context"] == "c"
    contexts = make_contexts([str(STORY), str(STORY)])
    try:
        assert [c.name for c in contexts] == ["graviton-new-pool", "graviton-new-pool-2"]
        assert contexts[0].url != contexts[1].url
    finally:
        for c in contexts:
            c.server.server_close()


def test_a_busy_port_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "forensics", "serve", str(STORY), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"forensics: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_not_a_dump_is_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    proc = subprocess.run(
        [sys.executable, "-m", "forensics", "serve", str(STORY), str(junk)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("forensics: ") and "not a dump" in proc.stderr


WILD_INPUTS = [
    "sbctl-kurl",
    "ts-k3d-arm64/support-bundle.tar.gz",
    "ts-analyzer-pods",
    "mg-cnv-qemtv",
    "cid-cka-notready/cluster-info-dump.json",
    "cid-k3s-header/cluster-info-dump",
    "insights-archive",
]


@needs_kubectl
def test_real_dumps_from_the_wild(tmp_path: Path) -> None:
    """Every real dump the analyzer reads is served with the same pods and nodes it analyzes."""
    usable = {}
    for rel in WILD_INPUTS:
        path = next((root / rel for root in WILD_ROOTS if (root / rel).exists()), None)
        if path is None:
            continue
        try:
            usable[rel.split("/")[0]] = (path, load_any(path))
        except UnusableInput:  # a format the analyzer does not read is not served either
            pass
    if not usable:
        pytest.skip("no readable real dump")
    with serving(tmp_path, *(f"{k}={p}" for k, (p, _) in usable.items())) as kc:
        home = tmp_path / "home"
        assert sorted(kubectl(kc, home, "config", "get-contexts", "-o", "name").stdout.split()) == sorted(usable)
        for ctx, (_, dump) in usable.items():
            last = dump.snapshots[-1]
            pods = dump.frames["pods"]
            want = sorted(set(pods.loc[pods["snapshot"] == last, "pod"]))
            got = names(kubectl(kc, home, "--context", ctx, "get", "pods", "-A", "-o", "json").stdout)
            assert got == want, ctx
            nodes = dump.frames["nodes"]
            want_nodes = sorted(set(nodes.loc[nodes["snapshot"] == last, "node"]))
            assert names(kubectl(kc, home, "--context", ctx, "get", "nodes", "-o", "json").stdout) == want_nodes, ctx


@needs_kubectl
def test_kubectl_text_is_served_as_it_was_parsed(tmp_path: Path) -> None:
    """A ticket of kubectl text (a folder, and the same pasted into one file) is answered from what the
    analyzer parsed it into: the story's pods and nodes, `describe` (objects read by their shape get
    their apiVersion and kind, as from an API server) and the pasted logs, `--previous` included."""
    from tests.kubectl_ticket import kubectl_ticket

    ticket = kubectl_ticket(STORY, tmp_path / "ticket")
    snap = latest_snapshot(STORY)
    want_pods = sorted(p["metadata"]["name"] for p in read_objects(STORY, snap)["pods"])
    want_nodes = sorted(n["metadata"]["name"] for n in read_objects(STORY, snap)["nodes"])
    previous = {(ns, pod, c): data for ns, pod, c, prev, data in read_logs(STORY, snap) if prev}
    (ns, pod, container), prev_log = min(previous.items())
    with serving(tmp_path, f"folder={ticket.folder}", f"pasted={ticket.single}") as kc:
        home = tmp_path / "home"
        for ctx in ("folder", "pasted"):
            pods = kubectl(kc, home, "--context", ctx, "get", "pods", "-A", "-o", "json").stdout
            assert names(pods) == want_pods, ctx
            nodes = kubectl(kc, home, "--context", ctx, "get", "nodes", "-o", "json").stdout
            assert names(nodes) == want_nodes, ctx
            table = kubectl(kc, home, "--context", ctx, "get", "pods", "-n", ns).stdout
            assert pod in table and "CrashLoopBackOff" in table, ctx
            described = kubectl(kc, home, "--context", ctx, "describe", "pod", "-n", ns, pod).stdout
            assert "Name:" in described and pod in described and "Events:" in described, ctx
            got = kubectl(kc, home, "--context", ctx, "logs", "-n", ns, pod, "-c", container, "--previous").stdout
            assert got.strip() == prev_log.decode().strip(), ctx
