"""kubectl text (describe, get tables, events, logs, pasted objects) as an input format.

The round trips use the real kubectl against `forensics serve` of every sample story (tests/kubectl_ticket.py);
the pasted fixtures come from public issues (tests/fixtures/kubectl-text/SOURCES.md).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from forensics.analysis.analyze import analyze
from forensics.read.formats import detect, load_any
from forensics.read.formats.kubectl_describe import parse_age
from forensics.read.formats.kubectltext import FORMAT
from forensics.read.load import load_dump
from tests.foreign_dumps import GENERIC, SAMPLES, assert_same_findings, findings_by_workload
from tests.kubectl_ticket import Ticket, kubectl_ticket
from tests.samples import expected_of, load_story

FIXTURES = Path(__file__).parent / "fixtures" / "kubectl-text"
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs the real kubectl")

# What kubectl text cannot show, so a cause resting on it may fall back to what the text does show
# (the generic architecture cause, or one of the native finding's contributing causes).
TEXT_CANNOT_SHOW = {
    "arch.missing-emulation": "binfmt_misc registrations live in the node's /proc; no kubectl output prints them",
}

# every sample story, the foreign-format ones too: `forensics serve` answers for a support bundle, a
# must-gather or a cluster-info dump as it does for a format-v1 dump
ALL_STORIES = sorted(p.parent.name for p in SAMPLES.glob("*/expected.yaml"))


def _served_dump(story: str) -> Path:
    """The path `forensics serve` is given for a story: the dump itself, or its `dump:` folder."""
    return SAMPLES / story / expected_of(story).get("dump", ".")


def _images(story: str) -> Path | None:
    """The image inspections a story's dump is analyzed with (`--images`), when it has them."""
    exp = expected_of(story)
    if "dump" not in exp:
        return SAMPLES / story / "images"
    return SAMPLES / story / exp["images"] if exp.get("images") else None


@pytest.fixture(scope="module")
def tickets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ticket]:
    """One ticket per story, made on first use and shared by every test of this module."""
    cache: dict[str, Ticket] = {}
    base = tmp_path_factory.mktemp("tickets")

    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, story: str) -> Ticket:
            t = kubectl_ticket(_served_dump(story), base / story)
            self[story] = t
            return t

    return Lazy(cache)


@pytest.fixture(scope="module")
def native_docs() -> dict[str, dict[str, Any]]:
    class Lazy(dict):  # type: ignore[type-arg]
        def __missing__(self, story: str) -> dict[str, Any]:
            doc = analyze(load_story(story))
            self[story] = doc
            return doc

    return Lazy()


def _compare(native: dict[str, Any], text: dict[str, Any]) -> None:
    nat, got = findings_by_workload(native), findings_by_workload(text)
    assert not set(got) - set(nat), f"findings the dump does not have: {sorted(set(got) - set(nat))}"
    for key, f in nat.items():
        if f["cause"] in TEXT_CANNOT_SHOW:
            assert key not in got or got[key]["cause"] in {f["cause"], GENERIC, *f.get("contributing", [])}
            continue
        assert key in got, f"{key}: {f['cause']} not found in the kubectl text"
        assert got[key]["cause"] == f["cause"], (key, f["cause"], got[key]["cause"])
    assert_same_findings(native, text)  # also: less evidence never raises a confidence


@needs_kubectl
@pytest.mark.parametrize("story", ALL_STORIES)
def test_ticket_folder_gives_the_dumps_diagnosis(
    story: str, tickets: dict[str, Ticket], native_docs: dict[str, Any]
) -> None:
    t = tickets[story]
    assert t.commands > 5
    d = load_any(t.folder, images=_images(story))
    assert d.format == FORMAT
    assert not [p for p in d.problems if p.what != "file not recognised"], d.problems
    _compare(native_docs[story], analyze(d))


@needs_kubectl
@pytest.mark.parametrize("story", ALL_STORIES)
def test_one_concatenated_file_with_prompts_gives_the_same(
    story: str, tickets: dict[str, Ticket], native_docs: dict[str, Any]
) -> None:
    t = tickets[story]
    assert detect(t.single).format == FORMAT
    text = analyze(load_any(t.single, images=_images(story)))
    _compare(native_docs[story], text)


