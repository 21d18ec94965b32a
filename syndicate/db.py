"""The store for the current app context.

A request's store is one per worker thread, opened on first use and kept for the thread's next
requests (opening SQLite and setting its pragmas costs more than a whole listing query); it is
dropped after a request that failed, so a connection in an unknown state is never reused, and
reopened when the database file was replaced (a restore). It waits at most WRITE_LOCK_TIMEOUT
for another writer's lock (then the API answers 503). An operator command's store (no request)
is its own, waits COMMAND_LOCK_TIMEOUT, and is closed at teardown."""

from __future__ import annotations

import os
import threading

from flask import Flask, current_app, g, has_request_context

from .store import Store

EXTENSION = "syndicate.stores"


def get_store() -> Store:
    if "store" not in g:
        config = current_app.config
        if has_request_context():
            g.store = _thread_store(config["DATABASE"], config["WRITE_LOCK_TIMEOUT"])
        else:
            g.store = Store(config["DATABASE"], lock_timeout=config["COMMAND_LOCK_TIMEOUT"])
            g.store_owned = True
    return g.store


def _thread_store(path: str, lock_timeout: float) -> Store:
    local = current_app.extensions[EXTENSION]
    store = getattr(local, "store", None)
    file = _file_identity(path)
    if store is not None and (local.file != file or store.lock_timeout != lock_timeout):
        local.store = None
        store.close()
        store = None
    if store is None:
        store = local.store = Store(path, lock_timeout=lock_timeout)
        local.file = file
    return store


def _file_identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):  # missing (SQLite reports it), or ':memory:'-like names
        return None
    return info.st_dev, info.st_ino


def close_store(exc: BaseException | None = None) -> None:
    store = g.pop("store", None)
    if store is None:
        return
    if g.pop("store_owned", False):
        store.close()
    elif exc is not None or store.conn.in_transaction:
        current_app.extensions[EXTENSION].store = None
        store.close()


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = threading.local()
    app.teardown_appcontext(close_store)
