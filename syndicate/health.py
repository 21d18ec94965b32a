"""Health for load balancers and operators; never cached.

- ``/healthz`` (liveness, and "can it serve pages"): 200 when the database answers reads, else
  503. Its body also says whether writes are possible, from checks that take no lock:
  ``{"status": "ok", "writes": "ok"}``, or ``{"status": "degraded", "writes": "disk full"}``
  (or "read-only") while pages and feeds are still served.
- ``/readyz`` (readiness for writes): 200 ``{"status": "ready"}`` when a write would succeed
  now, else 503 ``{"status": "unavailable", "writes": reason}``: "read-only", "disk full"
  (less than ``READY_MIN_FREE_BYTES`` free), "locked" (another process has held the write lock
  for longer than ``READY_LOCK_WAIT``), or "database unavailable".

Both are asked again on every request, so they turn green by themselves once space is freed,
permissions are restored or the lock is released: nothing needs a restart.
"""

from __future__ import annotations

import logging
import os
import sqlite3

from flask import Flask, Response, current_app, jsonify

from .db import get_store
from .negotiation import NO_STORE
from .urls import HEALTHZ, READYZ

log = logging.getLogger(__name__)

# Seconds /readyz waits for the write lock: longer than an ordinary write holds it, so a
# publish in progress is not reported as "locked".
READY_LOCK_WAIT = 0.2


def _readable() -> bool:
    path = current_app.config["DATABASE"]
    # Opening a missing file would create an empty database; report it as down instead.
    if path != ":memory:" and not os.path.isfile(path):
        return False
    try:
        return get_store().healthcheck()
    except sqlite3.Error as exc:
        log.warning("health: database unavailable: %s", exc)
        return False


def _write_problem(lock_wait: float | None) -> str | None:
    try:
        return get_store().write_problem(min_free_bytes=current_app.config["READY_MIN_FREE_BYTES"], lock_wait=lock_wait)
    except (OSError, sqlite3.Error) as exc:
        log.warning("health: cannot tell whether the database takes writes: %s", exc)
        return "database unavailable"


def _answer(body: dict[str, str], status: int) -> tuple[Response, int]:
    response = jsonify(body)
    response.headers["Cache-Control"] = NO_STORE
    return response, status


def healthz() -> tuple[Response, int]:
    if not _readable():
        return _answer({"status": "unavailable"}, 503)
    problem = _write_problem(lock_wait=None)
    if problem is not None:  # not logged: polled every few seconds; the failed writes are
        return _answer({"status": "degraded", "writes": problem}, 200)
    return _answer({"status": "ok", "writes": "ok"}, 200)


def readyz() -> tuple[Response, int]:
    problem = _write_problem(READY_LOCK_WAIT) if _readable() else "database unavailable"
    if problem is not None:
        return _answer({"status": "unavailable", "writes": problem}, 503)
    return _answer({"status": "ready"}, 200)


def init_app(app: Flask) -> None:
    app.add_url_rule(HEALTHZ, "healthz", healthz)
    app.add_url_rule(READYZ, "readyz", readyz)
