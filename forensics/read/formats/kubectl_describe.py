"""`kubectl describe` text back into Kubernetes-shaped objects (the fields the frames read).

Describe output is an indented key/value tree (`Key:   value`, sections of deeper keys, values
continued on lines aligned with the value column) with a few embedded tables (`Conditions`,
`Events`, `Non-terminated Pods`). `tree()` reads that shape once; `to_object()` turns a tree into
a Pod, Node, Deployment/ReplicaSet/StatefulSet/DaemonSet/Job/CronJob or PersistentVolumeClaim
dict in the API's JSON shape, plus the object's events. Times come as RFC 1123 (`Tue, 11 Jun 2024
08:50:02 +0000`, absolute) or as ages (`93s`, `2y173d (x8 over 2y173d)`, relative to when kubectl
ran): ages become `Rel` placeholders resolved later by the format module, once the time the text
was printed is known.

Shapes follow kubectl's describers (k8s.io/kubectl/pkg/describe, 1.2x-1.32): pod containers under
`Containers:` at two spaces, a workload's template containers at three; `State`/`Last State` with
`Reason`, `Message`, `Exit Code`, `Signal`, `Started`, `Finished` one level deeper. What describe
never prints (a pod's affinity, the container command when unset, probes' full spec) stays absent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["Node", "Rel", "parse_age", "parse_time", "to_object", "tree"]

# a key never holds two spaces in a row (a table row does) nor quotes
_KV = re.compile(r"^( *)([A-Za-z][A-Za-z0-9./()_#-]*(?: [A-Za-z0-9./()_#-]+)*):(?:[ \t]+(\S.*))?$")
_AGE = re.compile(r"^(?:(\d+)y)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_EVENT_AGE = re.compile(r"^(\S+)(?:\s+\(x(\d+) over (\S+)\))?$")
_TABLE_SECTIONS = ("Conditions", "Events", "Non-terminated Pods", "Allocated resources")
_CONTAINER_MSG_STRICT = (
    re.compile(r"^(?:Created|Started|Stopping) container (\S+)"),
    re.compile(r"^Back-off restarting failed container (\S+)"),
    re.compile(r"^Container (\S+) (?:failed|definition changed|exceeded)"),
)


@dataclass
class Rel:
    """An age as printed (`seconds` before the moment kubectl printed block `block`)."""

    seconds: int
    block: int


@dataclass
class Node:
    """One `Key: value` line of describe output, its continuation lines, and what is nested under it."""

    key: str
    value: str
    line: int
    indent: int
    cont: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    rows: list[tuple[int, str]] = field(default_factory=list)  # (line number, raw text) of an embedded table

    def get(self, key: str) -> Node | None:
        for c in self.children:
            if c.key == key:
                return c
        return None

    def val(self, key: str) -> str | None:
        c = self.get(key)
        return c.value if c is not None else None

    def values(self) -> list[str]:
        """The value and its continuation lines (labels, taints, tolerations, ...), `<none>` dropped."""
        out = [v for v in [self.value, *self.cont] if v and v != "<none>"]
        return out


def tree(lines: list[tuple[int, str]]) -> Node:
    """The key/value tree of one describe block; `lines` are (1-based line number, text without EOL)."""
    root = Node("", "", lines[0][0] if lines else 0, -1)
    stack: list[tuple[Node, int]] = [(root, -1)]  # (node, value column or -1)
    table: Node | None = None
    last: Node | None = None
    for no, text in lines:
        if not text.strip():
            continue
        indent = len(text) - len(text.lstrip(" "))
        if table is not None:
            if indent > table.indent or (table.key == "Events" and indent > 0):
                table.rows.append((no, text))
                continue
            table = None
        top, vcol = stack[-1]
        if vcol > 0 and indent >= vcol:
            top.cont.append(text.strip())
            continue
        m = _KV.match(text)
        if m is None:
            if last is not None and last.key in ("Message", "Reason") and indent <= last.indent:
                last.cont.append(text.strip())
                continue
            while len(stack) > 1 and stack[-1][0].indent >= indent:
                stack.pop()
            stack[-1][0].rows.append((no, text))
            continue
        key, value = m.group(2), (m.group(3) or "").strip()
        while len(stack) > 1 and stack[-1][0].indent >= indent:
            stack.pop()
        node = Node(key, value, no, indent)
        stack[-1][0].children.append(node)
        last = node
        vstart = m.start(3) if m.group(3) else -1
        stack.append((node, vstart if value else -1))
        if key in _TABLE_SECTIONS and (not value or key == "Non-terminated Pods") and indent == 0:
            table = node
    return root


def parse_time(value: str | None) -> str | None:
    """An RFC 1123 time as kubectl prints it -> ISO 8601 UTC; None for `<unknown>`, year 1 or garbage."""
    if not value:
        return None
    v = value.strip()
    for fmt in (
        "%a, %d %b %Y %H:%M:%S %z",
        "%a, %d %b %Y %H:%M:%S %Z",
        "%Y-%m-%dT%H:%M:%SZ",
        "%Y-%m-%d %H:%M:%S %z %Z",
    ):
        try:
            t = datetime.strptime(v, fmt)
        except ValueError:
            continue
        if t.year < 1971:
            return None
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return None


def parse_age(value: str | None) -> int | None:
    """kubectl's short duration (`93s`, `3h12m`, `2y264d`) in seconds; `<invalid>` (a time in the
    future: clock skew) is 0; `<unknown>` and anything else None."""
    if not value:
        return None
    v = value.strip()
    if v == "<invalid>":
        return 0
    m = _AGE.match(v)
    if not m or not any(m.groups()):
        return None
    y, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    return (((y * 365 + d) * 24 + h) * 60 + mi) * 60 + s


def _columns(header: str) -> list[tuple[str, int]]:
    """(name, start) of a table header whose names are separated by two or more spaces."""
    return [(m.group(0), m.start()) for m in re.finditer(r"\S+(?: \S+)*", header)]


def split_row(row: str, cols: list[tuple[str, int]]) -> dict[str, str]:
    """Cells of a tabwriter-aligned row, cut at the header's column starts; the last column takes the rest.
    When a cut would split a word (a mangled paste), each run of text separated by 2+ spaces goes to the
    column whose start is nearest before it, so empty cells stay empty instead of shifting the rest."""
    if all(start >= len(row) or row[start - 1] == " " for _, start in cols[1:]):
        out = {}
        for i, (name, start) in enumerate(cols):
            end = cols[i + 1][1] if i + 1 < len(cols) else None
            out[name] = row[start:end].strip() if start < len(row) else ""
        return out
    out = {name: "" for name, _ in cols}
    for m in re.finditer(r"\S+(?: \S+)*", row):
        at = m.start()
        name = cols[0][0]
        for cname, start in cols:
            if start <= at + 1:
                name = cname
        out[name] = (out[name] + "  " + m.group(0)).strip()
    return out


def _table(node: Node | None) -> list[tuple[int, dict[str, str]]]:
    """The rows of an embedded table (`Type  Status ...` header, optional `----` underline)."""
    if node is None or not node.rows:
        return []
    rows = node.rows
    header_line = rows[0][1]
    cols = _columns(header_line)
    out = []
    for no, text in rows[1:]:
        if set(text.strip()) <= {"-", " "}:
            continue
        out.append((no, split_row(text, cols)))
    return out


def _kv_list(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        for part in v.split(","):
            k, sep, val = part.strip().partition("=")
            if sep and k:
                out[k] = val
    return out


def _taints(values: list[str]) -> list[dict[str, str]]:
    out = []
    for v in values:
        kv, _, effect = v.strip().rpartition(":")
        if not kv or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            continue
        key, _, value = kv.partition("=")
        t = {"key": key, "effect": effect}
        if value:
            t["value"] = value
        out.append(t)
    return out


def _tolerations(values: list[str]) -> list[dict[str, Any]]:
    """`key=value:Effect`, `key:Effect op=Exists for 300s`, `op=Exists` (tolerates everything)."""
    out: list[dict[str, Any]] = []
    for v in values:
        text = v.strip()
        op = "Exists" if "op=Exists" in text else "Equal"
        text = re.sub(r"\s+op=Exists.*$|\s+for \d+s$", "", text).strip()
        if text in ("", "op=Exists"):
            out.append({"operator": "Exists"})
            continue
        kv, sep, effect = text.rpartition(":")
        if not sep:
            kv, effect = text, ""
        key, _, value = kv.partition("=")
        t: dict[str, Any] = {"key": key or None, "operator": op}
        if value:
            t["value"] = value
        if effect:
            t["effect"] = effect
        out.append(t)
    return out


def _quantities(node: Node | None) -> dict[str, str] | None:
    if node is None:
        return None
    out = {c.key: c.value for c in node.children if c.value}
    return out or None


def _probe(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    out: dict[str, Any] = {}
    m = re.search(r"#failure=(\d+)", value)
    if m:
        out["failureThreshold"] = int(m.group(1))
    m = re.search(r"\bperiod=(\d+)s", value)
    if m:
        out["periodSeconds"] = int(m.group(1))
    return out


def _state(node: Node | None, block: int, started_key: str = "startedAt") -> dict[str, Any] | None:
    if node is None or not node.value:
        return None
    kind = node.value.strip().lower()
    reason = node.val("Reason")
    msg_node = node.get("Message")
    message = " \n".join([msg_node.value, *msg_node.cont]).strip() if msg_node is not None else None
    if kind == "waiting":
        return {"waiting": _drop_none({"reason": reason, "message": message})}
    if kind == "running":
        return {"running": _drop_none({started_key: parse_time(node.val("Started"))})}
    if kind == "terminated":
        code = node.val("Exit Code")
        sig = node.val("Signal")
        return {
            "terminated": _drop_none(
                {
                    "reason": reason,
                    "message": message,
                    "exitCode": int(code) if code and code.lstrip("-").isdigit() else None,
                    "signal": int(sig) if sig and sig.lstrip("-").isdigit() else None,
                    "startedAt": parse_time(node.val("Started")),
                    "finishedAt": parse_time(node.val("Finished")),
                }
            )
        }
    return None


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _containers(section: Node | None, block: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(specs, statuses) of the containers listed under a `Containers:`/`Init Containers:` section."""
    specs: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    if section is None:
        return specs, statuses
    for c in section.children:
        name = c.key
        spec: dict[str, Any] = {"name": name, "image": c.val("Image") or ""}
        res = _drop_none({"limits": _quantities(c.get("Limits")), "requests": _quantities(c.get("Requests"))})
        if res:
            spec["resources"] = res
        live = _probe(c.val("Liveness"))
        if live is not None:
            spec["livenessProbe"] = live
        cmd = c.get("Command")
        if cmd is not None and cmd.rows:
            spec["command"] = [t.strip() for _, t in cmd.rows]
        specs.append(spec)
        state = _state(c.get("State"), block)
        if state is None and c.get("Restart Count") is None and c.get("Ready") is None:
            continue
        st: dict[str, Any] = {
            "name": name,
            "image": c.val("Image") or "",
            "imageID": c.val("Image ID") or "",
            "ready": (c.val("Ready") or "").lower() == "true",
        }
        rc = c.val("Restart Count")
        if rc and rc.isdigit():
            st["restartCount"] = int(rc)
        if c.val("Container ID"):
            st["containerID"] = c.val("Container ID")
        if state is not None:
            st["state"] = state
        last = _state(c.get("Last State"), block)
        if last is not None:
            st["lastState"] = last
        statuses.append(st)
    return specs, statuses


