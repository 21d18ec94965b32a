"""The schema, its forward migrations (numbered by ``PRAGMA user_version``) and upkeep.

Each migration runs in its own write transaction, so two processes starting at once never
apply one twice and a failed migration leaves the previous version intact.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import sqlite_utils

from .connection import Connection, StoreError, transaction

SCHEMA_VERSION = 3


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


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_migration_1, _migration_2, _migration_3]
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
