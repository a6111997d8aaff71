"""HTTP for the dump server: routing, bounded connections, bodies drained, and the one-call helpers
(`make_server`, `serve`, kubeconfigs)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from forensics.serve.model import DumpAPI
from forensics.serve.resources import ApiError, Resource
from forensics.serve.served import ServedDump
from forensics.serve.tables import TABLES

IDLE_TIMEOUT = 30.0  # seconds a connection may wait for (the rest of) a request (`serve --idle-timeout`)
MAX_CONNECTIONS = 256
_LOG_SLOTS = threading.BoundedSemaphore(8)
_MAX_BODY = 1024 * 1024  # a read-only server has no use for bodies; larger ones end the connection


class Handler(BaseHTTPRequestHandler):
    server_version = "cluster-forensics-serve"
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT  # seconds a connection may sit without a complete request (half-open, idle)
    api: DumpAPI

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, code: int, body: bytes, ctype: str, warning: str | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("X-Content-Type-Options", "nosniff")
        if warning:
            # a Kubernetes API warning: kubectl prints it on stderr ("Warning: ..."), the body stays exact
            self.send_header("Warning", f'299 - "{warning}"')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, code: int, obj: Any) -> None:
        self._send(code, json.dumps(obj).encode(), "application/json")

    def do_HEAD(self) -> None:
        self.do_GET()

    def _drain_body(self) -> None:
        """Read the request's body before answering, whatever the method: on a kept-alive connection
        an unread body (kubectl sends `{"propagationPolicy":"Background"}` with a DELETE) would be
        parsed as the next request. A body too large to read, or of unknown length (chunked), ends
        the connection after the answer instead."""
        if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
            self.close_connection = True
            return
        try:
            left = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return
        if left < 0 or left > _MAX_BODY:
            self.close_connection = True
            return
        while left > 0:
            chunk = self.rfile.read(min(left, 64 * 1024))
            if not chunk:
                self.close_connection = True
                return
            left -= len(chunk)

    def _refuse(self) -> None:
        self._drain_body()
        self._json(405, ApiError(405, "MethodNotAllowed", "this server is a read-only view of a dump").status())

    do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

    def do_GET(self) -> None:
        self._drain_body()
        try:
            self._route()
        except ApiError as err:
            self._json(err.code, err.status())
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # noqa: BLE001 - a bad dump object becomes a 500 Status, never a dead server
            self._json(500, ApiError(500, "InternalError", f"{type(exc).__name__}: {exc}").status())

    def admit(self, res: Resource, namespace: str | None, name: str | None, sub: str | None) -> None:
        """Called before a resource (or `pods/log` as `sub`) is answered; every request is admitted.
        A subclass may raise `ApiError` or wait here (the tests play a forbidden or a slow API server
        this way, `make_server(handler=...)`)."""

    def _route(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.split("/") if p]  # kubectl percent-encodes names
        api = self.api
        if query.get("watch") in ("true", "1"):
            raise ApiError(405, "MethodNotAllowed", "watch is not supported by a dump")
        if parts == ["version"]:
            return self._json(200, api.version())
        if parts == ["api"]:
            return self._json(
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": self.headers.get("Host", "127.0.0.1")}
                    ],
                },
            )
        if parts == ["apis"]:
            return self._json(
                200,
                {
                    "kind": "APIGroupList",
                    "apiVersion": "v1",
                    "groups": [
                        {
                            "name": g,
                            "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                            "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]},
                        }
                        for g, vs in api.groups().items()
                    ],
                },
            )
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 2:
            if len(parts) == 2:
                vs = api.groups().get(parts[1])
                if not vs:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                return self._json(
                    200,
                    {
                        "kind": "APIGroup",
                        "apiVersion": "v1",
                        "name": parts[1],
                        "versions": [{"groupVersion": f"{parts[1]}/{v}", "version": v} for v in vs],
                        "preferredVersion": {"groupVersion": f"{parts[1]}/{vs[0]}", "version": vs[0]},
                    },
                )
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return self._json(200, api.resource_list(group, version))
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        res = api.find(group, version, rest[0])
        if len(rest) == 1 and namespace is not None and not res.namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        sub = rest[2] if len(rest) == 3 else None
        if len(rest) > 3 or (sub is not None and not (res.name == "pods" and sub == "log")):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        self.admit(res, namespace, rest[1] if len(rest) > 1 else None, sub)
        if sub == "log":
            assert namespace is not None
            with _LOG_SLOTS:  # at most a few logs in memory at once, however many clients ask
                data, warning = api.log(namespace, rest[1], query)
                return self._send(200, data, "text/plain; charset=utf-8", warning)
        if len(rest) == 2:
            return self._json(200, api.get(res, namespace if res.namespaced else None, rest[1]))
        table = "as=Table" in (self.headers.get("Accept") or "") and res.name in TABLES
        items = api.select(res, namespace, query, table=table)
        if table:
            return self._json(200, api.table_body(res, items))
        return self._json(200, api.list_body(res, items))


class _Server(ThreadingHTTPServer):
    """One thread per connection, at most MAX_CONNECTIONS at once: a connection beyond that is answered
    503 and closed at once, so a flood of (idle) connections cannot exhaust the process."""

    request_queue_size = 512  # listen backlog: 200 clients connecting at once are all accepted

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            try:
                request.settimeout(1)
                body = json.dumps(ApiError(503, "ServiceUnavailable", "too many connections").status()).encode()
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def make_server(
    dump_path: Path,
    port: int = 0,
    snapshot: str | None = None,
    served: ServedDump | None = None,
    handler: type[Handler] | None = None,
    idle_timeout: float = IDLE_TIMEOUT,
) -> ThreadingHTTPServer:
    """A ready (bound, not yet serving) server on 127.0.0.1; `server.server_address[1]` is the port.
    `handler`: a subclass of `Handler` (one that overrides `admit`), for tests. `idle_timeout`: seconds a
    connection may sit without a complete request before it is closed.

    Raises `UnusableInput` when the dump has no snapshot (or not the one asked for). `served`: an
    already opened dump (`forensics.serve.served.open_served`), when several snapshots of it are served.
    """
    api = DumpAPI.load(Path(dump_path), snapshot, served=served)
    bound = type("DumpHandler", (handler or Handler,), {"api": api, "timeout": idle_timeout})
    server = _Server(("127.0.0.1", port), bound)
    server.daemon_threads = True
    server.api = api  # type: ignore[attr-defined]
    return server


def server_url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def kubeconfig_text(url: str, name: str = "forensics") -> str:
    """A kubeconfig for plain HTTP to `url` with no credentials (kubectl wants `user: {}`)."""
    return (
        f"apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {url}\n"
        f"contexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n"
        f"current-context: {name}\nusers:\n- name: {name}\n  user: {{}}\n"
    )


def write_kubeconfig(path: Path, url: str) -> None:
    path.write_text(kubeconfig_text(url))


def serve(
    dump_path: Path,
    port: int = 0,
    snapshot: str | None = None,
    ready: Callable[[str], None] | None = None,
    kubeconfig_out: Path | None = None,
) -> None:
    """Serve a dump until interrupted. `ready(url)` is called once the socket listens."""
    server = make_server(dump_path, port, snapshot)
    for problem in server.api.problems:  # type: ignore[attr-defined]
        sys.stderr.write(f"serve: {problem}\n")
    url = server_url(server)
    if kubeconfig_out is not None:
        write_kubeconfig(Path(kubeconfig_out), url)
    if ready is not None:
        ready(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def start_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Run `server.serve_forever` in a daemon thread (tests call `server.shutdown()` when done)."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread
