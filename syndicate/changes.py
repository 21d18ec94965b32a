"""A change signal shared by every process that uses one database file.

The response cache must notice a write made by any process on the very next request, and it
answers thousands of requests a second. Asking SQLite (``PRAGMA data_version``) on each of them
is cheap alone but releases and re-takes the GIL, which under waitress's threads costs about a
tenth of the throughput. So every Syndicate write, after its COMMIT, also writes a fresh random
token into a small file beside the database (``<database>-changes``), and readers compare the
8 bytes of a memory map of that file: no system call, no lock, no GIL release.

The file only ever grows to its fixed size and is never truncated (a truncated map would fault),
and a torn or garbled read can only look like a change, which costs one extra SQLite check. The
database stays the truth: readers still ask SQLite at least once a second, so writes by foreign
tools (the sqlite3 shell) are noticed too, just not instantly.
"""

from __future__ import annotations

import mmap
import os
import threading

SIZE = 4096
_signals: dict[str, ChangeSignal] = {}
_lock = threading.Lock()


class ChangeSignal:
    def __init__(self, database: str) -> None:
        self.path = database + "-changes"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < SIZE:
                os.ftruncate(fd, SIZE)  # grow only: other processes may have it mapped
            self.map = mmap.mmap(fd, SIZE)
        finally:
            os.close(fd)

    def token(self) -> bytes:
        """The last token written by any process (8 bytes; compare for a change)."""
        return self.map[:8]

    def signal(self) -> None:
        """Tell every process that the database changed (call after COMMIT)."""
        self.map[:8] = os.urandom(8)


def signal_for(database: str) -> ChangeSignal | None:
    """The process's one signal for ``database`` (None for an in-memory database)."""
    if database == ":memory:" or database.startswith("file::memory:"):
        return None
    key = os.path.abspath(database)
    signal = _signals.get(key)
    if signal is None:
        with _lock:
            signal = _signals.get(key)
            if signal is None:
                signal = _signals[key] = ChangeSignal(key)
    return signal
