"""Conditional requests and HEAD answered by the fast path (the rule is werkzeug's)."""

from __future__ import annotations

import time
from email.utils import formatdate

from syndicate.cache import response_cache


def test_if_none_match_answers_304_without_body_or_work(cached_app, client):
    etag = client.get("/_t/listing/").headers["ETag"]
    response = client.get("/_t/listing/", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["Cache-Control"].startswith("public, max-age=60")
    assert "Last-Modified" in response.headers
    for value in (f'"nope", {etag}', f"W/{etag}", "*"):
        assert client.get("/_t/listing/", headers={"If-None-Match": value}).status_code == 304
    assert client.get("/_t/listing/", headers={"If-None-Match": '"other"'}).status_code == 200
    assert cached_app.renders["listing"] == 1


def test_a_revalidation_of_an_evicted_entry_renders_nothing(cached_app, client):
    etag = cached_app.test_client().get("/_t/listing/").headers["ETag"]
    response_cache(cached_app).hot.data.clear()
    cached_app.extensions["syndicate.cache"].cache.clear()
    response = client.get("/_t/listing/", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.headers["X-Cache"] == "revalidated"
    assert response.headers["ETag"] == etag and "Last-Modified" in response.headers
    assert cached_app.renders["listing"] == 1
    # Another validator, or none: the body is needed, so it is rendered.
    assert client.get("/_t/listing/", headers={"If-None-Match": '"other"'}).status_code == 200
    assert cached_app.renders["listing"] == 2


def test_a_cold_conditional_request_renders_once_then_answers_304(cached_app, client):
    etag = cached_app.test_client().get("/_t/listing/").headers["ETag"]
    cache = response_cache(cached_app)
    cache.hot.data.clear()
    cache.heads.data.clear()  # a new process: nothing known about the entry
    cached_app.extensions["syndicate.cache"].cache.clear()
    response = client.get("/_t/listing/", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.headers["X-Cache"] == "miss"


def test_if_none_match_wins_over_if_modified_since(client):
    first = client.get("/_t/listing/")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    long_ago = "Mon, 01 Jan 2001 00:00:00 GMT"
    future = formatdate(time.time() + 86400, usegmt=True)
    # Matching ETag, stale date: 304. Different ETag, date that would say "not modified": 200.
    assert client.get("/_t/listing/", headers={"If-None-Match": etag, "If-Modified-Since": long_ago}).status_code == 304
    changed = client.get("/_t/listing/", headers={"If-None-Match": '"old"', "If-Modified-Since": future})
    assert changed.status_code == 200 and changed.data == first.data
    # If-Modified-Since alone.
    assert client.get("/_t/listing/", headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get("/_t/listing/", headers={"If-Modified-Since": future}).status_code == 304
    assert client.get("/_t/listing/", headers={"If-Modified-Since": long_ago}).status_code == 200
    assert client.get("/_t/listing/", headers={"If-Modified-Since": "yesterday"}).status_code == 200


def test_head_has_the_same_headers_and_no_body(cached_app, client):
    head = client.head("/_t/listing/", headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.data == b"" and head.headers["X-Cache"] == "miss"
    get = client.get("/_t/listing/", headers={"Accept-Encoding": "gzip"})
    assert get.headers["X-Cache"] == "hit"
    for name in ("ETag", "Last-Modified", "Content-Type", "Content-Encoding", "Content-Length", "Cache-Control"):
        assert head.headers[name] == get.headers[name]
    assert client.head("/_t/listing/", headers={"If-None-Match": get.headers["ETag"]}).status_code == 304
    assert cached_app.renders["listing"] == 1


def test_a_im_requests_get_deltas_from_the_view_and_304_from_the_cache(cached_app, client):
    current = client.get("/_t/feed/").headers["ETag"]
    delta = client.get("/_t/feed/", headers={"A-IM": "feed", "If-None-Match": '"feed-1-0"'})
    assert delta.status_code == 226 and delta.headers["IM"] == "feed"
    assert cached_app.renders["feed"] == 2
    same = client.get("/_t/feed/", headers={"A-IM": "feed", "If-None-Match": current})
    assert same.status_code == 304 and same.headers["X-Cache"] == "hit"
    assert cached_app.renders["feed"] == 2
    # The delta was not stored: plain readers still get the full feed from the cache.
    plain = client.get("/_t/feed/")
    assert plain.status_code == 200 and plain.headers["X-Cache"] == "hit"
