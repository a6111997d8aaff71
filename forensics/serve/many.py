"""Several dumps, or several snapshots of one, served at once: one kube context each.

    forensics serve a.tgz b/                  contexts "a" and "b"
    forensics serve before=a.tgz after=b/     contexts named as given
    forensics serve dump/@0 dump/@-1          one snapshot each: contexts "dump@<snapshot>"
    forensics serve dump/ --all-snapshots     every snapshot of the dump, one context each

Each context is its own read-only server (`forensics.serve`) on its own 127.0.0.1 port; the written
kubeconfig names them all, the last one current, so `kubectl config get-contexts` lists them and
`kubectl --context b get pods` asks the second dump. Context names keep `[A-Za-z0-9._@-]`.
"""

from __future__ import annotations

import json
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

from forensics.errors import ForensicsError, UnusableInput
from forensics.read.dumpspec import parse_spec, pick_snapshot
from forensics.serve import IDLE_TIMEOUT, make_server, server_url
from forensics.serve.served import ServedDump, open_served

__all__ = ["Context", "kubeconfig_multi", "make_contexts", "serve_many"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")
_ARCHIVE = (".tar.gz", ".tar.zst", ".tgz", ".tar")


@dataclass
class Context:
    """One served dump (or snapshot): its kube context name and its bound server."""

    name: str
    path: Path
    snapshot: str
    server: ThreadingHTTPServer

    @property
    def url(self) -> str:
        return server_url(self.server)


def _stem(p: Path) -> str:
    name = p.resolve().name if p.name in ("", ".", "..") else p.name
    for suf in _ARCHIVE:
        if name.endswith(suf):
            return name[: -len(suf)]
    return name.rsplit(".", 1)[0] if "." in name and not p.is_dir() else name


def _clean(name: str) -> str:
    return _UNSAFE.sub("-", name).strip("-") or "dump"


def _split_name(arg: str) -> tuple[str | None, str]:
    """`NAME=PATH` names a context; a path that exists as written is always a path."""
    if "=" in arg and not Path(arg).exists():
        name, _, rest = arg.partition("=")
        if name and "/" not in name:
            return name, rest
    return None, arg


def make_contexts(
    args: list[str], *, all_snapshots: bool = False, port: int = 0, idle_timeout: float = IDLE_TIMEOUT
) -> list[Context]:
    """Open every dump and bind one server per context (not yet serving). `port` N gives N, N+1, ..."""
    wanted: list[tuple[str | None, Path, str | None]] = []
    for arg in args:
        name, rest = _split_name(arg)
        spec = parse_spec(rest)
        wanted.append((name, spec.path, spec.snapshot))
    out: list[Context] = []
    used: set[str] = set()
    opened: dict[Path, ServedDump] = {}
    try:
        for name, path, snap in wanted:
            served = opened.get(path) or open_served(path)
            opened[path] = served
            snaps = (
                list(served.snapshots)
                if all_snapshots and snap is None
                else [pick_snapshot(served.snapshots, snap, str(path))]
            )
            for s in snaps:
                base = _clean(name or _stem(path))
                if (snap is not None and name is None) or len(snaps) > 1:
                    base = _clean(f"{base}@{s}")
                ctx_name, i = base, 2
                while ctx_name in used:
                    ctx_name, i = f"{base}-{i}", i + 1
                used.add(ctx_name)
                want = port + len(out) if port else 0
                try:
                    server = make_server(path, want, s, served=served, idle_timeout=idle_timeout)
                except OSError as e:
                    raise ForensicsError(f"cannot listen on 127.0.0.1:{want}: {e.strerror or e}") from None
                out.append(Context(ctx_name, path, s, server))
    except BaseException:
        for c in out:
            c.server.server_close()
        raise
    if not out:
        raise UnusableInput("no dump to serve")
    return out


def kubeconfig_multi(contexts: list[tuple[str, str]], current: str | None = None) -> str:
    """A kubeconfig with one cluster, user and context per (name, url); plain HTTP, no credentials.
    Names are written as JSON strings (valid YAML whatever they hold)."""
    q = json.dumps
    lines = ["apiVersion: v1", "kind: Config", "clusters:"]
    for name, url in contexts:
        lines += [f"- name: {q(name)}", "  cluster:", f"    server: {q(url)}"]
    lines.append("contexts:")
    for name, _ in contexts:
        lines += [f"- name: {q(name)}", "  context:", f"    cluster: {q(name)}", f"    user: {q(name)}"]
    lines.append(f"current-context: {q(current or contexts[-1][0])}")
    lines.append("users:")
    for name, _ in contexts:
        lines += [f"- name: {q(name)}", "  user: {}"]
    return "\n".join(lines) + "\n"


def serve_many(
    args: list[str],
    *,
    all_snapshots: bool = False,
    port: int = 0,
    ready: Callable[[list[Context], str], None] | None = None,
    kubeconfig_out: Path | None = None,
    idle_timeout: float = IDLE_TIMEOUT,
) -> None:
    """Serve every context until interrupted (Ctrl-C or SIGTERM); `ready(contexts, kubeconfig_text)` once
    all listen."""
    contexts = make_contexts(args, all_snapshots=all_snapshots, port=port, idle_timeout=idle_timeout)
    text = kubeconfig_multi([(c.name, c.url) for c in contexts])
    if kubeconfig_out is not None:  # whole or not at all: a reader polling for it never sees half
        tmp = Path(kubeconfig_out).with_name(f".{Path(kubeconfig_out).name}.tmp")
        tmp.write_text(text)
        tmp.replace(kubeconfig_out)
    threads = [threading.Thread(target=c.server.serve_forever, daemon=True) for c in contexts]
    for t in threads:
        t.start()
    if ready is not None:
        ready(contexts, text)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        # `kill` (SIGTERM) stops as cleanly as Ctrl-C; SIGINT keeps its default (KeyboardInterrupt)
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for c in contexts:
            c.server.shutdown()
            c.server.server_close()
