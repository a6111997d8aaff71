"""`forensics diff`: two dumps of one cluster (or two snapshots of one dump), through the installed command."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import yaml

from forensics.read.dumpspec import load_spec, parse_spec
from forensics.read.formats import load_any
from forensics.several.diff import cluster_mismatch
from tests.foreign_dumps import to_troubleshoot
from tests.multi_dumps import REPO, SAMPLES, copy_story, snapshots_of, split_snapshot

LOST = SAMPLES / "lost-multiarch-tag"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "forensics", "diff", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=cwd,
    )


def diff_json(*args: str) -> dict[str, Any]:
    proc = run(*args, "-f", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def two_dumps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The lost-multiarch-tag story as two dumps: before the rollout (13:20) and after (13:40)."""
    root = tmp_path_factory.mktemp("lost")
    snaps = snapshots_of(LOST)
    return split_snapshot(LOST, snaps[0], root / "before"), split_snapshot(LOST, snaps[-1], root / "after")


def _moves(doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    (w,) = [w for w in doc["workloads"] if w["workload"]["name"] == name]
    return w["image_moves"]


def test_two_dumps_of_the_lost_tag_story_show_the_lost_platform(two_dumps: tuple[Path, Path]) -> None:
    before, after = two_dumps
    doc = diff_json(str(before), str(after))
    assert doc["schema"] == "cluster-forensics-diff/1"
    assert doc["interval_s"] == 20 * 60
    (w,) = [
        w for w in doc["workloads"] if w["workload"] == {"kind": "Deployment", "namespace": "shop", "name": "checkout"}
    ]
    assert w["status"] == "started-failing" and w["old_cause"] is None
    assert w["new_cause"] == "arch.bare-manifest-tag"
    (m,) = w["image_moves"]
    assert (m["old_ref"], m["new_ref"]) == (
        "registry.example.com/shop/checkout:2.3",
        "registry.example.com/shop/checkout:2.4",
    )
    assert [p.split("/")[1] for p in m["platforms_lost"]] == ["arm64"]
    assert m["platforms_gained"] == [] and m["kind_change"] == "index -> manifest"
    assert m["needed_by_nodes"] == ["arm64"]
    # the pods that crash restarted in the interval; none had restarted before
    assert w["restarts_during"] > 0 and w["old"]["ready"] == w["old"]["pods"]
    assert w["new"]["ready"] < w["new"]["pods"]
    assert [(f["cause"], f["workload"]["name"]) for f in doc["findings"]["new"]] == [
        ("arch.bare-manifest-tag", "checkout")
    ]
    assert doc["findings"]["resolved"] == []
    # workloads that did not change are not listed
    assert {x["workload"]["name"] for x in doc["workloads"]}.isdisjoint({"catalog", "checkout-db"})
    assert any("lost linux/arm64" in line for line in doc["headline"])


def test_text_is_the_default_and_names_the_lost_platform(two_dumps: tuple[Path, Path]) -> None:
    proc = run(*map(str, two_dumps))
    assert proc.returncode == 0, proc.stderr
    assert "registry.example.com/shop/checkout:2.3 -> registry.example.com/shop/checkout:2.4" in proc.stdout
    assert "lost linux/arm64" in proc.stdout and "index -> manifest" in proc.stdout
    assert re.search(r"new\s+high\s+arch\.bare-manifest-tag\s+Deployment shop/checkout", proc.stdout)


def test_fail_on_new(two_dumps: tuple[Path, Path]) -> None:
    before, after = two_dumps
    assert run(str(before), str(after), "--fail-on", "new").returncode == 1
    # the other way round the finding is resolved, nothing is new
    back = run(str(after), str(before), "--fail-on", "new", "-f", "json")
    assert back.returncode == 0, back.stderr
    doc = json.loads(back.stdout)
    assert [f["cause"] for f in doc["findings"]["resolved"]] == ["arch.bare-manifest-tag"]
    # given the later dump first: said before anything else, and only then
    assert doc["interval_s"] == -20 * 60 and "were the two swapped?" in doc["headline"][0]
    assert not [h for h in diff_json(str(before), str(after))["headline"] if "swapped" in h]
    (w,) = [w for w in doc["workloads"] if w["workload"]["name"] == "checkout"]
    assert w["status"] == "stopped-failing"
    bad = run(str(before), str(after), "--fail-on", "high")
    assert bad.returncode == 2 and "--fail-on" in bad.stderr and "Traceback" not in bad.stderr


def test_two_snapshots_of_one_dump_agree_with_two_dumps(two_dumps: tuple[Path, Path]) -> None:
    split = diff_json(*map(str, two_dumps))
    one_arg = diff_json(str(LOST))  # oldest vs newest snapshot
    at = diff_json(f"{LOST}@0", f"{LOST}@-1")
    for doc in (one_arg, at):
        assert (doc["old"]["snapshot"], doc["new"]["snapshot"]) == (split["old"]["snapshot"], split["new"]["snapshot"])
        assert doc["findings"] == split["findings"]
        assert _moves(doc, "checkout")[0]["platforms_lost"] == _moves(split, "checkout")[0]["platforms_lost"]
    assert run(f"{LOST}@nope", str(LOST)).returncode == 2
    single = run(str(SAMPLES / "not-arch"))
    assert single.returncode == 2 and "one snapshot only" in single.stderr and "Traceback" not in single.stderr


def _repushed(after: Path, out: Path) -> Path:
    """`after`, with tag 2.3 pushed again as 2.4's bare amd64 manifest."""
    shutil.copytree(after, out)
    src = out / "images" / "registry.example.com_shop_checkout_2.4"
    dst = out / "images" / "registry.example.com_shop_checkout_2.3"
    shutil.rmtree(dst)
    shutil.copytree(src, dst)
    (dst / "ref.txt").write_text("registry.example.com/shop/checkout:2.3\n")
    return out


def test_a_repushed_tag_shows_digest_platforms_and_kind(two_dumps: tuple[Path, Path], tmp_path: Path) -> None:
    """The same reference, pushed again as a bare amd64 manifest: the per-image diff says so."""
    before, after = two_dumps
    doc = diff_json(str(before), str(_repushed(after, tmp_path / "after")))
    (im,) = [i for i in doc["images"] if i["ref"] == "registry.example.com/shop/checkout:2.3"]
    assert im["digest_changed"] and im["old"]["digest"] != im["new"]["digest"]
    assert [p.split("/")[1] for p in im["platforms_lost"]] == ["arm64"]
    assert im["kind_change"] == "index -> manifest"
    assert im["needed_by_nodes"] == ["arm64"]  # old pods of 2.3 still run on arm64 nodes


def test_nodes_added_removed_and_conditions(tmp_path: Path) -> None:
    old = copy_story("graviton-new-pool", tmp_path / "old")
    new = copy_story("graviton-new-pool", tmp_path / "new")
    (snap,) = snapshots_of(new)
    nodes_file = new / "snapshots" / snap / "nodes.json"
    nodes = json.loads(nodes_file.read_text())
    arm = [n for n in nodes["items"] if n["status"]["nodeInfo"]["architecture"] == "arm64"]
    amd = [n for n in nodes["items"] if n["status"]["nodeInfo"]["architecture"] == "amd64"]
    # in OLD the arm64 pool did not exist yet; in NEW one amd64 node went NotReady and one was removed
    old_file = old / "snapshots" / snap / "nodes.json"
    old_nodes = json.loads(old_file.read_text())
    old_nodes["items"] = [n for n in old_nodes["items"] if n["status"]["nodeInfo"]["architecture"] != "arm64"]
    old_file.write_text(json.dumps(old_nodes))
    gone, sick = amd[0]["metadata"]["name"], amd[1]["metadata"]["name"]
    for c in amd[1]["status"]["conditions"]:
        if c["type"] == "Ready":
            c.update(status="Unknown", reason="NodeStatusUnknown")
        if c["type"] == "DiskPressure":
            c.update(status="True", reason="KubeletHasDiskPressure")
    nodes["items"] = [n for n in nodes["items"] if n["metadata"]["name"] != gone]
    nodes_file.write_text(json.dumps(nodes))
    doc = diff_json(str(old), str(new))
    n = doc["nodes"]
    assert sorted(x["node"] for x in n["added"]) == sorted(x["metadata"]["name"] for x in arm)
    assert {x["arch"] for x in n["added"]} == {"arm64"}
    assert [x["node"] for x in n["removed"]] == [gone]
    assert n["arch_mix"]["old"] == {"amd64": len(amd)}
    assert n["arch_mix"]["new"] == {"amd64": len(amd) - 1, "arm64": len(arm)}
    assert n["pools_added"] and not n["pools_removed"]
    changed = {c["condition"]: c for c in n["conditions_changed"] if c["node"] == sick}
    assert changed["Ready"]["old"] == "True" and changed["Ready"]["new"].startswith("False")
    assert changed["Conditions"]["old"] == "" and changed["Conditions"]["new"] == "DiskPressure=True"
    assert {c["node"] for c in n["conditions_changed"]} == {sick}


def test_different_clusters_are_refused_unless_forced(tmp_path: Path) -> None:
    a, b = SAMPLES / "lost-multiarch-tag", SAMPLES / "graviton-new-pool"
    proc = run(str(a), str(b))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "different clusters" in proc.stderr and "API server differs" in proc.stderr
    assert "no node name in common" in proc.stderr and "--force" in proc.stderr
    forced = run(str(a), str(b), "--force", "-f", "json")
    assert forced.returncode == 0, forced.stderr
    doc = json.loads(forced.stdout)
    assert doc["same_cluster"]["forced"] and doc["same_cluster"]["reasons"]


def test_node_names_decide_when_nothing_else_identifies_the_cluster(tmp_path: Path) -> None:
    """Foreign formats carry no cluster identity: the nodes must overlap."""
    bundle, _ = to_troubleshoot(SAMPLES / "graviton-new-pool", tmp_path / "ts")
    same = load_any(bundle)
    assert cluster_mismatch(load_spec(parse_spec(str(SAMPLES / "graviton-new-pool"))), same) == []
    other = load_any(to_troubleshoot(SAMPLES / "laptop-build", tmp_path / "ts2")[0])
    (reason,) = cluster_mismatch(same, other)
    assert reason.startswith("no node name in common")


def test_pods_name_their_nodes_when_a_dump_has_no_node_objects(tmp_path: Path) -> None:
    """Loose pod lists (or a must-gather of one namespace) have no Node objects, but every scheduled
    pod names its node: two such dumps of different clusters are refused, the same cluster is not."""

    def pods_only(story: str, out: Path) -> Path:
        out.mkdir()
        src = SAMPLES / story
        shutil.copy(src / "snapshots" / snapshots_of(src)[-1] / "pods.json", out / "pods.json")
        return out

    graviton = pods_only("graviton-new-pool", tmp_path / "g")
    laptop = pods_only("laptop-build", tmp_path / "l")
    assert load_any(graviton).frames["nodes"].empty
    (reason,) = cluster_mismatch(load_any(graviton), load_any(laptop))
    assert reason.startswith("no node name in common")
    assert cluster_mismatch(load_any(graviton), load_spec(parse_spec(str(SAMPLES / "graviton-new-pool")))) == []
    proc = run(str(graviton), str(laptop))
    assert proc.returncode == 2 and "different clusters" in proc.stderr and "Traceback" not in proc.stderr


def test_v1_against_a_support_bundle_of_the_same_moment(tmp_path: Path) -> None:
    """Any two formats: the same cluster at the same time, one as a support bundle, has no new or
    resolved finding."""
    v1 = SAMPLES / "graviton-new-pool"
    bundle, _ = to_troubleshoot(v1, tmp_path / "ts")
    doc = diff_json(str(v1), str(bundle))
    assert doc["old"]["format"] != doc["new"]["format"]
    assert doc["findings"]["new"] == [] and doc["findings"]["resolved"] == []
    assert doc["findings"]["persisting"]
    assert doc["nodes"]["added"] == [] and doc["nodes"]["removed"] == []


EVIL = "evil.example/x:1<script>alert(1)</script>|pipe"


def test_html_and_markdown_are_self_contained_and_escaped(tmp_path: Path) -> None:
    """The hostile story against itself five minutes later, its crashing deployment moved to an image
    reference carrying markup and a pipe."""
    old = copy_story("hostile", tmp_path / "old")
    new = copy_story("hostile", tmp_path / "new")
    (snap,) = snapshots_of(new)
    meta = yaml.safe_load((new / "forensics-dump.yaml").read_text())
    later = snap[:-3] + "500Z"
    (new / "snapshots" / snap).rename(new / "snapshots" / later)
    meta["snapshots"] = [later]
    meta.pop("files", None)
    (new / "forensics-dump.yaml").write_text(yaml.safe_dump(meta))
    pods_file = new / "snapshots" / later / "pods.json"
    pods = json.loads(pods_file.read_text())
    moved = 0
    for pod in pods["items"]:
        if pod["metadata"]["name"].startswith("preview-"):
            for c in pod["spec"]["containers"]:
                c["image"] = EVIL
                moved += 1
    assert moved
    pods_file.write_text(json.dumps(pods))
    html_out, md_out = tmp_path / "d.html", tmp_path / "d.md"
    assert run(str(old), str(new), "-o", str(html_out)).returncode == 0
    assert run(str(old), str(new), "-o", str(md_out)).returncode == 0
    html = html_out.read_text()
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp and "script-src 'none'" in unescape(csp.group(1)) and "default-src 'none'" in unescape(csp.group(1))
    assert "<script" not in html.lower() and "http://" not in html and "https://" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|pipe" in html
    md = md_out.read_text()
    assert EVIL.replace("|", "\\|") in md  # inside a code span, the pipe escaped for the table
    outside_code = re.sub(r"(`+).*?\1", "", md)
    assert "<script" not in outside_code.lower()
    # every table row keeps its header's column count: no pipe from the dump split a cell
    width = None
    for line in md.splitlines():
        if not line.startswith("|"):
            width = None
            continue
        cols = len(re.findall(r"(?<!\\)\|", line))
        width = width or cols
        assert cols == width, line


def _keys(doc: Any, path: str = "") -> set[str]:
    """Every key path of a document; list items share their list's path; "..." keys are elisions."""
    out: set[str] = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k == "...":
                continue
            out.add(f"{path}.{k}")
            out |= _keys(v, f"{path}.{k}")
    elif isinstance(doc, list):
        for v in doc:
            out |= _keys(v, f"{path}[]")
    return out


def test_docs_show_the_document_as_it_is(two_dumps: tuple[Path, Path], tmp_path: Path) -> None:
    """Every key docs/diff.md shows exists in a real diff document, and no top-level or per-item key
    of the real document is left out of the docs."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "diff.md").read_text()
    (block,) = re.findall(r"```json\n(.*?)```", text, re.DOTALL)
    documented = _keys(json.loads(block))
    documented |= {".new" + k[len(".old") :] for k in documented if k.startswith(".old.")}  # "same shape"
    old = copy_story("graviton-new-pool", tmp_path / "old")
    (snap,) = snapshots_of(old)
    nodes_file = old / "snapshots" / snap / "nodes.json"
    nodes = json.loads(nodes_file.read_text())
    nodes["items"] = [n for n in nodes["items"] if n["status"]["nodeInfo"]["architecture"] != "arm64"]
    for c in nodes["items"][0]["status"]["conditions"]:
        if c["type"] == "Ready":
            c.update(status="False", reason="KubeletNotReady")
    nodes_file.write_text(json.dumps(nodes))
    real = _keys(diff_json(str(two_dumps[0]), str(_repushed(two_dumps[1], tmp_path / "repushed")))) | _keys(
        diff_json(str(old), str(SAMPLES / "graviton-new-pool"))
    )
    # keys under maps keyed by data (arch names, OS names, counts) are examples, not fields
    data_keyed = (
        ".nodes.arch_mix.old.",
        ".nodes.arch_mix.new.",
        ".nodes.os_mix.old.",
        ".nodes.os_mix.new.",
        ".old.counts.",
        ".new.counts.",
        ".old.cluster.",
        ".new.cluster.",
    )
    assert {k for k in documented - real if not k.startswith(data_keyed)} == set()
    shallow = {k for k in real if k.count(".") <= 2 and not k.startswith(data_keyed)}
    assert shallow - documented == set()


def _wild(rel: str) -> Path:
    for root in (Path(__file__).resolve().parent / "fixtures" / "wild", REPO.parent / "shared" / "wild"):
        if (root / rel).exists():
            return root / rel
    pytest.skip(f"{rel} is not next to the repository")


def test_real_dumps_from_the_wild() -> None:
    """A real dump against itself changes nothing and keeps its findings; two real dumps of different
    clusters are refused even when one has no Node objects (its pods name their nodes)."""
    bundle = _wild("ts-k3d-arm64/support-bundle.tar.gz")
    pods_only = _wild("ts-analyzer-pods")  # loose pod lists, no Node object
    doc = diff_json(str(pods_only), str(pods_only))
    assert doc["findings"]["new"] == [] and doc["findings"]["resolved"] == []
    assert {f["cause"] for f in doc["findings"]["persisting"]} == {"oom-killed", "unschedulable", "volume-mount"}
    assert diff_json(str(bundle), str(bundle))["findings"] == {"new": [], "resolved": [], "persisting": []}
    proc = run(str(pods_only), str(bundle))
    assert proc.returncode == 2 and "no node name in common" in proc.stderr and "minikube" in proc.stderr
