"""Another process holding a database's write lock, as a long import, the sqlite3 shell's
``BEGIN IMMEDIATE`` or a backup does (the ``hold_lock`` fixture in conftest.py)."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
# Uncommitted changes, as an import in the middle of a batch has.
conn.execute("INSERT INTO meta (key, value) VALUES ('held-by-test', 'x')")
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
conn.execute("ROLLBACK")
"""


SHELL_SCRIPT = "BEGIN IMMEDIATE;\nINSERT INTO meta (key, value) VALUES ('held-by-test', 'x');\n"


class LockHolder:
    """Another process holding the database's write lock until ``release()``: a Python script,
    or with ``shell`` the sqlite3 command-line shell in the middle of a transaction."""

    def __init__(self, database: Path, shell: str | None = None) -> None:
        if shell is None:
            args = [sys.executable, "-c", HOLDER, str(database)]
        else:
            args = [shell, str(database)]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        if shell is None:
            assert self.proc.stdout.readline().strip() == "held"
        else:
            self.proc.stdin.write(SHELL_SCRIPT)
            self.proc.stdin.flush()
            _wait_until_locked(database)

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()  # both roll back at the end of their input
            self.proc.wait(timeout=10)


def _wait_until_locked(database: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with contextlib.closing(sqlite3.connect(database, timeout=0, isolation_level=None)) as probe:
        while time.monotonic() < deadline:
            try:
                probe.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return  # somebody else holds it
            probe.execute("ROLLBACK")
            time.sleep(0.02)
    raise AssertionError("the other process never took the write lock")
