"""The response cache: hits without work, keys that ignore junk, invalidation on every write and
on schedule, stampede protection, compression, conditional requests, and the three backends.

The real site and feeds live in other modules; these tests register small views on the real
app (built by ``create_app`` on the demo archive) that read the store like the real ones do.
"""

from __future__ import annotations

import gzip
import http.client
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import brotli
import pytest
from flask import abort, make_response, request
from markupsafe import escape

from syndicate.cache import ResponseCache, canonical_query, response_cache
from syndicate.db import get_store
from syndicate.models import Scope
from syndicate.negotiation import coding_preference
from syndicate.store import Store
from syndicate.validation import article_record
from tests.conftest import make_app

# ----------------------------------------------------------------------- test-only views


def add_routes(app, renders: Counter | None = None, *, slow: float = 0.0) -> Counter:
    """Views shaped like the real ones (they read the store, set Last-Modified); each counts its
    renders in the returned Counter so tests can prove that hits do no work."""
    renders = Counter() if renders is None else renders

    def listing():
        renders["listing"] += 1
        number = request.args.get("page", "1")
        if not number.isdigit():
            abort(404)
        page = get_store().page(Scope("site"), int(number), 10)
        if page is None:
            abort(404)
        parts = [
            "<!doctype html><html lang=en><head><title>Listing</title></head><body>",
            f"<p id=q>{escape(request.args.get('q', ''))}</p>",
            f"<p id=content>{escape(request.args.get('content', ''))}</p>",
            f"<p id=page>{page.number}</p>",
            f"<p id=args>{escape(sorted(request.args))}</p>",
        ]
        for article in page.articles:
            parts.append(f"<article><h2>{escape(article.title)}</h2><p>{escape(article.summary)}</p></article>")
        response = make_response("".join(parts) + "</body></html>")
        if page.articles:
            response.last_modified = max(a.updated for a in page.articles)
        return response

    def feed():
        """RSS with its own ETag, answering RFC 3229 deltas itself (like the feeds view)."""
        renders["feed"] += 1
        articles = get_store().newest(Scope("site"), 20)
        etag = f'"feed-{articles[0].id}-{int(articles[0].updated.timestamp())}"'
        items = "".join(f"<item><title>{escape(a.title)}</title><guid>{a.guid}</guid></item>" for a in articles)
        response = make_response(f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>')
        response.mimetype = "application/rss+xml"
        response.headers["ETag"] = etag
        if "feed" in request.headers.get("A-IM", "") and request.headers.get("If-None-Match") not in (None, etag):
            response.status_code = 226
            response.headers["IM"] = "feed"
        return response

    def counted():
        renders["counted"] += 1
        time.sleep(slow)
        return "<p>counted</p>" * 50

    def cookie():
        renders["cookie"] += 1
        response = make_response("<p>with a cookie</p>")
        response.set_cookie("seen", "1")
        return response

    def stylesheet():
        renders["css"] += 1
        response = make_response("body { color: black }")
        response.mimetype = "text/css"
        return response

    def private():
        renders["private"] += 1
        response = make_response("<p>mine</p>")
        response.headers["Cache-Control"] = "private, max-age=0"
        return response

    def archive():
        renders["archive"] += 1
        response = make_response('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>')
        response.mimetype = "application/atom+xml"
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response

    for rule, view in (
        ("/_t/listing/", listing),
        ("/_t/feed/", feed),
        ("/_t/counted/", counted),
        ("/_t/cookie/", cookie),
        ("/_t/style.css", stylesheet),
        ("/_t/private/", private),
        ("/_t/archive/1/", archive),
    ):
        app.add_url_rule(rule, f"t_{view.__name__}", view)

    # Headers other modules add (security headers...) must be stored and replayed with every hit.
    def security(response):
        response.headers["X-Test-Added-By-Another-Module"] = "kept"
        return response

    app.after_request(security)
    return renders


def build(db_path, *, slow: float = 0.0, **config):
    app = make_app(db_path, **config)
    app.renders = add_routes(app, slow=slow)
    return app


@pytest.fixture
def cached_app(db_copy):
    return build(db_copy, CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=10)


@pytest.fixture
def client(cached_app):
    return cached_app.test_client()


@pytest.fixture
def writer(db_copy):
    """Another connection to the same database file, as the API or an import would write."""
    store = Store(str(db_copy))
    yield store
    store.close()


def publish(store: Store, title: str, *, published: datetime | None = None, **fields):
    data = {"title": title, "body": "<p>News.</p>", "category": "World", **fields}
    data["published"] = (published or datetime.now(UTC)).isoformat()
    article, _ = store.save_article(article_record(data, now=datetime.now(UTC)))
    return article


# ------------------------------------------------------------------------ hits and misses


def test_a_hit_is_answered_from_memory_without_rendering(cached_app, client):
    assert isinstance(cached_app.wsgi_app.wsgi_app, ResponseCache)  # just inside the Host check
    first = client.get("/_t/listing/")
    assert first.status_code == 200 and first.headers["X-Cache"] == "miss"
    for _ in range(5):
        again = client.get("/_t/listing/")
        assert again.headers["X-Cache"] == "hit"
        assert again.data == first.data
        assert again.headers["ETag"] == first.headers["ETag"]
    assert cached_app.renders["listing"] == 1


def test_hits_keep_headers_other_modules_add_and_the_views_own_validators(client):
    miss = client.get("/_t/feed/")
    hit = client.get("/_t/feed/")
    for response in (miss, hit):
        assert response.headers["X-Test-Added-By-Another-Module"] == "kept"
        assert response.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
        assert response.headers["ETag"].startswith('"feed-')  # the view's own ETag is kept
    archive = client.get("/_t/archive/1/")
    assert client.get("/_t/archive/1/").headers["X-Cache"] == "hit"
    assert archive.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_every_cached_response_carries_validators_and_caching_headers(cached_app, client):
    response = client.get("/_t/listing/")
    assert response.headers["ETag"].startswith('"') and not response.headers["ETag"].startswith("W/")
    newest = max(a.updated for a in Store(cached_app.config["DATABASE"]).page(Scope("site"), 1, 10).articles)
    assert response.headers["Last-Modified"] == formatdate(newest.timestamp(), usegmt=True)
    assert response.headers["Cache-Control"] == "public, max-age=60, stale-while-revalidate=300"
    assert response.headers["Vary"] == "Accept-Encoding"


def test_junk_query_parameters_share_one_entry(cached_app, client):
    baseline = client.get("/_t/listing/?page=2").data
    for n in range(40):
        response = client.get(f"/_t/listing/?page=2&utm_source=x{n}&fbclid={n}&_={time.time()}")
        assert response.headers["X-Cache"] == "hit"
        assert response.data == baseline
    assert cached_app.renders["listing"] == 1
    # The view never saw the junk: what is stored is the render of the canonical request.
    assert b"<p id=args>[&#39;page&#39;]</p>" in baseline


def test_a_cache_busting_flood_cannot_grow_the_cache_or_evict_the_front_page(cached_app, client):
    client.get("/_t/listing/")
    for n in range(200):
        client.get(f"/_t/counted/?nocache={n}")
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"
    for n in range(1, 31):  # distinct pages are distinct entries; the cache stays bounded
        assert client.get(f"/_t/listing/?page={n}").status_code == 200
    backend = cached_app.extensions["syndicate.cache"].cache
    assert len(backend._cache) <= 11  # cachelib prunes to the threshold before it inserts
    assert response_cache(cached_app).entries() <= 10


def test_a_flood_of_distinct_searches_cannot_evict_pages(cached_app, client):
    client.get("/_t/listing/")
    client.get("/_t/listing/?page=2")
    for n in range(50):
        assert client.get(f"/_t/listing/?q=word{n}").headers["X-Cache"] == "miss"
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"
    assert client.get("/_t/listing/?page=2").headers["X-Cache"] == "hit"
    assert client.get("/_t/listing/?q=word49").headers["X-Cache"] == "hit"
    assert response_cache(cached_app).entries() <= 10


def test_key_parameters_make_separate_entries_whatever_their_order(cached_app, client):
    a = client.get("/_t/listing/?page=2&q=rates&content=summary")
    b = client.get("/_t/listing/?content=summary&q=rates&page=2")
    assert (a.headers["X-Cache"], b.headers["X-Cache"]) == ("miss", "hit")
    assert b"<p id=q>rates</p>" in a.data and b"<p id=content>summary</p>" in a.data
    page3 = client.get("/_t/listing/?page=3&q=rates&content=summary")
    full = client.get("/_t/listing/?page=2&q=rates&content=full")
    other_q = client.get("/_t/listing/?page=2&q=prices&content=summary")
    for response in (page3, full, other_q):
        assert response.headers["X-Cache"] == "miss"
        assert response.data != a.data
    # Blank values are dropped, leading zeros and extra spaces normalised: same entries.
    assert client.get("/_t/listing/?page=02&q=+rates+&content=summary&junk=1").headers["X-Cache"] == "hit"
    assert client.get("/_t/listing/?q=&page=3&content=summary&q=rates").headers["X-Cache"] == "hit"
    assert cached_app.renders["listing"] == 4


def test_canonical_query_and_accept_encoding_parsing():
    assert canonical_query("utm=1&q=a++b&page=007&page=9&content=") == "page=7&q=a+b"
    assert canonical_query("fbclid=x") == ""
    assert coding_preference("gzip, deflate, br") == ("br", "gzip", "identity")
    assert coding_preference("br;q=0, gzip") == ("gzip", "identity")
    assert coding_preference("gzip;q=0.5, identity;q=0.9") == ("identity", "gzip")
    assert coding_preference("*;q=0") == ()
    assert coding_preference("identity;q=0, *") == ("br", "gzip")
    assert coding_preference("x-gzip") == ("gzip", "identity")


def test_non_200_and_uncacheable_responses_pass_through_uncached(cached_app, client):
    for n in range(20):
        response = client.get(f"/_t/nothing-here-{n}/")
        assert response.status_code == 404
        assert response.headers["Cache-Control"] == "public, max-age=60"
        assert response.headers["X-Cache"] == "bypass"
    assert client.get("/_t/listing/?page=999").status_code == 404
    assert client.get("/_t/listing/?page=999").status_code == 404
    assert cached_app.renders["listing"] == 2
    for path, name in (("/_t/cookie/", "cookie"), ("/_t/style.css", "css"), ("/_t/private/", "private")):
        fresh = cached_app.test_client(use_cookies=False)  # no Cookie header: the fast path decides
        first, second = fresh.get(path), fresh.get(path)
        assert second.status_code == 200 and second.data == first.data
        assert second.headers["X-Cache"] == "bypass"
        assert cached_app.renders[name] == 2
        etag = second.headers["ETag"]  # still conditional, and HEAD still has no body
        assert fresh.get(path, headers={"If-None-Match": etag}).status_code == 304
        assert fresh.head(path).data == b""
    assert client.get("/_t/cookie/").headers["Cache-Control"] == "private, no-cache"
    assert response_cache(cached_app).entries() == 0


def test_credentials_and_cookies_bypass_the_shared_cache(cached_app, client):
    client.get("/_t/listing/")
    with_auth = client.get("/_t/listing/", headers={"Authorization": "Bearer secret"})
    client.set_cookie("session", "abc")
    with_cookie = client.get("/_t/listing/")
    for response in (with_auth, with_cookie):
        assert response.status_code == 200
        assert response.headers["X-Cache"] == "bypass"
        assert "ETag" in response.headers
    assert cached_app.renders["listing"] == 3


# ------------------------------------------------------------------- conditional requests


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


def test_a_cold_conditional_request_renders_once_then_answers_304(cached_app, client):
    etag = cached_app.test_client().get("/_t/listing/").headers["ETag"]
    response_cache(cached_app).hot.data.clear()
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


# --------------------------------------------------------------------------- compression


def test_compressed_once_and_negotiated_by_accept_encoding(client):
    identity = client.get("/_t/listing/")
    assert "Content-Encoding" not in identity.headers
    assert int(identity.headers["Content-Length"]) == len(identity.data)

    def fetch(accept):
        response = client.get("/_t/listing/", headers={"Accept-Encoding": accept})
        assert int(response.headers["Content-Length"]) == len(response.data)
        assert response.headers["Vary"] == "Accept-Encoding"
        assert response.headers["ETag"] == identity.headers["ETag"]
        return response.headers.get("Content-Encoding", "identity"), response.data

    coding, data = fetch("gzip, deflate, br")
    assert coding == "br" and brotli.decompress(data) == identity.data
    assert len(data) < len(identity.data) / 2
    coding, data = fetch("gzip, deflate")
    assert coding == "gzip" and gzip.decompress(data) == identity.data
    coding, data = fetch("br;q=0, gzip;q=0.8")
    assert coding == "gzip"
    coding, data = fetch("gzip;q=0, br;q=0")
    assert coding == "identity" and data == identity.data
    coding, data = fetch("br;q=0.1, gzip;q=0.9")
    assert coding == "gzip"
    coding, data = fetch("identity")
    assert coding == "identity"


def test_small_bodies_are_not_compressed(client):
    response = client.get("/_t/archive/1/", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in response.headers


# -------------------------------------------------------------------------- invalidation


def test_a_write_makes_the_next_request_fresh(cached_app, client, writer):
    before = client.get("/_t/listing/")
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"
    article = publish(writer, "Breaking: the cache saw this at once")
    after = client.get("/_t/listing/")
    assert after.headers["X-Cache"] == "miss"
    assert b"Breaking: the cache saw this at once" in after.data
    assert after.headers["ETag"] != before.headers["ETag"]
    assert client.get("/_t/listing/", headers={"If-None-Match": before.headers["ETag"]}).status_code == 200
    # Unpublishing is a write too.
    writer.set_status(article.guid, "draft")
    gone = client.get("/_t/listing/")
    assert gone.headers["X-Cache"] == "miss" and b"Breaking" not in gone.data
    assert gone.data == before.data


def test_last_modified_never_goes_back_when_content_changes(cached_app, client, writer):
    article = publish(writer, "Soon deleted")
    shown = client.get("/_t/listing/")
    assert b"Soon deleted" in shown.data
    time.sleep(1.1)  # HTTP dates have one-second resolution
    writer.delete_article(article.guid)
    # The newest update shown is now older than what the client holds; it must still get 200.
    after = client.get("/_t/listing/", headers={"If-Modified-Since": shown.headers["Last-Modified"]})
    assert after.status_code == 200 and b"Soon deleted" not in after.data


def test_a_scheduled_article_appears_on_time_without_any_write(cached_app, client, writer):
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)  # 2 to 3 s ahead
    publish(writer, "Embargoed until a few seconds from now", published=due)
    early = client.get("/_t/listing/")
    assert b"Embargoed" not in early.data
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"
    time.sleep(max(0.0, due.timestamp() - time.time()) + 0.05)
    on_time = client.get("/_t/listing/")
    assert on_time.headers["X-Cache"] == "miss"
    assert b"Embargoed until a few seconds from now" in on_time.data


def test_a_new_day_makes_entries_fresh(cached_app, client):
    client.get("/_t/listing/")
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"
    cache = response_cache(cached_app)
    cache.content.clock = lambda: time.time() + 86400  # pages print today's date
    assert client.get("/_t/listing/").headers["X-Cache"] == "miss"
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"


# -------------------------------------------------------------------------------- RFC 3229


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


# ---------------------------------------------------------------------------- stampedes


@pytest.mark.slow
def test_a_burst_on_a_cold_key_renders_it_once(db_copy, live_server):
    app = build(db_copy, CACHE_TYPE="SimpleCache", slow=0.4)
    server = live_server(app, threads=8)
    barrier = threading.Barrier(20)

    def fetch(_):
        barrier.wait()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("GET", "/_t/counted/")
        response = conn.getresponse()
        result = (response.status, response.getheader("X-Cache"), response.read())
        conn.close()
        return result

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(fetch, range(20)))
    assert app.renders["counted"] == 1
    assert {status for status, _, _ in results} == {200}
    assert len({body for _, _, body in results}) == 1
    assert sorted(x for _, x, _ in results).count("miss") == 1


