"""Known error signatures in container logs, termination/waiting messages and event messages.

Every line of text the analyzer reads from a pod (current and previous logs,
`lastState.terminated.message`, `state.waiting.message`) and from events is scanned for
lines that name a known cause. A hit is a `Match`: the 1-based line number, the signature id,
the *dialect* (which program printed it: runc, crun, a shell, containerd, CRI-O, the kubelet...)
and the hint (the cause it points to). Dialects matter because the same failure reads
differently per runtime and version, e.g. `exec format error`:

    runc <  1.1   standard_init_linux.go:219: exec user process caused: exec format error
    runc >= 1.1   exec /node-problem-detector: exec format error
    crun          exec container process `/usr/bin/zsh`: Exec format error
    dash          /bin/sh: 1: exec: /node-problem-detector: Exec format error

(all from tests/fixtures/realdata/github-issues/error-strings-with-sources.json).

Speed: logs of thousands of containers are scanned, so one combined prefilter regex of cheap
literal anchors runs over the whole text; only lines it hits are tried against the specific
patterns, in priority order (most specific first). A line yields at most one match.

Bounded work: patterns never run on more than `MAX_LINE` characters of a line (its start, and the
part around the prefilter hit), so a crafted megabyte-long line costs what a short one does.

Text is data from a hostile dump: `Match.text` is kept verbatim (stripped and capped);
escaping is the renderer's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from forensics.knowledge.arch import parse_platform

__all__ = [
    "SHARED_HINTS",
    "SIGNATURES",
    "Match",
    "Signature",
    "hints",
    "label_signatures",
    "reason_signatures",
    "scan_bytes",
    "scan_text",
]

MAX_TEXT = 500
MAX_LINE = 2048  # characters of one line the patterns run on (see `_windows`)


@dataclass(frozen=True)
class Signature:
    """One (id, dialect) pattern. Several entries share an id, one per dialect."""

    id: str
    dialect: str
    hint: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Match:
    """One line that matched a signature. `platform` is the platform a pull error or a platform
    warning says the runtime wanted (the node's), normalized like "linux/arm64/v8"."""

    line: int
    signature: str
    dialect: str
    hint: str
    text: str
    platform: str | None = None


# optional prefixes before a line-start pattern: `kubectl logs --timestamps`, and the CRI log
# file format of /var/log/pods (`<ts> stderr F <msg>`)
_LEAD = r"^\s*(?:\d{4}-\d\d-\d\dT\S+\s+)?(?:(?:stdout|stderr)\s+[FP]\s+)?"
# words that put an HTTP status or a TLS/network error in an image pull (not the app's own traffic)
_PULL_CTX = r"^(?=.*?(?:pull|unpack|manifests?\b|/v2/|fetch(?:ing)? (?:image|blob)|resolve reference))"


def _sig(
    sid: str, dialect: str, hint: str, needles: tuple[str, ...], pattern: str, flags: int = 0
) -> tuple[Signature, tuple[str, ...]]:
    """A signature plus its needles: lower-case literals, one of which every line it matches contains."""
    return Signature(sid, dialect, hint, re.compile(pattern, flags)), needles


_I = re.IGNORECASE

# Priority order: the first signature whose pattern matches a candidate line wins.
_TABLE: tuple[tuple[Signature, tuple[str, ...]], ...] = (
    # An application exec'ing a foreign binary itself; must win over the runc form below.
    _sig("fork-exec-format-error", "go", "app-exec", ("exec format",), r"fork/exec \S+: exec format error"),
    _sig(
        "fork-exec-format-error",
        "java",
        "app-exec",
        ("exec format",),
        r"Cannot run program .*error=8, Exec format error",
    ),
    # runc <= 1.0 (and `panic: standard_init_linux.go...` from 2016 Docker), incl. start-time
    # `starting container process caused: exec: "/x": exec format error`
    _sig(
        "exec-format-error",
        "runc-legacy",
        "arch",
        ("exec format",),
        r"(?:exec user process|starting container process) caused.{0,200}?exec format error",
    ),
    _sig(
        "exec-format-error",
        "crun",
        "arch",
        ("exec format",),
        r"exec container process [`'\"]?.*?[`'\"]?: Exec format error",
    ),
    # dash: `/bin/sh: 1: exec: /x: Exec format error`; bash: `cannot execute binary file: ...`
    _sig(
        "exec-format-error",
        "shell",
        "arch",
        ("exec format",),
        r"\b(?:ba|da|z)?sh: (?:line )?\d+: exec: \S+: Exec format error",
    ),
    _sig(
        "exec-format-error",
        "shell",
        "arch",
        ("cannot execute binary",),
        r"cannot execute binary file(?:: Exec format error)?",
    ),
    _sig(
        "exec-format-error",
        "docker-daemon",
        "arch",
        ("exec format",),
        r"Cannot start container \S+: exec format error",
    ),
    _sig("exec-format-error", "python", "arch", ("exec format",), r"OSError: \[Errno 8\] Exec format error"),
    # runc >= 1.1, optionally after a container name (k9s multi-container view); the
    # whitespace-or-start before `exec` keeps `fork/exec` out
    _sig("exec-format-error", "runc", "arch", ("exec format",), r"(?:^|\s)exec \S+: exec format error"),
    _sig("exec-format-error", "runc", "arch", ("exec format",), r"exec: \\?\"[^\"]+\\?\": exec format error"),
    _sig("exec-format-error", "unknown", "arch", ("exec format",), r"[:\"]\s*exec format error\b", _I),
    _sig(
        "platform-mismatch-warning",
        "docker",
        "arch",
        ("requested image's platform",),
        r"requested image's platform \((?P<image>[^)]*)\) does not match the detected host platform"
        r" \((?P<platform>[^)]*)\)",
    ),
    _sig(
        "no-match-platform",
        "docker",
        "arch-pull",
        ("no matching manifest",),
        r"no matching manifest for (?P<platform>[\w./-]+) in the manifest list entries",
    ),
    _sig(
        "no-match-platform",
        "containerd-legacy",
        "arch-pull",
        ("no match for current platform",),
        r"no match for current platform (?P<platform>[\w./-]+) in manifest",
    ),
    _sig(
        "no-match-platform",
        "containerd",
        "arch-pull",
        ("no match for platform",),
        r"no match for platform in manifest",
    ),
    # CRI-O / containers-image, old `variant v8` and new `arm64 ,variant "v8"` wording
    _sig(
        "no-match-platform",
        "cri-o",
        "arch-pull",
        ("no image found in",),
        r"no image found in (?:manifest list|image index) for architecture \"?(?P<arch>[\w-]+)\"?\s*,"
        r"\s*variant \"?(?P<variant>[\w-]*)\"?\s*,\s*OS \"?(?P<os>[\w-]+)\"?",
    ),
    _sig(
        "windows-os-mismatch",
        "docker",
        "os",
        ("operating system",),
        r"image operating system \"?\w+\"? cannot be used on this platform",
    ),
    _sig(
        "windows-os-mismatch",
        "hcs",
        "os",
        ("operating system",),
        r"container operating system does not match the host operating system",
    ),
    # a Windows node asking for its OS build: `no matching manifest for windows/amd64 10.0.17763 ...`
    # (Docker on Windows), and the build check itself (Docker `a Windows version 10.0.20348-based
    # image is incompatible with a 10.0.17763 host`)
    _sig(
        "no-match-platform",
        "docker-windows",
        "os",
        ("no matching manifest",),
        r"no matching manifest for (?P<platform>windows/[\w./-]+) (?P<osversion>\d+\.\d+\.\d+)\S* in the manifest"
        r" list entries",
    ),
    _sig(
        "windows-build-mismatch",
        "docker",
        "os",
        ("-based image is incompatible with",),
        r"Windows version (?P<image_build>\d+\.\d+\.\d+)\S*-based image is incompatible with a"
        r" (?P<host_build>\d+\.\d+\.\d+)\S* host",
    ),
    # Podman/CRI-O (containers/image) when a pulled single manifest is not the wanted arch: the
    # runtime's statement of the image's own architecture, as good as an exec format error
    _sig(
        "image-arch-mismatch",
        "containers-image",
        "arch",
        ("image architecture mismatch",),
        r"Image architecture mismatch: image uses \"?(?P<image>[\w-]+)\"?, expecting \"?(?P<platform>[\w-]+)\"?",
    ),
    # go-containerregistry (crane, ko, Trivy, Kyverno, Apptainer): `no child with platform linux/amd64 in index`
    _sig(
        "no-match-platform",
        "go-containerregistry",
        "arch-pull",
        ("no child with platform",),
        r"no child with platform (?P<platform>[\w./-]+) in index",
    ),
    # the multiarch tuning operator (OpenShift): its ENOEXEC monitor's event, and its pod placement
    # events (openshift/multiarch-tuning-operator pkg/utils/const.go, podplacement/events.go)
    _sig(
        "exec-format-error",
        "multiarch-operator",
        "arch",
        ("not compatible with the node architecture",),
        r"is running a binary \(\\?\"?[^)]*\) that is not compatible with the node architecture"
        r" \((?P<platform>[\w/-]+)\)",
    ),
    _sig(
        "no-supported-arch",
        "multiarch-operator",
        "arch-pull",
        ("no supported architectures in common",),
        r"container images have no supported architectures in common",
    ),
    _sig(
        "arch-inspection-error",
        "multiarch-operator",
        "inspection",
        ("inspecting the container image to determine its supported architectures",),
        r"error while inspecting the container image to determine its supported architectures",
    ),
    # x86-64 microarchitecture level: glibc's loader (RHEL 9 / UBI 9 userlands), the Go runtime's
    # GOAMD64 check, NumPy's baseline check; the bare SIGILL a -march build dies with
    _sig(
        "cpu-level",
        "glibc",
        "microarch",
        ("cpu does not support x86-64-",),
        r"Fatal glibc error: CPU does not support x86-64-(?P<level>v[2-4])",
        _I,
    ),
    _sig(
        "cpu-level",
        "go",
        "microarch",
        ("microarchitecture support",),
        r"This program can only be run on AMD64 processors with (?P<level>v[2-4]) microarchitecture support",
    ),
    _sig(
        "cpu-level",
        "numpy",
        "microarch",
        ("numpy was built with baseline optimizations",),
        r"NumPy was built with baseline optimizations",
    ),
    _sig(
        "no-unpack-platforms",
        "containerd",
        "runtime-config",
        ("no unpack platforms",),
        r"no unpack platforms defined",
    ),
    _sig("qemu-signal", "qemu", "emulation", ("qemu: ",), r"qemu: uncaught target signal \d+"),
    _sig("rosetta-error", "rosetta", "emulation", ("rosetta error",), r"rosetta error: "),
    # runc >= 1.1.5 when the memory cgroup kills the container's init during start: the StartError
    # is an OOM (runc libcontainer/process_linux.go), not a missing or broken entrypoint
    _sig(
        "oom",
        "runc",
        "oom",
        ("oom-killed",),
        r"container init was OOM-killed \(memory limit too low\?\)",
    ),
    # qemu-user could not load the guest's dynamic loader (an amd64 glibc binary in a musl image, or
    # no x86-64 userland at all): `qemu-x86_64: Could not open '/lib64/ld-linux-x86-64.so.2': ...`;
    # with the binfmt `P` flag argv[0] is the handler name (`x86_64-binfmt-P: Could not open ...`)
    _sig(
        "qemu-loader",
        "qemu",
        "emulation",
        ("could not open '",),
        r"(?:^|[\s|])(?:qemu-[\w-]{1,40}|\w{1,40}-binfmt-P): Could not open '[^']{0,400}'",
    ),
    # after qemu's `uncaught target signal 4 (Illegal instruction)`, which wins above
    _sig("illegal-instruction", "shell", "sigill", ("illegal instruction",), r"\bIllegal instruction\b"),
    # the entrypoint script, not the architecture: a CRLF shebang names `bash\r` (GNU env quotes it
    # as 'bash\r'; bash prints `/bin/bash^M: bad interpreter`), runc then says `exec /x: no such file
    # or directory` for a file that exists; a file without the x bit is `permission denied`; a UTF-8
    # BOM before `#!` hides the shebang (then the kernel says exec format error; a shell running the
    # script says `line 1: \ufeff#!/bin/sh: not found`, which must not read as a missing command)
    _sig(
        "shebang-crlf",
        "env",
        "entrypoint",
        ("env: ",),
        r"env: ['\u2018]?[^'\u2019\s]{0,300}(?:\\r|\r)['\u2019]?: No such file or directory",
    ),
    _sig(
        "shebang-crlf",
        "shell",
        "entrypoint",
        ("bad interpreter",),
        r"(?:\^M|\r|\\r): bad interpreter",
    ),
    _sig(
        "bad-interpreter",
        "shell",
        "entrypoint",
        ("bad interpreter",),
        r"(?:^|[\s:])[^\s:]{1,300}: bad interpreter: No such file or directory",
    ),
    _sig(
        "shebang-bom",
        "kernel",
        "entrypoint",
        ("\ufeff#!", "\u00ef\u00bb\u00bf#!", "\ufffd\ufffd\ufffd#!"),
        r"(?:\ufeff|\u00ef\u00bb\u00bf|\ufffd{3})#!",
    ),
    _sig(
        "exec-enoent",
        "runc",
        "entrypoint",
        ("no such file or directory",),
        r"(?:^|\s)exec (?P<path>/\S+): no such file or directory",
    ),
    _sig(
        "exec-eacces",
        "runc",
        "entrypoint",
        ("permission denied",),
        r"(?:^|\s)exec (?P<path>/\S+): permission denied|exec: \\?\"(?P<path2>[^\"\\]+)\\?\": permission denied",
    ),
    # the kubelet's start/config errors, before generic pull and crash patterns
    _sig(
        "executable-not-found",
        "runc",
        "command-not-found",
        ("executable file not found", "no such file"),
        r"exec: \\?\"[^\"]*\\?\": (?:executable file not found in \$PATH|stat \S+: no such file or directory)",
    ),
    _sig(
        "executable-not-found",
        "crun",
        "command-not-found",
        ("executable file `",),
        r"executable file `[^`]*` not found",
    ),
    _sig(
        "executable-not-found",
        "runtime",
        "command-not-found",
        ("no such file",),
        r"(?:OCI runtime (?:create|start|exec) failed|StartError|failed to create (?:containerd task|shim))"
        r".*no such file or directory",
    ),
    # dash `/bin/sh: 1: wge: not found`, bash `/bin/bash: line 1: wge: command not found`
    _sig(
        "executable-not-found",
        "shell",
        "command-not-found",
        (": not found", "command not found"),
        r"\b(?:ba|da|z)?sh: (?:line \d+: |\d+: )?[^:\s]+: (?:command )?not found\s*$",
    ),
    _sig(
        "config-missing",
        "kubelet",
        "missing-config",
        ('" not found', "couldn't find key"),
        r"\b(?:configmaps?|secrets?) \"[^\"]+\" not found|couldn't find key \S+ in (?:ConfigMap|Secret)",
        _I,
    ),
    _sig("pull-auth", "docker", "image-pull-auth", ("pull access denied",), r"pull access denied"),
    _sig(
        "pull-auth",
        "registry",
        "image-pull-auth",
        ("unauthorized: ", "denied: "),
        r"unauthorized: authentication required|denied: requested access to the resource is denied"
        r"|unauthorized: (?:incorrect username or password|access to the requested resource)",
    ),
    _sig(
        "pull-auth",
        "http",
        "image-pull-auth",
        ("401 unauthorized", "403 forbidden"),
        _PULL_CTX + r".*?\b(?:401 Unauthorized|403 Forbidden)\b",
        _I,
    ),
    _sig("pull-not-found", "registry", "image-pull-not-found", ("manifest unknown",), r"manifest unknown"),
    _sig(
        "pull-not-found",
        "containerd",
        "image-pull-not-found",
        ("failed to resolve reference",),
        r"failed to resolve reference \S+: \S+: not found",
    ),
    _sig(
        "pull-not-found",
        "docker",
        "image-pull-not-found",
        ("repository does not exist", "manifest for "),
        r"repository does not exist|manifest for \S+ not found",
    ),
    _sig("pull-tls", "go-tls", "image-pull-tls", ("x509: ",), _PULL_CTX + r".*?\bx509: "),
    # glibc's EAI_AGAIN through Go's resolver: the node cannot resolve the registry (network or DNS),
    # which says nothing about whether the tag exists
    _sig(
        "pull-network",
        "dns",
        "image-pull-network",
        ("temporary failure in name resolution", "server misbehaving"),
        _PULL_CTX + r".*?(?:Temporary failure in name resolution|lookup \S+ on \S+: server misbehaving)",
    ),
    _sig(
        "pull-network",
        "go-net",
        "image-pull-network",
        ("dial tcp",),
        _PULL_CTX + r".*?\bdial tcp\b.*?(?:no such host|i/o timeout|connection refused|network is unreachable)",
    ),
    _sig(
        "pull-network",
        "go-net-timeout",
        "image-pull-network",
        ("tls handshake timeout", "client.timeout", "request canceled", "i/o timeout"),
        _PULL_CTX + r".*?(?:TLS handshake timeout|Client\.Timeout exceeded|request canceled|i/o timeout)",
    ),
    _sig(
        "pull-rate-limit",
        "registry",
        "image-pull-network",
        ("toomanyrequests", "429 too many requests"),
        r"toomanyrequests|429 Too Many Requests",
        _I,
    ),
    _sig("pull-failed", "kubelet", "image-pull", ("failed to pull image",), r"Failed to pull image \S+: \S"),
    # the kubelet's volume manager: a volume that cannot be attached or mounted (a missing ConfigMap or
    # Secret is matched above, as missing-config)
    _sig(
        "volume-mount",
        "kubelet",
        "volume-mount",
        ("hostpath type check failed",),
        r"hostPath type check failed: \S+ is not a",
    ),
    _sig(
        "volume-mount",
        "kubelet",
        "volume-mount",
        ("unable to attach or mount volumes",),
        r"Unable to attach or mount volumes",
    ),
    _sig(
        "volume-mount", "attach-detach", "volume-mount", ("attachvolume.attach failed",), r"AttachVolume\.Attach failed"
    ),
    _sig(
        "volume-mount",
        "kubelet-mount",
        "volume-mount",
        ("mountvolume.",),
        r"MountVolume\.(?:SetUp|MountDevice|WaitForAttach) failed",
    ),
    _sig(
        "volume-mount",
        "scheduler",
        "volume-mount",
        ("unbound", 'persistentvolumeclaim "'),
        r"unbound (?:immediate )?PersistentVolumeClaims|persistentvolumeclaim \"[^\"]+\" not found",
    ),
    _sig(
        "runtime-start-failed",
        "runtime",
        "runtime-start",
        ("oci runtime", "failed to create"),
        r"OCI runtime (?:create|start|exec) failed|failed to create (?:containerd task|shim)",
    ),
    _sig(
        "probe-failed",
        "liveness",
        "probe",
        ("liveness probe",),
        r"Liveness probe (?:failed|errored)|failed liveness probe",
        _I,
    ),
    _sig(
        "probe-failed",
        "readiness",
        "probe",
        ("readiness probe",),
        r"Readiness probe (?:failed|errored)|failed readiness probe",
        _I,
    ),
    _sig(
        "probe-failed",
        "startup",
        "probe",
        ("startup probe",),
        r"Startup probe (?:failed|errored)|failed startup probe",
        _I,
    ),
    _sig(
        "oom",
        "kernel",
        "oom",
        ("out of memory", "oom-kill"),
        r"Out of memory: Kill(?:ed)? process|oom-kill(?:er)?:|invoked oom-killer",
    ),
    _sig("oom", "java", "oom", ("outofmemory",), r"java\.lang\.OutOfMemoryError"),
    _sig("oom", "go", "oom", ("out of memory",), r"fatal error: runtime: out of memory"),
    _sig("oom", "node", "oom", ("out of memory",), r"JavaScript heap out of memory"),
    _sig("oom", "python", "oom", ("memoryerror",), _LEAD + r"MemoryError\b"),
    # the shell's report of a SIGKILLed child: a bare `Killed`, or bash's `line 5:  42 Killed  cmd`
    _sig("oom", "shell", "oom", ("killed",), _LEAD + r"Killed\s*$|\bline \d+:\s+\d+ Killed\b"),
    # a dependency the application needs at start-up does not answer (database, API, service name)
    _sig(
        "dependency-unreachable",
        "app",
        "app-crash",
        (
            "could not connect to",
            "cannot be established",
            "connect failed",
            "econnrefused",
            "enotfound",
            "could not translate host name",
            "name or service not known",
        ),
        r"could not connect to \S+|connection to (?:the )?\S+ cannot be established|Connect failed \("
        r"|\bECONNREFUSED\b|getaddrinfo ENOTFOUND|could not translate host name|Name or service not known",
        _I,
    ),
    _sig(
        "dependency-unreachable",
        "go-net",
        "app-crash",
        ("dial tcp",),
        r"\bdial tcp \S+: (?:connect: )?(?:connection refused|i/o timeout|no route to host)",
    ),
    # command-line usage errors: the binary runs and rejects its arguments (cobra, Go flag, argparse)
    _sig(
        "cli-usage",
        "cobra",
        "app-crash",
        ("error: unknown ",),
        _LEAD + r"Error: unknown (?:command \"[^\"]*\" for|flag:|shorthand flag:)",
    ),
    _sig(
        "cli-usage",
        "go-flag",
        "app-crash",
        ("flag provided but not defined",),
        _LEAD + r"flag provided but not defined: -",
    ),
    _sig(
        "cli-usage",
        "argparse",
        "app-crash",
        (": error: ",),
        _LEAD + r"\S+: error: (?:unrecognized arguments|the following arguments are required|argument \S+: invalid)",
    ),
    _sig("cli-usage", "argparse-usage", "app-crash", ("usage: ",), _LEAD + r"usage: \S+ \[-"),
    _sig("go-panic", "go", "app-crash", ("panic: ",), _LEAD + r"panic: "),
    _sig("go-panic", "go-runtime", "app-crash", ("fatal error: ",), _LEAD + r"fatal error: "),
    _sig(
        "python-traceback",
        "python",
        "app-crash",
        ("traceback (most",),
        _LEAD + r"Traceback \(most recent call last\):",
    ),
    _sig("java-exception", "java", "app-crash", ("exception in thread",), r"Exception in thread \"[^\"]*\""),
    # Spring Boot's SpringApplication logs this when startup fails, then the root cause follows
    _sig("spring-boot-failed", "spring-boot", "app-crash", ("application run failed",), r"\bApplication run failed\b"),
    _sig(
        "java-exception",
        "java",
        "app-crash",
        ("caused by: ",),
        r"\bCaused by: (?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)\b",
    ),
    _sig("segfault", "shell", "app-crash", ("segmentation fault",), r"Segmentation fault"),
    _sig("segfault", "kernel", "app-crash", ("segfault",), r"\bsegfault at [0-9a-f]+ ip "),
    _sig("node-error", "node", "app-crash", ("cannot find module",), r"Error: Cannot find module"),
    _sig(
        "fatal-log",
        "structured",
        "app-crash",
        ("fatal",),
        r"\blevel=\"?fatal\b|\"level\"\s*:\s*\"fatal\"|\"severity\"\s*:\s*\"(?:fatal|critical)\"",
        _I,
    ),
    _sig("fatal-log", "logrus", "app-crash", ("fata[",), r"\bFATA\[\d+\]"),
    _sig("fatal-log", "plain", "app-crash", ("fatal",), r"\bFATAL\b"),
)

SIGNATURES: tuple[Signature, ...] = tuple(sig for sig, _ in _TABLE)

# One alternation of every needle. It runs case-sensitively over a lower-cased copy of the text,
# which Python's re does far faster than an IGNORECASE alternation (about 20x on a 5 MB log).
_NEEDLES = sorted({n for _, needles in _TABLE for n in needles}, key=lambda n: (-len(n), n))


def _trie(words: list[str]) -> str:
    """One pattern matching exactly where any of `words` starts, written as a trie
    (`ab(?:c|d)` for abc, abd): Python's re tries each alternative of a flat alternation at every
    position of the text, and a trie lets it leave after one character almost everywhere (about 5x
    faster over logs). Only the position of the first hit is used: the line is then matched in full."""
    tree: dict[str, Any] = {}
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        if "" in node:
            return ""  # a whole needle ends here: the hit is certain, longer ones need not be tried
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(tree)


_PREFILTER = re.compile(_trie(_NEEDLES))
_PREFILTER_I = re.compile(_PREFILTER.pattern, re.IGNORECASE)
# needle -> indexes (into SIGNATURES, i.e. priority order) of the signatures it may start
_BY_NEEDLE: dict[str, tuple[int, ...]] = {
    n: tuple(i for i, (_, needles) in enumerate(_TABLE) if n in needles) for n in _NEEDLES
}


def _platform(m: re.Match[str]) -> str | None:
    groups = m.groupdict()
    try:
        if "arch" in groups:
            plat = parse_platform(f"{groups['os']}/{groups['arch']}/{groups['variant'] or ''}".rstrip("/"))
            return str(plat)
        if groups.get("platform"):
            return str(parse_platform(groups["platform"]))
    except ValueError:
        return None
    return None


def _windows(line: str, at: int) -> tuple[str, ...]:
    """The parts of a line the patterns run on: the whole line when it is short, else its first
    MAX_LINE characters and, when the prefilter hit lies further in, MAX_LINE characters around it.
    Several patterns backtrack polynomially on crafted lines (`.*?` after a repeated literal); a
    bounded window makes the work per line constant, so a scan is linear in the text."""
    if len(line) <= MAX_LINE:
        return (line,)
    head = line[:MAX_LINE]
    if at + 256 <= MAX_LINE:
        return (head,)
    lo = max(0, at - MAX_LINE // 2)
    return head, line[lo : lo + MAX_LINE]


def _match_line(line: str, at: int = 0) -> tuple[Signature, re.Match[str]] | None:
    for part in _windows(line, at):
        found = _match_window(part)
        if found is not None:
            return found
    return None


def _match_window(line: str) -> tuple[Signature, re.Match[str]] | None:
    low = line.lower()
    tried = sorted({i for n in _NEEDLES if n in low for i in _BY_NEEDLE[n]})
    for i in tried:
        sig = SIGNATURES[i]
        m = sig.pattern.search(line)
        if m is not None:
            return sig, m
    return None


def scan_text(text: str, *, max_matches: int = 50) -> list[Match]:
    """Return up to `max_matches` matches, in line order, at most one per line.

    Lines are split on "\\n" only; `Match.text` is the line stripped (so a CRLF's "\\r" goes).
    """
    matches: list[Match] = []
    if max_matches <= 0 or not text:
        return matches
    haystack = text.lower()
    search = _PREFILTER.search
    if len(haystack) != len(text):  # a few code points lower-case to two; offsets would drift
        haystack, search = text, _PREFILTER_I.search
    pos = 0
    counted_to = 0  # newlines in text[:counted_to] are already in line_no
    line_no = 1
    n = len(text)
    while pos < n:
        hit = search(haystack, pos)
        if hit is None:
            break
        start = text.rfind("\n", 0, hit.start()) + 1
        end = text.find("\n", hit.start())
        if end < 0:
            end = n
        line_no += text.count("\n", counted_to, start)
        counted_to = start
        line = text[start:end]
        found = _match_line(line, hit.start() - start)
        if found is not None:
            sig, m = found
            matches.append(
                Match(
                    line=line_no,
                    signature=sig.id,
                    dialect=sig.dialect,
                    hint=sig.hint,
                    text=line.strip()[:MAX_TEXT],
                    platform=_platform(m),
                )
            )
            if len(matches) >= max_matches:
                break
        pos = end + 1
    return matches


def scan_bytes(data: bytes, *, max_matches: int = 50) -> tuple[list[Match], bool]:
    """Decode `data` as UTF-8 (invalid bytes become U+FFFD) and scan it.

    Returns (matches, had_invalid_utf8) so the caller can note a log that was not clean text.
    """
    try:
        text = data.decode("utf-8")
        bad = False
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        bad = True
    return scan_text(text, max_matches=max_matches), bad


# Facts some tools record as an event reason or a pod label rather than as a message: the
# multiarch tuning operator (openshift/multiarch-tuning-operator, pkg/utils/const.go and
# internal/controller/podplacement/events.go). An event is matched by its reason only when its
# message matched nothing (the operator's wording may change; its reasons are API).
_REASONS: dict[str, tuple[str, str, str]] = {
    "ExecFormatError": ("exec-format-error", "multiarch-operator", "arch"),
    "NoSupportedArchitecturesFound": ("no-supported-arch", "multiarch-operator", "arch-pull"),
    "ArchAwareInspectionError": ("arch-inspection-error", "multiarch-operator", "inspection"),
}
_LABELS: dict[str, tuple[str, str, str]] = {
    "multiarch.openshift.io/exec-format-error": ("exec-format-error", "multiarch-operator", "arch"),
    "multiarch.openshift.io/no-supported-arch": ("no-supported-arch", "multiarch-operator", "arch-pull"),
    "multiarch.openshift.io/image-inspect-error": ("arch-inspection-error", "multiarch-operator", "inspection"),
}


# A signature's hint names the cause whose lines it is: the rule modules declare the hints they own
# (`HINTS`, see `forensics.analysis.causes`). These hints are owned by no cause, on purpose: a SIGILL is an
# x86-64 level problem only when both levels are known (else the application's own crash), a failed
# image inspection is a gap in the evidence, and a generic pull failure, a runtime start failure or a
# runtime without unpack platforms say that something failed, not why.
SHARED_HINTS = frozenset({"sigill", "inspection", "image-pull", "runtime-start", "runtime-config"})


def hints() -> frozenset[str]:
    """Every hint a signature row, an event reason or a pod label can carry."""
    return frozenset(
        {sig.hint for sig, _ in _TABLE} | {h for _, _, h in _REASONS.values()} | {h for _, _, h in _LABELS.values()}
    )


def reason_signatures(reason: str | None, message: str | None) -> list[Match]:
    """A match for an event whose *reason* is a known signature (its text: `reason: message`)."""
    hit = _REASONS.get(reason or "")
    if hit is None:
        return []
    sid, dialect, hint = hit
    return [
        Match(line=0, signature=sid, dialect=dialect, hint=hint, text=f"{reason}: {message or ''}".strip()[:MAX_TEXT])
    ]


def label_signatures(labels: dict[str, str] | None) -> list[Match]:
    """Matches for pod labels that record a failure (`multiarch.openshift.io/exec-format-error=true`)."""
    out: list[Match] = []
    for key, (sid, dialect, hint) in _LABELS.items():
        val = (labels or {}).get(key)
        if val is None or str(val).lower() == "false":
            continue
        out.append(Match(line=0, signature=sid, dialect=dialect, hint=hint, text=f"label {key}={val}"[:MAX_TEXT]))
    return out
