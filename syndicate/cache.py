"""HTTP caching: the flask-caching backend, the WSGI fast path in front of Flask, cache keys,
invalidation, compression and the HTTP validators (ETag, Last-Modified, Cache-Control, Vary).

How a ``GET`` or ``HEAD`` for a page or a feed is answered (``ResponseCache``):

1. The key is the path plus the query parameters that change the output (``KEY_PARAMS``),
   normalised; every other parameter is dropped, so cache-busting junk cannot create entries.
2. The *stamp* says which content the entry must show: ``Store.content_version()`` (moves on
   every write in any process sharing the database file, and when a scheduled article becomes
   due) plus today's date in ``TIMEZONE`` (pages print it). Checking it costs one
   ``PRAGMA data_version`` on a connection kept per worker thread; the version itself is only
   re-read after a commit, at the next scheduled publication time, or at midnight.
3. A fresh entry answers straight from memory, without Flask: ``304`` for a matching
   ``If-None-Match`` (or, without it, ``If-Modified-Since``), else ``200`` with a body
   compressed once when it was stored (br, gzip or identity by ``Accept-Encoding``).
4. A missing or stale entry is rendered once per key (a lock per key in the process and, with
   Redis, a short Redis lock across processes), by calling Flask with a canonical request
   (only the key's query parameters, no conditional headers, ``GET``), then stored if it is a
   cacheable 200. Everything else (404, 301, cookies, ...) passes through uncached.

Entries are keyed without the stamp and carry it inside, so a write replaces entries instead
of leaving dead ones behind; a small in-process LRU of ready-to-send entries sits in front of
the flask-caching backend so a hit never unpickles a body.

Responses that do not go through the fast path (``NullCache``, requests with cookies or
credentials, kinds that are not stored) still get the validators from ``http_headers`` and are
made conditional by werkzeug, so ``304`` and ``HEAD`` work everywhere.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from cachelib.redis import RedisCache
from flask import Flask, Response, current_app, jsonify, request
from flask_caching import Cache

from .changes import signal_for
from .feeds import prefers_html
from .store import Store

try:  # brotli is a dependency, but a missing wheel must not take the site down
    import brotli
except ImportError:  # pragma: no cover
    brotli = None

log = logging.getLogger(__name__)

# Query parameters that change what a page or feed shows; all others are ignored (and not passed
# to the view on a miss, so what is stored is exactly what the key names).
KEY_PARAMS = ("content", "page", "q")
# Paths the fast path never touches: the API (credentials, writes), the health check, WebSub.
BYPASS_PREFIXES = ("/api/", "/websub/")
HEALTHZ = "/healthz"
# Content types worth storing: pages, feeds, sitemaps, robots.txt, OPML.
CACHEABLE_TYPES = (
    "text/html",
    "application/xml",
    "text/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "text/plain",
    "text/x-opml",
)
# Removed from the canonical request rendered on a miss, so Flask always returns the full body.
_CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_RANGE", "HTTP_A_IM", "HTTP_RANGE")
# Headers the cache manages itself or that belong to one connection, never stored.
_NOT_STORED = {
    "content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive", "date",
    "server", "etag", "last-modified", "cache-control", "vary", "x-cache", "set-cookie", "age",
}  # fmt: skip
# Vary values a stored response may carry: requests with a cookie or credentials never use the
# shared cache, so a response that varies on them is still the same for everybody else.
_VARY_OK = {"accept-encoding", "accept", "cookie", "authorization"}
SHORT_STATUSES = {301, 308, 404, 410}
SHORT_MAX_AGE = 60
STATIC_MAX_AGE = 86400
IMMUTABLE = "public, max-age=31536000, immutable"
# Longest a writer that bypasses Syndicate (the sqlite3 shell) can go unnoticed; Syndicate's
# own writes, from any process, are seen on the very next request (changes.py).
SQLITE_CHECK_INTERVAL = 1.0
FILL = "syndicate.cache.fill"  # environ flag: this request renders an entry for the fast path
MIN_COMPRESS = 256
GZIP_LEVEL = 6
BROTLI_QUALITY = 9  # 11 costs ~15x the time for a few % smaller bodies; this runs on every miss
LOCK_WAIT = 10.0  # seconds a request waits for another one rendering the same key
REDIS_LOCK_MS = 10_000
REDIS_POLL = 0.01
_ENTRY_FORMAT = 1


# --------------------------------------------------------------------------------- setup


def init_app(app: Flask) -> None:
    """Build the flask-caching backend from the settings, register ``/healthz`` and the HTTP
    validators, and (unless caching is off) wrap ``app.wsgi_app`` in the fast path."""
    options: dict[str, Any] = {"CACHE_NO_NULL_WARNING": True}
    if app.config["CACHE_TYPE"] == "RedisCache" and not app.config.get("CACHE_OPTIONS"):
        # Without timeouts an unreachable Redis would hang every miss; with them it costs a
        # second at most, and the site keeps rendering (backend errors are logged, not raised).
        options["CACHE_OPTIONS"] = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    cache = Cache()
    cache.init_app(app, config=options)
    app.extensions["syndicate.cache"] = cache
    app.add_url_rule(HEALTHZ, "healthz", healthz)
    app.after_request(http_headers)
    if app.config["CACHE_TYPE"] == "NullCache":
        app.extensions["syndicate.response_cache"] = None
        return
    response_cache = ResponseCache(app, cache.cache)
    app.wsgi_app = response_cache  # type: ignore[method-assign]
    app.extensions["syndicate.response_cache"] = response_cache


def flask_cache(app: Flask | None = None) -> Cache:
    """The app's flask-caching ``Cache`` (for anything else worth memoising)."""
    return (app or current_app).extensions["syndicate.cache"]