# ------------------------------------------------------------------------------ backends


def test_entries_evicted_from_memory_are_still_served_from_the_backend(cached_app, client):
    pages = [client.get(f"/_t/listing/?page={n}").data for n in range(1, 10)]
    assert response_cache(cached_app).entries() <= 8  # the in-process layer dropped page 1
    again = client.get("/_t/listing/?page=1")
    assert again.headers["X-Cache"] == "hit" and again.data == pages[0]
    assert cached_app.renders["listing"] == 9


def test_filesystem_cache_is_shared_by_app_instances(db_copy, tmp_path):
    config = {"CACHE_TYPE": "FileSystemCache", "CACHE_DIR": str(tmp_path / "cache"), "CACHE_THRESHOLD": 50}
    one, two = build(db_copy, **config), build(db_copy, **config)
    first = one.test_client().get("/_t/listing/?page=4")
    assert first.headers["X-Cache"] == "miss"
    assert any((tmp_path / "cache").iterdir())
    second = two.test_client().get("/_t/listing/?page=4")
    assert second.headers["X-Cache"] == "hit" and second.data == first.data
    assert two.renders["listing"] == 0


def test_redis_cache_invalidates_every_instance_on_the_next_request(db_copy, redis_url):
    config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url}
    one, two = build(db_copy, **config), build(db_copy, **config)
    a, b = one.test_client(), two.test_client()
    assert a.get("/_t/listing/").headers["X-Cache"] == "miss"
    shared = b.get("/_t/listing/")
    assert shared.headers["X-Cache"] == "hit" and two.renders["listing"] == 0
    with one.app_context():  # the write goes through instance one...
        publish(get_store(), "Seen by every process")
    # ...and instance two shows it on its very next request.
    fresh = b.get("/_t/listing/")
    assert fresh.headers["X-Cache"] == "miss" and b"Seen by every process" in fresh.data
    again = a.get("/_t/listing/")
    assert again.headers["X-Cache"] == "hit" and again.data == fresh.data
    assert one.renders["listing"] == 1 and two.renders["listing"] == 1
    # Another site (or database, or settings that change the output) on the same Redis never
    # shares entries with this one.
    other = build(db_copy, SITE_URL="https://other.example.org", **config)
    assert other.test_client().get("/_t/listing/").headers["X-Cache"] == "miss"


