"""``syndicate import`` of CSV: header-named columns, BOM, tags, multi-line cells, bad rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from syndicate.db import get_store

DATA = Path(__file__).parent / "data"


def stored(app) -> dict:
    with app.app_context():
        return {a.guid: a for a in get_store().export_rows()}


def test_csv_with_bom_imports_every_field(app, runner):
    result = runner.invoke(args=["import", str(DATA / "articles.csv")])
    assert result.exit_code == 0, result.output
    assert "3 created, 0 updated, 0 unchanged, 0 skipped" in result.output
    articles = stored(app)
    market = articles["tag:quay.example.org,1"]  # the BOM did not end up in the first column name
    assert (market.title, market.slug, market.summary) == ("Quay market opens", "quay-market", "Stalls are back.")
    assert (market.author.name, market.category.name) == ("Bo Lind", "Markets")
    assert [t.name for t in market.tags] == ["Food", "Quay"]  # separated by ";"
    assert (market.image_url, market.image_caption, market.image_length) == (
        "https://quay.example.org/m.jpg", "Morning stalls", 1200,
    )  # fmt: skip
    ferry = articles["tag:quay.example.org,2"]
    assert ferry.title == "Night ferry, delayed"
    assert [t.name for t in ferry.tags] == ["Ferries", "Night"]  # separated by "," when there is no ";"
    assert ferry.body.count("<p>") == 2  # a quoted cell spanning lines
    assert ferry.published == datetime(2024, 6, 2, 21, 15, tzinfo=UTC)
    assert ferry.slug == "night-ferry-delayed"  # empty slug cell: made from the title
    assert articles["tag:quay.example.org,3"].status == "draft"
    again = runner.invoke(args=["import", str(DATA / "articles.csv")])
    assert "0 created, 0 updated, 3 unchanged" in again.output


def test_bad_rows_are_reported_with_the_line_they_start_on(app, runner):
    result = runner.invoke(args=["import", str(DATA / "broken.csv")])
    assert result.exit_code == 0, result.output
    out = result.output
    # Line 2's body spans three lines, so the next row starts on line 5.
    assert "line 5: skipped: published: not an ISO-8601 date and time: 'yesterday'" in out
    assert "line 6: skipped: invalid UTF-8 on line 6" in out
    assert "line 7: skipped: has 7 cells but the header names 6" in out
    assert "line 8: skipped: title: is required" in out
    assert "line 9: skipped: published: has no time zone" in out
    assert "line 10: skipped: image_length: must be a whole number of bytes" in out
    assert "2 created, 0 updated, 0 unchanged, 6 skipped" in out
    articles = stored(app)
    assert set(articles) == {"tag:b.example,1", "tag:b.example,8"}
    assert articles["tag:b.example,8"].title == "Good last row with bell"  # control character stripped
    assert [t.name for t in articles["tag:b.example,1"].tags] == ["Boats"]


def test_csv_without_a_title_column_is_refused(app, runner, tmp_path):
    source = tmp_path / "nope.csv"
    source.write_text("headline,published\nHello,2024-01-01T00:00:00Z\n", encoding="utf-8")
    result = runner.invoke(args=["import", str(source)])
    assert result.exit_code != 0
    assert "no 'title' column" in result.output and "Traceback" not in result.output


def test_unknown_columns_are_reported_once_and_ignored(app, runner, tmp_path):
    source = tmp_path / "extra.csv"
    source.write_text(
        "title,published,url,views\nOne,2024-01-01T00:00:00Z,https://old.example/a/one/,5\n"
        "Two,2024-01-02T00:00:00Z,https://old.example/a/two/,7\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["import", str(source)])
    assert result.output.count("ignoring the unknown column 'views'") == 1
    assert "2 created" in result.output
    assert {a.slug for a in stored(app).values()} == {"one", "two"}  # from the url column
