"""`forensics fleet` on a real dask.distributed LocalCluster, over dumps built from the sample stories
(several formats, snapshot splits, archives, a duplicate) and broken inputs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from forensics.analysis.analyze import analyze
from forensics.read.formats import load_any
from tests.foreign_dumps import to_mustgather, to_troubleshoot
from tests.multi_dumps import REPO, SAMPLES, STORIES, snapshots_of, split_snapshot, tarball

distributed = pytest.importorskip("distributed")
LOST = SAMPLES / "lost-multiarch-tag"
DOCS = REPO / "docs" / "fleet.md"


@pytest.fixture(scope="module")
def cluster() -> Any:
    """One small cluster for the module: 2 single-threaded workers in this process, reachable over TCP
    (so the installed command can be pointed at it with --scheduler)."""
    lc = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://", dashboard_address=None
    )
    client = distributed.Client(lc)
    yield client
    client.close()
    lc.close()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fleet-in")
    dumps: dict[str, Path] = {f"story:{s}": SAMPLES / s for s in STORIES}
    dumps["tgz:graviton"] = SAMPLES / "graviton-new-pool.tar.gz"
    for s in ("laptop-build", "not-arch"):
        dumps[f"tgz:{s}"] = tarball(SAMPLES / s, root / f"{s}.tar.gz")
    for i, snap in enumerate(snapshots_of(LOST)):
        dumps[f"lost:{i}"] = split_snapshot(LOST, snap, root / f"lost-{i}")
    dumps["ts:graviton"] = to_troubleshoot(SAMPLES / "graviton-new-pool", root / "ts1")[0]
    dumps["ts:index"] = to_troubleshoot(SAMPLES / "index-without-arm64", root / "ts2", bare_arrays=True)[0]
    dumps["mg:not-arch"] = to_mustgather(SAMPLES / "not-arch", root / "mg")[0]
    dumps["dup:healthy"] = Path(shutil.copytree(SAMPLES / "healthy-mixed", root / "healthy-copy"))
    # broken ones
    (root / "notes.txt").write_text("customer said: pods crash after upgrade\n")
    dumps["bad:text"] = root / "notes.txt"
    (root / "empty").mkdir()
    dumps["bad:empty"] = root / "empty"
    (root / "garbage").mkdir()
    (root / "garbage" / "pods.json").write_text('{"items": [')
    dumps["bad:garbage"] = root / "garbage"
    data = (SAMPLES / "graviton-new-pool.tar.gz").read_bytes()
    (root / "cut.tar.gz").write_bytes(data[:200])
    dumps["bad:cut-header"] = root / "cut.tar.gz"
    dumps["bad:missing"] = root / "no-such-dump.tgz"
    dumps["hostile:tar"] = _hostile_tarball(root / "evil.tar.gz")
    assert len(dumps) >= 20
    return dumps


def _hostile_tarball(out: Path) -> Path:
    """The not-arch story with members that try to escape (`..`, absolute, a symlink to /etc)."""
    import io
    import tarfile

    with tarfile.open(out, "w:gz") as tar:
        tar.add(SAMPLES / "not-arch", arcname="not-arch")
        for name in ("not-arch/../../escaped-by-dotdot", "/tmp/escaped-absolute"):
            info = tarfile.TarInfo(name)
            payload = b"should never be written"
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        link = tarfile.TarInfo("not-arch/snapshots/evil-link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc"
        tar.addfile(link)
    return out


@pytest.fixture(scope="module")
def fleet(cluster: Any, inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    from forensics.several.fleet import run_fleet

    out = tmp_path_factory.mktemp("fleet-out")
    summary = run_fleet([str(p) for p in inputs.values()], out, client=cluster)
    return out, summary


def table(out: Path, name: str) -> pd.DataFrame:
    df = pd.read_parquet(out / "dataset" / name)
    df["dump_id"] = df["dump_id"].astype(str)
    return df


def row_of(dumps: pd.DataFrame, path: Path) -> pd.Series:
    rows = dumps[dumps["source_path"] == str(path.absolute())]
    assert len(rows) == 1, path
    return rows.iloc[0]


def test_every_input_is_accounted_for(fleet: tuple[Path, dict], inputs: dict[str, Path]) -> None:
    out, summary = fleet
    run = summary["run"]
    assert run["inputs"] == len(inputs)
    assert len(run["analyzed"]) + len(run["failed"]) + len(run["duplicates"]) + len(run["unreadable"]) == len(inputs)
    assert [d["source_path"] for d in run["duplicates"]] == [str(inputs["dup:healthy"].absolute())]
    assert [u["source_path"] for u in run["unreadable"]] == [str(inputs["bad:missing"].absolute())]
    dumps = table(out, "dumps")
    assert dumps["dump_id"].is_unique and len(dumps) == len(inputs) - 2
    bad = {k for k in inputs if k.startswith("bad:") and k != "bad:missing"}
    for key, path in inputs.items():
        if key in ("dup:healthy", "bad:missing"):
            continue
        r = row_of(dumps, path)
        if key in bad:
            assert r["status"] == "failed" and r["reason"], key
        else:
            assert r["status"] == "ok", (key, r["reason"])
            assert (out / r["report"]).is_file() and (out / "reports" / f"{r['dump_id']}.json").is_file()
    assert "not a dump" in row_of(dumps, inputs["bad:text"])["reason"]


def test_findings_are_those_analyze_gives(fleet: tuple[Path, dict], inputs: dict[str, Path]) -> None:
    out, _ = fleet
    dumps, findings = table(out, "dumps"), table(out, "findings")
    for key in ("story:not-arch", "lost:2", "ts:index", "mg:not-arch", "story:hostile"):
        doc = analyze(load_any(inputs[key]))
        want = sorted(
            (f["cause"], f["workload"]["kind"], f["workload"]["namespace"], f["workload"]["name"], latent)
            for latent, sec in ((False, "findings"), (True, "latent"))
            for f in doc[sec]
        )
        mine = findings[findings["dump_id"] == row_of(dumps, inputs[key])["dump_id"]]
        got = sorted(
            zip(
                mine["cause"],
                mine["workload_kind"],
                mine["namespace"],
                mine["workload_name"],
                mine["latent"],
                strict=True,
            )
        )
        assert got == want, key
        assert set(mine["source_path"]) <= {str(inputs[key].absolute())}
    hostile = row_of(dumps, inputs["story:hostile"])
    assert hostile["load_problems"] >= 1  # the truncated statefulsets.json, recorded, the rest analyzed
    evil = row_of(dumps, inputs["hostile:tar"])
    assert evil["status"] == "ok" and evil["load_problems"] >= 2  # the escaping members, refused and named
    assert not Path("/tmp/escaped-absolute").exists()
    assert not (inputs["hostile:tar"].parent.parent / "escaped-by-dotdot").exists()
    assert not list(out.rglob("escaped-*"))


def test_one_dataset_readable_by_pandas_dask_and_duckdb(fleet: tuple[Path, dict]) -> None:
    out, _ = fleet
    ids = set(table(out, "dumps").query("status == 'ok'")["dump_id"])
    nodes = table(out, "nodes")
    assert set(nodes["dump_id"]) == ids  # every analyzed story has nodes
    assert {"source_path", "collected_at", "arch", "snapshot"} <= set(nodes.columns)
    dd = pytest.importorskip("dask.dataframe")
    assert len(dd.read_parquet(str(out / "dataset" / "findings")).compute()) == len(table(out, "findings"))
    duckdb = pytest.importorskip("duckdb")
    n = duckdb.sql(
        f"SELECT count(DISTINCT dump_id) FROM read_parquet('{out}/dataset/containers/*/*.parquet', "
        "hive_partitioning=true)"
    ).fetchall()
    assert n == [(len(ids),)]


def _doc_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", DOCS.read_text(), re.DOTALL)


def test_the_documented_duckdb_queries(
    fleet: tuple[Path, dict], inputs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    duckdb = pytest.importorskip("duckdb")
    out, _ = fleet
    q1, q2, q3 = _doc_queries()
    monkeypatch.chdir(out)  # the docs run them from DIR
    lacks = duckdb.sql(q1).fetchall()
    paths = {r[1] for r in lacks}
    # the stories where an amd64-only image meets arm64 nodes, in every form that holds image inspections
    for key in ("story:graviton-new-pool", "tgz:graviton", "lost:1", "lost:2", "story:hostile"):
        assert str(inputs[key].absolute()) in paths, key
    # a support bundle holds no image inspection: what an image lacks is unknown there, not "nothing"
    assert str(inputs["ts:graviton"].absolute()) not in paths
    # before the rollout the checkout tag was a multi-arch index: nothing lacked arm64
    assert str(inputs["lost:0"].absolute()) not in paths
    assert "registry.example.com/shop/checkout:2.4" in {r[2] for r in lacks if r[1] == str(inputs["lost:2"].absolute())}
    causes = {r[0]: r for r in duckdb.sql(q2).fetchall()}
    assert causes["arch.bare-manifest-tag"][2] >= 2  # lost:1 and lost:2
    assert causes["arch.single-arch-image"][2] >= 4
    exec_lines = duckdb.sql(q3).fetchall()
    assert exec_lines and {r[1] for r in exec_lines} >= {"arm64"}


def test_summary_names_causes_images_and_severe_dumps(fleet: tuple[Path, dict], inputs: dict[str, Path]) -> None:
    out, summary = fleet

    def no_nan(name: str) -> None:
        raise AssertionError(f"fleet.json holds {name}, which is not JSON")

    # strict JSON: a dump without a cluster name (a support bundle, a failed dump) is null, not NaN
    assert json.loads((out / "fleet.json").read_text(), parse_constant=no_nan)["counts"] == summary["counts"]
    assert any(d["cluster"] is None for d in summary["most_severe"])
    cells = {c.strip() for line in (out / "fleet.md").read_text().splitlines() for c in line.split("|")}
    assert "nan" not in cells and "NaN" not in cells
    assert ">nan<" not in (out / "fleet.html").read_text()
    by = {c["cause"]: c for c in summary["causes"]}
    bare = {x["source_path"] for x in by["arch.bare-manifest-tag"]["by_dump"]}
    assert {str(inputs["lost:1"].absolute()), str(inputs["lost:2"].absolute())} <= bare
    (checkout,) = [i for i in summary["images_lacking_archs"] if i["image"] == "registry.example.com/shop/checkout:2.4"]
    assert checkout["lacks"] == ["arm64"] and checkout["lacks_where_running"] == ["arm64"]
    assert all(i["image"] != "registry.example.com/shop/checkout:2.3" for i in summary["images_lacking_archs"])
    # the most severe dump first: no analyzed dump has a worse finding
    worst = summary["most_severe"][0]["worst_severity"]
    order = ["info", "low", "medium", "high", "critical"]
    for key in ("story:laptop-build", "story:not-arch", "lost:2"):
        doc = analyze(load_any(inputs[key]))
        assert all(order.index(f["severity"]) <= order.index(worst) for f in doc["findings"])
    assert {f["source_path"] for f in summary["failed"]} >= {str(inputs["bad:text"].absolute())}
    html = (out / "fleet.html").read_text()
    assert "<script" not in html.lower()
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp and "default-src 'none'" in unescape(csp.group(1))
    links = re.findall(r'href="([^"]+)"', html)
    assert links and all((out / link).is_file() for link in links)
    md = (out / "fleet.md").read_text()
    assert "arch.bare-manifest-tag" in md and "registry.example.com/shop/checkout:2.4" in md


def test_rerun_skips_what_is_done_and_redoes_an_interrupted_dump(
    cluster: Any, inputs: dict[str, Path], tmp_path: Path
) -> None:
    from forensics.several.fleet import run_fleet

    out = tmp_path / "out"
    some = [inputs[k] for k in ("story:laptop-build", "lost:0", "bad:text")]
    first = run_fleet([str(p) for p in some], out, client=cluster)
    assert len(first["run"]["analyzed"]) == 2 and len(first["run"]["failed"]) == 1
    files = {p: p.stat().st_mtime_ns for p in (out / "dataset").rglob("*.parquet")}
    again = run_fleet([str(p) for p in some] + [str(inputs["story:not-arch"])], out, client=cluster)
    assert len(again["run"]["skipped"]) == 2
    assert [a["source_path"] for a in again["run"]["analyzed"]] == [str(inputs["story:not-arch"].absolute())]
    assert len(again["run"]["failed"]) == 1  # failures are tried again
    kept = {p: p.stat().st_mtime_ns for p in files if "dump_id=" in str(p) and p.exists()}
    ok_ids = {a["dump_id"] for a in first["run"]["analyzed"]}
    for p, t in kept.items():
        if any(f"dump_id={i}" in str(p) for i in ok_ids):
            assert t == files[p], p
    assert again["counts"]["dumps"] == 4
    # an interrupted dump: its tables written, its dumps row not yet
    victim = first["run"]["analyzed"][0]["dump_id"]
    shutil.rmtree(out / "dataset" / "dumps" / f"dump_id={victim}")
    third = run_fleet([str(p) for p in some], out, client=cluster)
    assert [a["dump_id"] for a in third["run"]["analyzed"]] == [victim]
    assert table(out, "findings").groupby("dump_id").size().get(victim, 0) == len(
        pd.read_parquet(out / "dataset" / "findings" / f"dump_id={victim}")
    )


def test_the_command_on_an_existing_scheduler(cluster: Any, inputs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cli"
    address = cluster.scheduler.address
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "forensics",
            "fleet",
            str(inputs["lost:2"]),
            str(inputs["bad:empty"]),
            "-o",
            str(out),
            "--scheduler",
            address,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "2 dumps" in proc.stdout and "1 failed" in proc.stdout
    assert re.search(r"^ok\s+\S*lost-2$", proc.stderr, re.MULTILINE) and re.search(
        r"^failed\s+\S*empty", proc.stderr, re.MULTILINE
    )
    summary = json.loads((out / "fleet.json").read_text())
    assert [c["cause"] for c in summary["causes"]] == ["arch.bare-manifest-tag"]


def test_the_command_on_its_own_local_cluster(inputs: dict[str, Path], tmp_path: Path) -> None:
    """No --scheduler: the command starts (and stops) its own LocalCluster of worker processes."""
    out = tmp_path / "own"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "forensics",
            "fleet",
            str(inputs["story:laptop-build"]),
            "-o",
            str(out),
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (row,) = pd.read_parquet(out / "dataset" / "dumps").itertuples()
    assert row.status == "ok" and row.worst_severity is not None
    assert [c["cause"] for c in json.loads((out / "fleet.json").read_text())["causes"]] == ["arch.apple-silicon-build"]


def test_a_dump_that_kills_its_worker_is_recorded_and_the_rest_goes_on(tmp_path: Path) -> None:
    """A real worker process with a memory limit; a 15,000-pod dump makes the nanny kill it. That dump is
    recorded as failed with the reason, the small dump queued on the same worker is analyzed."""
    import dask

    big = tmp_path / "big.tar.gz"
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "gen_dump.py"), "--pods", "15000", "--nodes", "300", "--out", str(big)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    from forensics.several.fleet import run_fleet

    # fail a task at its first lost worker (the default retries it three times: slower, same outcome)
    with dask.config.set(
        {
            "distributed.scheduler.allowed-failures": 0,
            "distributed.worker.memory.pause": False,
            "distributed.worker.memory.spill": False,
            "distributed.worker.memory.target": False,
        }
    ):
        lc = distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, memory_limit="450MB", dashboard_address=None
        )
        client = distributed.Client(lc)
        try:
            summary = run_fleet([str(big), str(SAMPLES / "not-arch")], tmp_path / "out", client=client)
        finally:
            client.close()
            lc.close()
    (failed,) = summary["run"]["failed"]
    assert failed["source_path"] == str(big) and "KilledWorker" in failed["reason"]
    assert [a["source_path"] for a in summary["run"]["analyzed"]] == [str(SAMPLES / "not-arch")]
    dumps = table(tmp_path / "out", "dumps").set_index("source_path")
    assert dumps.loc[str(big), "status"] == "failed" and dumps.loc[str(SAMPLES / "not-arch"), "status"] == "ok"


def test_an_unreachable_scheduler_is_one_clear_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "forensics",
            "fleet",
            str(SAMPLES / "not-arch"),
            "-o",
            str(tmp_path / "x"),
            "--scheduler",
            f"tcp://127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("forensics: cannot reach the Dask scheduler at tcp://127.0.0.1:")
    assert len(proc.stderr.strip().splitlines()) == 1


WILD_ROOTS = (Path(__file__).resolve().parent / "fixtures" / "wild", REPO.parent / "shared" / "wild")
WILD_INPUTS = (
    "sbctl-kurl",
    "ts-k3d-arm64/support-bundle.tar.gz",
    "ts-analyzer-pods",
    "insights-archive",
    "mg-cnv-qemtv",
    "cid-cka-notready/cluster-info-dump.json",
    "cid-k3s-header/cluster-info-dump",
)


def test_real_dumps_from_the_wild(cluster: Any, tmp_path: Path) -> None:
    """The real dumps (tests/fixtures/wild, and ../shared/wild when present) through the fleet: each is
    analyzed, with the findings `analyze` gives it, and the summary is strict JSON."""
    from forensics.several.fleet import run_fleet

    paths = [next((r / rel for r in WILD_ROOTS if (r / rel).exists()), None) for rel in WILD_INPUTS]
    real = [p for p in paths if p is not None]
    if not real:
        pytest.skip("no real dumps next to the repository")
    out = tmp_path / "fleet"
    summary = run_fleet([str(p) for p in real], out, client=cluster)
    assert summary["counts"]["ok"] == len(real) and summary["counts"]["failed"] == 0
    dumps, findings = table(out, "dumps"), table(out, "findings")
    for p in real:
        doc = analyze(load_any(p))
        want = sorted((f["cause"], f["workload"]["name"]) for f in doc["findings"])
        mine = findings[(findings["dump_id"] == row_of(dumps, p)["dump_id"]) & ~findings["latent"]]
        assert sorted(zip(mine["cause"], mine["workload_name"], strict=True)) == want, p
    json.loads((out / "fleet.json").read_text(), parse_constant=lambda c: pytest.fail(f"fleet.json holds {c}"))
