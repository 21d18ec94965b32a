"""Purging: tell the caching proxies which surrogate keys (surrogate.py) a write changed.

Every write (the API, ``syndicate import`` and ``demo``, term changes, a scheduled article
falling due, midnight for the date line) hands its keys to ``Purger.enqueue``. One background
thread per app sends them to every target: each proxy of ``PURGE_URLS`` (``PURGE_METHOD``
"xkey": ``PURGE /`` with ``xkey-purge: k1 k2 ...``, what deploy/varnish.vcl answers; "ban":
``BAN /`` with the same header, for a Varnish without the xkey vmod) and the ``PURGE_HOOK``
callable (``module:function``, called with a list of keys; for CDN APIs: raise to retry).

Batching: keys queued while a purge is in flight are coalesced into the next one (no added
delay; at most ``PURGE_BATCH_KEYS`` keys a request). A failed purge (refused, timed out, a
5xx) keeps its keys pending for that target and retries with exponential backoff
(``PURGE_BACKOFF`` doubled, capped at a minute), ``PURGE_ATTEMPTS`` attempts in all; then the
keys are dropped with an error in the log naming them, and the target is told to purge
everything (the key ``all``) as soon as it answers again, retried every minute for as long as it
takes: nothing it kept from before stays once it is back. A 4xx other than 429 is a
configuration error (the proxy's ACL): logged and dropped at once. Targets are independent.

A write never fails for a purge, and waits at most ``PURGE_WAIT`` seconds for its purge's first
attempt, so the very next request through the proxy shows the change; a target that is failing
is not waited for.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask

from . import surrogate
from .models import Article
from .store import Store

log = logging.getLogger("syndicate.purge")
PURGE_HEADER = "xkey-purge"
MAX_BACKOFF = 60.0
METHODS = {"xkey": "PURGE", "ban": "BAN"}


class PurgeRefused(Exception):
    """The target answered that it will never accept this purge (e.g. 403 from its ACL)."""


@dataclass
class Target:
    """One proxy or hook, with its pending keys and its retry state."""

    name: str
    send: Callable[[list[str]], None]  # raises on failure
    pending: dict[str, int] = field(default_factory=dict)  # key -> ticket that queued it
    failures: int = 0
    next_try: float = 0.0
    settled: int = 0  # every ticket up to this one had its first attempt (or was sent)
    sent: list[str] = field(default_factory=list)  # keys accepted (for operators and tests)
    dropped: list[str] = field(default_factory=list)  # keys given up on


def http_sender(url: str, method: str, timeout: float) -> Callable[[list[str]], None]:
    """A sender for one proxy: ``PURGE`` (or ``BAN``) of its root with the keys in a header."""
    target = url.rstrip("/") + "/"

    def send(keys: list[str]) -> None:
        request = urllib.request.Request(target, method=METHODS[method], headers={PURGE_HEADER: " ".join(keys)})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read(4096)
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code != 429:
                raise PurgeRefused(f"{url} answered {exc.code}") from None
            raise

    return send


def hook_sender(spec: str) -> Callable[[list[str]], None]:
    """The ``PURGE_HOOK`` callable named ``module:function``."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


