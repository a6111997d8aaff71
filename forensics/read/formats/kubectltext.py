"""kubectl's human output, as pasted into a ticket or saved by a customer (`kubectl-text`).

A directory (or archive) of files, or one file, each holding one or more of:

    $ kubectl describe pod api-0 -n web        # a prompt line: `$`, `#`, `%`, `>`, `[root@host ~]#`, `PS C:\\>`
    Name:   api-0 ...                           # kubectl describe (pods, nodes, workloads, PVCs)
    NAME    READY   STATUS   RESTARTS   AGE     # kubectl get tables (pods, nodes, workloads, PVC/PV, events, top)
    apiVersion: v1 / { "kind": ... }            # pasted -o yaml / -o json objects
    <log lines>                                 # after `kubectl logs POD [-c C] [-p]`, or a file of its own

separated by prompt lines, `---`, blank lines, or prose, with LF or CRLF line ends. The shapes are
parsed by `kubectl_describe` and `kubectl_tables` into objects of the API's JSON shape and loaded
into the same frames as every other format, each row's `file` naming the file and the line the
object starts on (`tickets/describe.txt:42`). A log in a file of its own is attributed by its name:
the longest known pod name in the path, a known container name, `previous`/`prev` for `--previous`.

Times. Describe prints absolute times (container Started/Finished, node heartbeats, creation)
and ages relative to the moment kubectl ran; tables print ages only. The collection time is the
newest absolute time in the text; a describe block whose container start times and `Started`
events both appear is calibrated on its own (start time + that event's age = when kubectl ran),
other describe blocks use the median calibration, tables the collection time. With no absolute time
at all the newest file modification time is used. Every choice is said in the gaps.

When the same object appears several times, the richest wins: -o yaml/json over describe over a
table row. Pods known only from a `kubectl get pods` row carry what the row says (status, ready,
restarts, node) and containers named from their logs or their workload's template, else `?`.
"""

from __future__ import annotations

import json
import re
import shlex
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import yaml

from forensics.errors import UnusableInput
from forensics.read import inputs
from forensics.read.formats import kubectl_describe as kd
from forensics.read.formats import kubectl_tables as kt
from forensics.read.formats.common import (
    PENDING,
    Detected,
    ForeignBuilder,
    Format,
    add_images,
    convert_items,
    files_of,
    finish,
    items_by_kind,
    open_raw,
    short,
    yaml_docs,
)
from forensics.read.formats.raw import RawDump
from forensics.read.load import Dump
from forensics.read.source import DumpSource, FileInfo, open_single, read_or_stream, single_name
from forensics.values import iso_seconds

FORMAT = "kubectl-text"
_SKIP_EXT = (
    ".gz",
    ".tgz",
    ".tar",
    ".zst",
    ".zip",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".pdf",
    ".parquet",
    ".html",
    ".bz2",
    ".xz",
    ".7z",
)
# A command line as terminals show it: no prompt, or bash/sh (`$`, `#`; `user@host:~/dir$`, RHEL's
# `[root@host ~]#`, `(venv) user@host:~$`), zsh (`host ~ %`, oh-my-zsh's `➜  dir git:(main) ✗`,
# starship's arrow U+276F), PowerShell (`PS C:\>`) or cmd (`C:\Users\me>`); then kubectl, oc or the `k` alias,
# possibly behind sudo, a distribution's wrapper (`microk8s kubectl`, `k3s kubectl`, `minikube kubectl
# --`) or watch. Up to three words before the prompt character, each bounded: prose is not a prompt.
_PROMPT_CHAR = "$#%>❯»"
_PROMPT = re.compile(
    r"^\s*+(?:"  # possessive: blanks the prompt's own \s* could also take made a blank line quadratic
    r"PS [^>]{0,200}>\s*"
    r"|➜\s++\S{1,100}(?:\s++git:\(\S{1,100}\))?(?:\s++✗)?\s+"
    rf"|(?:[^\s{_PROMPT_CHAR}➜]{{1,100}}\s++){{0,3}}[^\s{_PROMPT_CHAR}➜]{{0,100}}\s*+[{_PROMPT_CHAR}]\s*+"
    r")?"
    r"(?:(?:sudo|microk8s|k3s|k0s|minikube|watch|time)(?:\s+-{1,2}[\w-]{1,40}(?:=\S{1,100}|\s+\d[\d.]{0,10})?)*\s+)*"
    r"(?:kubectl|oc|k|microk8s\.kubectl)(?:\.exe)?\s+(?:--\s+)?(\S.*)$"
)
_DESCRIBE_START = re.compile(r"^Name:\s+\S")
_YAML_START = re.compile(r"^(?:apiVersion|kind|items):(?:\s|$)")
_YAML_LINE = re.compile(r"^(?:[ \t-]|[A-Za-z_\"'][^:]*:(?:\s|$)|---|\.\.\.|#)")
_LOG_BLOCK = re.compile(r"^==== (?:START|END) logs for container ")
_RANK = {"yaml": 3, "describe": 2, "table": 1}
_CALIBRATION_SPREAD = timedelta(days=30)
_TIME_KEYS = re.compile(r"(?:Time|At|Timestamp)$")
_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$")
_MAX_FILES = 5000
_SINGLE_FILE_BYTES = 256 * 1024 * 1024  # a pasted ticket, logs included; more is not a paste
_SNIFF_FILES = 200
# `kubectl logs <resource>/<name>`: the resource spellings kubectl accepts, and the names of the pods
# each kind's controller creates
_LOG_TARGETS = {
    **dict.fromkeys(("deploy", "deployment", "deployments"), "Deployment"),
    **dict.fromkeys(("rs", "replicaset", "replicasets"), "ReplicaSet"),
    **dict.fromkeys(("sts", "statefulset", "statefulsets"), "StatefulSet"),
    **dict.fromkeys(("ds", "daemonset", "daemonsets"), "DaemonSet"),
    **dict.fromkeys(("job", "jobs"), "Job"),
}
_POD_SUFFIX = {
    "Deployment": r"-[a-z0-9]{1,10}-[a-z0-9]{5}",
    "ReplicaSet": r"-[a-z0-9]{5}",
    "StatefulSet": r"-\d+",
    "DaemonSet": r"-[a-z0-9]{5}",
    "Job": r"-[a-z0-9]{5}",
}
_WORKLOAD_FILES = ("deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs")

