"""What a cache entry must show, checked on every request.

An entry is fresh while two things hold:

1. The stamp (``current``) is unchanged: today's date in ``TIMEZONE`` (pages print it), how
   many scheduled articles have fallen due (they change what is visible with no write), the
   generation of the last write that changed everything (a bulk import, a term change), and
   whether a tool that bypassed Syndicate moved the generation.
2. Nothing it shows changed: every write records, in its own transaction, which ``showing.py``
   keys it changed (``changes`` table); each process folds those into one map (key ->
   generation) and an entry keeps the generation of each key it shows (``fresh``). A write to
   one section leaves every entry of the others fresh.

A write through Syndicate in any process moves the shared change token (``changes.py``), read
from memory without a system call; SQLite itself is asked only when the token moved, when a
scheduled article or midnight is due, or once a second (so writers that bypass Syndicate, such
as the sqlite3 shell, are noticed too when they move the generation).
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..changes import signal_for
from ..showing import ALL
from ..store import Store
from .entries import StoredResponse

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


ANY = "*"  # the key of an entry whose view recorded nothing: any write may change it


class ContentStamp:
    """The stamp of one database, cheap to ask for unless something changed, and the
    generation of every key that changed (shared by the process's threads)."""

    def __init__(self, database: str, timezone: str, *, clock: Callable[[], float] = time.time) -> None:
        self.database = database
        self.timezone = ZoneInfo(timezone)
        self.clock = clock
        self.signal = signal_for(database)
        self.local = _ThreadState()
        self.versions: dict[str, int] = {}  # key -> generation of the last write that changed it
        self.seen = -1  # every change up to this generation is in ``versions``
        self._fold_lock = threading.Lock()

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
            generation, newest, fallen_due = store.change_state()
            self._fold(store)
            today = datetime.fromtimestamp(now, self.timezone).date()
            midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), self.timezone).timestamp()
            valid_until = max(midnight, now + 1)
            if due is not None:
                valid_until = min(valid_until, due.timestamp())
            foreign = generation - newest  # 0 unless a tool that bypassed Syndicate wrote
            state.stamp = f"{today.isoformat()}|{fallen_due}|{self.versions.get(ALL, 0)}|{foreign}"
            state.valid_until = valid_until
            state.data_version = data_version
        state.token = token
        state.check_after = now + SQLITE_CHECK_INTERVAL
        return state.stamp

    def _fold(self, store: Store) -> None:
        """Bring ``versions`` up to date with the changes recorded since ``seen``."""
        with self._fold_lock:
            changes = store.changes_since(self.seen)
            if not changes and self.seen >= 0:
                return
            versions = dict(self.versions)  # readers in other threads keep a consistent map
            for key, seq in changes:
                versions[key] = seq
            seen = max((seq for _, seq in changes), default=max(self.seen, 0))
            versions[ANY] = seen
            self.versions, self.seen = versions, seen

    def shown(self, keys: frozenset[str] | None, start: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """What an entry rendered from generation ``start`` on shows, with the generation of
        each key; a key that changed after ``start`` gets -1 (the render may have read the
        content before that change), so the entry is rendered again next time."""
        deps = tuple(sorted(map(sys.intern, keys))) if keys else (ANY,)  # one copy of each name
        versions = self.versions
        return deps, tuple(v if (v := versions.get(key, 0)) <= start else -1 for key in deps)

    def fresh(self, entry: StoredResponse, stamp: str) -> bool:
        """Whether ``entry`` still shows the current content (``stamp``: ``current()``)."""
        if entry.stamp != stamp:
            return False
        seen = self.seen
        if entry.checked == seen:
            return True
        versions = self.versions
        for key, version in zip(entry.deps, entry.versions, strict=True):
            if versions.get(key, 0) != version:
                return False
        entry.checked = seen
        return True

    def reset_thread_store(self) -> None:
        """Drop this thread's connection (it is reopened on the next request)."""
        store, self.local.store = self.local.store, None
        self.local.check_after = 0.0  # and ask SQLite again on the next request
        if store is not None:
            try:
                store.close()
            except sqlite3.Error:
                pass
