"""Scheduled articles falling due: no write happens then, so whatever a write would trigger
(WebSub pings, fediverse deliveries) needs a watcher of its own.

A ``DueWatcher`` thread sleeps until the next scheduled time (at most ``poll`` seconds, so
schedules added by other processes are noticed), then hands every article that became visible
since it last looked to its callback. Each process runs one per feature; a second notice of
the same article from another process is harmless for both users of it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask

from .models import Article
from .store import Store

log = logging.getLogger(__name__)


class DueWatcher:
    """Calls ``on_due(articles)`` for the articles that became visible since the last look."""

    def __init__(self, app: Flask, poll: float, name: str, on_due: Callable[[list[Article]], object]) -> None:
        self.app = app
        self.poll = max(0.05, poll)
        self.name = name
        self.on_due = on_due
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        store = Store(self.app.config["DATABASE"])
        try:
            since = store.now()
            while not self._stop.is_set():
                due = store.next_scheduled()
                wait = self.poll
                if due is not None:
                    wait = min(wait, max(0.05, (due - store.clock()).total_seconds() + 0.05))
                if self._stop.wait(wait):
                    return
                now = store.now()
                ids = store.became_visible(since, now)
                since = now
                if ids:
                    self.on_due(store.articles_by_ids(ids))
        except Exception:  # a bug here must not pass silently, nor take the process down
            log.exception("%s: the schedule watcher stopped", self.name)
        finally:
            store.close()

    def close(self) -> None:
        self._stop.set()