GAPS = [
    {
        "what": "kubectl text, not API objects",
        "impact": "only what kubectl printed is known: describe omits a pod's affinity, its container "
        "commands unless set, termination message policies and probe details; a `get` table row "
        "carries a pod's status, restarts and node but no container names, states or messages",
    },
]


_SPACES = re.compile(rb"\xc2\xa0|\xe2\x80[\x87\xaf]")  # U+00A0, U+2007, U+202F in UTF-8


def as_utf8(data: bytes) -> bytes:
    """A saved or pasted text as UTF-8 with plain spaces. Windows PowerShell 5.1 writes `kubectl ... >
    out.txt` as UTF-16 with a byte order mark; text copied through a mail client, chat or a wiki has
    its runs of spaces turned into no-break spaces, which would break kubectl's column alignment."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = data[: len(data) - (len(data) % 2)].decode("utf-16", errors="replace").encode("utf-8")
    elif data[:3] == b"\xef\xbb\xbf":
        data = data[3:]
    return _SPACES.sub(b" ", data) if b"\xc2\xa0" in data or b"\xe2\x80" in data else data


def _unquote(lines: list[str]) -> list[str]:
    """A ticket that came in as a mail reply quotes the customer's paste with `> `: when (nearly) every
    non-blank line is quoted, the quote marks go, a level at a time (line numbers stay)."""
    for _ in range(3):
        body = [ln for ln in lines if ln.strip()]
        if len(body) < 3 or sum(1 for ln in body if ln.startswith(">")) < 0.9 * len(body):
            break
        lines = [ln[2:] if ln.startswith("> ") else ln[1:] if ln.startswith(">") else ln for ln in lines]
    return lines


def looks_like_text(head: bytes, *, strict: bool = False) -> bool:
    """Whether the first bytes of a file look like kubectl's human output (describe, a get table or a
    prompt line naming kubectl). `strict`: a prompt line or a pasted object alone is not enough (a
    README beside loose .json/.yaml files may well quote kubectl commands)."""
    head = as_utf8(head)
    if b"\0" in head[:4096]:
        return False
    text = head.decode("utf-8", errors="replace")
    lines = _unquote(text.splitlines()[:400])
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    prose_first = not first.startswith(("{", "[", "---", "#")) and not _YAML_START.match(first)
    names = 0
    for i, raw in enumerate(lines):
        line = raw.rstrip("\r")
        if _PROMPT.match(line) and not strict:
            return True
        if kt.header_kind(line) is not None and i + 1 < len(lines) and lines[i + 1].strip():
            return True
        if prose_first and not strict and (line.rstrip() == "{" or _YAML_START.match(line)):
            return True  # an object pasted after prose (a file that is only YAML or JSON is loose files)
        if _DESCRIBE_START.match(line):
            names += 1
        elif names and re.match(r"^(?:Namespace|Labels|Roles|Selector|Containers|CreationTimestamp):", line):
            return True
    return False


def sniff(path: Path, strict: bool = False) -> bool:
    """Whether a directory or archive holds at least one file of kubectl text (first files only);
    `strict` as for `looks_like_text`, and .json/.yaml files are not looked at."""
    src = open_raw(path)

    def select(n: str) -> int | None:
        if not _candidate(n) or (strict and n.lower().endswith((".json", ".yaml", ".yml"))):
            return None
        return 64 * 1024

    for seen, (_, data) in enumerate(files_of(src, select), 1):
        if looks_like_text(data, strict=strict):
            return True
        if seen >= _SNIFF_FILES:
            break
    return False


def _candidate(name: str) -> bool:
    base = name.rsplit("/", 1)[-1].lower()
    return not base.startswith(".") and not base.endswith(_SKIP_EXT)


@dataclass
class _Entry:
    kind: str  # kind file name (pods, nodes, events, deployments, ...)
    obj: dict[str, Any]
    file: str
    rank: int


@dataclass
class _Log:
    file: str
    data: bytes
    namespace: str | None
    pod: str | None
    container: str | None
    previous: bool
    line_offset: int
    workload: tuple[str, str] | None = None  # `kubectl logs deploy/x`: kubectl chose one of its pods


@dataclass
class _Block:
    describe: bool
    starts: list[str] = field(default_factory=list)
    started_ages: list[int] = field(default_factory=list)


@dataclass
class _Command:
    verb: str = ""
    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    previous: bool = False
    workload: tuple[str, str] | None = None


class _Reader:
    """Accumulates objects, logs and clocks from every file, then resolves names and times."""

    def __init__(self, src: DumpSource) -> None:
        self.src = src
        self.entries: list[_Entry] = []
        self.logs: list[_Log] = []
        self.blocks: list[_Block] = []
        self.shapes: dict[str, int] = {}
        self.unattributed: list[tuple[str, bytes]] = []
        self.node_pods: set[tuple[str, str]] = set()

    def count(self, shape: str) -> None:
        self.shapes[shape] = self.shapes.get(shape, 0) + 1

    def new_block(self, describe: bool) -> int:
        self.blocks.append(_Block(describe))
        return len(self.blocks) - 1

    # --- one file -------------------------------------------------------------------------------
    def read(self, name: str, data: bytes) -> None:
        data = as_utf8(data)
        text = data.decode("utf-8", errors="replace")  # a pasted log may hold any bytes: scanned as U+FFFD
        if name.lower().endswith((".json", ".yaml", ".yml")) and self._object_file(name, data):
            return
        # kubectl before 1.11 padded with tabs (tabwriter, tab stops of 8): expanding them restores the columns
        lines = [ln.rstrip("\r").expandtabs(8) if "\t" in ln else ln.rstrip("\r") for ln in text.split("\n")]
        if lines and lines[-1] == "":
            lines.pop()
        lines = _unquote(lines)
        found = self._segments(name, lines, data)
        if not found:
            self.unattributed.append((name, data))

    def _segments(self, name: str, lines: list[str], data: bytes) -> bool:
        """Walk a file's lines; returns whether anything kubectl-shaped was found."""
        found = False
        cmd = _Command()
        i, n = 0, len(lines)
        while i < n:
            line = lines[i]
            pm = _PROMPT.match(line)
            if pm:
                cmd = _parse_command(pm.group(1))
                found = True
                self.count(f"prompt: kubectl {cmd.verb}")
                i += 1
                if cmd.verb == "logs":
                    j = i
                    while j < n and not _PROMPT.match(lines[j]) and not _next_output(lines, j):
                        j += 1
                    body = "\n".join(lines[i:j])
                    if body.strip():
                        self.logs.append(
                            _Log(
                                name,
                                (body + "\n").encode(),
                                cmd.namespace,
                                cmd.pod,
                                cmd.container,
                                cmd.previous,
                                i,
                                cmd.workload,
                            )
                        )
                        self.count("logs (after a prompt)")
                    i = j
                continue
            if _DESCRIBE_START.match(line):
                j = i + 1
                while j < n and not _ends_describe(lines[j]):
                    j += 1
                if self._describe(name, [(k + 1, lines[k]) for k in range(i, j)]):
                    found = True
                i = j
                continue
            table = kt.header_kind(line)
            if table is not None:
                j = i + 1
                while (
                    j < n
                    and kt.row_ok(table, lines[j])
                    and not _PROMPT.match(lines[j])
                    and kt.header_kind(lines[j]) is None
                ):
                    j += 1
                if j > i + 1:
                    found = True
                    self._table(name, table, [(k + 1, lines[k]) for k in range(i + 1, j)], cmd)
                i = j
                continue
            if (line.startswith(("{", "[")) and line.strip() in ("{", "[", "[]", "{}")) or _YAML_START.match(line):
                j = self._pasted(name, lines, i)
                if j > i:
                    found = True
                    i = j
                    continue
            i += 1
        return found

    def _object_file(self, name: str, data: bytes) -> bool:
        """A whole `kubectl get -o json|yaml` file; False when it holds no Kubernetes object."""
        try:
            docs = [json.loads(data)] if data.lstrip()[:1] in (b"{", b"[") else yaml_docs(data)
        except RecursionError:
            self.src.problem(name, "unreadable JSON", "nested too deeply")
            return True
        except (ValueError, yaml.YAMLError):
            return False
        grouped = items_by_kind(docs)
        for kind_file, objs in grouped.items():
            for o in objs:
                self.entries.append(_Entry(kind_file, o, name, _RANK["yaml"]))
        if grouped:
            self.count("-o yaml/json file")
        return bool(grouped)

    def _describe(self, name: str, block_lines: list[tuple[int, str]]) -> bool:
        t = kd.tree(block_lines)
        block = self.new_block(True)
        d = kd.to_object(t, block)
        if d is None:
            return False
        self.count(f"describe {d.kind.lower()}")
        start = block_lines[0][0]
        if d.kind == "Node":
            for ns, pod in kd.node_pods(t):
                self.node_pods.add((ns, pod))
        kind_file = {
            "Pod": "pods",
            "Node": "nodes",
            "Deployment": "deployments",
            "ReplicaSet": "replicasets",
            "StatefulSet": "statefulsets",
            "DaemonSet": "daemonsets",
            "Job": "jobs",
            "CronJob": "cronjobs",
        }.get(d.kind)
        if kind_file is not None:
            self.entries.append(_Entry(kind_file, d.obj, f"{name}:{start}", _RANK["describe"]))
        b = self.blocks[block]
        b.starts = d.start_times
        for ev in d.events:
            self.entries.append(_Entry("events", ev, f"{name}:{_event_line(ev, start)}", _RANK["describe"]))
            last = ev.get("lastTimestamp")
            if ev.get("reason") in ("Started", "Created", "Pulled") and isinstance(last, kd.Rel):
                b.started_ages.append(last.seconds)
        return True

    def _table(self, name: str, table: kt.Table, rows: list[tuple[int, str]], cmd: _Command) -> None:
        block = self.new_block(False)
        self.count(f"get {table.kind}")
        for kind_file, obj, no in kt.parse_rows(table, rows, cmd.namespace, block):
            if kind_file in ("pvc", "pv", "top"):
                continue
            self.entries.append(_Entry(kind_file, obj, f"{name}:{no}", _RANK["table"]))

    def _pasted(self, name: str, lines: list[str], i: int) -> int:
        """A pasted -o json / -o yaml document starting at line i; returns the line after it (i if none)."""
        n = len(lines)
        if lines[i].startswith(("{", "[")):
            close = "}" if lines[i].startswith("{") else "]"
            j = i + 1
            while j < n and lines[j].rstrip() != close:
                j += 1
            chunk = "\n".join(lines[i : j + 1])
            try:
                docs = [json.loads(chunk)]
            except (ValueError, RecursionError) as e:
                self.src.problem(f"{name}:{i + 1}", "unreadable pasted JSON", short(e))
                return j + 1
        else:
            j = i + 1
            while j < n and not _PROMPT.match(lines[j]) and (not lines[j].strip() or _YAML_LINE.match(lines[j])):
                j += 1
            while j > i + 1 and not lines[j - 1].strip():
                j -= 1
            chunk = "\n".join(lines[i:j])
            try:
                docs = yaml_docs(chunk.encode())
            except yaml.YAMLError as e:
                self.src.problem(f"{name}:{i + 1}", "unreadable pasted YAML", short(e))
                return j
        grouped = items_by_kind(docs)
        for kind_file, objs in grouped.items():
            for o in objs:
                self.entries.append(_Entry(kind_file, o, f"{name}:{i + 1}", _RANK["yaml"]))
        if grouped:
            self.count("pasted -o yaml/json")
        return j + 1 if lines[i].startswith(("{", "[")) else j

    # --- after every file ---------------------------------------------------------------------------
    def attribute_logs(self) -> None:
        """Files that held no kubectl shape: logs, when their path names a known pod."""
        pods = self._known_pods()
        for name, data in self.unattributed:
            stem = name.lower()
            best = max((p for p in pods if p[1].lower() in stem), key=lambda p: len(p[1]), default=None)
            if best is None or not data.strip():
                self.src.problem(
                    name,
                    "file not recognised",
                    "no kubectl describe, get table, prompt or object, and its name names no known pod",
                )
                continue
            ns, pod = best
            rest = stem.rsplit("/", 1)[-1].replace(pod.lower(), " ")
            words = set(re.split(r"[^a-z0-9-]+", rest)) | set(re.split(r"[^a-z0-9]+", rest))
            previous = bool(words & {"previous", "prev", "p"})
            known = pods[best]
            container = next((c for c in sorted(known, key=len, reverse=True) if c and c.lower() in words), None)
            self.logs.append(_Log(name, data, ns, pod, container, previous, 0))
            self.count("logs (a file per container)")

    def _known_pods(self) -> dict[tuple[str, str], list[str]]:
        out: dict[tuple[str, str], list[str]] = {}
        for e in self.entries:
            if e.kind == "pods":
                md = e.obj.get("metadata") or {}
                spec = e.obj.get("spec") or {}
                names = [c.get("name", "") for key in ("containers", "initContainers") for c in spec.get(key) or []]
                out.setdefault((md.get("namespace") or "", md.get("name") or ""), []).extend(n for n in names if n)
        for ns, pod in self.node_pods:
            out.setdefault((ns, pod), [])
        return out

    def resolve_times(self, newest_mtime: datetime | None) -> tuple[datetime | None, str]:
        """Replace every `Rel` by an absolute time; returns the collection time and how it was found."""
        absolute: list[datetime] = []
        for e in self.entries:
            _collect_times(e.obj, absolute)
        calibrated: dict[int, datetime] = {}
        for idx, b in enumerate(self.blocks):
            starts = [t for t in map(iso_seconds, b.starts) if t is not None]
            if b.describe and starts and b.started_ages:
                calibrated[idx] = max(starts) + timedelta(seconds=min(b.started_ages))
        median = (
            datetime.fromtimestamp(statistics.median(t.timestamp() for t in calibrated.values()), tz=UTC)
            if calibrated
            else None
        )
        newest = max(absolute) if absolute else None
        if newest is not None:
            collected, how = newest, "the newest absolute time kubectl printed (describe's times)"
            if median is not None and newest < median <= newest + _CALIBRATION_SPREAD:
                collected, how = (
                    median,
                    ("when kubectl ran, from describe's container start times and the ages of their Started events"),
                )
        elif median is not None:
            collected, how = median, "when kubectl ran, from describe's start times and event ages"
        elif newest_mtime is not None:
            collected, how = newest_mtime, "the newest file modification time (the text holds no absolute time)"
        else:
            return None, "unknown"

        def ref(block: int) -> datetime:
            if block in calibrated:
                return calibrated[block]
            if 0 <= block < len(self.blocks) and self.blocks[block].describe and median is not None:
                return median
            return collected

        for e in self.entries:
            _resolve(e.obj, ref)
        return collected, how

    def objects(self) -> Iterator[tuple[str, dict[str, Any], str]]:
        """The objects to load: one per identity (the richest), table pods' containers named, events
        deduplicated (describe and `get events` print the same ones)."""
        best: dict[tuple[str, str, str], _Entry] = {}
        order: list[tuple[str, str, str]] = []
        events: dict[tuple[Any, ...], _Entry] = {}
        # a table printed without NAMESPACE (and no -n on a prompt) leaves the namespace unknown: take it
        # from the same object (or the same event) seen elsewhere with one, else kubectl's default
        ns_of: dict[tuple[str, str], set[str]] = {}
        ev_ns: dict[tuple[Any, ...], set[str]] = {}
        for e in self.entries:
            md = e.obj.get("metadata") or {}
            if e.kind == "events":
                io = e.obj.get("involvedObject") or e.obj.get("regarding") or {}
                if io.get("namespace"):
                    ev_ns.setdefault(_event_key(e.obj, io), set()).add(io["namespace"])
                    ns_of.setdefault((io.get("kind") or "", io.get("name") or ""), set()).add(io["namespace"])
            elif md.get("namespace"):
                ns_of.setdefault((e.obj.get("kind") or "", md.get("name") or ""), set()).add(md["namespace"])
        for ns, pod in self.node_pods:
            ns_of.setdefault(("Pod", pod), set()).add(ns)

        def guess(kind: str, name: str, *more: set[str]) -> str:
            for cands in (*more, ns_of.get((kind, name), set())):
                if len(cands) == 1:
                    return next(iter(cands))
            return "default"

        for e in self.entries:
            md = e.obj.setdefault("metadata", {})
            if e.kind == "events":
                io = e.obj.get("involvedObject") or e.obj.get("regarding") or {}
                if not io.get("namespace") and io.get("kind") not in ("Node", "PersistentVolume"):
                    io["namespace"] = guess(
                        io.get("kind") or "", io.get("name") or "", ev_ns.get(_event_key(e.obj, io), set())
                    )
                md["namespace"] = io.get("namespace") or md.get("namespace") or "default"
            elif e.kind != "nodes" and not md.get("namespace"):
                md["namespace"] = guess(e.obj.get("kind") or "", md.get("name") or "")
            if e.kind == "events":
                key = (io.get("namespace"), *_event_key(e.obj, io))
                old = events.get(key)
                if old is None:
                    events[key] = e
                elif (e.obj.get("count") or 1) > (old.obj.get("count") or 1):
                    old.obj["count"] = e.obj["count"]
                continue
            ident = (e.kind, md.get("namespace") or "", md.get("name") or "")
            cur = best.get(ident)
            if cur is None:
                order.append(ident)
                best[ident] = e
            elif e.rank > cur.rank:
                best[ident] = e
        templates = self._templates(best)
        pulled = _pulled_images(e.obj for e in events.values())
        log_containers: dict[tuple[str, str], list[str]] = {}
        for lg in self.logs:
            if lg.pod and lg.container:
                log_containers.setdefault((lg.namespace or "", lg.pod), []).append(lg.container)
        for ident in order:
            e = best[ident]
            if e.kind == "pods" and e.rank == _RANK["table"]:
                _name_table_containers(e.obj, log_containers.get(ident[1:], []), templates, pulled.get(ident[1:]))
            yield e.kind, e.obj, e.file
        for e in events.values():
            yield "events", e.obj, e.file

    def _templates(self, best: dict[tuple[str, str, str], _Entry]) -> dict[tuple[str, str], list[str]]:
        """(namespace, ReplicaSet-or-workload name) -> template container names, for table pods."""
        out: dict[tuple[str, str], list[str]] = {}
        for (kind, ns, name), e in best.items():
            if kind not in _WORKLOAD_FILES:
                continue
            spec = e.obj.get("spec") or {}
            tspec = (spec.get("template") or {}).get("spec") or {}
            names = [c.get("name") for c in tspec.get("containers") or [] if c.get("name")]
            if names:
                out[(ns, name)] = names
        return out

    def _pod_of_workload(self, namespace: str | None, kind: str, name: str) -> tuple[str | None, str | None]:
        """The pod `kubectl logs <kind>/<name>` read, among the pods the text shows: the workload's pods
        by name (`<deployment>-<hash>-<5>`, `<statefulset>-<n>`, `<daemonset|job|replicaset>-<5>`), or
        by `Controlled By`; of several, the one kubectl picks (its ByLogging order: on a node, Running,
        Ready, most restarts)."""
        rx = re.compile(re.escape(name) + _POD_SUFFIX[kind] + "$")
        cands: list[tuple[tuple[int, int, int, int], str, str]] = []
        for e in self.entries:
            if e.kind != "pods":
                continue
            md, spec, st = e.obj.get("metadata") or {}, e.obj.get("spec") or {}, e.obj.get("status") or {}
            ns, pod = md.get("namespace") or "", md.get("name") or ""
            owners = {(o.get("kind"), o.get("name")) for o in md.get("ownerReferences") or ()}
            if (namespace is not None and ns != namespace) or not (rx.match(pod) or (kind, name) in owners):
                continue
            statuses = st.get("containerStatuses") or []
            order = (
                0 if spec.get("nodeName") else 1,
                {"Running": 0, "Unknown": 1, "Pending": 2}.get(st.get("phase") or "", 3),
                0 if statuses and all(c.get("ready") for c in statuses) else 1,
                -sum(int(c.get("restartCount") or 0) for c in statuses),
            )
            cands.append((order, pod, ns))
        if not cands:
            return None, None
        _, pod, ns = min(cands)
        return pod, ns

    def resolve_logs(self) -> None:
        """Name the namespace and container of logs whose command did not say them."""
        pods = self._known_pods()
        by_name: dict[str, list[tuple[str, str]]] = {}
        for ns, pod in pods:
            by_name.setdefault(pod, []).append((ns, pod))
        for lg in self.logs:
            if lg.pod is None and lg.workload is not None:
                lg.pod, wl_ns = self._pod_of_workload(lg.namespace, *lg.workload)
                lg.namespace = lg.namespace or wl_ns
            if lg.pod is None:
                continue
            if lg.namespace is None:
                cands = by_name.get(lg.pod, [])
                lg.namespace = cands[0][0] if len(cands) == 1 else "default"
            if lg.container is None:
                names = pods.get((lg.namespace, lg.pod), [])
                lg.container = names[0] if names else "?"


