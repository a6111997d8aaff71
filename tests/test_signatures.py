"""Tests for forensics.knowledge.signatures against the real error strings in tests/fixtures/realdata."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from forensics.knowledge.signatures import SIGNATURES, Match, scan_bytes, scan_text

REALDATA = Path(__file__).parent / "fixtures" / "realdata"
ERROR_STRINGS = REALDATA / "github-issues" / "error-strings-with-sources.json"
TROUBLESHOOT = REALDATA / "troubleshoot"

ARCH_HINTS = {"arch", "arch-pull", "emulation"}

# Expected (line, signature, dialect, platform) per record, by issue URL, in file order (a URL
# can hold several records). Written by reading each record, not by running the scanner.
EXPECTED: dict[str, list[list[tuple[int, str, str, str | None]]]] = {
    "https://github.com/docker-library/mysql/issues/228": [
        [(1, "exec-format-error", "runc-legacy", None)],  # `panic: standard_init_linux.go...`
    ],
    "https://github.com/k3s-io/k3s/issues/2419": [[(1, "exec-format-error", "runc-legacy", None)]],
    "https://github.com/containerd/containerd/issues/5854": [[(1, "exec-format-error", "runc-legacy", None)]],
    "https://github.com/combor/k8s-mongo-labeler-sidecar/issues/14": [[(1, "exec-format-error", "runc-legacy", None)]],
    "https://github.com/kubernetes/node-problem-detector/issues/797": [[(1, "exec-format-error", "runc", None)]],
    "https://github.com/deliveryhero/helm-charts/issues/532": [[(1, "exec-format-error", "shell", None)]],
    "https://github.com/aquasecurity/tracee/issues/2757": [[(1, "exec-format-error", "runc", None)]],
    "https://github.com/siderolabs/talos/issues/11268": [
        [(1, "exec-format-error", "runc", None), (2, "exec-format-error", "runc", None)]
    ],
    "https://github.com/replicatedhq/chartsmith/pull/69": [[(2, "exec-format-error", "runc", None)]],
    "https://github.com/nigelpoulton/TheK8sBook/issues/46": [
        [(2, "exec-format-error", "runc", None)],  # after kubectl's "Defaulted container" line
        [],  # describe events: Scheduled/Pulled/Created/Started only
    ],
    "https://github.com/jeroenjanssens/dsutils/issues/8": [[(1, "exec-format-error", "crun", None)]],
    "https://github.com/podman-container-tools/podman/pull/8237": [[(1, "exec-format-error", "crun", None)]],
    "https://github.com/moby/moby/issues/10668": [[(1, "exec-format-error", "docker-daemon", None)]],
    "https://github.com/sickcodes/dock-droid/issues/16": [
        [
            (1, "platform-mismatch-warning", "docker", "linux/arm64/v8"),
            (2, "exec-format-error", "runc", None),
        ]
    ],
    "https://github.com/docker/for-mac/issues/6657": [[(1, "qemu-signal", "qemu", None)]],
    "https://github.com/IvanJosipovic/OIDC-Guard/issues/130": [[(1, "rosetta-error", "rosetta", None)]],
    "https://github.com/docker/for-mac/issues/6973": [[(1, "rosetta-error", "rosetta", None)]],
    "https://github.com/kubernetes-up-and-running/kuard/issues/34": [[]],
    "https://github.com/kubernetes/kubernetes/issues/113215": [[]],
    "https://github.com/kubewarden/adm-controller/issues/1378": [[(1, "no-match-platform", "containerd", None)]],
    "https://github.com/FoundationDB/fdb-kubernetes-operator/issues/2294": [
        [(1, "no-match-platform", "containerd", None)]  # `Error: ErrImagePull` and the table: nothing
    ],
    "https://github.com/rancher/rancher/issues/32340": [[(1, "no-match-platform", "containerd", None)]],
    "https://github.com/containerd/containerd/issues/6989": [[(1, "no-match-platform", "containerd", None)]],
    "https://github.com/containerd/containerd/pull/2410": [
        [(1, "no-match-platform", "containerd-legacy", "linux/arm/v7")]
    ],
    "https://github.com/docker-library/official-images/issues/11021": [[(1, "no-match-platform", "containerd", None)]],
    "https://github.com/cilium/image-tools/issues/61": [
        [(2, "no-match-platform", "docker", "linux/arm/v7")]  # the Failed pull line of the table
    ],
    "https://github.com/kube-rbac-proxy/kube-rbac-proxy/issues/79": [
        [(1, "no-match-platform", "docker", "linux/arm64/v8")]
    ],
    "https://github.com/moby/moby/issues/46765": [[(1, "no-match-platform", "docker", "linux/arm64/v8")]],
    "https://github.com/moby/moby/issues/39201": [[(1, "no-match-platform", "docker", "linux/arm64/unknown")]],
    "https://github.com/moby/moby/issues/39600": [[(1, "no-match-platform", "docker", "linux/amd64")]],
    "https://github.com/containers/image/issues/1100": [
        [(1, "no-match-platform", "cri-o", "linux/arm64/v8")]  # not fatal-log, despite FATA[0000]
    ],
    "https://github.com/cri-o/cri-o/issues/8283": [[(1, "no-match-platform", "cri-o", "linux/arm64/v8")]],
    "https://github.com/cri-o/cri-o/issues/6457": [[(1, "no-match-platform", "cri-o", "linux/amd64")]],
    "https://github.com/cri-o/cri-o/issues/3626": [[(1, "no-match-platform", "cri-o", "linux/arm/v8")]],
    "https://github.com/kubernetes-sigs/sig-windows-tools/issues/100": [[]],  # no reason in the table
    "https://github.com/microsoft/mindaro/issues/53": [[(1, "windows-os-mismatch", "docker", None)]],
    "https://github.com/kubernetes/kubernetes/issues/74019": [[(1, "windows-os-mismatch", "hcs", None)]],
    "https://github.com/NixOS/nixpkgs/issues/414683": [[(1, "no-unpack-platforms", "containerd", None)]],
    "https://github.com/kubernetes/kubernetes/issues/115199": [[]],  # imageID note
    "https://github.com/kubernetes/kubernetes/issues/88835": [[]],  # containerStatuses YAML
    "https://github.com/kubernetes/kube-state-metrics/issues/1861": [
        [(6, "runtime-start-failed", "runtime", None)]  # the `message:` line of the StartError YAML
    ],
}


def _records() -> list[tuple[str, int, str]]:
    by_url: dict[str, int] = defaultdict(int)
    out = []
    for rec in json.loads(ERROR_STRINGS.read_text()):
        out.append((rec["url"], by_url[rec["url"]], rec["text"]))
        by_url[rec["url"]] += 1
    return out


RECORDS = _records()


def _brief(matches: list[Match]) -> list[tuple[int, str, str, str | None]]:
    return [(m.line, m.signature, m.dialect, m.platform) for m in matches]


def test_every_record_has_an_expectation() -> None:
    assert len(RECORDS) == 42
    counts: dict[str, int] = defaultdict(int)
    for url, _, _ in RECORDS:
        counts[url] += 1
    assert counts == {url: len(v) for url, v in EXPECTED.items()}


@pytest.mark.parametrize(
    ("url", "nth", "text"), RECORDS, ids=[f"{u.split('github.com/')[1]}#{n}" for u, n, _ in RECORDS]
)
def test_real_error_strings(url: str, nth: int, text: str) -> None:
    expected = EXPECTED[url][nth]
    matches = scan_text(text)
    assert _brief(matches) == expected
    lines = text.split("\n")
    for m in matches:
        assert m.text == lines[m.line - 1].strip()
        assert m.hint == next(s.hint for s in SIGNATURES if (s.id, s.dialect) == (m.signature, m.dialect))


# Records that are not arch error lines: event tables without a pull failure, imageID notes,
# status YAML, and a StartError about a cgroup mount.
NOT_ARCH = {
    ("https://github.com/kubernetes-up-and-running/kuard/issues/34", 0),
    ("https://github.com/nigelpoulton/TheK8sBook/issues/46", 1),
    ("https://github.com/kubernetes/kubernetes/issues/113215", 0),
    ("https://github.com/kubernetes-sigs/sig-windows-tools/issues/100", 0),
    ("https://github.com/kubernetes/kubernetes/issues/115199", 0),
    ("https://github.com/kubernetes/kubernetes/issues/88835", 0),
    ("https://github.com/kubernetes/kube-state-metrics/issues/1861", 0),
}


def test_non_error_records_give_no_arch_match() -> None:
    quiet = [t for u, n, t in RECORDS if (u, n) in NOT_ARCH]
    assert len(quiet) == len(NOT_ARCH)
    for text in quiet:
        assert not [m for m in scan_text(text) if m.hint in ARCH_HINTS]
    others = [t for u, n, t in RECORDS if (u, n) not in NOT_ARCH]
    # a Windows node refusing a Linux image is a platform (OS) error, not an architecture one
    platform_hints = (*ARCH_HINTS, "os")
    assert all(any(m.hint in platform_hints for m in scan_text(t)) for t in others if "no unpack" not in t)


def _events(name: str) -> list[tuple[str, str]]:
    items = json.loads((TROUBLESHOOT / name).read_text())["items"]
    return [(it["reason"], it["message"]) for it in items]


def test_troubleshoot_event_messages() -> None:
    pull = _events("events-message-image-pull-fail.json")
    hits = {i: scan_text(msg) for i, (_, msg) in enumerate(pull)}
    assert {i: [m.signature for m in ms] for i, ms in hits.items() if ms} == {2: ["pull-tls"]}
    assert pull[2][0] == "Failed"

    crash = _events("events-message-pod-init-crashloop-backoff.json")
    hits = {i: scan_text(msg) for i, (_, msg) in enumerate(crash)}
    found = {i: [(m.signature, m.dialect, m.hint) for m in ms] for i, ms in hits.items() if ms}
    expected = [("executable-not-found", "runc", "command-not-found")]
    # the same bundle's FailedMount events are the kubelet's volume manager giving up (#13)
    assert found == {
        4: expected,
        13: expected,
        15: [("volume-mount", "kubelet", "volume-mount")],
        16: [("volume-mount", "kubelet", "volume-mount")],
    }
    assert hits[4][0].text == crash[4][1]


def test_troubleshoot_pod_status_messages() -> None:
    def statuses(name: str) -> list[dict]:
        pod = json.loads((TROUBLESHOOT / name).read_text())["items"][0]["status"]
        return pod.get("initContainerStatuses", []) + pod["containerStatuses"]

    pull = statuses("pods-message-image-pull-fail.json")[0]["state"]["waiting"]["message"]
    assert [m.signature for m in scan_text(pull)] == ["pull-tls"]

    crash = statuses("pods-message-pod-crashloop-backoff.json")[0]
    assert scan_text(crash["state"]["waiting"]["message"]) == []  # back-off text names no cause
    term = scan_text(crash["lastState"]["terminated"]["message"])
    assert [(m.line, m.signature) for m in term] == [(1, "executable-not-found")]

    init = statuses("pods-message-pod-init-crashloop-backoff.json")[0]
    assert [m.signature for m in scan_text(init["state"]["waiting"]["message"])] == ["executable-not-found"]


# One constructed line per (id, dialect), in the shape the real strings show.
# Covers every entry of SIGNATURES, so a pattern whose prefilter needle is missing fails here.
EXAMPLES: dict[tuple[str, str], str] = {
    ("dependency-unreachable", "app"): "could not connect to hana: connection to db cannot be established: -10709: "
    "Connect failed (connect timeout expired)",
    ("dependency-unreachable", "go-net"): 'Get "https://10.43.0.1:443/version": dial tcp 10.43.0.1:443: i/o timeout',
    ("cli-usage", "cobra"): 'Error: unknown command "server-junk" for "velero"',
    ("cli-usage", "go-flag"): "flag provided but not defined: -listen",
    ("cli-usage", "argparse"): "manage.py: error: unrecognized arguments: --bind 0.0.0.0",
    ("cli-usage", "argparse-usage"): "usage: manage.py [-h] [--port PORT]",
    ("pull-network", "go-net-timeout"): 'Failed to pull image "r.example/app:1": Get "https://r.example/v2/": '
    "net/http: TLS handshake timeout",
    ("pull-rate-limit", "registry"): 'Failed to pull image "nginx": toomanyrequests: You have reached your pull '
    "rate limit.",
    ("volume-mount", "kubelet"): 'MountVolume.SetUp failed for volume "host" : hostPath type check failed: '
    "/var/lib/collectd is not a directory",
    ("volume-mount", "attach-detach"): 'AttachVolume.Attach failed for volume "pvc-1" : rpc error: code = '
    "DeadlineExceeded",
    ("volume-mount", "kubelet-mount"): 'MountVolume.MountDevice failed for volume "pvc-1" : rpc error',
    ("volume-mount", "scheduler"): "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.",
    ("fork-exec-format-error", "go"): 'error="fork/exec /plugins/aws-x86: exec format error"',
    (
        "fork-exec-format-error",
        "java",
    ): 'java.io.IOException: Cannot run program "/opt/x": error=8, Exec format error',
    ("exec-format-error", "runc-legacy"): (
        'container_linux.go:349: starting container process caused "exec: \\"/entry.sh\\": exec format error"'
    ),
    ("exec-format-error", "crun"): "Error: exec container process `/app`: Exec format error",
    ("exec-format-error", "shell"): "/bin/sh: 1: exec: /app: Exec format error",
    ("exec-format-error", "docker-daemon"): "Cannot start container abc123: exec format error",
    ("exec-format-error", "python"): "OSError: [Errno 8] Exec format error: '/usr/local/bin/tool'",
    ("exec-format-error", "runc"): "exec /usr/bin/app: exec format error",
    ("exec-format-error", "unknown"): "Error: exec format error",
    ("platform-mismatch-warning", "docker"): (
        "WARNING: The requested image's platform (linux/arm64) does not match the detected host platform"
        " (linux/amd64) and no specific platform was requested"
    ),
    ("no-match-platform", "docker"): "no matching manifest for linux/s390x in the manifest list entries",
    (
        "no-match-platform",
        "containerd-legacy",
    ): "no match for current platform linux/arm64 in manifest sha256:ab: not found",
    ("no-match-platform", "containerd"): "no match for platform in manifest: not found",
    ("no-match-platform", "cri-o"): (
        'choosing image instance: no image found in image index for architecture arm64, variant "", OS linux'
    ),
    ("windows-os-mismatch", "docker"): 'image operating system "windows" cannot be used on this platform',
    (
        "windows-os-mismatch",
        "hcs",
    ): "The container operating system does not match the host operating system.",
    ("no-unpack-platforms", "containerd"): "unable to initialize unpacker: no unpack platforms defined",
    ("qemu-signal", "qemu"): "qemu: uncaught target signal 4 (Illegal instruction) - core dumped",
    ("rosetta-error", "rosetta"): "rosetta error: failed to open elf at /lib64/ld-linux-x86-64.so.2",
    ("executable-not-found", "runc"): (
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create"
        ' failed: unable to start container process: exec: "x": executable file not found in $PATH: unknown'
    ),
    ("executable-not-found", "crun"): "executable file `wge` not found in $PATH: No such file or directory",
    ("executable-not-found", "runtime"): (
        "OCI runtime create failed: runc create failed: unable to start container process: error during"
        " container init: open /dev/null: no such file or directory: unknown"
    ),
    ("executable-not-found", "shell"): "/bin/sh: 1: wge: not found",
    ("config-missing", "kubelet"): 'Error: configmap "app-config" not found',
    ("pull-auth", "docker"): (
        "Error response from daemon: pull access denied for private/app, repository does not exist"
        " or may require 'docker login': denied: requested access to the resource is denied"
    ),
    ("pull-auth", "registry"): "Error response from daemon: unauthorized: authentication required",
    ("pull-auth", "http"): (
        'Failed to pull image "reg.example/app:1": failed to fetch anonymous token: unexpected status: 401 Unauthorized'
    ),
    (
        "pull-not-found",
        "registry",
    ): "manifest for nginx:no-such-tag not found: manifest unknown: manifest unknown",
    ("pull-not-found", "containerd"): (
        'failed to resolve reference "docker.io/library/nginx:nope": docker.io/library/nginx:nope: not found'
    ),
    ("pull-not-found", "docker"): "Error response from daemon: repository does not exist",
    ("pull-tls", "go-tls"): (
        'Failed to pull image "r.example/a": Get "https://r.example/v2/": x509: certificate signed by unknown authority'
    ),
    ("pull-network", "go-net"): (
        'Failed to pull image "r.example/a": Get "https://r.example/v2/": dial tcp: lookup r.example: no such host'
    ),
    ("pull-failed", "kubelet"): 'Failed to pull image "r.example/a": rpc error: code = Unknown desc = EOF',
    ("runtime-start-failed", "runtime"): "failed to create containerd task: failed to create shim task: EOF",
    ("probe-failed", "liveness"): "Liveness probe failed: HTTP probe failed with statuscode: 500",
    (
        "probe-failed",
        "readiness",
    ): 'Readiness probe failed: Get "http://10.0.0.5:8080/ready": context deadline',
    ("probe-failed", "startup"): "Startup probe failed: dial tcp 10.0.0.5:8080: connect: connection refused",
    ("oom", "kernel"): "Out of memory: Killed process 4242 (java) total-vm:4102232kB",
    ("oom", "java"): 'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space',
    ("oom", "go"): "fatal error: runtime: out of memory",
    ("oom", "node"): "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
    ("oom", "python"): "MemoryError",
    ("oom", "shell"): "Killed",
    ("go-panic", "go"): "panic: runtime error: invalid memory address or nil pointer dereference",
    ("go-panic", "go-runtime"): "fatal error: concurrent map writes",
    ("python-traceback", "python"): "Traceback (most recent call last):",
    ("java-exception", "java"): 'Exception in thread "main" java.lang.IllegalStateException: no config',
    ("segfault", "shell"): "Segmentation fault (core dumped)",
    ("segfault", "kernel"): "app[4242]: segfault at 0 ip 000055d5 sp 00007ffd error 4 in app[55d5+1000]",
    ("node-error", "node"): "Error: Cannot find module '/app/server.js'",
    ("fatal-log", "structured"): '{"level":"fatal","msg":"cannot open database"}',
    ("fatal-log", "logrus"): "FATA[0000] cannot start: bad flag",
    ("fatal-log", "plain"): "2026-11-22 05:07:58 FATAL [main] cannot bind :8080",
    ("oom", "runc"): "runc create failed: unable to start container process: container init was OOM-killed "
    "(memory limit too low?): unknown",
    ("pull-network", "dns"): 'failed to pull and unpack image "r.example/a:1": failed to resolve reference '
    '"r.example/a:1": failed to do request: Head "https://r.example/v2/a/manifests/1": '
    "dial tcp: lookup r.example: Temporary failure in name resolution",
    ("spring-boot-failed", "spring-boot"): "ERROR 1 --- [main] o.s.boot.SpringApplication : Application run failed",
}


# the exec-format family's wordings, each with the public thread or source file it comes from
EXEC_FAMILY = json.loads(
    (Path(__file__).parent / "fixtures" / "realdata" / "github-issues" / "exec-family-strings.json").read_text()
)
for _rec in EXEC_FAMILY:
    EXAMPLES.setdefault((_rec["signature"], _rec["dialect"]), _rec["text"].strip())
# an interpreter that is not in the image at all (alpine has no bash): not a line-ending problem
EXAMPLES[("bad-interpreter", "shell")] = (
    "/bin/sh: /entrypoint.sh: /bin/bash: bad interpreter: No such file or directory"
)


@pytest.mark.parametrize("rec", EXEC_FAMILY, ids=lambda r: r["url"].rsplit("/", 3)[-3] + "-" + r["dialect"])
def test_exec_family_real_wordings(rec: dict[str, str]) -> None:
    """Every real wording of the exec-format family names its signature, dialect and hint."""
    (m,) = scan_text(rec["text"])
    assert (m.signature, m.dialect, m.hint) == (rec["signature"], rec["dialect"], rec["hint"])
    assert m.text == rec["text"].strip()


def test_platforms_named_by_pull_errors() -> None:
    by_text = {r["text"].strip(): r for r in EXEC_FAMILY}
    plat = {t: scan_text(t)[0].platform for t in by_text}
    assert plat['Image architecture mismatch: image uses "amd64", expecting "arm64"'] == "linux/arm64/v8"
    assert plat["no child with platform linux/amd64 in index"] == "linux/amd64"
    assert plat["no matching manifest for windows/amd64 10.0.17763 in the manifest list entries"] == "windows/amd64"
    assert [m.platform for m in scan_text(next(t for t in by_text if t.startswith('Container "app"')))] == [
        "linux/arm64/v8"
    ]


def test_operator_reasons_and_labels() -> None:
    from forensics.knowledge.signatures import label_signatures, reason_signatures

    (m,) = reason_signatures("ExecFormatError", "a reworded message")
    assert (m.signature, m.hint) == ("exec-format-error", "arch") and m.text.startswith("ExecFormatError: ")
    assert reason_signatures("BackOff", "Back-off restarting failed container") == []
    labels = {
        "multiarch.openshift.io/exec-format-error": "true",
        "multiarch.openshift.io/single-arch": "",
        "multiarch.openshift.io/amd64": "",
    }
    assert [(m.signature, m.hint) for m in label_signatures(labels)] == [("exec-format-error", "arch")]
    assert label_signatures({"multiarch.openshift.io/exec-format-error": "false"}) == []


def test_examples_cover_every_signature() -> None:
    assert set(EXAMPLES) == {(s.id, s.dialect) for s in SIGNATURES}


@pytest.mark.parametrize(("key", "line"), list(EXAMPLES.items()), ids=[f"{k[0]}/{k[1]}" for k in EXAMPLES])
def test_each_signature_matches_its_example(key: tuple[str, str], line: str) -> None:
    text = f"starting\n{line}\nbye\n"
    matches = scan_text(text)
    assert [(m.line, m.signature, m.dialect, m.text) for m in matches] == [(2, key[0], key[1], line)]


@pytest.mark.parametrize(
    ("line", "sig", "dialect"),
    [
        ("bash: ./busybox: cannot execute binary file: Exec format error", "exec-format-error", "shell"),
        ("exec container process '/bin/sh': Exec format error", "exec-format-error", "crun"),
        (
            'panic: standard_init_linux.go:175: exec user process caused "exec format error"',
            "exec-format-error",
            "runc-legacy",
        ),
        ("Container web failed liveness probe, will be restarted", "probe-failed", "liveness"),
        ("Readiness probe errored: rpc error: code = Unknown", "probe-failed", "readiness"),
        ('Error: secret "db-pass" not found', "config-missing", "kubelet"),
        ("Error: couldn't find key DB_HOST in ConfigMap default/app", "config-missing", "kubelet"),
        ("Error: couldn't find key token in Secret default/creds", "config-missing", "kubelet"),
        ("denied: requested access to the resource is denied", "pull-auth", "registry"),
        (
            'failed to resolve reference "r/a:1": unexpected status from HEAD request: 403 Forbidden',
            "pull-auth",
            "http",
        ),
        (
            "rpc error: code = NotFound desc = failed to pull and unpack image: not found: manifest unknown",
            "pull-not-found",
            "registry",
        ),
        ('time="2026-11-22T05:07:58Z" level=fatal msg="exiting"', "fatal-log", "structured"),
        ("/entrypoint.sh: line 7:    42 Killed                  java -jar app.jar", "oom", "shell"),
        ("2026-11-22T05:07:58.123456789Z stderr F panic: boom", "go-panic", "go"),
        ("2026-11-22T05:07:58.123Z Traceback (most recent call last):", "python-traceback", "python"),
        ("/bin/bash: line 1: wge: command not found", "executable-not-found", "shell"),
        ("qemu: uncaught target signal 11 (Segmentation fault) - core dumped", "qemu-signal", "qemu"),
    ],
)
def test_dialect_variants(line: str, sig: str, dialect: str) -> None:
    assert [(m.signature, m.dialect) for m in scan_text(line)] == [(sig, dialect)]


def test_pull_platform_error_is_not_pull_not_found() -> None:
    (m,) = scan_text('failed to pull and unpack image "docker.io/a/b:1": no match for platform in manifest: not found')
    assert (m.signature, m.hint) == ("no-match-platform", "arch-pull")


def test_fork_exec_is_the_application_not_the_runtime() -> None:
    text = 'level=error msg="plugin failed" error="fork/exec /plugins/x: exec format error"'
    (m,) = scan_text(text)
    assert (m.signature, m.dialect, m.hint) == ("fork-exec-format-error", "go", "app-exec")
    assert not [m for m in scan_text(text) if m.signature == "exec-format-error"]


@pytest.mark.parametrize(
    "line",
    [
        '10.0.0.7 - - [22/Nov/2026:05:07:58 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"',
        "the exec format is documented in the ELF specification",
        "how to avoid exec format errors when building images",
        "GET /api/v1/items/42 404 Not Found",
        "worker 3 killed the idle connection",
        "retrying after a non-fatal error",
        'level=info msg="pulled image" image=nginx 401 bytes',
        'Successfully pulled image "nginx" in 2.6s',
        "x509: certificate has expired or is not yet valid",  # the app's own TLS, not a pull
    ],
)
def test_ordinary_lines_do_not_match(line: str) -> None:
    assert scan_text(line) == []


def test_line_numbers() -> None:
    lines = [
        "starting server",  # 1
        "exec /app: exec format error",  # 2
        "",  # 3
        "GET /healthz 200",  # 4
        "Traceback (most recent call last):",  # 5
        '  File "/app/main.py", line 3, in <module>',  # 6
        "panic: boom",  # 7, last line without newline
    ]
    text = "\r\n".join(lines)
    got = [(m.line, m.signature, m.text) for m in scan_text(text)]
    assert got == [
        (2, "exec-format-error", "exec /app: exec format error"),
        (5, "python-traceback", "Traceback (most recent call last):"),
        (7, "go-panic", "panic: boom"),
    ]


def test_line_numbers_when_lowercasing_changes_length() -> None:
    # "İ" lower-cases to two code points, so the scanner takes its case-insensitive path
    text = "İstanbul node\nok\nİİİ\nEXEC /app: EXEC FORMAT ERROR\nexec /b: exec format error\n"
    assert len(text.lower()) != len(text)
    assert [(m.line, m.signature) for m in scan_text(text)] == [
        (4, "exec-format-error"),
        (5, "exec-format-error"),
    ]


def test_first_line_and_repeated_hits_on_one_line() -> None:
    text = "exec /a: exec format error exec /b: exec format error\nexec /c: exec format error"
    assert [m.line for m in scan_text(text)] == [1, 2]


def test_max_matches() -> None:
    text = "\n".join(f"exec /bin/app{i}: exec format error" for i in range(100))
    matches = scan_text(text, max_matches=5)
    assert [m.line for m in matches] == [1, 2, 3, 4, 5]
    assert len(scan_text(text)) == 50
    assert scan_text(text, max_matches=0) == []


def test_large_log_without_signatures() -> None:
    line = '10.0.0.7 - - [22/Nov/2026:05:07:58 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"\n'
    text = line * (5 * 1024 * 1024 // len(line) + 1)
    assert len(text) > 5 * 1024 * 1024
    assert scan_text(text) == []
    tail = text + "exec /app: exec format error\n"
    (m,) = scan_text(tail)
    assert m.line == text.count("\n") + 1


def test_long_line_is_capped() -> None:
    line = "exec /app: exec format error " + "x" * 5000
    (m,) = scan_text(line)
    assert len(m.text) == 500
    assert m.text.startswith("exec /app: exec format error")


def test_scan_bytes_invalid_utf8() -> None:
    data = b"ok\n\xff\xfe garbage \xc3\n/bin/sh: 1: exec: /x: Exec format error\n"
    matches, bad = scan_bytes(data)
    assert bad is True
    assert [(m.line, m.dialect) for m in matches] == [(3, "shell")]

    matches, bad = scan_bytes("héllo\nexec /x: exec format error\n".encode())
    assert bad is False
    assert [m.line for m in matches] == [2]


def test_html_is_kept_verbatim() -> None:
    line = "exec /<script>alert(1)</script>: exec format error"
    (m,) = scan_text(f"<b>hi</b>\n{line}\n")
    assert m.text == line
    assert m.line == 2
