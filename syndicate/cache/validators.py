"""HTTP validators and caching headers: ETag, Last-Modified, Cache-Control and Vary on every
page and feed Flask answers, and the conditional-request rule the fast path applies.

Responses that do not go through the fast path (``NullCache``, requests with cookies or
credentials, kinds that are not stored) still get their validators here and are made
conditional by werkzeug, so ``304`` and ``HEAD`` work everywhere. The rules are werkzeug's;
the fast path memoises their answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from flask import Response, current_app, request
from werkzeug.http import parse_date, parse_etags, parse_if_range_header, parse_range_header, unquote_etag
from werkzeug.sansio.http import is_resource_modified

from ..negotiation import IMMUTABLE, VARY_ENCODING
from ..urls import API_PREFIX, HEALTHZ, PARTNER_PREFIX, READYZ, WEBSUB_PREFIX

# Paths the cache never touches: the API (credentials, writes), WebSub, partners' secret feed
# URLs (personal answers), the health checks.
BYPASS_PREFIXES = (API_PREFIX, WEBSUB_PREFIX, PARTNER_PREFIX)
HEALTH_PATHS = (HEALTHZ, READYZ)
SHORT_STATUSES = {301, 308, 404, 410}
SHORT_MAX_AGE = 60
STATIC_MAX_AGE = 86400
FILL = "syndicate.cache.fill"  # environ flag: this request renders an entry for the fast path
# environ: the keys (showing.py) the response being rendered shows, a frozenset (surrogate.py
# records them; absent when the view recorded none, which the cache reads as "shows anything").
SHOWN = "syndicate.shown"


def is_candidate(method: str, path: str) -> bool:
    """Whether a request may be answered by the shared cache (before looking at its headers)."""
    return method in ("GET", "HEAD") and not path.startswith(BYPASS_PREFIXES) and path not in HEALTH_PATHS


def default_cache_control(config: Any) -> str:
    max_age, stale = config["CACHE_MAX_AGE"], config["CACHE_STALE_WHILE_REVALIDATE"]
    return f"public, max-age={max_age}, stale-while-revalidate={stale}"


@lru_cache(maxsize=1024)
def not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str, last_modified: str) -> bool:
    """RFC 9110 §13.2.2 by werkzeug: If-None-Match (weak comparison) decides when present,
    else If-Modified-Since. Memoised: clients revalidate with the same few header values."""
    return not is_resource_modified(
        http_if_none_match=if_none_match,
        http_if_modified_since=if_modified_since,
        etag=etag,
        last_modified=last_modified,
    )


@lru_cache(maxsize=1024)
def precondition_fails(if_match: str | None, if_unmodified_since: str | None, etag: str, last_modified: str) -> bool:
    """RFC 9110 §13.2.2 steps 1 and 2, for a GET of a page that exists: ``If-Match`` decides
    when present (strong comparison: a weak ETag never matches; ``*`` always does), else
    ``If-Unmodified-Since`` (an unreadable date is ignored). True means 412."""
    if if_match is not None:
        wanted = parse_etags(if_match)
        tag, weak = unquote_etag(etag)
        return not (wanted.star_tag or (not weak and wanted.contains(tag)))
    if if_unmodified_since is not None:
        since, modified = parse_date(if_unmodified_since), parse_date(last_modified)
        return since is not None and modified is not None and modified > since
    return False


UNSATISFIABLE = (0, 0)  # byte_range's answer for a 416 (a real range is never empty)


@lru_cache(maxsize=1024)
def byte_range(
    range_header: str, if_range: str | None, etag: str, last_modified: str, length: int
) -> tuple[int, int] | None:
    """The byte range of a body of ``length`` bytes to send as a 206, as (start, stop);
    ``UNSATISFIABLE`` for a 416; or None to send the whole body as a 200: a malformed or
    non-bytes ``Range``, several ranges (RFC 9110 §14.2 lets a server ignore ``Range``; one 200
    is cheaper than a multipart/byteranges answer), or an ``If-Range`` that does not match this
    version (strong ETag comparison, or the exact Last-Modified date)."""
    requested = parse_range_header(range_header)
    if requested is None or requested.units != "bytes" or len(requested.ranges) != 1:
        return None
    if if_range is not None and not _if_range_holds(if_range, etag, last_modified):
        return None
    start, stop = requested.ranges[0]
    if start < 0:  # a suffix: the last -start bytes, or all of them when there are fewer
        start, stop = max(0, length + start), length
    elif stop is None or stop > length:
        stop = length
    return UNSATISFIABLE if start >= length else (start, stop)


def _if_range_holds(if_range: str, etag: str, last_modified: str) -> bool:
    if if_range.strip().startswith("W/"):
        return False  # weak validators never match If-Range
    condition = parse_if_range_header(if_range)
    if condition.etag is not None:
        tag, weak = unquote_etag(etag)
        return not weak and condition.etag == tag
    return condition.date is not None and condition.date == parse_date(last_modified)


def http_headers(response: Response) -> Response:
    """``after_request``: validators and caching headers on every page and feed Flask answers.

    On the fast path's own render (``FILL``) it only sets the headers; the fast path answers
    the conditional request itself. Elsewhere werkzeug's ``make_conditional`` turns a matching
    request into a 304 (``If-None-Match`` wins over ``If-Modified-Since``).
    """
    headers = response.headers
    if request.endpoint == "static":
        return _static_headers(response)
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
        response.vary.add(VARY_ENCODING)
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
    response.vary.add(VARY_ENCODING)
    if not fill:
        response.make_conditional(request.environ)
    return response


def _static_headers(response: Response) -> Response:
    # Flask marks static files "no-cache" unless SEND_FILE_MAX_AGE_DEFAULT is set; an
    # operator's explicit setting wins over ours.
    if response.status_code in (200, 304) and current_app.config.get("SEND_FILE_MAX_AGE_DEFAULT") is None:
        # Only a versioned URL (?v=...) can be immutable: an edited style.css keeps its name.
        versioned = request.args.get("v")
        short = f"public, max-age={STATIC_MAX_AGE}, stale-while-revalidate=3600"
        response.headers["Cache-Control"] = IMMUTABLE if versioned else short
    return response