@pytest.mark.slow
def test_redis_lock_renders_once_across_processes(db_copy, redis_url, live_server):
    renders: Counter = Counter()
    config = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url}
    apps = []
    for _ in range(2):  # two app instances stand for two processes: separate in-process locks
        app = make_app(db_copy, **config)
        add_routes(app, renders, slow=0.4)
        apps.append(app)
    servers = [live_server(app, threads=6) for app in apps]
    barrier = threading.Barrier(16)

    def fetch(n):
        barrier.wait()
        conn = http.client.HTTPConnection("127.0.0.1", servers[n % 2].port, timeout=30)
        conn.request("GET", "/_t/counted/")
        response = conn.getresponse()
        result = (response.status, response.read())
        conn.close()
        return result

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(fetch, range(16)))
    assert {status for status, _ in results} == {200}
    assert renders["counted"] == 1


def test_a_redis_outage_degrades_to_rendering_not_errors(db_copy):
    from tests.conftest import free_port

    app = build(db_copy, CACHE_TYPE="RedisCache", CACHE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    client = app.test_client()
    first = client.get("/_t/listing/")
    assert first.status_code == 200 and b"<article>" in first.data
    # The in-process layer still serves what this process rendered.
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"


def test_null_cache_turns_the_fast_path_off(db_copy):
    app = build(db_copy, CACHE_TYPE="NullCache")
    assert not isinstance(app.wsgi_app, ResponseCache) and response_cache(app) is None
    client = app.test_client()
    for _ in range(3):
        assert client.get("/_t/listing/").headers["X-Cache"] == "bypass"
    assert app.renders["listing"] == 3


def test_an_unusable_database_is_passed_to_flask_not_crashing_the_fast_path(cached_app, client, db_copy):
    assert client.get("/_t/listing/").status_code == 200
    response_cache(cached_app).content.reset_thread_store()
    for suffix in ("", "-wal", "-shm"):
        path = db_copy.with_name(db_copy.name + suffix)
        if path.exists():
            path.unlink()
    db_copy.write_bytes(b"this is not a database" * 100)
    cached_app.testing = False  # a real deployment: Flask answers 500, the middleware does not raise
    assert client.get("/_t/listing/").status_code == 500
    assert client.get("/healthz").status_code == 503


def test_a_new_release_never_reads_the_previous_releases_entries(tmp_path):
    """Entries are keyed by a hash of the code and templates, so a deploy that changes either
    starts from an empty shared cache instead of serving pages rendered by the old code."""
    from flask import Flask

    from syndicate.cache import code_fingerprint

    site = Flask("fingerprint", root_path=str(tmp_path), template_folder="templates")
    (tmp_path / "templates").mkdir()
    page = tmp_path / "templates" / "page.html"
    page.write_text("<h1>{{ title }}</h1>")
    before = code_fingerprint(site)
    assert code_fingerprint(site) == before  # stable: by content, not time
    page.write_text("<h1 class=headline>{{ title }}</h1>")
    assert code_fingerprint(site) != before
