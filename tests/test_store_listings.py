"""Listings: every page is an index range scan, and paging visits every article once."""

from __future__ import annotations

from syndicate.db import get_store
from syndicate.models import Scope


def test_every_listing_is_an_index_range_scan(demo_app):
    """Page 1107 costs the same as page 1: SQLite seeks into an index, never scans or OFFSETs."""

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


def test_a_write_recomputes_the_page_keys_of_the_scopes_it_moved_only(demo_app):
    from datetime import UTC, datetime

    from syndicate.validation import article_record

    with demo_app.app_context():
        store = get_store()
        economy, world = Scope("category", "economy"), Scope("category", "world")
        before = store.page(economy, 2, 7)
        store.page(world, 1, 7)
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        data = {"title": "Port strike ends", "body": "<p>Ended.</p>", "category": "World"}
        store.save_article(article_record({**data, "published": datetime.now(UTC).isoformat()}, now=datetime.now(UTC)))
        statements.clear()
        again = store.page(economy, 2, 7)  # another section: its page keys are still good
        assert not any("row_number()" in s for s in statements)
        assert [a.id for a in again.articles] == [a.id for a in before.articles]
        world_page = store.page(world, 1, 7)  # the section written to: computed again, and current
        assert any("row_number()" in s for s in statements)
        assert world_page.articles[0].title == "Port strike ends"
        store.conn.set_trace_callback(None)
