"""Readers never wait on writers: while ANOTHER PROCESS holds SQLite's write lock (a long import,
the sqlite3 shell's BEGIN IMMEDIATE, a backup), cached and uncached pages answer at once over a
real waitress server, API writes answer 503 with Retry-After within WRITE_LOCK_TIMEOUT, writes
beyond SERVER_WRITE_THREADS are refused at once so readers keep their threads, an API read does
not wait to note its token's use, and operator commands end with a clear message."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from syndicate.db import get_store
from tests.api_support import READ, WRITE
from tests.conftest import make_app, require_tool

ROOT = Path(__file__).resolve().parent.parent
LOCK_TIMEOUT = 1.0
SLACK = 1.0  # scheduling slack on a busy two-core machine, well under the 30 s of before


def with_tokens(db_path: Path, **config):
    app = make_app(db_path, **config)
    with app.app_context():
        get_store().create_token("newsroom", WRITE, "write")
        get_store().create_token("partner", READ, "read")
    return app


def request(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    """(status, headers, body, seconds) of one request on its own connection."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return response.status, dict(response.getheaders()), payload, time.perf_counter() - started
    finally:
        conn.close()


def article(n: int) -> dict:
    return {"title": f"Written while locked {n}", "body": "<p>News.</p>", "category": "world"}


def count_articles(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0]


def test_readers_do_not_wait_and_writes_get_503_while_another_process_holds_the_lock(db_copy, live_server, hold_lock):
    app = with_tokens(db_copy, CACHE_TYPE="SimpleCache", WRITE_LOCK_TIMEOUT=LOCK_TIMEOUT, SERVER_WRITE_THREADS=1)
    server = live_server(app, threads=4)
    port = server.port
    assert request(port, "GET", "/")[0] == 200  # now cached
    before = count_articles(db_copy)
    holder = hold_lock(db_copy)

    # Eight writers at once on four threads: one waits for the lock, one for that slot, the
    # rest are refused at once; none of them keeps a reader waiting.
    with ThreadPoolExecutor(8) as pool:
        writes = [pool.submit(request, port, "POST", "/api/v1/articles", article(n), WRITE) for n in range(8)]
        time.sleep(0.1)  # the writers are in
        reads = [request(port, "GET", path) for path in ("/", "/feed/", "/page/3/", "/", "/category/world/")]
        api_read = request(port, "GET", "/api/v1/articles?limit=1", token=READ)  # its token was never used
        results = [w.result() for w in writes]

    for status, _headers, _body, seconds in reads:
        assert status == 200
        assert seconds < LOCK_TIMEOUT, f"a read waited {seconds:.2f} s for the writer"
    assert api_read[0] == 200 and api_read[3] < LOCK_TIMEOUT
    for status, headers, body, seconds in results:
        assert status == 503
        assert int(headers["Retry-After"]) > 0
        assert headers["Content-Type"].startswith("application/json")
        error = json.loads(body)["error"]
        assert "locked" in error or "too many writes" in error
        assert seconds < LOCK_TIMEOUT + SLACK
    assert sum("locked" in json.loads(body)["error"] for _s, _h, body, _t in results) >= 1
    assert count_articles(db_copy) == before  # nothing half-written

    holder.release()
    status, _headers, body, _seconds = request(port, "POST", "/api/v1/articles", article(99), WRITE)
    assert status == 201, body
    assert count_articles(db_copy) == before + 1


def test_a_write_waits_out_a_short_lock_instead_of_failing(db_copy, live_server, hold_lock):
    app = with_tokens(db_copy, WRITE_LOCK_TIMEOUT=5.0)
    server = live_server(app, threads=2)
    holder = hold_lock(db_copy)
    threading.Timer(0.5, holder.release).start()
    status, _headers, body, seconds = request(server.port, "POST", "/api/v1/articles", article(1), WRITE)
    assert status == 201, body
    assert 0.4 < seconds < 5.0


@pytest.mark.parametrize("holder", ["python", "sqlite3 shell"])
def test_the_cached_hit_path_reads_no_database_while_the_lock_is_held(db_copy, live_server, hold_lock, holder):
    """Hits for a second and more (past the once-a-second SQLite check of the change stamp) while
    the lock is held: every one served from the cache, none waiting for the lock (a wait would
    last the busy timeout; the bound below only absorbs a loaded machine's hiccups)."""
    app = with_tokens(db_copy, CACHE_TYPE="SimpleCache")
    server = live_server(app, threads=2)
    assert request(server.port, "GET", "/feed/")[0] == 200
    hold_lock(db_copy, require_tool("sqlite3") if holder == "sqlite3 shell" else None)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    slowest = 0.0
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        started = time.perf_counter()
        conn.request("GET", "/feed/")
        response = conn.getresponse()
        response.read()
        slowest = max(slowest, time.perf_counter() - started)
        assert response.status == 200 and response.getheader("X-Cache") == "hit"
    conn.close()
    assert slowest < 1.0


def run_cli(database: Path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    env.update({f"SYNDICATE_{k}": v for k, v in settings.items()}, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "syndicate", "--database", str(database), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_operator_commands_say_the_database_is_locked_without_a_traceback(db_copy, tmp_path, hold_lock):
    source = tmp_path / "news.jsonl"
    source.write_text(
        json.dumps({"guid": "locked-1", "title": "One", "body": "<p>x</p>", "published": "2024-01-01T00:00:00+00:00"})
        + "\n"
    )
    before = count_articles(db_copy)
    hold_lock(db_copy)
    for args in (("import", str(source)), ("token", "create", "--name", "late")):
        started = time.monotonic()
        result = run_cli(db_copy, *args, COMMAND_LOCK_TIMEOUT="1")
        assert result.returncode != 0
        assert "Traceback" not in result.stderr + result.stdout
        assert "locked by another writer" in result.stderr + result.stdout
        assert time.monotonic() - started < 15
    assert count_articles(db_copy) == before
