"""One bad number, one bad file: the import skips the record or stops with one clear line,
keeps every good record (the pending batch too) and never shows the operator a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from syndicate.db import get_store
from syndicate.importers import Event, run_import

from .conftest import free_port

HUGE = 2**63  # one more than an SQLite INTEGER holds


def titles(app) -> set[str]:
    with app.app_context():
        return {a.title for a in get_store().export_rows()}


def good(n: int) -> dict:
    return {"guid": f"tag:good,{n}", "title": f"Good {n}", "published": f"2024-03-{n:02d}T10:00:00Z"}


def import_cli(runner, path: Path, *args: str):
    result = runner.invoke(args=["import", *args, str(path)])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.mark.parametrize(
    "bad_line, reason",
    [
        (json.dumps({**good(3), "image_length": HUGE}), "image_length: must be a whole number of bytes from 0 to"),
        (
            '{"guid": "tag:good,3", "title": "Good 3", "image_length": ' + "9" * 5000 + "}",
            "a number with more than 4300 digits",
        ),
        (
            '{"guid": "tag:good,3", "title": "Good 3", "views": ' + "9" * 5000 + "}",
            "a number with more than 4300 digits",
        ),
    ],
    ids=["2**63", "5000-digit image_length", "5000-digit unknown field"],
)
def test_jsonl_a_huge_number_skips_only_its_line(app, runner, tmp_path, bad_line, reason):
    source = tmp_path / "in.jsonl"
    lines = [json.dumps(good(1)), json.dumps(good(2)), bad_line, json.dumps(good(4))]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # A batch of 10 is still pending when the bad line comes: it must be written all the same.
    result = import_cli(runner, source, "--batch-size", "10")
    assert result.exit_code == 0, result.output
    assert f"line 3: skipped: {reason}" in result.output
    assert "3 created, 0 updated, 0 unchanged, 1 skipped" in result.output
    assert titles(app) == {"Good 1", "Good 2", "Good 4"}


def test_jsonl_skip_names_the_record(app, runner, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({**good(1), "image_length": HUGE}) + "\n", encoding="utf-8")
    result = import_cli(runner, source)
    assert "line 1: skipped: image_length:" in result.output and "(guid 'tag:good,1')" in result.output


@pytest.mark.parametrize("length", [str(HUGE), "9" * 5000], ids=["2**63", "5000 digits"])
def test_csv_a_huge_image_length_skips_only_its_row(app, runner, tmp_path, length):
    source = tmp_path / "in.csv"
    source.write_text(
        "guid,title,published,image_url,image_length\n"
        "tag:c,1,One,2024-03-01T10:00:00Z,https://example.org/1.jpg,1234\n"
        f"tag:c,2,Two,2024-03-02T10:00:00Z,https://example.org/2.jpg,{length}\n"
        "tag:c,3,Three,2024-03-03T10:00:00Z,https://example.org/3.jpg,\n",
        encoding="utf-8",
    )
    source.write_text(source.read_text().replace("tag:c,", "tag:c-"), encoding="utf-8")
    result = import_cli(runner, source)
    assert result.exit_code == 0, result.output
    assert "line 3: skipped: image_length:" in result.output and "(guid 'tag:c-2')" in result.output
    assert "2 created, 0 updated, 0 unchanged, 1 skipped" in result.output
    assert titles(app) == {"One", "Three"}


RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>T</title><link>https://news.example.org/</link><description>D</description>
<item><title>First</title><link>https://news.example.org/first/</link><guid>tag:rss,1</guid>
 <pubDate>Mon, 04 Mar 2024 10:00:00 GMT</pubDate></item>
<item><title>Huge</title><link>https://news.example.org/huge/</link><guid>tag:rss,2</guid>
 <pubDate>Mon, 04 Mar 2024 11:00:00 GMT</pubDate>
 <enclosure url="https://news.example.org/huge.jpg" type="image/jpeg" length="LENGTH"/></item>
<item><title>Third</title><link>https://news.example.org/third/</link><guid>tag:rss,3</guid>
 <pubDate>Mon, 04 Mar 2024 12:00:00 GMT</pubDate>
 <enclosure url="https://news.example.org/third.jpg" type="image/jpeg" length="2048"/></item>
</channel></rss>
"""


