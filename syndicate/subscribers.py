"""Feed subscriber counts: who reads each feed, counted per feed path and UTC day.

Two kinds of reader fetch a feed. Aggregators (Feedly, Inoreader, NewsBlur, The Old Reader,
Feedbin...) fetch once for many people and say how many in their User-Agent ("...; 1234
subscribers; ..."): ``parse_agent`` reads that figure, and the latest one per aggregator and
feed counts. Everyone else polls from their own address: each distinct (address, user agent)
pair is one direct poller.

The hot path (``FeedCounter.record``, called by the cache's fast path and by Flask for feed
responses) runs no SQL: it adds to a bounded in-memory tally under a lock. A background thread
flushes the tally every ``FEED_STATS_FLUSH`` seconds (and at shutdown) in one transaction, adding
to what other processes flushed. Raw addresses are never written: at flush time each pair is
turned into a keyed hash (BLAKE2b, keyed by the day's random salt, shared by processes through
the database so their pollers merge); the hashes and the salt are deleted after the next day,
leaving only the count.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from flask import Flask, current_app, request

log = logging.getLogger(__name__)

MAX_AGENT = 256  # characters of a User-Agent that are read and kept in memory
MAX_PATHS = 10_000  # distinct feed paths a process tallies between flushes
MAX_AGGREGATOR_KEYS = 10_000  # (feed, aggregator) pairs between flushes
MAX_POLLERS = 50_000  # distinct (feed, address, agent) between flushes; a full tally flushes early
MAX_SUBSCRIBERS = 100_000_000  # a figure above this is not believed
MAX_PENDING = 24  # batches kept for a retry while the database refuses writes
STATS_MAX_DAYS = 90
POLLER_BYTES = 16

# Aggregators that announce subscriber counts, by a token of their User-Agent (case-insensitive),
# with the name the figures are filed under. A User-Agent with a figure but none of these tokens
# is filed under its first product token ("Foo/1.2" -> "Foo").
AGGREGATORS = (
    ("feedly", "Feedly"),
    ("inoreader", "Inoreader"),
    ("newsblur", "NewsBlur"),
    ("theoldreader", "The Old Reader"),
    ("feedbin", "Feedbin"),
    ("bazqux", "BazQux"),
    ("netvibes", "Netvibes"),
    ("feedspot", "Feedspot"),
    ("feedhq", "FeedHQ"),
    ("superfeedr", "Superfeedr"),
    ("g2reader", "G2Reader"),
    ("feed wrangler", "Feed Wrangler"),
    ("feedwrangler", "Feed Wrangler"),
    ("rssowl", "RSSOwl"),
    ("blogtrottr", "Blogtrottr"),
)
FIGURE = re.compile(r"(?<![\w.])(\d{1,9}(?:,\d{3})*)\s*(?:active\s+)?(?:subscribers?|readers?)\b", re.IGNORECASE)
PRODUCT = re.compile(r"[A-Za-z][A-Za-z0-9 ._-]{0,39}")


@lru_cache(maxsize=4096)
def parse_agent(user_agent: str) -> tuple[str, int] | None:
    """(aggregator, subscribers) when ``user_agent`` announces a subscriber count, else None."""
    match = FIGURE.search(user_agent)
    if match is None:
        return None
    count = int(match.group(1).replace(",", ""))
    if count > MAX_SUBSCRIBERS:
        return None
    lower = user_agent.lower()
    for token, name in AGGREGATORS:
        if token in lower:
            return name, count
    product = PRODUCT.match(user_agent.split("/", 1)[0].strip())
    name = product.group(0).strip() if product else ""
    if not name or name.lower() == "mozilla":
        return "other", count
    return name, count


def utc_day(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).date().isoformat()


@dataclass
class Tally:
    """One process's counts for one UTC day, since the last flush."""

    day: str
    requests: dict[str, list[int]] = field(default_factory=dict)  # path -> [requests, 304s]
    aggregators: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)  # -> (figure, when)
    pollers: set[tuple[str, str, str]] = field(default_factory=set)  # (path, address, agent)


