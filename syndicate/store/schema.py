"""The schema, its forward migrations (numbered by ``PRAGMA user_version``) and upkeep.

Each migration runs in its own write transaction, so two processes starting at once never
apply one twice and a failed migration leaves the previous version intact.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from typing import Any

import sqlite_utils

from .connection import Connection, StoreError, transaction, unavailable

SCHEMA_VERSION = 6


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


def _migration_3(db: sqlite_utils.Database) -> None:
    """Term management: old term slugs that redirect to their term (by id, so a chain of renames
    still lands); feed subscriber counts: per feed path and UTC day, requests and 304s, the
    latest subscriber figure each aggregator announced, and the keyed hashes of direct pollers
    (kept two days, then only their count), with the day's hashing salt (kept for that day)."""
    db.executescript(
        """
        CREATE TABLE term_redirects (
            kind TEXT NOT NULL CHECK (kind IN ('author', 'category', 'tag')),
            slug TEXT NOT NULL, term_id INTEGER NOT NULL, PRIMARY KEY (kind, slug));
        CREATE INDEX term_redirects_target ON term_redirects (kind, term_id);
        CREATE TABLE feed_days (
            day TEXT NOT NULL, path TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,
            not_modified INTEGER NOT NULL DEFAULT 0, pollers INTEGER,
            PRIMARY KEY (day, path)) WITHOUT ROWID;
        CREATE TABLE feed_aggregators (
            day TEXT NOT NULL, path TEXT NOT NULL, aggregator TEXT NOT NULL,
            subscribers INTEGER NOT NULL, seen TEXT NOT NULL,
            PRIMARY KEY (day, path, aggregator)) WITHOUT ROWID;
        CREATE TABLE feed_pollers (
            day TEXT NOT NULL, path TEXT NOT NULL, poller BLOB NOT NULL,
            PRIMARY KEY (day, path, poller)) WITHOUT ROWID;
        CREATE TABLE feed_salts (day TEXT PRIMARY KEY, salt BLOB NOT NULL);
        """
    )


def _migration_4(db: sqlite_utils.Database) -> None:
    """Search in every script, and cheap at any selectivity; each article's own language.

    The full-text index reads its text through ``articles_search``: each column's folded form
    (textnorm.index_text: Persian/Arabic variants met, unspaced scripts cut into bigrams), kept in
    ``fts_*`` columns by the store's writes, NULL when folding changes nothing (ASCII text: no
    copy, and any writer, the sqlite3 shell included, keeps the index right). The tokenizer
    keeps combining marks inside words (Indic vowel signs, Thai marks). ``articles_visible`` lets
    a search check visibility without reading the wide article rows. ``language`` is a BCP 47
    tag, '' meaning the site's language. The index is rebuilt from the articles.
    """
    from .. import textnorm

    db.conn.create_function("syn_fold", 1, textnorm.index_text, deterministic=True)
    columns = {"title": "fts_title", "summary": "fts_summary", "body_text": "fts_body"}
    names = ", ".join(columns)
    new = ", ".join(f"coalesce(new.{f}, new.{c})" for c, f in columns.items())
    old = ", ".join(f"coalesce(old.{f}, old.{c})" for c, f in columns.items())
    delete = f"INSERT INTO articles_fts (articles_fts, rowid, {names}) VALUES ('delete', old.id, {old});"
    insert = f"INSERT INTO articles_fts (rowid, {names}) VALUES (new.id, {new});"
    shadows = ", ".join(f"{f} = nullif(syn_fold({c}), {c})" for c, f in columns.items())
    changed = " OR ".join(f"syn_fold({c}) IS NOT {c}" for c in columns)
    db.executescript(
        f"""
        ALTER TABLE articles ADD COLUMN language TEXT NOT NULL DEFAULT '';
        ALTER TABLE articles ADD COLUMN fts_title TEXT;
        ALTER TABLE articles ADD COLUMN fts_summary TEXT;
        ALTER TABLE articles ADD COLUMN fts_body TEXT;
        DROP TRIGGER IF EXISTS articles_ai;
        DROP TRIGGER IF EXISTS articles_ad;
        DROP TRIGGER IF EXISTS articles_au;
        DROP TABLE IF EXISTS articles_fts;
        UPDATE articles SET {shadows} WHERE {changed};
        CREATE INDEX articles_visible ON articles (id, status, published);
        CREATE VIEW articles_search AS
            SELECT id, {", ".join(f"coalesce({f}, {c}) AS {c}" for c, f in columns.items())} FROM articles;
        CREATE VIRTUAL TABLE articles_fts USING fts5 ({names}, content='articles_search',
            content_rowid='id', tokenize="porter unicode61 remove_diacritics 2 categories 'L* N* Co M*'");
        CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN {insert} END;
        CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN {delete} END;
        CREATE TRIGGER articles_au AFTER UPDATE OF {names}, {", ".join(columns.values())} ON articles
            BEGIN {delete} {insert} END;
        INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');
        INSERT INTO articles_fts (articles_fts) VALUES ('optimize');
        """
    )


def _migration_5(db: sqlite_utils.Database) -> None:
    """Partners: embargoes on articles, partner credentials (hashes only) and daily usage.

    An embargoed article is published at its embargo time (``published >= embargo_until``), so
    every public listing already hides it; the partial index finds the few under embargo.
    """
    db.executescript(
        """
        ALTER TABLE articles ADD COLUMN embargo_until TEXT;
        CREATE INDEX articles_embargo ON articles (embargo_until) WHERE embargo_until IS NOT NULL;
        CREATE TABLE partners (
            id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, token_hash TEXT NOT NULL UNIQUE,
            scopes TEXT NOT NULL DEFAULT '', categories TEXT NOT NULL DEFAULT '',
            rate_per_minute INTEGER, created TEXT NOT NULL, rotated TEXT, revoked TEXT);
        CREATE TABLE partner_usage (
            partner TEXT NOT NULL, day TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,
            documents INTEGER NOT NULL DEFAULT 0, articles INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (partner, day));
        """
    )