def _owner(value: str | None) -> list[dict[str, Any]] | None:
    if not value or "/" not in value:
        return None
    kind, _, name = value.partition("/")
    return [{"kind": kind, "name": name, "controller": True}]


def _meta(t: Node, namespaced: bool = True) -> dict[str, Any]:
    labels_node = t.get("Labels")
    md: dict[str, Any] = {"name": t.val("Name") or ""}
    if namespaced:
        md["namespace"] = t.val("Namespace") or ""
    if labels_node is not None:
        labels = _kv_list(labels_node.values())
        if labels:
            md["labels"] = labels
    created = parse_time(t.val("CreationTimestamp"))
    if created:
        md["creationTimestamp"] = created
    owner = _owner(t.val("Controlled By"))
    if owner:
        md["ownerReferences"] = owner
    return md


def kind_of(t: Node) -> str | None:
    """Which object a describe tree shows, from the keys kubectl's describer for that kind prints."""
    keys = {c.key for c in t.children}
    if "Name" not in keys:
        return None
    if ({"Containers", "Init Containers"} & keys) and ("Node" in keys or "Start Time" in keys or "IP" in keys):
        return "Pod"
    if "System Info" in keys or ("Taints" in keys and "Unschedulable" in keys):
        return "Node"
    if "Schedule" in keys and ("Concurrency Policy" in keys or "Job Template" in keys):
        return "CronJob"
    if "Completions" in keys or "Parallelism" in keys:
        return "Job"
    if "StrategyType" in keys:
        return "Deployment"
    if "Desired Number of Nodes Scheduled" in keys:
        return "DaemonSet"
    if "Update Strategy" in keys and "Pods Status" in keys:
        return "StatefulSet"
    if "Replicas" in keys and "Pods Status" in keys:
        return "ReplicaSet"
    if "Access Modes" in keys and "StorageClass" in keys:
        return "PersistentVolumeClaim" if "Namespace" in keys else "PersistentVolume"
    return None


