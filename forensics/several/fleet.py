"""Many dumps at once on Dask: `forensics fleet DUMP... -o DIR`.

Each dump is loaded and analyzed on a Dask worker exactly as `forensics analyze` does it (same
loader, same safety caps), and everything it gives is written under DIR:

    DIR/dataset/<table>/dump_id=<id>/part-0.parquet   one Parquet dataset, hive-partitioned by dump
    DIR/reports/<id>.html  DIR/reports/<id>.json       each dump's own report and findings document
    DIR/fleet.json  DIR/fleet.html  DIR/fleet.md       the fleet summary

Tables (docs/fleet.md): `dumps` (one row per input, loaded or not, with the reason when not),
`findings` (one row per finding), `image_coverage` (per dump and image reference: platforms, the
node architectures running it and present in the cluster, and which of them the image lacks), and
every analysis frame (`nodes`, `pods`, `containers`, `events`, `workloads`, `logs`, `signatures`,
`images`, `image_platforms`, `binfmt`). Every row carries `source_path` and `collected_at`; the
partition column is `dump_id`, the first 16 hex digits of the sha256 of the dump's content (an
archive's bytes; a directory's sorted relative paths and file bytes), so the same dump collected
twice, renamed or moved, has one id.

The work is two rounds of tasks: hash every input (cheap, parallel), then analyze the distinct
dumps that DIR does not already hold (resumable: a dump whose `dumps` row says `ok` is skipped). A
dump that cannot be loaded is recorded with its reason; a worker lost mid-dump is too; the rest goes
on. A dump whose worker died (out of memory, say) is tried once more first: it may only have been
queued behind the one that killed the worker (retries run one at a time, after the others). A
partition is written to a temporary folder and renamed into place, and the `dumps` row is
written last, so an interrupted run leaves nothing that a later run would take as done.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from forensics import __version__
from forensics.errors import ForensicsError
from forensics.read.schema import arrow_table
from forensics.values import is_missing, opt_str

__all__ = ["FRAME_TABLES", "SCHEMA", "TABLES", "content_id", "read_table", "run_fleet", "summarize"]

SCHEMA = "cluster-forensics-fleet/1"
DATASET = "dataset"
REPORTS = "reports"
PARTITION = "dump_id"
FRAME_TABLES = (
    "nodes",
    "pods",
    "containers",
    "events",
    "workloads",
    "logs",
    "signatures",
    "images",
    "image_platforms",
    "binfmt",
)
TABLES = ("dumps", "findings", "image_coverage", *FRAME_TABLES)
_HASH_CHUNK = 1 << 20
_SEVERITY = ("info", "low", "medium", "high", "critical")


# --- the dump id ----------------------------------------------------------------------------------


def content_id(path: str | Path) -> str:
    """The stable id of a dump: sha256 over its content, 16 hex digits. Symlinks are hashed by their
    target text, never followed (as the reader treats them)."""
    p = Path(path)
    h = hashlib.sha256()
    st = p.lstat()
    if stat.S_ISDIR(st.st_mode):
        h.update(b"dir\0")
        for dirpath, dirnames, filenames in os.walk(p, followlinks=False):
            dirnames.sort()
            for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
                full = Path(dirpath) / name
                rel = full.relative_to(p).as_posix()
                h.update(rel.encode("utf-8", "surrogateescape") + b"\0")
                fst = full.lstat()
                if stat.S_ISLNK(fst.st_mode):
                    h.update(b"link\0" + os.readlink(full).encode("utf-8", "surrogateescape") + b"\0")
                elif stat.S_ISREG(fst.st_mode):
                    h.update(str(fst.st_size).encode() + b"\0")
                    _hash_file(full, h)
    elif stat.S_ISREG(st.st_mode):
        h.update(b"file\0")
        _hash_file(p, h)
    else:
        raise ForensicsError(f"{p}: neither a file nor a directory")
    return h.hexdigest()[:16]


def _hash_file(p: Path, h: Any) -> None:
    with open(p, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            h.update(chunk)


# --- one dump, on a worker --------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    path: str
    dump_id: str | None
    error: str | None = None


def hash_input(path: str) -> Input:
    """Round one (runs on a worker): the dump's id, or why it has none."""
    try:
        return Input(path, content_id(path))
    except (OSError, ForensicsError) as e:
        return Input(path, None, f"cannot read: {getattr(e, 'strerror', None) or e}")