def response_cache(app: Flask | None = None) -> ResponseCache | None:
    """The app's fast path, or None when caching is off."""
    return (app or current_app).extensions.get("syndicate.response_cache")


def healthz() -> tuple[Response, int]:
    """For load balancers: 200 when the database answers, else 503. Never cached."""
    from .db import get_store

    path = current_app.config["DATABASE"]
    ok = False
    # Opening a missing file would create an empty database; report it as down instead.
    if path == ":memory:" or os.path.isfile(path):
        try:
            ok = get_store().healthcheck()
        except sqlite3.Error as exc:
            log.warning("healthz: database unavailable: %s", exc)
    response = jsonify({"status": "ok" if ok else "unavailable"})
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if ok else 503


def is_candidate(method: str, path: str) -> bool:
    """Whether a request may be answered by the shared cache (before looking at its headers)."""
    return method in ("GET", "HEAD") and not path.startswith(BYPASS_PREFIXES) and path != HEALTHZ


def default_cache_control(config: Any) -> str:
    return f"public, max-age={config['CACHE_MAX_AGE']}, stale-while-revalidate={config['CACHE_STALE_WHILE_REVALIDATE']}"


def http_headers(response: Response) -> Response:
    """``after_request``: validators and caching headers on every page and feed Flask answers.

    On the fast path's own render (``FILL``) it only sets the headers; the fast path answers
    the conditional request itself. Elsewhere werkzeug's ``make_conditional`` turns a matching
    request into a 304 (``If-None-Match`` wins over ``If-Modified-Since``).
    """
    headers = response.headers
    if request.endpoint == "static":
        # Flask marks static files "no-cache" unless SEND_FILE_MAX_AGE_DEFAULT is set; an
        # operator's explicit setting wins over ours.
        if response.status_code in (200, 304) and current_app.config.get("SEND_FILE_MAX_AGE_DEFAULT") is None:
            # Only a versioned URL (?v=...) can be immutable: an edited style.css keeps its name.
            headers["Cache-Control"] = (
                IMMUTABLE if request.args.get("v") else f"public, max-age={STATIC_MAX_AGE}, stale-while-revalidate=3600"
            )
        return response
    if not is_candidate(request.method, request.path):
        return response
    fill = request.environ.get(FILL)
    if not fill and "X-Cache" not in headers:
        headers["X-Cache"] = "bypass"
    status = response.status_code
    if status in SHORT_STATUSES:
        if "Cache-Control" not in headers:
            max_age = min(SHORT_MAX_AGE, current_app.config["CACHE_MAX_AGE"])
            headers["Cache-Control"] = f"public, max-age={max_age}"
        return response
    if status == 304:
        # A view that answered the conditional request itself (feeds): RFC 9110 §15.4.5 wants
        # the Cache-Control and Vary a 200 would have carried.
        if "Cache-Control" not in headers:
            headers["Cache-Control"] = default_cache_control(current_app.config)
        response.vary.add("Accept-Encoding")
        return response
    if status != 200 or response.is_streamed or response.direct_passthrough:
        return response
    if "ETag" not in headers:
        response.add_etag()  # strong: a hash of the body
    if response.last_modified is None:
        response.last_modified = datetime.now(UTC).replace(microsecond=0)
    if "Cache-Control" not in headers:
        private = "Set-Cookie" in headers
        headers["Cache-Control"] = "private, no-cache" if private else default_cache_control(current_app.config)
    response.vary.add("Accept-Encoding")
    if not fill:
        response.make_conditional(request.environ)
    return response


