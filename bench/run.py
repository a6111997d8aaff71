#!/usr/bin/env python3
"""Benchmark: the load and the whole analysis against the floor, the least any loader could spend.

For each dump, these measurements, each run `--runs` times (default 3), every run in a fresh
subprocess so that peak RSS (`ru_maxrss`) belongs to that run alone; the runs are interleaved and
each figure is the median, printed with its min and max:

- floor, 1 core and 2 cores (`bench/floor.py`): inflate the archive (ISA-L, as the product), walk
  every member, typed-decode every object list with the product's structs (big lists in item
  batches, the garbage collector off, as the loader has it), read every other member. The two-core
  floor decodes in a second process too. The floor the targets are judged against is the lower of
  the two medians; both are printed.
- load: `forensics.read.load.load_dump(path)`, until all frames are built.
- analyze json / html: `python -m forensics analyze DUMP --format json|html`, timed from outside.
  The JSON is scored against the generator's truth file; findings that differ between runs are an
  error. The last HTML report is measured in Chromium (bench/report_html.py).

Targets (ratios of medians): load <= 1.5 x floor, analyze (JSON) <= 1.5 x floor, HTML <= 1.1 x JSON,
peak RSS <= 2 GiB (meant for the 150,000-pod dump), the HTML report under 5 MB and open in headless
Chromium in under 2 s, and with `--also` a second, smaller dump, the time per pod of the big dump at
most 1.5 x that of the small one (load and analysis are linear). With `--failing`, the cost per
finding. Prints human-readable lines, then one JSON line. Exits 0, or 1 with `--check` when a
target is missed.

    python bench/run.py /tmp/dump-150k.tar.gz --also /tmp/dump-15k.tar.gz [--runs 3] [--load-only]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_html import checks as report_checks
from report_html import lines as report_lines
from report_html import measure_report
from score import lines as score_lines
from score import score

REPO = Path(__file__).resolve().parents[1]
LOAD_OVER_FLOOR_MAX = 1.5
RSS_MAX_BYTES = 2 * 2**30
PER_POD_GROWTH_MAX = 1.5
ANALYZE_OVER_FLOOR_MAX = 1.5
HTML_OVER_JSON_MAX = 1.10


# ----------------------------------------------------------------------------- measured in a child


def _measure_load(path: str) -> dict[str, Any]:
    from forensics.read.load import load_dump

    t0 = time.perf_counter()
    dump = load_dump(path)
    seconds = time.perf_counter() - t0
    frames = {name: len(df) for name, df in dump.frames.items()}
    return {"seconds": seconds, "frames": frames, "problems": len(dump.problems)}


def _child(what: str, path: str) -> int:
    sys.path.insert(0, str(REPO))
    if what == "load":
        out = _measure_load(path)
    else:
        from floor import TWO_CORE
        from floor import measure as measure_floor

        out = measure_floor(path, TWO_CORE if what == "floor2" else "1core")
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["peak_rss_bytes"] = max(own.ru_maxrss, kids.ru_maxrss) * 1024  # Linux: KiB; the floor's worker too
    out["cpu_seconds"] = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    print(json.dumps(out))
    return 0


def analyze(path: Path, fmt: str, out_dir: Path) -> dict[str, Any]:
    """The whole `forensics analyze` as a user runs it, timed from outside: wall, CPU, peak RSS."""
    out = out_dir / f"{_stem(path)}.{fmt}"
    cmd = [sys.executable, "-m", "forensics", "analyze", str(path), "--format", fmt, "--output", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "PYTHONHASHSEED": "0"}
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    r: dict[str, Any] = {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_bytes": usage.ru_maxrss * 1024,
        "output_bytes": out.stat().st_size if out.exists() else None,
    }
    if proc.returncode != 0:
        tail = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        r["error"] = f"analyze --format {fmt} failed (exit {proc.returncode}): {tail[:300]}"
    elif fmt == "json":
        doc = json.loads(out.read_text(encoding="utf-8"))
        r["findings"] = len(doc.get("findings", []))
        r["findings_by_cause"] = dict(sorted(Counter(f["cause"] for f in doc.get("findings", [])).items()))
        truth_file = Path(str(path) + ".truth.json")
        if truth_file.exists():
            r["truth"] = score(doc, json.loads(truth_file.read_text(encoding="utf-8")))
    return r


def html_report(html: Path) -> dict[str, Any]:
    """The report `analyze --format html` wrote: size and Chromium load time (bench/report_html.py)."""
    if not html.exists():
        return {}
    return {"report_html": measure_report(html)}


def _stem(p: Path) -> str:
    return p.name.split(".", 1)[0] or "dump"


# ----------------------------------------------------------------------------- the parent


def measure(what: str, path: Path) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its last stdout line is the JSON result."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", what, str(path)],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{what} failed (exit {proc.returncode}): {tail[:300]}"}
    return json.loads(lines[-1])


def _warm(path: Path) -> None:
    """Read the archive once so both measurements see it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 22):
            pass