@needs_kubectl
@pytest.mark.parametrize("story", ["graviton-new-pool", "not-arch", "scheduling"])
def test_without_image_inspections_only_image_causes_degrade(
    story: str, tickets: dict[str, Ticket], native_docs: dict[str, Any]
) -> None:
    bare = analyze(load_any(tickets[story].folder))
    assert "no image inspections" in {g["what"] for g in bare["gaps"]}
    assert_same_findings(native_docs[story], bare)


@needs_kubectl
def test_frames_carry_what_describe_printed(tickets: dict[str, Ticket]) -> None:
    v1 = SAMPLES / "not-arch"
    native = load_dump(v1)
    d = load_any(tickets["not-arch"].folder)
    key = ["namespace", "pod", "container"]
    cols = [
        "image",
        "restart_count",
        "state",
        "waiting_reason",
        "last_reason",
        "last_exit_code",
        "memory_limit",
        "has_liveness_probe",
        "last_finished",
    ]
    nat = native["containers"][native["containers"]["snapshot"] == native.snapshots[-1]].set_index(key)[cols]
    got = d["containers"].set_index(key)[cols]
    assert sorted(got.index) == sorted(nat.index)
    pd.testing.assert_frame_equal(got.sort_index(), nat.sort_index(), check_dtype=False)
    nodes = d["nodes"].set_index("node")
    nn = native["nodes"].drop_duplicates("node", keep="last").set_index("node")
    for col in ("arch", "os", "runtime", "runtime_version", "kubelet_version", "ready"):
        assert nodes[col].sort_index().tolist() == nn[col].sort_index().tolist(), col

    def taints(s: pd.Series) -> list[list[str]]:  # describe sorts them its own way
        return [sorted(v) if v is not None and v is not pd.NA else [] for v in s.sort_index().tolist()]

    assert taints(nodes["taints"]) == taints(nn["taints"])


@needs_kubectl
def test_evidence_points_at_the_file_and_line(tickets: dict[str, Ticket]) -> None:
    t = tickets["not-arch"]
    d = load_any(t.folder)
    for r in d["pods"].itertuples():
        file, _, line = str(r.file).rpartition(":")
        if not line.isdigit():  # a whole -o yaml/json file: the file is the object
            assert str(r.file).endswith(".yaml") and r.pod in (t.folder / str(r.file)).read_text()
            continue
        assert (t.folder / file).read_text().splitlines()[int(line) - 1].split()[1] == r.pod
    single = load_any(t.single)
    sigs = single["signatures"][single["signatures"]["source"].isin(["log", "previous-log"])]
    assert not sigs.empty
    lines = t.single.read_bytes().decode().split("\r\n")
    for s in sigs.itertuples():
        assert s.text in lines[int(s.line) - 1]


@needs_kubectl
def test_collection_time_comes_from_describes_times(tickets: dict[str, Ticket]) -> None:
    d = load_any(tickets["not-arch"].folder)
    meta = yaml.safe_load((SAMPLES / "not-arch" / "forensics-dump.yaml").read_text())
    collected = pd.Timestamp(meta["collected_at"])
    got = pd.Timestamp(d.collected_at)
    assert collected - pd.Timedelta(minutes=5) <= got <= collected
    assert "describe" in d.meta["collected_at_source"]
    # describe printed event ages against the wall clock of its run (years later): calibrated per block,
    # they land on the dump's own event times, to kubectl's rounding of such ages (days)
    native = load_dump(SAMPLES / "not-arch")
    want = native["events"].groupby(["object_name", "reason"])["last_seen"].max()
    have = d["events"].groupby(["object_name", "reason"])["last_seen"].max()
    both = want.index.intersection(have.index)
    assert len(both) > 10
    assert ((have[both] - want[both]).abs() <= pd.Timedelta(days=1)).all()


