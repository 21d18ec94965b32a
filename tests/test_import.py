"""``syndicate import`` in general: format detection, clear errors, atomic batches, dry runs,
progress."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicate.db import get_store
from syndicate.importers import Source, detect, run_import
from syndicate.validation import FIELDS

DATA = Path(__file__).parent / "data"


def guids(app) -> set[str]:
    with app.app_context():
        return {a.guid for a in get_store().export_rows()}


def write_jsonl(path: Path, count: int) -> Path:
    lines = [
        json.dumps({"guid": f"tag:x,{n}", "title": f"Story {n}", "published": f"2024-01-{n:02d}T10:00:00Z"})
        for n in range(1, count + 1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_formats_are_detected_from_name_and_content(tmp_path):
    assert detect(Source("x", path=DATA / "broken.jsonl")) == "jsonl"
    assert detect(Source("x", path=DATA / "articles.csv")) == "csv"
    assert detect(Source("x", path=DATA / "rss.xml")) == "feed"
    assert detect(Source("x", path=DATA / "atom.xml")) == "feed"
    assert detect(Source("x", path=DATA / "wordpress.xml")) == "wxr"
    nameless = tmp_path / "export"
    nameless.write_bytes((DATA / "wordpress.xml").read_bytes())
    assert detect(Source("x", path=nameless)) == "wxr"
    nameless.write_bytes((DATA / "broken.jsonl").read_bytes())
    assert detect(Source("x", path=nameless)) == "jsonl"
    nameless.write_bytes((DATA / "articles.csv").read_bytes())
    assert detect(Source("x", path=nameless)) == "csv"


def test_an_unknown_format_is_a_clear_error(app, runner, tmp_path):
    junk = tmp_path / "photo.bin"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    result = runner.invoke(args=["import", str(junk)])
    assert result.exit_code != 0
    assert "cannot tell the format" in result.output and "--format" in result.output
    assert "Traceback" not in result.output
    bad_choice = runner.invoke(args=["import", "--format", "docx", str(DATA / "rss.xml")])
    assert bad_choice.exit_code == 2 and "'docx' is not one of" in bad_choice.output


def test_a_missing_file_is_a_clear_error(app, runner, tmp_path):
    result = runner.invoke(args=["import", str(tmp_path / "nope.jsonl")])
    assert result.exit_code != 0 and "no such file" in result.output
    ftp = runner.invoke(args=["import", "ftp://example.com/feed.xml"])
    assert ftp.exit_code != 0 and "only http and https" in ftp.output


def test_the_format_can_be_forced(app, runner, tmp_path):
    renamed = tmp_path / "feed.txt"
    renamed.write_bytes((DATA / "atom.xml").read_bytes())
    result = runner.invoke(args=["import", "--format", "feed", str(renamed)])
    assert "2 created" in result.output


def test_a_batch_the_database_refuses_leaves_it_as_before_that_batch(app, runner, tmp_path):
    original = tmp_path / "original.jsonl"
    original.write_text(
        json.dumps({"guid": "tag:x,4", "title": "Original", "published": "2024-01-04T10:00:00Z"}) + "\n"
    )
    assert "1 created" in runner.invoke(args=["import", str(original)]).output
    with app.app_context():
        store = get_store()
        generation = store.generation()
        # A real refusal from SQLite in the middle of the second batch (record 5 of 8).
        store.conn.execute(
            "CREATE TRIGGER refuse_five BEFORE INSERT ON articles WHEN NEW.guid = 'tag:x,5'"
            " BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"
        )
    source = write_jsonl(tmp_path / "eight.jsonl", 8)
    result = runner.invoke(args=["import", "--batch-size", "3", str(source)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "the database refused the batch line 4 to line 6" in result.output
    assert "refused by the test trigger" in result.output
    assert "Before it: 3 created, 0 updated, 0 unchanged" in result.output
    # Batch 1 (lines 1-3) is saved; batch 2 left nothing behind, not even record 4's update.
    assert guids(app) == {"tag:x,1", "tag:x,2", "tag:x,3", "tag:x,4"}
    with app.app_context():
        store = get_store()
        assert store.article_by_guid("tag:x,4").title == "Original"
        assert store.generation() == generation + 1  # batch 1 only
        store.conn.execute("DROP TRIGGER refuse_five")
    rerun = runner.invoke(args=["import", "--batch-size", "3", str(source)])
    assert "4 created, 1 updated, 3 unchanged, 0 skipped" in rerun.output
    with app.app_context():
        assert get_store().article_by_guid("tag:x,4").title == "Story 4"


def test_dry_run_reports_but_writes_nothing(app, runner, tmp_path):
    result = runner.invoke(args=["import", "--dry-run", str(DATA / "broken.jsonl")])
    assert result.exit_code == 0
    assert "dry run, nothing written" in result.output
    assert "5 created, 0 updated, 0 unchanged, 8 skipped" in result.output
    assert "line 3: skipped: title: is required" in result.output
    assert guids(app) == set()


def test_long_imports_show_a_progress_bar_on_stderr(app, runner, tmp_path):
    source = tmp_path / "many.jsonl"
    lines = [
        json.dumps(
            {"guid": f"tag:many,{n}", "title": f"Item {n}", "published": "2024-01-01T10:00:00Z", "body": "x" * 2000}
        )
        for n in range(1100)
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")  # > 2 MiB
    result = runner.invoke(args=["import", str(source)])
    assert result.exit_code == 0, result.output
    assert "Importing" in result.stderr and "Importing" not in result.stdout
    assert "1100 created" in result.stdout
    small = runner.invoke(args=["import", str(DATA / "articles.csv")])
    assert "Importing" not in small.stderr


def test_store_import_articles_writes_only_what_changed(store):
    from datetime import UTC, datetime

    from syndicate.validation import article_record

    now = datetime(2024, 1, 10, tzinfo=UTC)

    def record(guid: str, **fields) -> dict:
        data = {"guid": guid, "title": "Same slug", "slug": "same-slug", "published": "2024-01-01T10:00:00Z", **fields}
        return article_record(data, now=now)

    batch = [record("tag:a"), record("tag:b", tags=["One"])]
    assert store.import_articles(batch) == (2, 0, 0)
    assert store.article_by_guid("tag:b").slug == "same-slug-2"  # the slug was taken
    generation = store.generation()
    # Identical again (even the record whose slug had to move): nothing written.
    assert store.import_articles([record("tag:a"), record("tag:b", tags=["One"])]) == (0, 0, 2)
    assert store.generation() == generation
    # Only a tag differs: that is a change.
    assert store.import_articles([record("tag:b", tags=["One", "Two"])]) == (0, 1, 0)
    assert [t.slug for t in store.article_by_guid("tag:b").tags] == ["one", "two"]
    # A dry run counts exactly and keeps nothing.
    assert store.import_articles([record("tag:c"), record("tag:a", title="New")], dry_run=True) == (1, 1, 0)
    assert store.article_by_guid("tag:c") is None
    assert store.article_by_guid("tag:a").title == "Same slug"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["slug", "name", "x"]), inner, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(sorted(FIELDS | {"url", "link", "id", "extra"}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.dictionaries(field_names, json_values, max_size=8), min_size=1, max_size=6))
def test_any_json_object_is_imported_or_reported_never_a_crash(app, tmp_path, records):
    source = tmp_path / "fuzz.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    lines: list[str] = []
    with app.app_context():
        summary = run_import(get_store(), str(source), config=app.config, on_event=lambda e: lines.append(str(e)))
    assert summary.created + summary.updated + summary.unchanged + summary.skipped == len(records)
    assert len([line for line in lines if ": skipped: " in line]) == summary.skipped
