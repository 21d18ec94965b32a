"""Running Syndicate under waitress: the server settings in one place, and our changes to it.

- Limits from the ``SERVER_*`` settings (config.py), with poll() instead of select() (which
  fails beyond 1,024 file descriptors), the open-file limit raised to fit the connection limit,
  and waitress's body limit following ``MAX_CONTENT_LENGTH``.
- A header deadline: a client that takes longer than ``SERVER_HEADER_TIMEOUT`` seconds to send
  a request's headers (slowloris, one byte now and then) is disconnected; waitress alone only
  closes connections that are wholly silent.
- The header gate (gate.py) asked as soon as a request's headers are parsed, so a body the API
  would refuse is never read.
- Errors waitress answers itself (bad request, headers or body too large) in the API's JSON
  under /api/, with our security headers everywhere.
- Keep-alive after a bodiless response: waitress 3.0 closes the connection after every
  response without a body that carries no Content-Length (304, 204), although HTTP/1.1 lets
  such a response end at its headers; feed readers revalidate all day.
- The "Task queue depth" warning, logged by waitress for every request that has to wait for
  a thread, logged at most once per interval (log.py).
- Write slots: at most ``SERVER_WRITE_THREADS`` threads run API writes at once; another write
  waits up to ``WRITE_SLOT_WAIT`` for a slot, or gets 503 with Retry-After at once while the
  running ones are held up by another process's lock (``WRITE_LOCK_TIMEOUT``). Writes stuck
  behind a lock then hold a few threads, never all of them, and readers always find one free.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import resource
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

import waitress
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, crack_first_line
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import Error, RequestEntityTooLarge

from . import log, security
from .gate import WRITE_METHODS, HeaderGate, Refusal, is_api_path

logger = logging.getLogger(__name__)

# Room for chunk framing on top of MAX_CONTENT_LENGTH: waitress counts a chunked body's raw
# bytes, and the application enforces the exact limit on the decoded body.
BODY_FRAMING_ROOM = 64 * 1024
# After refusing a body, the connection reads and throws away what the client still sends, for
# at most this long and this much, before closing (nginx's "lingering close"): closing with
# unread bytes would reset the connection, and a client sending its body eagerly could lose
# the answer.
LINGER_SECONDS = 5.0
LINGER_BYTES = 64 * 1024 * 1024
# Seconds an API write waits for a free write slot before its 503, and how long a running write
# may hold its slot before it counts as held up by a lock (writes take milliseconds otherwise);
# the Retry-After of that 503.
WRITE_SLOT_WAIT = 0.5
WRITE_SLOT_RETRY_AFTER = 5
# File descriptors beyond one per connection: the listening socket, waitress's trigger pipe,
# the SQLite files of every thread, log files, bodies spooled to temporary files.
FD_HEADROOM = 256


class _Refused(Error):
    """A refusal from the header gate, in waitress's error shape."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.code = refusal.status
        self.reason = _REASONS.get(refusal.status, "Refused")
        self.headers = refusal.headers


_REASONS = {401: "Unauthorized", 403: "Forbidden", 413: "Content Too Large"}


class _Parser(HTTPRequestParser):
    """waitress's parser, plus the time a request began and the header gate."""

    gate: HeaderGate | None = None  # set on a per-server subclass
    _gated = False

    def __init__(self, adj) -> None:
        super().__init__(adj)
        self.started = time.monotonic()
        self.head = b""  # the first bytes, to name the path of a request waitress cannot parse

    def received(self, data: bytes) -> int:
        if not self.headers_finished and len(self.head) < 4096:
            self.head += data[: 4096 - len(self.head)]
        consumed = super().received(data)
        if self.headers_finished and not self._gated:
            self._gated = True
            self._ask_gate()
            if self.error is not None and self.has_body:
                return len(data)  # the start of a refused body: not a next request to parse
        return consumed

    @property
    def has_body(self) -> bool:
        return self.content_length > 0 or self.chunked

    def _ask_gate(self) -> None:
        if self.gate is None or (self.error is not None and not isinstance(self.error, RequestEntityTooLarge)):
            return
        refusal = self.gate.check(
            self.command,
            self.path,
            self.content_length,
            self.chunked,
            self.headers.get("AUTHORIZATION", ""),
        )
        if refusal is not None:
            self.error = _Refused(refusal)
            self.completed = True
            self.expect_continue = False  # never invite a body we will not read
            self.connection_close = True


class _BodylessKeepAliveTask(WSGITask):
    def set_close_on_finish(self) -> None:
        if (
            not self.wrote_header
            and not self.has_body
            and self.version == "1.1"
            and self.request.headers.get("CONNECTION", "").lower() != "close"
        ):
            return  # a 304/204 needs no length to be delimited: keep the connection
        super().set_close_on_finish()


