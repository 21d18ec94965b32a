"""Feed statistics: per feed path and UTC day, requests and 304s, the latest subscriber figure
each aggregator announced, and distinct direct pollers (keyed hashes, merged across processes
by ``INSERT OR IGNORE``). None of these writes bumps the change stamp: they change no page.

Retention: the hashes of a day's pollers are kept until the day after next, then replaced by
their count (``feed_days.pollers``); the day's hashing salt goes with them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from .connection import Connection

SALT_BYTES = 16


class FeedStats(Connection):
    def day_salt(self, day: str) -> bytes:
        """The salt that keys the poller hashes of ``day`` (UTC, ISO date), the same in every
        process: made by whichever process asks first."""
        with self.transaction():
            self.conn.execute(
                "INSERT OR IGNORE INTO feed_salts (day, salt) VALUES (?, ?)", (day, os.urandom(SALT_BYTES))
            )
            return self.conn.execute("SELECT salt FROM feed_salts WHERE day = ?", (day,)).fetchone()["salt"]

    def add_feed_counts(
        self,
        day: str,
        requests: dict[str, tuple[int, int]],
        aggregators: dict[tuple[str, str], tuple[int, str]],
        pollers: Iterable[tuple[str, bytes]],
        *,
        keep_from: str,
    ) -> None:
        """Add one process's tally for ``day`` (requests and 304s add up; an aggregator's figure
        is replaced by a later one; pollers are merged), then roll up the days before
        ``keep_from``: one transaction."""
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO feed_days (day, path, requests, not_modified) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(day, path) DO UPDATE SET requests = requests + excluded.requests,"
                " not_modified = not_modified + excluded.not_modified",
                [(day, path, n, n304) for path, (n, n304) in requests.items()],
            )
            self.conn.executemany(
                "INSERT INTO feed_aggregators (day, path, aggregator, subscribers, seen) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(day, path, aggregator) DO UPDATE SET subscribers = excluded.subscribers,"
                " seen = excluded.seen WHERE excluded.seen >= feed_aggregators.seen",
                [(day, path, name, count, seen) for (path, name), (count, seen) in aggregators.items()],
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO feed_pollers (day, path, poller) VALUES (?, ?, ?)",
                [(day, path, poller) for path, poller in pollers],
            )
            self._roll_up_pollers(keep_from)

    def _roll_up_pollers(self, keep_from: str) -> None:
        """Days before ``keep_from`` keep only the count of their pollers, not the hashes."""
        old = self.conn.execute("SELECT 1 FROM feed_pollers WHERE day < ? LIMIT 1", (keep_from,)).fetchone()
        if old is not None:
            self.conn.execute(
                "UPDATE feed_days SET pollers = coalesce(pollers, 0) + (SELECT count(*) FROM feed_pollers p"
                " WHERE p.day = feed_days.day AND p.path = feed_days.path) WHERE day < ?",
                (keep_from,),
            )
            self.conn.execute("DELETE FROM feed_pollers WHERE day < ?", (keep_from,))
        self.conn.execute("DELETE FROM feed_salts WHERE day < ?", (keep_from,))

    def feed_days(self, since: str, until: str) -> list[dict[str, Any]]:
        """Every (day, path) from ``since`` to ``until`` (ISO dates, inclusive): requests, 304s,
        distinct pollers and each aggregator's figure."""
        rows = self.conn.execute(
            "SELECT d.day, d.path, d.requests, d.not_modified, coalesce(d.pollers, 0) + (SELECT count(*)"
            " FROM feed_pollers p WHERE p.day = d.day AND p.path = d.path) AS pollers FROM feed_days d"
            " WHERE d.day BETWEEN ? AND ? ORDER BY d.day DESC, d.path",
            (since, until),
        )
        out = [{**dict(row), "aggregators": {}} for row in rows]
        by_key = {(row["day"], row["path"]): row for row in out}
        for row in self.conn.execute(
            "SELECT day, path, aggregator, subscribers FROM feed_aggregators WHERE day BETWEEN ? AND ?"
            " ORDER BY aggregator",
            (since, until),
        ):
            found = by_key.get((row["day"], row["path"]))
            if found is not None:
                found["aggregators"][row["aggregator"]] = row["subscribers"]
        return out
