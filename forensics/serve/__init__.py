"""A read-only Kubernetes API server that answers from a dump, for the real `kubectl`.

`forensics serve DUMP` lets an engineer run `kubectl get/describe/logs/cluster-info dump` offline
against what a customer collected, and it is how the collectors are tested end to end (they run
against this server with the real kubectl).

What it answers (enough for what kubectl 1.32 asks for get, describe, logs and cluster-info dump):

    GET /version /api /apis /api/v1 /apis/<group>/<version>       legacy discovery, with shortNames
    GET /api/v1/<resource>                                         cluster-wide list
    GET /api/v1/namespaces/<ns>/<resource>[/<name>]                namespaced list or one object
    GET /apis/<group>/<version>/[namespaces/<ns>/]<resource>[/<name>]
    GET /api/v1/namespaces/<ns>/pods/<pod>/log?container=C[&previous=true][&tailLines=N][&limitBytes=N]

Errors are real `Status` objects (404 NotFound, 400 BadRequest, 403 Forbidden, 405). A request for
a Table (`Accept: ...;as=Table`) gets a Table with kubectl's usual columns for the collected kinds and
the plain list for the rest; kubectl falls back to NAME/AGE columns for a plain list. Namespaces are derived from the
namespaces the objects live in. Nothing is ever written; the server binds 127.0.0.1 only.

Every request's body is read before it is answered (kubectl sends one with DELETE), so a kept-alive
connection never reads a body as the next request. Ages are as of the snapshot: the Table columns
are computed against the snapshot's time, and the events `kubectl describe` asks for (selected by
`involvedObject.uid`, or by name and namespace as a plain list for an object without a uid) are
answered with their times moved forward by (now - snapshot time), because kubectl computes
describe's "Age" against its own clock; the original times stay in the annotation
`cluster-forensics/original-times`. `kubectl get events -o json` sees the times unchanged.

A dump is hostile input here too: each object is decoded on its own (one that is not JSON, nests
absurdly deep or has no string name is left out and reported on stderr at start; a table row of a
wrongly-typed object reads `<invalid object>`), connections idle past `IDLE_TIMEOUT` are closed, at
most `MAX_CONNECTIONS` are served at once (more get 503), and a log is served up to its last
`LOG_BYTES` with a `Warning` header (kubectl prints it). Log bytes are otherwise handed to
`kubectl logs` exactly as collected, control characters included: that is what kubectl shows for a
live cluster too, and the terminal is kubectl's.

The modules, one job each: `resources` (the kinds served, `ApiError`), `selectors` (field and label
selectors), `tables` (kubectl's columns), `model` (`DumpAPI`: one snapshot's objects, answered),
`server` (HTTP, connection bounds, `make_server`/`serve`). `Handler.admit` is where a subclass
refuses or delays a request; the product admits every one.
"""

from __future__ import annotations

from forensics.serve.model import DumpAPI
from forensics.serve.resources import RESOURCES, ApiError, Resource
from forensics.serve.server import (
    IDLE_TIMEOUT,
    MAX_CONNECTIONS,
    Handler,
    kubeconfig_text,
    make_server,
    serve,
    server_url,
    start_in_thread,
    write_kubeconfig,
)

__all__ = [
    "IDLE_TIMEOUT",
    "MAX_CONNECTIONS",
    "RESOURCES",
    "ApiError",
    "DumpAPI",
    "Handler",
    "Resource",
    "kubeconfig_text",
    "make_server",
    "serve",
    "server_url",
    "start_in_thread",
    "write_kubeconfig",
]
