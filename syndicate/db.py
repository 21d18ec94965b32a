"""The store for the current app context: one per worker thread, opened on first use and kept
for the thread's next requests (opening SQLite and setting its pragmas costs more than a whole
listing query); dropped after a request that failed, so a connection in an unknown state is
never reused."""

from __future__ import annotations

import os
import threading

from flask import Flask, current_app, g

from .store import Store

EXTENSION = "syndicate.stores"


def get_store() -> Store:
    if "store" not in g:
        local = current_app.extensions[EXTENSION]
        path = current_app.config["DATABASE"]
        store = getattr(local, "store", None)
        file = _file_identity(path)
        if store is not None and local.file != file:  # the file was replaced (a restore): reopen
            local.store = None
            store.close()
            store = None
        if store is None:
            store = local.store = Store(path)
            local.file = file
        g.store = store
    return g.store


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
    if exc is not None or store.conn.in_transaction:
        current_app.extensions[EXTENSION].store = None
        store.close()


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = threading.local()
    app.teardown_appcontext(close_store)
