"""The fast path: hits without work, what bypasses it, stampede protection (in one process and,
with Redis, across processes), and the three backends."""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from syndicate.cache import ResponseCache, response_cache
from syndicate.db import get_store
from tests.conftest import make_app

from .views import add_routes, build, publish


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


def test_credentials_bypass_the_shared_cache(cached_app, client):
    # (A cookie does not: tests/cache/test_answers.py.)
    client.get("/_t/listing/")
    with_auth = client.get("/_t/listing/", headers={"Authorization": "Bearer secret"})
    assert with_auth.status_code == 200
    assert with_auth.headers["X-Cache"] == "bypass"
    assert "ETag" in with_auth.headers
    assert cached_app.renders["listing"] == 2


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