@pytest.mark.parametrize("length", ["99999999999999999999", "9" * 5000], ids=["20 digits", "5000 digits"])
def test_rss_a_huge_enclosure_length_skips_only_its_item(app, runner, tmp_path, length):
    source = tmp_path / "feed.xml"
    source.write_text(RSS.replace("LENGTH", length), encoding="utf-8")
    result = import_cli(runner, source)
    assert result.exit_code == 0, result.output
    assert "item 2: skipped: image_length:" in result.output and "(guid 'tag:rss,2')" in result.output
    assert "2 created, 0 updated, 0 unchanged, 1 skipped" in result.output
    assert titles(app) == {"First", "Third"}
    with app.app_context():
        assert get_store().article_by_guid("tag:rss,3").image_length == 2048


def test_jsonfeed_a_huge_attachment_size_skips_only_its_item(app, runner, tmp_path):
    source = tmp_path / "feed.json"
    items = [
        {"id": "1", "title": "One", "content_text": "x", "date_published": "2024-03-01T10:00:00Z"},
        {
            "id": "2",
            "title": "Two",
            "content_text": "x",
            "date_published": "2024-03-02T10:00:00Z",
            "image": "https://example.org/2.jpg",
            "attachments": [{"url": "https://example.org/2.jpg", "mime_type": "image/jpeg", "size_in_bytes": HUGE}],
        },
    ]
    source.write_text(json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "F", "items": items}))
    result = import_cli(runner, source)
    assert "item 2: skipped: image_length:" in result.output
    assert titles(app) == {"One"}


LATIN1_FEED = '{"version": "https://jsonfeed.org/version/1", "title": "Caf\xe9", "items": []}'.encode("latin-1")


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("bad.json", b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "is not valid JSON"),
        ("bad.xml", b'<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item>', "XML"),
        ("latin1.json", LATIN1_FEED, "is not UTF-8"),
        ("empty.csv", b"", "empty CSV file"),
        ("utf16.csv", "title,published\nCafé,2024-03-01T10:00:00Z\n".encode("utf-16"), "header line is not UTF-8"),
    ],
)  # fmt: skip
def test_a_broken_file_is_one_clear_line(app, runner, tmp_path, name, data, message):
    source = tmp_path / name
    source.write_bytes(data)
    result = import_cli(runner, source, *(["--format", "jsonfeed"] if name.endswith(".json") else []))
    assert result.exit_code == 1
    assert message in result.output and result.output.startswith("Error:")
    assert len(result.output.strip().splitlines()) == 1


def test_an_unreadable_file_is_one_clear_line(app, runner, tmp_path):
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    result = import_cli(runner, folder)
    assert result.exit_code == 1 and "not a file" in result.output
    secret = tmp_path / "secret.jsonl"
    secret.write_text(json.dumps(good(1)) + "\n")
    secret.chmod(0)
    try:
        if os.access(secret, os.R_OK):
            pytest.skip("running as root: every file is readable")
        result = import_cli(runner, secret)
        assert result.exit_code == 1 and "Permission denied" in result.output
    finally:
        secret.chmod(0o600)


def test_an_unreachable_url_is_one_clear_line(app, runner):
    nowhere = import_cli(runner, f"http://127.0.0.1:{free_port()}/feed.xml")
    assert nowhere.exit_code == 1 and "cannot fetch" in nowhere.output and "connection refused" in nowhere.output


def test_the_pipeline_reports_events_and_progress_through_callbacks(app, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join([json.dumps(good(1)), "not json", json.dumps({**good(3), "colour": "red"})]) + "\n")
    events: list[Event] = []
    progress: list[tuple] = []
    with app.app_context():
        summary = run_import(
            get_store(),
            str(source),
            config=app.config,
            on_event=events.append,
            on_progress=lambda *a: progress.append(a),
        )
    assert (summary.created, summary.skipped, summary.warnings) == (2, 1, 1)
    assert [(e.kind, e.where) for e in events] == [("skipped", "line 2"), ("warning", "line 3")]
    assert "not valid JSON" in events[0].message and "'colour'" in events[1].message
    size = source.stat().st_size
    assert progress[-1] == (size, size, "bytes") and [p[0] for p in progress] == sorted(p[0] for p in progress)