def _worst(findings: list[dict[str, Any]]) -> str | None:
    ranks = [_SEVERITY.index(f["severity"]) for f in findings if f.get("severity") in _SEVERITY]
    return _SEVERITY[max(ranks)] if ranks else None


def _findings_frame(doc: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for latent, section in ((False, "findings"), (True, "latent")):
        for f in doc.get(section) or []:
            w = f["workload"]
            rows.append(
                {
                    "finding_id": f["id"],
                    "cause": f["cause"],
                    "severity": f["severity"],
                    "severity_rank": _SEVERITY.index(f["severity"]) if f["severity"] in _SEVERITY else -1,
                    "confidence": float(f["confidence"]),
                    "latent": latent,
                    "workload_kind": w["kind"],
                    "namespace": w["namespace"],
                    "workload_name": w["name"],
                    "summary": f["summary"],
                    "contributing": list(f.get("contributing") or []),
                    "pods": list(f.get("pods") or []),
                    "nodes": list(f.get("nodes") or []),
                    "node_archs": list(f.get("node_archs") or []),
                    "images": [str(i.get("ref")) for i in f.get("images") or [] if isinstance(i, dict)],
                    "restarts": int(f.get("restarts") or 0),
                    "first_seen": f.get("first_seen"),
                    "last_seen": f.get("last_seen"),
                }
            )
    return pd.DataFrame(rows, columns=_FINDING_COLUMNS)


_FINDING_COLUMNS = [
    "finding_id",
    "cause",
    "severity",
    "severity_rank",
    "confidence",
    "latent",
    "workload_kind",
    "namespace",
    "workload_name",
    "summary",
    "contributing",
    "pods",
    "nodes",
    "node_archs",
    "images",
    "restarts",
    "first_seen",
    "last_seen",
]
_FINDING_SCHEMA = pa.schema(
    [
        ("finding_id", pa.string()),
        ("cause", pa.string()),
        ("severity", pa.string()),
        ("severity_rank", pa.int8()),
        ("confidence", pa.float64()),
        ("latent", pa.bool_()),
        ("workload_kind", pa.string()),
        ("namespace", pa.string()),
        ("workload_name", pa.string()),
        ("summary", pa.string()),
        ("contributing", pa.list_(pa.string())),
        ("pods", pa.list_(pa.string())),
        ("nodes", pa.list_(pa.string())),
        ("node_archs", pa.list_(pa.string())),
        ("images", pa.list_(pa.string())),
        ("restarts", pa.int64()),
        ("first_seen", pa.string()),
        ("last_seen", pa.string()),
    ]
)


def _coverage_frame(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per image reference the dump's containers use (last snapshot): its runnable architectures when
    inspected, the node architectures running it and present in the cluster, and which it lacks."""
    from forensics.values import image_key

    c, n = frames["containers"], frames["nodes"]
    im, plats = frames["images"], frames["image_platforms"]
    cols = [
        "image",
        "image_key",
        "inspected",
        "kind",
        "archs",
        "running_on_archs",
        "cluster_archs",
        "lacks_running_archs",
        "lacks_cluster_archs",
        "containers",
    ]
    if c.empty:
        return pd.DataFrame(columns=cols)
    last_n = n.sort_values("snapshot_index").drop_duplicates("node", keep="last") if not n.empty else n
    arch_of = dict(zip(last_n["node"], last_n["arch"], strict=True)) if not n.empty else {}
    cluster = sorted({str(a) for a in arch_of.values() if isinstance(a, str)})
    cur = c.sort_values("snapshot_index").drop_duplicates(["namespace", "pod", "container"], keep="last")
    archs_of: dict[str, set[str]] = {}
    for k, a in zip(plats["image_key"], plats["arch"], strict=True):
        archs_of.setdefault(str(k), set()).add(str(a))
    inspected = {
        str(k): (False if is_missing(i) else bool(i), opt_str(kd))
        for k, i, kd in zip(im["image_key"], im["inspected"], im["kind"], strict=True)
    }
    rows = []
    for ref, g in cur.groupby(cur["image"].fillna(""), sort=True):
        if not ref:
            continue
        key = image_key(str(ref))
        ins, kind = inspected.get(key, (False, None))
        running = sorted({str(arch_of[x]) for x in g["node"].dropna() if isinstance(arch_of.get(x), str)})
        has = sorted(archs_of.get(key, set())) if ins else None
        rows.append(
            {
                "image": str(ref),
                "image_key": key,
                "inspected": ins,
                "kind": kind,
                "archs": has,
                "running_on_archs": running,
                "cluster_archs": cluster,
                "lacks_running_archs": sorted(set(running) - set(has)) if has is not None else None,
                "lacks_cluster_archs": sorted(set(cluster) - set(has)) if has is not None else None,
                "containers": len(g),
            }
        )
    return pd.DataFrame(rows, columns=cols)


_COVERAGE_SCHEMA = pa.schema(
    [
        ("image", pa.string()),
        ("image_key", pa.string()),
        ("inspected", pa.bool_()),
        ("kind", pa.string()),
        ("archs", pa.list_(pa.string())),
        ("running_on_archs", pa.list_(pa.string())),
        ("cluster_archs", pa.list_(pa.string())),
        ("lacks_running_archs", pa.list_(pa.string())),
        ("lacks_cluster_archs", pa.list_(pa.string())),
        ("containers", pa.int64()),
    ]
)
_DUMP_SCHEMA = pa.schema(
    [
        ("status", pa.string()),
        ("reason", pa.string()),
        ("format", pa.string()),
        ("cluster", pa.string()),
        ("snapshots", pa.int64()),
        ("nodes", pa.int64()),
        ("pods", pa.int64()),
        ("findings", pa.int64()),
        ("latent", pa.int64()),
        ("worst_severity", pa.string()),
        ("load_problems", pa.int64()),
        ("report", pa.string()),
        ("tool_version", pa.string()),
        ("seconds", pa.float64()),
        ("cpu_seconds", pa.float64()),
    ]
)


def _arrow(df: pd.DataFrame, schema: pa.Schema | None, source_path: str, collected_at: str | None) -> pa.Table:
    t = arrow_table(df, schema)
    for i, f in enumerate(t.schema):
        if pa.types.is_null(f.type):
            t = t.set_column(i, pa.field(f.name, pa.string()), pa.nulls(len(t), pa.string()))
    t = t.append_column("source_path", pa.array([source_path] * len(t), pa.string()))
    ts = pd.Timestamp(collected_at) if collected_at else None
    return t.append_column("collected_at", pa.array([ts] * len(t), pa.timestamp("us", tz="UTC")))


def _partition(out: Path, table: str, dump_id: str) -> Path:
    return out / DATASET / table / f"{PARTITION}={dump_id}"


def _write(out: Path, table: str, dump_id: str, t: pa.Table) -> None:
    """Write one partition atomically: a temporary sibling folder renamed into place."""
    final = _partition(out, table, dump_id)
    tmp = final.with_name(f".tmp-{final.name}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    pq.write_table(t, tmp / "part-0.parquet")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


def _cluster_label(meta: dict[str, Any]) -> str | None:
    c = meta.get("cluster")
    if isinstance(c, dict):
        for k in ("name", "context", "server"):
            if c.get(k):
                return str(c[k])
    return None


def analyze_one(path: str, dump_id: str, out: str) -> dict[str, Any]:
    """Round two (runs on a worker): load, analyze, write every table and the report; returns the
    `dumps` row. Never raises for a bad dump: the failure is the row."""
    from forensics.analysis.analyze import analyze
    from forensics.read.formats import load_any
    from forensics.render.html import render_html

    o = Path(out)
    started, cpu = time.monotonic(), time.thread_time()
    row: dict[str, Any] = {
        "status": "ok",
        "reason": None,
        "format": None,
        "cluster": None,
        "snapshots": None,
        "nodes": None,
        "pods": None,
        "findings": None,
        "latent": None,
        "worst_severity": None,
        "load_problems": None,
        "report": None,
        "tool_version": __version__,
        "seconds": None,
        "cpu_seconds": None,
    }
    collected_at = None
    try:
        dump = load_any(Path(path))
        doc = analyze(dump)
    except ForensicsError as e:
        row.update(status="failed", reason=" ".join(str(e).split())[:500])
    except MemoryError:
        row.update(status="failed", reason="out of memory while loading")
    except Exception as e:  # noqa: BLE001 - a bug on one dump is that dump's failure, not the fleet's
        row.update(status="failed", reason=f"internal error: {type(e).__name__}: {' '.join(str(e).split())[:300]}")
    else:
        collected_at = doc["dump"].get("collected_at")
        reports = o / REPORTS
        reports.mkdir(parents=True, exist_ok=True)
        (reports / f"{dump_id}.json").write_text(json.dumps(doc, ensure_ascii=False, default=str), encoding="utf-8")
        (reports / f"{dump_id}.html").write_text(render_html(doc), encoding="utf-8")
        _write(o, "findings", dump_id, _arrow(_findings_frame(doc), _FINDING_SCHEMA, path, collected_at))
        _write(o, "image_coverage", dump_id, _arrow(_coverage_frame(dump.frames), _COVERAGE_SCHEMA, path, collected_at))
        for name in FRAME_TABLES:
            f = dump.frames.get(name)
            if f is not None:
                _write(o, name, dump_id, _arrow(f, None, path, collected_at))
        counts = doc["dump"].get("counts") or {}
        row.update(
            format=dump.format,
            cluster=_cluster_label(dump.meta),
            snapshots=len(dump.snapshots),
            nodes=counts.get("nodes"),
            pods=counts.get("pods"),
            findings=len(doc["findings"]),
            latent=len(doc["latent"]),
            worst_severity=_worst(doc["findings"]),
            load_problems=len(doc.get("load_problems") or []),
            report=f"{REPORTS}/{dump_id}.html",
        )
    row["seconds"] = round(time.monotonic() - started, 3)
    row["cpu_seconds"] = round(time.thread_time() - cpu, 3)  # this task's thread: contention-independent cost
    record_dump(o, dump_id, path, collected_at, row)
    return {"dump_id": dump_id, "source_path": path, "collected_at": collected_at, **row}


def record_dump(out: Path, dump_id: str, path: str, collected_at: str | None, row: dict[str, Any]) -> None:
    """The `dumps` row, written last: its presence with status ok is what makes a dump done."""
    _write(
        out, "dumps", dump_id, _arrow(pd.DataFrame([row], columns=_DUMP_SCHEMA.names), _DUMP_SCHEMA, path, collected_at)
    )


# --- the run, on the client -------------------------------------------------------------------------


def done_ids(out: Path) -> set[str]:
    """Dump ids DIR already holds with status ok."""
    d = read_table(out, "dumps")
    return set() if d.empty else set(d.loc[d["status"] == "ok", PARTITION].astype(str))


def read_table(out: Path, table: str) -> pd.DataFrame:
    """One table of the dataset as pandas (with the `dump_id` partition column); empty when absent."""
    root = Path(out) / DATASET / table
    if not root.is_dir() or not any(p.name.startswith(f"{PARTITION}=") for p in root.iterdir()):
        return pd.DataFrame()
    import pyarrow.dataset as ds

    t = ds.dataset(
        str(root), format="parquet", partitioning="hive", exclude_invalid_files=True, ignore_prefixes=[".", "_"]
    ).to_table()
    df = t.to_pandas()
    df[PARTITION] = df[PARTITION].astype(str)
    return df


Progress = Callable[[str, dict[str, Any]], None]


def run_fleet(
    paths: Iterable[str | Path], out: str | Path, *, client: Any, progress: Progress | None = None
) -> dict[str, Any]:
    """Analyze `paths` on the Dask `client` into `out`; returns the fleet summary (also written)."""
    from dask.distributed import as_completed

    o = Path(out).resolve()
    (o / DATASET).mkdir(parents=True, exist_ok=True)
    inputs = [str(Path(p).absolute()) for p in paths]
    hashed: list[Input] = client.gather(client.map(hash_input, inputs, pure=False))
    done = done_ids(o)
    todo: dict[str, str] = {}
    run: dict[str, Any] = {
        "inputs": len(inputs),
        "skipped": [],
        "duplicates": [],
        "unreadable": [],
        "analyzed": [],
        "failed": [],
    }
    for h in hashed:
        if h.dump_id is None:
            run["unreadable"].append({"source_path": h.path, "reason": h.error})
            if progress:
                progress("unreadable", {"source_path": h.path, "reason": h.error})
        elif h.dump_id in done:
            run["skipped"].append({"dump_id": h.dump_id, "source_path": h.path})
            if progress:
                progress("skipped", {"dump_id": h.dump_id, "source_path": h.path})
        elif h.dump_id in todo:
            run["duplicates"].append({"dump_id": h.dump_id, "source_path": h.path, "same_as": todo[h.dump_id]})
        else:
            todo[h.dump_id] = h.path

    def submit(dump_id: str, path: str, attempt: int) -> Any:
        return client.submit(
            analyze_one, path, dump_id, str(o), key=f"forensics-analyze-{dump_id}-{attempt}", pure=False, retries=0
        )

    def finished(dump_id: str, path: str, row: dict[str, Any]) -> None:
        entry = {"dump_id": dump_id, "source_path": path, "status": row["status"], "reason": row.get("reason")}
        run["analyzed" if row["status"] == "ok" else "failed"].append(entry)
        if progress:
            progress(row["status"], entry)

    def lost(dump_id: str, path: str, e: Exception) -> None:
        reason = f"worker failed: {type(e).__name__}: {' '.join(str(e).split())[:300]}"
        record_dump(
            o,
            dump_id,
            path,
            None,
            {
                **{k: None for k in _DUMP_SCHEMA.names},
                "status": "failed",
                "reason": reason,
                "tool_version": __version__,
            },
        )
        finished(dump_id, path, {"status": "failed", "reason": reason})

    futures = {submit(i, p, 1): (i, p) for i, p in todo.items()}
    again: list[tuple[str, str]] = []
    for fut in as_completed(list(futures)):
        dump_id, path = futures[fut]
        try:
            finished(dump_id, path, fut.result())
        except Exception:  # noqa: BLE001 - a worker lost mid-dump (KilledWorker, ...): see below
            again.append((dump_id, path))
    # A dump whose worker died may only have been queued behind the one that killed it: each is tried
    # once more, alone, so that only the dump that kills a worker by itself is recorded as failed.
    for dump_id, path in again:
        try:
            finished(dump_id, path, submit(dump_id, path, 2).result())
        except Exception as e:  # noqa: BLE001 - lost again, alone: this dump is the cause
            lost(dump_id, path, e)
    summary = summarize(o, run)
    write_summary(o, summary)
    return summary


# --- the summary ------------------------------------------------------------------------------------


def summarize(out: Path, run: dict[str, Any] | None = None, top: int = 20) -> dict[str, Any]:
    """The fleet summary from the dataset in `out` (every dump it holds, this run's and earlier ones)."""
    dumps, findings, cov = (read_table(out, t) for t in ("dumps", "findings", "image_coverage"))
    ok = dumps[dumps["status"] == "ok"] if not dumps.empty else dumps
    failed = dumps[dumps["status"] != "ok"] if not dumps.empty else dumps
    label = {} if dumps.empty else dict(zip(dumps[PARTITION], dumps["source_path"], strict=True))
    report = (
        {}
        if dumps.empty
        else {k: v for k, v in zip(dumps[PARTITION], dumps["report"], strict=True) if isinstance(v, str)}
    )
    active = findings[~findings["latent"]] if not findings.empty else findings
    causes: list[dict[str, Any]] = []
    if not active.empty:
        for cause, g in active.groupby("cause", sort=False):
            per = g.groupby(PARTITION).size().sort_values(ascending=False)
            causes.append(
                {
                    "cause": str(cause),
                    "findings": len(g),
                    "dumps": int(per.size),
                    "by_dump": [
                        {
                            "dump_id": str(k),
                            "source_path": label.get(str(k)),
                            "findings": int(v),
                            "report": report.get(str(k)),
                        }
                        for k, v in per.head(top).items()
                    ],
                }
            )
        causes.sort(key=lambda c: (-c["findings"], -c["dumps"], c["cause"]))
    lacking: list[dict[str, Any]] = []
    if not cov.empty:
        c = cov[cov["lacks_cluster_archs"].map(lambda v: v is not None and len(v) > 0)]
        for ref, g in c.groupby("image", sort=True):
            running = sorted({a for v in g["lacks_running_archs"] for a in (v if v is not None else [])})
            lacks = sorted({a for v in g["lacks_cluster_archs"] for a in v})
            lacking.append(
                {
                    "image": str(ref),
                    "archs": sorted({a for v in g["archs"] for a in (v if v is not None else [])}),
                    "lacks": lacks,
                    "lacks_where_running": running,
                    "dumps": int(g[PARTITION].nunique()),
                    "dump_ids": sorted(g[PARTITION].astype(str).unique().tolist())[:top],
                }
            )
        lacking.sort(key=lambda x: (not x["lacks_where_running"], -x["dumps"], x["image"]))
    severe = []
    if not ok.empty:
        rank = ok["worst_severity"].map(lambda s: _SEVERITY.index(s) if s in _SEVERITY else -1)
        o2 = ok.assign(_r=rank).sort_values(["_r", "findings", "source_path"], ascending=[False, False, True])
        for r in o2[o2["_r"] >= 0].head(top).itertuples(index=False):
            mine = active[active[PARTITION] == r.dump_id] if not active.empty else active
            severe.append(
                {
                    "dump_id": r.dump_id,
                    "source_path": r.source_path,
                    "cluster": _str(r.cluster),
                    "collected_at": _iso(r.collected_at),
                    "worst_severity": _str(r.worst_severity),
                    "findings": int(r.findings),
                    "causes": sorted(mine["cause"].unique().tolist()) if not mine.empty else [],
                    "report": _str(r.report),
                }
            )
    return {
        "schema": SCHEMA,
        "tool": {"name": "cluster-forensics", "version": __version__},
        "dataset": DATASET,
        "tables": list(TABLES),
        "counts": {
            "dumps": len(dumps),
            "ok": len(ok),
            "failed": len(failed),
            "findings": len(active),
            "dumps_with_findings": int(active[PARTITION].nunique()) if not active.empty else 0,
        },
        "run": run,
        "causes": causes,
        "images_lacking_archs": lacking,
        "most_severe": severe,
        "failed": [
            {"dump_id": r[PARTITION], "source_path": r["source_path"], "reason": _str(r["reason"])}
            for _, r in failed.sort_values("source_path").iterrows()
        ]
        if not failed.empty
        else [],
        "dumps": [
            {
                "dump_id": r[PARTITION],
                "source_path": r["source_path"],
                "status": r["status"],
                "format": _str(r["format"]),
                "collected_at": _iso(r["collected_at"]),
                "findings": _int(r["findings"]),
                "worst_severity": _str(r["worst_severity"]),
                "report": _str(r["report"]),
            }
            for _, r in dumps.sort_values("source_path").iterrows()
        ]
        if not dumps.empty
        else [],
    }


def _iso(v: Any) -> str | None:
    if is_missing(v):
        return None
    return pd.Timestamp(v).strftime("%Y-%m-%dT%H:%M:%SZ")


def _str(v: Any) -> str | None:
    """A text cell of the dataset as JSON has it: a missing one (null, or NaN once pandas has
    touched the column) is null, never the float NaN (which is not JSON, and renders as `nan`)."""
    return None if is_missing(v) else str(v)


def _int(v: Any) -> int | None:
    return None if is_missing(v) else int(v)


def write_summary(out: Path, summary: dict[str, Any]) -> None:
    from forensics.render.multi import fleet_html, fleet_markdown

    (out / "fleet.json").write_text(
        json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    (out / "fleet.html").write_text(fleet_html(summary), encoding="utf-8")
    (out / "fleet.md").write_text(fleet_markdown(summary), encoding="utf-8")


def local_client(workers: int | None = None, processes: bool = True) -> Any:
    """A Dask client on a LocalCluster with one single-threaded worker process per usable core (or
    `workers`): the analysis holds the GIL, so processes, not threads, use the cores."""
    from dask.distributed import Client, LocalCluster

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    n = workers or cores or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=processes, dashboard_address=None)
    return Client(cluster)
