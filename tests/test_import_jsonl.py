"""``syndicate import`` of JSON Lines: the export round trip, broken records, re-runs, identity."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from syndicate.db import get_store
from syndicate.importers import run_import

from .conftest import make_app

DATA = Path(__file__).parent / "data"


def articles(app) -> dict:
    with app.app_context():
        return {a.guid: a for a in get_store().export_rows()}


def test_export_import_export_is_byte_identical(demo_app, tmp_path):
    first = tmp_path / "first.jsonl"
    assert demo_app.test_cli_runner().invoke(args=["export", "-o", str(first)]).exit_code == 0
    records = [json.loads(line) for line in first.read_text(encoding="utf-8").splitlines()[1:]]  # after the terms
    # The demo archive has everything the round trip must carry.
    assert len(records) == 600
    assert any(r["status"] == "draft" for r in records)
    assert any(r["published"] > datetime.now(UTC).isoformat() for r in records), "no scheduled article"
    assert any(r["image_url"] and r["image_caption"] for r in records)
    assert any(r["published"] != r["updated"] for r in records)

    empty = make_app(tmp_path / "empty.db")
    result = empty.test_cli_runner().invoke(args=["import", str(first)])
    assert result.exit_code == 0, result.output
    assert "600 created, 0 updated, 0 unchanged, 0 skipped" in result.output

    second = tmp_path / "second.jsonl"
    assert empty.test_cli_runner().invoke(args=["export", "-o", str(second)]).exit_code == 0
    assert second.read_bytes() == first.read_bytes()


def test_reimporting_the_same_file_changes_nothing(demo_app, tmp_path):
    exported = tmp_path / "export.jsonl"
    demo_app.test_cli_runner().invoke(args=["export", "-o", str(exported)])
    with demo_app.app_context():
        generation = get_store().generation()
    result = demo_app.test_cli_runner().invoke(args=["import", str(exported)])
    assert result.exit_code == 0, result.output
    assert "0 created, 0 updated, 600 unchanged, 0 skipped" in result.output
    with demo_app.app_context():
        # No write at all: caches keyed on the generation stay valid.
        assert get_store().generation() == generation
    again = tmp_path / "again.jsonl"
    demo_app.test_cli_runner().invoke(args=["export", "-o", str(again)])
    assert again.read_bytes() == exported.read_bytes()


def test_a_changed_record_is_updated_and_the_rest_left_alone(demo_app, tmp_path):
    exported = tmp_path / "export.jsonl"
    demo_app.test_cli_runner().invoke(args=["export", "-o", str(exported)])
    lines = exported.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[11])
    record["title"] = "A corrected headline"
    record["tags"] = record["tags"][:1] + ["Corrections"]
    lines[11] = json.dumps(record, ensure_ascii=False)
    exported.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = demo_app.test_cli_runner().invoke(args=["import", str(exported)])
    assert "0 created, 1 updated, 599 unchanged" in result.output
    with demo_app.app_context():
        article = get_store().article_by_guid(record["guid"])
    assert article.title == "A corrected headline"
    assert "corrections" in {t.slug for t in article.tags}


def test_broken_records_are_reported_and_the_good_ones_imported(app, runner):
    result = runner.invoke(args=["import", str(DATA / "broken.jsonl")])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "line 2: skipped: published: not an ISO-8601 date and time: '2024-13-45T10:00:00Z'" in out
    assert "line 3: skipped: title: is required" in out
    assert "line 4: skipped: published: has no time zone" in out
    assert "line 7: skipped: guid: tag:harbour.example.org,2024:1 already appeared in line 1" in out
    assert "line 8: skipped: invalid UTF-8" in out
    assert "line 9: skipped: title: must be a string; image_length: must be a whole number of bytes" in out
    assert "line 10: skipped: not valid JSON (Unterminated string" in out
    assert "line 11: skipped: not a JSON object (found an array)" in out
    assert "ignoring the unknown field 'votes'" in out
    for good in ("line 1:", "line 5:", "line 6:", "line 12:", "line 13:", "line 14:"):
        assert f"{good} skipped" not in out
    assert "5 created, 0 updated, 0 unchanged, 8 skipped" in out

    stored = articles(app)
    assert len(stored) == 5
    first = stored["tag:harbour.example.org,2024:1"]
    assert first.title == "Harbour reopens after repairs"  # the first of two records with this guid wins
    assert (first.slug, first.author.name, first.category.name) == ("harbour-reopens", "Ann Writer", "Local")
    assert [t.name for t in first.tags] == ["Ports", "Ships"]
    assert first.updated == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)  # +02:00 stored as UTC
    assert (first.image_url, first.image_length) == ("https://harbour.example.org/img/quay.jpg", 48213)
    # Control characters are stripped, not a reason to reject the record.
    assert stored["tag:harbour.example.org,2024:5"].title == "Tide tables published"
    assert stored["tag:harbour.example.org,2024:5"].status == "draft"
    assert "\x00" not in stored["tag:harbour.example.org,2024:5"].body
    assert stored["tag:harbour.example.org,2024:14"].title == "Raw control characters"


def test_naive_times_are_read_in_the_configured_zone(tmp_path):
    app = make_app(tmp_path / "naive.db", NAIVE_TIMEZONE="Europe/Berlin")
    result = app.test_cli_runner().invoke(args=["import", str(DATA / "broken.jsonl")])
    assert "line 4:" not in result.output
    assert "6 created" in result.output
    naive = articles(app)["tag:harbour.example.org,2024:4"]
    assert naive.published == datetime(2024, 5, 2, 7, 0, tzinfo=UTC)  # 09:00 in Berlin (CEST)


def test_records_without_a_guid_get_the_same_guid_on_every_import(tmp_path):
    guids = []
    for name in ("one.db", "two.db"):
        app = make_app(tmp_path / name)
        app.test_cli_runner().invoke(args=["import", str(DATA / "broken.jsonl")])
        stored = articles(app)
        derived = sorted(g for g in stored if g.startswith("urn:uuid:"))
        assert len(derived) == 2
        guids.append(derived)
        by_title = {a.title: a for a in stored.values()}
        assert by_title["Harbour fees rise"].slug == "harbour-fees-rise"  # from its url
        assert [t.name for t in by_title["Pier lights replaced"].tags] == ["Lights", "Pier"]
    assert guids[0] == guids[1]


def test_records_without_dates_keep_their_first_import_time(app, runner, tmp_path):
    source = tmp_path / "undated.jsonl"
    source.write_text(json.dumps({"guid": "tag:x,1", "title": "Undated"}) + "\n", encoding="utf-8")
    assert "1 created" in runner.invoke(args=["import", str(source)]).output
    first = articles(app)["tag:x,1"]
    with app.app_context():
        store = get_store()
        store.clock = lambda: datetime(2099, 1, 1, tzinfo=UTC)  # "now" has moved on a lot
        summary = run_import(store, str(source), config=app.config)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 1)
    assert articles(app)["tag:x,1"].published == first.published


def test_a_file_with_only_bad_records_exits_non_zero(runner, tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text('{"title": ""}\nnot json\n', encoding="utf-8")
    result = runner.invoke(args=["import", str(source)])
    assert result.exit_code == 1
    assert "line 1: skipped: title: is required" in result.output
    assert "line 2: skipped: not valid JSON" in result.output


def test_a_persian_archive_round_trips_byte_for_byte(tmp_path):
    """Unicode slugs, Persian names and titles, ZWNJ inside words: export, import into an empty
    database and export again gives the same bytes."""
    source = make_app(tmp_path / "fa.db", SITE_LANGUAGE="fa")
    built = source.test_cli_runner().invoke(args=["demo", "--articles", "150", "--language", "fa", "--seed", "3"])
    assert built.exit_code == 0, built.output
    first = tmp_path / "first.jsonl"
    assert source.test_cli_runner().invoke(args=["export", "-o", str(first)]).exit_code == 0
    records = [json.loads(line) for line in first.read_text(encoding="utf-8").splitlines()[1:]]
    assert len(records) == 150
    assert any(not r["slug"].isascii() for r in records), "the Persian demo should have Persian slugs"
    assert any(not (r.get("author") or {}).get("slug", "x").isascii() for r in records)

    empty = make_app(tmp_path / "empty.db", SITE_LANGUAGE="fa")
    result = empty.test_cli_runner().invoke(args=["import", str(first)])
    assert result.exit_code == 0 and "150 created" in result.output, result.output
    second = tmp_path / "second.jsonl"
    assert empty.test_cli_runner().invoke(args=["export", "-o", str(second)]).exit_code == 0
    assert second.read_bytes() == first.read_bytes()
