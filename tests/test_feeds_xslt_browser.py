"""static/feed.xsl in a real browser: headless Chromium, following a feed link on our real
server, gets a page that explains feeds and lists the items.

Chromium shows ``application/rss+xml`` and ``application/atom+xml`` as plain text whatever the
stylesheet. So a request that ranks ``text/html`` above the feed types (a browser) gets the same
bytes as ``application/xml``, which browsers run through the XSLT; feed readers, which ask for
the feed types or ``*/*``, keep the exact feed media types (tested in test_feeds.py).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile

import pytest

from tests.conftest import make_app, require_tool


def _dump_dom(chromium: str, url: str) -> str:
    profile = tempfile.mkdtemp()
    try:
        result = subprocess.run(
            ["timeout", "60", chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("cache_type", ["SimpleCache", "NullCache"])
@pytest.mark.parametrize("path", ["/feed/", "/feed/atom/"])
def test_chromium_renders_the_real_feed_through_the_stylesheet(db_copy, live_server, path, cache_type):
    chromium = require_tool("chromium")
    app = make_app(db_copy, CACHE_TYPE=cache_type)
    server = live_server(app)
    dom = _dump_dom(chromium, server.url + path)
    assert "This is a web feed" in dom, dom[:500]
    assert "https://news.example.com" + path in dom  # the address to paste into a reader
    assert dom.count("<li>") == 20
    assert "&lt;rss" not in dom and "&lt;feed" not in dom  # not the raw XML as text
