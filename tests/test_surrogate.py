"""Surrogate keys (surrogate.py): every page and feed names what it shows, in the configured
header, on the first render and on cache hits alike; and a write maps to exactly the keys whose
responses it changes."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from syndicate import surrogate
from syndicate.db import get_store
from syndicate.models import Scope
from syndicate.surrogate import affected_keys, article_key, term_key

from .conftest import make_app
from .store_support import NOW, record


def keys_of(response, header: str = "xkey") -> set[str]:
    value = response.headers.get(header, "")
    return set(value.replace(",", " ").split())


@pytest.fixture
def saved(store):
    article, _ = store.save_article(record(), actor="test")
    return article


# ------------------------------------------------------------------------ vocabulary


def test_keys_are_short_ascii_and_use_term_ids(saved):
    assert saved.category.id and saved.author.id and all(t.id for t in saved.tags)
    listed = surrogate.listed_in(saved)
    assert listed == {
        "site", "d-2026", "d-2026-11", "d-2026-11-20", f"cat-{saved.category.id}", f"author-{saved.author.id}",
        *(f"tag-{t.id}" for t in saved.tags),
    }  # fmt: skip
    assert all(k.isascii() and " " not in k and len(k) < 20 for k in listed)


def test_a_term_key_survives_a_rename(store, saved):
    store.save_term("category", "world", "The World")
    renamed = store.article_by_id(saved.id)
    assert renamed.category.name == "The World"
    assert surrogate.scope_key(Scope("category", "world", renamed.category)) == f"cat-{saved.category.id}"


# ------------------------------------------------------------------------ what a write changes


def test_publishing_purges_every_listing_it_enters(saved):
    keys = affected_keys(None, saved, now=NOW)
    assert surrogate.listed_in(saved) <= keys
    assert {article_key(saved.id), "search", "lists", "absent"} <= keys
    assert "nav" not in keys  # the navigation does not list articles


def test_a_title_fix_purges_only_what_shows_the_article(saved):
    fixed = dataclasses.replace(saved, title="Talks resume in Geneva (corrected)")
    keys = affected_keys(saved, fixed, now=NOW)
    assert keys == {article_key(saved.id), "search", "lists"}  # no listing reorders


def test_moving_to_another_category_purges_both_and_nothing_else(store, saved):
    other, _ = store.save_article(record(guid="x", category="Economy", tags=[]), actor="test")
    moved = dataclasses.replace(saved, category=other.category)
    keys = affected_keys(saved, moved, now=NOW)
    assert {term_key("category", saved.category.id), term_key("category", other.category.id)} <= keys
    assert "site" not in keys and not any(k.startswith("d-") for k in keys)
    assert not any(k.startswith(("tag-", "author-")) for k in keys)


def test_a_new_publication_time_moves_it_in_every_timeline(saved):
    earlier = dataclasses.replace(saved, published=saved.published - timedelta(days=30))
    keys = affected_keys(saved, earlier, now=NOW)
    assert {"site", "d-2026-11-20", "d-2026-10", "d-2026-10-21", "absent"} <= keys


def test_drafts_and_scheduled_articles_change_nothing_public_until_visible(saved):
    draft = dataclasses.replace(saved, status="draft")
    assert affected_keys(None, draft, now=NOW) == {"lists"}
    scheduled = dataclasses.replace(saved, published=NOW + timedelta(hours=2))
    assert affected_keys(None, scheduled, now=NOW) == {"lists"}
    # Falling due is a publication, as is unpublishing its reverse.
    assert "site" in affected_keys(None, scheduled, now=NOW + timedelta(hours=3))
    assert "site" in affected_keys(saved, draft, now=NOW)
    assert "absent" in affected_keys(saved, None, now=NOW)


def test_neighbours_showing_the_article_are_purged(saved):
    keys = affected_keys(None, saved, now=NOW, shown_by=[7, 9])
    # Their pages (which link to it), not the listings and feeds that show them.
    assert {"p7", "p9"} <= keys and not {"a7", "a9"} & keys


def test_only_a_write_among_older_articles_moves_the_older_archives(saved):
    appended = affected_keys(None, saved, now=NOW, appended=True)
    assert "site" in appended and not any(key.startswith("old-") for key in appended)
    backdated = affected_keys(None, saved, now=NOW, appended=False)
    assert {"site", "old-site"} <= backdated
    assert not any(key.startswith("old-d-") for key in backdated)  # date archives have no RFC 5005 chunks
    assert "old-site" in affected_keys(saved, None, now=NOW, appended=True)  # a deletion is never an append


def test_term_changes_purge_the_term_the_navigation_and_its_articles():
    assert surrogate.term_change_keys("tag", 4, [10, 11]) >= {"tag-4", "nav", "a10", "a11"}


# ------------------------------------------------------------------------ the header


def test_pages_and_feeds_name_what_they_show(demo_client, demo_app):
    with demo_app.app_context():
        store = get_store()
        front = store.page(Scope("site"), 1, demo_app.config["PER_PAGE"]).articles
        economy = store.term("category", "economy")
        article = front[0]
        related = store.related(article)
        older, _newer = store.adjacent(article)
    home = demo_client.get("/")
    assert {"site", "nav", "all", *(article_key(a.id) for a in front)} <= keys_of(home)
    assert not any(k.startswith("cat-") for k in keys_of(home))

    section = keys_of(demo_client.get("/category/economy/"))
    assert {f"cat-{economy.id}", "nav"} <= section and "site" not in section

    feed = keys_of(demo_client.get("/category/economy/feed/"))
    assert f"cat-{economy.id}" in feed and "nav" not in feed and "site" not in feed

    page = keys_of(demo_client.get(article.path))
    shown = [article, *related, *([older] if older else [])]
    assert {article_key(a.id) for a in shown} <= page and "site" not in page

    assert "search" in keys_of(demo_client.get("/search?q=market"))
    assert "lists" in keys_of(demo_client.get("/sitemap.xml"))
    assert "lists" in keys_of(demo_client.get("/feeds.opml"))
    year = article.published.strftime("%Y")
    assert f"d-{year}" in keys_of(demo_client.get(f"/{year}/"))
    missing = demo_client.get("/category/no-such-thing/")
    assert missing.status_code == 404 and {"absent", "nav"} <= keys_of(missing)
    assert "xkey" not in demo_client.get("/api/v1/").headers
    assert "Surrogate-Control" not in home.headers  # no purging configured: no long lifetime


def test_the_keys_are_stored_with_the_cached_entry_and_sent_on_hits(db_copy):
    app = make_app(db_copy, CACHE_TYPE="SimpleCache", PURGE_URLS="http://127.0.0.1:9")
    client = app.test_client()
    first = client.get("/category/economy/feed/")
    again = client.get("/category/economy/feed/")
    assert first.headers["X-Cache"] == "miss" and again.headers["X-Cache"] == "hit"
    assert keys_of(first) == keys_of(again) and len(keys_of(again)) > 3
    # With purging on, the proxy may keep it a day; browsers still get the short max-age.
    assert again.headers["Surrogate-Control"] == "max-age=86400"
    assert "max-age=60" in again.headers["Cache-Control"]


@pytest.mark.parametrize(("header", "separator"), [("Surrogate-Key", " "), ("Cache-Tag", ",")])
def test_the_header_spelling_is_a_setting(db_copy, header, separator):
    client = make_app(db_copy, SURROGATE_KEY_HEADER=header).test_client()
    value = client.get("/").headers[header]
    assert separator in value and "site" in value.split(separator)


def test_no_header_when_turned_off(db_copy):
    client = make_app(db_copy, SURROGATE_KEY_HEADER="").test_client()
    assert "xkey" not in client.get("/").headers


def test_a_miss_that_overlapped_a_write_is_not_kept_by_the_proxy(db_copy):
    """A render that started before a write's commit may reach the proxy after that write's
    purge: the proxy must not keep it (it would show the old page for SURROGATE_MAX_AGE)."""
    app = make_app(db_copy, CACHE_TYPE="SimpleCache", PURGE_URLS="http://127.0.0.1:9", PURGE_WAIT=0)
    write_during_render: list[str] = []

    @app.before_request
    def a_write_lands() -> None:
        if write_during_render:
            get_store().save_term("category", "economy", write_during_render.pop())

    client = app.test_client()
    write_during_render.append("Economy and Markets")
    overlapped = client.get("/category/economy/")
    assert overlapped.status_code == 200 and overlapped.headers["Surrogate-Control"] == "no-store"
    after = client.get("/category/economy/")
    assert after.headers["Surrogate-Control"] == "max-age=86400" and "Economy and Markets" in after.text
    assert client.get("/category/economy/").headers["X-Cache"] == "hit"
