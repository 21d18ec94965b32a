"""Shared by the API, security and WebSub tests: an app with API tokens and categories."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from typing import Any

from syndicate.db import get_store

from .conftest import make_app

WRITE = "syn_test-write-secret"
READ = "syn_test-read-secret"
TABLES_CHECKED = [
    ("articles", "id"),
    ("article_tags", "1, 2"),
    ("authors", "1"),
    ("categories", "1"),
    ("tags", "1"),
    ("slug_redirects", "1"),
]
CATEGORIES = [("world", "World"), ("economy", "Economy"), ("science", "Science")]


def api_app(db_path, **overrides: Any):
    """An app on a fresh database with a write token 'newsroom', a read token 'partner' and
    three categories."""
    app = make_app(db_path, **overrides)
    with app.app_context():
        store = get_store()
        store.create_token("newsroom", WRITE, "write")
        store.create_token("partner", READ, "read")
        for slug, name in CATEGORIES:
            store.save_term("category", slug, name)
    return app


def auth(secret: str = WRITE, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **extra}


def checksum(app) -> str:
    """A digest of every article row, tag link, term and redirect: equal digests mean unchanged
    content (read straight from the file, so it judges the store from outside)."""
    digest = hashlib.sha256()
    with contextlib.closing(sqlite3.connect(app.config["DATABASE"])) as conn:
        for table, order in TABLES_CHECKED:
            digest.update(repr(conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()).encode())
    return digest.hexdigest()


SITE_URL_CHECK = "https://news.example.com"  # conftest's SITE_URL
