"""Surrogate keys: recording what each response shows, and telling caching proxies.

A caching proxy (Varnish with xkey, Fastly, Cloudflare...) can keep pages and feeds for hours if
every response names what it shows and every write purges exactly those names. The vocabulary
and the rule that turns a write into the keys it changes live in ``showing.py`` (re-exported
here); this module records the keys while a view renders, hands them to the response cache
(``SHOWN`` in the WSGI environ) and writes the response header. ``purge.py`` sends the purges.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, current_app, g, has_request_context, request

from .cache.validators import SHOWN, is_candidate
from .models import Article, Scope
from .showing import (  # noqa: F401  (the vocabulary, used through this module by purge and views)
    ABSENT,
    ALL,
    LISTS,
    NAV,
    SEARCH,
    SITE,
    TERM_PREFIX,
    affected_keys,
    archive_key,
    article_key,
    date_keys,
    listed_in,
    page_key,
    scope_key,
    term_change_keys,
    term_key,
    visible,
)

# The response header that carries the keys, by proxy: the name, and what separates keys.
HEADER_SEPARATORS = {"xkey": " ", "surrogate-key": " ", "cache-tag": ","}
SHORT_STATUSES = (301, 308, 404, 410)
_RECORDED = "surrogate_keys"


# ------------------------------------------------------------------------------ recording


def shows(scope: Scope | None = None, articles: Iterable[Article | None] = (), *keys: str) -> None:
    """Record what the response being rendered shows (a view calls this once; helpers that
    print site-wide things, such as the navigation, add ``NAV``). Outside a request: nothing."""
    if not has_request_context():
        return
    recorded: set[str] = g.setdefault(_RECORDED, set())
    if scope is not None:
        key = scope_key(scope)
        if key is not None:
            recorded.add(key)
    recorded.update(article_key(a.id) for a in articles if a is not None)
    recorded.update(keys)


def recorded() -> set[str]:
    """The keys recorded so far for this request."""
    return set(g.get(_RECORDED, ()))


def header_value(keys: Iterable[str], header: str) -> str:
    """The keys as the named header wants them (sorted, so equal sets give equal bytes)."""
    return HEADER_SEPARATORS[header.lower()].join(sorted(set(keys)))


def purging(config) -> bool:
    """Whether this site tells a proxy about changes (so the proxy may keep responses long)."""
    return bool(config.get("PURGE_URLS") or config.get("PURGE_HOOK"))


def emit(response: Response) -> Response:
    """``after_request``: the recorded keys in the configured header (plus ``all``, and
    ``absent`` on redirects and not-found answers), and, when purging is on, a long lifetime
    for the proxy alone (``Surrogate-Control``; browsers keep Cache-Control's short max-age)."""
    config = current_app.config
    header = config.get("SURROGATE_KEY_HEADER") or ""
    keys = g.get(_RECORDED)
    if keys:
        request.environ[SHOWN] = frozenset(keys)
    status = response.status_code
    if not header or (not keys and status not in SHORT_STATUSES) or header in response.headers:
        return response
    if not is_candidate(request.method, request.path) or request.endpoint == "static":
        return response
    if status != 200 and status not in SHORT_STATUSES:
        return response
    keys = {ALL, *(keys or ())}
    if status in SHORT_STATUSES:
        keys.add(ABSENT)
    response.headers[header] = header_value(keys, header)
    if status == 200 and purging(config) and config.get("SURROGATE_MAX_AGE"):
        response.headers.setdefault("Surrogate-Control", f"max-age={config['SURROGATE_MAX_AGE']}")
    return response


def init_app(app: Flask) -> None:
    app.after_request(emit)
