"""static/feed.xsl in a real browser: headless Chromium turns our RSS and Atom documents into a
page that explains feeds and lists the items.

Chromium shows ``application/rss+xml`` and ``application/atom+xml`` as plain text whatever
the stylesheet (the XSLT only runs for documents it treats as XML, e.g. ``application/xml``;
Firefox does apply it to our content types). The feeds must keep their exact media types, so
this test serves the very bytes of our feeds as ``application/xml`` next to the real
stylesheet, to prove the stylesheet itself works in a browser engine.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from flask import Flask, Response, send_from_directory

from tests.conftest import require_tool

STATIC = Path(__file__).resolve().parent.parent / "static"


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/feed/", "/feed/atom/"])
def test_chromium_renders_the_feed_through_the_stylesheet(demo_client, live_server, path):
    chromium = require_tool("chromium")
    body = demo_client.get(path).data
    assert b'<?xml-stylesheet type="text/xsl" href="/static/feed.xsl"?>' in body

    shim = Flask("xslt-shim")
    shim.add_url_rule("/feed.xml", "feed", lambda: Response(body, content_type="application/xml"))
    shim.add_url_rule("/static/feed.xsl", "xsl", lambda: send_from_directory(STATIC, "feed.xsl"))
    server = live_server(shim)

    profile = tempfile.mkdtemp()
    try:
        result = subprocess.run(
            ["timeout", "60", chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--dump-dom", server.url + "/feed.xml"],
            capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    dom = result.stdout
    assert "This is a web feed" in dom, dom[:500]
    assert "https://news.example.com" + path in dom  # the address to paste into a reader
    assert dom.count("<li>") == 20
    assert "&lt;rss" not in dom and "&lt;feed" not in dom  # not the raw XML as text
