"""`scheduling.arch_constraint`: a pod spec's kubernetes.io/arch constraint as lists of allowed and
excluded architectures (no private notation mixing the two)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from forensics.read import kube
from forensics.read.scheduling import arch_constraint


def _spec(
    selector: dict[str, str] | None = None,
    terms: list[list[tuple[str, str, list[str]]]] | None = None,
    preferred: list[tuple[str, list[str]]] | None = None,
) -> kube.PodSpec:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "x"}]}
    if selector:
        spec["nodeSelector"] = selector
    na: dict[str, Any] = {}
    if terms is not None:
        na["requiredDuringSchedulingIgnoredDuringExecution"] = {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": k, "operator": op, "values": v} for k, op, v in t]} for t in terms
            ]
        }
    if preferred:
        na["preferredDuringSchedulingIgnoredDuringExecution"] = [
            {
                "weight": 1,
                "preference": {"matchExpressions": [{"key": "kubernetes.io/arch", "operator": op, "values": v}]},
            }
            for op, v in preferred
        ]
    if na:
        spec["affinity"] = {"nodeAffinity": na}
    return msgspec.json.decode(json.dumps(spec).encode(), type=kube.PodSpec)


ARCH = "kubernetes.io/arch"


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        (_spec(), (None, None, None)),
        (_spec({ARCH: "arm64"}), (["arm64"], None, None)),
        (_spec({"beta.kubernetes.io/arch": "x86_64"}), (["amd64"], None, None)),
        (_spec(terms=[[(ARCH, "In", ["amd64", "arm64"])]]), (["amd64", "arm64"], None, None)),
        # In and NotIn in one term: the allowed ones minus the excluded ones (once "!arm64,amd64,arm64")
        (_spec(terms=[[(ARCH, "In", ["amd64", "arm64"]), (ARCH, "NotIn", ["arm64"])]]), (["amd64"], None, None)),
        (_spec(terms=[[(ARCH, "NotIn", ["arm64", "s390x"])]]), (None, ["arm64", "s390x"], None)),
        # terms are ORed: an excluding term and an allowing one exclude only what the other does not allow
        (_spec(terms=[[(ARCH, "NotIn", ["arm64", "s390x"])], [(ARCH, "In", ["s390x"])]]), (None, ["arm64"], None)),
        # a term without an arch expression admits every arch
        (_spec(terms=[[(ARCH, "In", ["arm64"])], [("zone", "In", ["a"])]]), (None, None, None)),
        # nodeSelector ANDed with the affinity
        (_spec({ARCH: "arm64"}, [[(ARCH, "In", ["amd64"])]]), ([], None, None)),
        (_spec({ARCH: "arm64"}, [[(ARCH, "NotIn", ["arm64"])]]), ([], None, None)),
        (_spec(preferred=[("In", ["arm64"]), ("NotIn", ["amd64"])]), (None, None, ["arm64"])),
    ],
)
def test_arch_constraint(spec: kube.PodSpec, want: tuple[Any, Any, Any]) -> None:
    assert arch_constraint(spec) == want