class FeedCounter:
    """The in-memory tally of one process and its flusher (see the module docstring)."""

    def __init__(self, database: str, *, interval: float, clock: Any = time.time) -> None:
        self.database = database
        self.interval = interval
        self.clock = clock
        self.dropped = 0  # requests not tallied because a bound was reached
        self._lock = threading.Lock()
        self._tally = Tally(utc_day(clock()))
        self._day_ends = self._next_midnight(clock())
        self._pending: list[Tally] = []
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    @staticmethod
    def _next_midnight(now: float) -> float:
        return (now // 86400 + 1) * 86400

    # ---- the hot path
    def record(self, path: str, environ: dict[str, Any], not_modified: bool) -> None:
        """Count one answered feed request (200 or 304)."""
        agent = environ.get("HTTP_USER_AGENT", "")[:MAX_AGENT]
        announced = parse_agent(agent)
        now = self.clock()
        with self._lock:
            if now >= self._day_ends:
                self._rotate(now)
            tally = self._tally
            counts = tally.requests.get(path)
            if counts is None:
                if len(tally.requests) >= MAX_PATHS:
                    self.dropped += 1
                    return
                counts = tally.requests[path] = [0, 0]
            counts[0] += 1
            if not_modified:
                counts[1] += 1
            if announced is not None:
                key = (path, announced[0])
                if key in tally.aggregators or len(tally.aggregators) < MAX_AGGREGATOR_KEYS:
                    tally.aggregators[key] = (announced[1], now)  # made an ISO time at the flush
            elif len(tally.pollers) < MAX_POLLERS:
                tally.pollers.add((path, environ.get("REMOTE_ADDR", ""), agent))
                if len(tally.pollers) == MAX_POLLERS:
                    self._wake.set()  # full: flush now rather than lose pollers
        if self._thread is None:
            self._start()

    def _rotate(self, now: float) -> None:
        """A new UTC day (call with the lock held): the old day's tally waits for the flush."""
        self._pending.append(self._tally)
        del self._pending[:-MAX_PENDING]
        self._tally = Tally(utc_day(now))
        self._day_ends = self._next_midnight(now)

    # ---- flushing
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._run, name="feed-stats-flush", daemon=True)
            self._thread.start()
        atexit.register(self.close)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Write everything tallied so far (every process adds its own); returns the requests
        written. A failed write is kept for the next flush."""
        from .store import Store

        with self._flush_lock:
            with self._lock:
                now = self.clock()
                if now >= self._day_ends:
                    self._rotate(now)
                batches = [*self._pending, self._tally]
                self._pending = []
                self._tally = Tally(self._tally.day)
            batches = [b for b in batches if b.requests]
            if not batches:
                return 0
            written = 0
            store = None
            try:
                store = Store(self.database)
                keep_from = (date.fromisoformat(utc_day(now)) - timedelta(days=1)).isoformat()
                for batch in batches:
                    self._write(store, batch, keep_from)
                    written += sum(n for n, _ in batch.requests.values())
                    batches = batches[1:]
            except Exception as exc:  # the database is busy or gone: keep the counts, retry later
                log.warning("feed statistics: flush failed, will retry: %s", exc)
                with self._lock:
                    self._pending = (batches + self._pending)[-MAX_PENDING:]
            finally:
                if store is not None:
                    store.close()
            return written

    @staticmethod
    def _write(store: Any, batch: Tally, keep_from: str) -> None:
        salt = store.day_salt(batch.day)
        pollers = {
            (path, hashlib.blake2b(f"{address}\n{agent}".encode(), key=salt, digest_size=POLLER_BYTES).digest())
            for path, address, agent in batch.pollers
        }
        requests = {path: (n, n304) for path, (n, n304) in batch.requests.items()}
        aggregators = {
            key: (count, datetime.fromtimestamp(seen, UTC).isoformat(timespec="microseconds"))
            for key, (count, seen) in batch.aggregators.items()
        }
        store.add_feed_counts(batch.day, requests, aggregators, pollers, keep_from=keep_from)

    def close(self) -> None:
        """Stop the flusher and write what is left (at shutdown)."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self.flush()


# ------------------------------------------------------------------------------ the report


def _mean(values: list[int]) -> float:
    return round(sum(values) / len(values), 1) if values else 0.0


def feed_report(store: Any, site_url: str, *, days: int, limit: int, today: date) -> dict[str, Any]:
    """The busiest feeds over the last ``days`` days up to ``today`` (UTC): per day, the
    subscribers (the aggregators' latest figures plus the direct pollers), requests and 304s;
    per feed, the latest day's subscribers and the means over the last 7 and 30 days (of the
    days the feed was fetched). Most subscribers first."""
    since = today - timedelta(days=days - 1)
    window = min(since, today - timedelta(days=29))
    feeds: dict[str, list[dict[str, Any]]] = {}
    for row in store.feed_days(window.isoformat(), today.isoformat()):
        subscribers = sum(row["aggregators"].values()) + row["pollers"]
        day = {
            "day": row["day"], "subscribers": subscribers, "aggregators": row["aggregators"],
            "pollers": row["pollers"], "requests": row["requests"], "not_modified": row["not_modified"],
        }  # fmt: skip
        feeds.setdefault(row["path"], []).append(day)
    out = []
    for path, rows in feeds.items():  # each newest first
        shown = [r for r in rows if r["day"] >= since.isoformat()]
        if not shown:
            continue
        week, month = ((today - timedelta(days=n)).isoformat() for n in (6, 29))
        readable = path.encode("latin-1", "replace").decode("utf-8", "replace")  # WSGI's PATH_INFO
        out.append({
            "path": readable,
            "url": site_url + quote(readable, safe="/-._~"),
            "subscribers": shown[0]["subscribers"],
            "average_7": _mean([r["subscribers"] for r in rows if r["day"] >= week]),
            "average_30": _mean([r["subscribers"] for r in rows if r["day"] >= month]),
            "requests": sum(r["requests"] for r in shown),
            "not_modified": sum(r["not_modified"] for r in shown),
            "days": shown,
        })  # fmt: skip
    out.sort(key=lambda feed: (-feed["subscribers"], -feed["requests"], feed["path"]))
    return {"since": since.isoformat(), "until": today.isoformat(), "feeds": out[:limit]}


# ------------------------------------------------------------------------------ the app


def feed_counter(app: Flask | None = None) -> FeedCounter | None:
    """The app's counter, or None when counting is off (FEED_STATS_FLUSH = 0)."""
    return (app or current_app).extensions.get("syndicate.feed_counter")


def _count_in_flask(response: Any) -> Any:
    """Feed responses the fast path did not answer (caching off, or a request it passes to
    Flask, such as one with credentials); the ones it renders for itself it counts itself."""
    from .cache.validators import FILL

    environ = request.environ
    if (
        FILL not in environ
        and request.blueprint == "feeds"
        and (request.view_args or {}).get("fmt")
        and response.status_code in (200, 304)
    ):
        counter = feed_counter()
        if counter is not None:
            counter.record(environ.get("PATH_INFO", ""), environ, response.status_code == 304)
    return response


def init_app(app: Flask) -> None:
    interval = app.config["FEED_STATS_FLUSH"]
    if not interval or app.config["DATABASE"] == ":memory:":
        app.extensions["syndicate.feed_counter"] = None
        return
    app.extensions["syndicate.feed_counter"] = FeedCounter(app.config["DATABASE"], interval=float(interval))
    app.after_request(_count_in_flask)
