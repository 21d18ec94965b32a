"""The shared change signal: a write in another process is seen on the very next request,
without the cache asking SQLite on every request; a foreign writer within a second."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time

from syndicate.changes import signal_for

from .conftest import make_app

WRITER = textwrap.dedent(
    """
    import sys
    from syndicate.store import Store
    from syndicate.validation import article_record
    store = Store(sys.argv[1])
    store.save_article(article_record({"title": sys.argv[2], "category": "World"}, now=store.clock()))
    """
)


def _cached_client(path):
    return path, make_app(path, CACHE_TYPE="SimpleCache").test_client()


def test_a_write_in_another_process_is_seen_on_the_very_next_request(db_copy):
    path, client = _cached_client(db_copy)
    assert client.get("/").headers["X-Cache"] == "miss"
    assert client.get("/").headers["X-Cache"] == "hit"
    before = signal_for(str(path)).token()
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    subprocess.run([sys.executable, "-c", WRITER, str(path), "Zebracorn sighted in Geneva"], check=True, env=env)
    assert signal_for(str(path)).token() != before
    response = client.get("/")  # immediately: no waiting for the once-a-second check
    assert response.headers["X-Cache"] == "miss"
    assert b"Zebracorn sighted in Geneva" in response.data


def test_a_hit_does_not_ask_sqlite(db_copy):
    from syndicate import cache

    path, client = _cached_client(db_copy)
    client.get("/feed/")
    statements: list[str] = []
    cache.response_cache(client.application).content.local.store.conn.set_trace_callback(statements.append)
    for _ in range(50):
        assert client.get("/feed/").headers["X-Cache"] == "hit"
    assert len(statements) <= 1  # at most the once-a-second safety check


def test_a_foreign_writer_is_noticed_within_a_second(db_copy):
    path, client = _cached_client(db_copy)
    first = client.get("/")
    assert client.get("/").headers["X-Cache"] == "hit"
    conn = sqlite3.connect(path)
    with conn:  # the sqlite3 shell, say: no change signal
        conn.execute(
            "UPDATE articles SET title = 'Edited by hand' WHERE id = (SELECT max(id) FROM articles"
            " WHERE status = 'published' AND published <= strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'))"
        )
        conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
    conn.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        response = client.get("/")
        if b"Edited by hand" in response.data:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("a write made outside Syndicate was never noticed")
    assert response.data != first.data
