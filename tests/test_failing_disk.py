"""Failing disks, for real: the database on a small tmpfs that the test fills up, and a database
file made read-only by a read-only bind mount (as root, chmod would not stop anything). A
`syndicate serve` process answers writes with 503 and a JSON error naming the cause, writes
nothing half, keeps serving pages, says so on /healthz and /readyz, and recovers by itself once
space is freed or the file is writable again.

Needs mount (root, as in CI); skipped where mounting is impossible, unless
SYNDICATE_REQUIRE_TOOLS is set (then it fails, so CI never hides it)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from deploy.stack import free_port, stop_processes, wait_for_port
from syndicate.db import get_store
from tests.api_support import WRITE
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parent.parent
DISK_SIZE = "48m"


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


def _unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    """A fresh tmpfs of DISK_SIZE, unmounted after the test."""
    path = tmp_path / "disk"
    path.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(path))
    except (OSError, subprocess.CalledProcessError) as exc:
        message = f"cannot mount a tmpfs here ({getattr(exc, 'stderr', '') or exc}); run as root"
        if os.environ.get("SYNDICATE_REQUIRE_TOOLS"):
            pytest.fail(message)
        pytest.skip(message)
    yield path
    _unmount(path)


@pytest.fixture
def site_on(demo_db, tmp_path):
    """Copy the demo archive into ``folder``, add a write token, and start `syndicate serve`
    on it in its own process; returns its port. Every process is stopped after the test."""
    procs: list[subprocess.Popen] = []

    def start(folder: Path, prepare=None) -> tuple[Path, int]:
        database = folder / "site.db"
        shutil.copy(demo_db, database)
        app = make_app(database)
        with app.app_context():
            get_store().create_token("newsroom", WRITE, "write")
        if prepare is not None:
            prepare(database)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
        env.update(
            PYTHONPATH=str(ROOT),
            SYNDICATE_SITE_URL="https://news.example.com",
            SYNDICATE_INSTANCE=str(tmp_path / "instance"),
            SYNDICATE_READY_MIN_FREE_BYTES=str(1024 * 1024),
        )
        log = tmp_path / f"serve-{port}.log"
        with open(log, "wb") as out:
            args = [sys.executable, "-m", "syndicate", "--database", str(database), "serve", "--port", str(port)]
            procs.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT))
        wait_for_port(port, procs[-1], log)
        return database, port

    yield start
    stop_processes(procs)


def call(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict, bytes]:
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {WRITE}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def publish(port: int, title: str) -> tuple[int, dict, bytes]:
    body = {"guid": f"urn:uuid:{uuid.uuid4()}", "title": title, "body": "<p>" + "News. " * 400 + "</p>"}
    return call(port, "POST", "/api/v1/articles", {**body, "category": "world", "tags": ["disk"]})


def health(port: int) -> tuple[tuple[int, dict], tuple[int, dict]]:
    live, _h, live_body = call(port, "GET", "/healthz")
    ready, _h, ready_body = call(port, "GET", "/readyz")
    return (live, json.loads(live_body)), (ready, json.loads(ready_body))


def state(database: Path) -> tuple[int, str]:
    """(articles, integrity check) read from outside the server."""
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT count(*) FROM articles").fetchone()[0], conn.execute(
            "PRAGMA integrity_check"
        ).fetchone()[0]


def fill(folder: Path) -> Path:
    """Write a file until the disk is full; returns it (delete it to free the space)."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    chunk = b"\0" * (1 << 20)
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError:
                if len(chunk) == 4096:
                    break
                chunk = chunk[: len(chunk) // 2]
    finally:
        os.close(fd)
    return filler


def assert_refused(answer: tuple[int, dict, bytes], words: str) -> None:
    status, headers, body = answer
    assert status == 503, body
    assert headers["Content-Type"].startswith("application/json")
    assert int(headers["Retry-After"]) > 0
    assert words in json.loads(body)["error"]


def test_a_full_disk_refuses_writes_with_503_says_so_and_recovers_without_restart(small_disk, site_on):
    database, port = site_on(small_disk)
    assert publish(port, "Before the disk fills")[0] == 201
    assert call(port, "GET", "/")[0] == 200  # cached now
    assert health(port) == ((200, {"status": "ok", "writes": "ok"}), (200, {"status": "ready"}))
    before = state(database)

    filler = fill(small_disk)
    assert_refused(publish(port, "On a full disk"), "disk holding the database is full")
    assert state(database) == before  # nothing half-written, the file intact
    assert health(port) == (
        (200, {"status": "degraded", "writes": "disk full"}),
        (503, {"status": "unavailable", "writes": "disk full"}),
    )
    for path in ("/", "/page/4/", "/feed/"):  # pages and feeds are still served
        assert call(port, "GET", path)[0] == 200

    filler.unlink()
    assert publish(port, "After space was freed")[0] == 201
    assert health(port) == ((200, {"status": "ok", "writes": "ok"}), (200, {"status": "ready"}))
    assert state(database) == (before[0] + 1, "ok")


def test_a_write_that_fits_in_the_log_on_a_full_disk_does_not_kill_the_server(small_disk, site_on):
    """SQLite reuses its write-ahead log after a checkpoint, so a small write can still commit on
    a full disk; telling other processes about it then must not touch unallocated blocks of the
    change file's memory map (SIGBUS would kill the server)."""
    database, port = site_on(small_disk)
    with sqlite3.connect(database, isolation_level=None) as conn:
        # Room in the log for a write, then a checkpoint: the next writer starts the log over.
        conn.execute("CREATE TABLE ballast (x)")
        conn.execute("INSERT INTO ballast VALUES (randomblob(2000000))")
        conn.execute("DROP TABLE ballast")
        conn.execute("PRAGMA wal_checkpoint(RESTART)")
    changes = Path(f"{database}-changes")
    changes.unlink(missing_ok=True)  # as on a fresh install: the server creates it on its first write
    fill(small_disk)
    status, _headers, body = publish(port, "Into the reused log")
    assert status in (201, 503), body
    assert call(port, "GET", "/healthz")[0] == 200  # still alive


def read_only(database: Path) -> None:
    """Make ``database`` read-only for every process that opens it from now on, root included."""
    try:
        _mount("--bind", str(database), str(database))
    except (OSError, subprocess.CalledProcessError) as exc:
        message = f"cannot bind-mount here ({getattr(exc, 'stderr', '') or exc}); run as root"
        if os.environ.get("SYNDICATE_REQUIRE_TOOLS"):
            pytest.fail(message)
        pytest.skip(message)
    _mount("-o", "remount,bind,ro", str(database))


def test_a_read_only_database_file_refuses_writes_and_recovers_without_restart(tmp_path, site_on):
    """The server starts on a database file it cannot write (a backup restored with the wrong
    owner, a read-only mount); a process keeps the files it has open, so a file turned
    read-only under a running server is only seen by the next one."""
    folder = tmp_path / "data"
    folder.mkdir()
    mounted: list[Path] = []

    def prepare(database: Path) -> None:
        read_only(database)
        mounted.append(database)

    try:
        database, port = site_on(folder, prepare)
        before = state(database)
        assert_refused(publish(port, "While read-only"), "read-only")
        assert state(database) == before
        assert health(port) == (
            (200, {"status": "degraded", "writes": "read-only"}),
            (503, {"status": "unavailable", "writes": "read-only"}),
        )
        for path in ("/", "/page/3/", "/feed/"):
            assert call(port, "GET", path)[0] == 200
    finally:
        for path in mounted:
            _unmount(path)
    assert publish(port, "Writable again")[0] == 201
    assert health(port) == ((200, {"status": "ok", "writes": "ok"}), (200, {"status": "ready"}))
    assert state(database) == (before[0] + 1, "ok")