def _event_key(ev: dict[str, Any], io: dict[str, Any]) -> tuple[Any, ...]:
    return (io.get("kind"), io.get("name"), ev.get("reason"), (ev.get("message") or ev.get("note") or "").strip())


def _event_line(ev: dict[str, Any], default: int) -> int:
    name = (ev.get("metadata") or {}).get("name") or ""
    m = re.search(r"\.l(\d+)$", name)
    return int(m.group(1)) if m else default


def _next_output(lines: list[str], i: int) -> bool:
    """Whether another kubectl output starts at line `i` of a `logs` block pasted without its own
    prompt: a describe block (`Name:` then `Namespace:`/`Labels:`, which no log line pair looks like)
    or a `get` table header followed by a row of that table."""
    if _DESCRIBE_START.match(lines[i]):
        return i + 1 < len(lines) and bool(re.match(r"^(?:Namespace|Labels|Roles|Selector):", lines[i + 1]))
    table = kt.header_kind(lines[i])
    return table is not None and i + 1 < len(lines) and kt.row_ok(table, lines[i + 1])


def _ends_describe(line: str) -> bool:
    return bool(
        _DESCRIBE_START.match(line)
        or _PROMPT.match(line)
        or line.strip() == "---"
        or kt.header_kind(line) is not None
        or _YAML_START.match(line)
        or _LOG_BLOCK.match(line)
    )


