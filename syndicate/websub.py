"""WebSub publishing: tell the hub (``WEBSUB_HUB``) which feeds changed after every write.

Pings go through a queue to one background thread per app, so a slow or failing hub never
delays a write: the API answers first, the thread POSTs ``hub.mode=publish&hub.url=<feed>``
for each affected feed later. A failed ping (network error or a non-2xx answer) is logged and
retried with exponential backoff, at most ``WEBSUB_ATTEMPTS`` attempts in all, then dropped with
an error in the log. A feed URL already waiting in the queue is not queued twice.

Settings (optional, read with defaults): ``WEBSUB_ATTEMPTS`` (4), ``WEBSUB_BACKOFF`` (seconds
before the first retry, doubled each time; 2.0), ``WEBSUB_TIMEOUT`` (seconds per request; 10).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from urllib.parse import urlencode

from flask import Flask

from . import urls
from .models import Article, Scope
from .schedule import DueWatcher

log = logging.getLogger("syndicate.websub")
FORMATS = ("rss", "atom", "json")


def feed_urls(site_url: str, articles: Iterable[Article]) -> list[str]:
    """Every feed an article appears in: the site's feeds and its category, author and tag
    feeds, in all three formats (absolute URLs, from SITE_URL)."""
    scopes = [Scope("site")]
    for article in articles:
        for term in [article.category, article.author, *article.tags]:
            if term is not None:
                scopes.append(Scope(term.kind, term.slug))
    out: list[str] = []
    for scope in scopes:
        for fmt in FORMATS:
            url = site_url + urls.feed_path(scope, fmt)
            if url not in out:
                out.append(url)
    return out


class Pinger:
    """The queue and background thread that send pings to one hub."""

    def __init__(self, hub: str, *, attempts: int = 4, backoff: float = 2.0, timeout: float = 10.0) -> None:
        self.hub = hub
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.timeout = timeout
        self._cond = threading.Condition()
        self._due: list[tuple[float, int, str, int]] = []  # (when, seq, feed url, attempt) heap
        self._pending: set[str] = set()
        self._busy = 0
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        self.sent: list[str] = []  # feed URLs the hub accepted (for operators and tests)
        self.failed: list[str] = []  # feed URLs given up on

    def enqueue(self, feed_urls: Iterable[str]) -> None:
        with self._cond:
            if self._closed:
                return
            for url in feed_urls:
                if url not in self._pending:
                    self._pending.add(url)
                    self._push(time.monotonic(), url, 1)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="websub-pinger", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _push(self, when: float, url: str, attempt: int) -> None:
        self._seq += 1
        heapq.heappush(self._due, (when, self._seq, url, attempt))

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._due or self._due[0][0] > time.monotonic()):
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._cond.wait(wait)
                if self._closed:
                    return
                _when, _seq, url, attempt = heapq.heappop(self._due)
                # Once in flight it may be queued again: a write during the ping needs a new one.
                self._pending.discard(url)
                self._busy += 1
            ok = self._send(url, attempt)
            with self._cond:
                self._busy -= 1
                if ok:
                    self.sent.append(url)
                elif url in self._pending:
                    pass  # a fresh ping for this feed is already queued
                elif attempt < self.attempts:
                    self._pending.add(url)
                    self._push(time.monotonic() + self.backoff * 2 ** (attempt - 1), url, attempt + 1)
                else:
                    self.failed.append(url)
                    log.error("WebSub: gave up pinging %s for %s after %d attempts", self.hub, url, attempt)
                self._cond.notify_all()

    def _send(self, feed_url: str, attempt: int) -> bool:
        data = urlencode({"hub.mode": "publish", "hub.url": feed_url}).encode()
        req = urllib.request.Request(
            self.hub, data=data, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                response.read(65536)
                return 200 <= response.status < 300
        except urllib.error.HTTPError as exc:
            log.warning("WebSub: hub %s answered %s for %s (attempt %d)", self.hub, exc.code, feed_url, attempt)
        except (OSError, ValueError) as exc:  # refused, timed out, DNS, malformed URL...
            log.warning("WebSub: pinging %s for %s failed: %s (attempt %d)", self.hub, feed_url, exc, attempt)
        return False

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or in flight (True), or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._due or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def pinger(app: Flask) -> Pinger | None:
    return app.extensions.get("websub")


def notify(app: Flask, articles: Iterable[Article]) -> list[str]:
    """Queue pings for every feed the given articles appear (or appeared) in: pass the article
    before and after a change, so a feed it left is pinged too. Returns the queued feed URLs;
    nothing is sent when ``WEBSUB_HUB`` is not set. Never blocks on the hub."""
    sender = pinger(app)
    if sender is None:
        return []
    feeds = feed_urls(app.config["SITE_URL"], list(articles))
    sender.enqueue(feeds)
    return feeds


def init_app(app: Flask) -> None:
    hub = app.config.get("WEBSUB_HUB") or ""
    if not hub:
        return
    app.extensions["websub"] = Pinger(
        hub,
        attempts=int(app.config.get("WEBSUB_ATTEMPTS", 4)),
        backoff=float(app.config.get("WEBSUB_BACKOFF", 2.0)),
        timeout=float(app.config.get("WEBSUB_TIMEOUT", 10.0)),
    )
    # A scheduled article falling due is no write, so no write pings for it: the watcher does.
    app.extensions["websub_schedule"] = DueWatcher(
        app, float(app.config["WEBSUB_SCHEDULE_POLL"]), "websub-schedule", lambda articles: notify(app, articles)
    )
