"""Never stale at the edge (issue 15): real Varnish with the xkey vmod in front of two waitress
processes sharing Redis and one SQLite file. The processes tell Varnish to keep pages and feeds
for a day (Surrogate-Control) and purge by surrogate key on every write, so a publish shows on
the very next request through the proxy while everything it does not touch stays a proxy hit."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from deploy.stack import Stack
from syndicate.db import get_store

from .conftest import make_app, require_tool
from .test_deploy import get, isolated_redis

ROOT = Path(__file__).resolve().parent.parent


def write_token(database: Path) -> str:
    created = subprocess.run(
        [sys.executable, "-m", "syndicate", "--database", str(database), "token", "create", "--name", "edge-test"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return created.stdout.strip().splitlines()[-1]


def api(base: str, token: str, method: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)
        return json.loads(response.read())


def cached(url: str) -> str:
    """GET twice through the proxy; the second must be a hit. Returns the body."""
    get(url)
    status, headers, body = get(url)
    assert status == 200 and headers.get("x-proxy-cache") == "HIT", f"{url}: {status} {headers}"
    return body


def proxy_hit(url: str) -> bool:
    status, headers, _ = get(url)
    return status == 200 and headers.get("x-proxy-cache") == "HIT" and len(headers.get("x-varnish", "").split()) == 2


@pytest.mark.slow
def test_a_publish_and_a_correction_are_seen_at_once_and_nothing_else_is_fetched(db_copy, redis_url, tmp_path):
    require_tool("varnishd")
    require_tool("redis-server")
    with make_app(db_copy).app_context():
        store = get_store()
        tag = store.term("tag", "diplomacy")
        author = store.term("author", "amira-haddad")
    assert tag is not None and author is not None
    stack = Stack(
        database=db_copy, workdir=tmp_path / "stack", processes=2, proxy="varnish", purge=True,
        redis_url=isolated_redis(redis_url), settings={"CACHE_KEY_PREFIX": f"edge-{uuid.uuid4().hex[:8]}:"},
    )  # fmt: skip
    title = f"Edge check {uuid.uuid4().hex[:10]}"
    touched = ["/", "/feed/", "/category/world/", "/category/world/feed/", f"/tag/{tag.slug}/feed/",
               f"/author/{author.slug}/feed/"]  # fmt: skip
    untouched = ["/category/sports/", "/category/sports/feed/", "/category/science/feed/atom/"]
    with stack:
        token = write_token(db_copy)
        proxy = stack.proxy_url
        for path in touched + untouched:
            assert title not in cached(proxy + path)
        # The proxy may keep them a day; a browser gets the short max-age and never the keys.
        headers = get(proxy + "/")[1]
        assert "max-age=60" in headers["cache-control"] and "xkey" not in headers
        assert "surrogate-control" not in headers

        article = api(stack.app_urls[0], token, "POST", "/api/v1/articles", {
            "title": title, "body": "<p>Seen at the edge at once.</p>", "category": "World",
            "author": author.name, "tags": [tag.name],
        })  # fmt: skip
        # The very next request through the proxy: fresh everywhere the article shows...
        stale = [path for path in touched if title not in get(proxy + path)[2]]
        assert not stale, f"stale through the proxy right after the 201: {stale}"
        page = get(proxy + article["url"].removeprefix(proxy))
        assert page[0] == 200 and title in page[2]
        # ...and nothing else was fetched again.
        assert all(proxy_hit(proxy + path) for path in untouched)

        # A correction through the other process: its page and every listing showing it change.
        path = article["url"].removeprefix(proxy)
        for listing in touched:
            cached(proxy + listing)
        cached(proxy + path)
        cached(proxy + "/page/3/")
        corrected = title + " (corrected)"
        api(stack.app_urls[1], token, "PATCH", f"/api/v1/articles/{article['id']}", {"title": corrected})
        for listing in [path, *touched]:
            assert corrected in get(proxy + listing)[2], f"{listing} still shows the old title"
        assert all(proxy_hit(proxy + p) for p in [*untouched, "/page/3/"])


@pytest.mark.slow
def test_a_proxy_stopped_during_a_publish_shows_it_when_back(db_copy, redis_url, tmp_path):
    require_tool("varnishd")
    require_tool("redis-server")
    stack = Stack(
        database=db_copy, workdir=tmp_path / "stack", processes=1, proxy="varnish", purge=True,
        redis_url=isolated_redis(redis_url), settings={"CACHE_KEY_PREFIX": f"edge-{uuid.uuid4().hex[:8]}:",
                                                       "PURGE_BACKOFF": "0.2"},
    )  # fmt: skip
    title = f"While the proxy was down {uuid.uuid4().hex[:10]}"
    with stack:
        token = write_token(db_copy)
        assert title not in cached(stack.proxy_url + "/")
        stack.stop_proxy()
        api(stack.app_urls[0], token, "POST", "/api/v1/articles", {
            "title": title, "body": "<p>x</p>", "category": "World",
        })  # fmt: skip
        stack.start_proxy()
        # Varnish keeps objects in memory: a restarted proxy starts empty, and the purge the
        # process kept retrying lands on it too (see deploy/README.md).
        assert title in get(stack.proxy_url + "/")[2]
        log = (stack.workdir / "logs" / "app1.log").read_text()
        assert "purge:" in log and "failed" in log
