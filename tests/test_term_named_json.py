"""A tag whose slug is ``json``: its page is HTML for browsers (from the cache too), its RSS and
Atom feeds have a browser view, and its JSON Feed is JSON. The representation comes from the
route, never from "/json/" in the path (issue 10, item 8)."""

from __future__ import annotations

import json

import pytest

from syndicate.db import get_store
from syndicate.validation import article_record
from tests.conftest import make_app

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("cache_type", ["SimpleCache", "NullCache"])
def test_the_json_tag_page_and_feeds(db_copy, cache_type):
    app = make_app(db_copy, CACHE_TYPE=cache_type)
    with app.app_context():
        store = get_store()
        store.save_article(article_record({"title": "Parsing it", "tags": ["json"]}, now=store.clock()))
    client = app.test_client()
    for accept in (BROWSER_ACCEPT, "application/json", "*/*"):
        for _ in range(2):  # the second from the cache (with SimpleCache)
            page = client.get("/tag/json/", headers={"Accept": accept})
            assert page.status_code == 200
            assert page.headers["Content-Type"] == "text/html; charset=utf-8"
            assert b"Parsing it" in page.data and page.data.lstrip().lower().startswith(b"<!doctype html")
    if cache_type == "SimpleCache":
        assert page.headers["X-Cache"] == "hit"
    browser = client.get("/tag/json/feed/", headers={"Accept": BROWSER_ACCEPT})
    assert browser.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert client.get("/tag/json/feed/").headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    for accept in (BROWSER_ACCEPT, "application/feed+json"):
        feed = client.get("/tag/json/feed/json/", headers={"Accept": accept})
        assert feed.headers["Content-Type"] == "application/feed+json; charset=utf-8"
        assert [item["title"] for item in json.loads(feed.data)["items"]] == ["Parsing it"]
