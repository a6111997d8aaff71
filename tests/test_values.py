"""The one parser of each scalar the dump spells: image references, times, missing cells."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from forensics.values import (
    ImageRef,
    image_key,
    is_missing,
    iso_seconds,
    iso_z,
    opt_str,
    registry_of,
    stamp_time,
)

D = "sha256:" + "e" * 64


@pytest.mark.parametrize(
    "ref,parts",
    [
        ("nginx", (None, "nginx", None, None)),
        ("nginx:1.27", (None, "nginx", "1.27", None)),
        ("bitnami/redis:7", (None, "bitnami/redis", "7", None)),
        ("localhost:5000/a/b", ("localhost:5000", "a/b", None, None)),
        ("localhost/a", ("localhost", "a", None, None)),
        ("registry.k8s.io/pause:3.9@" + D, ("registry.k8s.io", "pause", "3.9", D)),
        ("docker-pullable://ghcr.io/x/y@" + D, ("ghcr.io", "x/y", None, D)),
        ("host:5000/name", ("host:5000", "name", None, None)),
        ("team/app", (None, "team/app", None, None)),  # no dot, colon or localhost: a docker.io namespace
    ],
)
def test_parse_splits_like_the_runtime(ref: str, parts: tuple[str | None, ...]) -> None:
    r = ImageRef.parse(ref)
    assert (r.registry, r.path, r.tag, r.digest) == parts


@pytest.mark.parametrize(
    "ref,key",
    [
        ("nginx", "docker.io/library/nginx:latest"),
        ("index.docker.io/library/nginx:1", "docker.io/library/nginx:1"),
        ("docker.io/bitnami/redis", "docker.io/bitnami/redis:latest"),
        ("quay.io/a/b@" + D, "quay.io/a/b@" + D),
        ("quay.io/a/b:v2@" + D, "quay.io/a/b:v2@" + D),
        ("  nginx:1 ", "docker.io/library/nginx:1"),
        ("", ""),
        (None, ""),
    ],
)
def test_key_is_what_the_runtime_pulls(ref: str | None, key: str) -> None:
    assert image_key(ref) == key


def test_same_image_written_differently_has_one_key() -> None:
    assert (
        len(
            {
                image_key(r)
                for r in ("nginx", "nginx:latest", "docker.io/library/nginx", "index.docker.io/library/nginx:latest")
            }
        )
        == 1
    )


@pytest.mark.parametrize(
    "ref,host",
    [
        ("nginx", "docker.io"),
        ("bitnami/redis", "docker.io"),
        ("quay.io/a/b:1", "quay.io"),
        ("localhost:5000/a", "localhost:5000"),
        ("123.dkr.ecr.us-east-1.amazonaws.com/x@" + D, "123.dkr.ecr.us-east-1.amazonaws.com"),
    ],
)
def test_registry_host(ref: str, host: str) -> None:
    assert registry_of(ref) == host


@pytest.mark.parametrize(
    "text,at",
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:00.123456Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T10:00:07+00:00", datetime(2024, 5, 1, 10, 0, 7, tzinfo=UTC)),
        ("2024-13-01T10:00:00Z", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_iso_seconds(text: str, at: datetime | None) -> None:
    assert iso_seconds(text) == at


def test_iso_z_round_trips_through_a_frame_cell() -> None:
    cell = pd.Series(pd.to_datetime(["2024-05-01T10:00:00.5Z"], utc=True)).iat[0]
    assert iso_z(cell) == "2024-05-01T10:00:00.500000Z"
    assert iso_z(pd.NaT) is None


def test_stamp_time() -> None:
    assert stamp_time("20240501T100000Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert stamp_time("latest") is None


@pytest.mark.parametrize("v", [None, pd.NA, pd.NaT, float("nan"), np.float64("nan")])
def test_missing_cells(v: object) -> None:
    assert is_missing(v) and opt_str(v) is None


@pytest.mark.parametrize("v,text", [("", ""), (0, "0"), (False, "False"), ("<none>", "<none>")])
def test_present_cells_are_kept(v: object, text: str) -> None:
    assert not is_missing(v) and opt_str(v) == text


def test_containers_are_values() -> None:
    assert not is_missing([]) and not is_missing({}) and not is_missing(["a", None])
