"""Scheduling semantics the frames carry: which architectures a pod's spec admits (`arch_constraint`)
and whether its tolerations let it onto a tainted node (`tolerates`).

Specs are real Kubernetes JSON decoded the way the loader decodes them; tolerations and taints are read
back from loaded frames, so these tests hold whatever shape the frames give those columns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
import pytest

from forensics.read import kube
from forensics.read.load import load_dump
from forensics.read.scheduling import arch_constraint, tolerates

SNAP = "20260101T000000Z"


def _set(v: Any) -> set[str] | None:
    """A constraint as a set, whether the frames spell it as a comma list or as a list."""
    if v is None or (not isinstance(v, (list, tuple, set)) and pd.isna(v)):
        return None
    return set(v.split(",")) - {""} if isinstance(v, str) else set(v)


def _constraint(spec: dict[str, Any]) -> tuple[set[str] | None, set[str] | None]:
    """(allowed, preferred) architectures; `_excluded` reads the third answer."""
    allowed, _, preferred = _decoded(spec)
    return _set(allowed), _set(preferred)


def _excluded(spec: dict[str, Any]) -> set[str] | None:
    return _set(_decoded(spec)[1])


def _decoded(spec: dict[str, Any]) -> tuple[list[str] | None, list[str] | None, list[str] | None]:
    spec = {"containers": [{"name": "c", "image": "x"}], **spec}
    return arch_constraint(msgspec.json.decode(json.dumps(spec), type=kube.PodSpec))


def _in(key: str, *values: str, op: str = "In") -> dict[str, Any]:
    return {"key": key, "operator": op, "values": list(values)}


def _required(*terms: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": t} for t in terms]
                }
            }
        }
    }


ARCH = "kubernetes.io/arch"


def test_unconstrained() -> None:
    assert _constraint({}) == (None, None)
    assert _constraint({"nodeSelector": {"kubernetes.io/os": "linux"}}) == (None, None)


@pytest.mark.parametrize("key", ["kubernetes.io/arch", "beta.kubernetes.io/arch"])
def test_node_selector_with_the_label_spelled_either_way_and_normalized(key: str) -> None:
    assert _constraint({"nodeSelector": {key: "arm64"}})[0] == {"arm64"}
    assert _constraint({"nodeSelector": {key: "x86_64"}})[0] == {"amd64"}  # as runtimes normalize it
    assert _constraint({"nodeSelector": {key: "aarch64"}})[0] == {"arm64"}


def test_terms_are_ored_and_expressions_in_a_term_anded() -> None:
    assert _constraint(_required([_in(ARCH, "amd64")], [_in(ARCH, "arm64")]))[0] == {"amd64", "arm64"}
    assert _constraint(_required([_in(ARCH, "amd64", "arm64"), _in(ARCH, "arm64")]))[0] == {"arm64"}
    # a term that says nothing about the architecture admits every node of its zone: no arch constraint
    assert _constraint(_required([_in(ARCH, "arm64")], [_in("topology.kubernetes.io/zone", "a")]))[0] is None


def test_node_selector_and_required_affinity_must_both_hold() -> None:
    spec = {"nodeSelector": {ARCH: "arm64"}, **_required([_in(ARCH, "amd64", "arm64")])}
    assert _constraint(spec)[0] == {"arm64"}
    spec = {"nodeSelector": {ARCH: "arm64"}, **_required([_in(ARCH, "amd64")])}
    assert _constraint(spec)[0] == set()  # no node can take it: not "unconstrained"


def test_preferred_affinity_is_kept_apart() -> None:
    spec = {
        "affinity": {
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 50, "preference": {"matchExpressions": [_in(ARCH, "arm64")]}}
                ]
            }
        }
    }
    assert _constraint(spec) == (None, {"arm64"})


def test_not_in_excludes() -> None:
    spec = _required([_in(ARCH, "arm64", op="NotIn")])
    assert _constraint(spec)[0] is None  # not a list of allowed architectures...
    assert _excluded(spec) == {"arm64"}  # ...but an exclusion, kept apart


def test_not_in_ored_with_in_admits_every_architecture() -> None:
    # (not arm64) OR (amd64 or arm64): every node qualifies
    spec = _required([_in(ARCH, "arm64", op="NotIn")], [_in(ARCH, "amd64", "arm64")])
    assert _constraint(spec)[0] is None
    assert _excluded(spec) is None


# -- tolerations x taints, read back from loaded frames ------------------------------------------------


def _loaded(tmp_path: Path, taints: list[dict[str, Any]], tolerations: list[dict[str, Any]]) -> bool:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "n1", "labels": {ARCH: "amd64"}},
        "spec": {"taints": taints},
        "status": {"nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.2"}},
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns", "uid": "u", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"containers": [{"name": "c", "image": "x"}], "tolerations": tolerations},
        "status": {"phase": "Pending"},
    }
    root = tmp_path / "dump"
    snap = root / "snapshots" / SNAP
    snap.mkdir(parents=True, exist_ok=True)
    (root / "forensics-dump.yaml").write_text(f"format: cluster-forensics-dump\nversion: 1\nsnapshots: [{SNAP}]\n")
    (snap / "nodes.json").write_text(json.dumps({"kind": "List", "items": [node]}))
    (snap / "pods.json").write_text(json.dumps({"kind": "List", "items": [pod]}))
    d = load_dump(root)

    def val(v: Any) -> Any:
        return None if not isinstance(v, (list, tuple)) and pd.isna(v) else v

    return tolerates(val(d["pods"]["tolerations"].iloc[0]), val(d["nodes"]["taints"].iloc[0]))


def _taint(key: str, value: str | None = None, effect: str = "NoSchedule") -> dict[str, Any]:
    return {"key": key, **({"value": value} if value is not None else {}), "effect": effect}


def _tol(
    key: str | None = None, value: str | None = None, effect: str | None = None, op: str = "Equal"
) -> dict[str, Any]:
    t: dict[str, Any] = {"operator": op}
    for k, v in (("key", key), ("value", value), ("effect", effect)):
        if v is not None:
            t[k] = v
    return t


CASES = [
    ("no taint", [], [], True),
    ("untolerated", [_taint("dedicated", "gpu")], [], False),
    ("equal", [_taint("dedicated", "gpu")], [_tol("dedicated", "gpu", "NoSchedule")], True),
    ("other value", [_taint("dedicated", "gpu")], [_tol("dedicated", "db", "NoSchedule")], False),
    ("other effect", [_taint("dedicated", "gpu")], [_tol("dedicated", "gpu", "NoExecute")], False),
    ("any effect", [_taint("dedicated", "gpu", "NoExecute")], [_tol("dedicated", "gpu")], True),
    ("exists", [_taint("dedicated", "gpu")], [_tol("dedicated", op="Exists")], True),
    ("exists, other key", [_taint("dedicated", "gpu")], [_tol("arch", op="Exists")], False),
    ("tolerate everything", [_taint("a", "1"), _taint("b", effect="NoExecute")], [_tol(op="Exists")], True),
    ("taint without value", [_taint("arm")], [_tol("arm", op="Exists", effect="NoSchedule")], True),
    ("one of two tolerated", [_taint("a", "1"), _taint("b", "2")], [_tol("a", "1")], False),
    ("both tolerated", [_taint("a", "1"), _taint("b", "2")], [_tol("a", "1"), _tol("b", "2")], True),
    ("equal, both without value", [_taint("arm")], [_tol("arm", effect="NoSchedule")], True),
    (
        "every key, one effect",
        [_taint("a", "1", "NoExecute")],
        [_tol(op="Exists", effect="NoSchedule")],
        False,
    ),
    (
        "every key, that effect",
        [_taint("a", "1", "NoExecute")],
        [_tol(op="Exists", effect="NoExecute")],
        True,
    ),
    ("soft taint never blocks", [_taint("a", "1", "PreferNoSchedule")], [], True),
]


@pytest.mark.parametrize(("what", "taints", "tolerations", "expected"), CASES, ids=[c[0] for c in CASES])
def test_tolerations_against_taints(
    tmp_path: Path, what: str, taints: list[dict[str, Any]], tolerations: list[dict[str, Any]], expected: bool
) -> None:
    assert _loaded(tmp_path, taints, tolerations) is expected, what
