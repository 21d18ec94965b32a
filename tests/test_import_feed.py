"""``syndicate import`` of RSS and Atom feeds, from files and from a real local HTTP server."""

from __future__ import annotations

import http.server
import socket
import threading
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from syndicate.db import get_store
from syndicate.importers import ImportFailed, fetch

from .conftest import free_port

DATA = Path(__file__).parent / "data"


def stored(app) -> dict:
    with app.app_context():
        return {a.guid: a for a in get_store().export_rows()}


@pytest.fixture
def http_server():
    """A real HTTP server on a free loopback port serving tests/data/ (stopped after the test)."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(DATA))
    handler.func.log_message = lambda *args: None  # keep test output quiet
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_rss_file_maps_every_field(app, runner):
    result = runner.invoke(args=["import", str(DATA / "rss.xml")])
    assert result.exit_code == 0, result.output
    assert "item 3: skipped: published: not a date feedparser understands: 'someday soon'" in result.output
    assert "item 4: skipped: title: is required" in result.output
    assert "2 created, 0 updated, 0 unchanged, 2 skipped" in result.output
    items = stored(app)
    bridge = items["courier-4711"]  # <guid isPermaLink="false"> kept verbatim
    assert bridge.slug == "bridge-reopens"  # from the link
    assert bridge.author.name == "Lena Berg"
    assert bridge.category.name == "Transport"  # first category; the rest are tags
    assert [t.name for t in bridge.tags] == ["Bridges", "Roads"]
    assert bridge.published == datetime(2024, 3, 12, 7, 15, tzinfo=UTC)  # +0200 -> UTC
    assert bridge.summary == "The old bridge is open again after six months."
    assert bridge.body == "<p>The old bridge is open again after six months of work.</p><p>Buses return on Monday.</p>"
    assert (bridge.image_url, bridge.image_type, bridge.image_length) == (
        "https://courier.example.net/media/bridge.jpg", "image/jpeg", 53211,
    )  # fmt: skip
    choir = items["https://courier.example.net/2024/03/10/choir-wins.html"]  # no guid: the link
    assert choir.slug == "choir-wins"
    assert choir.author.name == "Omar Said"  # "email (Name)"
    assert choir.body == "<p>Forty singers, one trophy.</p>"  # description only: becomes the body
    assert (choir.image_url, choir.image_length) == ("https://courier.example.net/media/choir.png", 1200)


def test_atom_file_maps_every_field(app, runner):
    result = runner.invoke(args=["import", str(DATA / "atom.xml")])
    assert "2 created, 0 updated, 0 unchanged, 0 skipped" in result.output
    items = stored(app)
    comet = items["tag:labnotes.example.com,2024:comet"]
    assert comet.slug == "comet-spotted" and comet.author.name == "Dr. Yusuf Kaya"
    assert comet.category.name == "Space" and [t.name for t in comet.tags] == ["Astronomy"]
    assert comet.published == datetime(2024, 4, 2, 2, 30, tzinfo=UTC)
    assert comet.updated == datetime(2024, 4, 2, 8, 0, tzinfo=UTC)
    assert comet.image_url == "https://labnotes.example.com/img/comet.jpg" and comet.image_length == 90210
    assert comet.body == "<p>A bright comet was visible for about an hour.</p>"
    soil = items["tag:labnotes.example.com,2024:soil"]
    assert soil.title == "Soil samples results"  # type="html" title: its text
    assert soil.published == soil.updated == datetime(2024, 3, 28, 10, 0, tzinfo=UTC)  # only <updated>
    assert soil.image_url == "https://labnotes.example.com/img/soil.jpg"  # media:thumbnail
    assert runner.invoke(args=["import", str(DATA / "atom.xml")]).output.count("2 unchanged") == 1


def test_a_broken_feed_is_imported_with_a_warning_when_entries_were_recovered(app, runner):
    result = runner.invoke(args=["import", str(DATA / "bozo.xml")])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "is not well-formed" in result.output
    assert "2 created" in result.output
    assert {a.slug for a in stored(app).values()} == {"first-story", "second-story"}


def test_import_from_a_url(app, runner, http_server):
    result = runner.invoke(args=["import", f"{http_server}/rss.xml"])
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output
    # A URL is a feed unless its content is a WordPress export.
    wxr = runner.invoke(args=["import", f"{http_server}/wordpress.xml"])
    assert "6 created" in wxr.output and "Ignored items that are not posts" in wxr.output
    # ... or a JSON Feed (told by its content, whatever the URL's name).
    jsonfeed = runner.invoke(args=["import", f"{http_server}/jsonfeed.json"])
    assert "1 created, 0 updated, 0 unchanged, 0 skipped" in jsonfeed.output, jsonfeed.output
    assert stored(app)["tag:micro.example,2024:10"].author.name == "Ana Ruiz"
    jsonl = runner.invoke(args=["import", f"{http_server}/broken.jsonl"])  # named .jsonl: JSON Lines
    assert "line 3: skipped: title: is required" in jsonl.output and "5 created" in jsonl.output


def test_a_missing_url_is_a_clear_error(app, runner, http_server):
    result = runner.invoke(args=["import", f"{http_server}/nothing-here.xml"])
    assert result.exit_code != 0
    assert "HTTP 404" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_connection_refused_is_a_clear_error(app, runner):
    result = runner.invoke(args=["import", f"http://127.0.0.1:{free_port()}/feed.xml"])
    assert result.exit_code != 0
    assert "connection refused" in result.output.lower() and "Traceback" not in result.output


def test_a_server_that_never_answers_times_out():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # accepts the connection into the backlog, never replies
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
        with pytest.raises(ImportFailed, match="no answer within 0.5 seconds"):
            fetch(url, timeout=0.5)


def test_a_response_over_the_size_cap_is_refused(http_server):
    with pytest.raises(ImportFailed, match="larger than the limit of 100 bytes"):
        fetch(f"{http_server}/rss.xml", max_bytes=100)


def test_a_page_that_is_not_a_feed_is_a_clear_error(app, runner, tmp_path):
    page = tmp_path / "page.xml"
    page.write_text("<html><body><p>Hello</p></body></html>", encoding="utf-8")
    result = runner.invoke(args=["import", str(page)])
    assert result.exit_code != 0
    assert "RSS or Atom feed" in result.output and "Traceback" not in result.output


def test_an_author_or_category_empty_once_cleaned_loses_only_that_field(app, runner, tmp_path):
    source = tmp_path / "feed.xml"
    source.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>
<link>https://news.example.org/</link><description>D</description>
<item><title>Harbour reopens</title><link>https://news.example.org/harbour/</link><guid>tag:e,1</guid>
 <pubDate>Mon, 04 Mar 2024 10:00:00 GMT</pubDate><dc:creator>\u2014 \u2014</dc:creator>
 <category>***</category><category>Ports</category><category>Weather</category></item>
</channel></rss>
""",
        encoding="utf-8",
    )
    result = runner.invoke(args=["import", str(source)])
    assert result.exit_code == 0, result.output
    assert "1 created, 0 updated, 0 unchanged, 0 skipped" in result.output
    assert "warning: item 1: author: '— —' is empty once cleaned; imported without it (guid 'tag:e,1')" in (
        result.output
    )
    assert "warning: item 1: category: '***' is empty once cleaned" in result.output
    article = stored(app)["tag:e,1"]
    assert article.author is None
    assert article.category.name == "Ports" and [t.name for t in article.tags] == ["Weather"]