@needs_kubectl
def test_pasted_yaml_and_json_with_prose_around_them(tickets: dict[str, Ticket], tmp_path: Path) -> None:
    folder = tickets["not-arch"].folder
    (pod_yaml,) = folder.glob("pod-*.yaml")
    (deps_json,) = folder.glob("deployments-*.json")
    text = (
        "Here is the pod as you asked:\n\n"
        + pod_yaml.read_text()
        + "\nand the deployments:\n"
        + deps_json.read_text()
        + "\nlet me know!\n"
    )
    d = load_any(_write(tmp_path, "pasted.txt", text))
    native = load_dump(SAMPLES / "not-arch")
    name = pod_yaml.stem.removeprefix("pod-")
    got = d["containers"].set_index("pod").loc[name]
    want = native["containers"][native["containers"]["snapshot"] == native.snapshots[-1]].set_index("pod").loc[name]
    for col in ("image_digest", "restart_count", "last_reason", "termination_message_policy", "command"):
        assert str(got[col]) == str(want[col]), col
    assert d["pods"].set_index("pod").loc[name, "file"] == "pasted.txt:3"
    assert set(d["workloads"]["kind"]) == {"Deployment"} and len(d["workloads"]) >= 1
    assert d.meta["shapes"]["pasted -o yaml/json"] == 2


# --- shapes, by content --------------------------------------------------------------------------


def test_parse_age() -> None:
    assert parse_age("93s") == 93
    assert parse_age("3h12m") == 3 * 3600 + 12 * 60
    assert parse_age("2y264d") == (2 * 365 + 264) * 86400
    assert parse_age("<invalid>") == 0
    assert parse_age("<unknown>") is None
    assert parse_age("Running") is None


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode())
    return p


DESCRIBE_CRASH = """\
Name:             api-7d9f8c6b5d-x2kq9
Namespace:        web
Priority:         0
Service Account:  default
Node:             ip-10-0-3-17.eu-west-1.compute.internal/10.0.3.17
Start Time:       Mon, 03 Jun 2024 10:00:02 +0000
Labels:           app=api
                  pod-template-hash=7d9f8c6b5d
Status:           Running
Controlled By:    ReplicaSet/api-7d9f8c6b5d
Containers:
  api:
    Container ID:   containerd://4b1c
    Image:          registry.acme.internal/web/api:3.8.0
    Image ID:       registry.acme.internal/web/api@sha256:10cc8ff575a1a7bf060f886f037f3c6367cce476ddc0aca17e2e1a5986fb40d9
    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       Error
      Exit Code:    1
      Started:      Mon, 03 Jun 2024 10:20:11 +0000
      Finished:     Mon, 03 Jun 2024 10:20:14 +0000
    Ready:          False
    Restart Count:  7
    Limits:
      memory:  512Mi
Conditions:
  Type              Status
  Ready             False
  PodScheduled      True
Node-Selectors:     kubernetes.io/arch=arm64
Tolerations:        dedicated=arm:NoSchedule
                    node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
Events:
  Type     Reason   Age                 From     Message
  ----     ------   ----                ----     -------
  Normal   Started  2m1s (x8 over 15m)  kubelet  Started container api
  Warning  BackOff  5s (x60 over 15m)   kubelet  Back-off restarting failed container api in pod api-7d9f8c6b5d-x2kq9_web(1f0c)
"""

SPRING_LOG = """\
2024-06-03 10:20:13.902 ERROR 1 --- [           main] o.s.boot.SpringApplication               : Application run failed
org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'dataSource'
Caused by: java.sql.SQLException: Access denied for user 'api'@'10.0.3.17' (using password: YES)
"""


def test_a_pasted_ticket_with_prose_crlf_separators_and_a_logs_block(tmp_path: Path) -> None:
    text = (
        "Hello, our api pod keeps restarting since the upgrade, see below.\n\n"
        "ubuntu@bastion:~$ kubectl describe pod api-7d9f8c6b5d-x2kq9 -n web\n" + DESCRIBE_CRASH + "\n---\n"
        "ubuntu@bastion:~$ kubectl logs api-7d9f8c6b5d-x2kq9 -n web --previous\n" + SPRING_LOG + "\nThanks!\n"
    ).replace("\n", "\r\n")
    p = _write(tmp_path, "ticket.txt", text)
    assert detect(p).format == FORMAT
    d = load_any(p)
    c = d["containers"].iloc[0]
    assert (c["namespace"], c["pod"], c["container"], c["restart_count"], c["waiting_reason"], c["last_exit_code"]) == (
        "web",
        "api-7d9f8c6b5d-x2kq9",
        "api",
        7,
        "CrashLoopBackOff",
        1,
    )
    assert c["memory_limit"] == "512Mi" and c["image_digest"].startswith("sha256:10cc")
    pod = d["pods"].iloc[0]
    assert list(pod["arch_allowed"]) == ["arm64"] and "dedicated=arm:NoSchedule" in pod["tolerations"]
    assert (pod["workload_kind"], pod["workload_name"]) == ("Deployment", "api")
    logs = d["logs"]
    assert logs["previous"].tolist() == [True] and logs["container"].tolist() == ["api"]
    doc = analyze(d)
    (f,) = doc["findings"]
    assert f["cause"] == "app-crash" and f["workload"]["name"] == "api"
    texts = " ".join(e["text"] for e in f["evidence"])
    assert "Application run failed" in texts and "java.sql.SQLException: Access denied" in texts
    # the collection time: container start + the age of its Started event (when kubectl ran)
    assert d.collected_at == "2024-06-03T10:22:12Z"


