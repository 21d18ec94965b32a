"""The site in a real browser (Debian's Chromium through Playwright) at phone width: nothing
wider than the screen, no JavaScript dialogs, the stylesheet applied and focus visible."""

from __future__ import annotations

import pytest

from .conftest import require_tool
from .test_site import visible_articles

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield b
        b.close()


def test_front_page_and_article_fit_a_phone(browser, demo_app, live_server):
    server = live_server(demo_app)
    shown, _ = visible_articles(demo_app)
    article = next(a for a in shown if a.tags)
    for path in ["/", "/page/3/", article.path, "/search?q=talks"]:
        page, dialogs = browser.new_page(viewport={"width": 360, "height": 780}), []
        page.on("dialog", lambda d, seen=dialogs: (seen.append(d.message), d.dismiss()))
        response = page.goto(server.url + path, wait_until="load")
        assert response.status == 200, path
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{path} overflows horizontally: {widths}"
        # The stylesheet loaded (CSP-friendly: an external file) and laid out the page.
        assert page.evaluate("getComputedStyle(document.querySelector('.skip')).position") == "absolute"
        h1 = page.query_selector("h1")
        assert h1.is_visible() and h1.bounding_box()["width"] <= 360
        # The skip link is the first stop of the keyboard and shows when focused.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        box = page.query_selector(".skip").bounding_box()
        assert box["y"] >= 0, "the focused skip link is on screen"
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
        assert dialogs == [], f"JS dialog fired on {path}: {dialogs}"
        page.close()