# ----------------------------------------------------------------------- keys and parsing


def canonical_query(query_string: str) -> str:
    """The parameters of ``query_string`` that change the output, normalised and sorted.

    The first non-blank value of each ``KEY_PARAMS`` name wins; ``page`` loses leading zeros,
    ``q`` extra whitespace; everything else is dropped.
    """
    values: dict[str, str] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=False):
        if name not in KEY_PARAMS or name in values:
            continue
        value = " ".join(value.split())
        if not value:
            continue
        if name == "page" and value.isdigit() and value.isascii():
            value = str(int(value))
        values[name] = value
    return urlencode(sorted(values.items()))


def parse_accept_encoding(header: str) -> tuple[str, ...]:
    """The codings we can send ('br', 'gzip', 'identity'), best first, that ``header`` accepts.

    Highest q first; ties go to br, then gzip, then identity. ``q=0`` excludes a coding, ``*``
    covers codings not named, and identity is acceptable unless excluded (RFC 9110 §12.5.3).
    """
    weights: dict[str, float] = {}
    star: float | None = None
    for part in header.split(","):
        coding, _, params = part.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        if coding == "x-gzip":
            coding = "gzip"
        if coding == "*":
            star = q
        elif coding not in weights:
            weights[coding] = q
    preference = ("br", "gzip", "identity")
    ranked = []
    for rank, coding in enumerate(preference):
        if coding in weights:
            q = weights[coding]
        elif star is not None:
            q = star
        else:
            # Acceptable but not asked for: any coding the client named with q > 0 comes first.
            q = 0.001 if coding == "identity" else 0.0
        if q > 0:
            ranked.append((-q, rank, coding))
    return tuple(coding for _, _, coding in sorted(ranked))


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison of ``etag`` against an If-None-Match list (RFC 9110 §13.1.2), or ``*``."""
    if if_none_match.strip() == "*":
        return True
    opaque = etag[2:] if etag.startswith("W/") else etag
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == opaque:
            return True
    return False


def not_modified_since(if_modified_since: str, last_modified: str) -> bool:
    """True when ``last_modified`` (an HTTP date) is not later than the If-Modified-Since date."""
    if if_modified_since == last_modified:
        return True
    try:
        since = parsedate_to_datetime(if_modified_since)
        modified = parsedate_to_datetime(last_modified)
    except (TypeError, ValueError, IndexError):
        return False  # an invalid date is ignored (RFC 9110 §13.1.3)
    if since.tzinfo is None or modified.tzinfo is None:
        return False
    return modified <= since


def http_date(moment: float) -> str:
    return formatdate(moment, usegmt=True)


def _http_timestamp(value: str | None) -> float | None:
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.timestamp() if moment.tzinfo else None


# ------------------------------------------------------------------------------- entries


class Entry:
    """One cached response, with its header lists built once so a hit only picks one."""

    __slots__ = ("stamp", "status", "stored", "etag", "last_modified", "cache_control", "vary", "bodies", "headers")

    def __init__(
        self,
        stamp: str,
        status: str,
        stored: list[tuple[str, str]],
        etag: str,
        last_modified: str,
        cache_control: str,
        vary: str,
        bodies: dict[str, bytes],
    ) -> None:
        self.stamp = stamp
        self.status = status
        self.stored = stored
        self.etag = etag
        self.last_modified = last_modified
        self.cache_control = cache_control
        self.vary = vary
        self.bodies = bodies
        validators = [
            ("ETag", etag),
            ("Last-Modified", last_modified),
            ("Cache-Control", cache_control),
            ("Vary", vary),
        ]
        # RFC 9110 §15.4.5: a 304 carries the validators and caching headers, not the content's.
        extra_304 = [(k, v) for k, v in stored if k.lower() in ("content-location", "expires")]
        self.headers: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for outcome in ("hit", "miss"):
            x_cache = ("X-Cache", outcome)
            self.headers[("304", outcome)] = [*validators, *extra_304, x_cache]
            for coding, body in bodies.items():
                coding_header = [] if coding == "identity" else [("Content-Encoding", coding)]
                self.headers[(coding, outcome)] = [
                    *stored,
                    *validators,
                    *coding_header,
                    ("Content-Length", str(len(body))),
                    x_cache,
                ]

    def to_backend(self) -> tuple:
        return (
            _ENTRY_FORMAT, self.stamp, self.status, self.stored, self.etag, self.last_modified,
            self.cache_control, self.vary, self.bodies,
        )  # fmt: skip

    @classmethod
    def from_backend(cls, value: Any) -> Entry | None:
        if not isinstance(value, tuple) or len(value) != 9 or value[0] != _ENTRY_FORMAT:
            return None
        return cls(*value[1:])

    def not_modified(self, environ: dict[str, Any]) -> bool:
        """RFC 9110 §13.2.2: If-None-Match decides when present; else If-Modified-Since."""
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match is not None:
            return if_none_match == self.etag or etag_matches(if_none_match, self.etag)
        if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
        return if_modified_since is not None and not_modified_since(if_modified_since, self.last_modified)


def build_entry(
    stamp: str,
    status: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    default_cache_control: str,
    previous: Entry | None,
    now: float,
) -> Entry:
    """Turn a rendered 200 into an entry: validators, and every encoding compressed once."""
    stored, etag, last_modified, cache_control, vary = [], None, None, None, []
    for name, value in headers:
        lower = name.lower()
        if lower == "etag":
            etag = value
        elif lower == "last-modified":
            last_modified = value
        elif lower == "cache-control":
            cache_control = value
        elif lower == "vary":
            vary.extend(v.strip() for v in value.split(",") if v.strip())
        elif lower not in _NOT_STORED:
            stored.append((name, value))
    if not etag:
        etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    modified = _http_timestamp(last_modified)
    if modified is None:
        modified = float(int(now))
    if previous is not None and previous.etag != etag:
        # Different content must never look older than what a client may already hold (a
        # deleted newest article moves "newest updated" back), or If-Modified-Since would 304.
        before = _http_timestamp(previous.last_modified)
        if before is not None and modified <= before:
            modified = min(before + 1, float(int(now)))
    last_modified = http_date(modified)
    if not any(v.lower() == "accept-encoding" for v in vary):
        vary.insert(0, "Accept-Encoding")
    bodies = {"identity": body}
    if len(body) >= MIN_COMPRESS:
        packed = gzip.compress(body, GZIP_LEVEL, mtime=0)
        if len(packed) < len(body):
            bodies["gzip"] = packed
        if brotli is not None:
            packed = brotli.compress(body, quality=BROTLI_QUALITY)
            if len(packed) < len(body):
                bodies["br"] = packed
    return Entry(
        stamp, status, stored, etag, last_modified, cache_control or default_cache_control, ", ".join(vary), bodies
    )


def storable(status: str, headers: list[tuple[str, str]]) -> bool:
    """A 200 of a cacheable type, with no cookie, that the view did not mark private."""
    if not status.startswith("200"):
        return False
    content_type = ""
    for name, value in headers:
        lower = name.lower()
        if lower == "set-cookie":
            return False
        if lower == "content-type":
            content_type = value.split(";", 1)[0].strip().lower()
        elif lower == "cache-control":
            directives = {d.strip().split("=", 1)[0].lower() for d in value.split(",")}
            if directives & {"no-store", "private", "no-cache"}:
                return False
        elif lower == "vary":
            if any(v.strip().lower() not in _VARY_OK for v in value.split(",") if v.strip()):
                return False
    return content_type in CACHEABLE_TYPES


def code_fingerprint(app: Flask) -> str:
    """A hash of everything that shapes a rendered response: the package's Python files, the
    templates and the feed stylesheet. By content, not time, so every machine running the same
    release shares entries."""
    package = Path(__file__).resolve().parent
    files = sorted(package.rglob("*.py"))
    if app.template_folder:
        files += sorted(Path(app.root_path, app.template_folder).rglob("*"))
    if app.static_folder:
        files += [Path(app.static_folder, name) for name in ("feed.xsl", "feed.css", "style.css")]
    digest = hashlib.blake2b(digest_size=8)
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(path.parent.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


class _LRU:
    """A small bounded map of ready entries, least recently used out first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[str, Entry] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        # No lock on the hot path: each OrderedDict operation is atomic under the GIL, and a
        # reader blocked on a lock would hand the GIL around under load. A key evicted between
        # the two calls just is not moved.
        entry = self.data.get(key)
        if entry is not None:
            try:
                self.data.move_to_end(key)
            except KeyError:
                pass
        return entry

    def put(self, key: str, entry: Entry) -> None:
        with self.lock:
            self.data[key] = entry
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)

    def __len__(self) -> int:
        return len(self.data)


