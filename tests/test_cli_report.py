"""What the installed command says about the sample stories, checked against the dumps themselves:
the incident's first failure, figures that agree everywhere, the gaps that matter, the charts,
`platforms --require`, and `serve` with requests that carry a body."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from forensics.render.view import fmt_time
from tests.test_cli import FORENSICS, SAMPLES, run

STORIES = sorted(p.parent.name for p in SAMPLES.glob("*/expected.yaml"))
REALDATA = Path(__file__).resolve().parent / "fixtures" / "realdata"


def _t(s: str) -> datetime:
    return datetime.fromisoformat(s)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Per story: the JSON document, the Markdown, the HTML and the terminal summary."""
    out: dict[str, dict[str, str]] = {}
    for story in STORIES:
        d = tmp_path_factory.mktemp(story)
        term = run("analyze", str(SAMPLES / story), cwd=d)
        assert term.returncode == 0, term.stderr
        js = run("analyze", str(SAMPLES / story), "-f", "json", cwd=d)
        (d / "f.json").write_text(js.stdout)
        md = run("render", str(d / "f.json"), "-o", "-", "-f", "md", cwd=d)
        assert md.returncode == 0, md.stderr
        out[story] = {
            "json": js.stdout,
            "md": md.stdout,
            "terminal": term.stdout,
            "html": next(d.glob("forensics-report-*.html")).read_text(),
        }
    return out


def _raw(story: str, kind: str) -> list[dict]:
    items: list[dict] = []
    for f in sorted((SAMPLES / story / "snapshots").glob(f"*/{kind}.json")):
        items += json.loads(f.read_text()).get("items") or []
    return items


# ---------------------------------------------------------------------------------------------- when


@pytest.mark.parametrize("story", STORIES)
def test_first_failure_is_the_earliest_evidence(story: str, outputs: dict) -> None:
    doc = json.loads(outputs[story]["json"])
    events = [e for e in _raw(story, "events") if e.get("type") == "Warning"]
    pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in _raw(story, "pods")}
    for f in doc["findings"]:
        ns, first = f["workload"]["namespace"], _t(f["first_seen"])
        for e in events:
            obj = e.get("involvedObject") or {}
            if obj.get("kind") == "Pod" and obj.get("name") in f["pods"] and e.get("firstTimestamp"):
                assert first <= _t(e["firstTimestamp"]), (f["workload"], e["reason"], e["firstTimestamp"])
        for c in f["containers"]:
            pod, cont = c.split("/", 1)
            p = pods.get((ns, pod))
            for st in (p or {}).get("status", {}).get("containerStatuses") or []:
                term = (st.get("lastState") or {}).get("terminated") or {}
                if st["name"] == cont and term.get("startedAt", "1970")[:4] > "1990":
                    assert first <= _t(term["startedAt"]), (c, term["startedAt"])
        # one value: the finding's timeline says the same
        marks = [e["at"] for e in f["timeline"] if e["kind"] == "first-failure"]
        assert marks == [f["first_seen"]]
    firsts = [f["first_seen"] for f in doc["findings"] if not f["cause"].startswith("analyzer.")]
    s = doc["summary"]
    assert s["first_failure"] == (min(firsts) if firsts else None)
    for e in doc["timeline"]:
        if e["kind"] == "first-failure":
            assert e["at"] in firsts
    if s["first_failure"]:
        when = fmt_time(s["first_failure"])
        assert f"since {s['first_failure']}" in " ".join(outputs[story]["terminal"].split())
        assert when in outputs[story]["md"].split("## 2.")[0]
        html = outputs[story]["html"]
        assert when in html[html.index('id="verdict"') : html.index('id="inventory"')]


def test_a_crash_loop_since_the_pods_started_is_dated_from_their_start(outputs: dict) -> None:
    """graviton-new-pool: the arm64 pods have crash-looped since they started (restartCount 49,
    never Ready), hours before the first event the dump still has and the last crash."""
    doc = json.loads(outputs["graviton-new-pool"]["json"])
    f = doc["findings"][0]
    starts = [
        _t(p["status"]["startTime"]) for p in _raw("graviton-new-pool", "pods") if p["metadata"]["name"] in f["pods"]
    ]
    assert _t(doc["summary"]["first_failure"]) == min(starts)


# ---------------------------------------------------------------------------------------------- how much


