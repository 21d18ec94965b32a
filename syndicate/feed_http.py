"""HTTP for feed documents: media type by who asks (a browser gets the XSLT view), ETags that
name the version (so an RFC 3229 client can ask for what is newer), conditional GETs and
226 deltas."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from flask import Response, request

from . import feedwriters, partners
from .cache.keys import cache_key, canonical_query
from .feedwriters import FeedDoc
from .models import Article
from .negotiation import (
    BROWSER_FEED_TYPE,
    BROWSER_FORMATS,
    FEED_TYPES,
    NO_STORE,
    VARY_ACCEPT,
    wants_browser_feed,
)

FEED_CSP = (
    "default-src 'none'; script-src 'self'; object-src 'none'; style-src 'self'; img-src 'self' https: http:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def _for_browser(fmt: str) -> bool:
    return wants_browser_feed(fmt, request.headers.get("Accept", ""))


def _content_type(fmt: str) -> str:
    """The feed's own media type; for a browser, the same bytes as application/xml, which
    browsers render through the feed's XSLT stylesheet (they show application/rss+xml and
    application/atom+xml as raw text or a download)."""
    return BROWSER_FEED_TYPE if _for_browser(fmt) else FEED_TYPES[fmt]


def _identity(fmt: str) -> str:
    """What makes this document this document: the cache layer's key (path, the parameters
    that change the output, the representation), hashed."""
    query = canonical_query(request.environ.get("QUERY_STRING", ""))
    key = cache_key(request.script_root + request.path, query, _for_browser(fmt)) + partners.etag_identity()
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def make_etag(identity: str, newest: datetime | None, body: bytes) -> str:
    """``<identity>-<newest updated, epoch seconds>-<hash of the body>`` (unquoted).

    The timestamp lets an RFC 3229 request name the version it holds; the identity proves the
    version is of this same document; the hash changes with any change at all.
    """
    seconds = int(newest.timestamp()) if newest is not None else 0
    return f"{identity}-{seconds}-{hashlib.sha256(body).hexdigest()[:16]}"


def _client_etags() -> list[str]:
    return re.findall(r'"([^"]*)"', request.headers.get("If-None-Match", ""))


def _wants_delta() -> bool:
    tokens = [t.split(";")[0].strip().lower() for t in request.headers.get("A-IM", "").split(",")]
    return "feed" in tokens


def respond(doc: FeedDoc, fmt: str, articles: list[Article]) -> Response:
    """The response for a feed document (whose entries are ``articles``'): its media type
    (XSLT-rendered for browsers), strong ETag and Last-Modified, a 304 for a matching
    conditional GET, a 226 delta for RFC 3229."""
    body = feedwriters.write(doc, fmt)
    identity = _identity(fmt)
    last_modified = max((a.updated for a in articles), default=None)
    etag = make_etag(identity, last_modified, body)
    if _wants_delta() and request.headers.get("If-None-Match"):
        client = _client_etags()
        if etag in client:
            return _not_modified(etag, last_modified)
        since = _version_time(client, identity)
        if since is not None:
            # RFC 3229 feed IM: only the entries newer than the client's version. Times have whole
            # seconds, so an entry from the very second of that version is sent again: a duplicate
            # (readers merge by id) is harmless, a missed entry is not.
            entries = [e for e, a in zip(doc.entries or [], articles, strict=True) if a.updated >= since]
            delta = FeedDoc(**{**doc.__dict__, "entries": entries})
            partners.delivered(len(entries))
            response = Response(feedwriters.write(delta, fmt), status=226, content_type=_content_type(fmt))
            response.headers["IM"] = "feed"
            response.headers["Cache-Control"] = f"{NO_STORE}, im"  # a delta must never be served as the feed
            response.set_etag(etag)
            if last_modified:
                response.last_modified = last_modified
            return response
    partners.delivered(len(articles))
    response = Response(body, content_type=_content_type(fmt))
    if fmt in BROWSER_FORMATS:
        response.vary.add(VARY_ACCEPT)
        # Browsers load an XSLT stylesheet under script-src: allow ours (same origin), and
        # still no inline script, so a payload in an item can never run in the rendered page.
        response.headers["Content-Security-Policy"] = FEED_CSP
    response.set_etag(etag)
    if last_modified:
        response.last_modified = last_modified
    # Plain conditional GET (RFC 9110 §13: If-None-Match wins over If-Modified-Since).
    return response.make_conditional(request)


def _not_modified(etag: str, last_modified: datetime | None) -> Response:
    response = Response(status=304)
    response.set_etag(etag)
    if last_modified:
        response.last_modified = last_modified
    return response


def _version_time(client_etags: list[str], identity: str) -> datetime | None:
    """The newest-updated time of the client's version, if one of its ETags is ours for this feed."""
    for tag in client_etags:
        parts = tag.split("-")
        if len(parts) == 3 and parts[0] == identity and parts[1].isdigit():
            return datetime.fromtimestamp(int(parts[1]), UTC)
    return None
