"""Surrogate keys: what each response shows, and which keys a write changes.

A caching proxy (Varnish with xkey, Fastly, Cloudflare...) can keep pages and feeds for hours if
every response names what it shows and every write purges exactly those names. This module owns
the vocabulary, the recording of keys while a view renders, the response header, and the rule
that turns a write into the keys it changes (``affected_keys``, ``term_change_keys``). It
depends on no view; ``purge.py`` sends the purges, the in-process cache may use the same facts.

The keys (ASCII, short; term keys use row ids, so they survive renames):

- ``a<id>`` (``a123``): the article with that id is shown (its page, a card, a feed item, a
  neighbour or related link on another article's page);
- ``site``: the front page listing, the site's feeds (and their archive documents);
- ``cat-<id>``, ``tag-<id>``, ``author-<id>``: that term's listing and feeds;
- ``d-2026``, ``d-2026-11``, ``d-2026-11-25``: date archives (UTC dates, like permalinks);
- ``search``: search results and search feeds (any visible write may change them);
- ``nav``: what every HTML page prints around its content (the sections, today's date);
- ``lists``: sitemaps and the OPML list (they change with every write);
- ``absent``: 301, 404 and 410 answers (a write may make an address exist or move);
- ``all``: every response carrying keys (purged after a bulk import).

Listing keys mean "lists this scope": a write purges a scope when its membership or order
changes; a change that keeps both (a typo fix) purges only ``a<id>``, so other pages of the
scope stay cached.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from flask import Flask, Response, current_app, g, has_request_context, request

from .cache.validators import is_candidate
from .models import Article, Scope

SITE, SEARCH, NAV, LISTS, ABSENT, ALL = "site", "search", "nav", "lists", "absent", "all"
TERM_PREFIX = {"category": "cat", "tag": "tag", "author": "author"}
# The response header that carries the keys, by proxy: the name, and what separates keys.
HEADER_SEPARATORS = {"xkey": " ", "surrogate-key": " ", "cache-tag": ","}
SHORT_STATUSES = (301, 308, 404, 410)
_RECORDED = "surrogate_keys"


# ------------------------------------------------------------------------------ vocabulary


def article_key(article_id: int) -> str:
    return f"a{article_id}"


def term_key(kind: str, term_id: int) -> str:
    """``cat-3``, ``tag-17``, ``author-5``."""
    return f"{TERM_PREFIX[kind]}-{term_id}"


def date_keys(moment: datetime) -> list[str]:
    """The year, month and day archives a publication time falls in (UTC, as permalinks)."""
    day = moment.astimezone(UTC)
    return [f"d-{day:%Y}", f"d-{day:%Y-%m}", f"d-{day:%Y-%m-%d}"]


def scope_key(scope: Scope) -> str | None:
    """The key of a listing's scope; None for a term scope whose id is unknown."""
    if scope.kind == "site":
        return SITE
    if scope.kind == "search":
        return SEARCH
    if scope.kind in TERM_PREFIX:
        return term_key(scope.kind, scope.term.id) if scope.term is not None and scope.term.id else None
    if scope.kind in ("year", "month", "day"):
        return "d-" + scope.value
    raise ValueError(f"no key for scope {scope.kind!r}")


def listed_in(article: Article) -> set[str]:
    """The scopes whose listings and feeds include ``article`` when it is visible."""
    keys = {SITE, *date_keys(article.published)}
    for term in (article.category, article.author, *article.tags):
        if term is not None and term.id:
            keys.add(term_key(term.kind, term.id))
    return keys


def visible(article: Article | None, now: datetime) -> bool:
    return article is not None and article.status == "published" and article.published <= now


# ------------------------------------------------------------------------------ what a write changes


def affected_keys(
    before: Article | None, after: Article | None, *, now: datetime, shown_by: Iterable[int] = ()
) -> set[str]:
    """The keys whose responses a write of one article may have changed.

    ``before`` and ``after`` are the stored versions around the write (None for a creation or
    a deletion; a scheduled article falling due is ``(None, article)``). ``shown_by`` are the
    ids of other articles whose pages show this one's position (its new neighbours, the
    articles whose related list it enters): ``purge.neighbours`` finds them. Nothing public
    changes when neither version is visible (a draft saved) but the OPML list: ``{LISTS}``.
    """
    was, now_visible = visible(before, now), visible(after, now)
    if not was and not now_visible:
        return {LISTS}  # the OPML list names every author, even one with only drafts so far
    old = listed_in(before) if was else set()
    new = listed_in(after) if now_visible else set()
    if was and now_visible and before.published == after.published:
        scopes = old ^ new  # same place in every timeline: only the scopes it entered or left
    else:
        scopes = old | new  # it appeared, vanished or moved: every listing it is in shifts
    keys = {SEARCH, LISTS, *scopes}
    keys.update(article_key(a.id) for a in (before, after) if a is not None)
    keys.update(article_key(i) for i in shown_by)
    if was != now_visible or before.path != after.path:
        keys.add(ABSENT)  # an address now answers (or stops answering, or redirects elsewhere)
    return keys


def term_change_keys(kind: str, term_id: int, article_ids: Iterable[int] = ()) -> set[str]:
    """Keys for a term renamed, deleted or merged: its listing and feeds, the navigation (it
    lists categories; cheap to include for any kind), the 301s of its old slug, and every
    article carrying it (pages, cards and feed items print term names)."""
    keys = {term_key(kind, term_id), NAV, ABSENT, LISTS}
    keys.update(article_key(i) for i in article_ids)
    return keys


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
