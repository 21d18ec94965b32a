"""The change stamp: which content a cache entry must show, checked on every request.

The stamp is ``Store.content_version()`` (moves on every write in any process sharing the
database file, and when a scheduled article becomes due) plus today's date in ``TIMEZONE``
(pages print it), plus the newest ``updated`` time of any visible article (the time an RFC 3229
client's version is named by, see ``keys.validator``). A write through Syndicate in any
process moves the shared change token (``changes.py``), read from memory without a system
call; SQLite itself is asked only when the token moved, when a scheduled article or midnight
is due, or once a second (so writers that bypass Syndicate, such as the sqlite3 shell, are
noticed too).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..changes import signal_for
from ..store import Store

# Longest a writer that bypasses Syndicate (the sqlite3 shell) can go unnoticed; Syndicate's
# own writes, from any process, are seen on the very next request.
SQLITE_CHECK_INTERVAL = 1.0


class _ThreadState(threading.local):
    """Per worker thread: a read connection and the last stamp it computed."""

    store: Store | None = None
    data_version: int = -1
    token: bytes | None = None
    check_after: float = 0.0
    stamp: str = ""
    valid_until: float = 0.0


class ContentStamp:
    """The stamp of one database, cheap to ask for unless something changed."""

    def __init__(self, database: str, timezone: str, *, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self.timezone = ZoneInfo(timezone)
        self.clock = clock
        self.signal = signal_for(database)
        self.local = _ThreadState()

    def current(self) -> str:
        """The content version and today's date (raises sqlite3.Error if the database is unusable)."""
        state = self.local
        token = self.signal.token() if self.signal is not None else None
        now = self.clock()
        if token is not None and token == state.token and now < state.valid_until and now < state.check_after:
            return state.stamp
        store = state.store
        if store is None:
            store = state.store = Store(self.database)
            state.data_version = -1
        data_version = store.data_version()
        if data_version != state.data_version or token != state.token or now >= state.valid_until:
            # Next due time first: an article falling due between the two reads is then already
            # in the version, instead of being skipped until the following one is due.
            due = store.next_scheduled()
            version = store.content_version()
            newest_update = store.newest_update_seconds()
            today = datetime.fromtimestamp(now, self.timezone).date()
            midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), self.timezone).timestamp()
            valid_until = max(midnight, now + 1)
            if due is not None:
                valid_until = min(valid_until, due.timestamp())
            state.stamp = f"{version}|{today.isoformat()}|{newest_update}"
            state.valid_until = valid_until
            state.data_version = data_version
        state.token = token
        state.check_after = now + SQLITE_CHECK_INTERVAL
        return state.stamp

    @staticmethod
    def newest_update(stamp: str) -> str:
        """The newest-update seconds a stamp carries."""
        return stamp.rpartition("|")[2]

    def reset_thread_store(self) -> None:
        """Drop this thread's connection (it is reopened on the next request)."""
        store, self.local.store = self.local.store, None
        self.local.check_after = 0.0  # and ask SQLite again on the next request
        if store is not None:
            try:
                store.close()
            except sqlite3.Error:
                pass