class Purger:
    """The queue and background thread that purge keys at every target."""

    def __init__(
        self, targets: list[Target], *, attempts: int = 8, backoff: float = 0.5, batch: int = 200,
        max_backoff: float = MAX_BACKOFF,
    ) -> None:  # fmt: skip
        self.targets = targets
        self.max_backoff = max_backoff
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.batch = max(1, batch)
        self._cond = threading.Condition()
        self._ticket = 0
        self._busy = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="surrogate-purger", daemon=True)
        self._thread.start()

    def enqueue(self, keys: Iterable[str]) -> int:
        """Queue ``keys`` for every target; returns a ticket for ``wait``. Never blocks."""
        keys = list(keys)
        with self._cond:
            self._ticket += 1
            for target in self.targets:
                for key in keys:
                    target.pending.setdefault(key, self._ticket)
            self._cond.notify_all()
            return self._ticket

    def wait(self, ticket: int, timeout: float) -> bool:
        """Block until every healthy target made its first attempt at ``ticket``'s keys (True),
        or ``timeout`` passes (False). Failing targets are not waited for."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while any(t.settled < ticket and not t.failures for t in self.targets):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def flush(self, timeout: float) -> bool:
        """Block until nothing is pending anywhere (True) or ``timeout`` passes (False); for
        commands that exit after their writes. What is left is logged as given up."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy or any(t.pending for t in self.targets):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    for target in self.targets:
                        if target.pending:
                            self._give_up(target, list(target.pending), "the process is exiting")
                    return False
                self._cond.wait(min(remaining, 0.1))
            return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # ---- the thread
    def _due(self, now: float) -> Target | None:
        ready = [t for t in self.targets if t.pending and t.next_try <= now]
        return min(ready, key=lambda t: t.next_try) if ready else None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    now = time.monotonic()
                    target = self._due(now)
                    if target is not None:
                        break
                    waits = [t.next_try - now for t in self.targets if t.pending]
                    self._cond.wait(min(waits) if waits else None)
                if self._closed:
                    return
                chunk = list(target.pending)[: self.batch]
                ticket = max(target.pending[k] for k in chunk)
                self._busy = True
            error = self._attempt(target, chunk)
            with self._cond:
                self._busy = False
                self._settle(target, chunk, ticket, error)
                self._cond.notify_all()

    def _attempt(self, target: Target, keys: list[str]) -> Exception | None:
        try:
            target.send(keys)
        except Exception as exc:  # a network error, a refusal, or a bug in a hook: all retried
            return exc
        return None

    def _settle(self, target: Target, chunk: list[str], ticket: int, error: Exception | None) -> None:
        # Every ticket up to the oldest one still waiting beyond this chunk had its first attempt.
        attempted = set(chunk)
        waiting = min((t for k, t in target.pending.items() if k not in attempted), default=ticket + 1)
        target.settled = max(target.settled, min(ticket, waiting - 1))
        if error is None:
            for key in chunk:
                target.pending.pop(key, None)
            target.sent.extend(chunk)
            target.failures, target.next_try = 0, 0.0
            return
        target.failures += 1
        reason = f"{error} (attempt {target.failures})"
        if isinstance(error, PurgeRefused):
            self._give_up(target, list(target.pending), reason)
            target.failures, target.next_try = 0, 0.0
            target.settled = max(target.settled, self._ticket)
            return
        if target.failures >= self.attempts:
            # Its keys are dropped, so what it keeps may be stale: once it answers again, it is
            # told to drop everything (the key every response carries), tried every max_backoff.
            lost = [k for k in target.pending if k != surrogate.ALL]
            if lost:
                self._give_up(target, lost, reason + "; everything will be purged there once it answers")
            target.pending.setdefault(surrogate.ALL, self._ticket)
            target.next_try = time.monotonic() + self.max_backoff
            target.settled = max(target.settled, self._ticket)
            return
        delay = min(self.max_backoff, self.backoff * 2 ** (target.failures - 1))
        target.next_try = time.monotonic() + delay
        log.warning("purge: %s failed: %s (attempt %d, retrying in %.1f s)", target.name, error, target.failures, delay)

    def _give_up(self, target: Target, keys: list[str], reason: str) -> None:
        for key in keys:
            target.pending.pop(key, None)
        target.dropped.extend(keys)
        shown = " ".join(sorted(keys)[:50]) + (f" ... ({len(keys)} keys)" if len(keys) > 50 else "")
        log.error("purge: gave up purging %s at %s: %s", shown, target.name, reason)


# ------------------------------------------------------------------------------ from writes


def purger(app: Flask) -> Purger | None:
    return app.extensions.get("purge")


