"""Image-inspection outputs, recognised by content, against the real fixtures in tests/fixtures/realdata.

Expected values are read off the fixture files and SOURCES.md by hand, not from the parser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
import traceback
from pathlib import Path

import pytest

from forensics.analysis.platforms_check import check_required, load_inspection_path
from forensics.errors import ManifestError, UnusableInput
from forensics.knowledge import manifests
from forensics.knowledge.arch import Platform, parse_platform
from forensics.knowledge.manifests import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    ImageInspection,
    parse_config,
    parse_inspection,
)

REAL = Path(__file__).parent / "fixtures" / "realdata"


def read(rel: str) -> bytes:
    return (REAL / rel).read_bytes()


def plats(insp: ImageInspection) -> set[str]:
    return {str(e.platform) for e in insp.platforms}


# file -> (kind, top-level media type, source format, runnable platforms, attestation/unknown entries)
EXPECTED: dict[str, tuple[str, str | None, str, set[str], int]] = {
    "containers-image/schema2list.json": (
        "index",
        DOCKER_LIST,
        "docker-manifest-list",
        {
            "linux/amd64",
            "linux/arm/v5",
            "linux/arm/v6",
            "linux/arm64/v8",
            "linux/386",
            "linux/ppc64le",
            "linux/s390x",
        },
        0,
    ),
    "containers-image/v2list.manifest.json": (
        "index",
        DOCKER_LIST,
        "docker-manifest-list",
        {"linux/ppc64le", "linux/amd64", "linux/s390x", "linux/arm/v7", "linux/arm64/v8"},
        0,
    ),
    "containers-image/ociv1.image.index.json": (
        "index",
        OCI_INDEX,
        "oci-index",
        {"linux/ppc64le", "linux/amd64"},
        0,
    ),
    "containers-image/ocilist-variants.json": (
        "index",
        OCI_INDEX,
        "oci-index",
        # arm with no variant means arm/v7 (containerd platforms.Normalize)
        {"linux/amd64", "linux/arm/v7", "linux/arm/v6", "linux/arm/unrecognized-present"},
        0,
    ),
    "containers-image/v2s2.manifest.json": ("manifest", DOCKER_MANIFEST, "docker-manifest", set(), 0),
    "containers-image/ociv1.manifest.json": ("manifest", OCI_MANIFEST, "oci-manifest", set(), 0),
    "buildx-docs/imagetools-inspect-attest-format-json-all.json": (
        "index",
        OCI_INDEX,
        "buildx-imagetools-json",
        {"linux/amd64"},
        1,
    ),
    "buildx-docs/imagetools-inspect-attest-format-json-manifest.json": (
        "index",
        OCI_INDEX,
        "buildx-imagetools-json",
        {"linux/amd64"},
        1,
    ),
    "buildx-docs/imagetools-inspect-buildkit-master-format-json-manifest.json": (
        "index",
        OCI_INDEX,
        "buildx-imagetools-json",
        {"linux/amd64", "linux/arm/v7", "linux/arm64/v8", "linux/s390x", "linux/ppc64le", "linux/riscv64"},
        6,
    ),
    "buildx-docs/imagetools-inspect-raw-manifest-list.json": (
        "index",
        DOCKER_LIST,
        "docker-manifest-list",
        {"linux/amd64", "linux/arm/v7", "linux/arm64/v8", "linux/s390x", "linux/ppc64le", "linux/riscv64"},
        0,
    ),
    "buildx-docs/imagetools-inspect-raw-single-manifest.json": (
        "manifest",
        DOCKER_MANIFEST,
        "docker-manifest",
        set(),
        0,
    ),
    "docker-cli/inspect-manifest-list.golden": (
        "index",
        DOCKER_LIST,
        "docker-manifest-list",
        {"linux/amd64"},
        0,
    ),
    "docker-cli/inspect-manifest.golden": ("manifest", DOCKER_MANIFEST, "docker-manifest", set(), 0),
    "docker-cli/inspect-annotate.golden": (
        "manifest",
        DOCKER_MANIFEST,
        "docker-manifest-inspect-verbose",
        {"freebsd/arm/v7"},
        0,
    ),
    "github-issues/kubewarden-adm-controller-1378-docker-manifest-inspect.json": (
        "index",
        OCI_INDEX,
        "oci-index",
        {"linux/arm64/v8"},
        1,
    ),
    "github-issues/containerd-6989-windows-servercore-ltsc2019-docker-manifest-inspect.json": (
        "index",
        DOCKER_LIST,
        "docker-manifest-list",
        {"windows/amd64"},
        0,
    ),
    "regclient/testrepo-v1-index.json": (
        "index",
        OCI_INDEX,
        "oci-index",
        {"linux/amd64", "linux/arm64/v8"},
        2,
    ),
    "regclient/testrepo-v1-arm64-manifest.json": ("manifest", OCI_MANIFEST, "oci-manifest", set(), 0),
    "regclient/testrepo-v1-builder-reference-manifest.json": (
        "manifest",
        OCI_MANIFEST,
        "oci-manifest",
        set(),
        0,
    ),
    "skopeo-docs/skopeo-inspect-fedora.json": ("manifest", None, "skopeo-inspect", {"linux/amd64"}, 0),
}

# fixtures in the same folders that are not manifests: configs and human-readable text
NOT_MANIFESTS = {
    "containers-image/schema2-config.json",
    "regclient/testrepo-v1-arm64-config.json",
    "buildx-docs/imagetools-inspect-buildkit-master-format-json-image-s390x.json",
}


def manifest_like_fixtures() -> set[str]:
    names: set[str] = set()
    for pattern in (
        "containers-image/*.json",
        "buildx-docs/*.json",
        "docker-cli/*.golden",
        "regclient/*.json",
        "github-issues/*docker-manifest-inspect.json",
        "skopeo-docs/*.json",
    ):
        names |= {p.relative_to(REAL).as_posix() for p in REAL.glob(pattern)}
    return names


def test_every_manifest_like_fixture_has_an_expectation() -> None:
    assert manifest_like_fixtures() == set(EXPECTED) | NOT_MANIFESTS


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_real_fixture(rel: str) -> None:
    kind, media_type, source, platforms, attestations = EXPECTED[rel]
    insp = parse_inspection(read(rel))
    assert insp.kind == kind
    assert insp.media_type == media_type
    assert insp.source_format == source
    assert plats(insp) == platforms
    assert insp.attestations == attestations
    assert len(insp.excluded) == attestations
    assert all(e.platform.arch != "unknown" and e.platform.os != "unknown" for e in insp.platforms)


@pytest.mark.parametrize("rel", sorted(NOT_MANIFESTS))
def test_image_configs_are_not_manifests(rel: str) -> None:
    with pytest.raises(ManifestError, match="image config"):
        parse_inspection(read(rel))


def test_buildkit_attestations_are_excluded_with_their_digests() -> None:
    rel = "buildx-docs/imagetools-inspect-buildkit-master-format-json-manifest.json"
    doc = json.loads(read(rel))
    attest = {
        m["digest"]
        for m in doc["manifests"]
        if m.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"
    }
    insp = parse_inspection(read(rel))
    assert {e["digest"] for e in insp.excluded} == attest
    assert {e["reason"] for e in insp.excluded} == {"attestation-manifest"}
    assert insp.digest == doc["digest"]  # buildx prints the index digest at top level
    assert not {e.digest for e in insp.platforms} & attest


def test_regclient_builder_entries_excluded() -> None:
    insp = parse_inspection(read("regclient/testrepo-v1-index.json"))
    assert [e["reason"] for e in insp.excluded] == ["builder reference", "builder reference"]
    assert insp.annotations == {"org.example.version": "v1"}


def test_regclient_digests_are_registry_digests() -> None:
    index = parse_inspection(read("regclient/testrepo-v1-index.json"))
    # SOURCES.md: index blob 7ceb9b6b...f6c6fa (the file is the exact blob)
    assert index.digest is not None and index.digest_from == "bytes"
    assert index.digest.startswith("sha256:7ceb9b6b") and index.digest.endswith("f6c6fa")
    arm64 = parse_inspection(read("regclient/testrepo-v1-arm64-manifest.json"))
    by_platform = {str(e.platform): e.digest for e in index.platforms}
    assert arm64.digest == by_platform["linux/arm64/v8"]
    builder = parse_inspection(read("regclient/testrepo-v1-builder-reference-manifest.json"))
    assert builder.digest in {e["digest"] for e in index.excluded}
    assert any("not a runnable image" in w for w in builder.warnings)


def test_single_manifest_platform_comes_from_config() -> None:
    insp = parse_inspection(
        read("regclient/testrepo-v1-arm64-manifest.json"),
        config=read("regclient/testrepo-v1-arm64-config.json"),
    )
    assert plats(insp) == {"linux/arm64/v8"}
    assert (insp.config_os, insp.config_arch, insp.config_variant) == ("linux", "arm64", "v8")
    assert insp.created == "2021-01-01T00:00:00Z"
    assert insp.platforms[0].digest == insp.digest

    docker = parse_inspection(
        read("containers-image/v2s2.manifest.json"), config=read("containers-image/schema2-config.json")
    )
    assert plats(docker) == {"linux/amd64"}
    assert docker.created == "2016-09-23T23:20:45.78976459Z"


def test_broken_config_is_a_warning_not_a_failure() -> None:
    insp = parse_inspection(read("containers-image/v2s2.manifest.json"), config=b"\xff{not json")
    assert insp.platforms == []
    assert any(w.startswith("config ignored") for w in insp.warnings)


def test_old_docker_variants_normalized() -> None:
    insp = parse_inspection(read("containers-image/v2list.manifest.json"))
    by_digest = {e.digest: e.platform for e in insp.platforms}
    assert by_digest["sha256:07ebe243465ef4a667b78154ae6c3ea46fdb1582936aac3ac899ea311a701b40"] == Platform(
        "linux", "arm", "v7"
    )
    assert by_digest["sha256:fb2fc0707b86dafa9959fe3d29e66af8787aee4d9a23581714be65db4265ad8a"] == Platform(
        "linux", "arm64", "v8"
    )
    assert insp.warnings == []


def test_duplicates_and_unrecognized_variant_are_warned() -> None:
    insp = parse_inspection(read("containers-image/ocilist-variants.json"))
    assert any("duplicate platform linux/arm/v6" in w for w in insp.warnings)
    assert any("duplicate platform linux/arm/v7" in w for w in insp.warnings)
    assert any("unrecognized variant 'unrecognized-present'" in w for w in insp.warnings)
    assert len(insp.platforms) == 6


def test_windows_os_version_kept() -> None:
    rel = "github-issues/containerd-6989-windows-servercore-ltsc2019-docker-manifest-inspect.json"
    (entry,) = parse_inspection(read(rel)).platforms
    assert entry.platform == Platform("windows", "amd64", "")
    assert entry.os_version == "10.0.17763.3770"


def test_docker_rebuilt_list_without_annotations() -> None:
    rel = "github-issues/kubewarden-adm-controller-1378-docker-manifest-inspect.json"
    insp = parse_inspection(read(rel))
    assert insp.excluded == [
        {
            "digest": "sha256:944bc337edfac8d02940bf9ad29d6aee4ce8daa4c6f9e4be5cb3bfbe69407536",
            "reason": "unknown/unknown",
        }
    ]
    assert insp.digest is None  # the docker CLI's rebuilt list is not the registry's bytes
    assert any("rebuilt" in w for w in insp.warnings)


def test_tab_indented_docker_manifest_inspect_gets_no_digest() -> None:
    insp = parse_inspection(read("docker-cli/inspect-manifest.golden"))
    assert insp.digest is None


def test_verbose_single_and_raw_check() -> None:
    golden = json.loads(read("docker-cli/inspect-annotate.golden"))
    insp = parse_inspection(read("docker-cli/inspect-annotate.golden"))
    assert insp.digest == golden["Descriptor"]["digest"]
    assert insp.platforms[0].os_version == "1"
    assert not any("Raw" in w for w in insp.warnings)
    golden["Raw"] = base64.b64encode(b'{"schemaVersion": 2}').decode()
    tampered = parse_inspection(json.dumps(golden).encode())
    assert any("Raw bytes hash to" in w for w in tampered.warnings)


def test_verbose_list_is_an_array_of_descriptors() -> None:
    element = json.loads(read("docker-cli/inspect-annotate.golden"))
    amd64 = json.loads(json.dumps(element))
    amd64["Descriptor"]["platform"] = {"architecture": "amd64", "os": "linux"}
    attest = json.loads(json.dumps(element))
    attest["Descriptor"]["platform"] = {"architecture": "unknown", "os": "unknown"}
    attest["Descriptor"]["annotations"] = {"vnd.docker.reference.type": "attestation-manifest"}
    insp = parse_inspection(json.dumps([element, amd64, attest], indent="\t").encode())
    assert insp.kind == "index"
    assert insp.source_format == "docker-manifest-inspect-verbose"
    assert insp.media_type == DOCKER_LIST
    assert plats(insp) == {"freebsd/arm/v7", "linux/amd64"}
    assert insp.attestations == 1


def test_buildx_json_all_single_platform_carries_config() -> None:
    insp = parse_inspection(read("buildx-docs/imagetools-inspect-attest-format-json-all.json"))
    assert insp.digest == "sha256:7007b387ccd52bd42a050f2e8020e56e64622c9269bf7bbe257b326fe99daf19"
    assert insp.platforms[0].created == "2022-12-01T11:46:47.713777178Z"


def test_buildx_json_all_multi_platform_image_map() -> None:
    manifest = json.loads(read("buildx-docs/imagetools-inspect-buildkit-master-format-json-manifest.json"))
    s390x = json.loads(read("buildx-docs/imagetools-inspect-buildkit-master-format-json-image-s390x.json"))
    doc = {"name": "docker.io/moby/buildkit:master", "manifest": manifest, "image": {"linux/s390x": s390x}}
    insp = parse_inspection(json.dumps(doc).encode())
    created = {str(e.platform): e.created for e in insp.platforms}
    assert created["linux/s390x"] == "2022-11-30T17:42:26.414957336Z"
    assert created["linux/amd64"] is None
    assert insp.attestations == 6


def test_buildx_json_all_single_manifest() -> None:
    manifest = json.loads(read("buildx-docs/imagetools-inspect-raw-single-manifest.json"))
    manifest["digest"] = "sha256:" + "ab" * 32
    config = json.loads(read("buildx-docs/imagetools-inspect-buildkit-master-format-json-image-s390x.json"))
    insp = parse_inspection(json.dumps({"name": "x", "manifest": manifest, "image": config}).encode())
    assert insp.kind == "manifest"
    assert insp.config_arch == "s390x"
    assert plats(insp) == {"linux/s390x"}
    assert insp.digest == manifest["digest"]


def test_skopeo_inspect_summary() -> None:
    insp = parse_inspection(read("skopeo-docs/skopeo-inspect-fedora.json"))
    assert insp.digest == "sha256:f99efcddc4dd6736d8a88cc1ab6722098ec1d77dbf7aed9a7a514fc997ca08e0"
    assert insp.created == "2022-11-16T07:26:42.618327645Z"
    assert any("only the platform chosen" in w for w in insp.warnings)


def test_schema1_manifest() -> None:
    compat = json.dumps({"os": "linux", "created": "2016-01-01T00:00:00Z"})
    doc = {
        "schemaVersion": 1,
        "name": "library/busybox",
        "tag": "latest",
        "architecture": "arm64",
        "fsLayers": [{"blobSum": "sha256:" + "0" * 64}],
        "history": [{"v1Compatibility": compat}],
    }
    insp = parse_inspection(json.dumps(doc).encode())
    assert insp.source_format == "docker-manifest-schema1"
    assert plats(insp) == {"linux/arm64/v8"}
    assert insp.created == "2016-01-01T00:00:00Z"


def test_index_configs_give_created_and_flag_mislabelled_children() -> None:
    index = read("regclient/testrepo-v1-index.json")
    arm64_cfg = read("regclient/testrepo-v1-arm64-config.json")
    arm64_digest = "sha256:7e87ffc91b9ceafa85be2777b16b1be10e4664fd4f3acc86e4295b97da5163ba"
    amd64_digest = "sha256:1effc9d48232693f4584ceb9c5e8d84ddeb5924ea4aff341aa8204510422f668"
    good = parse_inspection(index, configs={arm64_digest: arm64_cfg})
    assert {str(e.platform): e.created for e in good.platforms}["linux/arm64/v8"] == "2021-01-01T00:00:00Z"
    assert good.warnings == []
    bad = parse_inspection(index, configs={amd64_digest: arm64_cfg})
    assert any("listed as linux/amd64 but its config says linux/arm64/v8" in w for w in bad.warnings)


def test_parse_config() -> None:
    plat, created = parse_config(read("containers-image/schema2-config.json"))
    assert plat == Platform("linux", "amd64", "")
    assert created == "2016-09-23T23:20:45.78976459Z"
    assert parse_config(b'{"created": "2020-01-01T00:00:00Z"}') == (None, "2020-01-01T00:00:00Z")
    assert parse_config(b'{"architecture": "aarch64", "os": "linux"}')[0] == Platform("linux", "arm64", "v8")
    with pytest.raises(ManifestError):
        parse_config(b"[1, 2]")


# -- hostile input ------------------------------------------------------------------------------

HOSTILE = {
    "broken json": b'{"schemaVersion": 2, "manifests": [',
    "invalid utf-8": b'{"mediaType": "\xff\xfe", "manifests": []}',
    "number": b"42",
    "huge number": b"1e999999",
    "null": b"null",
    "string": b'"application/vnd.oci.image.index.v1+json"',
    "empty": b"",
    "whitespace": b"  \n\t ",
    "list of strings": b'["linux/amd64", "linux/arm64"]',
    "empty list": b"[]",
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "deeply nested object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "manifests not a list": b'{"schemaVersion": 2, "manifests": {"linux/amd64": "sha256:00"}}',
    "manifests entry a string": b'{"schemaVersion": 2, "manifests": ["sha256:00"]}',
    "unknown media type": b'{"mediaType": "text/html", "manifests": []}',
    "media type a number": b'{"mediaType": 7, "manifests": []}',
    "empty object": b"{}",
    "unrelated object": b'{"kind": "PodList", "items": []}',
    "layers not a list": b'{"mediaType": "' + OCI_MANIFEST.encode() + b'", "config": {}, "layers": 3}',
    "verbose list of junk": b'[{"Descriptor": 1}]',
    "buildx manifest junk": b'{"name": "x", "manifest": {"foo": 1}}',
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_a_manifest_error(name: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_inspection(HOSTILE[name])
    assert "\n" not in str(info.value) and str(info.value)


def test_wrong_types_inside_become_warnings() -> None:
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "annotations": ["not", "a", "map"],
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "1" * 64, "platform": "linux/amd64"},
            {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "2" * 64, "platform": {"architecture": 64}},
            {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "3" * 64},
            {"mediaType": OCI_MANIFEST, "platform": {"architecture": "arm64", "os": "linux"}},
        ],
    }
    insp = parse_inspection(json.dumps(doc).encode())
    assert plats(insp) == {"linux/arm64/v8"}
    assert [e["reason"] for e in insp.excluded] == ["malformed platform", "malformed platform", "no platform"]
    assert insp.attestations == 0
    assert insp.annotations == {}
    assert any("platform is a string" in w for w in insp.warnings)
    assert any("no digest" in w for w in insp.warnings)


def _from_catch_all(e: ManifestError) -> bool:
    """Whether `parse_inspection`'s last-resort handler made this error out of an unforeseen exception:
    then the error was raised in `parse_inspection` itself, not in the parser that knew what was wrong."""
    return traceback.extract_tb(e.__traceback__)[-1].name == "parse_inspection"


def test_the_catch_all_is_recognised(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ManifestError) as deliberate:
        parse_inspection(b"   ")
    assert not _from_catch_all(deliberate.value)

    def broken(*_: object) -> None:
        raise KeyError("unforeseen")

    monkeypatch.setattr(manifests, "_parse", broken)
    with pytest.raises(ManifestError) as caught:
        parse_inspection(b"{}")
    assert _from_catch_all(caught.value)


def test_mutated_real_fixtures_never_raise_anything_else() -> None:
    """Every mutation is either parsed or refused by a check that names what is wrong: the catch-all in
    `parse_inspection` (which turns any exception into a ManifestError) is never what makes this pass."""
    rng = random.Random(1234)
    refused = 0
    for rel in sorted(EXPECTED):
        data = read(rel)
        for _ in range(40):
            buf = bytearray(data)
            op = rng.randrange(3)
            pos = rng.randrange(len(buf))
            if op == 0:
                buf = buf[:pos]
            elif op == 1:
                buf[pos] = rng.randrange(256)
            else:
                buf[pos:pos] = rng.choice([b"[", b"{", b'"', b"null", b"\x00", b"1e400"])
            try:
                result = parse_inspection(bytes(buf), config=bytes(buf[:50]), configs={"x": bytes(buf)})
            except ManifestError as e:
                assert not _from_catch_all(e), f"{rel}: {e!r} from {e.__cause__!r}"
                refused += 1
                continue
            assert isinstance(result, ImageInspection)
    assert refused > 0


# -- required platforms -------------------------------------------------------------------------


def req(*names: str) -> list[Platform]:
    return [parse_platform(n) for n in names]


def test_check_required_served() -> None:
    insp = parse_inspection(read("regclient/testrepo-v1-index.json"))
    assert check_required(insp, req("linux/amd64", "linux/arm64")) == []
    assert check_required(insp, [Platform("linux", "arm64", "")]) == []  # served by arm64/v8
    assert check_required(insp, req("linux/arm/v7", "linux/s390x")) == req("linux/arm/v7", "linux/s390x")


def test_check_required_attestation_only_index_misses_amd64() -> None:
    # the kubewarden issue: arm64 + an attestation; the amd64 pull failed with "no match for platform"
    rel = "github-issues/kubewarden-adm-controller-1378-docker-manifest-inspect.json"
    insp = parse_inspection(read(rel))
    assert check_required(insp, req("linux/amd64", "linux/arm64")) == req("linux/amd64")


def test_check_required_arm_variants_and_os() -> None:
    busybox = parse_inspection(read("containers-image/schema2list.json"))  # arm/v5 and arm/v6, no v7
    assert check_required(busybox, req("linux/arm/v7")) == []  # an arm/v7 node runs arm/v6
    buildkit = parse_inspection(read("buildx-docs/imagetools-inspect-raw-manifest-list.json"))  # arm/v7 only
    assert check_required(buildkit, req("linux/arm/v6")) == req("linux/arm/v6")
    windows = parse_inspection(
        read("github-issues/containerd-6989-windows-servercore-ltsc2019-docker-manifest-inspect.json")
    )
    assert check_required(windows, req("linux/amd64", "windows/amd64")) == req("linux/amd64")


def test_check_required_single_manifest_without_config_serves_nothing() -> None:
    insp = parse_inspection(read("containers-image/v2s2.manifest.json"))
    assert check_required(insp, req("linux/amd64")) == req("linux/amd64")


# -- loading from a dump folder -----------------------------------------------------------------


def image_dir(tmp_path: Path, slug: str = "example.com_app_v1") -> Path:
    d = tmp_path / "images" / slug
    d.mkdir(parents=True)
    (d / "ref.txt").write_text("example.com/app:v1\n")
    return d


def test_load_single_manifest_folder(tmp_path: Path) -> None:
    d = image_dir(tmp_path)
    (d / "manifest.json").write_bytes(read("regclient/testrepo-v1-arm64-manifest.json"))
    (d / "config.json").write_bytes(read("regclient/testrepo-v1-arm64-config.json"))
    insp = load_inspection_path(d)
    assert plats(insp) == {"linux/arm64/v8"}
    assert check_required(insp, req("linux/amd64", "linux/arm64")) == req("linux/amd64")


def test_load_index_folder_with_child_configs(tmp_path: Path) -> None:
    d = image_dir(tmp_path)
    (d / "manifest.json").write_bytes(read("regclient/testrepo-v1-index.json"))
    (d / "configs").mkdir()
    name = "sha256_7e87ffc91b9ceafa85be2777b16b1be10e4664fd4f3acc86e4295b97da5163ba.json"
    (d / "configs" / name).write_bytes(read("regclient/testrepo-v1-arm64-config.json"))
    (d / "configs" / "sha256_broken.json").write_bytes(b"{")
    insp = load_inspection_path(d)
    assert {str(e.platform): e.created for e in insp.platforms} == {
        "linux/amd64": None,
        "linux/arm64/v8": "2021-01-01T00:00:00Z",
    }
    assert any("sha256:broken" in w for w in insp.warnings)


def test_load_plain_file(tmp_path: Path) -> None:
    f = tmp_path / "whatever.txt"
    f.write_bytes(read("containers-image/v2list.manifest.json"))
    assert load_inspection_path(f).kind == "index"


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(UnusableInput):
        load_inspection_path(tmp_path / "nope")
    d = image_dir(tmp_path)
    with pytest.raises(ManifestError, match=r"no manifest\.json"):
        load_inspection_path(d)
    (d / "manifest.json").mkdir()
    with pytest.raises(ManifestError, match="not a regular file"):
        load_inspection_path(d)


def test_load_skips_fifo_config(tmp_path: Path) -> None:
    d = image_dir(tmp_path)
    (d / "manifest.json").write_bytes(read("containers-image/v2s2.manifest.json"))
    os.mkfifo(d / "config.json")  # reading it would block forever
    insp = load_inspection_path(d)
    assert any("not a regular file" in w for w in insp.warnings)
    assert insp.digest == "sha256:" + hashlib.sha256(read("containers-image/v2s2.manifest.json")).hexdigest()


# -- the real skopeo on an OCI layout ------------------------------------------------------------


def _write_layout(root: Path) -> None:
    """An OCI layout with a BuildKit-shaped index: linux/amd64, linux/arm64, one attestation entry."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": "sha256:" + digest, "size": len(data)}

    layer = blob(b"\0" * 1024)  # an empty tar archive
    entries: list[dict[str, object]] = []
    for arch in ("amd64", "arm64"):
        config = blob(
            json.dumps(
                {
                    "architecture": arch,
                    "os": "linux",
                    "created": "2024-01-01T00:00:00Z",
                    "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
                    "config": {},
                }
            ).encode()
        )
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}],
        }
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                **blob(json.dumps(manifest).encode()),
                "platform": {"architecture": arch, "os": "linux"},
            }
        )
    entries.append(
        {
            "mediaType": OCI_MANIFEST,
            **blob(b'{"schemaVersion":2}'),
            "annotations": {
                "vnd.docker.reference.digest": entries[0]["digest"],
                "vnd.docker.reference.type": "attestation-manifest",
            },
            "platform": {"architecture": "unknown", "os": "unknown"},
        }
    )
    index = blob(json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode())
    ref = {"org.opencontainers.image.ref.name": "v1"}
    top = {"schemaVersion": 2, "manifests": [{"mediaType": OCI_INDEX, **index, "annotations": ref}]}
    (root / "index.json").write_text(json.dumps(top))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')


