"""URL shapes, in one place: paths of listings, permalinks and feeds, and absolute URLs.

Every path made here is a URI (slugs in any script percent-encoded); Flask decodes the request
path, so views look slugs up in their Unicode form.

Feeds, sitemaps and metadata always use ``SITE_URL`` (never the request's Host header), so
what partners store is stable behind any proxy.
"""

from __future__ import annotations

from flask import current_app

from .models import Scope, Term, quote_slug

FEED_SUFFIX = {"rss": "feed/", "atom": "feed/atom/", "json": "feed/json/"}
HEALTHZ = "/healthz"
READYZ = "/readyz"
API_PREFIX = "/api/"
WEBSUB_PREFIX = "/websub/"
PARTNER_PREFIX = "/partner/"  # /partner/<secret>/feed/atom/: a partner's secret feed URLs


def absolute(path: str) -> str:
    """``SITE_URL`` + ``path`` (path starts with '/')."""
    return current_app.config["SITE_URL"] + path


def scope_path(scope: Scope) -> str:
    """The HTML listing of a scope: '/', '/category/economy/', '/2026/11/', '/search?q=...'."""
    if scope.kind == "site":
        return "/"
    if scope.kind in ("category", "tag", "author"):
        return f"/{scope.kind}/{quote_slug(scope.value)}/"
    if scope.kind in ("year", "month", "day"):
        return "/" + scope.value.replace("-", "/") + "/"
    if scope.kind == "search":
        from urllib.parse import quote_plus

        return f"/search?q={quote_plus(scope.value)}"
    raise ValueError(scope.kind)


def page_path(scope: Scope, number: int) -> str:
    """Page ``number`` of a listing: WordPress style '/page/<n>/' after the scope's path."""
    base = scope_path(scope)
    if number <= 1:
        return base
    if scope.kind == "search":
        return f"{base}&page={number}"
    return f"{base}page/{number}/"


def feed_path(scope: Scope, fmt: str = "rss") -> str:
    """'/feed/', '/category/economy/feed/atom/', '/search/feed/?q=...'."""
    if scope.kind == "site":
        return "/" + FEED_SUFFIX[fmt]
    if scope.kind == "search":
        from urllib.parse import quote_plus

        return "/search/" + FEED_SUFFIX[fmt] + f"?q={quote_plus(scope.value)}"
    return scope_path(scope) + FEED_SUFFIX[fmt]


def moved_term_url(term: Term, old_slug: str, path: str, query: bytes = b"") -> str:
    """Where an address of a term's old slug now lives: ``path`` (decoded, as Flask has it)
    with the old slug replaced by the term's current one; the page, feed format and query kept."""
    rest = path[len(f"/{term.kind}/{old_slug}/") :]
    return absolute(term.path + rest) + (f"?{query.decode('latin-1')}" if query else "")