class _Version(threading.local):
    """Per worker thread: a read connection and the last stamp it computed."""

    store: Store | None = None
    data_version: int = -1
    token: bytes | None = None
    check_after: float = 0.0
    stamp: str = ""
    valid_until: float = 0.0


# ----------------------------------------------------------------------------- fast path


class ResponseCache:
    """WSGI middleware answering cached pages and feeds before Flask (see the module docstring)."""

    def __init__(self, app: Flask, backend: Any, *, clock: Callable[[], float] = time.time) -> None:
        config = app.config
        self.app = app.wsgi_app  # the Flask app proper, called on a miss or a bypass
        self.backend = backend
        self.clock = clock
        self.database = config["DATABASE"]
        self.signal = signal_for(self.database)
        self.timezone = ZoneInfo(config["TIMEZONE"])
        self.bypass_prefixes = (*BYPASS_PREFIXES, (app.static_url_path or "/static") + "/")
        self.cache_control = default_cache_control(config)
        self.timeout = config["CACHE_DEFAULT_TIMEOUT"]
        # Entries differ between sites, databases and settings that change the output.
        identity = {
            name: config.get(name)
            for name in (
                "SITE_URL", "SITE_TITLE", "SITE_DESCRIPTION", "SITE_LANGUAGE", "DATABASE", "PER_PAGE",
                "FEED_ITEMS", "TIMEZONE", "FEED_CONTENT", "FEED_TTL", "WEBSUB_HUB", "CACHE_MAX_AGE",
                "CACHE_STALE_WHILE_REVALIDATE",
            )
        }  # fmt: skip
        # ...and between versions of the code: a deploy must never serve pages rendered by the
        # previous templates or writers from a shared Redis.
        identity["code"] = code_fingerprint(app)
        digest = hashlib.blake2b(json.dumps(identity, sort_keys=True).encode(), digest_size=8).hexdigest()
        self.prefix = f"syndicate:{_ENTRY_FORMAT}:{digest}:"
        size = max(1, min(config["CACHE_THRESHOLD"], int(config.get("CACHE_HOT_ENTRIES", 500))))
        # Searches get their own quarter: a flood of distinct queries (each a legitimate key)
        # can then never push the front page or the feeds out of memory.
        self.hot_searches = _LRU(max(1, size // 4))
        self.hot = _LRU(max(1, size - size // 4))
        self.redis = backend._write_client if isinstance(backend, RedisCache) else None
        self.local = _Version()
        self._locks: dict[str, list] = {}
        self._locks_guard = threading.Lock()
        self._queries: dict[str, str] = {}
        self._encodings: dict[str, tuple[str, ...]] = {}
        self._accepts: dict[str, bool] = {}
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
            self.reset_thread_store()
            return self.app(environ, start_response)
        query_string = environ.get("QUERY_STRING", "")
        query = self.query(query_string) if query_string else ""
        key = environ.get("SCRIPT_NAME", "") + path + ("?" + query if query else "")
        # A browser opening an RSS/Atom feed gets it as application/xml (to apply the XSLT):
        # another representation, so another entry; feed readers share the plain one.
        if "/feed/" in path and "/json/" not in path and self.prefers_html(environ.get("HTTP_ACCEPT", "")):
            key += "#html"
        hot = self.hot_searches if query.startswith("q=") or "&q=" in query else self.hot
        entry = hot.get(key)
        outcome = "hit"
        if entry is None or entry.stamp != stamp:
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
            return self.app(environ, start_response)
        accept = environ.get("HTTP_ACCEPT_ENCODING", "")
        order = self._encodings.get(accept)
        if order is None:
            order = parse_accept_encoding(accept) if accept else ("identity",)
            if len(self._encodings) > 256:
                self._encodings.clear()
            self._encodings[accept] = order
        bodies = entry.bodies
        coding = "identity"
        for candidate in order:
            if candidate in bodies:
                coding = candidate
                break
        start_response(entry.status, list(entry.headers[(coding, outcome)]))
        if method == "HEAD":
            return []
        return [bodies[coding]]

    def prefers_html(self, accept: str) -> bool:
        if not accept:
            return False
        answer = self._accepts.get(accept)
        if answer is None:
            answer = prefers_html(accept)
            if len(self._accepts) > 256:
                self._accepts.clear()
            self._accepts[accept] = answer
        return answer

    def query(self, query_string: str) -> str:
        query = self._queries.get(query_string)
        if query is None:
            query = canonical_query(query_string)
            if len(self._queries) > 1024:
                self._queries.clear()
            self._queries[query_string] = query
        return query

    # ---- what the content is now
    def stamp(self) -> str:
        """The content version and today's date; cheap unless something changed.

        A write through Syndicate in any process changes the shared change token (changes.py),
        read from memory without a system call; SQLite itself is asked only when the token moved,
        when a scheduled article or midnight is due, or once a second (for foreign writers)."""
        state = self.local
        token = self.signal.token() if self.signal is not None else None
        now = self.clock()
        if token is not None and token == state.token and now < state.valid_until and now < state.check_after:
            return state.stamp
        store = state.store
        if store is None:
            store = state.store = Store(self.database)
            state.data_version = -1
        data_version = store.data_version()
        if data_version != state.data_version or token != state.token or now >= state.valid_until:
            # Next due time first: an article falling due between the two reads is then already
            # in the version, instead of being skipped until the following one is due.
            due = store.next_scheduled()
            version = store.content_version()
            today = datetime.fromtimestamp(now, self.timezone).date()
            midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), self.timezone).timestamp()
            valid_until = max(midnight, now + 1)
            if due is not None:
                valid_until = min(valid_until, due.timestamp())
            state.stamp = f"{version}|{today.isoformat()}"
            state.valid_until = valid_until
            state.data_version = data_version
        state.token = token
        state.check_after = now + SQLITE_CHECK_INTERVAL
        return state.stamp

    def reset_thread_store(self) -> None:
        """Drop this thread's connection (it is reopened on the next request)."""
        store, self.local.store = self.local.store, None
        self.local.check_after = 0.0  # and ask SQLite again on the next request
        if store is not None:
            try:
                store.close()
            except sqlite3.Error:
                pass

    # ---- a miss
    def fill(
        self, hot: _LRU, key: str, query: str, stamp: str, environ: dict[str, Any]
    ) -> tuple[Entry | None, str, tuple]:
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
            redis_token = None
            if self.redis is not None:
                found, redis_token = self._redis_wait(hot, key, stamp)
                if found is not None:
                    return found, "hit", ()
            try:
                status, headers, body = self.render(environ, query, key)
                if not storable(status, headers):
                    return None, "", (status, headers, body)
                fresh = build_entry(
                    stamp, status, headers, body, default_cache_control=self.cache_control,
                    previous=entry, now=self.clock(),
                )  # fmt: skip
                hot.put(key, fresh)
                self._backend_set(key, fresh)
                return fresh, "miss", ()
            finally:
                if redis_token is not None:
                    self._redis_release(key, redis_token)
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
        for name in _CONDITIONAL:
            canonical.pop(name, None)
        canonical["REQUEST_METHOD"] = "GET"
        canonical["QUERY_STRING"] = query
        # The one Accept distinction a view makes (feeds for browsers), in canonical form.
        if key.endswith("#html"):
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
                probe = Entry("", status, [], etag, last_modified, "", "", {})
                if probe.not_modified(environ):
                    keep = ("etag", "last-modified", "cache-control", "vary", "x-cache", "expires", "content-location")
                    start_response("304 Not Modified", [(k, v) for k, v in headers if k.lower() in keep])
                    return []
        start_response(status, headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    # ---- locks
    def _key_lock(self, key: str) -> list:
        with self._locks_guard:
            lock = self._locks.get(key)
            if lock is None:
                lock = self._locks[key] = [threading.Lock(), 0]
            lock[1] += 1
            return lock

    def _backend_key(self, key: str) -> str:
        return self.prefix + hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=20).hexdigest()

    def _backend_get(self, key: str) -> Entry | None:
        try:
            return Entry.from_backend(self.backend.get(self._backend_key(key)))
        except Exception as exc:  # a cache that is down must not take the site down
            log.warning("response cache: backend read failed: %s", exc)
            return None

    def _backend_set(self, key: str, entry: Entry) -> None:
        try:
            self.backend.set(self._backend_key(key), entry.to_backend(), timeout=self.timeout)
        except Exception as exc:
            log.warning("response cache: backend write failed: %s", exc)

    def _redis_wait(self, hot: _LRU, key: str, stamp: str) -> tuple[Entry | None, str | None]:
        """Take the Redis render lock for ``key``, or wait for whoever holds it to store the
        entry. Returns (entry found, None) or (None, our lock token, or None to render unlocked)."""
        lock_key = self._backend_key(key) + ":lock"
        token = os.urandom(8).hex()
        deadline = time.monotonic() + LOCK_WAIT
        try:
            while True:
                if self.redis.set(lock_key, token, nx=True, px=REDIS_LOCK_MS):
                    # Someone may have stored it between our read and the lock.
                    entry = self._backend_get(key)
                    if entry is not None and entry.stamp == stamp:
                        self._redis_release(key, token)
                        hot.put(key, entry)
                        return entry, None
                    return None, token
                if time.monotonic() > deadline:
                    return None, None
                time.sleep(REDIS_POLL)
                entry = self._backend_get(key)
                if entry is not None and entry.stamp == stamp:
                    hot.put(key, entry)
                    return entry, None
        except Exception as exc:
            log.warning("response cache: redis lock failed: %s", exc)
            return None, None

    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

    def _redis_release(self, key: str, token: str) -> None:
        try:
            self.redis.eval(self._RELEASE, 1, self._backend_key(key) + ":lock", token)
        except Exception as exc:
            log.warning("response cache: redis unlock failed: %s", exc)

    # ---- for tests and operators
    def entries(self) -> int:
        """How many entries the in-process layer holds (bounded by CACHE_THRESHOLD)."""
        return len(self.hot) + len(self.hot_searches)