def _parse_command(args: str) -> _Command:
    """The verb, namespace, pod, container and --previous of a kubectl command line."""
    try:
        words = shlex.split(args, comments=False)
    except ValueError:
        words = args.split()
    cmd = _Command()
    positional: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        if w in ("|", ">", ">>", "2>&1", "&&", ";"):
            break
        if w in ("-n", "--namespace") and nxt:
            cmd.namespace, i = nxt, i + 2
            continue
        if w.startswith("--namespace="):
            cmd.namespace = w.split("=", 1)[1]
        elif w.startswith("-n") and len(w) > 2 and not w.startswith("--"):
            cmd.namespace = w[2:]
        elif w in ("-c", "--container") and nxt:
            cmd.container, i = nxt, i + 2
            continue
        elif w.startswith("--container="):
            cmd.container = w.split("=", 1)[1]
        elif w in ("-p", "--previous", "--previous=true"):
            cmd.previous = True
        elif (
            w
            in (
                "-o",
                "--output",
                "-l",
                "--selector",
                "--context",
                "--kubeconfig",
                "--tail",
                "-L",
                "--sort-by",
                "--field-selector",
                "--since",
            )
            and nxt
        ):
            i += 2
            continue
        elif not w.startswith("-"):
            positional.append(w)
        i += 1
    if positional:
        cmd.verb = positional[0]
    if cmd.verb == "logs" and len(positional) > 1:
        target = positional[1]
        if target.startswith(("pod/", "pods/")):
            target = target.split("/", 1)[1]
        cmd.pod = None if "/" in target else target
        if "/" in target:
            res, _, name = target.partition("/")
            kind = _LOG_TARGETS.get(res.split(".", 1)[0].lower())
            cmd.workload = (kind, name) if kind and name else None
        if cmd.container is None and len(positional) > 2:
            cmd.container = positional[2]
    return cmd