@dataclass
class Described:
    """What one describe block yields: the object (API JSON shape), its kind, and its events."""

    kind: str
    obj: dict[str, Any]
    events: list[dict[str, Any]]
    start_times: list[str]  # absolute container start times (to calibrate the block's clock)


def to_object(t: Node, block: int) -> Described | None:
    kind = kind_of(t)
    if kind is None:
        return None
    if kind == "Pod":
        return _pod(t, block)
    if kind == "Node":
        return Described("Node", _node(t), _events(t, block, "Node", None, t.val("Name") or ""), [])
    if kind in ("PersistentVolumeClaim", "PersistentVolume"):
        md = _meta(t, kind == "PersistentVolumeClaim")
        return Described(
            kind, {"kind": kind, "metadata": md}, _events(t, block, kind, md.get("namespace"), md["name"]), []
        )
    return _workload(t, kind, block)


def _pod(t: Node, block: int) -> Described:
    md = _meta(t)
    specs, statuses = _containers(t.get("Containers"), block)
    ispecs, istatuses = _containers(t.get("Init Containers"), block)
    node = t.val("Node") or ""
    node_name = node.split("/", 1)[0] if node and node != "<none>" else None
    spec: dict[str, Any] = {"containers": specs}
    if ispecs:
        spec["initContainers"] = ispecs
    if node_name:
        spec["nodeName"] = node_name
    sel = t.get("Node-Selectors")
    if sel is not None and sel.values():
        spec["nodeSelector"] = _kv_list(sel.values())
    tol = t.get("Tolerations")
    if tol is not None and tol.values():
        spec["tolerations"] = _tolerations(tol.values())
    volumes = _claim_volumes(t.get("Volumes"))
    if volumes:
        spec["volumes"] = volumes
    status: dict[str, Any] = _drop_none(
        {
            "phase": t.val("Status") or None,
            "reason": t.val("Reason") or None,
            "message": _message(t.get("Message")),
            "startTime": parse_time(t.val("Start Time")),
        }
    )
    conds = [
        _drop_none(
            {
                "type": r.get("Type"),
                "status": r.get("Status"),
                "reason": r.get("Reason") or None,
                "message": r.get("Message") or None,
            }
        )
        for _, r in _table(t.get("Conditions"))
    ]
    if conds:
        status["conditions"] = conds
    if statuses:
        status["containerStatuses"] = statuses
    if istatuses:
        status["initContainerStatuses"] = istatuses
    if status.get("phase") == "Terminating":
        status["phase"] = "Running"
    names = [c["name"] for c in specs] + [c["name"] for c in ispecs]
    obj = {"kind": "Pod", "metadata": md, "spec": spec, "status": status}
    starts: list[str] = []
    for st in statuses + istatuses:
        for key in ("state", "lastState"):
            s = st.get(key) or {}
            for v in s.values():
                if isinstance(v, dict) and v.get("startedAt"):
                    starts.append(v["startedAt"])
    return Described("Pod", obj, _events(t, block, "Pod", md["namespace"], md["name"], names), starts)


