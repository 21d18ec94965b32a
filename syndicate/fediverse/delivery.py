"""The delivery queue's workers: background threads that POST queued activities, signed.

Activities wait in SQLite (``fedi_deliveries``), so a restart loses nothing and a write never
waits: it only inserts rows. ``FEDIVERSE_WORKERS`` threads per process claim due rows (a lease,
so two processes never send the same row at once unless one dies mid-send), sign each POST
with the sending actor's key and send it. A 2xx ends the row. A network error, a 5xx, 408 or
429 is retried with exponential backoff (``FEDIVERSE_BACKOFF`` seconds, doubled each time, at
most six hours) until ``FEDIVERSE_RETRY_SECONDS`` (a day) have passed; then the inbox is marked
unreachable and nothing more is queued for it until a follower behind it follows again (or an
operator runs ``syndicate fediverse retry``). Any other 4xx drops that one delivery.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime

from ..store.fediverse import FediStorage
from . import actors, net, signatures

log = logging.getLogger("syndicate.fediverse.delivery")
MAX_BACKOFF = 6 * 3600.0
RETRYABLE = {408, 425, 429}
BATCH = 5


def stamp(moment: float) -> str:
    """A fixed-width UTC time with microseconds (string order is time order)."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def parse_stamp(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


class Deliverer:
    """The worker threads of one process, started on first use (or at start-up when rows wait)."""

    def __init__(self, config: dict) -> None:
        self.database = config["DATABASE"]
        self.timeout = float(config["FEDIVERSE_TIMEOUT"])
        self.backoff = float(config["FEDIVERSE_BACKOFF"])
        self.retry_for = float(config["FEDIVERSE_RETRY_SECONDS"])
        self.poll = float(config["FEDIVERSE_POLL"])
        self.allow_private = bool(config["FEDIVERSE_ALLOW_PRIVATE_ADDRESSES"])
        self.workers = int(config["FEDIVERSE_WORKERS"])
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._busy = 0
        self.sent = 0  # deliveries this process completed (operators, tests, bench)

    def wake(self) -> None:
        """Something was queued: start the workers if needed and let them look now."""
        with self._cond:
            if self._closed:
                return
            if not self._threads:
                for n in range(self.workers):
                    thread = threading.Thread(target=self._run, name=f"fediverse-delivery-{n}", daemon=True)
                    self._threads.append(thread)
                    thread.start()
            self._cond.notify()  # one worker; it wakes another when there is more than a batch

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _run(self) -> None:
        fedi = FediStorage(self.database)
        try:
            while True:
                now = time.time()
                due = fedi.next_due()  # a read first: writers are not made to wait for empty claims
                rows = []
                if due is not None and parse_stamp(due) <= now:
                    rows = fedi.claim(stamp(now), stamp(now + self.timeout * 3 + 5), BATCH)
                if rows:
                    with self._cond:
                        self._busy += 1
                        if len(rows) == BATCH:
                            self._cond.notify()  # more may be due: another worker takes the next batch
                    try:
                        done = [row["id"] for row in rows if self._deliver(fedi, row)]
                        fedi.delivered(done)  # one short transaction for the whole batch
                    finally:
                        with self._cond:
                            self._busy -= 1
                            self._cond.notify_all()
                    continue
                due = fedi.next_due()
                wait = self.poll if due is None else min(self.poll, max(0.01, parse_stamp(due) - time.time()))
                with self._cond:
                    if self._closed:
                        return
                    self._cond.wait(wait)
                    if self._closed:
                        return
        except Exception:  # a bug here must be seen, and must not take the process down
            log.exception("fediverse: a delivery worker stopped")
        finally:
            fedi.close()

    def _deliver(self, fedi: FediStorage, row: dict) -> bool:
        """Send one delivery; True when it is finished (sent, or refused for good)."""
        body = row["body"].encode()
        actor_id = row["actor"]
        try:
            _public, private = actors.keys(fedi, actor_id)
            headers = signatures.sign_request("POST", row["inbox"], body, actor_id + "#main-key", private)
            status = net.post(row["inbox"], body, headers, timeout=self.timeout, allow_private=self.allow_private)
            error = f"answered {status}"
        except net.FetchError as exc:
            status, error = 0, str(exc)
        if 200 <= status < 300:
            with self._cond:
                self.sent += 1
            return True
        if 400 <= status < 500 and status not in RETRYABLE:
            log.warning("fediverse: %s refused %s (%s); not retried", row["inbox"], _kind(row["body"]), error)
            return True
        now = time.time()
        if now - parse_stamp(row["created"]) >= self.retry_for:
            dropped = fedi.give_up(row["inbox"], stamp(now))
            log.error(
                "fediverse: gave up on %s after %d attempts (%s); %d deliveries dropped",
                row["inbox"],
                row["attempts"] + 1,
                error,
                dropped,
            )
            return False
        delay = min(MAX_BACKOFF, self.backoff * 2 ** row["attempts"])
        fedi.reschedule(row["id"], stamp(now + delay), error)
        log.warning("fediverse: delivery to %s failed (%s); retrying in %.0f s", row["inbox"], error, delay)
        return False

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is due or in flight (True), or ``timeout`` passes (tests, bench)."""
        deadline = time.monotonic() + timeout
        fedi = FediStorage(self.database)
        try:
            while time.monotonic() < deadline:
                with self._cond:
                    busy = self._busy
                due = fedi.next_due()
                if not busy and (due is None or parse_stamp(due) > time.time() + 1):
                    return True
                with self._cond:
                    self._cond.wait(0.02)
            return False
        finally:
            fedi.close()


def _kind(body: str) -> str:
    try:
        return str(json.loads(body).get("type"))
    except ValueError:
        return "?"
