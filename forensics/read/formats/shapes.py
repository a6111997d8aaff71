"""Objects without `kind`/`apiVersion`, recognised by their shape, and old internal-version JSON.

Some collectors save objects bare: the OpenShift Insights Operator writes each Pod as
`config/pod/<ns>/<pod>.json` and each Node as `config/node/<node>.json` with only `metadata`, `spec`
and `status`; troubleshoot's `runPod` collector saves the pod it ran as `<name>/<name>.json`. Their
kind is plain from the fields only that kind has:

    Pod    spec.containers (a list), or status.containerStatuses / status.phase with metadata
    Node   status.nodeInfo, or spec.podCIDR / spec.providerID with status.capacity
    Event  involvedObject or regarding, with reason

kubectl before 1.3 could print the *internal* version of objects: Go field names (`Items`,
`ObjectMeta`, `Status`, `ContainerStatuses`) and no `kind`. Its field names and value shapes differ
from every versioned API, so it is not decoded: `internal_version` recognises it so that the loader
says so instead of dropping the file silently.
"""

from __future__ import annotations

from typing import Any

# the kind file name of `forensics.read.formats.common.OBJECT_KINDS` each shape maps to
POD, NODE, EVENT = "pods", "nodes", "events"


def kind_by_shape(obj: Any) -> str | None:
    """The kind file name (`pods`, `nodes`, `events`) a kind-less object has the shape of, else None."""
    if not isinstance(obj, dict) or obj.get("kind"):
        return None
    meta = obj.get("metadata")
    raw_spec, raw_status = obj.get("spec"), obj.get("status")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    status: dict[str, Any] = raw_status if isinstance(raw_status, dict) else {}
    if not isinstance(meta, dict) or not meta.get("name"):
        return None
    if isinstance(status.get("nodeInfo"), dict) or (
        ("podCIDR" in spec or "providerID" in spec) and isinstance(status.get("capacity"), dict)
    ):
        return NODE
    if (
        isinstance(spec.get("containers"), list)
        or "containerStatuses" in status
        or ("phase" in status and ("nodeName" in spec or "podIP" in status or "conditions" in status))
    ):
        return POD
    if isinstance(obj.get("involvedObject") or obj.get("regarding"), dict) and obj.get("reason"):
        return EVENT
    return None


def internal_version(doc: Any) -> bool:
    """Whether `doc` is kubectl's old internal-version JSON (Go field names, no kind)."""
    if not isinstance(doc, dict) or "kind" in doc or "apiVersion" in doc:
        return False
    keys = set(doc)
    if "Items" in keys and isinstance(doc.get("Items"), list):
        return True
    return bool(keys & {"ObjectMeta", "TypeMeta"}) or ({"Spec", "Status"} <= keys)