@pytest.mark.parametrize(
    "prompt",
    [
        "[root@master-0 ~]# kubectl",  # RHEL/CentOS/Amazon Linux bash
        "[ec2-user@ip-10-0-3-4 ~]$ sudo kubectl",
        "jane@mbp ~ % kubectl",  # macOS zsh
        "➜  infra git:(main) ✗ kubectl",  # oh-my-zsh
        "❯ kubectl",  # starship
        "(venv) ops@bastion:~/dc3$ kubectl",
        "$ microk8s kubectl",
        "$ minikube kubectl --",
        "sh-4.4$ oc",
    ],
)
def test_prompts_as_terminals_print_them(prompt: str, tmp_path: Path) -> None:
    """Each prompt starts a command: its -n names the namespace of a table without one, and a `logs`
    block runs to the next prompt, so the describe after it is not swallowed as log lines."""
    text = (
        f"{prompt} get pods -n web\n"
        "NAME                   READY   STATUS             RESTARTS      AGE\n"
        "api-7d9f8c6b5d-x2kq9   0/1     CrashLoopBackOff   7 (2m1s ago)  20m\n\n"
        f"{prompt} logs api-7d9f8c6b5d-x2kq9 -n web --previous\n" + SPRING_LOG + "\n"
        f"{prompt} describe pod api-7d9f8c6b5d-x2kq9 -n web\n" + DESCRIBE_CRASH
    )
    d = load_any(_write(tmp_path, "ticket.txt", text))
    assert d["pods"][["namespace", "pod"]].values.tolist() == [["web", "api-7d9f8c6b5d-x2kq9"]]
    assert d["logs"][["pod", "container", "previous"]].values.tolist() == [["api-7d9f8c6b5d-x2kq9", "api", True]]
    assert int(d["containers"]["restart_count"].iloc[0]) == 7  # the describe was read, not taken for a log
    (f,) = analyze(d)["findings"]
    assert f["cause"] == "app-crash" and "Access denied" in " ".join(e["text"] for e in f["evidence"])


def test_a_logs_block_ends_where_a_describe_or_table_pasted_without_prompt_starts(tmp_path: Path) -> None:
    text = (
        "$ kubectl logs api-7d9f8c6b5d-x2kq9 -n web --previous\n"
        + SPRING_LOG
        + "\nand the describe:\n\n"
        + DESCRIBE_CRASH
        + "\n"
        + "NAME                   READY   STATUS             RESTARTS      AGE\n"
        + "api-7d9f8c6b5d-x2kq9   0/1     CrashLoopBackOff   7 (2m1s ago)  20m\n"
    )
    d = load_any(_write(tmp_path, "ticket.txt", text))
    assert int(d["containers"]["restart_count"].iloc[0]) == 7 and d["containers"]["container"].tolist() == ["api"]
    (log,) = d["logs"].itertuples()
    assert (log.pod, log.previous) == ("api-7d9f8c6b5d-x2kq9", True)
    sigs = d["signatures"]
    assert not sigs[sigs["source"] == "previous-log"]["text"].str.contains("CrashLoopBackOff|Back-off").any()
    (f,) = analyze(d)["findings"]
    assert f["cause"] == "app-crash"


