"""What a response shows, and which of those things a write changes (the vocabulary of keys).

Every page and feed names what it shows (``surrogate.shows`` records it while a view renders);
a write of an article turns into the names it changes (``affected_keys``). The same facts serve
the in-process response cache (an entry is stale only when something it shows changed: see
``cache/stamp.py``), the store (which records, in the write's own transaction, which names moved)
and the caching proxies (``purge.py``).

The keys (ASCII, short; term keys use row ids, so they survive renames):

- ``a<id>`` (``a123``): the article with that id is shown (its page, a card, a feed item, a
  neighbour or related link on another article's page);
- ``p<id>``: the page of that article (what its neighbours and related links are);
- ``site``: the front page listing, the site's feeds (and its newest archive document);
- ``old-site``, ``old-cat-<id>``...: the older archive documents of a scope;
- ``cat-<id>``, ``tag-<id>``, ``author-<id>``: that term's listing and feeds;
- ``d-2026``, ``d-2026-11``, ``d-2026-11-25``: date archives (UTC dates, like permalinks);
- ``search``: search results and search feeds (any visible write may change them);
- ``nav``: what every HTML page prints around its content (the sections, today's date);
- ``lists``: sitemaps and the OPML list (they change with every write);
- ``absent``: 301, 404 and 410 answers (a write may make an address exist or move);
- ``all``: everything (a bulk import, a term change).

Listing keys mean "lists this scope": a write moves a scope when its membership or order
changes; a change that keeps both (a typo fix) moves only ``a<id>``, so other pages of the
scope stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from .models import Article, Scope

SITE, SEARCH, NAV, LISTS, ABSENT, ALL = "site", "search", "nav", "lists", "absent", "all"
TERM_PREFIX = {"category": "cat", "tag": "tag", "author": "author"}


def article_key(article_id: int) -> str:
    return f"a{article_id}"


def page_key(article_id: int) -> str:
    """``p123``: the page of article 123 (which also shows its neighbours and related articles)."""
    return f"p{article_id}"


def archive_key(scope: str) -> str:
    """``old-site``, ``old-cat-3``: the complete RFC 5005 archives of a scope but the newest
    (they change only when an article enters, leaves or moves among older ones)."""
    return f"old-{scope}"


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
    before: Article | None,
    after: Article | None,
    *,
    now: datetime,
    shown_by: Iterable[int] = (),
    appended: bool = False,
) -> set[str]:
    """The keys whose responses a write of one article may have changed.

    ``before`` and ``after`` are the stored versions around the write (None for a creation or
    a deletion; a scheduled article falling due is ``(None, article)``). ``shown_by`` are the
    ids of other articles whose pages show this one's position (its new neighbours, the
    articles whose related list it enters): ``Store.shown_by`` finds them; only their pages
    change (``p<id>``), not the listings that show them. ``appended``: the article became
    visible as the newest of all, so no complete RFC 5005 archive of its scopes moves (only
    the newest one, which carries the scope's own key). Nothing public changes when neither
    version is visible (a draft saved) but the OPML list: ``{LISTS}``.
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
    if not (appended and not was and now_visible):
        keys.update(archive_key(scope) for scope in scopes if not scope.startswith("d-"))
    keys.update(article_key(a.id) for a in (before, after) if a is not None)
    keys.update(page_key(i) for i in shown_by)
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
