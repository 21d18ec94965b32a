"""Logging that stays readable under load: waitress's "Task queue depth" warning, rate-limited.

waitress logs that warning on ``waitress.queue`` for every request that finds no idle thread,
which under ordinary load (more connections than threads, for a moment) is thousands of lines
a second. The filter below lets one through per interval and says how many it held back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

QUEUE_LOGGER = "waitress.queue"
QUEUE_LOG_INTERVAL = 60.0


class RateLimit(logging.Filter):
    """Pass at most one record per ``interval`` seconds; the next one passed tells how many
    were dropped since the last."""

    def __init__(self, interval: float = QUEUE_LOG_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self.next_at = float("-inf")
        self.dropped = 0
        self.lock = threading.Lock()  # waitress logs it from the I/O thread and task threads

    def filter(self, record: logging.LogRecord) -> bool:
        with self.lock:
            now = self.clock()
            if now < self.next_at:
                self.dropped += 1
                return False
            self.next_at = now + self.interval
            dropped, self.dropped = self.dropped, 0
        if dropped:
            record.msg = f"{record.msg} ({dropped} more such warnings since the last one logged)"
        return True


def quiet_queue_warnings(interval: float = QUEUE_LOG_INTERVAL) -> RateLimit:
    """Install the rate limit on waitress's queue logger once per process; returns it."""
    queue_logger = logging.getLogger(QUEUE_LOGGER)
    for existing in queue_logger.filters:
        if isinstance(existing, RateLimit):
            return existing
    limit = RateLimit(interval)
    queue_logger.addFilter(limit)
    return limit
