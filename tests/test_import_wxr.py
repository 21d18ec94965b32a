"""``syndicate import`` of a WordPress export (WXR): posts only, statuses, dates, terms,
featured images, WordPress formatting, and what is skipped and why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

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
    # An unsaved draft (post_date_gmt of zeros) without NAIVE_TIMEZONE: imported, dated at import.
    assert "warning: item 4 (line 146): published: wp:post_date 2024-08-28 15:20:00 has no time zone" in out
    assert "NAIVE_TIMEZONE" in out and "(guid 'https://gazette.example.org/?p=103')" in out
    assert "item 8 (line 251): skipped: status: WordPress status 'trash' is not imported" in out
    assert "Ignored items that are not posts: 2 attachment, 1 page." in out
    assert "6 created, 0 updated, 0 unchanged, 1 skipped" in out

    posts = stored(app)
    assert set(posts) == {f"https://gazette.example.org/?p={n}" for n in (101, 102, 103, 104, 105, 106)}
    assert posts["https://gazette.example.org/?p=103"].status == "draft"
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
    assert "0 created, 0 updated, 6 unchanged, 1 skipped" in again.output
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


def _with_post(extra_item: str) -> str:
    return WXR.read_text(encoding="utf-8").replace("</channel>", extra_item + "</channel>")


def _item(post_id: int, status: str, date: str, date_gmt: str, title: str) -> str:
    return f"""<item><title>{title}</title><link>https://gazette.example.org/?p={post_id}</link>
<guid isPermaLink="false">https://gazette.example.org/?p={post_id}</guid>
<content:encoded><![CDATA[Text of {title}.]]></content:encoded><excerpt:encoded><![CDATA[]]></excerpt:encoded>
<wp:post_id>{post_id}</wp:post_id><wp:post_date>{date}</wp:post_date><wp:post_date_gmt>{date_gmt}</wp:post_date_gmt>
<wp:post_name></wp:post_name><wp:status>{status}</wp:status><wp:post_type>post</wp:post_type></item>
"""


def test_undated_posts_are_imported_as_drafts_like_wordpress_shows_them(app, runner, tmp_path):
    source = tmp_path / "export.xml"
    items = (
        _item(201, "draft", "", "", "Empty-dated draft")
        + _item(202, "pending", "0000-00-00 00:00:00", "0000-00-00 00:00:00", "Zero-dated pending")
        + _item(203, "publish", "0000-00-00 00:00:00", "0000-00-00 00:00:00", "Zero-dated publish")
        + _item(204, "private", "2024-09-03 10:00:00", "2024-09-03 08:00:00", "Private note")
    )
    source.write_text(_with_post(items), encoding="utf-8")
    before = datetime.now(UTC).replace(microsecond=0)
    result = runner.invoke(args=["import", str(source)])
    assert result.exit_code == 0, result.output
    assert "10 created, 0 updated, 0 unchanged, 1 skipped" in result.output
    assert "published: the post has no date; imported as a draft (guid 'https://gazette.example.org/?p=203')" in (
        result.output
    )
    posts = stored(app)
    for n in (201, 202, 203, 204):
        assert posts[f"https://gazette.example.org/?p={n}"].status == "draft"
    assert posts["https://gazette.example.org/?p=201"].published >= before  # dated when imported
    assert posts["https://gazette.example.org/?p=204"].published == datetime(2024, 9, 3, 8, 0, tzinfo=UTC)
    again = runner.invoke(args=["import", str(source)])
    assert "0 created, 0 updated, 10 unchanged, 1 skipped" in again.output  # the import date is kept


@pytest.mark.parametrize(
    "encoding, declared",
    [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-16-le", "utf-16"), ("utf-32", "UTF-32")],
    ids=["utf-16 with BOM", "utf-16-be no BOM", "utf-16-le no BOM", "utf-32 with BOM"],
)
@pytest.mark.parametrize("fmt", ["auto", "wxr"])
def test_a_utf16_export_is_imported(app, runner, tmp_path, encoding, declared, fmt):
    text = WXR.read_text(encoding="utf-8").replace('encoding="UTF-8"', f'encoding="{declared}"', 1)
    assert f'encoding="{declared}"' in text
    source = tmp_path / "export.xml"
    source.write_bytes(text.encode(encoding))
    result = runner.invoke(args=["import", "--format", fmt, str(source)])
    assert result.exit_code == 0, result.output
    assert "6 created, 0 updated, 0 unchanged, 1 skipped" in result.output
    cafe = stored(app)["https://gazette.example.org/?p=102"]
    assert cafe.title == "Café culture returns to the old quay & its market"


def test_a_utf16_export_cut_mid_character_is_one_clear_line(app, runner, tmp_path):
    source = tmp_path / "export.xml"
    source.write_bytes(WXR.read_text(encoding="utf-8").encode("utf-16")[:-1])
    result = runner.invoke(args=["import", "--format", "wxr", str(source)])
    assert result.exit_code == 1 and result.output.startswith("Error:") and "UTF-16" in result.output
    assert stored(app) == {}
