"""The fast path: WSGI middleware answering cached pages and feeds before Flask.

How a ``GET`` or ``HEAD`` for a page or a feed is answered (``ResponseCache``):

1. The key (``keys.py``) is the path, the query parameters that change the output, and the
   representation (a browser's view of an RSS or Atom feed, decided by ``negotiation``).
2. The stamp (``stamp.py``) says which content the entry must show.
3. A fresh entry answers straight from memory, without Flask: ``304`` for a matching
   ``If-None-Match`` (or, without it, ``If-Modified-Since``), else ``200`` with a body
   compressed once when it was stored (br, gzip or identity by ``Accept-Encoding``).
4. A missing or stale entry is rendered once per key (a lock per key in the process and, with
   Redis, redis-py's lock across processes), by calling Flask with a canonical request (only
   the key's query parameters, no conditional headers, ``GET``), then stored if it is a
   cacheable 200. Everything else (404, 301, cookies, ...) passes through uncached.

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
from ..negotiation import BROWSER_FORMATS, IMMUTABLE, VARY_ACCEPT, VARY_ENCODING, wants_browser_feed
from ..urls import HEALTHZ
from .entries import StoredResponse, build_entry, storable
from .keys import BROWSER_SUFFIX, backend_key, backend_prefix, cache_key, canonical_query, is_search, validator
from .stamp import ContentStamp
from .validators import BYPASS_PREFIXES, FILL, VALIDATOR, default_cache_control

log = logging.getLogger(__name__)

# Removed from the canonical request rendered on a miss, so Flask always returns the full body.
CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_RANGE", "HTTP_A_IM", "HTTP_RANGE")
# Kept on a 304 made from a response that is not stored.
KEPT_ON_PASSTHROUGH_304 = ("etag", "last-modified", "cache-control", "vary", "x-cache", "expires", "content-location")
LOCK_WAIT = 10.0  # seconds a request waits for another one rendering the same key
REDIS_LOCK_TIMEOUT = 10.0  # seconds before a crashed renderer's Redis lock expires
REDIS_POLL = 0.01
# Views whose responses are a function of the key and the stamp alone, so their ETag can be
# computed without rendering (``keys.validator``).
VALIDATED_BLUEPRINTS = ("site.", "feeds.")


class ResponseCache:
    """WSGI middleware answering cached pages and feeds before Flask (see the module docstring)."""

    def __init__(self, app: Flask, backend: Any, *, clock: Callable[[], float] = time.time) -> None:
        config = app.config
        self.app = app.wsgi_app  # the Flask app proper, called on a miss or a bypass
        self.backend = backend
        self.content = ContentStamp(config["DATABASE"], config["TIMEZONE"], clock=clock)
        self.stamp = self.content.current  # bound once: asked on every request
        self.bypass_prefixes = (*BYPASS_PREFIXES, (app.static_url_path or "/static") + "/")
        self.cache_control = default_cache_control(config)
        self.timeout = config["CACHE_DEFAULT_TIMEOUT"]
        self.prefix = backend_prefix(app)
        size = max(1, min(config["CACHE_THRESHOLD"], int(config.get("CACHE_HOT_ENTRIES", 500))))
        # Searches get their own quarter: a flood of distinct queries (each a legitimate key)
        # can then never push the front page or the feeds out of memory.
        self.hot_searches: LRU[str, StoredResponse] = LRU(max(1, size // 4))
        self.hot: LRU[str, StoredResponse] = LRU(max(1, size - size // 4))
        self.redis = backend._write_client if isinstance(backend, RedisCache) else None
        self._locks: dict[str, list] = {}
        self._locks_guard = threading.Lock()
        self._routes = app.url_map.bind("localhost")
        self.request_key = lru_cache(maxsize=4096)(self._request_key)
        self.route = lru_cache(maxsize=4096)(self._route)
        self.renders = 0  # entries rendered by this process (for tests and operators)

    # ---- the request
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        # Credentials and cookies go to Flask: a shared entry must not answer personal requests.
        # Range and If-Match are rare on pages and feeds; werkzeug handles them.
        if (
            (method != "GET" and method != "HEAD")
            or path.startswith(self.bypass_prefixes)
            or path == HEALTHZ
            or "HTTP_AUTHORIZATION" in environ
            or "HTTP_COOKIE" in environ
            or "HTTP_RANGE" in environ
            or "HTTP_IF_MATCH" in environ
            or "HTTP_IF_UNMODIFIED_SINCE" in environ
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
        if entry is None or entry.stamp != stamp:
            revalidated = self.revalidate(environ, path, key, stamp)
            if revalidated is not None:
                start_response("304 Not Modified", revalidated)
                return []
            if "HTTP_A_IM" in environ:
                # RFC 3229: only the feed view knows how to answer with a delta.
                return self.app(environ, start_response)
            entry, outcome, passthrough = self.fill(hot, key, query, stamp, environ)
            if entry is None:
                return self.passthrough(environ, start_response, *passthrough)
        if entry.not_modified(environ):
            start_response("304 Not Modified", list(entry.headers[("304", outcome)]))
            return []
        if "HTTP_A_IM" in environ:
            environ[VALIDATOR] = entry.etag
            return self.app(environ, start_response)
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

    def _route_format(self, path: str) -> str | None:
        """The feed format of the route ``path`` leads to (None for anything but a feed)."""
        route = self.route(path)
        return route[1] if route is not None else None

    def _route(self, path: str) -> tuple[str, str | None] | None:
        """(endpoint, feed format or None) of the route ``path`` leads to; None when no route."""
        try:
            endpoint, values = self._routes.match(path, method="GET")
        except HTTPException:  # not found, a redirect, another method
            return None
        return endpoint, values.get("fmt")

    # ---- revalidation without rendering
    def revalidate(self, environ: dict[str, Any], path: str, key: str, stamp: str) -> list | None:
        """For a request the cache holds no current entry for: put the ETag the response will
        carry in ``environ`` (``VALIDATOR``), and when the request's ``If-None-Match`` names it,
        the headers of a 304 (so nothing is rendered). None when a render is needed."""
        route = self.route(path)
        if route is None or not route[0].startswith(VALIDATED_BLUEPRINTS):
            return None
        etag = validator(self.prefix, key, stamp, ContentStamp.newest_update(stamp))
        environ[VALIDATOR] = etag
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if not if_none_match or etag not in if_none_match:  # a quoted tag: found only if sent
            return None
        endpoint, fmt = route
        # The caching headers the 200 carries (RFC 9110 §15.4.5); no Last-Modified: it is known
        # only from the content, and a 304 may leave it out.
        immutable = endpoint.startswith("feeds.") and "archive" in endpoint
        vary = f"{VARY_ACCEPT}, {VARY_ENCODING}" if fmt in BROWSER_FORMATS else VARY_ENCODING
        return [
            ("ETag", etag),
            ("Cache-Control", IMMUTABLE if immutable else self.cache_control),
            ("Vary", vary),
            ("X-Cache", "revalidated"),
        ]

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
            if entry is not None and entry.stamp == stamp:
                return entry, "hit", ()
            stored = self._backend_get(key)
            if stored is not None:
                if stored.stamp == stamp:
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
                status, headers, body = self.render(environ, query, key)
                if not storable(status, headers):
                    return None, "", (status, headers, body)
                fresh = build_entry(
                    stamp, status, headers, body, default_cache_control=self.cache_control,
                    previous=entry, now=self.content.clock(),
                )  # fmt: skip
                hot.put(key, fresh)
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

    def render(self, environ: dict[str, Any], query: str, key: str = "") -> tuple[str, list[tuple[str, str]], bytes]:
        """Call Flask with the canonical form of the request and collect the whole response."""
        canonical = dict(environ)
        for name in CONDITIONAL:
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
        return captured[0], captured[1], b"".join(chunks)

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
        if entry is not None and entry.stamp == stamp:
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