def _migration_6(db: sqlite_utils.Database) -> None:
    """What each write changed, for the response cache (``showing.py`` keys).

    ``changes`` holds, per key, the generation of the last write that changed it (a write
    moves ``meta.generation`` and sets its keys to the new value in the same transaction);
    ``due`` holds the times scheduled articles fall due, which change what is visible with no
    write at all. The response cache compares what an entry showed against these.
    """
    db.executescript(
        """
        CREATE TABLE changes (key TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX changes_seq ON changes (seq);
        CREATE TABLE due (article_id INTEGER NOT NULL, due_at TEXT NOT NULL,
            PRIMARY KEY (article_id, due_at)) WITHOUT ROWID;
        CREATE INDEX due_at ON due (due_at);
        INSERT INTO changes (key, seq)
            SELECT 'all', coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'), 0);
        INSERT INTO due (article_id, due_at) SELECT id, published FROM articles
            WHERE status = 'published' AND published > strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now');
        """
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
]
assert len(MIGRATIONS) == SCHEMA_VERSION


def user_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()["user_version"]


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply forward migrations up to ``target``, each in its own transaction."""
    db = sqlite_utils.Database(conn)
    current = user_version(conn)
    if current > SCHEMA_VERSION:
        raise StoreError(f"database schema version {current} is newer than this Syndicate ({SCHEMA_VERSION})")
    for version in range(current + 1, target + 1):
        with transaction(conn):
            if user_version(conn) >= version:
                continue  # another process migrated first
            MIGRATIONS[version - 1](db)
            conn.execute(f"PRAGMA user_version = {version}")
    return user_version(conn)


class Schema(Connection):
    """Schema version, migrations, health and maintenance of the whole database."""

    @property
    def schema_version(self) -> int:
        return user_version(self.conn)

    def migrate(self) -> int:
        return migrate(self.conn)

    def ensure_schema(self) -> None:
        if self.schema_version != SCHEMA_VERSION:
            self.migrate()

    def healthcheck(self) -> bool:
        """True when the database answers a trivial query and has the current schema."""
        self.conn.execute("SELECT count(*) FROM meta").fetchone()
        return self.schema_version == SCHEMA_VERSION

    def write_problem(self, *, min_free_bytes: int = 0, lock_wait: float | None = None) -> str | None:
        """Why a write would fail now ('read-only', 'disk full', 'locked', ...), or None. Writes
        nothing: the file system is asked about the database's files and free space (below
        ``min_free_bytes`` is "disk full"); with ``lock_wait``, the write lock is taken and at
        once given back, waiting at most that many seconds for another writer."""
        if self.path == ":memory:":
            return None
        database = os.path.abspath(self.path)
        folder = os.path.dirname(database)
        # The folder too: SQLite creates the -wal and -shm files beside the database.
        if not (os.access(database, os.W_OK) and os.access(folder, os.W_OK)):
            return "read-only"
        disk = os.statvfs(folder)
        if disk.f_flag & os.ST_RDONLY:
            return "read-only"
        # Root may write into the blocks a file system reserves for it; anyone else may not.
        free = (disk.f_bfree if os.geteuid() == 0 else disk.f_bavail) * disk.f_frsize
        if free < min_free_bytes:
            return "disk full"
        if lock_wait is None or self.conn.in_transaction:
            return None
        try:
            with self.lock_wait(lock_wait):
                self.conn.execute("BEGIN IMMEDIATE")
                self.conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            problem = unavailable(exc)
            if problem is None:
                raise
            return problem.reason
        return None

    def optimize(self) -> None:
        """After a bulk write: merge the search index's segments (one search word otherwise costs
        thousands of index lookups on a fresh 12k archive) and refresh the planner's statistics."""
        with self.transaction():
            self.conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('optimize')")
        self.conn.execute("PRAGMA optimize")

    def stats(self) -> dict[str, Any]:
        """Counts by status, category and author, the number of tags and the file's size."""
        now = self.now()
        status = {
            row["status"]: row["n"]
            for row in self.conn.execute(
                "SELECT CASE WHEN status = 'draft' THEN 'draft' WHEN published > :now THEN 'scheduled'"
                " ELSE 'published' END AS status, count(*) AS n FROM articles GROUP BY 1",
                {"now": now},
            )
        }
        by_category = self.conn.execute(
            "SELECT coalesce(c.name, '(none)') AS name, count(*) AS n FROM articles a"
            " LEFT JOIN categories c ON c.id = a.category_id GROUP BY 1 ORDER BY 2 DESC, 1"
        )
        by_author = self.conn.execute(
            "SELECT coalesce(au.name, '(none)') AS name, count(*) AS n FROM articles a"
            " LEFT JOIN authors au ON au.id = a.author_id GROUP BY 1 ORDER BY 2 DESC, 1"
        )
        page_size = self.conn.execute("PRAGMA page_size").fetchone()["page_size"]
        page_count = self.conn.execute("PRAGMA page_count").fetchone()["page_count"]
        return {
            "articles": sum(status.values()),
            "status": {k: status.get(k, 0) for k in ("published", "scheduled", "draft")},
            "categories": [(row["name"], row["n"]) for row in by_category],
            "authors": [(row["name"], row["n"]) for row in by_author],
            "tags": self.conn.execute("SELECT count(*) AS n FROM tags").fetchone()["n"],
            "database_bytes": page_size * page_count,
            "schema_version": self.schema_version,
        }
