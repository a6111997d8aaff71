"""Turn a format-v1 dump into the layouts other tools write, for the foreign-format tests.

- `to_troubleshoot`: a Replicated support bundle (`support-bundle-<time>/cluster-resources/...`,
  List objects, or bare arrays like bundles before 2022), with `*-errors.json` and `***HIDDEN***`
  redactions of env values, as `pkg/collect/cluster_resources.go` writes them.
- `to_mustgather`: an OpenShift must-gather tree (`must-gather.local.<n>/<image>/namespaces/...`, YAML,
  `--timestamps` logs, a `timestamp` file), or with `inspect=True` an `oc adm inspect` tree that has
  only the per-pod YAML files.
- `real_cluster_info_dump`: the real `kubectl cluster-info dump` against `forensics serve`.

Only the latest snapshot of the v1 dump is converted (these formats hold one point in time).
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from forensics.read import layout

KINDS = ("pods", "events", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs")
LIST_KIND = {
    "pods": "PodList",
    "events": "EventList",
    "deployments": "DeploymentList",
    "replicasets": "ReplicaSetList",
    "statefulsets": "StatefulSetList",
    "daemonsets": "DaemonSetList",
    "jobs": "JobList",
    "cronjobs": "CronJobList",
    "nodes": "NodeList",
}
API = {"pods": "v1", "events": "v1", "nodes": "v1", "jobs": "batch/v1", "cronjobs": "batch/v1"}
HIDDEN = "***HIDDEN***"


def latest_snapshot(v1: Path) -> str:
    return max(p.name for p in (v1 / layout.SNAPSHOTS).iterdir() if layout.SNAPSHOT_RE.match(p.name))


def read_objects(v1: Path, snap: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for kind in ("nodes", *KINDS):
        f = v1 / layout.objects_file(snap, kind)
        out[kind] = json.loads(f.read_text())["items"] if f.is_file() else []
    return out


def read_logs(v1: Path, snap: str) -> list[tuple[str, str, str, bool, bytes]]:
    """(namespace, pod, container, previous, data) for every log of a snapshot."""
    base = v1 / layout.SNAPSHOTS / snap / "logs"
    out = []
    for f in sorted(base.rglob("*.log")) if base.is_dir() else []:
        m = layout.classify(f.relative_to(v1).as_posix())
        if m is not None and m.role == layout.ROLE_LOG:
            out.append((m.namespace, m.pod, m.container, m.previous, f.read_bytes()))
    return out


def collected_at(v1: Path) -> datetime:
    meta = yaml.safe_load((v1 / layout.META).read_text())
    return datetime.fromisoformat(str(meta["collected_at"]))


def _by_namespace(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for it in items:
        out.setdefault(it.get("metadata", {}).get("namespace", "default"), []).append(it)
    return out


def _redact_env(obj: Any) -> int:
    """Replace every container env value with the troubleshoot redaction mark; returns how many."""
    n = 0
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "env" and isinstance(v, list):
                for e in v:
                    if isinstance(e, dict) and "value" in e:
                        e["value"] = HIDDEN
                        n += 1
            else:
                n += _redact_env(v)
    elif isinstance(obj, list):
        for x in obj:
            n += _redact_env(x)
    return n


def to_troubleshoot(
    v1: Path,
    out_dir: Path,
    *,
    bare_arrays: bool = False,
    forbidden: tuple[tuple[str, str], ...] = (("statefulsets", "kube-system"),),
) -> tuple[Path, dict[str, Any]]:
    """Write a support bundle `.tar.gz`; returns it and facts for assertions (time, errors, redactions).

    The (kind, namespace) lists in `forbidden` are not written; they appear in
    `cluster-resources/<kind>-errors.json` instead, as an RBAC failure reads there.
    """
    snap = latest_snapshot(v1)
    when = collected_at(v1)
    top = f"support-bundle-{when:%Y-%m-%dT%H_%M_%S}"
    objects = read_objects(v1, snap)
    files: dict[str, bytes] = {}
    redacted = 0

    def dump_list(kind: str, items: list[dict[str, Any]]) -> bytes:
        if bare_arrays:
            return json.dumps(items, indent=2).encode()
        return json.dumps(
            {"kind": LIST_KIND[kind], "apiVersion": API.get(kind, "apps/v1"), "metadata": {}, "items": items}, indent=2
        ).encode()

    files["version.yaml"] = (
        b"apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundleVersion\nspec:\n  versionNumber: 0.62.1\n"
        if not bare_arrays
        else b"apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundleVersion\nspec:\n  versionNumber: 0.13.14\n"
    )
    files["cluster-resources/nodes.json"] = dump_list("nodes", objects["nodes"])
    skipped: dict[str, list[str]] = {}
    errors: dict[str, dict[str, str]] = {}
    for kind in KINDS:
        for ns, items in sorted(_by_namespace(objects[kind]).items()):
            if (kind, ns) in forbidden:
                errors.setdefault(kind, {})[ns] = (
                    f'{kind}.apps is forbidden: User "system:serviceaccount:default:troubleshoot" cannot list '
                    f'resource "{kind}" in API group "apps" in the namespace "{ns}"'
                )
                skipped.setdefault(kind, []).extend(i["metadata"]["name"] for i in items)
                continue
            if kind == "pods":
                for pod in items:  # an app's pod usually has a secret in its env: the bundle redacts it
                    for c in pod.get("spec", {}).get("containers", [])[:1]:
                        c.setdefault("env", []).append({"name": "DATABASE_URL", "value": "postgres://u:pw@db/app"})
            redacted += _redact_env(items)
            files[f"cluster-resources/{kind}/{ns}.json"] = dump_list(kind, items)
    for kind in KINDS:
        files[f"cluster-resources/{kind}-errors.json"] = (
            json.dumps(errors.get(kind, {}) or None).encode() if kind in errors else b"null"
        )
    for ns, pod, container, previous, data in read_logs(v1, snap):
        suffix = "-previous.log" if previous else ".log"
        files[f"cluster-resources/pods/logs/{ns}/{pod}/{container}{suffix}"] = data
    out_dir.mkdir(parents=True, exist_ok=True)
    tarball = out_dir / f"{top}.tar.gz"
    _write_tar(tarball, top, files)
    n_errors = sum(len(v) for v in errors.values())
    return tarball, {"collected_at": when, "errors": n_errors, "redacted": redacted, "skipped": skipped, "top": top}


def _write_tar(tarball: Path, top: str, files: dict[str, bytes]) -> None:
    import io

    with tarfile.open(tarball, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            info.mtime = 1700000000
            tf.addfile(info, io.BytesIO(data))


def _go_time(t: datetime, mono: float) -> str:
    return f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond:06d}123 +0000 UTC m=+{mono:.9f}"


def _timestamped(data: bytes, end: datetime) -> bytes:
    """Prefix each line with an RFC 3339 nano timestamp, as `oc logs --timestamps` does; the last at `end`."""
    lines = data.decode("utf-8", errors="replace").splitlines()
    out = []
    for i, line in enumerate(lines):
        t = end - timedelta(seconds=len(lines) - 1 - i)
        out.append(f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond:06d}000Z {line}")
    return ("\n".join(out) + ("\n" if out else "")).encode()


def to_mustgather(
    v1: Path, out_dir: Path, *, inspect: bool = False, archive: bool = False
) -> tuple[Path, dict[str, Any]]:
    """Write a must-gather tree (or `oc adm inspect` tree) under `out_dir`; returns its path (or tarball)."""
    snap = latest_snapshot(v1)
    when = collected_at(v1)
    objects = read_objects(v1, snap)
    if inspect:
        wrapper = "inspect.local.6025786381367209932"
    else:
        wrapper = (
            "must-gather.local.5532811418393557437/quay-io-openshift-release-dev-ocp-v4-0-art-dev-sha256-" + "9f" * 32
        )
    files: dict[str, bytes] = {}
    start = when - timedelta(seconds=42)
    stamp = f"{_go_time(start, 0.004)}\n{_go_time(when, 42.1)}\n".encode()
    files[f"{wrapper}/timestamp"] = stamp
    if not inspect:
        files[f"{wrapper.split('/')[0]}/timestamp"] = stamp
    for node in objects["nodes"]:
        files[f"{wrapper}/cluster-scoped-resources/core/nodes/{node['metadata']['name']}.yaml"] = yaml.safe_dump(
            {**node, "apiVersion": "v1", "kind": "Node"}
        ).encode()
    groups = {
        "pods": "core",
        "events": "core",
        "deployments": "apps",
        "replicasets": "apps",
        "daemonsets": "apps",
        "statefulsets": "apps",
        "jobs": "batch",
        "cronjobs": "batch",
    }
    for kind in KINDS:
        for ns, items in sorted(_by_namespace(objects[kind]).items()):
            if inspect and kind == "pods":
                continue
            doc = {
                "apiVersion": API.get(kind, "apps/v1"),
                "items": items,
                "kind": LIST_KIND[kind],
                "metadata": {"resourceVersion": "123456"},
            }
            files[f"{wrapper}/namespaces/{ns}/{groups[kind]}/{kind}.yaml"] = yaml.safe_dump(doc).encode()
    for pod in objects["pods"]:
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        files[f"{wrapper}/namespaces/{ns}/pods/{name}/{name}.yaml"] = yaml.safe_dump(
            {**pod, "apiVersion": "v1", "kind": "Pod"}
        ).encode()
    log_end = when - timedelta(seconds=50)
    for ns, pod, container, previous, data in read_logs(v1, snap):
        fname = "previous.log" if previous else "current.log"
        files[f"{wrapper}/namespaces/{ns}/pods/{pod}/{container}/{container}/logs/{fname}"] = _timestamped(
            data, log_end
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    facts = {"collected_at": when, "log_end": log_end, "wrapper": wrapper}
    if archive:
        tarball = out_dir / "must-gather.tar.gz"
        import io

        with tarfile.open(tarball, "w:gz") as tf:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        return tarball, facts
    for name, data in files.items():
        p = out_dir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return out_dir / wrapper.split("/")[0], facts


def real_cluster_info_dump(v1: Path, work: Path, *, stdout: bool = False, output: str = "json") -> Path:
    """Run the real `kubectl cluster-info dump -A -o OUTPUT` against `forensics serve` of `v1`, with its own HOME.

    Returns the output directory (directory form) or the file holding kubectl's stdout.
    """
    from forensics.serve import write_kubeconfig
    from tests.dump_builder import served, tool_env

    work.mkdir(parents=True, exist_ok=True)
    with served(v1) as (url, _):
        kubeconfig = work / "kubeconfig"
        write_kubeconfig(kubeconfig, url)
        env = tool_env(work / "home", kubeconfig)
        argv = ["kubectl", "cluster-info", "dump", "-A", "-o", output]
        if not stdout:
            argv += ["--output-directory", str(work / "cluster-info")]
        proc = subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"kubectl cluster-info dump failed: {proc.stderr.decode(errors='replace')[-2000:]}")
    if stdout:
        out = work / f"cluster-info.{output}"
        out.write_bytes(proc.stdout)
        return out
    return work / "cluster-info"


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s).astimezone(UTC)


# --- comparing findings ---------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_dumps"
# the format-v1 stories (the foreign-format ones are already converted, under their dump/)
STORIES = sorted(p.name for p in SAMPLES.iterdir() if (p / "forensics-dump.yaml").is_file()) if SAMPLES.is_dir() else []

# what a cause rests on, named as in `Dump.gaps`: without it the cause may be absent, or degrade to a
# contributing one, or to the generic "image does not run on the node" cause that logs alone can show
NEEDS = {
    "arch.missing-emulation": "no binfmt_misc listings",
    "arch.index-missing-platform": "no image inspections",
    "arch.bare-manifest-tag": "no image inspections",
    "arch.apple-silicon-build": "no image inspections",
    "arch.index-entry-mismatch": "no image inspections",
    "arch.emulation-fault": "no binfmt_misc listings",
}
GENERIC = "arch.single-arch-image"


def findings_by_workload(doc: dict[str, Any]) -> dict[tuple[str, str, str, bool], dict[str, Any]]:
    return {
        (f["workload"]["kind"], f["workload"]["namespace"], f["workload"]["name"], bool(f["latent"])): f
        for f in doc["findings"]
    }


def assert_same_findings(native: dict[str, Any], foreign: dict[str, Any]) -> None:
    """The foreign dump's findings are the native ones, minus what its gaps say it cannot carry: a cause
    whose evidence is missing may be absent or fall back to one of its contributing causes."""
    gaps = {g["what"] for g in foreign["gaps"]}
    nat = findings_by_workload(native)
    forg = findings_by_workload(foreign)
    extra = sorted(set(forg) - set(nat))
    assert not extra, f"findings the native dump does not have: {extra}"
    for key, f in nat.items():
        lacking = NEEDS.get(f["cause"])
        if lacking in gaps:
            if key in forg:
                assert forg[key]["cause"] in {f["cause"], GENERIC, *f.get("contributing", [])}, (
                    key,
                    forg[key]["cause"],
                )
            continue
        assert key in forg, f"{key}: {f['cause']} not found in the {foreign['dump']['format']} dump"
        assert forg[key]["cause"] == f["cause"], (key, f["cause"], forg[key]["cause"])
    for key, g in forg.items():  # less evidence never raises the confidence
        assert g["confidence"] <= nat[key]["confidence"] + 1e-9, (key, g["confidence"], nat[key]["confidence"])
