"""Shared by the store and validation tests: a fixed "now" and a valid record to vary."""

from __future__ import annotations

from datetime import UTC, datetime

from syndicate.validation import ArticleRecord, article_record

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def record(**fields) -> ArticleRecord:
    base = {
        "title": "Talks resume in Geneva",
        "body": "<p>Delegations met on <b>Monday</b>.</p>",
        "author": "Amira Haddad",
        "category": "World",
        "tags": ["Diplomacy", "United Nations"],
        "published": "2026-11-20T09:30:00+01:00",
    }
    base.update(fields)
    return article_record(base, now=NOW)
