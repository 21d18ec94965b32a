"""The connection, its transactions and the clock: what every other part of the store stands on.

Times are stored as UTC ISO-8601 strings with a ``+00:00`` offset and a fixed width, so string
order is time order and every listing is a range scan over an index. Rows come back as
``sqlite3.Row`` and are read by column name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from ..changes import signal_for

# The one "publicly visible" predicate (site, public feeds, sitemaps, search, counts, WebSub,
# and anything else the public sees): published, and its time has come. An embargoed article is
# published at its embargo time (the input gate guarantees ``published >= embargo_until``), so
# this also keeps it from the public until then, and it appears then with no write, as a
# scheduled article does. Partners also see ``UNDER_EMBARGO`` articles (listings' ``embargoed``).
VISIBLE = "status = 'published' AND published <= :now"
UNDER_EMBARGO = "status = 'published' AND published > :now AND embargo_until = published"
TERM_TABLES = {"author": "authors", "category": "categories", "tag": "tags"}


class StoreError(Exception):
    """A write was refused; the message says why (shown to operators and API clients)."""


class IdempotencyConflict(StoreError):
    """An idempotency key was reused with a different request."""


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_db(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: the store only accepts timezone-aware times")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def from_db(value: str) -> datetime:
    return datetime.fromisoformat(value)


def connect(path: str) -> sqlite3.Connection:
    """A connection with the settings every user of the database needs."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection, *, write: bool = True, rollback: bool = False) -> Iterator[bool]:
    """The one way the store opens a transaction: all or nothing.

    ``write`` takes the write lock up front (BEGIN IMMEDIATE), so writers queue on the busy
    timeout instead of failing when a read turns into a write; otherwise BEGIN (a read
    snapshot). Inside an open transaction the block joins it. ``rollback`` undoes the block
    even when it succeeds (a dry run). Yields True when this block opened the transaction.

    sqlite-utils' ``Database.atomic`` is not used: it only issues a deferred BEGIN, and it is
    missing from the sqlite-utils versions we support.
    """
    if conn.in_transaction:
        yield False
        return
    conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    try:
        yield True
    except BaseException:
        if conn.in_transaction:  # a RAISE(ROLLBACK) trigger may have ended it already
            conn.execute("ROLLBACK")
        raise
    conn.execute("ROLLBACK" if rollback else "COMMIT")


class Connection:
    """One database, through one connection (one per thread), with the clock that says "now"."""

    def __init__(self, path: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.path = path
        self.clock = clock
        self.conn = connect(path)
        self._changed = False  # a content write is waiting for its COMMIT to be announced

    def close(self) -> None:
        self.conn.close()

    def now(self) -> str:
        return to_db(self.clock())

    @contextmanager
    def transaction(self, *, rollback: bool = False) -> Iterator[None]:
        """A write transaction (see ``transaction``); once committed, a content change is
        announced to every process (see changes.py)."""
        try:
            with transaction(self.conn, rollback=rollback) as outermost:
                yield
        except BaseException:
            self._changed = False
            raise
        if outermost:
            if rollback:
                self._changed = False
            self._announce()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: every query inside sees the same committed state, so an article
        and its tags (two queries) can never come from two different writes."""
        with transaction(self.conn, write=False):
            yield

    def _announce(self) -> None:
        if self._changed:
            self._changed = False
            signal = signal_for(self.path)
            if signal is not None:
                signal.signal()

    def _bump_generation(self) -> None:
        self._changed = True
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # ---- change stamps (what the response cache validates against)
    def generation(self) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row["value"]) if row else 0

    def content_version(self) -> str:
        """Changes whenever anything visible changes: a write, or a scheduled article
        becoming due (it is then the newest visible article, so the max below moves)."""
        row = self.conn.execute(
            "SELECT (SELECT value FROM meta WHERE key = 'generation') AS generation,"
            f" (SELECT max(published) FROM articles WHERE {VISIBLE}) AS newest",
            {"now": self.now()},
        ).fetchone()
        return f"{row['generation'] or 0}.{row['newest'] or ''}"

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: changes whenever another connection (in any process)
        commits. A few µs, so the response cache can check it on every request and only re-read
        ``content_version`` when something was written."""
        return self.conn.execute("PRAGMA data_version").fetchone()["data_version"]

    def is_public(self, article_id: int) -> bool:
        """Whether the public may see this article now (``VISIBLE``, for code holding an id)."""
        row = self.conn.execute(
            f"SELECT 1 FROM articles WHERE id = :id AND {VISIBLE}", {"id": article_id, "now": self.now()}
        ).fetchone()
        return row is not None

    def next_scheduled(self) -> datetime | None:
        row = self.conn.execute(
            "SELECT min(published) AS due FROM articles WHERE status = 'published' AND published > ?",
            (self.now(),),
        ).fetchone()
        return from_db(row["due"]) if row and row["due"] else None
