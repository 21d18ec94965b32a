"""``syndicate import`` of JSON Feed 1.0 and 1.1: detection by content, the item mapping, and
our own /feed/json/ output imported into a fresh archive."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicate.db import get_store
from syndicate.importers import Source, detect

from .conftest import make_app

# As jsonfeed.org's own feed and real blogs published 1.0: "author" object, numeric-looking ids,
# content_html, external_url, an audio attachment (a podcast) beside the image.
FEED_1_0 = {
    "version": "https://jsonfeed.org/version/1",
    "title": "The Harbour Gazette",
    "home_page_url": "https://gazette.example.org/",
    "feed_url": "https://gazette.example.org/feed.json",
    "author": {"name": "The Gazette"},
    "items": [
        {
            "id": 2347259,
            "url": "https://gazette.example.org/2024/08/new-ferry-timetable/",
            "external_url": "https://harbour.example.net/timetable.pdf",
            "title": "New ferry timetable starts on Monday",
            "content_html": "<p>The harbour authority has published <em>the</em> timetable.</p>",
            "summary": "Fewer boats, but more on market days.",
            "date_published": "2024-08-14T09:30:00+02:00",
            "date_modified": "2024-08-15T10:05:10Z",
            "author": {"name": "Morgan Hale", "url": "https://gazette.example.org/author/mhale/"},
            "tags": ["Local News", "Ferries", "Transport"],
            "image": "https://gazette.example.org/wp-content/uploads/ferry.jpg",
            "attachments": [
                {"url": "https://gazette.example.org/audio/ferry.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 1},
                {
                    "url": "https://gazette.example.org/wp-content/uploads/ferry.jpg",
                    "mime_type": "image/jpeg",
                    "size_in_bytes": 48213,
                    "title": "The morning ferry",
                },
            ],
        },
        {
            "id": "https://gazette.example.org/?p=102",
            "url": "https://gazette.example.org/2024/08/cafe-culture/",
            "title": "Café culture returns",
            "content_text": "First paragraph.\n\nSecond <paragraph> & more.",
            "date_published": "2024-08-20T16:45:00Z",
        },
        "not an item",
    ],
}

# 1.1: "authors" arrays, "language", banner_image, an item with only date_modified, an author
# and a tag whose names are empty once cleaned.
FEED_1_1 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Micro news",
    "language": "en-GB",
    "authors": [{"name": "Desk"}],
    "items": [
        {
            "id": "tag:micro.example,2024:1",
            "url": "https://micro.example/posts/storm-damage",
            "title": "Storm damage: what we know",
            "content_html": "<p>Trees down on the coast road.</p><script>alert(1)</script>",
            "date_modified": "2024-08-30T21:10:00Z",
            "authors": [{"name": "  "}, {"name": "Ana Ruiz"}],
            "tags": ["\u2014", "Weather"],
            "banner_image": "https://micro.example/banner.png",
        },
        {
            "id": "tag:micro.example,2024:2",
            "title": "No author at all",
            "content_text": "Plain.",
            "date_published": "2024-08-31T08:00:00Z",
            "authors": [{"name": "\u2014"}],
            "attachments": [{"url": "https://micro.example/pic.webp", "mime_type": "image/webp"}],
        },
    ],
}


def stored(app) -> dict:
    with app.app_context():
        return {a.guid: a for a in get_store().export_rows()}


def write(tmp_path: Path, name: str, document: dict, **dump) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False, **dump), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["feed.json", "feed", "feed.jsonl", "index.txt"])
@pytest.mark.parametrize("indent", [None, 2], ids=["minified", "pretty"])
def test_json_feed_is_recognised_by_content(tmp_path, name, indent):
    assert detect(Source("x", path=write(tmp_path, name, FEED_1_1, indent=indent))) == "jsonfeed"
    assert detect(Source("x", path=write(tmp_path, name, FEED_1_0, indent=indent))) == "jsonfeed"


def test_json_lines_stay_json_lines(tmp_path):
    lines = tmp_path / "export.json"
    lines.write_text(
        json.dumps({"guid": "a", "title": "A", "body": '"version": "https://jsonfeed.org/version/1.1"'})
        + "\n"
        + json.dumps({"guid": "b", "title": "B"})
        + "\n"
    )
    assert detect(Source("x", path=lines)) == "jsonl"


def test_json_feed_1_0_maps_every_field(app, runner, tmp_path):
    result = runner.invoke(args=["import", str(write(tmp_path, "feed.json", FEED_1_0, indent=2))])
    assert result.exit_code == 0, result.output
    assert "item 3: skipped: not a JSON object" in result.output
    assert "2 created, 0 updated, 0 unchanged, 1 skipped" in result.output
    posts = stored(app)
    ferry = posts["2347259"]
    assert (ferry.slug, ferry.title) == ("new-ferry-timetable", "New ferry timetable starts on Monday")
    assert ferry.body == "<p>The harbour authority has published <em>the</em> timetable.</p>"
    assert ferry.summary == "Fewer boats, but more on market days."
    assert ferry.published == datetime(2024, 8, 14, 7, 30, tzinfo=UTC)
    assert ferry.updated == datetime(2024, 8, 15, 10, 5, 10, tzinfo=UTC)
    assert ferry.author.name == "Morgan Hale"
    assert ferry.category.name == "Local News" and [t.name for t in ferry.tags] == ["Ferries", "Transport"]
    assert (ferry.image_url, ferry.image_type, ferry.image_length, ferry.image_caption) == (
        "https://gazette.example.org/wp-content/uploads/ferry.jpg",
        "image/jpeg",
        48213,
        "The morning ferry",
    )
    cafe = posts["https://gazette.example.org/?p=102"]
    assert cafe.body == "<p>First paragraph.</p><p>Second &lt;paragraph&gt; &amp; more.</p>"
    assert cafe.slug == "cafe-culture" and not cafe.image_url


def test_json_feed_1_1_maps_every_field(app, runner, tmp_path):
    result = runner.invoke(args=["import", "--format", "jsonfeed", str(write(tmp_path, "feed.jsonl", FEED_1_1))])
    assert result.exit_code == 0, result.output
    assert "2 created, 0 updated, 0 unchanged, 0 skipped" in result.output
    assert "warning: item 1: tags: '—' is empty once cleaned" in result.output
    assert "warning: item 2: author: '—' is empty once cleaned" in result.output
    posts = stored(app)
    storm = posts["tag:micro.example,2024:1"]
    assert storm.slug == "storm-damage" and "<script>" not in storm.body
    assert storm.published == storm.updated == datetime(2024, 8, 30, 21, 10, tzinfo=UTC)
    assert storm.author.name == "Ana Ruiz"  # the first author with a name
    assert storm.category.name == "Weather" and storm.tags == []
    assert (storm.image_url, storm.image_type) == ("https://micro.example/banner.png", "image/png")
    plain = posts["tag:micro.example,2024:2"]
    assert plain.author is None and plain.body == "<p>Plain.</p>"
    assert (plain.image_url, plain.image_type) == ("https://micro.example/pic.webp", "image/webp")


def test_a_json_document_that_is_not_a_json_feed_is_refused(app, runner, tmp_path):
    path = write(tmp_path, "x.json", {"version": "2", "items": []})
    result = runner.invoke(args=["import", "--format", "jsonfeed", str(path)])
    assert result.exit_code == 1 and "is not a JSON Feed" in result.output and stored(app) == {}


def test_our_own_json_feed_round_trips(demo_client, tmp_path):
    feed = demo_client.get("/feed/json/")
    assert feed.status_code == 200
    source = tmp_path / "ours.json"
    source.write_bytes(feed.data)
    document = json.loads(feed.data)
    target = make_app(tmp_path / "copy.db")
    result = target.test_cli_runner().invoke(args=["import", str(source)])
    assert result.exit_code == 0, result.output
    count = len(document["items"])
    assert f"{count} created, 0 updated, 0 unchanged, 0 skipped" in result.output
    imported = stored(target)
    with demo_client.application.app_context():
        originals = {a.guid: a for a in get_store().export_rows() if a.guid in imported}
    assert len(originals) == count
    for guid, copy in imported.items():
        original = originals[guid]
        assert (copy.title, copy.slug, copy.published, copy.updated) == (
            original.title,
            original.slug,
            original.published,
            original.updated,
        )
        assert copy.author.name == original.author.name and copy.category.name == original.category.name
        assert [t.name for t in copy.tags] == [t.name for t in original.tags]
        assert (copy.image_url, copy.image_type, copy.image_length) == (
            original.image_url,
            original.image_type,
            original.image_length,
        )
        assert copy.summary == original.summary
    again = target.test_cli_runner().invoke(args=["import", str(source)])
    assert f"0 created, 0 updated, {count} unchanged" in again.output