def _claim_volumes(section: Node | None) -> list[dict[str, Any]]:
    """The pod's PersistentVolumeClaim volumes, as describe prints them (`ClaimName:` under the volume's
    name, since kubectl 1.5); other volume types carry nothing the analysis reads."""
    out: list[dict[str, Any]] = []
    for vol in section.children if section is not None else ():
        claim = vol.val("ClaimName")
        if claim and claim != "<none>":
            out.append({"name": vol.key, "persistentVolumeClaim": {"claimName": claim}})
    return out


def _message(node: Node | None) -> str | None:
    if node is None:
        return None
    text = " ".join([node.value, *node.cont]).strip()
    return text or None


def _node(t: Node) -> dict[str, Any]:
    md = _meta(t, namespaced=False)
    info = t.get("System Info")
    node_info: dict[str, str] = {}
    if info is not None:
        for key, field_name in (
            ("Architecture", "architecture"),
            ("Operating System", "operatingSystem"),
            ("Kernel Version", "kernelVersion"),
            ("OS Image", "osImage"),
            ("Container Runtime Version", "containerRuntimeVersion"),
            ("Kubelet Version", "kubeletVersion"),
        ):
            v = info.val(key)
            if v:
                node_info[field_name] = v
    spec: dict[str, Any] = {}
    taints = t.get("Taints")
    if taints is not None and taints.values():
        spec["taints"] = _taints(taints.values())
    if (t.val("Unschedulable") or "").lower() == "true":
        spec["unschedulable"] = True
    conds = []
    for _, r in _table(t.get("Conditions")):
        conds.append(
            _drop_none(
                {
                    "type": r.get("Type"),
                    "status": r.get("Status"),
                    "reason": r.get("Reason") or None,
                    "message": r.get("Message") or None,
                    "lastHeartbeatTime": parse_time(r.get("LastHeartbeatTime")),
                    "lastTransitionTime": parse_time(r.get("LastTransitionTime")),
                }
            )
        )
    status: dict[str, Any] = {"nodeInfo": node_info}
    if conds:
        status["conditions"] = conds
    cap = _quantities(t.get("Capacity"))
    if cap:
        status["capacity"] = cap
    alloc = _quantities(t.get("Allocatable"))
    if alloc:
        status["allocatable"] = alloc
    return {"kind": "Node", "metadata": md, "spec": spec, "status": status}