def spread(results: list[dict[str, Any]], key: str = "seconds") -> dict[str, Any] | None:
    """Median, min and max of one figure over the runs that produced it (None when none did)."""
    xs = sorted(r[key] for r in results if r.get(key) is not None)
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1], "runs": len(xs)}


def _median_run(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The run whose time is the median (the lower middle one for an even count), with the median,
    min and max time and the median CPU time: its other figures (frames, findings) are that run's.
    The peak RSS is the highest of all runs. A failed run makes the whole measurement an error."""
    errors = [r["error"] for r in results if "error" in r]
    if errors:
        return {"error": errors[0]}
    ok = sorted(results, key=lambda r: r["seconds"])
    out = dict(ok[(len(ok) - 1) // 2])
    s, cpu = spread(ok), spread(ok, "cpu_seconds")
    assert s is not None
    out.update(seconds=s["median"], seconds_min=s["min"], seconds_max=s["max"], runs=s["runs"])
    if cpu is not None:
        out["cpu_seconds"] = cpu["median"]
    rss = [r["peak_rss_bytes"] for r in ok if r.get("peak_rss_bytes")]
    if rss:
        out["peak_rss_bytes"] = max(rss)
    return out


def bench_one(path: Path, out_dir: Path, whole: bool = True, runs: int = 3) -> dict[str, Any]:
    """Every measurement of one dump, `runs` times each, each run in a fresh process. The runs are
    interleaved (floor, floor, load, analyze json, analyze html; again), so a machine that gets
    busier in the middle slows every measurement alike rather than one of them."""
    _warm(path)
    raw: dict[str, list[dict[str, Any]]] = {"floor1": [], "floor2": [], "load": [], "json": [], "html": []}
    for _ in range(runs):
        raw["floor1"].append(measure("floor", path))
        raw["floor2"].append(measure("floor2", path))
        raw["load"].append(measure("load", path))
        if whole:
            raw["json"].append(analyze(path, "json", out_dir))
            raw["html"].append(analyze(path, "html", out_dir))
    floor1, floor2, load = _median_run(raw["floor1"]), _median_run(raw["floor2"]), _median_run(raw["load"])
    floors = [f["seconds"] for f in (floor1, floor2) if "seconds" in f]
    r: dict[str, Any] = {
        "path": str(path),
        "runs": runs,
        "compressed_bytes": path.stat().st_size,
        "uncompressed_bytes": floor1.get("uncompressed_bytes"),
        "pods": floor1.get("pods"),
        "floor_seconds": min(floors) if floors else None,
        "floor_1core_seconds": floor1.get("seconds"),
        "floor_2core_seconds": floor2.get("seconds"),
        "floor_2core_variant": floor2.get("variant"),
        "floor_inflate": floor1.get("inflate"),
        "floor_cpu_seconds": floor1.get("cpu_seconds"),
        "floor_2core_cpu_seconds": floor2.get("cpu_seconds"),
        "floor_peak_rss_bytes": floor1.get("peak_rss_bytes"),
        "floor_objects": floor1.get("objects_by_kind"),
        "load_seconds": load.get("seconds"),
        "load_cpu_seconds": load.get("cpu_seconds"),
        "load_peak_rss_bytes": load.get("peak_rss_bytes"),
        "frames": load.get("frames"),
        "load_problems": load.get("problems"),
        "largest_member": floor1.get("largest_member"),
        "largest_member_bytes": floor1.get("largest_member_bytes"),
        "spread": {
            name: spread(raw[key])
            for name, key in (
                ("floor_1core", "floor1"),
                ("floor_2core", "floor2"),
                ("load", "load"),
                ("analyze_json", "json"),
                ("analyze_html", "html"),
            )
            if raw[key]
        },
    }
    errors = [m["error"] for m in (floor1, floor2, load) if "error" in m]
    if floor1.get("objects_by_kind") and floor2.get("objects_by_kind") != floor1.get("objects_by_kind"):
        errors.append(
            f"the two floors decoded different objects: {floor1['objects_by_kind']} vs {floor2.get('objects_by_kind')}"
        )
    if whole:
        r["analyze_json"] = _median_run(raw["json"])
        r["analyze_html"] = _median_run(raw["html"])
        by_cause = {json.dumps(a.get("findings_by_cause"), sort_keys=True) for a in raw["json"] if "error" not in a}
        if len(by_cause) > 1:
            errors.append(f"the findings differ between the {runs} runs of analyze --format json")
        r.update(html_report(out_dir / f"{_stem(path)}.html"))
        errors += [a["error"] for a in (r["analyze_json"], r["analyze_html"]) if "error" in a]
    if errors:
        r["errors"] = errors
    if r["floor_seconds"] and r["load_seconds"] is not None:
        r["load_over_floor"] = r["load_seconds"] / r["floor_seconds"]
    aj, ah = r.get("analyze_json", {}), r.get("analyze_html", {})
    if r["floor_seconds"] and "error" not in aj and aj:
        r["analyze_over_floor"] = aj["seconds"] / r["floor_seconds"]
    if aj and ah and "error" not in aj and "error" not in ah:
        r["html_over_json"] = ah["seconds"] / aj["seconds"]
    return r


def _mib(n: int | None) -> str:
    return "?" if n is None else f"{n / 2**20:,.1f} MiB"


def _secs(s: float | None) -> str:
    return "?" if s is None else f"{s:.2f} s"


def _range(r: dict[str, Any], name: str) -> str:
    """`median s (min-max, N runs)` of one measurement, or `?`."""
    sp = (r.get("spread") or {}).get(name)
    if not sp:
        return "?"
    if sp["runs"] == 1:
        return f"{sp['median']:.2f} s (1 run)"
    return f"{sp['median']:.2f} s (median; {sp['min']:.2f}-{sp['max']:.2f}, {sp['runs']} runs)"


def _cores(r: dict[str, Any]) -> str:
    """How many cores the two-core floor got: near 1.0 when another process held the second one."""
    cpu, wall = r.get("floor_2core_cpu_seconds"), r.get("floor_2core_seconds")
    return f" ({cpu / wall:.2f} cores busy)" if cpu and wall else ""


def _dump_lines(r: dict[str, Any]) -> list[str]:
    lines = [
        f"dump            {r['path']}: {r['pods'] if r['pods'] is not None else '?'} pods",
        f"  size          {_mib(r['compressed_bytes'])} compressed, {_mib(r['uncompressed_bytes'])} uncompressed",
        f"  largest file  {r['largest_member']} ({_mib(r['largest_member_bytes'])})",
        f"  floor         {_secs(r['floor_seconds'])}: the lower median of the two below",
        f"  floor 1 core  {_range(r, 'floor_1core')}, inflate {r.get('floor_inflate') or '?'}, "
        f"CPU {_secs(r['floor_cpu_seconds'])}, peak RSS {_mib(r['floor_peak_rss_bytes'])}",
        f"  floor 2 cores {_range(r, 'floor_2core')}, {r.get('floor_2core_variant') or '?'}, "
        f"CPU {_secs(r.get('floor_2core_cpu_seconds'))}{_cores(r)}",
        f"  load          {_range(r, 'load')}, CPU {_secs(r['load_cpu_seconds'])}, "
        f"peak RSS {_mib(r['load_peak_rss_bytes'])}",
    ]
    if "load_over_floor" in r:
        lines.append(f"  load/floor    {r['load_over_floor']:.2f}x (target <= {LOAD_OVER_FLOOR_MAX}x)")
    for fmt in ("json", "html"):
        a = r.get(f"analyze_{fmt}")
        if a and "error" not in a:
            extra = f", {a['findings']} findings" if "findings" in a else ""
            lines.append(
                f"  analyze {fmt:<5} {_range(r, 'analyze_' + fmt)} wall, {_secs(a['cpu_seconds'])} CPU, peak RSS "
                f"{_mib(a['peak_rss_bytes'])}, output {_mib(a['output_bytes'])}{extra}"
            )
    if "analyze_over_floor" in r:
        lines.append(f"  analyze/floor {r['analyze_over_floor']:.2f}x (target <= {ANALYZE_OVER_FLOOR_MAX}x)")
    if "html_over_json" in r:
        lines.append(f"  html/json     {r['html_over_json']:.2f}x (target <= {HTML_OVER_JSON_MAX}x)")
    if "report_html" in r:
        lines += report_lines(r["report_html"])
    truth = r.get("analyze_json", {}).get("truth")
    if truth:
        lines += score_lines(truth)
    lines += [f"  error         {e}" for e in r.get("errors", [])]
    return lines


def _growth(
    big: dict[str, Any], small: dict[str, Any], seconds: float | None, small_seconds: float | None
) -> float | None:
    """Time ratio over pod ratio: 1.0 is linear."""
    if seconds and small_seconds and big["pods"] and small["pods"]:
        return (seconds / small_seconds) / (big["pods"] / small["pods"])
    return None


def report(
    main: dict[str, Any], also: dict[str, Any] | None, failing: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Check the targets; returns the JSON summary and the human lines."""
    lines = []
    for r in [main] + [x for x in (also, failing) if x]:
        lines += _dump_lines(r)
    aj = main.get("analyze_json", {})
    checks: dict[str, bool | None] = {
        "load_over_floor": (main["load_over_floor"] <= LOAD_OVER_FLOOR_MAX) if "load_over_floor" in main else None,
        "peak_rss": (main["load_peak_rss_bytes"] <= RSS_MAX_BYTES) if main["load_peak_rss_bytes"] else None,
        "analyze_over_floor": (main["analyze_over_floor"] <= ANALYZE_OVER_FLOOR_MAX)
        if "analyze_over_floor" in main
        else None,
        "html_over_json": (main["html_over_json"] <= HTML_OVER_JSON_MAX) if "html_over_json" in main else None,
        "analyze_peak_rss": (aj["peak_rss_bytes"] <= RSS_MAX_BYTES) if aj.get("peak_rss_bytes") else None,
    }
    if "report_html" in main:
        checks.update(report_checks(main["report_html"]))
    summary: dict[str, Any] = {"dump": main}
    if also is not None:
        summary["also"] = also
        if main["load_seconds"] and also["load_seconds"] and main["pods"] and also["pods"]:
            time_ratio = main["load_seconds"] / also["load_seconds"]
            pods_ratio = main["pods"] / also["pods"]
            growth = time_ratio / pods_ratio
            summary.update(time_ratio=time_ratio, pods_ratio=pods_ratio, per_pod_growth=growth)
            checks["linear"] = growth <= PER_POD_GROWTH_MAX
            lines.append(
                f"linearity       load time x{time_ratio:.2f} for pods x{pods_ratio:.2f}: "
                f"per-pod cost x{growth:.2f} (target <= {PER_POD_GROWTH_MAX}x)"
            )
        else:
            checks["linear"] = None
        growth_a = _growth(
            main, also, main.get("analyze_json", {}).get("seconds"), also.get("analyze_json", {}).get("seconds")
        )
        if growth_a is not None:
            a_ratio = main["analyze_json"]["seconds"] / also["analyze_json"]["seconds"]
            summary.update(analyze_time_ratio=a_ratio, analyze_per_pod_growth=growth_a)
            checks["analyze_linear"] = growth_a <= PER_POD_GROWTH_MAX
            lines.append(
                f"linearity       analyze time x{a_ratio:.2f} for pods x{main['pods'] / also['pods']:.2f}: "
                f"per-pod cost x{growth_a:.2f} (target <= {PER_POD_GROWTH_MAX}x)"
            )
    if failing is not None:
        summary["failing"] = failing
        base, many = main.get("analyze_json", {}), failing.get("analyze_json", {})
        if base.get("findings") and many.get("findings") and "seconds" in base and "seconds" in many:
            per_base = (base["seconds"] - main["load_seconds"]) / base["findings"]
            per_many = (many["seconds"] - failing["load_seconds"]) / many["findings"]
            summary.update(seconds_per_finding=per_base, seconds_per_finding_failing=per_many)
            lines.append(
                f"failing         beyond the load, {per_base * 1000:.2f} ms per finding "
                f"({base['findings']} findings) vs {per_many * 1000:.2f} ms "
                f"({many['findings']} findings)"
            )
    summary["targets"] = {
        "load_over_floor_max": LOAD_OVER_FLOOR_MAX,
        "peak_rss_max_bytes": RSS_MAX_BYTES,
        "per_pod_growth_max": PER_POD_GROWTH_MAX,
        "analyze_over_floor_max": ANALYZE_OVER_FLOOR_MAX,
        "html_over_json_max": HTML_OVER_JSON_MAX,
    }
    summary["checks"] = checks
    summary["ok"] = all(v is True for v in checks.values())
    for name, ok in checks.items():
        lines.append(f"target {name:<18} {'met' if ok else 'not measured' if ok is None else 'MISSED'}")
    return summary, lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child(argv[1], argv[2])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dump", type=Path, help="the big dump (150,000 pods)")
    ap.add_argument("--also", type=Path, help="a smaller dump (15,000 pods) for the linearity ratio")
    ap.add_argument(
        "--failing",
        type=Path,
        help="a dump of the same size with many failing workloads "
        "(gen_dump.py --restart-fraction 0.2): the cost per finding",
    )
    ap.add_argument("--load-only", action="store_true", help="measure the floor and the load, not analyze")
    ap.add_argument(
        "--runs", type=int, default=3, help="runs of each measurement, each in a fresh process; medians are used"
    )
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    a = ap.parse_args(argv)
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    with tempfile.TemporaryDirectory(prefix="forensics-bench-") as tmp:
        out_dir = Path(tmp)
        main_r = bench_one(a.dump, out_dir, whole=not a.load_only, runs=a.runs)
        also_r = bench_one(a.also, out_dir, whole=not a.load_only, runs=a.runs) if a.also else None
        failing_r = bench_one(a.failing, out_dir, whole=not a.load_only, runs=a.runs) if a.failing else None
    summary, lines = report(main_r, also_r, failing_r)
    print("\n".join(lines))
    print(json.dumps(summary, sort_keys=True))
    return 1 if a.check and not summary["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