class _ErrorTask(ErrorTask):
    """waitress's own refusals: JSON ``{"error", "status"}`` under /api/ (as errors.py answers
    there), plain text elsewhere; security headers on both."""

    def execute(self) -> None:
        error = self.request.error
        status, headers, body = error.to_response(self.channel.server.adj.ident)
        path = _request_path(self.request)
        if path is not None and is_api_path(path):
            message = error.body if isinstance(error, _Refused) else f"{error.reason}: {error.body}"
            body = _json_error(error.code, message)
            headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
        self.status = status
        self.response_headers.extend(headers)
        self.response_headers.extend(getattr(error, "headers", {}).items())
        self.response_headers.extend(self.channel.server.security_headers)
        self.set_close_on_finish()
        # The client may still be sending (a refused body, headers over the limit): drain it
        # after the answer rather than reset the connection under it.
        self.channel.linger_pending = True
        self.content_length = len(body)
        self.write(body)


def _request_path(request: _Parser) -> str | None:
    """The path of a request, even one waitress refused before parsing it (headers too large,
    a malformed header line); None when its request line itself is unreadable."""
    head = getattr(request, "head", b"")
    line = head.split(b"\r\n", 1)[0] if b"\r\n" in head else b""
    try:
        _command, uri, _version = crack_first_line(line)
    except Exception:  # waitress's ParsingError and decoding errors alike: no path to tell
        return None
    return uri.split(b"?", 1)[0].decode("latin-1") or None


def _json_error(status: int, message: str) -> bytes:
    """The API's error body, for answers made outside Flask."""
    return json.dumps({"error": message, "status": status}).encode()


class WriteSlots:
    """WSGI middleware: at most ``slots`` API writes run at once. Another write waits up to
    ``wait`` seconds for a slot, unless a running one has held its slot longer than that (it
    is waiting on another process's lock): then it is answered 503 at once, so writes stuck
    behind a lock hold ``slots`` threads and never starve readers. Reads pass straight through."""

    def __init__(self, app: Any, slots: int, wait: float = WRITE_SLOT_WAIT, headers: list | None = None) -> None:
        self.app = app
        self.slots = threading.BoundedSemaphore(slots)
        self.wait = wait
        self.headers = headers or []
        self._started: dict[int, float] = {}  # thread -> when it took its slot
        self._guard = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] not in WRITE_METHODS or not is_api_path(environ.get("PATH_INFO", "")):
            return self.app(environ, start_response)
        if not self._acquire():
            return self._busy(start_response)
        try:
            # Flask has run the view (and so the write) by the time it returns.
            return self.app(environ, start_response)
        finally:
            with self._guard:
                del self._started[threading.get_ident()]
            self.slots.release()

    def _acquire(self) -> bool:
        if not self.slots.acquire(blocking=False):
            with self._guard:
                stuck = bool(self._started) and min(self._started.values()) < time.monotonic() - self.wait
            if stuck or not self.slots.acquire(timeout=self.wait):
                return False
        with self._guard:
            self._started[threading.get_ident()] = time.monotonic()
        return True

    def _busy(self, start_response: Any) -> list[bytes]:
        body = _json_error(503, "too many writes at once; try again shortly")
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("Retry-After", str(WRITE_SLOT_RETRY_AFTER)),
            *self.headers,
        ]
        start_response("503 Service Unavailable", headers)
        return [body]


class _Channel(HTTPChannel):
    task_class = _BodylessKeepAliveTask
    error_task_class = _ErrorTask
    parser_class = _Parser
    linger_pending = False  # a body was refused: drain it after the answer instead of resetting
    linger_until = 0.0  # while draining: when to give up (time.monotonic())
    drained = 0

    def readable(self) -> bool:
        return bool(self.linger_until) or super().readable()

    def writable(self) -> bool:
        return not self.linger_until and super().writable()

    def handle_read(self) -> None:
        if not self.linger_until:
            return super().handle_read()
        try:
            data = self.socket.recv(65536)
        except OSError:
            data = b""
        self.drained += len(data)
        if not data or self.drained > LINGER_BYTES or time.monotonic() > self.linger_until:
            self.linger_until = 0.0
            self.handle_close()

    def handle_close(self) -> None:
        if self.linger_pending and not self.linger_until and not self.total_outbufs_len and self.connected:
            self.linger_pending = False
            try:
                self.socket.shutdown(socket.SHUT_WR)  # the answer is complete: FIN, then drain
            except OSError:
                return super().handle_close()
            self.linger_until = time.monotonic() + LINGER_SECONDS
            self.will_close = self.close_when_flushed = False
            return None
        self.linger_until = 0.0
        return super().handle_close()