def node_pods(t: Node) -> list[tuple[str, str]]:
    """(namespace, pod) of a node describe's `Non-terminated Pods` table."""
    return [
        (r.get("Namespace", ""), r.get("Name", "")) for _, r in _table(t.get("Non-terminated Pods")) if r.get("Name")
    ]


def _workload(t: Node, kind: str, block: int) -> Described:
    md = _meta(t)
    spec: dict[str, Any] = {}
    replicas = t.val("Replicas") or t.val("Desired Number of Nodes Scheduled") or t.val("Parallelism")
    m = re.search(r"(\d+) desired", replicas or "") or re.match(r"^(\d+)", replicas or "")
    if m:
        spec["replicas"] = int(m.group(1))
    template = t.get("Pod Template")
    job_template = None
    if kind == "CronJob":
        job_template = t.get("Job Template") or t
        template = job_template.get("Pod Template") or template
    if template is not None:
        specs, _ = _containers(template.get("Containers"), block)
        ispecs, _ = _containers(template.get("Init Containers"), block)
        pspec: dict[str, Any] = {"containers": specs}
        if ispecs:
            pspec["initContainers"] = ispecs
        sel = template.get("Node-Selectors")
        if sel is not None and sel.values():
            pspec["nodeSelector"] = _kv_list(sel.values())
        tol = template.get("Tolerations")
        if tol is not None and tol.values():
            pspec["tolerations"] = _tolerations(tol.values())
        spec["template"] = {"spec": pspec}
    if kind == "CronJob":
        spec = {"schedule": t.val("Schedule"), "jobTemplate": {"spec": spec}}
    obj = {"kind": kind, "metadata": md, "spec": spec}
    return Described(kind, obj, _events(t, block, kind, md["namespace"], md["name"]), [])


