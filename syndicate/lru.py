"""A small bounded map, least recently used out first, safe to share between threads.

For values we build ourselves and look up on hot paths (the response cache's ready entries,
the store's page keys). Functions of a hashable argument use ``functools.lru_cache`` instead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most ``size`` items; ``get`` refreshes an item, ``put`` evicts the oldest."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[K, V] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: K) -> V | None:
        # No lock on reads: each OrderedDict operation is atomic under the GIL, and a reader
        # blocked on a lock would hand the GIL around under load. A key evicted between the
        # two calls just is not moved.
        value = self.data.get(key)
        if value is not None:
            try:
                self.data.move_to_end(key)
            except KeyError:
                pass
        return value

    def put(self, key: K, value: V) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)

    def __len__(self) -> int:
        return len(self.data)
