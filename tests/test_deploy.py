"""The deployment beyond one machine (issue 5): several waitress processes on one SQLite file,
one shared Redis cache, and a caching reverse proxy in front that honours our Cache-Control and
validators. Everything runs for real on loopback: redis-server, ``syndicate serve`` processes,
nginx (deploy/nginx.conf) or Varnish (deploy/varnish.vcl)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from deploy.stack import TEMPLATES, Stack, nginx_values, render, varnish_values

from .conftest import require_tool

MAX_AGE = 2  # seconds: CACHE_MAX_AGE for the processes, so the proxy's copies expire quickly
MARGIN = 4  # seconds on top of max-age: a slow, shared 2-core machine


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read().decode(errors="replace")


def publish_through_api(app_url: str, database: Path, title: str) -> None:
    """POST the article to one process's publishing API with a write token made by the CLI."""
    created = subprocess.run(
        [sys.executable, "-m", "syndicate", "--database", str(database), "token", "create", "--name", "deploy-test"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    secret = created.stdout.strip().splitlines()[-1]
    body = json.dumps({
        "title": title,
        "body": f"<p>{title}: published through one process, seen through all of them.</p>",
        "author": "Deploy Test",
        "category": "World",
    }).encode()  # fmt: skip
    request = urllib.request.Request(
        app_url + "/api/v1/articles", data=body, method="POST",
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


@pytest.fixture
def demo_copy(demo_db, tmp_path) -> Path:
    path = tmp_path / "shared.db"
    shutil.copy(demo_db, path)
    return path


def isolated_redis(redis_url: str) -> str:
    """The session's redis-server, on a database of its own (the cache tests use /0)."""
    return redis_url.rsplit("/", 1)[0] + "/5"


# ------------------------------------------------------------------------ configs are valid


def test_nginx_config_renders_and_nginx_accepts_it(tmp_path):
    nginx = require_tool("nginx")
    values = nginx_values(
        listen="127.0.0.1:8080", upstreams=["127.0.0.1:8001", "127.0.0.1:8002"], state_dir=tmp_path,
        log_dir=tmp_path,
    )  # fmt: skip
    conf = tmp_path / "nginx.conf"
    conf.write_text(render(TEMPLATES["nginx"], values))
    assert "@" not in conf.read_text().replace("$", "")
    result = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-e", str(tmp_path / "e.log")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "server 127.0.0.1:8002" in conf.read_text()


def test_varnish_vcl_renders_and_compiles(tmp_path):
    varnishd = require_tool("varnishd")
    vcl = tmp_path / "syndicate.vcl"
    vcl.write_text(render(TEMPLATES["varnish"], varnish_values(upstreams=["127.0.0.1:8001", "127.0.0.1:8002"])))
    result = subprocess.run(
        [varnishd, "-C", "-j", "none", "-f", str(vcl), "-n", str(tmp_path / "v")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_render_refuses_a_missing_value(tmp_path):
    with pytest.raises(KeyError, match="LISTEN"):
        values = nginx_values(listen="x", upstreams=[], state_dir=tmp_path, log_dir=tmp_path)
        del values["LISTEN"]
        render(TEMPLATES["nginx"], values)


# ------------------------------------------------------- publish once, seen everywhere


@pytest.mark.slow
@pytest.mark.parametrize("proxy", ["nginx", "varnish"])
def test_article_published_through_one_process_is_seen_through_proxy_and_every_process(
    proxy, demo_copy, redis_url, tmp_path
):
    require_tool("nginx" if proxy == "nginx" else "varnishd")
    require_tool("redis-server")
    stack = Stack(
        database=demo_copy, workdir=tmp_path / "stack", processes=2, proxy=proxy,
        redis_url=isolated_redis(redis_url),
        settings={"CACHE_MAX_AGE": str(MAX_AGE), "CACHE_KEY_PREFIX": f"deploy-{uuid.uuid4().hex[:8]}:"},
    )  # fmt: skip
    paths = ["/", "/feed/"]
    title = f"Deploy check {uuid.uuid4().hex[:12]}"
    with stack:
        bases = [stack.proxy_url, *stack.app_urls]
        # Every cache (the proxy's and the shared Redis one) holds the old front page and feed.
        for base in bases:
            for path in paths:
                status, _, body = get(base + path)
                assert status == 200, f"{base}{path} answered {status}"
                assert title not in body
        # One cache for all processes: what one process rendered, the other serves as a hit.
        assert get(stack.app_urls[0] + "/page/3/")[1].get("x-cache") == "miss"
        assert get(stack.app_urls[1] + "/page/3/")[1].get("x-cache") == "hit"
        # The proxy caches what the app marks cacheable: the second request is a hit.
        for path in paths:
            status, headers, _ = get(stack.proxy_url + path)
            assert status == 200
            assert headers.get("x-proxy-cache") == "HIT", f"{path} was not cached by {proxy}: {headers}"
            assert f"max-age={MAX_AGE}" in headers.get("cache-control", ""), headers
            # Its validators are honoured: the proxy answers a matching If-None-Match with a 304.
            status, _, body = get(stack.proxy_url + path, {"If-None-Match": headers["etag"]})
            assert (status, body) == (304, "")
            # Junk query parameters do not make new entries (the key keeps page, q and content).
            status, headers, _ = get(stack.proxy_url + path + "?utm_source=newsletter&x=1")
            assert (status, headers.get("x-proxy-cache")) == (200, "HIT"), headers

        publish_through_api(stack.app_urls[0], demo_copy, title)
        published_at = time.monotonic()

        seen: dict[str, float] = {}
        deadline = published_at + MAX_AGE + MARGIN
        while len(seen) < len(bases) * len(paths) and time.monotonic() < deadline:
            for base in bases:
                for path in paths:
                    if base + path not in seen and title in get(base + path)[2]:
                        seen[base + path] = time.monotonic() - published_at
            time.sleep(0.1)
        missing = [base + path for base in bases for path in paths if base + path not in seen]
        assert not missing, f"not visible within {MAX_AGE + MARGIN} s of publishing: {missing} (seen: {seen})"
