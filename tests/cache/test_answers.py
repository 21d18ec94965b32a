"""Headers that cannot change a public page's bytes are answered from the cache, with their own
semantics: Cookie ignored, If-Match / If-Unmodified-Since preconditions (412), byte ranges (206,
416), RFC 3229 deltas kept and rendered one at a time. Over real sockets at the end."""

from __future__ import annotations

import gzip
import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate

from flask import make_response, request

from syndicate.cache import response_cache
from tests.conftest import make_app

from .views import build, publish


def test_a_cookie_is_ignored_on_public_pages(cached_app, client):
    # (Flask's test client sends only the cookies of its jar, never a Cookie header given.)
    first = client.get("/_t/listing/")
    with_cookies = cached_app.test_client()
    for name, value in (("a", "1"), ("session", "abc"), ("big", "x" * 2000)):
        with_cookies.set_cookie(name, value)
        response = with_cookies.get("/_t/listing/")
        assert response.request.headers["Cookie"]
        assert response.status_code == 200 and response.headers["X-Cache"] == "hit"
        assert response.data == first.data and response.headers["ETag"] == first.headers["ETag"]
    assert cached_app.renders["listing"] == 1
    # A first request with a cookie renders without it and stores the page for everybody.
    with_cookies.get("/_t/listing/?page=2")
    assert client.get("/_t/listing/?page=2").headers["X-Cache"] == "hit"
    assert cached_app.renders["listing"] == 2


def test_a_page_that_varies_on_cookies_gets_them(db_copy):
    app = build(db_copy, CACHE_TYPE="SimpleCache")

    @app.get("/_t/greeting/")
    def greeting():
        response = make_response(f"<p>hello {request.cookies.get('name', 'stranger')}</p>")
        response.headers["Vary"] = "Cookie"
        return response

    client = app.test_client()
    assert client.get("/_t/greeting/").data == b"<p>hello stranger</p>"
    assert client.get("/_t/greeting/").headers["X-Cache"] == "hit"
    client.set_cookie("name", "Ada")
    assert client.get("/_t/greeting/").data == b"<p>hello Ada</p>"


def test_the_api_is_never_answered_from_the_cache_cookie_or_not(cached_app, client):
    client.set_cookie("a", "1")
    response = client.get("/api/v1/articles")
    assert response.status_code == 401 and "X-Cache" not in response.headers


def test_if_match_and_if_unmodified_since_preconditions(cached_app, client):
    first = client.get("/_t/listing/")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    long_ago = "Mon, 01 Jan 2001 00:00:00 GMT"
    future = formatdate(time.time() + 86400, usegmt=True)
    for headers in (
        {"If-Match": etag},
        {"If-Match": f'"other", {etag}'},
        {"If-Match": "*"},
        {"If-Unmodified-Since": last_modified},
        {"If-Unmodified-Since": future},
        {"If-Unmodified-Since": "not a date"},  # ignored, as RFC 9110 says
        {"If-Match": etag, "If-Unmodified-Since": long_ago},  # If-Match decides
    ):
        response = client.get("/_t/listing/", headers=headers)
        assert response.status_code == 200 and response.data == first.data, headers
        assert response.headers["X-Cache"] == "hit"
    for headers in (
        {"If-Match": '"other"'},
        {"If-Match": f"W/{etag}"},  # If-Match compares strongly: a weak tag never matches
        {"If-Unmodified-Since": long_ago},
    ):
        response = client.get("/_t/listing/", headers=headers)
        assert response.status_code == 412 and response.headers["X-Cache"] == "hit", headers
        assert client.head("/_t/listing/", headers=headers).status_code == 412
    assert cached_app.renders["listing"] == 1


