"""The article store: the only module that speaks SQL.

It owns the schema and its migrations, every query the site, feeds and API make, and every
write. Times are stored as UTC ISO-8601 strings with a ``+00:00`` offset and a fixed width,
so string order is time order and every listing is a range scan over an index.

Listings never use large OFFSETs: the keys at which each page starts are computed once per
content version (one scan of an index inside SQLite) and kept in a small LRU, so page 1107
costs one index seek plus ``per_page`` rows, the same as page 1.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from .changes import signal_for
from .models import Article, Page, Scope, SearchHit, Term

SCHEMA_VERSION = 2
VISIBLE = "status = 'published' AND published <= :now"
TERM_TABLES = {"author": "authors", "category": "categories", "tag": "tags"}


class StoreError(Exception):
    """A write was refused; the message says why (shown to operators and API clients)."""


class IdempotencyConflict(StoreError):
    """An idempotency key was reused with a different request."""


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_db(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: the store only accepts timezone-aware times")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def from_db(value: str) -> datetime:
    return datetime.fromisoformat(value)


# --------------------------------------------------------------------------------- schema


def _migration_1(db: sqlite_utils.Database) -> None:
    """The original schema: articles, their terms, redirects for changed slugs, search."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE authors (
            id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
            bio TEXT NOT NULL DEFAULT '');
        CREATE TABLE categories (
            id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '', position INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE tags (
            id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL);
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            guid TEXT NOT NULL UNIQUE,
            slug TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            summary TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            body_text TEXT NOT NULL DEFAULT '',
            image_url TEXT NOT NULL DEFAULT '',
            image_caption TEXT NOT NULL DEFAULT '',
            image_type TEXT NOT NULL DEFAULT '',
            image_length INTEGER,
            author_id INTEGER REFERENCES authors(id),
            category_id INTEGER REFERENCES categories(id),
            published TEXT NOT NULL,
            updated TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('draft', 'published')));
        -- published/status are copied here so a tag listing is a range scan of one index.
        CREATE TABLE article_tags (
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            tag_id INTEGER NOT NULL REFERENCES tags(id),
            published TEXT NOT NULL,
            status TEXT NOT NULL,
            PRIMARY KEY (article_id, tag_id));
        CREATE TABLE slug_redirects (
            slug TEXT PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE);
        CREATE INDEX articles_listing ON articles (status, published, id);
        CREATE INDEX articles_category ON articles (category_id, status, published, id);
        CREATE INDEX articles_author ON articles (author_id, status, published, id);
        CREATE INDEX articles_updated ON articles (updated);
        CREATE INDEX article_tags_listing ON article_tags (tag_id, status, published, article_id);
        """
    )
    db["articles"].enable_fts(
        ["title", "summary", "body_text"],
        fts_version="FTS5",
        create_triggers=True,
        tokenize="porter unicode61 remove_diacritics 2",
    )


def _migration_2(db: sqlite_utils.Database) -> None:
    """Publishing API: tokens, idempotency keys, and who made each write."""
    db.executescript(
        """
        ALTER TABLE articles ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
        ALTER TABLE articles ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
        CREATE TABLE tokens (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, token_hash TEXT NOT NULL UNIQUE,
            scope TEXT NOT NULL CHECK (scope IN ('read', 'write')), created TEXT NOT NULL,
            revoked TEXT, last_used TEXT);
        CREATE TABLE idempotency_keys (
            key TEXT NOT NULL, token_name TEXT NOT NULL, request_hash TEXT NOT NULL,
            status INTEGER NOT NULL, response TEXT NOT NULL, created TEXT NOT NULL,
            PRIMARY KEY (token_name, key));
        """
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migration_1, _migration_2]
assert len(MIGRATIONS) == SCHEMA_VERSION


def connect(path: str) -> sqlite3.Connection:
    """A connection with the settings every user of the database needs."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA foreign_keys = ON")
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply forward migrations up to ``target``, each in its own transaction."""
    db = sqlite_utils.Database(conn)
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise StoreError(f"database schema version {current} is newer than this Syndicate ({SCHEMA_VERSION})")
    for version in range(current + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] >= version:
                conn.execute("ROLLBACK")  # another process migrated first
                continue
            MIGRATIONS[version - 1](db)
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return conn.execute("PRAGMA user_version").fetchone()[0]


# ------------------------------------------------------------------------ page-key cache


class _LRU:
    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Any, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        return None

    def put(self, key, value) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


_PAGE_KEYS = _LRU(512)


@dataclass(frozen=True)
class _Listing:
    """How to list one scope: its table, its filter and the key columns of its index."""

    table: str
    where: str
    params: dict[str, Any]
    published: str = "published"
    ident: str = "id"


# ------------------------------------------------------------------------------ the store


class Store:
    """All reads and writes of one database, through one connection (one per thread)."""

    def __init__(self, path: str, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.path = path
        self.clock = clock
        self.conn = connect(path)
        self.db = sqlite_utils.Database(self.conn)
        self._changed = False  # a content write is waiting for its COMMIT to be announced

    def close(self) -> None:
        self.conn.close()

    # ---- schema
    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> int:
        return migrate(self.conn)

    def ensure_schema(self) -> None:
        if self.schema_version != SCHEMA_VERSION:
            self.migrate()

    # ---- transactions
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT: all or nothing, and writers queue instead of failing."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            self._changed = False
            raise
        else:
            self.conn.execute("COMMIT")
            self._announce()

    def _announce(self) -> None:
        """After a COMMIT that changed content: tell every process (see changes.py)."""
        if self._changed:
            self._changed = False
            signal = signal_for(self.path)
            if signal is not None:
                signal.signal()

    def _bump_generation(self) -> None:
        self._changed = True
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # ---- versions and validators
    def now(self) -> str:
        return to_db(self.clock())

    def generation(self) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def content_version(self) -> str:
        """Changes whenever anything visible changes: a write, or a scheduled article
        becoming due (it is then the newest visible article, so the max below moves)."""
        row = self.conn.execute(
            "SELECT (SELECT value FROM meta WHERE key = 'generation'),"
            f" (SELECT max(published) FROM articles WHERE {VISIBLE})",
            {"now": self.now()},
        ).fetchone()
        return f"{row[0] or 0}.{row[1] or ''}"

    def next_scheduled(self) -> datetime | None:
        row = self.conn.execute(
            "SELECT min(published) FROM articles WHERE status = 'published' AND published > ?",
            (self.now(),),
        ).fetchone()
        return from_db(row[0]) if row and row[0] else None

    # ---- terms
    def term(self, kind: str, slug: str) -> Term | None:
        table = TERM_TABLES[kind]
        row = self.conn.execute(f"SELECT slug, name FROM {table} WHERE slug = ?", (slug,)).fetchone()
        return Term(kind, row[0], row[1]) if row else None

    def terms(self, kind: str, *, with_counts: bool = False) -> list[Term] | list[tuple[Term, int]]:
        """Every author, category or tag, in display order (categories by their position)."""
        table = TERM_TABLES[kind]
        order = "position, name" if kind == "category" else "name"
        if not with_counts:
            rows = self.conn.execute(f"SELECT slug, name FROM {table} ORDER BY {order}")
            return [Term(kind, slug, name) for slug, name in rows]
        if kind == "tag":
            count_sql = (
                "SELECT count(*) FROM article_tags x WHERE x.tag_id = t.id"
                " AND x.status = 'published' AND x.published <= :now"
            )
        else:
            column = "author_id" if kind == "author" else "category_id"
            count_sql = f"SELECT count(*) FROM articles a WHERE a.{column} = t.id AND a.{VISIBLE}"
        rows = self.conn.execute(
            f"SELECT slug, name, ({count_sql}) FROM {table} t ORDER BY {order}", {"now": self.now()}
        )
        return [(Term(kind, slug, name), count) for slug, name, count in rows]

    def term_records(self, kind: str) -> list[dict[str, Any]]:
        """Every author or category with its extra fields (bio; description, position), for export."""
        columns = {"author": "slug, name, bio", "category": "slug, name, description, position"}[kind]
        cursor = self.conn.execute(f"SELECT {columns} FROM {TERM_TABLES[kind]} ORDER BY slug")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def ensure_term(self, kind: str, slug: str, name: str) -> int:
        """The id of a term, creating it (inside the caller's transaction) when new."""
        table = TERM_TABLES[kind]
        row = self.conn.execute(f"SELECT id FROM {table} WHERE slug = ?", (slug,)).fetchone()
        if row:
            return row[0]
        cur = self.conn.execute(f"INSERT INTO {table} (slug, name) VALUES (?, ?)", (slug, name))
        return cur.lastrowid

    def save_term(self, kind: str, slug: str, name: str, **extra: Any) -> None:
        """Create or rename a term (authors may carry ``bio``, categories ``position``)."""
        table = TERM_TABLES[kind]
        allowed = {"author": {"bio"}, "category": {"description", "position"}, "tag": set()}[kind]
        extra = {k: v for k, v in extra.items() if k in allowed}
        columns = ["slug", "name", *extra]
        values = [slug, name, *extra.values()]
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
        with self.transaction():
            self.conn.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(values))})"
                f" ON CONFLICT(slug) DO UPDATE SET {updates}",
                values,
            )
            self._bump_generation()

    # ---- listings
    def _listing(self, scope: Scope, now: str) -> _Listing | None:
        """``where`` filters the scope without the time bound; callers add ``published <= :now``
        (or, for a page, the page key, which is visible and so already bounded by now)."""
        params: dict[str, Any] = {"now": now}
        if scope.kind == "site":
            return _Listing("articles", "status = 'published'", params)
        if scope.kind in ("category", "author"):
            table = TERM_TABLES[scope.kind]
            row = self.conn.execute(f"SELECT id FROM {table} WHERE slug = ?", (scope.value,)).fetchone()
            if not row:
                return None
            params["term"] = row[0]
            return _Listing("articles", f"{scope.kind}_id = :term AND status = 'published'", params)
        if scope.kind == "tag":
            row = self.conn.execute("SELECT id FROM tags WHERE slug = ?", (scope.value,)).fetchone()
            if not row:
                return None
            params["term"] = row[0]
            return _Listing("article_tags", "tag_id = :term AND status = 'published'", params, ident="article_id")
        if scope.kind in ("year", "month", "day"):
            start, end = _date_range(scope)
            params.update(start=to_db(start), end=to_db(end))
            return _Listing("articles", "status = 'published' AND published >= :start AND published < :end", params)
        raise ValueError(f"cannot list scope {scope.kind!r}")

    def page_keys(self, scope: Scope, per_page: int, *, oldest_first: bool = False) -> list[tuple[str, int]] | None:
        """The (published, id) key of the first article of every page of ``scope``.

        Computed once per content version inside SQLite (one index scan), then cached, so that
        fetching any page afterwards is a single index range scan. None for an unknown term.
        """
        now = self.now()
        version = self.content_version()
        cache_key = (self.path, scope.key, per_page, oldest_first, version)
        keys = _PAGE_KEYS.get(cache_key)
        if keys is not None:
            return keys
        listing = self._listing(scope, now)
        if listing is None:
            return None
        direction = "ASC" if oldest_first else "DESC"
        p, i = listing.published, listing.ident
        rows = self.conn.execute(
            f"SELECT {p}, {i} FROM (SELECT {p}, {i}, row_number() OVER"
            f" (ORDER BY {p} {direction}, {i} {direction}) - 1 AS n"
            f" FROM {listing.table} WHERE {listing.where} AND {p} <= :now) WHERE n % :per_page = 0 ORDER BY n",
            {**listing.params, "per_page": per_page},
        ).fetchall()
        keys = [(row[0], row[1]) for row in rows]
        _PAGE_KEYS.put(cache_key, keys)
        return keys

    def count(self, scope: Scope) -> int | None:
        listing = self._listing(scope, self.now())
        if listing is None:
            return None
        return self.conn.execute(
            f"SELECT count(*) FROM {listing.table} WHERE {listing.where} AND published <= :now", listing.params
        ).fetchone()[0]

    def listing_sql(self, scope: Scope, *, oldest_first: bool = False) -> tuple[str, dict[str, Any]] | None:
        """The SQL and parameters that fetch one page of ``scope`` from a page key (for
        ``page`` and for EXPLAIN QUERY PLAN in the tests)."""
        listing = self._listing(scope, self.now())
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
            f"SELECT {i} FROM {listing.table} WHERE {listing.where} AND {bound}"
            f" ORDER BY {p} {direction}, {i} {direction} LIMIT :limit"
        )
        return sql, listing.params

    def page(self, scope: Scope, number: int, per_page: int, *, oldest_first: bool = False) -> Page | None:
        """Page ``number`` (1-based) of ``scope``, newest first unless ``oldest_first``.

        None when the scope does not exist or the page is out of range; page 1 of an empty
        scope is an empty page.
        """
        keys = self.page_keys(scope, per_page, oldest_first=oldest_first)
        if keys is None or number < 1:
            return None
        total_pages = len(keys)
        if number > max(total_pages, 1):
            return None
        if not keys:
            return Page(scope, 1, per_page, 0, [])
        total = self._total_from_keys(scope, keys, per_page, oldest_first)
        sql, params = self.listing_sql(scope, oldest_first=oldest_first)
        key_published, key_id = keys[number - 1]
        ids = [
            row[0]
            for row in self.conn.execute(
                sql, {**params, "key_published": key_published, "key_id": key_id, "limit": per_page}
            )
        ]
        return Page(scope, number, per_page, total, self.articles_by_ids(ids))

    def _total_from_keys(self, scope: Scope, keys: list, per_page: int, oldest_first: bool) -> int:
        """Items on the last page are counted from its key, so the total costs one short scan."""
        sql, params = self.listing_sql(scope, oldest_first=oldest_first)
        key_published, key_id = keys[-1]
        rest = self.conn.execute(
            f"SELECT count(*) FROM ({sql})",
            {**params, "key_published": key_published, "key_id": key_id, "limit": per_page},
        ).fetchone()[0]
        return (len(keys) - 1) * per_page + rest

    def newest(self, scope: Scope, limit: int) -> list[Article] | None:
        page = self.page(scope, 1, limit)
        return None if page is None else page.articles

    # ---- hydration (bounded number of queries, whatever the page size)
    _ARTICLE_COLUMNS = (
        "a.id, a.guid, a.slug, a.title, a.summary, a.body, a.image_url, a.image_caption,"
        " a.image_type, a.image_length, au.slug, au.name, c.slug, c.name, a.published,"
        " a.updated, a.status, a.created_by, a.updated_by"
    )
    _ARTICLE_FROM = (
        "FROM articles a LEFT JOIN authors au ON au.id = a.author_id LEFT JOIN categories c ON c.id = a.category_id"
    )

    def articles_by_ids(self, ids: Sequence[int]) -> list[Article]:
        """Full articles for ``ids``, in that order: one query for articles, one for tags."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            f"SELECT {self._ARTICLE_COLUMNS} {self._ARTICLE_FROM} WHERE a.id IN ({marks})", list(ids)
        ).fetchall()
        tags: dict[int, list[Term]] = {i: [] for i in ids}
        for article_id, slug, name in self.conn.execute(
            f"SELECT x.article_id, t.slug, t.name FROM article_tags x JOIN tags t ON t.id = x.tag_id"
            f" WHERE x.article_id IN ({marks}) ORDER BY t.name",
            list(ids),
        ):
            tags[article_id].append(Term("tag", slug, name))
        by_id = {row[0]: _article(row, tags[row[0]]) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    def _one(self, where: str, params: Sequence[Any]) -> Article | None:
        row = self.conn.execute(f"SELECT a.id {self._ARTICLE_FROM} WHERE {where}", params).fetchone()
        return self.articles_by_ids([row[0]])[0] if row else None

    def article(self, slug: str, *, include_hidden: bool = False) -> Article | None:
        """The article with ``slug``; drafts and scheduled articles only with include_hidden."""
        if include_hidden:
            return self._one("a.slug = ?", (slug,))
        return self._one("a.slug = ? AND a.status = 'published' AND a.published <= ?", (slug, self.now()))

    def article_by_guid(self, guid: str) -> Article | None:
        return self._one("a.guid = ?", (guid,))

    def article_by_id(self, article_id: int) -> Article | None:
        return self._one("a.id = ?", (article_id,))

    def redirected_slug(self, slug: str) -> Article | None:
        """The visible article that used to have ``slug`` (for a 301 to its new permalink)."""
        row = self.conn.execute("SELECT article_id FROM slug_redirects WHERE slug = ?", (slug,)).fetchone()
        if not row:
            return None
        article = self.article_by_id(row[0])
        if article and article.status == "published" and to_db(article.published) <= self.now():
            return article
        return None

    def adjacent(self, article: Article) -> tuple[Article | None, Article | None]:
        """(older, newer) visible neighbours on the front-page timeline."""
        key = {"now": self.now(), "p": to_db(article.published), "id": article.id}
        older = self.conn.execute(
            f"SELECT id FROM articles WHERE {VISIBLE} AND (published, id) < (:p, :id)"
            " ORDER BY published DESC, id DESC LIMIT 1",
            key,
        ).fetchone()
        newer = self.conn.execute(
            f"SELECT id FROM articles WHERE {VISIBLE} AND (published, id) > (:p, :id)"
            " ORDER BY published ASC, id ASC LIMIT 1",
            key,
        ).fetchone()
        found = {a.id: a for a in self.articles_by_ids([r[0] for r in (older, newer) if r])}
        return (found.get(older[0]) if older else None, found.get(newer[0]) if newer else None)

    def related(self, article: Article, limit: int = 4) -> list[Article]:
        """Recent visible articles from the same category, published up to this one."""
        if article.category is None:
            return []
        rows = self.conn.execute(
            f"SELECT a.id FROM articles a JOIN categories c ON c.id = a.category_id"
            f" WHERE c.slug = :cat AND a.{VISIBLE} AND a.id != :id AND a.published <= :p"
            " ORDER BY a.published DESC, a.id DESC LIMIT :limit",
            {"cat": article.category.slug, "now": self.now(), "id": article.id,
             "p": to_db(article.published), "limit": limit},
        ).fetchall()  # fmt: skip
        return self.articles_by_ids([r[0] for r in rows])

    def months(self) -> list[tuple[int, int, int]]:
        """(year, month, count) of visible articles, newest first, for date archives."""
        rows = self.conn.execute(
            f"SELECT substr(published, 1, 4), substr(published, 6, 2), count(*) FROM articles"
            f" WHERE {VISIBLE} GROUP BY 1, 2 ORDER BY 1 DESC, 2 DESC",
            {"now": self.now()},
        )
        return [(int(y), int(m), n) for y, m, n in rows]

    # ---- search
    def search(self, query: str, number: int, per_page: int) -> tuple[list[SearchHit], int]:
        """Ranked full-text search (bm25) with highlighted snippets; never raises on odd input."""
        match = fts_query(query)
        if not match:
            return [], 0
        params = {"match": match, "now": self.now()}
        # CROSS JOIN keeps the FTS match as the outer loop: with a plain JOIN the planner may
        # walk every visible article and probe the FTS index once per article (~100x slower).
        total = self.conn.execute(
            "SELECT count(*) FROM articles_fts CROSS JOIN articles a ON a.rowid = articles_fts.rowid"
            f" WHERE articles_fts MATCH :match AND a.{VISIBLE}",
            params,
        ).fetchone()[0]
        rows = self.conn.execute(
            "SELECT a.id, snippet(articles_fts, -1, char(1), char(2), '…', 24)"
            " FROM articles_fts CROSS JOIN articles a ON a.rowid = articles_fts.rowid"
            f" WHERE articles_fts MATCH :match AND a.{VISIBLE}"
            " ORDER BY bm25(articles_fts, 10.0, 4.0, 1.0), a.published DESC"
            " LIMIT :limit OFFSET :offset",
            {**params, "limit": per_page, "offset": (number - 1) * per_page},
        ).fetchall()
        articles = {a.id: a for a in self.articles_by_ids([r[0] for r in rows])}
        hits = [SearchHit(articles[i], _snippet_html(s)) for i, s in rows if i in articles]
        return hits, total

    # ---- sitemap
    def sitemap_entries(self, number: int, size: int) -> list[tuple[str, str, datetime]]:
        """(published, slug, updated) of visible articles, oldest first, chunk ``number``."""
        rows = self.conn.execute(
            f"SELECT published, slug, updated FROM articles WHERE {VISIBLE}"
            " ORDER BY published, id LIMIT :limit OFFSET :offset",
            {"now": self.now(), "limit": size, "offset": (number - 1) * size},
        )
        return [(p, s, from_db(u)) for p, s, u in rows]

    def last_updated(self) -> datetime | None:
        row = self.conn.execute(f"SELECT max(updated) FROM articles WHERE {VISIBLE}", {"now": self.now()}).fetchone()
        return from_db(row[0]) if row and row[0] else None

    # ---- writes
    def save_article(self, record: dict[str, Any], *, actor: str = "") -> tuple[Article, bool]:
        """Insert or update one validated article (see ``validation.article_record``), by guid."""
        with self.transaction():
            article_id, created = self._write_article(record, actor)
            self._bump_generation()
        return self.article_by_id(article_id), created

    def save_articles(self, records: Iterable[dict[str, Any]], *, actor: str = "") -> tuple[int, int]:
        """Insert or update a batch atomically: all of it or none. Returns (created, updated)."""
        created = updated = 0
        with self.transaction():
            for record in records:
                _, was_created = self._write_article(record, actor)
                created += was_created
                updated += not was_created
            self._bump_generation()
        return created, updated

    def _write_article(self, r: dict[str, Any], actor: str) -> tuple[int, bool]:
        author_id = self.ensure_term("author", *r["author"]) if r.get("author") else None
        category_id = self.ensure_term("category", *r["category"]) if r.get("category") else None
        existing = self.conn.execute("SELECT id, slug FROM articles WHERE guid = ?", (r["guid"],)).fetchone()
        slug = self._free_slug(r["slug"], existing[0] if existing else None)
        values = {
            "guid": r["guid"], "slug": slug, "title": r["title"], "summary": r["summary"],
            "body": r["body"], "body_text": r["body_text"], "image_url": r["image_url"],
            "image_caption": r["image_caption"], "image_type": r["image_type"],
            "image_length": r["image_length"], "author_id": author_id, "category_id": category_id,
            "published": to_db(r["published"]), "updated": to_db(r["updated"]),
            "status": r["status"], "updated_by": actor,
        }  # fmt: skip
        if existing:
            article_id, old_slug = existing
            assignments = ", ".join(f"{k} = :{k}" for k in values if k != "guid")
            self.conn.execute(f"UPDATE articles SET {assignments} WHERE id = :id", {**values, "id": article_id})
            if old_slug != slug:
                self.conn.execute(
                    "INSERT INTO slug_redirects (slug, article_id) VALUES (?, ?)"
                    " ON CONFLICT(slug) DO UPDATE SET article_id = excluded.article_id",
                    (old_slug, article_id),
                )
            self.conn.execute("DELETE FROM article_tags WHERE article_id = ?", (article_id,))
            created = False
        else:
            values["created_by"] = actor
            columns = ", ".join(values)
            marks = ", ".join(f":{k}" for k in values)
            article_id = self.conn.execute(f"INSERT INTO articles ({columns}) VALUES ({marks})", values).lastrowid
            created = True
        # A slug now owned by a live article must not redirect elsewhere.
        self.conn.execute("DELETE FROM slug_redirects WHERE slug = ?", (slug,))
        for previous in r.get("previous_slugs") or []:
            if (
                previous != slug
                and not self.conn.execute("SELECT 1 FROM articles WHERE slug = ?", (previous,)).fetchone()
            ):
                self.conn.execute(
                    "INSERT INTO slug_redirects (slug, article_id) VALUES (?, ?)"
                    " ON CONFLICT(slug) DO UPDATE SET article_id = excluded.article_id",
                    (previous, article_id),
                )
        for tag_slug, tag_name in r.get("tags") or []:
            tag_id = self.ensure_term("tag", tag_slug, tag_name)
            self.conn.execute(
                "INSERT OR IGNORE INTO article_tags (article_id, tag_id, published, status) VALUES (?, ?, ?, ?)",
                (article_id, tag_id, values["published"], values["status"]),
            )
        return article_id, created

    def _free_slug(self, slug: str, own_id: int | None) -> str:
        """``slug``, or ``slug-2``, ``slug-3``... when another article already has it."""
        candidate, n = slug, 1
        while True:
            row = self.conn.execute("SELECT id FROM articles WHERE slug = ?", (candidate,)).fetchone()
            if row is None or row[0] == own_id:
                return candidate
            n += 1
            candidate = f"{slug[: 80 - len(str(n)) - 1]}-{n}"

    def delete_article(self, guid: str) -> bool:
        with self.transaction():
            cur = self.conn.execute("DELETE FROM articles WHERE guid = ?", (guid,))
            if cur.rowcount:
                self._bump_generation()
        return bool(cur.rowcount)

    def set_status(self, guid: str, status: str, *, actor: str = "") -> Article | None:
        """Publish or unpublish (back to draft) without touching anything else."""
        if status not in ("draft", "published"):
            raise StoreError(f"unknown status {status!r}")
        with self.transaction():
            row = self.conn.execute("SELECT id FROM articles WHERE guid = ?", (guid,)).fetchone()
            if row is None:
                return None
            self.conn.execute(
                "UPDATE articles SET status = ?, updated = ?, updated_by = ? WHERE id = ?",
                (status, self.now(), actor, row[0]),
            )
            self.conn.execute("UPDATE article_tags SET status = ? WHERE article_id = ?", (status, row[0]))
            self._bump_generation()
        return self.article_by_id(row[0])

    def optimize(self) -> None:
        """After a bulk write: merge the search index's segments (one search word otherwise costs
        thousands of index lookups on a fresh 12k archive) and refresh the planner's statistics."""
        with self.transaction():
            self.conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')")
        self.conn.execute("PRAGMA optimize")

    # ---- export and stats
    def export_rows(self) -> Iterator[Article]:
        """Every article, oldest id first, in chunks (for export)."""
        last = 0
        while True:
            ids = [
                r[0] for r in self.conn.execute("SELECT id FROM articles WHERE id > ? ORDER BY id LIMIT 500", (last,))
            ]
            if not ids:
                return
            yield from self.articles_by_ids(ids)
            last = ids[-1]

    def became_visible(self, since: str, until: str) -> list[int]:
        """Published articles whose time came in (since, until]: scheduled ones falling due."""
        rows = self.conn.execute(
            "SELECT id FROM articles WHERE status = 'published' AND published > ? AND published <= ?"
            " ORDER BY published, id",
            (since, until),
        )
        return [row[0] for row in rows]

    def previous_slugs(self, ids: Sequence[int]) -> dict[int, list[str]]:
        """Old slugs that still redirect to each of ``ids`` (for export)."""
        out: dict[int, list[str]] = {}
        if not ids:
            return out
        marks = ",".join("?" * len(ids))
        for article_id, slug in self.conn.execute(
            f"SELECT article_id, slug FROM slug_redirects WHERE article_id IN ({marks}) ORDER BY slug", list(ids)
        ):
            out.setdefault(article_id, []).append(slug)
        return out

    def stats(self) -> dict[str, Any]:
        now = self.now()
        status = dict(
            self.conn.execute(
                "SELECT CASE WHEN status = 'draft' THEN 'draft' WHEN published > :now THEN 'scheduled'"
                " ELSE 'published' END, count(*) FROM articles GROUP BY 1",
                {"now": now},
            ).fetchall()
        )
        by_category = self.conn.execute(
            "SELECT coalesce(c.name, '(none)'), count(*) FROM articles a"
            " LEFT JOIN categories c ON c.id = a.category_id GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
        by_author = self.conn.execute(
            "SELECT coalesce(au.name, '(none)'), count(*) FROM articles a"
            " LEFT JOIN authors au ON au.id = a.author_id GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
        page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        page_count = self.conn.execute("PRAGMA page_count").fetchone()[0]
        return {
            "articles": sum(status.values()),
            "status": {k: status.get(k, 0) for k in ("published", "scheduled", "draft")},
            "categories": by_category,
            "authors": by_author,
            "tags": self.conn.execute("SELECT count(*) FROM tags").fetchone()[0],
            "database_bytes": page_size * page_count,
            "schema_version": self.schema_version,
        }

    # ---- API tokens (only a hash is stored)
    def create_token(self, name: str, secret: str, scope: str) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO tokens (name, token_hash, scope, created) VALUES (?, ?, ?, ?)",
                (name, token_hash(secret), scope, self.now()),
            )

    def tokens(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT name, scope, created, revoked, last_used FROM tokens ORDER BY name")
        return [dict(zip(("name", "scope", "created", "revoked", "last_used"), r, strict=True)) for r in rows]

    def revoke_token(self, name: str) -> bool:
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE tokens SET revoked = ? WHERE name = ? AND revoked IS NULL", (self.now(), name)
            )
        return bool(cur.rowcount)

    def token_by_hash(self, digest: str) -> dict[str, Any] | None:
        """The live token whose hash is ``digest`` (the lookup is by a hash, never the secret)."""
        row = self.conn.execute(
            "SELECT name, scope, token_hash FROM tokens WHERE token_hash = ? AND revoked IS NULL", (digest,)
        ).fetchone()
        return {"name": row[0], "scope": row[1], "token_hash": row[2]} if row else None

    # ---- site
    def sitemap_chunks(self, size: int) -> list[tuple[int, datetime]]:
        """(number, newest updated) of each sitemap file of ``size`` articles, in the order of
        ``sitemap_entries``: one scan, so the sitemap index never reads every URL."""
        rows = self.conn.execute(
            "SELECT n / :size + 1, max(updated) FROM (SELECT updated, row_number() OVER"
            f" (ORDER BY published, id) - 1 AS n FROM articles WHERE {VISIBLE}) GROUP BY 1 ORDER BY 1",
            {"now": self.now(), "size": size},
        )
        return [(number, from_db(updated)) for number, updated in rows]

    # ---- import
    def import_articles(
        self, records: Sequence[dict[str, Any]], *, actor: str = "", dry_run: bool = False
    ) -> tuple[int, int, int]:
        """Upsert a batch of validated records by guid, atomically: all of it or none.

        A record identical to the stored article is left alone (no write, no generation bump),
        so re-importing the same file changes nothing. With ``dry_run`` every write happens and
        is then rolled back, so the counts are exact. Returns (created, updated, unchanged).
        """
        created = updated = unchanged = 0
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for record in records:
                if self._import_unchanged(record):
                    unchanged += 1
                    continue
                _, was_created = self._write_article(record, actor)
                created += was_created
                updated += not was_created
            if created or updated:
                self._bump_generation()
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("ROLLBACK" if dry_run else "COMMIT")
        if dry_run:
            self._changed = False
        self._announce()
        return created, updated, unchanged

    def _import_unchanged(self, r: dict[str, Any]) -> bool:
        """True when writing ``r`` would leave its stored article exactly as it is. Term names
        are not compared: ``ensure_term`` never renames an existing term either."""
        row = self.conn.execute(
            "SELECT a.id, a.slug, a.title, a.summary, a.body, a.body_text, a.image_url, a.image_caption,"
            " a.image_type, a.image_length, au.slug, c.slug, a.published, a.updated, a.status"
            f" {self._ARTICLE_FROM} WHERE a.guid = ?",
            (r["guid"],),
        ).fetchone()
        if row is None:
            return False
        wanted = (
            r["title"], r["summary"], r["body"], r["body_text"], r["image_url"], r["image_caption"],
            r["image_type"], r["image_length"], r["author"][0] if r.get("author") else None,
            r["category"][0] if r.get("category") else None, to_db(r["published"]), to_db(r["updated"]),
            r["status"],
        )  # fmt: skip
        if tuple(row[2:]) != wanted:
            return False
        tags = sorted(
            slug
            for (slug,) in self.conn.execute(
                "SELECT t.slug FROM article_tags x JOIN tags t ON t.id = x.tag_id WHERE x.article_id = ?", (row[0],)
            )
        )
        if tags != sorted(slug for slug, _ in r.get("tags") or []):
            return False
        return self._free_slug(r["slug"], row[0]) == row[1]

    # ---- cache
    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: changes whenever another connection (in any process)
        commits. A few µs, so the response cache can check it on every request and only re-read
        ``content_version`` when something was written."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def healthcheck(self) -> bool:
        """True when the database answers a trivial query and has the current schema."""
        self.conn.execute("SELECT count(*) FROM meta").fetchone()
        return self.schema_version == SCHEMA_VERSION

    # ---- api
    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """A read transaction: every query inside sees the same committed state, so an article
        and its tags (two queries) can never come from two different writes."""
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("COMMIT")

    def write_article_with(
        self,
        guid: str | None,
        build: Callable[[Article | None], dict[str, Any] | None],
        *,
        actor: str = "",
        create: bool = True,
    ) -> tuple[Article | None, Article | None, bool]:
        """Read-modify-write of one article in ONE write transaction, so concurrent partial
        updates never lose each other's fields.

        ``build(current)`` gets the stored article (None when ``guid`` is unknown or None) and
        returns the validated record to write; it may raise to refuse, which rolls everything
        back. With ``create=False`` an unknown guid writes nothing. Returns (previous, saved,
        created); saved is None when nothing was written.
        """
        with self.transaction():
            current = self.article_by_guid(guid) if guid else None
            if current is None and not create:
                return None, None, False
            record = build(current)
            if record is None:
                return current, None, False
            article_id, created = self._write_article(record, actor)
            self._bump_generation()
            return current, self.article_by_id(article_id), created

    def delete_article_with(self, guid: str, check: Callable[[Article], None]) -> Article | None:
        """Delete after ``check(current)`` (which may raise to refuse), atomically; the deleted
        article, or None when there was none."""
        with self.transaction():
            current = self.article_by_guid(guid)
            if current is None:
                return None
            check(current)
            self.conn.execute("DELETE FROM articles WHERE id = ?", (current.id,))
            self._bump_generation()
            return current

    def idempotent(
        self, token_name: str, key: str, request_hash: str, perform: Callable[[], tuple[int, str]]
    ) -> tuple[int, str, bool]:
        """Run ``perform`` at most once per (token, key): it returns (status, JSON response),
        which is stored with the request's hash in the same transaction as the write it made.

        A repeat with the same hash returns the stored response (replayed=True); a repeat with
        another request raises ``IdempotencyConflict``. A ``perform`` that raises stores nothing.
        """
        with self.transaction():
            row = self.conn.execute(
                "SELECT request_hash, status, response FROM idempotency_keys WHERE token_name = ? AND key = ?",
                (token_name, key),
            ).fetchone()
            if row is not None:
                if row[0] != request_hash:
                    raise IdempotencyConflict(key)
                return row[1], row[2], True
            status, response = perform()
            self.conn.execute(
                "INSERT INTO idempotency_keys (key, token_name, request_hash, status, response, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, token_name, request_hash, status, response, self.now()),
            )
            # Keys are a retry aid, not an archive: a week is far longer than any client retries.
            cutoff = to_db(self.clock() - timedelta(days=7))
            self.conn.execute("DELETE FROM idempotency_keys WHERE created < ?", (cutoff,))
            return status, response, False

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
        ids = [
            row[0]
            for row in self.conn.execute(
                f"SELECT a.id FROM articles a WHERE {' AND '.join(where)}"
                f" ORDER BY a.updated {direction}, a.id {direction} LIMIT :limit",
                params,
            )
        ]
        return self.articles_by_ids(ids)

    def touch_token(self, name: str) -> None:
        """Record that a token was used; at most once a minute, so reads stay (nearly) read-only."""
        now = self.clock()
        stale = to_db(now - timedelta(minutes=1))
        # Read first: an UPDATE would take the write lock even when it changes nothing.
        row = self.conn.execute("SELECT last_used FROM tokens WHERE name = ?", (name,)).fetchone()
        if row is None or (row[0] is not None and row[0] >= stale):
            return
        with self.transaction():
            self.conn.execute(
                "UPDATE tokens SET last_used = ? WHERE name = ? AND (last_used IS NULL OR last_used < ?)",
                (to_db(now), name, stale),
            )

    def token_last_used(self, name: str) -> str | None:
        row = self.conn.execute("SELECT last_used FROM tokens WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def articles_checksum(self) -> str:
        """A digest of every article row and tag link: equal digests mean unchanged content."""
        digest = hashlib.sha256()
        with self.snapshot():
            for row in self.conn.execute("SELECT * FROM articles ORDER BY id"):
                digest.update(repr(row).encode())
            for row in self.conn.execute("SELECT * FROM article_tags ORDER BY 1, 2"):
                digest.update(repr(row).encode())
            for table in ("authors", "categories", "tags", "slug_redirects"):
                digest.update(repr(self.conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()).encode())
        return digest.hexdigest()


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------- helpers


def _article(row: Sequence[Any], tags: list[Term]) -> Article:
    return Article(
        id=row[0], guid=row[1], slug=row[2], title=row[3], summary=row[4], body=row[5],
        image_url=row[6], image_caption=row[7], image_type=row[8], image_length=row[9],
        author=Term("author", row[10], row[11]) if row[10] else None,
        category=Term("category", row[12], row[13]) if row[12] else None,
        tags=tags, published=from_db(row[14]), updated=from_db(row[15]), status=row[16],
        created_by=row[17], updated_by=row[18],
    )  # fmt: skip


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


def fts_query(text: str) -> str:
    """Turn anything a visitor types into a safe FTS5 query: every word quoted (so FTS syntax
    such as NEAR, -, ^, parentheses or stray quotes is just text), all words required, and a
    trailing * kept as a prefix search."""
    import re

    terms = []
    for match in re.finditer(r"(\w+)(\*?)", text or ""):
        word, star = match.groups()
        terms.append(f'"{word}"' + ("*" if star else ""))
        if len(terms) == 12:
            break
    return " ".join(terms)


def _snippet_html(snippet: str) -> str:
    from markupsafe import escape

    return str(escape(snippet or "")).replace("\x01", "<mark>").replace("\x02", "</mark>")
