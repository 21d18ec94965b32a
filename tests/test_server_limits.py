"""`syndicate serve` under hostile connections: a thousand idle or half-sent requests do not
keep readers out, slow senders are cut off, the open-file limit fits the connection limit, and
waitress's queue warning is logged sparingly. Real server process, real sockets."""

from __future__ import annotations

import http.client
import logging
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy.stack import free_port, stop_processes, wait_for_port
from syndicate import log
from syndicate.server import FD_HEADROOM, fit_open_files

ROOT = Path(__file__).resolve().parent.parent
HELD = 1000


@pytest.fixture
def serve(db_copy, tmp_path):
    """Start `syndicate serve` in its own process with extra options; yields its port."""
    procs: list[subprocess.Popen] = []

    def start(*options: str) -> int:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
        env.update(SYNDICATE_SITE_URL="https://news.example.com", PYTHONPATH=str(ROOT))
        logfile = tmp_path / f"serve-{port}.log"
        with open(logfile, "wb") as out:
            args = [sys.executable, "-m", "syndicate", "--database", str(db_copy), "serve", "--port", str(port)]
            proc = subprocess.Popen([*args, *options], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        procs.append(proc)
        wait_for_port(port, proc, logfile)
        return port

    yield start
    stop_processes(procs)


def get(port: int, path: str = "/", timeout: float = 10.0) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


def hold_half_requests(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that each sent the start of a request and nothing more."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(count + 256, hard), hard))
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: news.example.com\r\nUser-Agent: slow")
        held.append(sock)
    return held


def is_closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_a_thousand_half_sent_requests_do_not_keep_readers_out(serve):
    port = serve()
    held = hold_half_requests(port, HELD)
    try:
        # Every held connection was accepted (none is waiting in the backlog) and the site answers.
        for _ in range(3):
            status, _elapsed = get(port, timeout=10)
            assert status == 200
        # The held connections are still open: nothing was dropped to make room.
        assert not any(is_closed_by_server(sock, 0.001) for sock in held[:50])
    finally:
        for sock in held:
            sock.close()


def test_slow_senders_are_cut_off_and_idle_connections_closed(serve):
    port = serve("--header-timeout", "2", "--channel-timeout", "3")
    trickler = socket.create_connection(("127.0.0.1", port))
    idle = socket.create_connection(("127.0.0.1", port))
    trickler.sendall(b"GET / HTTP/1.1\r\n")
    started = time.monotonic()
    closed = False
    while time.monotonic() - started < 8 and not closed:
        try:
            trickler.sendall(b"X-Slow: 1\r\n")  # a header line every 0.2 s: never silent
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        closed = is_closed_by_server(trickler, 0.2)
    assert closed, "a client trickling its headers was never disconnected"
    assert time.monotonic() - started < 6  # 2 s deadline, checked every second
    assert is_closed_by_server(idle, 6)  # a silent connection goes after the channel timeout
    assert get(port)[0] == 200
    trickler.close()
    idle.close()


def test_the_open_file_limit_is_raised_to_fit_the_connection_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        low = 512
        resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
        wanted = 2000
        fitted = fit_open_files(wanted)
        now_soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if hard == resource.RLIM_INFINITY or hard >= wanted + FD_HEADROOM:
            assert fitted == wanted and now_soft >= wanted + FD_HEADROOM
        else:  # the hard limit caps it: fewer connections, never more than the descriptors allow
            assert fitted + FD_HEADROOM <= now_soft == hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_queue_warning_is_logged_once_per_interval(app, live_server, caplog):
    server = live_server(app, threads=1)
    installed = [f for f in logging.getLogger(log.QUEUE_LOGGER).filters if isinstance(f, log.RateLimit)]
    assert len(installed) == 1, "the server did not rate-limit waitress's queue warning"
    limit = installed[0]
    limit.next_at, limit.dropped = float("-inf"), 0  # as if the last warning were long ago
    caplog.set_level(logging.WARNING, logger=log.QUEUE_LOGGER)

    # 30 requests sent at once to one thread: each one that finds it busy makes waitress warn.
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(30)]
    for sock in socks:
        sock.sendall(b"GET /search?q=storm HTTP/1.1\r\nHost: news.example.com\r\nConnection: close\r\n\r\n")
    for sock in socks:
        while sock.recv(65536):
            pass
        sock.close()
    queue_lines = [r for r in caplog.records if r.name == log.QUEUE_LOGGER]
    assert len(queue_lines) == 1 and "Task queue depth" in queue_lines[0].getMessage()
    assert limit.dropped > 0  # waitress did warn again and again; the filter held them back


def test_the_next_queue_warning_says_how_many_were_held_back():
    now = [0.0]
    limit = log.RateLimit(interval=60, clock=lambda: now[0])
    logger = logging.getLogger("syndicate.test.ratelimit")
    logger.addFilter(limit)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        for depth in range(1, 1001):
            logger.warning("Task queue depth is %d", depth)
        now[0] = 61.0
        logger.warning("Task queue depth is %d", 3)
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(limit)
    assert [r.getMessage() for r in records] == [
        "Task queue depth is 1",
        "Task queue depth is 3 (999 more such warnings since the last one logged)",
    ]


def test_a_bad_server_limit_stops_start_up_with_its_name(tmp_path, monkeypatch):
    from syndicate.config import ConfigError
    from tests.conftest import make_app

    monkeypatch.setenv("SYNDICATE_SERVER_HEADER_TIMEOUT", "0")
    with pytest.raises(ConfigError, match="SERVER_HEADER_TIMEOUT must be a whole number from 1 to 3600"):
        make_app(tmp_path / "x.db")


def test_worker_threads_share_a_few_memory_pools():
    # glibc keeps a pool per thread by default (8 per core), each holding freed memory; serve
    # caps them before waitress starts its threads (SERVER_MALLOC_ARENAS).
    from syndicate.server import limit_malloc_arenas

    assert limit_malloc_arenas(2) is True  # this machine's libc is glibc
    assert limit_malloc_arenas(0) is False  # 0 leaves glibc's default alone
