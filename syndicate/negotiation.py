"""Content negotiation and the HTTP constants views and the cache share: which representation
a request wants, the media types we send, and the Cache-Control and Vary values.

One rule decides the representation of a feed for both the feed views and the response cache:
an RSS or Atom document (the route's ``fmt``) asked for by a browser (``text/html`` ranked
above the feed types) is sent as ``application/xml`` so the browser applies the XSLT; JSON
Feed has no such variant, whatever its URL looks like. Parsing is werkzeug's, memoised on the
header string because the cache asks on every request.
"""

from __future__ import annotations

from functools import lru_cache

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

# Media types: of each feed format (as in <link rel="alternate" type=...>), and the
# Content-Type values we send (always with the charset).
FEED_MEDIA_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
FEED_TYPES = {fmt: f"{media_type}; charset=utf-8" for fmt, media_type in FEED_MEDIA_TYPES.items()}
XML_MEDIA_TYPE = "application/xml"  # sitemaps; feeds shown to a browser
BROWSER_FEED_TYPE = f"{XML_MEDIA_TYPE}; charset=utf-8"  # an RSS/Atom feed shown to a browser
OPML_MEDIA_TYPE = "text/x-opml"
OPML_TYPE = f"{OPML_MEDIA_TYPE}; charset=utf-8"
JSON_TYPE = "application/json"
# Feed formats with a browser representation (application/xml + XSLT).
BROWSER_FORMATS = ("rss", "atom")

# Cache-Control values.
IMMUTABLE = "public, max-age=31536000, immutable"  # never changes: archives, versioned static files
NO_STORE = "no-store"  # personal or volatile answers (the API, /healthz, deltas)
NO_CACHE = "no-cache"  # stored, but revalidated every time

# Vary values.
VARY_ENCODING = "Accept-Encoding"  # every page and feed: bodies are compressed per request
VARY_ACCEPT = "Accept"  # feeds with a browser representation
VARY_AUTHORIZATION = "Authorization"  # API answers depend on the token


@lru_cache(maxsize=256)
def prefers_html(accept: str) -> bool:
    """True when the client would rather have a web page than a feed: a browser following a
    feed link (``text/html`` ranked above the feed types). Feed readers ask for the feed types
    or ``*/*`` and keep getting them."""
    if not accept or "html" not in accept:
        return False
    parsed = parse_accept_header(accept, MIMEAccept)
    feed = max(parsed["application/rss+xml"], parsed["application/atom+xml"])
    return parsed["text/html"] > feed


def wants_browser_feed(fmt: str | None, accept: str) -> bool:
    """Whether a request for a feed of format ``fmt`` (the route's, None for any other page)
    with this ``Accept`` gets the browser representation."""
    return fmt in BROWSER_FORMATS and prefers_html(accept)


@lru_cache(maxsize=256)
def coding_preference(accept_encoding: str) -> tuple[str, ...]:
    """The codings we can send ('br', 'gzip', 'identity'), best first, that an Accept-Encoding
    header accepts (werkzeug parses it; RFC 9110 §12.5.3).

    Highest q first; ties go to br, then gzip, then identity. ``q=0`` excludes a coding, ``*``
    covers codings not named, and identity is acceptable unless excluded.
    """
    if not accept_encoding:
        return ("identity",)
    accept = parse_accept_header(accept_encoding)
    named = {item.lower() for item, _q in accept}
    ranked = []
    for rank, coding in enumerate(("br", "gzip", "identity")):
        if coding in named:
            q = accept.quality(coding)
        elif coding == "gzip" and "x-gzip" in named:
            q = accept.quality("x-gzip")
        elif "*" in named:
            q = accept.quality(coding)  # the wildcard's weight
        else:
            # Acceptable but not asked for: any coding the client named with q > 0 comes first.
            q = 0.001 if coding == "identity" else 0.0
        if q > 0:
            ranked.append((-q, rank, coding))
    return tuple(coding for _, _, coding in sorted(ranked))