@pytest.mark.parametrize("story", STORIES)
def test_one_figure_one_value(story: str, outputs: dict) -> None:
    doc = json.loads(outputs[story]["json"])
    s, c = doc["summary"], doc["dump"]["counts"]
    failing = [f for f in doc["findings"] if not f["cause"].startswith("analyzer.")]
    workloads = [f for f in failing if f["workload"]["kind"] != "Node"]  # a node is not a workload
    assert s["failing_workloads"] == len(workloads)
    assert s["restarts"] == sum(f["restarts"] for f in workloads)
    assert s["restarts"] == sum(r["restarts"] for r in doc["series"]["restarts_by_arch"])
    for f in failing:
        if f["restart_matrix"]:
            assert f["restarts"] == sum(r["restarts"] for r in f["restart_matrix"]), f["workload"]
    pods = {(f["workload"]["namespace"], p) for f in workloads for p in f["pods"]}
    assert s["failing_pods"] == len(pods) <= c["pods"]
    assert s["affected_nodes"] == len({n for f in failing for n in f["nodes"]}) <= c["nodes"]
    if failing:
        assert (
            f"({s['failing_pods']} of {c['pods']} pods, on {s['affected_nodes']} of {c['nodes']} node(s)"
            in s["verdict"]
        )
    # the same figures in every rendering
    nodes = f"{c['nodes']:,} node{'' if c['nodes'] == 1 else 's'}"
    pods_seen = f"{c['pods']:,} pod{'' if c['pods'] == 1 else 's'}"
    term = " ".join(outputs[story]["terminal"].split())
    assert f"{nodes}, {pods_seen}" in term
    md = outputs[story]["md"]
    assert f"{nodes}, {pods_seen}" in md
    html = re.sub(r"<[^>]+>", " ", outputs[story]["html"])
    html = " ".join(html.split())
    assert f"{nodes} · {pods_seen}" in html
    if failing:
        assert f"{s['failing_pods']:,} / {c['pods']:,} pods failing" in html
        assert f"{s['restarts']:,} restarts of failing workloads" in html
        for r in doc["series"]["restarts_by_arch"]:
            assert r["failing_pods"] <= s["failing_pods"]


# ---------------------------------------------------------------------------------------------- limits


def test_gaps_listed_only_where_they_matter(outputs: dict) -> None:
    doc = json.loads(outputs["not-arch"]["json"])  # all amd64, no architecture finding
    gap = next(g for g in doc["gaps"] if g["what"] == "no binfmt_misc listings")
    assert gap["relevant"] is False
    assert "no binfmt_misc listings:" not in outputs["not-arch"]["terminal"]
    html = outputs["not-arch"]["html"]
    assert "<strong>no binfmt_misc listings</strong>" not in html
    mixed = json.loads(outputs["graviton-new-pool"]["json"])  # mixed cluster, architecture finding
    assert next(g for g in mixed["gaps"] if g["what"] == "no binfmt_misc listings")["relevant"] is True
    assert "no binfmt_misc listings:" in outputs["graviton-new-pool"]["terminal"]


def test_markdown_claims_no_checksums_it_lacks(outputs: dict) -> None:
    doc = json.loads(outputs["graviton-new-pool"]["json"])
    assert doc["dump"]["files"] and not any(f["sha256"] for f in doc["dump"]["files"])
    md = outputs["graviton-new-pool"]["md"]
    files = md[md.index("Files read") :]
    assert "checksum" not in md.lower()
    assert "sha256" not in files.split("\n", 3)[2].lower()  # the table's header: file, size
    assert "not recorded" not in files


# ---------------------------------------------------------------------------------------------- reports


def test_each_finding_listed_once_in_the_findings_table(outputs: dict) -> None:
    doc = json.loads(outputs["not-arch"]["json"])
    html = outputs["not-arch"]["html"]
    nav = html[html.index('<nav class="toc">') : html.index("</nav>")]
    counts = [int(x) for x in re.findall(r'class="count">(\d+)<', nav)]
    assert counts[:3] == [len(doc["findings"]), 0, len(doc["findings"])]  # findings = architecture + other
    table = html[html.index('id="findings-table"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(r'<tr data-cause="([^"]*)"[^>]*>.*?<a href="#(f-[0-9a-f]+)">', table, re.DOTALL)
    cause_of = {f["id"]: f["cause"] for f in doc["findings"]}
    assert sorted(i for _, i in rows) == sorted(cause_of)  # one row per finding, in one table
    assert all(cause_of[i] == c for c, i in rows)


def test_restarts_chart_has_one_meaning(outputs: dict) -> None:
    html = outputs["lost-multiarch-tag"]["html"]  # three snapshots
    fig = html[html.index("<figcaption>Restarts") :]
    fig = fig[: fig.index("</figure>")]
    assert "during each interval" in fig
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", fig)
    assert "restarts during the interval" in texts
    # the numbers written on the bars (8px; the axis ticks are 9px): one per bar, none of them zero
    on_bars = [t for t in re.findall(r'<text style="font-size: 8px[^>]*>([^<]*)</text>', fig) if t[:1].isdigit()]
    doc = json.loads(outputs["lost-multiarch-tag"]["json"])
    assert sorted(on_bars) == sorted(f"{r['restarts']:,}" for r in doc["series"]["restarts_by_arch"] if r["restarts"])
    assert "0" not in on_bars
    # each bar is labelled with its interval: from the previous snapshot (13:20 saw no restart) to its own
    assert "Jul 09 13:20–13:30" in texts and "Jul 09 13:30–13:40" in texts


