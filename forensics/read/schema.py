"""The frame schema: the columns of every frame and their kinds, and how column lists become typed
DataFrames (Arrow-backed strings and string lists, nullable ints/bools, UTC timestamps).

The columns are documented in `docs/dump-format.md` ("Frames"); they are the words rules are written
in: `snapshot`, `observed_at`, `namespace`, `pod`, `container`, `node`, `image`, `image_digest`, `arch`.
`Columns` accumulates one frame's rows while a dump streams; `make_frame` types them (and makes empty
frames); `arrow_table` writes a frame for Parquet.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pyarrow as pa

from forensics.read.source import LoadProblem

STR = "str"
INT = "int"
BOOL = "bool"
TS = "ts"
FLOAT = "float"
LIST = "list"  # a list of strings (Arrow list<string>); null when the object says nothing
STR_LIST = pd.ArrowDtype(pa.list_(pa.string()))

NODE_COLS = {
    "snapshot": STR,
    "node": STR,
    "arch": STR,
    "variant": STR,
    "arch_label": STR,
    "os": STR,
    "kernel": STR,
    "os_image": STR,
    "runtime": STR,
    "runtime_version": STR,
    "kubelet_version": STR,
    "instance_type": STR,
    "pool": STR,
    "zone": STR,
    "created": TS,
    "ready": BOOL,
    "ready_reason": STR,
    "ready_message": STR,
    "ready_since": TS,
    "unschedulable": BOOL,
    "taints": LIST,
    "conditions": STR,
    "pressure": LIST,
    "pressure_words": LIST,
    "file": STR,
    "cpu_level": STR,
    "cpu_level_from": STR,
    "cpu_model": STR,
    "windows_build": STR,
}
POD_COLS = {
    "snapshot": STR,
    "namespace": STR,
    "pod": STR,
    "uid": STR,
    "node": STR,
    "phase": STR,
    "reason": STR,
    "message": STR,
    "created": TS,
    "start_time": TS,
    "owner_kind": STR,
    "owner_name": STR,
    "pod_template_hash": STR,
    "arch_allowed": LIST,
    "arch_excluded": LIST,
    "arch_preferred": LIST,
    "scheduled": STR,
    "scheduled_message": STR,
    "ready": BOOL,
    "tolerations": LIST,
    "claims": LIST,
    "file": STR,
    "multiarch": STR,
}
CONTAINER_COLS = {
    "snapshot": STR,
    "namespace": STR,
    "pod": STR,
    "container": STR,
    "init": BOOL,
    "image": STR,
    "status_image": STR,
    "image_id": STR,
    "image_digest": STR,
    "restart_count": INT,
    "ready": BOOL,
    "has_status": BOOL,
    "state": STR,
    "waiting_reason": STR,
    "waiting_message": STR,
    "term_reason": STR,
    "term_exit_code": INT,
    "term_message": STR,
    "term_finished": TS,
    "started_at": TS,
    "last_reason": STR,
    "last_exit_code": INT,
    "last_signal": INT,
    "last_message": STR,
    "last_started": TS,
    "last_finished": TS,
    "termination_message_policy": STR,
    "has_liveness_probe": BOOL,
    "memory_limit": STR,
    "command": STR,
    "file": STR,
}
EVENT_COLS = {
    "snapshot": STR,
    "namespace": STR,
    "name": STR,
    "uid": STR,
    "api": STR,
    "object_kind": STR,
    "object_namespace": STR,
    "object_name": STR,
    "field_path": STR,
    "container": STR,
    "reason": STR,
    "message": STR,
    "type": STR,
    "count": INT,
    "first_seen": TS,
    "last_seen": TS,
    "source_component": STR,
    "source_host": STR,
    "file": STR,
}
WORKLOAD_COLS = {
    "snapshot": STR,
    "kind": STR,
    "namespace": STR,
    "name": STR,
    "uid": STR,
    "created": TS,
    "owner_kind": STR,
    "owner_name": STR,
    "replicas": INT,
    "images": STR,
    "arch_allowed": LIST,
    "arch_excluded": LIST,
    "failed_reason": STR,
    "failed_message": STR,
    "failed_at": TS,
    "file": STR,
}
LOG_COLS = {
    "snapshot": STR,
    "namespace": STR,
    "pod": STR,
    "container": STR,
    "previous": BOOL,
    "file": STR,
    "size": INT,
    "lines": INT,
    "invalid_utf8": BOOL,
}
SIGNATURE_COLS = {
    "snapshot": STR,
    "namespace": STR,
    "pod": STR,
    "container": STR,
    "source": STR,
    "file": STR,
    "object": STR,
    "line": INT,
    "signature": STR,
    "dialect": STR,
    "hint": STR,
    "text": STR,
    "platform": STR,
    "at": TS,
}
IMAGE_COLS = {
    "image": STR,
    "image_key": STR,
    "slug": STR,
    "inspected": BOOL,
    "kind": STR,
    "media_type": STR,
    "source_format": STR,
    "digest": STR,
    "platforms": LIST,
    "archs": LIST,
    "n_platforms": INT,
    "attestations": INT,
    "config_os": STR,
    "config_arch": STR,
    "config_variant": STR,
    "created": TS,
    "child_digests": STR,
    "warnings": STR,
    "file": STR,
    "amd64_level": STR,
    "amd64_level_from": STR,
}
IMAGE_PLATFORM_COLS = {
    "image": STR,
    "image_key": STR,
    "os": STR,
    "arch": STR,
    "variant": STR,
    "platform": STR,
    "digest": STR,
    "created": TS,
    "os_version": STR,
    "config_platform": STR,
    "amd64_level": STR,
    "amd64_level_from": STR,
}
BINFMT_COLS = {
    "node": STR,
    "entry": STR,
    "enabled": BOOL,
    "interpreter": STR,
    "flags": STR,
    "arch": STR,
    "file": STR,
}

SCHEMAS: dict[str, dict[str, str]] = {
    "nodes": NODE_COLS,
    "pods": POD_COLS,
    "containers": CONTAINER_COLS,
    "events": EVENT_COLS,
    "workloads": WORKLOAD_COLS,
    "logs": LOG_COLS,
    "signatures": SIGNATURE_COLS,
    "images": IMAGE_COLS,
    "image_platforms": IMAGE_PLATFORM_COLS,
    "binfmt": BINFMT_COLS,
}


class Columns:
    """Column lists for one frame, appended row by row while streaming."""

    __slots__ = ("data", "schema")

    def __init__(self, schema: dict[str, str]) -> None:
        self.schema = schema
        self.data: dict[str, list[Any]] = {c: [] for c in schema}

    def add(self, **row: Any) -> None:
        for c, col in self.data.items():
            col.append(row.get(c))

    def frame(self, problems: list[LoadProblem] | None = None) -> pd.DataFrame:
        try:
            return make_frame(self.schema, self.data, strict=True)
        except (OverflowError, TypeError, ValueError):
            self._out_of_range(problems if problems is not None else [])
            return make_frame(self.schema, self.data)

    def _out_of_range(self, problems: list[LoadProblem]) -> None:
        """Integers an Int64 column cannot hold (past int64) become unknown, one load problem per file."""
        files = self.data.get("file")
        for c, kind in self.schema.items():
            if kind != INT:
                continue
            col = self.data[c]
            bad = [i for i, v in enumerate(col) if v is not None and _int64(v) is None]
            if not bad:
                continue
            for i in bad:
                col[i] = None
            where = sorted({str(files[i]) for i in bad if files is not None and files[i]}) or ["(dump)"]
            for f in where[:20]:
                problems.append(
                    LoadProblem(
                        f,
                        "number out of range",
                        f"{c}: a value past 64-bit integers (or not an integer) read as unknown",
                    )
                )


def make_frame(
    schema: dict[str, str], data: dict[str, list[Any]] | None = None, *, strict: bool = False
) -> pd.DataFrame:
    """Build a DataFrame with the dtypes of a schema (also used to make empty frames). An integer column
    value past int64 is unknown, or (`strict`) raises OverflowError/TypeError."""
    data = data or {c: [] for c in schema}
    cols: dict[str, Any] = {}
    for c, kind in schema.items():
        values = data.get(c, [])
        if kind == STR:
            cols[c] = str_array(values)
        elif kind == INT:
            try:
                cols[c] = pd.array(values, dtype="Int64")
            except (OverflowError, TypeError, ValueError):
                if strict:
                    raise
                cols[c] = pd.array([_int64(v) for v in values], dtype="Int64")
        elif kind == BOOL:
            cols[c] = pd.array(values, dtype="boolean")
        elif kind == FLOAT:
            cols[c] = pd.array(values, dtype="Float64")
        elif kind == LIST:
            cols[c] = pd.array(values, dtype=STR_LIST)
        else:
            cols[c] = to_utc(values)
    return pd.DataFrame(cols)


def arrow_table(frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """`frame` as an Arrow table for Parquet. The pandas metadata names an Arrow list column's dtype
    `list<item: string>[pyarrow]`, which pandas (3.x) cannot parse back, so `read_parquet` would fail:
    such columns are recorded as `object` there (their Arrow type stays `list<string>`)."""
    t = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    meta = t.schema.metadata or {}
    raw = meta.get(b"pandas")
    if raw is None:
        return t
    doc = json.loads(raw)
    for c in doc.get("columns", []):
        if str(c.get("numpy_type", "")).startswith("list<"):
            c["numpy_type"] = "object"
    return t.replace_schema_metadata({**meta, b"pandas": json.dumps(doc).encode()})


def str_array(values: list[Any]) -> pd.api.extensions.ExtensionArray:
    """A `string[pyarrow]` array of text values (None and NaN missing), built by Arrow straight from the
    list: `pd.array(values, dtype="string[pyarrow]")` gives the same array but checks every value in
    Python first, about four times slower. A value that is no text is left to pandas, which makes it text."""
    try:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pd.array(values, dtype="string[pyarrow]")
    return pd.arrays.ArrowStringArray(pa.chunked_array([arr], type=pa.large_string()))


_INT64 = (-(1 << 63), (1 << 63) - 1)


def _int64(v: Any) -> int | None:
    """An integer the Int64 columns can hold; anything else (past int64, not an int) is unknown."""
    if isinstance(v, bool) or not isinstance(v, int) or not _INT64[0] <= v <= _INT64[1]:
        return None
    return v


def to_utc(values: Any) -> pd.Series:
    """UTC nanosecond timestamps; text that is no time, and times outside what nanoseconds can hold
    (Go's zero time 0001-01-01, year 9999), are unknown (NaT)."""
    s = pd.Series(values, dtype="object") if not isinstance(values, pd.Series) else values
    t = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
    if t.dtype != "datetime64[ns, UTC]":
        t = t.where((t >= pd.Timestamp.min.tz_localize("UTC")) & (t <= pd.Timestamp.max.tz_localize("UTC")))
    return t.astype("datetime64[ns, UTC]")
