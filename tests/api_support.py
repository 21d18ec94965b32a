"""Shared by the API, security and WebSub tests: an app with API tokens and categories."""

from __future__ import annotations

from typing import Any

from syndicate.db import get_store

from .conftest import make_app

WRITE = "syn_test-write-secret"
READ = "syn_test-read-secret"
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
    with app.app_context():
        return get_store().articles_checksum()


SITE_URL_CHECK = "https://news.example.com"  # conftest's SITE_URL
