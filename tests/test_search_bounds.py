"""Every search has a bounded cost: capped words and word beginnings, a time limit with a clear
answer (a page and a valid feed saying the search was too broad), a capped count that keeps
pagination right, and a limit on searches running at once (503 with Retry-After)."""

from __future__ import annotations

import feedparser
import pytest

from syndicate.db import get_store
from syndicate.limits import SEARCH_MAX_CONCURRENT, SEARCH_MAX_PAGE
from syndicate.store import search as search_module
from syndicate.store.search import SearchTooBroad, parse_query


def test_short_word_beginnings_are_searched_as_words_and_the_reader_is_told(demo_client):
    parsed = parse_query("a* b* c* d* e* f* g* h* i* j* k* l* m* n*")
    assert "*" not in parsed.match and parsed.dropped == 2
    assert parsed.short_prefixes[:3] == ["a", "b", "c"]
    page = demo_client.get("/search?q=ce*+the").get_data(as_text=True)
    assert "at least 3 letters" in page and "ce searched as whole words" in page


def test_a_search_that_runs_out_of_time_is_stopped_with_a_clear_answer(demo_app, monkeypatch):
    monkeypatch.setattr(search_module, "SEARCH_TIME_LIMIT", 0.0)
    with demo_app.app_context(), pytest.raises(SearchTooBroad):
        get_store().search("the", 1, 10)
    client = demo_app.test_client()
    response = client.get("/search?q=the")
    assert response.status_code == 422
    assert "matches too much to answer in time" in response.get_data(as_text=True)
    for path in ("/search/feed/?q=the", "/search/feed/atom/?q=the"):
        response = client.get(path)
        assert response.status_code == 422
        feed = feedparser.parse(response.data)
        assert not feed.bozo and feed.entries == []
        assert "too much" in feed.feed.subtitle
    response = client.get("/search/feed/json/?q=the")
    assert response.status_code == 422
    assert response.json["items"] == [] and "too much" in response.json["description"]
    # The connection is usable afterwards: the handler is gone.
    monkeypatch.setattr(search_module, "SEARCH_TIME_LIMIT", 5.0)
    assert client.get("/search?q=the").status_code == 200


def test_the_count_stops_at_the_deepest_page_and_pagination_stays_right(demo_app):
    per_page = demo_app.config["PER_PAGE"]
    with demo_app.app_context():
        store = get_store()
        exact = store.search("the", 1, per_page)
        capped = store.search("the", 1, per_page, count_cap=10)
        assert exact.exact and exact.total > 10
        assert not capped.exact and capped.total == 10
        assert [h.article.id for h in capped.hits] == [h.article.id for h in exact.hits]  # same ranking
    client = demo_app.test_client()
    if exact.total > per_page * SEARCH_MAX_PAGE:
        assert "More than" in client.get("/search?q=the").get_data(as_text=True)
    else:
        assert f"{exact.total:,} results" in client.get("/search?q=the").get_data(as_text=True)
    last = -(-min(exact.total, per_page * SEARCH_MAX_PAGE) // per_page)
    assert client.get(f"/search?q=the&page={last}").status_code == 200
    assert client.get(f"/search?q=the&page={last + 1}").status_code == 404


def test_searches_beyond_the_concurrency_limit_get_503_with_retry_after(demo_app):
    client = demo_app.test_client()
    assert client.get("/search?q=geneva").status_code == 200  # creates the slots
    slots = demo_app.extensions["syndicate.search_slots"]
    for _ in range(SEARCH_MAX_CONCURRENT):
        assert slots.acquire(blocking=False)
    try:
        for path in ("/search?q=talks", "/search/feed/?q=talks"):
            response = client.get(path)
            assert response.status_code == 503 and response.headers["Retry-After"] == "2"
        assert client.get("/").status_code == 200  # the rest of the site is not affected
    finally:
        for _ in range(SEARCH_MAX_CONCURRENT):
            slots.release()
    assert client.get("/search?q=talks").status_code == 200
