"""collectors/redact.awk on its own, with the system awk: which values are secret, and how they are replaced."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.dump_builder import REPO

AWK = shutil.which("awk")
REDACT = REPO / "collectors" / "redact.awk"
pytestmark = pytest.mark.skipif(AWK is None, reason="no awk")

POD = {
    "spec": {
        "containers": [
            {
                "name": "api",
                "args": ["--db-url=postgres://app:pg-pass-1@db:5432/app", "--api-key=k3y-val-42", "--replicas=3"],
                "env": [
                    {"name": "DB_PASSWORD", "value": "hunter2-secret"},
                    {"name": "STRIPE_KEY", "value": "sk_live_abcdef"},
                    {"name": "LOG_LEVEL", "value": "debug"},
                    {"name": "OLD_TOKEN", "value": "REDACTED-0123abcd"},
                ],
            }
        ],
        "automountServiceAccountToken": False,
    },
    "metadata": {
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                {"env": [{"name": "DB_PASSWORD", "value": "hunter2-secret"}]}, separators=(",", ":")
            )
        }
    },
}
LOG = (
    "boot with password=hunter2-secret\n"
    "GET / Authorization: Bearer eyJhbGciOi.payload.sig\n"
    "connect mysql://root:rootpw-9@mysql:3306/x\n"
    'config {"token": "t0k3n-value", "user": "bob"}\n'
    "tokens left: 5, all fine\n"
)


def _awk(tmp: Path, *args: str) -> str:
    assert AWK is not None
    return subprocess.run(
        [AWK, *args, "-f", str(REDACT), str(tmp / "pod.json"), str(tmp / "app.log")],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


@pytest.fixture
def files(tmp_path: Path) -> Path:
    # laid out like `kubectl get -o json` prints (4-space indent, sorted keys)
    (tmp_path / "pod.json").write_text(json.dumps(POD, indent=4, sort_keys=True) + "\n")
    (tmp_path / "app.log").write_text(LOG)
    return tmp_path


def test_extract_finds_exactly_the_secret_values(files: Path) -> None:
    found = set(_awk(files, "-v", "mode=extract").split("\n")) - {""}
    assert found == {
        "pg-pass-1",
        "k3y-val-42",
        "hunter2-secret",
        "sk_live_abcdef",
        "eyJhbGciOi.payload.sig",
        "rootpw-9",
        "t0k3n-value",
    }


def test_apply_replaces_consistently_and_keeps_json_valid(files: Path) -> None:
    values = sorted(set(_awk(files, "-v", "mode=extract").split("\n")) - {""})
    tokens = {v: f"REDACTED-{i:08x}" for i, v in enumerate(values)}
    (files / "map").write_text("".join(f"{t}\t{v}\n" for v, t in tokens.items()))
    _awk(files, "-v", "mode=apply", "-v", f"map={files / 'map'}", "-v", f"counts={files / 'counts'}")
    pod = json.loads((files / "pod.json.redacting").read_text())
    log = (files / "app.log.redacting").read_text()
    for v in values:
        assert v not in log and v not in json.dumps(pod)
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    token = tokens["hunter2-secret"]
    assert env == {
        "DB_PASSWORD": token,
        "STRIPE_KEY": tokens["sk_live_abcdef"],
        "LOG_LEVEL": "debug",
        "OLD_TOKEN": "REDACTED-0123abcd",
    }
    assert (
        f"password={token}" in log
        and token in pod["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    )
    assert pod["spec"]["containers"][0]["args"][2] == "--replicas=3"
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert "tokens left: 5, all fine" in log
    counts = dict(line.split("\t") for line in (files / "counts").read_text().splitlines())
    assert {Path(k).name for k in counts} == {"pod.json", "app.log"}