def send(app: Flask, keys: Iterable[str], *, wait: bool = True) -> None:
    """Queue a purge of ``keys`` at every target (nothing when purging is off); with ``wait``,
    give its first attempt up to ``PURGE_WAIT`` seconds. Never raises for the proxy."""
    sender = purger(app)
    keys = set(keys)
    if sender is None or not keys:
        return
    ticket = sender.enqueue(keys)
    if wait and app.config["PURGE_WAIT"]:
        sender.wait(ticket, float(app.config["PURGE_WAIT"]))


def article_written(app: Flask, store: Store, before: Article | None, after: Article | None) -> None:
    """Purge what a write of one article changed (call after its COMMIT)."""
    if purger(app) is None:
        return
    send(app, store.changed_keys(before, after))


def term_changed(app: Flask, kind: str, term_id: int, article_ids: Iterable[int] = ()) -> None:
    """Purge what a term renamed, deleted or merged changed (``article_ids``: its articles)."""
    send(app, surrogate.term_change_keys(kind, term_id, article_ids))


def everything_changed(app: Flask) -> None:
    """Purge every keyed response (after a bulk import): the key ``all``."""
    send(app, {surrogate.ALL})


COMMAND_FLUSH = 30.0  # seconds a command waits for its purges before it exits
UNPURGED_WARNING = "Warning: a caching proxy did not take the purge (see the log); it may show old pages."


def everything_changed_before_exit(app: Flask) -> bool:
    """After a bulk write from the command line: purge every keyed response and wait (bounded),
    since the process exits next. False when a proxy did not take it in time."""
    sender = purger(app)
    if sender is None:
        return True
    everything_changed(app)
    return sender.flush(COMMAND_FLUSH)


# ------------------------------------------------------------------------------ on schedule


class ScheduleWatcher:
    """Purges when no write happens: a scheduled article falling due (like websub's watcher),
    and midnight in ``TIMEZONE`` (every page prints today's date: the key ``nav``)."""

    def __init__(self, app: Flask, poll: float) -> None:
        self.app = app
        self.poll = max(0.05, poll)
        self.zone = ZoneInfo(app.config["TIMEZONE"])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="purge-schedule", daemon=True)
        self._thread.start()

    def _midnight_after(self, moment: datetime) -> datetime:
        local = moment.astimezone(self.zone).date() + timedelta(days=1)
        return datetime.combine(local, datetime.min.time(), self.zone)

    def _run(self) -> None:
        store = Store(self.app.config["DATABASE"])
        try:
            since = store.now()
            midnight = self._midnight_after(store.clock())
            while not self._stop.is_set():
                now = store.clock()
                targets = [midnight, *(t for t in [store.next_scheduled()] if t is not None)]
                wait = min(self.poll, max(0.05, min((t - now).total_seconds() for t in targets) + 0.05))
                if self._stop.wait(wait):
                    return
                current = store.clock()
                if current >= midnight:
                    send(self.app, {surrogate.NAV}, wait=False)
                    midnight = self._midnight_after(current)
                until = store.now()
                for article in store.articles_by_ids(store.became_visible(since, until)):
                    article_written(self.app, store, None, article)
                since = until
        except Exception:  # a bug here must not pass silently, nor take the process down
            log.exception("purge: the schedule watcher stopped")
        finally:
            store.close()

    def close(self) -> None:
        self._stop.set()


def init_app(app: Flask) -> None:
    config = app.config
    targets = [
        Target(url, http_sender(url, config["PURGE_METHOD"], float(config["PURGE_TIMEOUT"])))
        for url in config["PURGE_URLS"]
    ]
    if config.get("PURGE_HOOK"):
        targets.append(Target(config["PURGE_HOOK"], hook_sender(config["PURGE_HOOK"])))
    if not targets:
        return
    app.extensions["purge"] = Purger(
        targets, attempts=config["PURGE_ATTEMPTS"], backoff=float(config["PURGE_BACKOFF"]),
        batch=config["PURGE_BATCH_KEYS"],
    )  # fmt: skip
    app.extensions["purge_schedule"] = ScheduleWatcher(app, float(config["WEBSUB_SCHEDULE_POLL"]))
