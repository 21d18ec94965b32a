"""A real feed reader: newsboat fetches the RSS and Atom site feeds from a real waitress server
and reports the expected number of unread articles (one cache.db per feed URL, because
newsboat's guids are global across feeds), then imports the OPML list."""

from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest

from tests.conftest import require_tool


def newsboat(binary: str, workdir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, "-u", str(workdir / "urls"), "-c", str(workdir / "cache.db"), "-C", str(workdir / "config"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(workdir)},  # newsboat must not touch the real home
    )


@pytest.mark.parametrize("path", ["/feed/", "/feed/atom/"])
def test_newsboat_reads_the_site_feed(demo_app, live_server, tmp_path, path):
    binary = require_tool("newsboat")
    server = live_server(demo_app)
    (tmp_path / "urls").write_text(server.url + path + "\n")
    (tmp_path / "config").write_text(f'error-log "{tmp_path}/errors.log"\n')
    result = newsboat(binary, tmp_path, "-x", "reload", "print-unread")
    errors = (tmp_path / "errors.log").read_text() if (tmp_path / "errors.log").exists() else ""
    assert errors == "", errors  # newsboat exits 0 even when a feed fails: its log tells
    assert result.stdout.strip() == f"{demo_app.config['FEED_ITEMS']} unread articles", result
    with sqlite3.connect(tmp_path / "cache.db") as db:
        rows = db.execute("SELECT guid, url FROM rss_item").fetchall()
    assert len({guid for guid, _ in rows}) == 20
    assert all(guid.startswith("urn:uuid:") and url.startswith("https://news.example.com/") for guid, url in rows)

    # A second reload (now conditional or not) adds nothing new.
    again = newsboat(binary, tmp_path, "-x", "reload", "print-unread")
    assert again.stdout.strip() == result.stdout.strip()


def test_newsboat_imports_the_opml_list(demo_app, live_server, tmp_path):
    binary = require_tool("newsboat")
    server = live_server(demo_app)
    (tmp_path / "urls").write_text("")
    (tmp_path / "config").write_text(f'error-log "{tmp_path}/errors.log"\n')
    newsboat(binary, tmp_path, "-i", server.url + "/feeds.opml")
    urls = [u for u in (tmp_path / "urls").read_text().split() if u.startswith("http")]
    assert "https://news.example.com/feed/" in urls
    assert any("/category/" in u for u in urls) and any("/author/" in u for u in urls)
