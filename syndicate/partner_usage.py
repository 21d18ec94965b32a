"""What each partner took, and how fast it may take it.

- ``UsageTally``: requests, documents and articles delivered per partner per day (UTC), added
  up in memory (a bounded dict; no SQL on a request) and written in one transaction every
  ``PARTNER_USAGE_FLUSH`` seconds by a background thread, and at shutdown.
- ``RateLimits``: a token bucket per partner in each process's memory: ``rate`` requests a
  minute (the partner's own, else ``PARTNER_RATE_PER_MINUTE``), bursts up to a minute's worth;
  over it, 429 with ``Retry-After``. With several processes each keeps its own buckets.
- ``GET /api/v1/partners/usage`` (a read token; ``api_partners``): the usage per partner and day.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from .config import ConfigError
from .store import Store

log = logging.getLogger("syndicate.partners")
MAX_PENDING = 10_000  # (partner, day) counters held between flushes at most; beyond, flush early
MAX_USAGE_DAYS = 366


class UsageTally:
    """Counters per (partner, day) in memory, flushed to the database in batches."""

    def __init__(self, database: str, interval: float, *, clock: Callable[[], datetime] | None = None) -> None:
        self.database = database
        self.interval = interval
        self.clock = clock or (lambda: datetime.now(UTC))
        self.pending: dict[tuple[str, str], list[int]] = {}
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopped = threading.Event()
        self.flushes = 0
        self.thread: threading.Thread | None = None  # started by the first count

    def _start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="partner-usage", daemon=True)
        self.thread.start()

    def count(self, partner: str, *, requests: int = 0, documents: int = 0, articles: int = 0) -> None:
        key = (partner, self.clock().date().isoformat())
        with self.lock:
            if self.thread is None:
                self._start()
            counters = self.pending.get(key)
            if counters is None:
                counters = self.pending[key] = [0, 0, 0]
                if len(self.pending) >= MAX_PENDING:
                    self.wake.set()
            counters[0] += requests
            counters[1] += documents
            counters[2] += articles

    def flush(self) -> int:
        """Write what was counted (one transaction); returns the rows written. On a failure
        the counts are kept for the next flush."""
        with self.lock:
            batch, self.pending = self.pending, {}
        if not batch:
            return 0
        rows = [(partner, day, *counts) for (partner, day), counts in batch.items()]
        store = Store(self.database)
        try:
            store.add_partner_usage(rows)
        except Exception:
            log.exception("partner usage: flush failed; kept for the next one")
            with self.lock:
                for key, counts in batch.items():
                    merged = self.pending.setdefault(key, [0, 0, 0])
                    for i, n in enumerate(counts):
                        merged[i] += n
            return 0
        finally:
            store.close()
        self.flushes += 1
        return len(rows)

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.wake.wait(self.interval)
            self.wake.clear()
            self.flush()

    def close(self) -> None:
        """Stop the thread and write what is left (at shutdown)."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.flush()


class RateLimits:
    """A token bucket per partner: ``rate`` a minute, holding at most a minute's worth."""

    def __init__(self, default_rate: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.default_rate = default_rate
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # partner -> (tokens, at)
        self.lock = threading.Lock()

    def take(self, partner: str, rate: int | None = None) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        per_minute = rate or self.default_rate
        capacity, per_second = float(per_minute), per_minute / 60.0
        now = self.clock()
        with self.lock:
            tokens, at = self.buckets.get(partner, (capacity, now))
            tokens = min(capacity, tokens + (now - at) * per_second)
            if tokens >= 1.0:
                self.buckets[partner] = (tokens - 1.0, now)
                return 0.0
            self.buckets[partner] = (tokens, now)
            return (1.0 - tokens) / per_second


def usage(app: Flask) -> UsageTally:
    return app.extensions["syndicate.partner_usage"]


def rate_limits(app: Flask) -> RateLimits:
    return app.extensions["syndicate.partner_rates"]


# ---------------------------------------------------------------------------------- the API


def openapi_paths() -> dict[str, Any]:
    """This blueprint in the OpenAPI document (``openapi.py`` merges it in)."""
    row = {
        "type": "object",
        "additionalProperties": False,
        "required": ["partner", "day", "requests", "documents", "articles"],
        "properties": {
            "partner": {"type": "string"},
            "day": {"type": "string", "format": "date", "description": "UTC day"},
            "requests": {"type": "integer", "minimum": 0, "description": "authenticated feed requests"},
            "documents": {"type": "integer", "minimum": 0, "description": "feed documents sent (200 or 226)"},
            "articles": {"type": "integer", "minimum": 0, "description": "entries in those documents"},
        },
    }
    return {
        "/api/v1/partners/usage": {
            "get": {
                "operationId": "partnerUsage",
                "summary": "What each partner fetched, per day (any token)",
                "parameters": [
                    {
                        "name": "days",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_USAGE_DAYS, "default": 7},
                    },
                    {"name": "partner", "in": "query", "required": False, "schema": {"type": "string"}},
                ],  # fmt: skip
                "responses": {
                    "200": {
                        "description": "usage rows, newest day first",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "additionalProperties": False,
                                    "required": ["since", "usage"],
                                    "properties": {
                                        "since": {"type": "string", "format": "date"},
                                        "usage": {"type": "array", "items": row},
                                    },
                                }
                            }
                        },
                    },
                    "400": {"$ref": "#/components/responses/E400"},
                    "401": {"$ref": "#/components/responses/E401"},
                },
            }
        }
    }


def init_app(app: Flask) -> None:
    rate = app.config["PARTNER_RATE_PER_MINUTE"]
    interval = app.config["PARTNER_USAGE_FLUSH"]
    if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= 1_000_000:
        raise ConfigError(f"PARTNER_RATE_PER_MINUTE must be a whole number from 1 to 1000000, got {rate!r}")
    if isinstance(interval, bool) or not isinstance(interval, int | float) or not 0.01 <= interval <= 3600:
        raise ConfigError(f"PARTNER_USAGE_FLUSH must be a number of seconds from 0.01 to 3600, got {interval!r}")
    tally = UsageTally(app.config["DATABASE"], float(interval))
    atexit.register(tally.close)
    app.extensions["syndicate.partner_usage"] = tally
    app.extensions["syndicate.partner_rates"] = RateLimits(rate)