def test_logs_of_a_workload_go_to_the_pod_kubectl_read(tmp_path: Path) -> None:
    """`kubectl logs deploy/api` reads one pod of the Deployment: of those the text shows, the one
    kubectl picks (on a node, Running, then most restarts); `logs sts/db` its only pod."""
    text = (
        "$ kubectl get pods -n web -o wide\n"
        "NAME                   READY   STATUS             RESTARTS       AGE   IP           NODE       NOMINATED NODE   READINESS GATES\n"
        "api-7d9f8c6b5d-pq7rs   0/1     ContainerCreating  0              20s   <none>       worker-3   <none>           <none>\n"
        "api-7d9f8c6b5d-x2kq9   0/1     CrashLoopBackOff   7 (2m1s ago)   20m   10.0.3.40    worker-1   <none>           <none>\n"
        "api-7d9f8c6b5d-zz4t8   0/1     CrashLoopBackOff   3 (1m ago)     9m    10.0.3.41    worker-2   <none>           <none>\n"
        "db-0                   1/1     Running            0              20m   10.0.3.42    worker-2   <none>           <none>\n"
        "$ kubectl logs deploy/api -n web --previous\n" + SPRING_LOG + "$ kubectl logs statefulset/db -n web\n"
        "PostgreSQL init process complete; ready for start up.\n"
    )
    d = load_any(_write(tmp_path, "ticket.txt", text))
    assert sorted(d["logs"][["pod", "previous"]].values.tolist()) == [
        ["api-7d9f8c6b5d-x2kq9", True],
        ["db-0", False],
    ]
    assert not [p for p in d.problems if p.what == "log not attributed"]
    (f,) = analyze(d)["findings"]
    assert f["cause"] == "app-crash" and "Access denied" in " ".join(e["text"] for e in f["evidence"])


def test_logs_of_a_workload_none_of_whose_pods_is_shown_is_a_problem(tmp_path: Path) -> None:
    text = "$ kubectl logs deploy/api -n web\n" + SPRING_LOG
    d = load_any(_write(tmp_path, "ticket.txt", text))
    assert [p.what for p in d.problems] == ["log not attributed"] and d["logs"].empty


@pytest.mark.parametrize(
    "saved",
    [
        pytest.param(lambda t: t.replace(" ", "\u00a0").encode(), id="no-break-spaces"),  # mail clients, chat
        pytest.param(lambda t: t.replace("  ", "\u00a0 ").encode(), id="alternating-nbsp"),  # HTML &nbsp; runs
        pytest.param(lambda t: t.replace("\n", "\r\n").encode("utf-16"), id="powershell-utf16"),  # `> out.txt`
        pytest.param(lambda t: b"\xef\xbb\xbf" + t.encode(), id="utf8-bom"),  # Notepad
        pytest.param(
            lambda t: (
                ("On Mon, 3 Jun 2024 Jane Doe wrote:\n" + "\n".join(f"> {ln}".rstrip() for ln in t.split("\n")))
                .replace("\n", "\r\n")
                .encode()
            ),
            id="quoted-mail-reply",
        ),
    ],
)
def test_text_as_windows_and_mail_clients_save_it(saved: Any, tmp_path: Path) -> None:
    text = (
        "$ kubectl describe pod api-7d9f8c6b5d-x2kq9 -n web\n" + DESCRIBE_CRASH + "\n"
        "$ kubectl logs api-7d9f8c6b5d-x2kq9 -n web --previous\n" + SPRING_LOG
    )
    p = tmp_path / "ticket.txt"
    p.write_bytes(saved(text))
    assert detect(p).format == FORMAT
    d = load_any(p)
    c = d["containers"].iloc[0]
    assert (c["pod"], c["container"], int(c["restart_count"]), c["memory_limit"]) == (
        "api-7d9f8c6b5d-x2kq9",
        "api",
        7,
        "512Mi",
    )
    assert d["logs"]["previous"].tolist() == [True]
    (f,) = analyze(d)["findings"]
    assert f["cause"] == "app-crash" and "Access denied" in " ".join(e["text"] for e in f["evidence"])


