"""The store for the current app context: opened on first use, closed at teardown."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context

from .store import Store


def get_store() -> Store:
    """A request's store waits at most WRITE_LOCK_TIMEOUT for another writer's lock (then the
    API answers 503), an operator command's COMMAND_LOCK_TIMEOUT."""
    if "store" not in g:
        config = current_app.config
        timeout = config["WRITE_LOCK_TIMEOUT"] if has_request_context() else config["COMMAND_LOCK_TIMEOUT"]
        g.store = Store(config["DATABASE"], lock_timeout=timeout)
    return g.store


def close_store(_exc: BaseException | None = None) -> None:
    store = g.pop("store", None)
    if store is not None:
        store.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_store)
