"""The API resources a dump server knows, and its failures as Kubernetes `Status` objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resource:
    """One API resource the server knows; `kind_file` names the dump file holding its objects."""

    name: str
    kind: str
    group: str
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    kind_file: str | None = None

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES: tuple[Resource, ...] = (
    Resource("nodes", "Node", "", "v1", False, ("no",), "nodes"),
    Resource("namespaces", "Namespace", "", "v1", False, ("ns",)),
    Resource("pods", "Pod", "", "v1", True, ("po",), "pods"),
    Resource("events", "Event", "", "v1", True, ("ev",), "events"),
    # asked by `kubectl cluster-info dump`; a dump never holds them, so they list empty
    Resource("services", "Service", "", "v1", True, ("svc",)),
    Resource("replicationcontrollers", "ReplicationController", "", "v1", True, ("rc",)),
    Resource("deployments", "Deployment", "apps", "v1", True, ("deploy",), "deployments"),
    Resource("replicasets", "ReplicaSet", "apps", "v1", True, ("rs",), "replicasets"),
    Resource("daemonsets", "DaemonSet", "apps", "v1", True, ("ds",), "daemonsets"),
    Resource("statefulsets", "StatefulSet", "apps", "v1", True, ("sts",), "statefulsets"),
    Resource("jobs", "Job", "batch", "v1", True, (), "jobs"),
    Resource("cronjobs", "CronJob", "batch", "v1", True, ("cj",), "cronjobs"),
    Resource("events", "Event", "events.k8s.io", "v1", True, ("ev",), "events"),
)

VERBS = ["get", "list"]
# what `kubectl get all` expands to (the real API server's "all" category)
ALL_CATEGORY = {
    "pods",
    "services",
    "replicationcontrollers",
    "deployments",
    "replicasets",
    "daemonsets",
    "statefulsets",
    "jobs",
    "cronjobs",
}


class ApiError(Exception):
    """An answer that is a Kubernetes `Status` failure rather than an object."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource.name} "{name}" not found', {"name": name, "kind": resource.name})