def test_a_pod_seen_only_in_a_table_takes_its_image_from_the_kubelets_pull_events(tmp_path: Path) -> None:
    image = "registry.acme.io/shop/search:2.4.1"
    text = (
        "$ kubectl get events -n shop\n"
        "LAST SEEN   TYPE      REASON    OBJECT                       MESSAGE\n"
        f'2m          Normal    Pulling   pod/search-6c9f7b8d4-q8z2m   Pulling image "{image}"\n'
        f'2m          Warning   Failed    pod/search-6c9f7b8d4-q8z2m   Failed to pull image "{image}": rpc error: code = '
        f'Unknown desc = failed to pull and unpack image "{image}": failed to resolve reference "{image}": failed to do '
        'request: Head "https://registry.acme.io/v2/shop/search/manifests/2.4.1": dial tcp: lookup registry.acme.io: '
        "Temporary failure in name resolution\n"
        f'1m          Normal    BackOff   pod/search-6c9f7b8d4-q8z2m   Back-off pulling image "{image}"\n'
        "$ kubectl get pods -n shop\n"
        "NAME                     READY   STATUS             RESTARTS   AGE\n"
        "search-6c9f7b8d4-q8z2m   0/1     ImagePullBackOff   0          12m\n"
    )
    d = load_any(_write(tmp_path, "ticket.txt", text))
    assert d["containers"]["image"].tolist() == [image]
    (f,) = analyze(d)["findings"]
    assert f["cause"] == "image-pull-network" and image in f["summary"]
    commands = " ".join(r["command"] for r in f["remediation"])
    assert "getent hosts registry.acme.io" in commands and "docker.io" not in commands


def test_commands_never_name_a_container_the_text_does_not(tmp_path: Path) -> None:
    text = (
        "$ kubectl get pods -n web\n"
        "NAME                     READY   STATUS             RESTARTS   AGE\n"
        "search-6c9f7b8d4-q8z2m   0/1     ImagePullBackOff   0          12m\n"
        "$ kubectl get events -n web\n"
        "LAST SEEN   TYPE      REASON   OBJECT                       MESSAGE\n"
        '2m          Warning   Failed   pod/search-6c9f7b8d4-q8z2m   Failed to pull image "ghcr.io/acme/search:2.4.9": '
        'rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/acme/search:2.4.9": failed to '
        'resolve reference "ghcr.io/acme/search:2.4.9": ghcr.io/acme/search:2.4.9: not found\n'
    )
    (f,) = analyze(load_any(_write(tmp_path, "t.txt", text)))["findings"]
    assert f["cause"] == "image-pull-not-found"
    commands = [r["command"] for r in f["remediation"]] + [m["how"] for m in f["missing_evidence"]]
    assert not [c for c in commands if "?" in c], commands
    assert any("<CONTAINER>=<EXISTING_REF>" in c.replace("'", "") for c in commands)


def test_a_folder_of_files_logs_named_by_pod_and_container(tmp_path: Path) -> None:
    folder = tmp_path / "ticket"
    folder.mkdir()
    (folder / "pod.txt").write_text(DESCRIBE_CRASH)
    (folder / "api-7d9f8c6b5d-x2kq9-api-previous.log").write_text(SPRING_LOG)
    (folder / "notes.md").write_text("customer says nothing changed\n")
    d = load_any(folder)
    assert d.format == FORMAT
    assert d["logs"][["pod", "container", "previous"]].values.tolist() == [["api-7d9f8c6b5d-x2kq9", "api", True]]
    assert {p.file for p in d.problems} == {"notes.md"}


def test_stale_events_about_gone_pods_never_outvote_the_live_pod(tmp_path: Path) -> None:
    """An events table from `-A` still holds last week's OOM kills of a pod that is gone; the live pod runs."""
    text = """\
$ kubectl get pods -n billing
NAME                               READY   STATUS    RESTARTS   AGE
invoice-service-6c9f7b8d4-q8z2m    1/1     Running   0          3d2h
$ kubectl get events -A
NAMESPACE   LAST SEEN   TYPE      REASON      OBJECT                                MESSAGE
billing     6d          Warning   OOMKilling  node/worker-01                        Memory cgroup out of memory: Killed process 4412 (java)
billing     6d          Warning   BackOff     pod/invoice-service-7b5d9c6f8-k2j4x   Back-off restarting failed container invoice in pod invoice-service-7b5d9c6f8-k2j4x_billing(2d1f)
billing     3d2h        Normal    Scheduled   pod/invoice-service-6c9f7b8d4-q8z2m   Successfully assigned billing/invoice-service-6c9f7b8d4-q8z2m to worker-02
"""
    d = load_any(_write(tmp_path, "t.txt", text))
    ev = d["events"].set_index("reason")
    assert ev.loc["BackOff", "last_seen"] < pd.Timestamp(d.collected_at) - pd.Timedelta(days=5)
    assert analyze(d)["findings"] == []


