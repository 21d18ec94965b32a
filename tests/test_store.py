"""The article store: round-trips, permanent guids, scheduling, paging by index, search,
transactions and migrations."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from syndicate import store as store_module
from syndicate.models import Scope
from syndicate.store import SCHEMA_VERSION, Store
from syndicate.validation import Invalid, article_record

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def record(**fields):
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


def test_round_trip_keeps_every_field(store):
    article, created = store.save_article(
        record(image_url="https://cdn.example.com/a.jpg", image_caption="Delegates arrive.", image_length=1234,
               image_type="image/jpeg", summary="Short."),
        actor="tester",
    )  # fmt: skip
    assert created
    again = store.article(article.slug)
    assert again.title == "Talks resume in Geneva"
    assert again.author.name == "Amira Haddad" and again.author.slug == "amira-haddad"
    assert again.category.slug == "world"
    assert [t.slug for t in again.tags] == ["diplomacy", "united-nations"]
    assert again.published == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)  # stored as UTC
    assert again.published.tzinfo is not None
    assert again.image_length == 1234 and again.image_caption == "Delegates arrive."
    assert again.summary == "Short."
    assert again.created_by == "tester"
    assert again.path == "/2026/11/20/talks-resume-in-geneva/"
    assert again.guid.startswith("urn:uuid:")


def test_guid_never_changes_when_slug_or_title_change(store):
    article, _ = store.save_article(record())
    updated, created = store.save_article(record(guid=article.guid, title="Talks collapse in Geneva"))
    assert not created
    assert updated.guid == article.guid
    assert updated.slug == "talks-collapse-in-geneva"
    # the old slug still leads to the article (for a 301)
    assert store.redirected_slug("talks-resume-in-geneva").id == article.id
    assert store.article("talks-resume-in-geneva") is None


def test_slug_collisions_get_a_suffix(store):
    a, _ = store.save_article(record())
    b, _ = store.save_article(record())
    assert a.slug == "talks-resume-in-geneva" and b.slug == "talks-resume-in-geneva-2"
    assert a.guid != b.guid


def test_naive_times_are_rejected_unless_configured():
    with pytest.raises(Invalid) as excinfo:
        record(published="2026-11-20T09:30:00")
    assert "published" in excinfo.value.errors and "time zone" in excinfo.value.errors["published"]
    from zoneinfo import ZoneInfo

    ok = article_record({"title": "x", "published": "2026-11-20T09:30:00"}, now=NOW, naive_tz=ZoneInfo("Europe/Paris"))
    assert ok["published"].utcoffset() == timedelta(hours=1)


def test_validation_names_every_bad_field():
    with pytest.raises(Invalid) as excinfo:
        article_record(
            {"title": "", "image_url": "javascript:alert(1)", "status": "gone", "tags": 5, "bogus": 1},
            now=NOW,
        )
    assert set(excinfo.value.errors) == {"title", "image_url", "status", "tags", "bogus"}


def test_drafts_and_scheduled_articles_stay_hidden_until_due(tmp_path):
    clock = {"now": NOW}
    store = Store(str(tmp_path / "s.db"), clock=lambda: clock["now"])
    store.migrate()
    store.save_article(record(title="Visible"))
    store.save_article(record(title="Draft", status="draft"))
    store.save_article(record(title="Scheduled", published=(NOW + timedelta(hours=2)).isoformat()))
    titles = [a.title for a in store.page(Scope("site"), 1, 10).articles]
    assert titles == ["Visible"]
    assert store.article("scheduled") is None and store.article("draft") is None
    version = store.content_version()
    clock["now"] = NOW + timedelta(hours=3)
    assert [a.title for a in store.page(Scope("site"), 1, 10).articles] == ["Scheduled", "Visible"]
    assert store.content_version() != version  # caches keyed on it go stale on time


def test_xml_forbidden_characters_and_scripts_never_reach_the_store(store):
    article, _ = store.save_article(
        record(title="Bad\x00 title\x0b here\ufffe", body='<p onclick="x()">Hi<script>alert(1)</script></p>')
    )
    assert article.title == "Bad title here"
    assert "script" not in article.body and "onclick" not in article.body
    assert article.body == "<p>Hi</p>"


def test_every_listing_is_an_index_range_scan(demo_app):
    """Page 1107 costs the same as page 1: SQLite seeks into an index, never scans or OFFSETs."""
    from syndicate.db import get_store

    with demo_app.app_context():
        store = get_store()
        for scope in (Scope("site"), Scope("category", "economy"), Scope("tag", "diplomacy"),
                      Scope("author", "amira-haddad"), Scope("month", "2026-10"), Scope("year", "2026")):  # fmt: skip
            for oldest_first in (False, True):
                sql, params = store.listing_sql(scope, oldest_first=oldest_first)
                assert "OFFSET" not in sql.upper()
                plan = store.conn.execute(
                    "EXPLAIN QUERY PLAN " + sql, {**params, "key_published": "x", "key_id": 1, "limit": 10}
                ).fetchall()
                details = " ".join(row[3] for row in plan)
                assert "SEARCH" in details and "USING COVERING INDEX" in details, (scope, details)
                assert "published<?" in details or "published>?" in details, details
                assert "TEMP B-TREE" not in details, details


def test_paging_visits_every_article_exactly_once(demo_app):
    from syndicate.db import get_store

    with demo_app.app_context():
        store = get_store()
        for scope in (Scope("site"), Scope("tag", "diplomacy")):
            first = store.page(scope, 1, 7)
            seen = []
            for n in range(1, first.last + 1):
                page = store.page(scope, n, 7)
                seen += [(a.published, a.id) for a in page.articles]
            assert len(seen) == len(set(seen)) == first.total == store.count(scope)
            assert seen == sorted(seen, reverse=True)
            assert store.page(scope, first.last + 1, 7) is None
            assert store.page(scope, 0, 7) is None


def test_search_handles_any_input(demo_app):
    from syndicate.db import get_store

    with demo_app.app_context():
        store = get_store()
        hits, total = store.search("ceasefire", 1, 10)
        assert total > 0 and "<mark>" in hits[0].snippet.lower()
        for nasty in ['"', "NEAR(", "a OR", "-", "((", "*", "title:x", "'; DROP TABLE articles; --", "\x00", ""]:
            store.search(nasty, 1, 10)  # must not raise
        assert store.search("", 1, 10) == ([], 0)


def test_search_stays_in_sync_with_writes(store):
    article, _ = store.save_article(record(body="<p>A unique zebracorn sighting.</p>"))
    assert store.search("zebracorn", 1, 10)[1] == 1
    store.save_article(record(guid=article.guid, body="<p>Nothing to see.</p>"))
    assert store.search("zebracorn", 1, 10)[1] == 0
    store.delete_article_with(article.guid, lambda current: None)
    assert store.search("nothing", 1, 10)[1] == 0


def test_a_failing_batch_leaves_the_database_as_it_was(store):
    store.save_article(record(title="Before"))
    good = record(title="Good one")
    bad = dataclasses.replace(record(title="Bad one"), status="bogus")  # fails a CHECK half-way through
    with pytest.raises(sqlite3.IntegrityError):
        store.save_articles([good, bad])
    assert [a.title for a in store.page(Scope("site"), 1, 10).articles] == ["Before"]
    assert store.term("tag", "diplomacy") is not None  # from "Before", not rolled back


def test_generation_moves_on_every_write(store):
    v0 = store.content_version()
    article, _ = store.save_article(record())
    v1 = store.content_version()
    store.save_article(record(guid=article.guid, status="draft"))
    v2 = store.content_version()
    assert len({v0, v1, v2}) == 3


def test_migrates_an_old_database_in_place(tmp_path):
    path = str(tmp_path / "old.db")
    conn = store_module.connect(path)
    store_module.migrate(conn, target=1)
    conn.execute(
        "INSERT INTO articles (guid, slug, title, published, updated, status)"
        " VALUES ('urn:uuid:1', 'old-story', 'Old story', '2020-01-01T00:00:00+00:00',"
        " '2020-01-01T00:00:00+00:00', 'published')"
    )
    conn.close()
    store = Store(path)
    assert store.schema_version == 1
    store.ensure_schema()
    assert store.schema_version == SCHEMA_VERSION
    old = store.article("old-story")
    assert old.title == "Old story" and old.guid == "urn:uuid:1" and old.created_by == ""
    assert store.search("story", 1, 10)[1] == 1


def test_refuses_a_database_from_the_future(tmp_path):
    path = str(tmp_path / "future.db")
    conn = store_module.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(store_module.StoreError, match="newer"):
        Store(path).ensure_schema()


def test_connection_settings(store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
