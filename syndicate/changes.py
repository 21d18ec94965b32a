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

import errno
import mmap
import os
import threading

SIZE = 4096
_signals: dict[str, ChangeSignal] = {}
_lock = threading.Lock()


class ChangeSignal:
    def __init__(self, database: str) -> None:
        self.path = database + "-changes"
        self.writable = True
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # a read-only folder or file system: follow the others' signals only
            fd = os.open(self.path, os.O_RDONLY)
            self.writable = False
        try:
            if self.writable:
                if os.fstat(fd).st_size < SIZE:
                    os.ftruncate(fd, SIZE)  # grow only: other processes may have it mapped
                self.writable = _allocate(fd)
            access = mmap.ACCESS_WRITE if self.writable else mmap.ACCESS_READ
            self.map = mmap.mmap(fd, SIZE, access=access)
        finally:
            os.close(fd)

    def token(self) -> bytes:
        """The last token written by any process (8 bytes; compare for a change)."""
        return self.map[:8]

    def signal(self) -> None:
        """Tell every process that the database changed (call after COMMIT). Without a writable
        file, the others notice the change from SQLite within a second."""
        if self.writable:
            self.map[:8] = os.urandom(8)


def _allocate(fd: int) -> bool:
    """Give the file its disk blocks now (False when the disk is full): writing to a memory map
    of a sparse file on a full disk kills the process with SIGBUS."""
    try:
        os.posix_fallocate(fd, 0, SIZE)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            return False
        try:  # a file system without fallocate: write the bytes back instead
            os.pwrite(fd, os.pread(fd, SIZE, 0), 0)
        except OSError:
            return False
    return True


def signal_for(database: str) -> ChangeSignal | None:
    """The process's one signal for ``database`` (None for an in-memory database, and when its
    file can neither be opened nor created: readers then ask SQLite on every request)."""
    if database == ":memory:" or database.startswith("file::memory:"):
        return None
    key = os.path.abspath(database)
    signal = _signals.get(key)
    if signal is None or not signal.writable:  # tried again until the disk has room again
        with _lock:
            signal = _signals.get(key)
            if signal is None or not signal.writable:
                try:
                    signal = _signals[key] = ChangeSignal(key)
                except OSError:
                    pass
    return signal