def test_node_describe_and_tables_give_architectures(tmp_path: Path) -> None:
    text = """\
$ kubectl get nodes -L kubernetes.io/arch
NAME                      STATUS                     ROLES    AGE   VERSION   ARCH
ip-10-0-1-5.internal      Ready                      <none>   12d   v1.29.3   amd64
ip-10-0-9-8.internal      Ready,SchedulingDisabled   <none>   2d    v1.29.3   arm64
$ kubectl top nodes
NAME                   CPU(cores)   CPU%   MEMORY(bytes)   MEMORY%
ip-10-0-1-5.internal   230m         5%     2100Mi          30%
$ kubectl get pvc -A
NAMESPACE   NAME    STATUS    VOLUME   CAPACITY   ACCESS MODES   STORAGECLASS   AGE
shop        data    Pending                                      fast-ssd       4m
"""
    d = load_any(_write(tmp_path, "nodes.txt", text))
    n = d["nodes"].set_index("node")
    assert n.loc["ip-10-0-9-8.internal", "arch"] == "arm64" and bool(n.loc["ip-10-0-9-8.internal", "unschedulable"])
    assert n.loc["ip-10-0-1-5.internal", "kubelet_version"] == "v1.29.3"
    assert {"get nodes", "get top", "get pvc"} <= set(d.meta["shapes"])
    assert any(g["what"] == "no kubectl describe of pods" for g in d.gaps)
    assert "file modification time" in d.meta["collected_at_source"]


# --- real pastes from public issues ----------------------------------------------------------------


def _fixture(name: str) -> Any:
    p = FIXTURES / name
    assert detect(p).format == FORMAT
    return load_any(p)


def test_real_pending_pod_without_events_is_unschedulable() -> None:
    d = _fixture("microk8s-483-describe-pending.txt")
    pod = d["pods"].iloc[0]
    assert (pod["namespace"], pod["phase"], pod["scheduled"]) == ("kube-system", "Pending", "False")
    (f,) = analyze(d)["findings"]
    assert f["cause"] == "unschedulable" and f["workload"]["name"] == "kubernetes-dashboard"
    assert any(m["what"] == "the scheduler's message" for m in f["missing_evidence"])


def test_real_get_pods_row_with_oomkilled_status() -> None:
    d = _fixture("hmcts-28772-get-pods-oomkilled.txt")
    c = d["containers"].iloc[0]
    assert (c["restart_count"], c["last_reason"]) == (4, "OOMKilled")
    (f,) = analyze(d)["findings"]
    assert (f["cause"], f["workload"]["kind"], f["workload"]["name"]) == (
        "oom-killed",
        "Deployment",
        "tax-tribunals-application-base",
    )
    # a table row shows neither the container's name nor its limits: the finding claims neither
    assert "memory limit not shown" in f["summary"] and "no memory limit set" not in f["summary"]
    commands = [m["how"] for m in f["missing_evidence"]] + [r["command"] for r in f["remediation"]]
    assert commands and not [c for c in commands if " -c " in c or "?" in c], commands


def test_real_pre_114_events_table() -> None:
    d = _fixture("k8s-29838-events-lastseen.txt")
    ev = d["events"]
    assert ev["reason"].tolist() == ["Scheduled", "Pulling", "Pulled", "Created"]
    assert ev["container"].tolist()[1:] == ["nginx"] * 3
    assert set(ev["source_component"]) == {"default-scheduler", "kubelet"}
    assert ev["source_host"].dropna().unique().tolist() == ["kubernetes-minion-group-kcbf"]


def test_real_2015_describe_padded_with_tabs() -> None:
    d = _fixture("k8s-10861-describe-tabs-2015.txt")
    c = d["containers"].iloc[0]
    assert (c["pod"], c["container"], c["restart_count"], c["memory_limit"], c["state"]) == (
        "simmemleak-hra99",
        "simmemleak",
        5,
        "50Mi",
        "running",
    )
    assert d["pods"].iloc[0]["node"] == "kubernetes-minion-tf0f"
    assert d.collected_at == "2015-07-07T19:54:41Z"