def _events(
    t: Node, block: int, kind: str, namespace: str | None, name: str, containers: list[str] | None = None
) -> list[dict[str, Any]]:
    """The `Events:` table of a describe block as core/v1 Events with relative times."""
    ev_node = t.get("Events")
    if ev_node is None or not ev_node.rows:
        return []
    rows = ev_node.rows
    cols = _columns(rows[0][1])
    out: list[dict[str, Any]] = []
    for no, text in rows[1:]:
        if set(text.strip()) <= {"-", " "}:
            continue
        r = split_row(text, cols)
        if r.get("Type") not in ("Normal", "Warning") and "Age" in r and out:
            out[-1]["message"] = (out[-1].get("message") or "") + "\n" + text.strip()
            continue
        sub = r.get("SubobjectPath") or r.get("SubObjectPath") or None
        ev = event(
            kind,
            namespace,
            name,
            r.get("Type"),
            r.get("Reason"),
            r.get("Message"),
            r.get("From"),
            containers,
            no,
            subobject=sub,
        )
        if "Age" in r:
            m = _EVENT_AGE.match((r.get("Age") or "").strip())
            last = parse_age(m.group(1)) if m else None
            first = parse_age(m.group(3)) if m and m.group(3) else last
            if m and m.group(2):
                ev["count"] = int(m.group(2))
        else:  # before 1.10: FirstSeen LastSeen Count From SubobjectPath Type Reason Message
            last, first = parse_age(r.get("LastSeen")), parse_age(r.get("FirstSeen"))
            count = (r.get("Count") or "").strip()
            if count.isdigit():
                ev["count"] = int(count)
        if "Age" not in r:  # the oldest describers printed absolute times here
            for key, col, rel in (("lastTimestamp", "LastSeen", last), ("firstTimestamp", "FirstSeen", first)):
                t_abs = parse_time(r.get(col)) if rel is None else None
                if t_abs:
                    ev[key] = t_abs
        if last is not None:
            ev["lastTimestamp"] = Rel(last, block)
        if first is not None:
            ev["firstTimestamp"] = Rel(first, block)
        out.append(ev)
    return out


def event(
    kind: str,
    namespace: str | None,
    name: str,
    type_: str | None,
    reason: str | None,
    message: str | None,
    source: str | None,
    containers: list[str] | None,
    line: int,
    subobject: str | None = None,
) -> dict[str, Any]:
    """A core/v1 Event dict; the container is taken from a SUBOBJECT, else from the kubelet's own
    wording (`Created container x`, `Back-off restarting failed container x`), else the only one."""
    field_path = subobject or None
    if field_path is None and kind == "Pod" and message:
        for rx in _CONTAINER_MSG_STRICT:
            m = rx.match(message)
            if m:
                field_path = f"spec.containers{{{m.group(1)}}}"
                break
        if (
            field_path is None
            and containers
            and len(containers) == 1
            and (reason or "") not in ("FailedScheduling", "Scheduled", "Evicted", "FailedMount", "NotTriggerScaleUp")
        ):
            field_path = f"spec.containers{{{containers[0]}}}"
    src = (source or "").strip()
    if src.startswith("{") and src.endswith("}"):  # before 1.11: `{kubelet node-1}`, `{default-scheduler }`
        comp, _, host = src[1:-1].strip().partition(" ")
    else:
        comp, _, host = src.partition(",")
    ev: dict[str, Any] = {
        "kind": "Event",
        "metadata": {"name": f"{name}.l{line}", "namespace": namespace or ""},
        "involvedObject": _drop_none(
            {"kind": kind, "namespace": namespace or None, "name": name, "fieldPath": field_path}
        ),
        "reason": reason or None,
        "message": message,
        "type": type_ or None,
        "source": _drop_none({"component": comp.strip() or None, "host": host.strip() or None}),
    }
    return ev
