"""Entries: what is stored (and what passes through), with which headers, compressed once."""

from __future__ import annotations

import gzip
import time
from email.utils import formatdate

import brotli

from syndicate.cache import response_cache
from syndicate.models import Scope
from syndicate.store import Store

from .views import publish


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


def test_last_modified_never_goes_back_when_content_changes(cached_app, client, writer):
    article = publish(writer, "Soon deleted")
    shown = client.get("/_t/listing/")
    assert b"Soon deleted" in shown.data
    time.sleep(1.1)  # HTTP dates have one-second resolution
    writer.delete_article_with(article.guid, lambda current: None)
    # The newest update shown is now older than what the client holds; it must still get 200.
    after = client.get("/_t/listing/", headers={"If-Modified-Since": shown.headers["Last-Modified"]})
    assert after.status_code == 200 and b"Soon deleted" not in after.data