def test_timeline_draws_each_event_once_with_whole_labels(outputs: dict) -> None:
    doc = json.loads(outputs["binfmt-emulation"]["json"])
    html = outputs["binfmt-emulation"]["html"]
    fig = html[html.index("<figcaption>Timeline") :]
    fig = fig[: fig.index("</figure>")]
    defs = dict(re.findall(r'<path id="([^"]+)" d="([^"]+)"', fig))
    ticks = {k for k, d in defs.items() if d.split()[:3] == ["M", "0", "0"] and d.count("L") == 1}
    markers = sum(1 for ref in re.findall(r'<use xlink:href="#([^"]+)"', fig) if ref in defs and ref not in ticks)
    # a failing workload's bar starts at its first failure and stands for that event
    spanned = {
        f"first failure of {f['workload']['kind']} {f['workload']['namespace']}/{f['workload']['name']}"
        for f in doc["findings"][:6]
        if f["first_seen"]
    }
    drawn = [e for e in doc["timeline"] if not (e["kind"] == "first-failure" and e["what"] in spanned)]
    assert markers == len(drawn), (markers, len(drawn))
    assert "…" not in fig
    words = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", fig)).split()
    joined = "".join(words)  # a label may wrap over lines, never lose its end (the image tag)
    for e in drawn:
        assert "".join(e["what"].split()) in joined, e["what"]


# ---------------------------------------------------------------------------------------------- platforms


def _image_folder(tmp_path: Path, config_arch: str) -> Path:
    folder = tmp_path / "images" / "example.com_app_1.0"
    folder.mkdir(parents=True)
    shutil.copy(REALDATA / "containers-image" / "v2s2.manifest.json", folder / "manifest.json")
    (folder / "config.json").write_text(
        json.dumps(
            {"architecture": config_arch, "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": []}}
        )
    )
    return folder


def test_platforms_require_names_exactly_the_missing(tmp_path: Path) -> None:
    folder = _image_folder(tmp_path, "amd64")
    r = run("platforms", str(folder), "--require", "linux/amd64,linux/arm64", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "MISSING platforms: linux/arm64"
    index = REALDATA / "buildx-docs" / "imagetools-inspect-raw-manifest-list.json"
    ok = run(
        "platforms",
        str(index),
        "--require",
        "linux/aarch64,linux/arm64/v8,linux/arm64,linux/x86_64,linux/arm/v7,linux/armv7l",
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    miss = run("platforms", str(index), "--require", "linux/arm64,linux/mips64le,linux/386", cwd=tmp_path)
    assert miss.returncode == 1
    assert miss.stderr.strip().splitlines()[-1] == "MISSING platforms: linux/mips64le, linux/386"


# ---------------------------------------------------------------------------------------------- serve


@pytest.fixture
def served(tmp_path: Path):
    proc = subprocess.Popen(
        [FORENSICS, "serve", str(SAMPLES / "graviton-new-pool"), "--kubeconfig-out", str(tmp_path / "kubeconfig")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        line = proc.stderr.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert m, line
        yield int(m.group(1)), tmp_path / "kubeconfig"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _responses(port: int, raw: bytes, count: int) -> list[int]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw)
        data = b""
        codes: list[int] = []
        while len(codes) < count:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            codes = [int(x) for x in re.findall(rb"HTTP/1\.[01] (\d{3})", data)]
        return codes


def test_serve_reads_the_body_of_every_request(served) -> None:
    port, _ = served
    body = b'{"propagationPolicy":"Background"}'
    req = (
        b"DELETE /api/v1/namespaces/payments/pods/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        b"application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
        + b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    assert _responses(port, req, 2) == [405, 200]
    post = b'{"kind":"Pod"}'
    req = (
        b"POST /api/v1/namespaces/payments/pods HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
        + str(len(post)).encode()
        + b"\r\n\r\n"
        + post
        + b"GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    )
    assert _responses(port, req, 2) == [405, 200]


@pytest.mark.kubectl
def test_kubectl_delete_and_describe_through_serve(served, tmp_path: Path) -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed (.ci/run installs it)")
    _, kubeconfig = served
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": str(kubeconfig)}
    for _ in range(3):
        r = subprocess.run(
            ["kubectl", "-n", "payments", "delete", "pod", "ledger-api-w4wr2qc9p-dc88l"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert r.returncode != 0
        assert "MethodNotAllowed" in r.stderr and "Unsolicited" not in r.stderr and "Bad request" not in r.stderr
    d = subprocess.run(
        ["kubectl", "-n", "payments", "describe", "pod", "ledger-api-w4wr2qc9p-dc88l"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    events = d[d.index("Events:") :]
    backoff = next(line for line in events.splitlines() if "BackOff" in line)
    age = backoff.split()[2]
    # as of the snapshot (14:05:12, the BackOff last seen at 14:05:09): seconds, not years
    assert re.fullmatch(r"\d+s", age), backoff
    meta = yaml.safe_load((SAMPLES / "graviton-new-pool" / "forensics-dump.yaml").read_text())
    assert meta  # the dump is untouched by serving it


def test_one_node_is_not_nodes() -> None:
    from forensics.render.view import counted

    assert [counted(1, "node"), counted(2, "node"), counted(0, "pod"), counted(150000, "pod")] == [
        "1 node",
        "2 nodes",
        "0 pods",
        "150,000 pods",
    ]
    assert counted(None, "pod") == "? pods"
