"""Remediation commands are shell a user can paste, for every workload kind.

Two checks: every command runs under bash with stand-ins that record their argv (so a dump's name
arrives as one argument and nothing it holds is executed), and the kubectl lines run for real, with
`--dry-run=client`, against `forensics serve` answering from a dump that holds each kind.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from forensics.analysis import remediation
from forensics.analysis.findings import Remediation, Workload
from tests.dump_builder import served, tiny_dump, tool_env

KINDS = (
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Pod",
    "StaticPod",
    "Rollout",
)
HOSTILE = (
    "api'; touch INJECTED; echo '",
    "$(touch INJECTED)",
    "`touch INJECTED`",
    "a b\nc",
    "-n",
    "x>INJECTED",
)


def _all(w: Workload) -> list[Remediation]:
    img = f"registry.example/{w.name}:1"
    return [
        remediation.rebuild(img, ["amd64", "arm64"]),
        remediation.ci_check(img, ["amd64", "arm64"]),
        remediation.pin(w, ["arm64"]),
        remediation.pin(w, ["amd64", "arm64"]),
        remediation.restart(w),
        Remediation(title="describe", command=remediation.describe(w), kind="investigate"),
    ]


_RECORD = """#!/bin/sh
for a in "$@"; do printf '%s\\0' "$a"; done >> "$RECORD"
printf '\\036' >> "$RECORD"
"""


@pytest.fixture
def stand_ins(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """kubectl, docker, forensics, sudo and sleep that only record their arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("kubectl", "docker", "forensics", "sudo", "sleep"):
        (bin_dir / tool).write_text(_RECORD)
        (bin_dir / tool).chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "RECORD": str(tmp_path / "record"), "HOME": str(tmp_path)}
    return tmp_path, env


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["api", *HOSTILE])
def test_every_command_is_shell_that_passes_names_as_one_argument(
    kind: str, name: str, stand_ins: tuple[Path, dict[str, str]]
) -> None:
    tmp, env = stand_ins
    w = Workload(kind, "shop", name)
    for rem in _all(w):
        run = tmp / "run"
        shutil.rmtree(run, ignore_errors=True)
        run.mkdir()
        (tmp / "record").write_bytes(b"")
        shlex.split(rem.command, comments=True)  # balanced quotes
        p = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", rem.command],
            check=False,
            cwd=run,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert p.returncode == 0, (kind, rem.kind, rem.command, p.stderr)
        assert not (run / "INJECTED").exists() and not (tmp / "INJECTED").exists(), rem.command
        calls = [c.split("\0")[:-1] for c in (tmp / "record").read_text().split("\x1e") if c]
        assert calls, f"{kind} {rem.kind}: no command ran: {rem.command!r}"
        # the files a command writes are the ones it names for the next step, nothing a name made up
        assert {f.name for f in run.iterdir()} <= {"pod.yaml", "job.yaml", "manifest.json"}, rem.command
        if rem.kind in ("restart", "pin", "investigate") and kind != "StaticPod":
            # the workload's name reached kubectl whole, as one argument (alone, as RES/NAME or in a label)
            args = [a for c in calls for a in c]
            assert any(
                a
                in (
                    name,
                    f"{remediation.resource_of(w)}/{name}",
                    f"job-name={name}",
                    f"--from=cronjob/{name}",
                )
                for a in args
            ), (rem.command, calls)


def test_restart_of_a_bare_pod_is_not_a_placeholder() -> None:
    for kind in KINDS:
        cmd = remediation.restart(Workload(kind, "shop", "web")).command
        assert "<" not in cmd, cmd


_DRY = r'''#!{python}
"""kubectl, made harmless: writes become --dry-run=client, a rollout is checked by getting its target."""
import os, sys
args = sys.argv[1:]
with open(os.environ["RECORD"], "a") as f:
    f.write(" ".join(args) + "\n")
pos = [i for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] not in ("-n", "-o", "-l", "-p", "-f", "--type", "-c"))]
verb = args[pos[0]]
if verb == "rollout":
    args = args[:pos[0]] + ["get", args[pos[2]]]
elif verb in ("patch", "scale", "delete", "create", "replace", "set", "apply", "label", "annotate"):
    args = [a for a in args if a != "--force"] + ["--dry-run=client"]
    if "-f" in args:  # serve answers no /openapi, which kubectl's schema validation of a file asks for
        args.append("--validate=false")
os.execv("/usr/bin/kubectl", ["kubectl", "--server=" + os.environ["SERVER"]] + args)
'''

# what the tiny dump holds of each kind (tests/dump_builder.tiny_objects)
OBJECTS = {
    "Deployment": ("shop", "api"),
    "ReplicaSet": ("shop", "api-7d9f"),
    "DaemonSet": ("kube-system", "agent"),
    "StatefulSet": ("shop", "db"),
    "Job": ("shop", "migrate"),
    "CronJob": ("shop", "report"),
    "Pod": ("shop", "db-0"),
}


@pytest.mark.skipif(not Path("/usr/bin/kubectl").exists(), reason="kubectl is not installed")
def test_kubectl_accepts_every_command_with_dry_run_against_a_served_dump(tmp_path: Path) -> None:
    dump = tiny_dump(tmp_path / "dump")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(_DRY.replace("{python}", sys.executable))
    (bin_dir / "kubectl").chmod(0o755)
    record = tmp_path / "record"
    with served(dump) as (url, _):
        env = tool_env(tmp_path / "home")
        env.update(PATH=f"{bin_dir}:{env['PATH']}", RECORD=str(record), SERVER=url)
        for kind, (ns, name) in OBJECTS.items():
            w = Workload(kind, ns, name)
            for rem in (
                remediation.pin(w, ["arm64"]),
                remediation.pin(w, ["amd64", "arm64"]),
                remediation.restart(w),
            ):
                run = tmp_path / "run" / kind / rem.kind
                run.mkdir(parents=True, exist_ok=True)
                record.write_text("")
                p = subprocess.run(
                    ["bash", "-e", "-o", "pipefail", "-c", rem.command],
                    check=False,
                    cwd=run,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert p.returncode == 0, (kind, rem.command, p.stdout, p.stderr)
                assert record.read_text().strip(), rem.command  # kubectl really ran
            desc = subprocess.run(
                ["bash", "-c", remediation.describe(w)],
                check=False,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert desc.returncode == 0 and name in desc.stdout, (kind, desc.stderr)