def _skopeo(*args: str) -> bytes:
    return subprocess.run(["skopeo", *args], check=True, capture_output=True, timeout=60).stdout


@pytest.mark.registry
@pytest.mark.skipif(shutil.which("skopeo") is None, reason="needs skopeo")
def test_real_skopeo_outputs(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    _write_layout(layout)
    ref = f"oci:{layout}:v1"
    raw = parse_inspection(_skopeo("inspect", "--raw", ref))
    summary = parse_inspection(_skopeo("inspect", "--override-arch", "arm64", ref))
    assert raw.kind == "index" and raw.source_format == "oci-index"
    assert plats(raw) == {"linux/amd64", "linux/arm64/v8"}
    assert raw.attestations == 1
    # skopeo's own digest of the index equals the sha256 we compute from its --raw bytes
    assert summary.source_format == "skopeo-inspect"
    assert raw.digest == summary.digest
    assert plats(summary) == {"linux/arm64/v8"}
    plat, created = parse_config(_skopeo("inspect", "--config", "--raw", "--override-arch", "arm64", ref))
    assert plat == Platform("linux", "arm64", "v8") and created == "2024-01-01T00:00:00Z"
    assert check_required(raw, req("linux/amd64", "linux/arm64", "linux/s390x")) == req("linux/s390x")


def test_config_next_to_an_index_is_matched_by_platform() -> None:
    index = read("regclient/testrepo-v1-index.json")
    insp = parse_inspection(index, config=read("regclient/testrepo-v1-arm64-config.json"))
    assert {str(e.platform): e.created for e in insp.platforms}["linux/arm64/v8"] == "2021-01-01T00:00:00Z"
    other = parse_inspection(index, config=read("containers-image/schema2-config.json"))  # linux/amd64
    assert {str(e.platform): e.created for e in other.platforms}["linux/amd64"] == "2016-09-23T23:20:45.78976459Z"
    s390x = read("buildx-docs/imagetools-inspect-buildkit-master-format-json-image-s390x.json")
    stray = parse_inspection(index, config=s390x)
    assert any("matches no platform" in w for w in stray.warnings)


def test_error_message_stays_one_line_with_hostile_keys() -> None:
    with pytest.raises(ManifestError) as info:
        parse_inspection(b'{"evil\\nkey": 1, "<b>x</b>": 2}')
    assert "\n" not in str(info.value)
