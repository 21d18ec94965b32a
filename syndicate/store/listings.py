"""Listings of visible articles: pages by scope (site, term, date), archives, sitemaps and the
API's change feed.

Listings never use large OFFSETs: the keys at which each page starts are computed once per
content version (one scan of an index inside SQLite) and kept in a small LRU, so page 1107
costs one index seek plus ``per_page`` rows, the same as page 1.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import showing
from ..lru import LRU
from ..models import Article, Page, Scope
from .articles import Articles
from .connection import UNDER_EMBARGO, VISIBLE, from_db, to_db
from .terms import Terms

_PAGE_KEYS: LRU[Any, Any] = LRU(512)
_TOTALS: LRU[Any, int] = LRU(512)  # the number of articles of a listing, by the same keys
# One lock per listing (scope, page size, order), for the listings asked for lately: any date
# can be asked for, so the locks are bounded too (a lock forgotten while held costs at most
# one more computation).
_KEY_LOCKS: LRU[tuple, threading.Lock] = LRU(1024)


@dataclass(frozen=True)
class _Listing:
    """How to list one scope: its table, its filter and the key columns of its index."""

    table: str
    where: str
    params: dict[str, Any]
    published: str = "published"
    ident: str = "id"


def _date_range(scope: Scope) -> tuple[datetime, datetime]:
    """UTC [start, end) of a year, month or day scope whose value is 'yyyy', 'yyyy-mm' or 'yyyy-mm-dd'."""
    parts = [int(p) for p in scope.value.split("-")]
    if scope.kind == "year":
        start = datetime(parts[0], 1, 1, tzinfo=UTC)
        end = datetime(parts[0] + 1, 1, 1, tzinfo=UTC) if parts[0] < 9999 else datetime.max.replace(tzinfo=UTC)
    elif scope.kind == "month":
        start = datetime(parts[0], parts[1], 1, tzinfo=UTC)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        start = datetime(parts[0], parts[1], parts[2], tzinfo=UTC)
        end = start + timedelta(days=1)
    return start, end


def _key_lock(listing: tuple) -> threading.Lock:
    lock = _KEY_LOCKS.get(listing)
    if lock is None:
        lock = threading.Lock()
        _KEY_LOCKS.put(listing, lock)
    return lock


class Listings(Terms, Articles):
    def _listing(self, scope: Scope, now: str, *, embargoed: bool = False) -> _Listing | None:
        """``where`` filters the scope without the time bound; callers add ``published <= :now``
        (or, for a page, the page key, which is visible and so already bounded by now).
        ``embargoed`` (partners): articles under embargo too (see ``_with_embargoed``)."""
        listing = self._scope_listing(scope, now)
        return self._with_embargoed(listing, now) if embargoed and listing is not None else listing

    def _with_embargoed(self, listing: _Listing, now: str) -> _Listing:
        """A partner's listing: the bound ``:now`` moves to the last embargo's end, and the
        scheduled articles up to there that are not under embargo are left out (a handful,
        found once per query through the index). Without embargoes, the public listing."""
        row = self.conn.execute(f"SELECT max(published) AS horizon FROM articles WHERE {UNDER_EMBARGO}", {"now": now})
        horizon = row.fetchone()["horizon"]
        if horizon is None:
            return listing
        scheduled = (
            "SELECT id FROM articles WHERE status = 'published' AND published > :real_now AND published <= :now"
            " AND embargo_until IS NOT published"
        )
        where = f"{listing.where} AND {listing.ident} NOT IN ({scheduled})"
        return replace(listing, where=where, params={**listing.params, "now": horizon, "real_now": now})

    def _scope_listing(self, scope: Scope, now: str) -> _Listing | None:
        params: dict[str, Any] = {"now": now}
        if scope.kind == "site":
            return _Listing("articles", "status = 'published'", params)
        if scope.kind in ("category", "author", "tag"):
            params["term"] = self.term_id(scope.kind, scope.value)
            if params["term"] is None:
                return None
            if scope.kind == "tag":
                return _Listing("article_tags", "tag_id = :term AND status = 'published'", params, ident="article_id")
            return _Listing("articles", f"{scope.kind}_id = :term AND status = 'published'", params)
        if scope.kind in ("year", "month", "day"):
            start, end = _date_range(scope)
            params.update(start=to_db(start), end=to_db(end))
            return _Listing("articles", "status = 'published' AND published >= :start AND published < :end", params)
        raise ValueError(f"cannot list scope {scope.kind!r}")

    def page_keys(
        self, scope: Scope, per_page: int, *, oldest_first: bool = False, embargoed: bool = False
    ) -> list[tuple[str, int]] | None:
        """The (published, id) key of the first article of every page of ``scope``.

        Computed once per content version inside SQLite (one index scan), then cached, so that
        fetching any page afterwards is a single index range scan. None for an unknown term.
        """
        found = self._page_keys(scope, per_page, oldest_first, embargoed)
        return None if found is None else found[1]

    def _page_keys(
        self, scope: Scope, per_page: int, oldest_first: bool, embargoed: bool
    ) -> tuple[tuple, list[tuple[str, int]]] | None:
        """(the key it is kept under, the page keys): ``page_keys``."""
        now = self.now()
        # A partner's listing also holds articles under embargo, which no scope key follows.
        version = self.scope_version(scope)
        if not version[0]:
            return None  # an unknown term (no lock, no memo: any slug can be asked for)
        if embargoed:
            version = (*version, self.content_version())
        cache_key = (self.path, scope.key, per_page, oldest_first, embargoed, version)
        keys = _PAGE_KEYS.get(cache_key)
        if keys is not None:
            return cache_key, keys
        # One thread computes a listing's keys (a scan of the whole scope: ~0.2 s on 200,000
        # articles); the others wait for it instead of scanning too.
        with _key_lock(cache_key[:5]):
            keys = _PAGE_KEYS.get(cache_key)
            if keys is None:
                keys = self._compute_page_keys(scope, per_page, now, oldest_first, embargoed)
                if keys is not None:
                    _PAGE_KEYS.put(cache_key, keys)
        return None if keys is None else (cache_key, keys)

    def _compute_page_keys(
        self, scope: Scope, per_page: int, now: str, oldest_first: bool, embargoed: bool
    ) -> list[tuple[str, int]] | None:
        listing = self._listing(scope, now, embargoed=embargoed)
        if listing is None:
            return None
        direction = "ASC" if oldest_first else "DESC"
        p, i = listing.published, listing.ident
        rows = self.conn.execute(
            f"SELECT {p} AS published, {i} AS id FROM (SELECT {p}, {i}, row_number() OVER"
            f" (ORDER BY {p} {direction}, {i} {direction}) - 1 AS n"
            f" FROM {listing.table} WHERE {listing.where} AND {p} <= :now) WHERE n % :per_page = 0 ORDER BY n",
            {**listing.params, "per_page": per_page},
        )
        keys = [(row["published"], row["id"]) for row in rows]
        return keys

    def scope_version(self, scope: Scope) -> tuple:
        """Changes whenever what ``scope`` lists, or its order, changes: the generation of the
        last write that moved it (``showing.py`` keys; every write records them), of the last
        that moved everything, scheduled articles fallen due, and writes that bypassed Syndicate."""
        if scope.kind in showing.TERM_PREFIX:  # the key names the term by id: look it up
            scope = replace(scope, term=self.term(scope.kind, scope.value))
        key = showing.scope_key(scope) or ""  # "": an unknown term
        row = self.conn.execute(
            "SELECT (SELECT seq FROM changes WHERE key = ?), (SELECT seq FROM changes WHERE key = ?),"
            " (SELECT count(*) FROM due WHERE due_at <= ?),"
            " (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation') - (SELECT max(seq) FROM changes)",
            (key, showing.ALL, self.now()),
        ).fetchone()
        return (key, *row)

    def count(self, scope: Scope) -> int | None:
        listing = self._listing(scope, self.now())
        if listing is None:
            return None
        return self.conn.execute(
            f"SELECT count(*) AS n FROM {listing.table} WHERE {listing.where} AND published <= :now", listing.params
        ).fetchone()["n"]

    def listing_sql(
        self, scope: Scope, *, oldest_first: bool = False, embargoed: bool = False
    ) -> tuple[str, dict[str, Any]] | None:
        """The SQL and parameters that fetch the ids (columns ``id``, ``published``) of one page of ``scope``
        from a page key (for ``page`` and for EXPLAIN QUERY PLAN in the tests)."""
        listing = self._listing(scope, self.now(), embargoed=embargoed)
        if listing is None:
            return None
        p, i = listing.published, listing.ident
        # The key is a visible article, so bounding by it also bounds by now; a single bound on
        # `published` lets SQLite start the index range scan right at the page (no OFFSET).
        if oldest_first:
            bound = f"{p} >= :key_published AND ({p} > :key_published OR {i} >= :key_id) AND {p} <= :now"
            direction = "ASC"
        else:
            bound = f"{p} <= :key_published AND ({p} < :key_published OR {i} <= :key_id)"
            direction = "DESC"
        sql = (
            f"SELECT {i} AS id, {p} AS published FROM {listing.table} WHERE {listing.where} AND {bound}"
            f" ORDER BY {p} {direction}, {i} {direction} LIMIT :limit"
        )
        return sql, listing.params

    def page(
        self, scope: Scope, number: int, per_page: int, *, oldest_first: bool = False, embargoed: bool = False
    ) -> Page | None:
        """Page ``number`` (1-based) of ``scope``, newest first unless ``oldest_first``;
        ``embargoed`` (for partners only) adds the articles under embargo.

        None when the scope does not exist or the page is out of range; page 1 of an empty
        scope is an empty page.
        """
        found = self._page_keys(scope, per_page, oldest_first, embargoed)
        if found is None or number < 1:
            return None
        cache_key, keys = found
        if number > max(len(keys), 1):
            return None
        if not keys:
            return Page(scope, 1, per_page, 0, [])
        sql, params = self.listing_sql(scope, oldest_first=oldest_first, embargoed=embargoed)
        at = functools.partial(dict, params, limit=per_page)
        # Items on the last page are counted from its key, so the total costs one short scan,
        # once per version of the listing, like its keys (the same writes move both).
        total = _TOTALS.get(cache_key)
        if total is None:
            last_published, last_id = keys[-1]
            rest = self.conn.execute(
                f"SELECT count(*) AS n FROM ({sql})", at(key_published=last_published, key_id=last_id)
            ).fetchone()["n"]
            total = (len(keys) - 1) * per_page + rest
            _TOTALS.put(cache_key, total)
        key_published, key_id = keys[number - 1]
        articles = self.articles_listed(
            sql, at(key_published=key_published, key_id=key_id), "ASC" if oldest_first else "DESC"
        )
        return Page(scope, number, per_page, total, articles)

    def newest(self, scope: Scope, limit: int) -> list[Article] | None:
        page = self.page(scope, 1, limit)
        return None if page is None else page.articles

    def months(self) -> list[tuple[int, int, int]]:
        """(year, month, count) of visible articles, newest first, for date archives."""
        rows = self.conn.execute(
            "SELECT substr(published, 1, 4) AS year, substr(published, 6, 2) AS month, count(*) AS n"
            f" FROM articles WHERE {VISIBLE} GROUP BY 1, 2 ORDER BY 1 DESC, 2 DESC",
            {"now": self.now()},
        )
        return [(int(row["year"]), int(row["month"]), row["n"]) for row in rows]

    def last_updated(self) -> datetime | None:
        row = self.conn.execute(
            f"SELECT max(updated) AS updated FROM articles WHERE {VISIBLE}", {"now": self.now()}
        ).fetchone()
        return from_db(row["updated"]) if row and row["updated"] else None

    def sitemap_entries(self, number: int, size: int) -> list[tuple[str, str, datetime]]:
        """(published, slug, updated) of visible articles, oldest first, chunk ``number``."""
        rows = self.conn.execute(
            f"SELECT published, slug, updated FROM articles WHERE {VISIBLE}"
            " ORDER BY published, id LIMIT :limit OFFSET :offset",
            {"now": self.now(), "limit": size, "offset": (number - 1) * size},
        )
        return [(row["published"], row["slug"], from_db(row["updated"])) for row in rows]

    def news_entries(self, since: str, limit: int) -> list[tuple[str, str, str, datetime]]:
        """(published, slug, title, updated) of visible articles published from ``since``,
        newest first (the Google News sitemap): one index range scan."""
        rows = self.conn.execute(
            f"SELECT published, slug, title, updated FROM articles WHERE {VISIBLE} AND published >= :since"
            " ORDER BY published DESC, id DESC LIMIT :limit",
            {"now": self.now(), "since": since, "limit": limit},
        )
        return [(row["published"], row["slug"], row["title"], from_db(row["updated"])) for row in rows]

    def sitemap_chunks(self, size: int) -> list[tuple[int, datetime]]:
        """(number, newest updated) of each sitemap file of ``size`` articles, in the order of
        ``sitemap_entries``: one scan, so the sitemap index never reads every URL."""
        rows = self.conn.execute(
            "SELECT n / :size + 1 AS number, max(updated) AS updated FROM (SELECT updated, row_number() OVER"
            f" (ORDER BY published, id) - 1 AS n FROM articles WHERE {VISIBLE}) GROUP BY 1 ORDER BY 1",
            {"now": self.now(), "size": size},
        )
        return [(row["number"], from_db(row["updated"])) for row in rows]

    def api_articles(
        self,
        *,
        status: str | None = None,
        category: str | None = None,
        author: str | None = None,
        updated_since: datetime | None = None,
        after: tuple[str, int] | None = None,
        descending: bool = False,
        limit: int = 20,
    ) -> list[Article]:
        """Articles of any status ordered by (updated, id), for API clients that sync changes.

        ``after`` is the (updated, id) of the last article of the previous page: keyset paging,
        so an article updated while a client pages moves to the end instead of being skipped.
        """
        where, params = ["1"], {"now": self.now(), "limit": limit}
        if status == "draft":
            where.append("a.status = 'draft'")
        elif status == "published":
            where.append("a.status = 'published' AND a.published <= :now")
        elif status == "scheduled":
            where.append("a.status = 'published' AND a.published > :now")
        if category is not None:
            where.append("a.category_id = (SELECT id FROM categories WHERE slug = :category)")
            params["category"] = category
        if author is not None:
            where.append("a.author_id = (SELECT id FROM authors WHERE slug = :author)")
            params["author"] = author
        if updated_since is not None:
            where.append("a.updated >= :since")
            params["since"] = to_db(updated_since)
        if after is not None:
            where.append(f"(a.updated, a.id) {'<' if descending else '>'} (:after_updated, :after_id)")
            params["after_updated"], params["after_id"] = after
        direction = "DESC" if descending else "ASC"
        ids = self._ids(
            f"SELECT a.id FROM articles a WHERE {' AND '.join(where)}"
            f" ORDER BY a.updated {direction}, a.id {direction} LIMIT :limit",
            params,
        )
        return self.articles_by_ids(ids)
