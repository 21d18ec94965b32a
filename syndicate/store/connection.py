"""The connection, its transactions and the clock: what every other part of the store stands on.

Times are stored as UTC ISO-8601 strings with a ``+00:00`` offset and a fixed width, so string
order is time order and every listing is a range scan over an index. Rows come back as
``sqlite3.Row`` and are read by column name.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from ..changes import signal_for
from ..showing import ALL

# The one "publicly visible" predicate (site, public feeds, sitemaps, search, counts, WebSub,
# and anything else the public sees): published, and its time has come. An embargoed article is
# published at its embargo time (the input gate guarantees ``published >= embargo_until``), so
# this also keeps it from the public until then, and it appears then with no write, as a
# scheduled article does. Partners also see ``UNDER_EMBARGO`` articles (listings' ``embargoed``).
VISIBLE = "status = 'published' AND published <= :now"
UNDER_EMBARGO = "status = 'published' AND published > :now AND embargo_until = published"
TERM_TABLES = {"author": "authors", "category": "categories", "tag": "tags"}
# Seconds a write waits for another connection's write lock before giving up, unless the caller
# says otherwise (db.py passes the WRITE_LOCK_TIMEOUT and COMMAND_LOCK_TIMEOUT settings).
DEFAULT_LOCK_TIMEOUT = 30.0


class StoreError(Exception):
    """A write was refused; the message says why (shown to operators and API clients)."""


class IdempotencyConflict(StoreError):
    """An idempotency key was reused with a different request."""


class StoreUnavailable(StoreError, sqlite3.OperationalError):
    """The database cannot take this write now: ``reason`` is one of ``REASONS``' keys. The
    transaction was rolled back, so nothing of it was written.

    Also a ``sqlite3.OperationalError`` (with the original's error code), so code that handles
    SQLite errors in general keeps doing so."""

    def __init__(self, reason: str, cause: sqlite3.Error) -> None:
        super().__init__(f"{REASONS[reason]} ({cause})")
        self.reason = reason
        self.sqlite_errorcode = getattr(cause, "sqlite_errorcode", None)
        self.sqlite_errorname = getattr(cause, "sqlite_errorname", None)


REASONS = {
    "locked": "the database is locked by another writer (an import, a backup or the sqlite3 shell); try again shortly",
    "disk full": "the disk holding the database is full; nothing was written",
    "read-only": "the database is read-only (file permissions or a read-only file system); nothing was written",
    "I/O error": "the database could not be written (I/O error); nothing was written",
    "cannot open": "the database's files cannot be opened (permissions of its folder?); nothing was written",
}
# SQLite's primary result codes (the low byte of an extended code) that say "not now" rather
# than "this is a bug": https://www.sqlite.org/rescode.html
_REASON_BY_CODE = {5: "locked", 6: "locked", 8: "read-only", 10: "I/O error", 13: "disk full", 14: "cannot open"}


def unavailable(exc: BaseException) -> StoreUnavailable | None:
    """``exc`` as a ``StoreUnavailable`` when it says the database cannot be written now
    (locked, disk full, read-only, I/O error), else None."""
    if isinstance(exc, StoreUnavailable):
        return exc
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or code is None:
        return None
    reason = _REASON_BY_CODE.get(code & 0xFF)
    return StoreUnavailable(reason, exc) if reason else None


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_db(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: the store only accepts timezone-aware times")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def from_db(value: str) -> datetime:
    return datetime.fromisoformat(value)


def connect(path: str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> sqlite3.Connection:
    """A connection with the settings every user of the database needs. ``lock_timeout``: the
    seconds a write waits for another writer (in WAL mode readers never wait for writers)."""
    conn = sqlite3.connect(path, timeout=lock_timeout, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(lock_timeout * 1000)}")
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
    try:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    except sqlite3.Error as exc:
        _raise_unavailable(exc)
        raise
    try:
        yield True
        conn.execute("ROLLBACK" if rollback else "COMMIT")
    except BaseException as exc:
        # SQLite ends the transaction itself on some errors (a full disk, a RAISE(ROLLBACK)
        # trigger); a COMMIT that failed leaves it open.
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the original error is the one to report; the connection is closed after
        _raise_unavailable(exc)
        raise


def _raise_unavailable(exc: BaseException) -> None:
    """Raise ``exc`` as ``StoreUnavailable`` when it is one (see ``unavailable``)."""
    translated = unavailable(exc)
    if translated is not None and translated is not exc:
        raise translated from exc


class Connection:
    """One database, through one connection (one per thread), with the clock that says "now"."""

    def __init__(
        self, path: str, *, clock: Callable[[], datetime] = utcnow, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    ) -> None:
        self.path = path
        self.clock = clock
        self.lock_timeout = lock_timeout
        self.conn = connect(path, lock_timeout=lock_timeout)
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
    def lock_wait(self, seconds: float) -> Iterator[None]:
        """Inside the block, wait at most ``seconds`` for another writer's lock (0: not at all),
        for writes that are worth doing only if they cost nothing (bookkeeping on a read)."""
        self.conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")
        try:
            yield
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {int(self.lock_timeout * 1000)}")

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

    def _bump_generation(self, keys: Iterable[str] | None = None) -> None:
        """Move the generation and record, under it, the ``showing.py`` keys this write changed
        (None: everything). Called once per write transaction, inside it."""
        self._changed = True
        gen = self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING CAST(value AS INTEGER)"
        ).fetchone()[0]
        last = self.conn.execute("SELECT max(seq) FROM changes").fetchone()[0] or 0
        if keys is None or last != gen - 1:  # a writer outside Syndicate moved it: everything
            keys = (ALL,)
        self.conn.executemany(
            "INSERT INTO changes (key, seq) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET seq = excluded.seq",
            [(key, gen) for key in set(keys)],
        )
        # Scheduled articles change what is visible when they fall due, with no write then.
        self.conn.execute(
            "INSERT OR IGNORE INTO due (article_id, due_at) SELECT id, published FROM articles"
            " WHERE status = 'published' AND published > ?",
            (self.now(),),
        )

    # ---- change stamps (what the response cache validates against)
    def generation(self) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row["value"]) if row else 0

    def change_state(self) -> tuple[int, int, int]:
        """(generation, newest recorded change, scheduled articles fallen due so far): the first
        two differ only after a write by a tool that bypassed Syndicate."""
        row = self.conn.execute(
            "SELECT (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation') AS generation,"
            " (SELECT max(seq) FROM changes) AS newest, (SELECT count(*) FROM due WHERE due_at <= ?) AS due",
            (self.now(),),
        ).fetchone()
        return row["generation"] or 0, row["newest"] or 0, row["due"]

    def changes_since(self, seq: int) -> list[tuple[str, int]]:
        """(key, generation) of every key changed after generation ``seq``."""
        rows = self.conn.execute("SELECT key, seq FROM changes WHERE seq > ?", (seq,)).fetchall()
        return [(row["key"], row["seq"]) for row in rows]

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
