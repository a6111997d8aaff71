"""A dump server that plays a forbidden or a slow API server, for the tests of what meets one
(collectors, kubectl). The product admits every request; this subclass of its handler does not."""

from __future__ import annotations

import time
from collections.abc import Iterable

from forensics.serve import ApiError, Handler, Resource


def faulty(forbid: Iterable[str] = (), slow: dict[str, float] | None = None) -> type[Handler]:
    """A handler that answers 403 for the resources in `forbid` (`pods/log` names the log subresource)
    and waits `slow[name]` seconds before answering a resource (`log` names the pod logs)."""
    refused, delays = frozenset(forbid), dict(slow or {})

    class Faulty(Handler):
        def admit(self, res: Resource, namespace: str | None, name: str | None, sub: str | None) -> None:
            if res.name in refused or (sub and f"{res.name}/{sub}" in refused):
                verb = "get" if name is not None else "list"
                what = f"{res.name}/{sub}" if sub else res.name
                scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
                # the wording of the real API server's RBAC refusal, which kubectl prints as is
                raise ApiError(
                    403,
                    "Forbidden",
                    f'{what} is forbidden: User "system:anonymous" cannot {verb} '
                    f'resource "{what}" in API group "{res.group}" {scope}',
                    {"kind": res.name},
                )
            delay = delays.get("log" if sub else res.name)
            if delay:
                time.sleep(delay)

    return Faulty
