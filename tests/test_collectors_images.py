"""collectors/inspect-images against a real registry on 127.0.0.1 holding real images."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import tarfile
from pathlib import Path

import pytest

from forensics.analysis.analyze import analyze
from forensics.knowledge.manifests import parse_inspection
from forensics.read import layout
from forensics.read.load import load_dump
from tests.dump_builder import (
    SNAP,
    _pod,
    dump_with_images,
    extract,
    load_meta,
    run_collect,
    run_inspect,
    served,
    tiny_dump,
)
from tests.registry_fixture import Pushed, Registry, buildah_index, registry  # noqa: F401 - the fixture

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def images(registry: Registry) -> dict[str, Pushed]:  # noqa: F811
    amd = registry.image("app/single-amd64", "1.0", "amd64")
    arm = registry.image("app/single-arm64", "1.0", "arm64", docker=True)
    multi = registry.index(
        "app/multi",
        "2.0",
        [registry.image("app/multi", "amd64", "amd64"), registry.image("app/multi", "arm64", "arm64", "v8")],
    )
    attested = registry.index(
        "app/attested",
        "3.0",
        [registry.image("app/attested", "amd64", "amd64"), registry.image("app/attested", "arm64", "arm64")],
        attestations=True,
    )
    dlist = registry.index(
        "app/dlist",
        "4.0",
        [
            registry.image("app/dlist", "amd64", "amd64", docker=True),
            registry.image("app/dlist", "armv7", "arm", "v7", docker=True),
        ],
        docker=True,
    )
    return {"amd": amd, "arm": arm, "multi": multi, "attested": attested, "dlist": dlist}


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def inspected(images: dict[str, Pushed], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("inspect")
    dead = f"127.0.0.1:{_closed_port()}/gone/app:1"
    pinned = f"{images['amd'].ref}@{images['amd'].digest}"
    dump = dump_with_images(tmp / "dump", [p.ref for p in images.values()] + [pinned, dead])
    proc = run_inspect(dump, tmp / "home", "--tls-verify=false")
    assert proc.returncode == 0, proc.stderr
    return dump, dead


def _image_dir(dump: Path, ref: str) -> Path:
    return dump / layout.IMAGES / layout.image_slug(ref)


def test_manifest_bytes_are_the_registry_bytes(inspected: tuple[Path, str], images: dict[str, Pushed]) -> None:
    dump, _ = inspected
    for pushed in images.values():
        d = _image_dir(dump, pushed.ref)
        assert (d / "ref.txt").read_text().strip() == pushed.ref
        assert _sha(d / "manifest.json") == pushed.digest, pushed.ref
    pinned = _image_dir(dump, f"{images['amd'].ref}@{images['amd'].digest}")  # tag and digest: pulled by digest
    assert _sha(pinned / "manifest.json") == images["amd"].digest
    assert (pinned / "config.json").read_bytes() == images["amd"].configs[images["amd"].digest]


def test_single_manifests_get_their_config(inspected: tuple[Path, str], images: dict[str, Pushed]) -> None:
    dump, _ = inspected
    for key in ("amd", "arm"):
        pushed = images[key]
        assert (_image_dir(dump, pushed.ref) / "config.json").read_bytes() == pushed.configs[pushed.digest]


def test_index_configs_for_the_cluster_architectures_only(
    inspected: tuple[Path, str], images: dict[str, Pushed]
) -> None:
    dump, _ = inspected
    # the tiny cluster has an amd64 and an arm64 node
    for key in ("multi", "attested", "dlist"):
        pushed = images[key]
        configs = _image_dir(dump, pushed.ref) / "configs"
        got = {p.name for p in configs.iterdir()}
        want = {
            d.replace(":", "_") + ".json"
            for d, plat in pushed.platforms.items()
            if plat.split("/")[1] in ("amd64", "arm64")
        }
        assert got == want, key
        for digest in pushed.platforms:
            path = configs / (digest.replace(":", "_") + ".json")
            if path.exists():
                assert path.read_bytes() == pushed.configs[digest]


def test_collected_images_classify(inspected: tuple[Path, str], images: dict[str, Pushed]) -> None:
    dump, _ = inspected

    def platforms(key: str) -> set[str]:
        d = _image_dir(dump, images[key].ref)
        config = (d / "config.json").read_bytes() if (d / "config.json").exists() else None
        configs = (
            {p.name[:-5].replace("_", ":", 1): p.read_bytes() for p in (d / "configs").iterdir()}
            if (d / "configs").exists()
            else None
        )
        found = parse_inspection((d / "manifest.json").read_bytes(), config=config, configs=configs)
        return {p.replace("linux/arm64/v8", "linux/arm64") for p in found.platform_strings}

    assert platforms("amd") == {"linux/amd64"}
    assert platforms("arm") == {"linux/arm64"}
    assert platforms("multi") == {"linux/amd64", "linux/arm64"}
    assert platforms("attested") == {"linux/amd64", "linux/arm64"}
    assert platforms("dlist") == {"linux/amd64", "linux/arm/v7"}


def test_unreachable_registry_is_recorded_and_the_rest_goes_on(inspected: tuple[Path, str]) -> None:
    dump, dead = inspected
    meta = load_meta(dump)
    failed = {c["argv"][-1] for c in meta["commands"] if c["exit_code"] != 0}
    # the tiny dump's own images live on registry.example, which does not resolve here
    assert f"docker://{dead}" in failed
    assert {f for f in failed if "registry.example/" not in f} == {f"docker://{dead}"}
    assert any(dead in f for f in meta["failures"])
    assert not (_image_dir(dump, dead) / "manifest.json").exists()
    assert (_image_dir(dump, dead) / "ref.txt").exists()
    listed = {f["path"]: f["sha256"] for f in meta["files"]}
    for path, sha in listed.items():
        assert _sha(dump / path) == "sha256:" + sha
    on_disk = {p.relative_to(dump).as_posix() for p in dump.rglob("*") if p.is_file()} - {layout.META}
    assert set(listed) == on_disk


def test_inspect_a_tarball_in_place(images: dict[str, Pushed], tmp_path: Path) -> None:
    dump = dump_with_images(tmp_path / "cluster-forensics-x", [images["attested"].ref])
    tarball = tmp_path / "x.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(dump, arcname=dump.name)
    proc = run_inspect(tarball, tmp_path / "home", "--tls-verify=false")
    assert proc.returncode == 0, proc.stderr
    top = extract(tarball, tmp_path / "x")
    assert top.name == "cluster-forensics-x"
    assert _sha(_image_dir(top, images["attested"].ref) / "manifest.json") == images["attested"].digest
    assert any("skopeo" in c["argv"] for c in load_meta(top)["commands"])


@pytest.mark.kubectl
def test_collect_with_images(images: dict[str, Pushed], tmp_path: Path) -> None:
    src = dump_with_images(tmp_path / "src", [images["multi"].ref, images["amd"].ref])
    with served(src) as (url, _):
        proc, tarball = run_collect(url, tmp_path, "--images", "--tls-verify=false")
    assert proc.returncode == 0, proc.stderr
    top = extract(tarball, tmp_path / "x")
    assert _sha(_image_dir(top, images["multi"].ref) / "manifest.json") == images["multi"].digest
    assert _sha(_image_dir(top, images["amd"].ref) / "manifest.json") == images["amd"].digest
    meta = load_meta(top)
    assert any(c["argv"][-1] == f"docker://{images['amd'].ref}" and c["exit_code"] == 0 for c in meta["commands"])


@pytest.mark.skipif(shutil.which("docker") is None, reason="the docker CLI is not installed")
def test_docker_manifest_inspect_as_the_tool(images: dict[str, Pushed], tmp_path: Path) -> None:
    keys = ("amd", "attested", "dlist")
    dump = dump_with_images(tmp_path / "dump", [images[k].ref for k in keys])
    proc = run_inspect(dump, tmp_path / "home", "--tool", "docker", "--tls-verify=false")
    if "is not a docker command" in proc.stderr or "unknown command" in proc.stderr:
        pytest.skip("this docker CLI has no `manifest` command")
    assert proc.returncode == 0, proc.stderr
    want = {
        "amd": {"linux/amd64"},
        "attested": {"linux/amd64", "linux/arm64"},
        "dlist": {"linux/amd64", "linux/arm/v7"},
    }
    for key in keys:
        raw = (_image_dir(dump, images[key].ref) / "manifest.json").read_bytes()
        found = {p.replace("linux/arm64/v8", "linux/arm64") for p in parse_inspection(raw).platform_strings}
        assert found == want[key], key
    # the tool's argv, after the `timeout` wrapper
    assert all(
        c["argv"][c["argv"].index("docker") :][:3] == ["docker", "manifest", "inspect"]
        for c in load_meta(dump)["commands"]
        if "manifest" in c["argv"]
    )


@pytest.mark.parametrize("docker", [False, True], ids=["oci-index", "docker-list"])
def test_index_built_and_pushed_by_buildah(registry: Registry, tmp_path: Path, docker: bool) -> None:  # noqa: F811
    pushed = buildah_index(registry, tmp_path / "buildah", f"bh/app{int(docker)}", ["amd64", "arm64"], docker=docker)
    dump = dump_with_images(tmp_path / "dump", [pushed.ref])
    proc = run_inspect(dump, tmp_path / "home", "--tls-verify=false")
    assert proc.returncode == 0, proc.stderr
    d = _image_dir(dump, pushed.ref)
    assert _sha(d / "manifest.json") == pushed.digest
    configs = {p.name[:-5].replace("_", ":", 1): p.read_bytes() for p in (d / "configs").iterdir()}
    assert set(configs) == set(pushed.platforms)
    found = parse_inspection((d / "manifest.json").read_bytes(), configs=configs)
    assert {p.replace("linux/arm64/v8", "linux/arm64") for p in found.platform_strings} == {
        "linux/amd64",
        "linux/arm64",
    }


@pytest.mark.kubectl
def test_collect_with_images_then_analyze_finds_the_arch_mismatch(images: dict[str, Pushed], tmp_path: Path) -> None:
    """The whole path: cluster side from `forensics serve`, image side from the registry, then the analyzer."""
    src = tiny_dump(tmp_path / "src")
    pods = src / layout.objects_file(SNAP, "pods")
    doc = json.loads(pods.read_text())
    doc["items"].append(
        _pod(
            "web-5f6d-xyz12",
            "shop",
            "node-arm",
            [("main", images["amd"].ref)],
            owner=("ReplicaSet", "web-5f6d"),
            crashing=True,
        )
    )
    doc["items"].append(
        _pod(
            "multi-7c8b-abc34", "shop", "node-arm", [("main", images["multi"].ref)], owner=("ReplicaSet", "multi-7c8b")
        )
    )
    pods.write_text(json.dumps(doc, indent=4))
    log = src / layout.log_file(SNAP, "shop", "web-5f6d-xyz12", "main", previous=True)
    log.parent.mkdir(parents=True)
    log.write_text("exec /bin/app: exec format error\n")
    with served(src) as (url, _):
        proc, tarball = run_collect(url, tmp_path, "--images", "--tls-verify=false")
    assert proc.returncode == 0, proc.stderr
    found = analyze(load_dump(tarball))["findings"]
    by_cause = {(f["cause"], (f.get("workload") or {}).get("name")) for f in found}
    assert ("arch.single-arch-image", "web-5f6d") in by_cause, found
    assert not any((f.get("workload") or {}).get("name") == "multi-7c8b" for f in found)
