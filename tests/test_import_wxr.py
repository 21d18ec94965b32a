"""``syndicate import`` of a WordPress export (WXR): posts only, statuses, dates, terms,
featured images, WordPress formatting, and what is skipped and why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from syndicate.db import get_store
from syndicate.importers.wxr import autop

from .conftest import make_app

DATA = Path(__file__).parent / "data"
WXR = DATA / "wordpress.xml"


def stored(app) -> dict:
    with app.app_context():
        return {a.guid: a for a in get_store().export_rows()}


def test_wordpress_export_imports_the_posts(app, runner):
    result = runner.invoke(args=["import", str(WXR)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "removed 2 control characters" in out
    assert "item 4 (line 146): skipped: published: no wp:post_date_gmt" in out and "NAIVE_TIMEZONE" in out
    assert "item 8 (line 251): skipped: status: WordPress status 'trash' is not imported" in out
    assert "Ignored items that are not posts: 2 attachment, 1 page." in out
    assert "5 created, 0 updated, 0 unchanged, 2 skipped" in out

    posts = stored(app)
    assert set(posts) == {f"https://gazette.example.org/?p={n}" for n in (101, 102, 104, 105, 106)}
    ferry = posts["https://gazette.example.org/?p=101"]
    assert (ferry.slug, ferry.title, ferry.status) == (
        "new-ferry-timetable",
        "New ferry timetable starts on Monday",
        "published",
    )
    assert ferry.author.name == "Morgan Hale"  # display name, not the login
    assert ferry.category.name == "Local News" and [t.name for t in ferry.tags] == ["Ferries", "Transport"]
    assert ferry.published == datetime(2024, 8, 14, 7, 30, tzinfo=UTC)  # post_date_gmt
    assert ferry.updated == datetime(2024, 8, 15, 10, 5, 10, tzinfo=UTC)  # post_modified_gmt
    assert ferry.summary == "Fewer boats, but more on market days."
    # Featured image: the attachment is listed after the post in the file.
    assert ferry.image_url == "https://gazette.example.org/wp-content/uploads/2024/08/ferry.jpg"
    assert ferry.image_caption == "The morning ferry at the north quay. Photo: M. Hale"
    assert ferry.image_type == "image/jpeg"
    # WordPress's automatic paragraphs and the [caption] shortcode.
    assert ferry.body.startswith("<p>The harbour authority has published")
    assert "half hour.<br>\nExtra sailings" in ferry.body
    assert "<figcaption>The morning ferry at the north quay.</figcaption></figure>" in ferry.body
    assert "[caption" not in ferry.body and "<p><ul>" not in ferry.body
    assert '<p>"We listened to commuters," the harbour master said.</p>' in ferry.body

    cafe = posts["https://gazette.example.org/?p=102"]
    assert cafe.slug == "café-culture-returns"  # percent-encoded post_name, decoded as WordPress had it
    assert cafe.title == "Café culture returns to the old quay & its market"  # WordPress titles are HTML
    assert cafe.category is None  # "Uncategorized" is WordPress's default, not a section
    assert cafe.author.name == "Inès Moreau"
    assert "<!--" not in cafe.body and cafe.body.startswith("<p>Three cafés")

    future = posts["https://gazette.example.org/?p=104"]
    assert future.status == "published" and future.published == datetime(2099, 8, 1, 8, 0, tzinfo=UTC)

    storm = posts["https://gazette.example.org/?p=105"]
    assert storm.title == "Storm damage: what we know so far"  # raw control character removed
    assert "<script" not in storm.body and "onerror" not in storm.body and "alert" not in storm.body
    assert "Roofs were damaged on Harbour Row." in storm.body
    assert storm.category.name == "Local News" and [t.name for t in storm.tags] == ["Weather"]

    assert posts["https://gazette.example.org/?p=106"].status == "draft"  # pending review


def test_scheduled_post_is_hidden_until_its_date(app, runner):
    runner.invoke(args=["import", str(WXR)])
    with app.app_context():
        store = get_store()
        assert store.article("regatta-entries-open") is None
        assert store.article("regatta-entries-open", include_hidden=True) is not None
        assert store.article("new-ferry-timetable") is not None
        assert store.article("council-budget") is None  # pending -> draft


def test_unsaved_draft_is_imported_with_naive_timezone(tmp_path):
    app = make_app(tmp_path / "wp.db", NAIVE_TIMEZONE="Europe/London")
    result = app.test_cli_runner().invoke(args=["import", str(WXR)])
    assert "item 4" not in result.output
    assert "6 created, 0 updated, 0 unchanged, 1 skipped" in result.output
    draft = stored(app)["https://gazette.example.org/?p=103"]
    assert draft.status == "draft"
    assert draft.published == datetime(2024, 8, 28, 14, 20, tzinfo=UTC)  # 15:20 BST
    assert draft.slug == "draft-harbour-dredging-plan"  # no post_name: from the title


def test_reimporting_the_export_changes_nothing(app, runner):
    runner.invoke(args=["import", str(WXR)])
    again = runner.invoke(args=["import", str(WXR)])
    assert "0 created, 0 updated, 5 unchanged, 2 skipped" in again.output
    assert again.exit_code == 0


def test_malformed_wxr_is_refused_before_anything_is_written(app, runner, tmp_path):
    broken = tmp_path / "broken.xml"
    text = WXR.read_text(encoding="utf-8")
    broken.write_text(text.replace("</channel>", "<item><title>cut off</title></channel>"), encoding="utf-8")
    result = runner.invoke(args=["import", str(broken)])
    assert result.exit_code != 0
    assert "is not well-formed XML" in result.output and "Traceback" not in result.output
    assert stored(app) == {}


def test_autop_wraps_loose_text_like_wordpress():
    text = "First line\nsecond line\n\n<h2>Heading</h2>\n\nLast <em>para</em>."
    assert autop(text) == "<p>First line<br>\nsecond line</p>\n<h2>Heading</h2>\n<p>Last <em>para</em>.</p>"
    assert autop("<p>Already</p>\n\n<p>wrapped</p>") == "<p>Already</p>\n<p>wrapped</p>"