def test_real_describe_waiting_in_errimagepull() -> None:
    d = _fixture("kubenow-368-describe-errimagepull.txt")
    c = d["containers"].iloc[0]
    assert (c["waiting_reason"], c["memory_limit"], bool(c["has_liveness_probe"])) == ("ErrImagePull", "170Mi", True)
    # the registry's answer is not in the paste: no pull cause is claimed without it
    assert not [f for f in analyze(d)["findings"] if f["cause"].startswith("image-pull")]


def test_real_init_container_config_error_from_table_and_describe() -> None:
    d = _fixture("iks-handson-7-init-configerror.txt")
    c = d["containers"].iloc[0]
    assert (c["container"], bool(c["init"]), c["waiting_reason"]) == (
        "init-myservice",
        True,
        "CreateContainerConfigError",
    )
    assert d["pods"]["pod"].tolist() == ["sample-mychart-6bfc89db65-j9g9z"]  # the table row and describe are one pod
    (f,) = analyze(d)["findings"]
    assert f["cause"] == "missing-config"


# --- the command, as a user meets it --------------------------------------------------------------


def test_cli_reads_a_ticket_file_and_refuses_prose(tmp_path: Path) -> None:
    ticket = _write(tmp_path, "ticket.txt", "$ kubectl describe pod api-7d9f8c6b5d-x2kq9 -n web\n" + DESCRIBE_CRASH)
    run = subprocess.run(
        [sys.executable, "-m", "forensics", "analyze", str(ticket), "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert '"kubectl-text"' in run.stdout
    prose = _write(tmp_path, "prose.txt", "Our cluster is broken since Monday, please help.\n")
    run = subprocess.run(
        [sys.executable, "-m", "forensics", "analyze", str(prose)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "not a dump this tool reads" in run.stderr


def test_the_scheduling_story_in_text_form_gives_its_expected_findings() -> None:
    """The committed ticket (sample_dumps/scheduling-ticket.txt) is read without kubectl or the dump."""
    expected = yaml.safe_load((SAMPLES / "scheduling" / "expected.yaml").read_text())
    doc = analyze(load_any(SAMPLES / "scheduling-ticket.txt"))
    got = {(f["workload"]["kind"], f["workload"]["namespace"], f["workload"]["name"]): f for f in doc["findings"]}
    want = {
        (e["workload"]["kind"], e["workload"]["namespace"], e["workload"]["name"]): e["cause"]
        for e in expected["findings"]
    }
    assert {k: f["cause"] for k, f in got.items()} == want
    claims = [f for k, f in got.items() if k[1] in ("shop", "cms", "finance", "hr", "reports")]
    assert len(claims) == 5 and all("; claim " in f["summary"] for f in claims)
    # the same objects counted as in the dump (events of the text carry no uid; each is still one event)
    native = analyze(load_dump(SAMPLES / "scheduling"))["dump"]["counts"]
    assert {k: v for k, v in doc["dump"]["counts"].items() if k != "images"} == {
        k: v for k, v in native.items() if k != "images"
    }


def test_describe_gives_the_claims_a_pod_mounts_as_the_dump_does() -> None:
    """describe's `Volumes:` section (`ClaimName:`) is what joins a Pending pod to its own claim's events."""

    def claims(d: Any) -> dict[tuple[str, str], list[str]]:
        p = d["pods"].drop_duplicates(["namespace", "pod"], keep="last")
        return {
            (r.namespace, r.pod): sorted(r.claims)
            for r in p.itertuples()
            if r.claims is not None and r.claims is not pd.NA
        }

    text, native = claims(load_any(SAMPLES / "scheduling-ticket.txt")), claims(load_dump(SAMPLES / "scheduling"))
    assert len(native) >= 5 and text == native


def test_loose_files_with_a_readme_quoting_kubectl_stay_loose_files(tmp_path: Path) -> None:
    folder = tmp_path / "gathered"
    folder.mkdir()
    (folder / "README.txt").write_text("How I got these:\n$ kubectl get pods -A -o yaml > pods.yaml\n")
    (folder / "pods.yaml").write_text("apiVersion: v1\nkind: PodList\nitems: []\n")
    assert detect(folder).format == "loose-files"
    (folder / "describe.txt").write_text(DESCRIBE_CRASH)
    assert detect(folder).format == FORMAT
