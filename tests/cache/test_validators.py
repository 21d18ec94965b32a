"""HTTP without the fast path (caching off, or requests the shared cache must not answer):
validators, conditional requests and HEAD still work; static files' Cache-Control."""

from __future__ import annotations

import pytest

from tests.conftest import make_app

from .views import add_routes


@pytest.fixture
def uncached(db_copy):
    app = make_app(db_copy, CACHE_TYPE="NullCache")
    app.renders = add_routes(app)
    return app


def test_uncached_pages_still_carry_validators_and_answer_304(uncached):
    client = uncached.test_client()
    first = client.get("/_t/listing/")
    assert first.status_code == 200 and first.headers["X-Cache"] == "bypass"
    etag = first.headers["ETag"]
    assert etag.startswith('"') and len(etag) > 10
    assert first.headers["Cache-Control"] == "public, max-age=60, stale-while-revalidate=300"
    assert "Accept-Encoding" in first.headers["Vary"]
    assert "Last-Modified" in first.headers
    not_modified = client.get("/_t/listing/", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    # If-None-Match wins over If-Modified-Since.
    stale_date = {"If-None-Match": etag, "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    assert client.get("/_t/listing/", headers=stale_date).status_code == 304
    other = {"If-None-Match": '"other"', "If-Modified-Since": first.headers["Last-Modified"]}
    assert client.get("/_t/listing/", headers=other).status_code == 200
    assert client.get("/_t/listing/", headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304


def test_uncached_head_and_view_etags(uncached):
    client = uncached.test_client()
    head = client.head("/_t/listing/")
    get = client.get("/_t/listing/")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == get.headers["ETag"]
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    feed = client.get("/_t/feed/")
    assert feed.headers["ETag"].startswith('"feed-')  # a view's own ETag is kept
    assert client.get("/_t/feed/", headers={"If-None-Match": feed.headers["ETag"]}).status_code == 304


def test_not_found_gets_a_short_max_age(uncached):
    response = uncached.test_client().get("/_t/no-such-page/")
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_api_paths_get_no_shared_caching_headers(uncached):
    @uncached.route("/api/v1/_t")
    def api_probe():
        return {"ok": True}

    response = uncached.test_client().get("/api/v1/_t")
    assert "X-Cache" not in response.headers
    assert "public" not in response.headers.get("Cache-Control", "")


def test_static_files_are_long_lived_and_conditional(uncached):
    client = uncached.test_client()
    plain = client.get("/static/demo/lead-0.svg")
    assert plain.status_code == 200
    assert plain.headers["Cache-Control"] == "public, max-age=86400, stale-while-revalidate=3600"
    versioned = client.get("/static/demo/lead-0.svg?v=abc123")
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = client.get("/static/demo/lead-0.svg", headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304
    plain.close(), versioned.close(), again.close()


def test_a_304_without_the_cache_still_carries_caching_headers(db_copy):
    client = make_app(db_copy, CACHE_TYPE="NullCache").test_client()
    for path in ("/feed/", "/feed/atom/", "/"):
        full = client.get(path)
        again = client.get(path, headers={"If-None-Match": full.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == full.headers["ETag"]
        assert again.headers["Cache-Control"] == full.headers["Cache-Control"]
        assert set(again.headers["Vary"].replace(" ", "").split(",")) == set(
            full.headers["Vary"].replace(" ", "").split(",")
        )