def _collect_times(obj: Any, out: list[datetime], key: str = "") -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _collect_times(v, out, k)
    elif isinstance(obj, list):
        for v in obj:
            _collect_times(v, out, key)
    elif isinstance(obj, str) and _TIME_KEYS.search(key) and _ISO.match(obj) and (t := iso_seconds(obj)):
        out.append(t)


def _resolve(obj: Any, ref: Any) -> None:
    if isinstance(obj, dict):
        for k, v in list(obj.items()):
            if isinstance(v, kd.Rel):
                obj[k] = (ref(v.block) - timedelta(seconds=v.seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
            else:
                _resolve(v, ref)
    elif isinstance(obj, list):
        for v in obj:
            _resolve(v, ref)


_PULL_IMAGE = re.compile(
    r'(?:[Pp]ulling image|[Ff]ailed to pull image|[Ss]uccessfully pulled image|Container image) "([^"\s]{1,500})"'
)


def _pulled_images(events: Iterator[dict[str, Any]]) -> dict[tuple[str, str], dict[str | None, str]]:
    """(namespace, pod) -> container (None when the event names none) -> the image the kubelet's pull
    events name (`Pulling image "x"`, `Failed to pull image "x"`, `Back-off pulling image "x"`,
    `Container image "x" already present on machine`): for pods a `get pods` row shows without a spec."""
    out: dict[tuple[str, str], dict[str | None, str]] = {}
    for ev in events:
        io = ev.get("involvedObject") or {}
        if io.get("kind") != "Pod":
            continue
        m = _PULL_IMAGE.search(ev.get("message") or "")
        if m is None:
            continue
        fp = io.get("fieldPath") or ""
        container = fp[fp.index("{") + 1 : -1] if fp.startswith("spec.containers{") else None
        out.setdefault((io.get("namespace") or "", io.get("name") or ""), {})[container] = m.group(1)
    return out


def _name_table_containers(
    pod: dict[str, Any],
    from_logs: list[str],
    templates: dict[tuple[str, str], list[str]],
    pulled: dict[str | None, str] | None = None,
) -> None:
    md = pod.get("metadata") or {}
    ns = md.get("namespace") or ""
    names = list(dict.fromkeys(from_logs))
    if not names:
        for ref in md.get("ownerReferences") or []:
            names = templates.get((ns, ref.get("name") or ""), [])
            if not names:
                dep = re.sub(r"-[a-z0-9]{5,10}$", "", ref.get("name") or "")
                names = templates.get((ns, dep), [])
            if names:
                break
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    for i, st in enumerate(statuses):
        st["name"] = names[i] if i < len(names) else ("?" if i == 0 else f"?{i + 1}")
    specs: list[dict[str, Any]] = [{"name": st["name"]} for st in statuses]
    pulled = pulled or {}
    only = set(pulled.values()) if len(statuses) == 1 and len(set(pulled.values())) == 1 else set()
    for c in specs:
        image = pulled.get(c["name"]) or (next(iter(only)) if only else None)
        if image:
            c["image"] = image
    pod.setdefault("spec", {})["containers"] = specs


@dataclass
class _Parsed:
    """Every file read, names and times resolved: what `load` builds frames from and `raw` serves."""

    src: DumpSource
    reader: _Reader
    collected: datetime | None
    how: str
    newest_mtime: datetime


def _parse(p: Path, single_file: bool) -> _Parsed:
    src = DumpSource(p) if single_file else open_raw(p)
    reader = _Reader(src)
    mtimes: list[float] = []

    def files() -> Iterator[tuple[str, bytes]]:
        if single_file:
            size = p.stat().st_size
            if size > _SINGLE_FILE_BYTES:
                src.problem(p.name, "file too large", f"{size} bytes, cap {_SINGLE_FILE_BYTES}")
                return
            name = single_name(p)  # a gzip/zstd-compressed paste is read as the text it holds
            try:
                with open_single(p, src.limits) as fh:
                    data, _ = read_or_stream(fh, _SINGLE_FILE_BYTES)
            except OSError as e:
                src.problem(name, "file truncated or corrupt", str(e))
                return
            if data is None:
                src.problem(name, "file too large", f"over {_SINGLE_FILE_BYTES} bytes once decompressed: not read")
                return
            src.files.append(FileInfo(name, len(data)))
            mtimes.append(p.stat().st_mtime)
            yield name, data
            return
        for n, (name, data) in enumerate(
            files_of(src, lambda nm: src.limits.log_bytes * 4 if _candidate(nm) else None), 1
        ):
            if n > _MAX_FILES:
                src.problem(name, "too many files", f"more than {_MAX_FILES} files: the rest were not read")
                return
            if p.is_dir():
                try:
                    mtimes.append((p / name).stat().st_mtime)
                except OSError:
                    pass
            yield name, data

    for name, data in files():
        reader.read(name, data)
    reader.attribute_logs()
    newest_mtime = (
        datetime.fromtimestamp(max(mtimes), tz=UTC) if mtimes else (datetime.fromtimestamp(p.stat().st_mtime, tz=UTC))
    )
    collected, how = reader.resolve_times(newest_mtime)
    reader.resolve_logs()
    return _Parsed(src, reader, collected, how, newest_mtime)


def load(path: Path, *, single_file: bool = False, images: Path | None = None) -> Dump:
    """Load kubectl text from a directory or archive, or one file (`single_file`)."""
    p = Path(path)
    parsed = _parse(p, single_file)
    src, reader, collected, how, newest_mtime = (
        parsed.src,
        parsed.reader,
        parsed.collected,
        parsed.how,
        parsed.newest_mtime,
    )
    b = ForeignBuilder()
    objects = 0
    by_kind: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for kind_file, obj, file in reader.objects():
        by_kind.setdefault(kind_file, []).append((obj, file))
    for kind_file, pairs in by_kind.items():
        try:  # one conversion per kind; an object that does not convert is retried alone below
            typed = convert_items(kind_file, [o for o, _ in pairs])
        except msgspec.ValidationError:
            typed = None
        for i, (obj, file) in enumerate(pairs):
            try:
                b.add_items(
                    PENDING, kind_file, file, [typed[i]] if typed is not None else convert_items(kind_file, [obj])
                )
                objects += 1
            except msgspec.ValidationError as e:
                src.problem(file, "unreadable object", short(e))
    for lg in reader.logs:
        if lg.pod is None:
            src.problem(
                f"{lg.file}:{lg.line_offset}",
                "log not attributed",
                "the kubectl logs command names no pod the text shows (a selector, or a workload none of whose "
                "pods is in the text)",
            )
            continue
        b.add_log_text(
            PENDING,
            lg.namespace or "default",
            lg.pod,
            lg.container or "?",
            lg.previous,
            lg.file,
            lg.data,
            line_offset=lg.line_offset,
        )
    if images is not None:
        add_images(b, images, src)
    meta: dict[str, Any] = {
        "source_format": FORMAT,
        "objects_found": objects + len(reader.logs),
        "shapes": dict(sorted(reader.shapes.items())),
        "collected_at_source": how,
    }
    gaps = list(GAPS)
    gaps.append(
        {
            "what": "ages printed relative to when kubectl ran",
            "impact": f"ages and event times are resolved against {how}; they are as exact as kubectl's "
            "rounding (`3h12m`, `2y264d`)",
        }
    )
    if not any(s.startswith("describe pod") or s == "pasted -o yaml/json" for s in reader.shapes):
        gaps.append(
            {
                "what": "no kubectl describe of pods",
                "impact": "container names, last terminations, exit codes and waiting messages are unknown: "
                "causes rest on table status, events and logs, with lower confidence",
            }
        )
    if not any(s.startswith(("get events", "describe")) for s in reader.shapes):
        gaps.append({"what": "no events table", "impact": "scheduler, pull and probe messages are only seen in logs"})
    if not reader.logs:
        gaps.append(
            {
                "what": "no pasted logs",
                "impact": "crash lines (exec format error, stack traces) are only seen in termination messages",
            }
        )
    if collected is None:
        collected = newest_mtime
    dump = finish(b, src, path=p, fmt=FORMAT, meta=meta, collected_at=collected, gaps=gaps)
    return dump


def read(path: Path, found: Detected, images: Path | None) -> Dump:
    """Kubectl text; text holding no kubectl output, object or log is not a dump (`UnusableInput`)."""
    dump = load(path, single_file=found.single_file, images=images)
    if not dump.meta.get("objects_found"):
        given_up = [q for q in dump.problems if q.what in ("file too large", "file truncated or corrupt")]
        if found.single_file and given_up:  # the reader gave up on the file: that, not its first bytes, says why
            raise UnusableInput(inputs.unusable_message(path, f"{given_up[0].what} ({given_up[0].why})"))
        raise UnusableInput(
            inputs.unusable_message(path, inputs.describe(path) + ", with no kubectl output, objects or logs in it")
        )
    return dump


def raw(src: DumpSource, found: Detected, path: Path) -> RawDump:
    """What `serve` answers: the objects the text was parsed into (API JSON shape, ages resolved to
    times, the richest form of each object), pasted objects included, and the attributed logs."""
    parsed = _parse(Path(path), found.single_file)
    out = RawDump()
    for kind_file, obj, _file in parsed.reader.objects():
        out.lists.setdefault(kind_file, []).append(obj)
    for lg in parsed.reader.logs:
        if lg.pod is not None:
            out.logs[(lg.namespace or "default", lg.pod, lg.container or "?", lg.previous)] = lg.data
    return out


# Recognised by content, not by layout: one file by its first bytes (`sniff`), a tree by its first
# text files (`content`, tried before loose files take a tree by its .json/.yaml names). It is served
# from what it was parsed into (`raw`); a saved `kubectl logs` alone is an input of its own, without
# pods (`needs_pods=False`).
SPEC = Format(FORMAT, read, sniff=looks_like_text, content=sniff, raw=raw, needs_pods=False)
