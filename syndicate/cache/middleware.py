"""The fast path: WSGI middleware answering cached pages and feeds before Flask.

How a ``GET`` or ``HEAD`` for a page or a feed is answered (``ResponseCache``):

1. The key (``keys.py``) is the path, the query parameters that change the output, and the
   representation (a browser's view of an RSS or Atom feed, decided by ``negotiation``).
2. ``stamp.py`` says whether an entry is fresh: the stamp (date, scheduled articles fallen due,
   changes to everything) unchanged, and none of the things it shows (``showing.py`` keys,
   recorded while it rendered) changed by a write since.
3. A fresh entry answers straight from memory, without Flask: ``304`` for a matching
   ``If-None-Match`` (or, without it, ``If-Modified-Since``), else ``200`` with a body
   compressed once when it was stored (br, gzip or identity by ``Accept-Encoding``).
4. A missing or stale entry is rendered once per key (a lock per key in the process and, with
   Redis, redis-py's lock across processes), by calling Flask with a canonical request (only
   the key's query parameters, no conditional headers, no cookie, ``GET``), then stored if it
   is a cacheable 200. Everything else (404, 301, ...) passes through uncached. A conditional
   request whose entry was evicted is answered ``304`` from the entry's kept validators
   (``heads``) when nothing it shows changed, without rendering.

Headers that cannot change a public page's bytes (``Cookie``, ``If-Match``,
``If-Unmodified-Since``, ``Range``, ``A-IM``) are answered from the entry too (``answers.py``);
only ``Authorization`` keeps a request away from the shared cache.

Entries are keyed without the stamp and carry it inside, so a write replaces entries instead
of leaving dead ones behind; a small in-process LRU of ready-to-send entries sits in front of
the flask-caching backend so a hit never unpickles a body.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from cachelib.redis import RedisCache
from flask import Flask
from redis.exceptions import RedisError
from redis.lock import Lock
from werkzeug.exceptions import HTTPException

from ..lru import LRU
from ..negotiation import wants_browser_feed
from .answers import ANSWERED_HEADERS, Answers
from .entries import StoredResponse, build_entry, storable
from .keys import BROWSER_SUFFIX, backend_key, backend_prefix, cache_key, canonical_query, is_search
from .stamp import ContentStamp
from .validators import BYPASS_PREFIXES, FILL, HEALTH_PATHS, SHOWN, default_cache_control

log = logging.getLogger(__name__)

# Removed from the canonical request rendered on a miss, so Flask always returns the full body
# for everybody (the fast path answers these headers itself from the entry).
CONDITIONAL = (
    "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_RANGE", "HTTP_A_IM", "HTTP_RANGE",
    "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_COOKIE",
)  # fmt: skip
# Kept on a 304 made from a response that is not stored.
KEPT_ON_PASSTHROUGH_304 = ("etag", "last-modified", "cache-control", "vary", "x-cache", "expires", "content-location")
LOCK_WAIT = 10.0  # seconds a request waits for another one rendering the same key
REDIS_LOCK_TIMEOUT = 10.0  # seconds before a crashed renderer's Redis lock expires
REDIS_POLL = 0.01


class ResponseCache(Answers):
    """WSGI middleware answering cached pages and feeds before Flask (see the module docstring)."""

    def __init__(self, app: Flask, backend: Any, *, clock: Callable[[], float] = time.time) -> None:
        config = app.config
        self.app = app.wsgi_app  # the Flask app proper, called on a miss or a bypass
        self.backend = backend
        self.content = ContentStamp(config["DATABASE"], config["TIMEZONE"], clock=clock)
        self.stamp = self.content.current  # bound once: asked on every request
        self.fresh = self.content.fresh
        self.bypass_prefixes = (*BYPASS_PREFIXES, (app.static_url_path or "/static") + "/")
        self.cache_control = default_cache_control(config)
        self.timeout = config["CACHE_DEFAULT_TIMEOUT"]
        self.prefix = backend_prefix(app)
        size = max(1, min(config["CACHE_THRESHOLD"], int(config.get("CACHE_HOT_ENTRIES", 500))))
        # Searches get their own quarter: a flood of distinct queries (each a legitimate key)
        # can then never push the front page or the feeds out of memory.
        self.hot_searches: LRU[str, StoredResponse] = LRU(max(1, size // 4))
        self.hot: LRU[str, StoredResponse] = LRU(max(1, size - size // 4))
        # The validators of many more entries than fit in memory whole (a few hundred bytes
        # each): a revalidation of an evicted entry that has not changed renders nothing.
        self.heads: LRU[str, StoredResponse] = LRU(int(config.get("CACHE_VALIDATORS", 20000)))
        self.redis = backend._write_client if isinstance(backend, RedisCache) else None
        self._locks: dict[str, list] = {}
        self._locks_guard = threading.Lock()
        self._routes = app.url_map.bind("localhost")
        self.request_key = lru_cache(maxsize=4096)(self._request_key)
        self.renders = 0  # entries rendered by this process (for tests and operators)
        self.init_answers(config, size)
        self.feed_counter = app.extensions.get("syndicate.feed_counter")  # subscriber counts
        self.is_feed = lru_cache(maxsize=1024)(lambda path: self._route_format(path) is not None)
        # With purging on, a miss that overlapped a write is not kept by the proxy.
        self.edge_guard = bool(config.get("PURGE_URLS") or config.get("PURGE_HOOK"))

    # ---- the request
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        # Credentials go to Flask: a shared entry must not answer personal requests.
        if (
            (method != "GET" and method != "HEAD")
            or path.startswith(self.bypass_prefixes)
            or path in HEALTH_PATHS
            or "HTTP_AUTHORIZATION" in environ
        ):
            return self.app(environ, start_response)
        try:
            stamp = self.stamp()
        except sqlite3.Error as exc:  # the database is unusable: let Flask report it
            log.warning("response cache: cannot read the content version: %s", exc)
            self.content.reset_thread_store()
            return self.app(environ, start_response)
        key, query, search = self.request_key(
            environ.get("SCRIPT_NAME", ""), path, environ.get("QUERY_STRING", ""), environ.get("HTTP_ACCEPT")
        )
        hot = self.hot_searches if search else self.hot
        entry = hot.get(key)
        outcome = "hit"
        # Fresh when the stamp matches and nothing it shows moved (checked once per write).
        content = self.content
        if entry is None or entry.stamp != stamp or (entry.checked != content.seen and not self.fresh(entry, stamp)):
            if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ:
                revalidated = self.revalidate(key, stamp, path, environ, start_response)
                if revalidated is not None:
                    return revalidated
            start = content.seen
            entry, outcome, passthrough = self.fill(hot, key, query, stamp, environ)
            if entry is None:
                return self.passthrough(environ, start_response, *passthrough)
            if self.edge_guard and self._moved(stamp, start):
                return self._send_unkept(entry, environ, start_response)
        if not environ.keys().isdisjoint(ANSWERED_HEADERS):
            answered = self.answer(entry, outcome, key, query, environ, start_response)
            if answered is not None:
                return answered
        not_modified = entry.not_modified(environ)
        if self.feed_counter is not None and self.is_feed(path):
            self.feed_counter.record(path, environ, not_modified)  # subscribers.py: no SQL, a tally
        if not_modified:
            start_response("304 Not Modified", list(entry.headers[("304", outcome)]))
            return []
        accept_encoding = environ.get("HTTP_ACCEPT_ENCODING", "")
        coding = entry.codings.get(accept_encoding) or entry.coding_for(accept_encoding)
        start_response(entry.status, list(entry.headers[(coding, outcome)]))
        if method == "HEAD":
            return []
        return [entry.bodies[coding]]

    def _request_key(self, script_name: str, path: str, query_string: str, accept: str | None) -> tuple[str, str, bool]:
        """(key, canonical query, whether it is a search) of a request; memoised per instance
        (``request_key``) because the fast path asks on every request."""
        query = canonical_query(query_string) if query_string else ""
        browser = accept is not None and wants_browser_feed(self._route_format(path), accept)
        return cache_key(script_name + path, query, browser), query, is_search(query)

    def _moved(self, stamp: str, start: int) -> bool:
        """Whether a write landed while this response was rendered (its purge may already have
        reached the proxy, which would then keep this older copy for hours)."""
        try:
            return self.content.current() != stamp or self.content.seen != start
        except sqlite3.Error:
            return True

    # ---- revalidation without rendering
    def revalidate(
        self, key: str, stamp: str, path: str, environ: dict[str, Any], start_response: Callable
    ) -> Iterable[bytes] | None:
        """A 304 for a conditional request whose entry is gone from memory (evicted, or never
        loaded by this process) while what it showed has not changed: the validators of every
        entry rendered are kept apart (``heads``, small), so such a request renders nothing.
        None when a render (or the entry) is needed."""
        if not environ.keys().isdisjoint(ANSWERED_HEADERS):
            return None
        head = self.heads.get(key)
        if head is None or not self.fresh(head, stamp) or not head.not_modified(environ):
            return None
        if self.feed_counter is not None and self.is_feed(path):
            self.feed_counter.record(path, environ, True)
        start_response("304 Not Modified", list(head.headers[("304", "revalidated")]))
        return []

    def _send_unkept(self, entry: StoredResponse, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        """The entry, marked for the proxy alone as not to be kept (``Surrogate-Control:
        no-store``); clients get it as usual. Rare: only a miss that overlapped a write."""
        accept_encoding = environ.get("HTTP_ACCEPT_ENCODING", "")
        coding = entry.codings.get(accept_encoding) or entry.coding_for(accept_encoding)
        headers = [(k, v) for k, v in entry.headers[(coding, "miss")] if k.lower() != "surrogate-control"]
        start_response(entry.status, [*headers, ("Surrogate-Control", "no-store")])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [entry.bodies[coding]]

    def _route_format(self, path: str) -> str | None:
        """The feed format of the route ``path`` leads to (None for anything but a feed)."""
        try:
            _endpoint, values = self._routes.match(path, method="GET")
        except HTTPException:  # not found, a redirect, another method: no feed here
            return None
        return values.get("fmt")

    # ---- a miss
    def fill(
        self, hot: LRU[str, StoredResponse], key: str, query: str, stamp: str, environ: dict[str, Any]
    ) -> tuple[StoredResponse | None, str, tuple]:
        """Find or render the entry for ``key`` at ``stamp``, once per key across threads (and
        processes, with Redis). Returns (entry, 'hit'|'miss', ()) or (None, '', response)."""
        lock = self._key_lock(key)
        held = lock[0].acquire(timeout=LOCK_WAIT)
        try:
            entry = hot.get(key)
            if entry is not None and self.fresh(entry, stamp):
                return entry, "hit", ()
            stored = self._backend_get(key)
            if stored is not None:
                if self.fresh(stored, stamp):
                    hot.put(key, stored)
                    return stored, "hit", ()
                entry = entry or stored
            redis_lock = None
            if self.redis is not None:
                found, redis_lock = self._redis_wait(key, stamp)
                if found is not None:
                    hot.put(key, found)
                    return found, "hit", ()
            try:
                start = self.content.seen  # every change up to here is in what the render reads
                status, headers, body, shown = self.render(environ, query, key)
                if not storable(status, headers):
                    return None, "", (status, headers, body)
                deps, versions = self.content.shown(shown, start)
                fresh = build_entry(
                    stamp, status, headers, body, default_cache_control=self.cache_control,
                    previous=entry, now=self.content.clock(), deps=deps, versions=versions,
                )  # fmt: skip
                hot.put(key, fresh)
                self.heads.put(key, fresh.head())
                self._backend_set(key, fresh)
                return fresh, "miss", ()
            finally:
                if redis_lock is not None:
                    _release(redis_lock)
        finally:
            if held:
                lock[0].release()
            with self._locks_guard:
                lock[1] -= 1
                if not lock[1]:
                    del self._locks[key]

    def render(
        self, environ: dict[str, Any], query: str, key: str = "", keep: tuple[str, ...] = ()
    ) -> tuple[str, list[tuple[str, str]], bytes, frozenset[str] | None]:
        """Call Flask with the canonical form of the request (plus the ``keep`` headers) and
        collect the whole response, with what it shows (``surrogate.SHOWN``)."""
        canonical = dict(environ)
        for name in CONDITIONAL:
            if name not in keep:
                canonical.pop(name, None)
        canonical["REQUEST_METHOD"] = "GET"
        canonical["QUERY_STRING"] = query
        # The one Accept distinction a view makes (feeds for browsers), in canonical form.
        if key.endswith(BROWSER_SUFFIX):
            canonical["HTTP_ACCEPT"] = "text/html"
        else:
            canonical.pop("HTTP_ACCEPT", None)
        canonical[FILL] = True
        captured: list = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            captured[:] = [status, list(headers)]
            return chunks.append

        result = self.app(canonical, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        self.renders += 1
        return captured[0], captured[1], b"".join(chunks), canonical.get(SHOWN)

    def passthrough(
        self, environ: dict[str, Any], start_response: Callable, status: str, headers: list, body: bytes
    ) -> Iterable[bytes]:
        """Send a rendered response that is not stored, as the original request asked for it."""
        headers = [(k, v) for k, v in headers if k.lower() != "x-cache"]
        headers.append(("X-Cache", "bypass"))  # tells operators this URL is never stored
        if status.startswith("200"):
            etag = next((v for k, v in headers if k.lower() == "etag"), None)
            last_modified = next((v for k, v in headers if k.lower() == "last-modified"), "")
            if etag is not None:
                probe = StoredResponse("", status, [], etag, last_modified, "", "", {})
                if probe.not_modified(environ):
                    kept = [(k, v) for k, v in headers if k.lower() in KEPT_ON_PASSTHROUGH_304]
                    start_response("304 Not Modified", kept)
                    return []
        start_response(status, headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    # ---- locks and the backend
    def _key_lock(self, key: str) -> list:
        with self._locks_guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = [threading.Lock(), 0]
            lock[1] += 1
            return lock

    def _backend_get(self, key: str) -> StoredResponse | None:
        try:
            return StoredResponse.from_backend(self.backend.get(backend_key(self.prefix, key)))
        except Exception as exc:  # a cache that is down must not take the site down
            log.warning("response cache: backend read failed: %s", exc)
            return None

    def _backend_set(self, key: str, entry: StoredResponse) -> None:
        try:
            self.backend.set(backend_key(self.prefix, key), entry.to_backend(), timeout=self.timeout)
        except Exception as exc:
            log.warning("response cache: backend write failed: %s", exc)

    def _redis_wait(self, key: str, stamp: str) -> tuple[StoredResponse | None, Lock | None]:
        """Take the Redis render lock for ``key``, waiting for whoever holds it (it stores the
        entry, then releases). Returns (the entry it stored, None), or (None, our lock), or
        (None, None) to render unlocked when Redis fails or the wait times out."""
        lock = self.redis.lock(
            backend_key(self.prefix, key) + ":lock",
            timeout=REDIS_LOCK_TIMEOUT,
            sleep=REDIS_POLL,
            blocking_timeout=LOCK_WAIT,
        )
        try:
            if not lock.acquire():
                return None, None
        except RedisError as exc:
            log.warning("response cache: redis lock failed: %s", exc)
            return None, None
        # Whoever held the lock, or anyone between our read and the lock, may have stored it.
        entry = self._backend_get(key)
        if entry is not None and self.fresh(entry, stamp):
            _release(lock)
            return entry, None
        return None, lock

    # ---- for tests and operators
    def entries(self) -> int:
        """How many entries the in-process layer holds (bounded by CACHE_THRESHOLD)."""
        return len(self.hot) + len(self.hot_searches)


def _release(lock: Lock) -> None:
    try:
        lock.release()
    except RedisError as exc:  # expired (a very slow render) or Redis went away
        log.warning("response cache: redis unlock failed: %s", exc)
