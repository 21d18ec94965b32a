"""What a miss reuses (issue 12, goal 1): the masthead, footer, breadcrumb trails and pagers kept
per everything they show, feed channels kept per every field of the document, a listing's
total kept per content version, and a page's articles read as one row of JSON. Each is shown
to follow every change a reader would see on the very next request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from markupsafe import Markup

from syndicate.db import get_store
from syndicate.fragments import fragments
from syndicate.models import Scope
from tests.conftest import make_app
from tests.store_support import record

DAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _set_clock(app, moment: datetime) -> None:
    """The clock of the per-thread store that the test client's requests use."""
    with app.test_request_context("/"):
        get_store().clock = lambda: moment


def _save(app, **fields):
    with app.test_request_context("/"):
        return get_store().save_article(record(**fields))[0]


def test_masthead_follows_the_day_and_the_categories(app, client):
    _save(app, title="A headline", category="World")
    _set_clock(app, DAY)
    first = client.get("/").text
    assert "Wednesday, November 25, 2026" in first and ">World</a>" in first
    kept = len(fragments(app).shells)
    assert client.get("/").text == first
    assert len(fragments(app).shells) == kept  # the same masthead, footer and trail: nothing new

    _set_clock(app, DAY + timedelta(days=1))
    assert "Thursday, November 26, 2026" in client.get("/").text

    with app.test_request_context("/"):
        get_store().save_term("category", "world", "Planet")
    page = client.get("/").text
    assert ">Planet</a>" in page and ">World</a>" not in page
    # The current section is part of what the masthead shows.
    assert 'href="/category/world/" aria-current="page">Planet' in client.get("/category/world/").text


def test_count_and_pager_follow_new_articles(tmp_path):
    app = make_app(tmp_path / "t.db", PER_PAGE=2)
    client = app.test_client()
    for n in range(4):
        _save(app, title=f"Story {n}", guid=f"urn:t:{n}", published=f"2026-11-2{n}T09:00:00+00:00")
    front = client.get("/").text
    assert "4 articles" in front and 'href="/page/2/">2</a>' in front and "/page/3/" not in front
    assert client.get("/page/2/").text.count('aria-current="page">2</span>') == 1

    _save(app, title="Story 4", guid="urn:t:4", published="2026-11-24T09:00:00+00:00")
    front = client.get("/").text
    assert "5 articles" in front and 'href="/page/3/">3</a>' in front
    assert "page 2 of 3" in client.get("/page/2/").text
    assert client.get("/page/3/").status_code == 200


def test_feed_channel_follows_every_change(app, client):
    _save(app, title="Older", guid="urn:f:1", published="2026-11-20T09:00:00+00:00")
    for url in ("/feed/", "/feed/atom/", "/feed/json/"):
        client.get(url)
    kept = len(fragments(app).channels)
    assert kept == 3  # one channel a format
    rss = client.get("/feed/").text
    assert len(fragments(app).channels) == kept

    _save(app, title="Newer", guid="urn:f:2", published="2026-11-22T09:00:00+00:00")
    after = client.get("/feed/").text
    assert "Newer" in after and after != rss
    assert "<lastBuildDate>Sun, 22 Nov 2026 09:00:00 +0000</lastBuildDate>" in after
    assert '"title": "Newer"' in client.get("/feed/json/").text
    # Another page of the same feed has other links: another channel, never this one.
    assert client.get("/feed/?page=2").status_code == 404


def test_a_twin_without_pieces_keeps_no_shells_or_channels(tmp_path):
    twin = make_app(tmp_path / "twin.db", FRAGMENT_CACHE_SIZE=0)
    _save(twin, title="A headline")
    client = twin.test_client()
    client.get("/")
    client.get("/feed/")
    assert len(fragments(twin).shells) == 0 and len(fragments(twin).channels) == 0


def test_breadcrumbs_keep_markup_and_text_apart(app):
    with app.test_request_context("/"):
        from syndicate.site import breadcrumbs

        text = breadcrumbs([("Home", "/"), ("<b>Bold</b>", "")])
        markup = breadcrumbs([("Home", "/"), (Markup("<b>Bold</b>"), "")])
    assert "&lt;b&gt;Bold&lt;/b&gt;" in text
    assert "<b>Bold</b>" in markup


def test_a_page_read_as_json_is_the_articles_read_row_by_row(app):
    _save(app, title="Plain", guid="urn:j:1", tags=[], published="2026-11-20T09:00:00+00:00")
    _save(
        app, title="Ünïcode “quotes” \u2028 & <tags>", guid="urn:j:2", category="Économie",
        tags=["Zèbre", "alpha", "Ωmega"], published="2026-11-21T09:00:00+00:00", author="",
    )  # fmt: skip
    _save(app, title="Scheduled", guid="urn:j:3", published="2026-11-30T09:00:00+00:00")
    with app.test_request_context("/"):
        store = get_store()
        store.clock = lambda: DAY
        zebra = next(t for t in store.terms("tag") if t.name == "Zèbre")
        for scope in (Scope("site"), Scope("tag", zebra.slug), Scope("month", "2026-11")):
            page = store.page(scope, 1, 10)
            assert page is not None and page.articles
            assert page.articles == store.articles_by_ids([a.id for a in page.articles])
            oldest = store.page(scope, 1, 10, oldest_first=True)
            assert oldest.articles == list(reversed(page.articles))
        tagged = store.page(Scope("site"), 1, 10).articles[0]
        assert [t.name for t in tagged.tags] == ["Zèbre", "alpha", "Ωmega"]  # by name, as SQLite compares