def server_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """waitress adjustments from our settings (config.py documents each)."""
    channel_timeout, header_timeout = config["SERVER_CHANNEL_TIMEOUT"], config["SERVER_HEADER_TIMEOUT"]
    return {
        "threads": config["SERVER_THREADS"],
        "connection_limit": config["SERVER_CONNECTION_LIMIT"],
        "channel_timeout": channel_timeout,
        # How often both timeouts are looked at: often enough to keep them within ~25 %.
        "cleanup_interval": max(1, min(channel_timeout, header_timeout) // 4),
        "max_request_header_size": config["SERVER_MAX_HEADER_SIZE"],
        "max_request_body_size": config["MAX_CONTENT_LENGTH"] + BODY_FRAMING_ROOM,
        "backlog": config["SERVER_BACKLOG"],
        "asyncore_use_poll": True,
    }


def fit_open_files(connection_limit: int) -> int:
    """Raise the soft open-file limit to what ``connection_limit`` connections need, up to the
    hard limit; returns the connection limit that fits (lower, with a warning, if the hard
    limit is too low)."""
    needed = connection_limit + FD_HEADROOM
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft != resource.RLIM_INFINITY and soft < needed:
        fitted = max(16, soft - FD_HEADROOM)
        logger.warning(
            "the open-file limit (%d, hard limit %d) is too low for SERVER_CONNECTION_LIMIT=%d: "
            "accepting at most %d connections (raise it with ulimit -n or LimitNOFILE=)",
            soft,
            hard,
            connection_limit,
            fitted,
        )
        return fitted
    return connection_limit


M_ARENA_MAX = -8  # glibc's mallopt() parameter number (malloc.h)
DEFAULT_MALLOC_ARENAS = 2


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's per-thread memory pools at ``arenas`` for the threads started from now on
    (0: leave glibc's default, 8 per core). Each worker thread otherwise gets a pool of its own
    that keeps freed memory: 60-85 MB of a serving process's resident memory on a 2-core box
    (bench/memory_profile.py). True when applied (glibc only; elsewhere nothing happens)."""
    if arenas <= 0:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to cap
        return False


def _maintenance_with_header_deadline(server, header_timeout: float):
    """waitress's maintenance (closing silent connections), plus: close a connection whose
    current request began more than ``header_timeout`` seconds ago and still has no complete
    headers, however it trickles."""
    waitress_maintenance = server.maintenance

    def maintenance(now: float) -> None:
        waitress_maintenance(now)
        cutoff = time.monotonic() - header_timeout
        for channel in list(server.active_channels.values()):
            request = channel.request
            if request is not None and not request.headers_finished and request.started < cutoff:
                channel.will_close = True
            if channel.linger_until and channel.linger_until < time.monotonic():
                channel.handle_close()  # a silent client after a refusal

    return maintenance


def create_server(app: Any, host: str = "127.0.0.1", port: int = 8000, threads: int | None = None, **settings: Any):
    """A waitress server for ``app`` with our changes. With our Flask app, the limits come from
    its settings (``settings`` override them) and the header gate guards its API; any other
    WSGI app (the benchmarks' bare floor) gets waitress's defaults plus the same changes, so
    ratios compare like with like."""
    config = getattr(app, "config", None)
    ours = isinstance(config, Mapping) and "SERVER_CONNECTION_LIMIT" in config
    adjustments = {**(server_settings(config) if ours else {"asyncore_use_poll": True}), **settings}
    if threads is not None:
        adjustments["threads"] = threads
    adjustments.setdefault("threads", 8)
    adjustments["connection_limit"] = fit_open_files(adjustments.get("connection_limit", 100))
    # Before waitress starts its worker threads; the benchmarks' floor gets the same pools.
    limit_malloc_arenas(config["SERVER_MALLOC_ARENAS"] if ours else DEFAULT_MALLOC_ARENAS)
    policy = (config.get("CONTENT_SECURITY_POLICY") if ours else "") or security.CONTENT_SECURITY_POLICY
    headers = list(security.security_headers(policy).items())
    if ours:
        app = WriteSlots(app, config["SERVER_WRITE_THREADS"], headers=headers)
    server = waitress.create_server(app, host=host, port=port, ident="Syndicate", **adjustments)
    gate = (
        HeaderGate(config["DATABASE"], config["MAX_CONTENT_LENGTH"], inboxes=bool(config.get("FEDIVERSE_ENABLED")))
        if ours
        else None
    )
    server.header_gate = gate
    parser = type("_Parser", (_Parser,), {"gate": gate})
    server.channel_class = type("_Channel", (_Channel,), {"parser_class": parser})
    server.security_headers = headers
    if ours:
        server.maintenance = _maintenance_with_header_deadline(server, config["SERVER_HEADER_TIMEOUT"])
    log.quiet_queue_warnings()
    return server


def serve(app: Any, host: str, port: int, threads: int | None = None, **settings: Any) -> None:
    server = create_server(app, host=host, port=port, threads=threads, **settings)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if server.header_gate is not None:
            server.header_gate.close()
