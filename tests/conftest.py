"""Fixtures: an app on a temporary SQLite file, its client and CLI runner, and a small demo
archive built once per session and copied for each test that needs it."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from syndicate import create_app
from syndicate.db import get_store

# "Today" for the demo archive: midnight UTC of the day the tests run, so its scheduled
# articles (1 hour to 14 days later) are still in the future. Tests derive dates from the data.
DEMO_UNTIL = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
DEMO_ARTICLES = 600
SITE_URL = "https://news.example.com"


def make_app(db_path, **overrides):
    config = {
        "TESTING": True,
        "DATABASE": str(db_path),
        "SITE_URL": SITE_URL,
        "CACHE_TYPE": "NullCache",
        **overrides,
    }
    return create_app(config)


@pytest.fixture
def app(tmp_path):
    """An app on an empty, migrated database."""
    return make_app(tmp_path / "test.db")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def store(app):
    with app.app_context():
        yield get_store()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """A demo archive of DEMO_ARTICLES articles, generated once per test session."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    demo_app = make_app(path)
    result = demo_app.test_cli_runner().invoke(
        args=["demo", "--articles", str(DEMO_ARTICLES), "--seed", "7", "--until", DEMO_UNTIL]
    )
    assert result.exit_code == 0, result.output
    with demo_app.app_context():
        get_store().conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def demo_app(demo_db, tmp_path):
    """An app on a private copy of the demo archive (tests may write to it)."""
    path = tmp_path / "demo.db"
    shutil.copy(demo_db, path)
    return make_app(path)


@pytest.fixture
def db_copy(demo_db, tmp_path):
    """A private copy of the demo archive's file, for tests that build their own app on it."""
    path = tmp_path / "site.db"
    shutil.copy(demo_db, path)
    return path


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()


def aware(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# ----------------------------------------------------------------- real tools and servers

import os  # noqa: E402
import shutil as _shutil  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402

# The same helpers the deployment stack and the benchmarks use (free_port is re-exported).
from deploy.stack import free_port, stop_processes, wait_for_port  # noqa: E402, F401


def require_tool(name: str) -> str:
    """The path of a system tool. Missing: skip locally, fail in CI (SYNDICATE_REQUIRE_TOOLS=1),
    so a green CI run never hides a test that did not run."""
    path = _shutil.which(name)
    if path is None:
        message = f"{name} is not installed (bash .ci/system-deps installs it)"
        if os.environ.get("SYNDICATE_REQUIRE_TOOLS"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class LiveServer:
    """A real waitress server on a free loopback port, in a background thread."""

    def __init__(self, app, threads: int = 4) -> None:
        from syndicate.server import create_server

        self.port = free_port()
        self.server = create_server(app, host="127.0.0.1", port=self.port, threads=threads)
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        # Close from inside the server's own loop thread (via its trigger), so the loop never
        # polls a socket that another thread has just closed (EBADF warnings otherwise).
        self.server.trigger.pull_trigger(self.server.close)
        self.thread.join(timeout=10)


@pytest.fixture
def live_server():
    """Call with an app; returns a LiveServer (closed after the test)."""
    servers = []

    def start(app, threads: int = 4) -> LiveServer:
        server = LiveServer(app, threads)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a free loopback port for the whole session."""
    binary = require_tool("redis-server")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, timeout=10)
    except RuntimeError as exc:
        stop_processes([proc])
        pytest.fail(f"redis-server did not start: {exc}")
    yield f"redis://127.0.0.1:{port}/0"
    stop_processes([proc])


@pytest.fixture
def hold_lock():
    """Call with a database path (and optionally the sqlite3 shell's path): another process then
    holds its write lock, with uncommitted changes, until ``release()`` or the end of the test."""
    from tests.lock_support import LockHolder

    holders: list[LockHolder] = []

    def hold(database, shell: str | None = None) -> LockHolder:
        holders.append(LockHolder(database, shell))
        return holders[-1]

    yield hold
    for holder in holders:
        holder.release()