def test_a_byte_range_of_a_cached_page(cached_app, client):
    whole = client.get("/_t/listing/").data
    size = len(whole)
    etag, last_modified = (
        client.get("/_t/listing/").headers["ETag"],
        client.get("/_t/listing/").headers["Last-Modified"],
    )
    for spec, part, first, last in (
        ("bytes=0-99", whole[:100], 0, 99),
        ("bytes=100-", whole[100:], 100, size - 1),
        ("bytes=-50", whole[-50:], size - 50, size - 1),
        (f"bytes=10-{size * 2}", whole[10:], 10, size - 1),
        (f"bytes=-{size * 2}", whole, 0, size - 1),  # a suffix longer than the body: all of it
    ):
        # A range is of the uncompressed bytes, whatever the client accepts.
        response = client.get("/_t/listing/", headers={"Range": spec, "Accept-Encoding": "gzip, br"})
        assert response.status_code == 206, spec
        assert response.data == part
        assert response.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
        assert response.headers["Content-Length"] == str(len(part))
        assert "Content-Encoding" not in response.headers
        assert response.headers["ETag"] == etag and response.headers["X-Cache"] == "hit"
    beyond = client.get("/_t/listing/", headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
    # Whole body: several ranges, another unit, nonsense, a stale If-Range, or HEAD.
    for headers in (
        {"Range": "bytes=0-1,5-6"},
        {"Range": "items=0-1"},
        {"Range": "bytes=9-2"},
        {"Range": "bytes=0-99", "If-Range": '"old"'},
        {"Range": "bytes=0-99", "If-Range": "Mon, 01 Jan 2001 00:00:00 GMT"},
        {"Range": "bytes=0-99", "If-Range": f"W/{etag}"},
    ):
        response = client.get("/_t/listing/", headers=headers)
        assert response.status_code == 200 and response.data == whole, headers
    for if_range in (etag, last_modified):
        response = client.get("/_t/listing/", headers={"Range": "bytes=0-9", "If-Range": if_range})
        assert response.status_code == 206 and response.data == whole[:10]
    assert client.head("/_t/listing/", headers={"Range": "bytes=0-9"}).status_code == 200
    # A matching If-None-Match wins over Range: nothing to send.
    assert client.get("/_t/listing/", headers={"Range": "bytes=0-9", "If-None-Match": etag}).status_code == 304
    gzipped = client.get("/_t/listing/", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(gzipped.data) == whole  # ranges did not disturb the stored codings
    assert cached_app.renders["listing"] == 1


def test_feed_deltas_are_kept_and_plain_a_im_requests_are_hits(demo_db, tmp_path):
    import shutil

    path = tmp_path / "site.db"
    shutil.copy(demo_db, path)
    app = make_app(path, CACHE_TYPE="SimpleCache")
    client = app.test_client()
    cache = response_cache(app)
    old = client.get("/feed/atom/").headers["ETag"]
    for headers in ({"A-IM": "feed"}, {"A-IM": "vcdiff"}, {"A-IM": "feed", "If-None-Match": old}):
        response = client.get("/feed/atom/", headers=headers)
        assert response.status_code in (200, 304) and response.headers["X-Cache"] == "hit"
    with app.app_context():
        from syndicate.db import get_store

        publish(get_store(), "Breaking: deltas are cached")
    full = client.get("/feed/atom/")
    renders = cache.renders
    first = client.get("/feed/atom/", headers={"A-IM": "feed", "If-None-Match": old})
    assert first.status_code == 226 and first.headers["X-Cache"] == "miss"
    assert b"Breaking: deltas are cached" in first.data and len(first.data) < len(full.data)
    for _ in range(5):
        again = client.get("/feed/atom/", headers={"A-IM": "feed", "If-None-Match": old})
        assert again.status_code == 226 and again.data == first.data and again.headers["X-Cache"] == "hit"
    assert cache.renders == renders + 1
    # Versions the view does not know get the whole feed, each costing one render at most.
    for n in range(20):
        made_up = client.get("/feed/atom/", headers={"A-IM": "feed", "If-None-Match": f'"junk-{n}"'})
        assert made_up.status_code == 200 and made_up.data == full.data
    for n in range(20):
        client.get("/feed/atom/", headers={"A-IM": "feed", "If-None-Match": f'"junk-{n}"'})
    assert cache.renders == renders + 21


def test_deltas_render_one_at_a_time_so_made_up_versions_cannot_flood_the_workers(db_copy, live_server):
    app = build(db_copy, CACHE_TYPE="SimpleCache")
    busy = {"now": 0, "most": 0}
    guard = threading.Lock()

    @app.get("/_t/slow-feed/")
    def slow_feed():
        if "A-IM" not in request.headers:
            return make_response("<p>" + "item " * 200 + "</p>")
        with guard:
            busy["now"] += 1
            busy["most"] = max(busy["most"], busy["now"])
        time.sleep(0.3)
        with guard:
            busy["now"] -= 1
        response = make_response("<p>delta</p>", 226)
        response.headers["IM"] = "feed"
        return response

    server = live_server(app, threads=8)

    def fetch(n: int) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("GET", "/_t/slow-feed/", headers={"A-IM": "feed", "If-None-Match": f'"v{n}"'})
        status = conn.getresponse().status
        conn.close()
        return status

    fetch(-1)  # the plain entry is rendered and stored
    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(fetch, range(12)))
    assert busy["most"] == 1
    assert statuses.count(226) >= 1 and set(statuses) <= {200, 226}


def test_over_real_sockets_cookie_and_range_are_hits(demo_app, live_server):
    app = make_app(demo_app.config["DATABASE"], CACHE_TYPE="SimpleCache")
    server = live_server(app)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/feed/")
    response = conn.getresponse()
    whole = response.read()
    for headers, status, body in (
        ({"Cookie": "a=1"}, 200, whole),
        ({"Cookie": "a=1", "Range": "bytes=0-63"}, 206, whole[:64]),
        ({"Range": f"bytes={len(whole)}-"}, 416, None),
        ({"If-Match": '"nope"'}, 412, None),
    ):
        conn.request("GET", "/feed/", headers=headers)
        response = conn.getresponse()
        data = response.read()
        assert response.status == status and response.getheader("X-Cache") == "hit", headers
        if body is not None:
            assert data == body
    conn.close()
