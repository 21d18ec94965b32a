"""Pieces rendered once per article version (syndicate.fragments): feeds assembled from
pre-serialised entries are byte for byte the documents feedgen writes in one go, listing cards
are those of the template macro, and any change to what a piece shows makes a new piece."""

from __future__ import annotations

import re

import pytest

from syndicate import feedwriters
from syndicate.db import get_store
from syndicate.feeds import feed_item
from syndicate.fragments import article_version, fragments
from tests.conftest import make_app
from tests.store_support import record

FORMATS = ("rss", "atom", "json")


@pytest.fixture
def demo_feed_app(demo_db, tmp_path):
    import shutil

    path = tmp_path / "demo.db"
    shutil.copy(demo_db, path)
    return make_app(path)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("url", ["/feed/{f}", "/feed/{f}?content=summary", "/feed/{f}archive/1/", "/feed/{f}?page=4"])
def test_assembled_feed_is_what_feedgen_writes_in_one_go(demo_feed_app, fmt, url):
    suffix = {"rss": "", "atom": "atom/", "json": "json/"}[fmt]
    client = demo_feed_app.test_client()
    served = client.get(url.format(f=suffix))
    assert served.status_code == 200
    with demo_feed_app.test_request_context(url.format(f=suffix)):
        from syndicate import feeds

        # The same document through the whole-document writer: items, not pieces.
        full = "summary" not in url
        store = get_store()
        ids = re.findall(r'"id": "([^"]+)"' if fmt == "json" else r"<(?:guid|id)[^>]*>([^<]+)</", served.text)
        articles = [store.article_by_guid(guid) for guid in ids if guid.startswith("urn:") or "://" in guid]
        articles = [a for a in articles if a is not None]
        assert articles, "the feed shows articles"
        doc = feeds._new_doc(feeds.Scope("site"), fmt, articles, "https://x.example/self")
        pieced = feedwriters.write(doc, fmt)
        whole = feedwriters.write(
            feedwriters.FeedDoc(**{**doc.__dict__, "entries": None, "items": [feed_item(a, full) for a in articles]}),
            fmt,
        )
        assert pieced == whole


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_feed_without_entries_is_the_same_either_way(app, fmt):
    with app.test_request_context("/feed/"):
        from syndicate import feeds

        doc = feeds._new_doc(feeds.Scope("site"), fmt, [], "https://x.example/self")
        assert doc.entries == []
        assert feedwriters.write(doc, fmt) == feedwriters.write(
            feedwriters.FeedDoc(**{**doc.__dict__, "entries": None}), fmt
        )


def test_pieces_are_made_once_per_version_and_again_after_any_change(app, client):
    with app.app_context():
        store = get_store()
        store.save_article(record(title="First headline", category="World"))
        store.save_article(record(title="Second headline", category="Economy", guid="urn:x:2"))
    made = fragments(app)
    client.get("/feed/")
    client.get("/")
    first = made.made
    assert first == 2 + 2  # two feed entries, two cards
    client.get("/feed/")
    client.get("/")
    assert made.made == first  # nothing new to render

    # A term rename changes no article row, but what the pieces show: new pieces.
    with app.app_context():
        get_store().save_term("category", "world", "Planet")
    feed, page = client.get("/feed/").text, client.get("/").text
    assert made.made == first + 2  # the renamed category's article, in the feed and as a card
    assert "Planet" in feed and "Planet" in page
    assert page.count("Planet") >= 2  # the navigation and the card label


def test_version_covers_every_field_a_piece_shows(app):
    with app.app_context():
        store = get_store()
        article, _ = store.save_article(record())
    base = article_version(article)
    import dataclasses

    from syndicate.models import Term

    changes = {
        "title": "Other", "summary": "Other", "body": "<p>Other</p>", "image_url": "/x.jpg",
        "image_caption": "c", "image_type": "image/png", "image_length": 3, "slug": "other",
        "author": Term("author", "x", "X"), "category": None, "tags": [], "status": "draft",
        "published": article.published.replace(year=2001), "updated": article.updated.replace(year=2001),
        "guid": "urn:other",
    }  # fmt: skip
    for name, value in changes.items():
        assert article_version(dataclasses.replace(article, **{name: value})) != base, name
