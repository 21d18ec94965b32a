"""The site in a real browser (Debian's Chromium through Playwright) at phone width: nothing
wider than the screen, no JavaScript dialogs, the stylesheet applied and focus visible."""

from __future__ import annotations

import pytest

from .conftest import require_tool
from .test_site import visible_articles

pytestmark = pytest.mark.slow

# Every element with its own text: WCAG 2 contrast ratio of its colour against the first
# opaque background behind it; returns those under 4.5:1 (AA for body text).
LOW_CONTRAST = """() => {
  const lum = (css) => {
    const [r, g, b] = css.match(/[0-9.]+/g).slice(0, 3).map(Number).map((v) => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = getComputedStyle(el).backgroundColor;
      if (c && c !== "transparent" && !/rgba\\(.*, 0\\)$/.test(c)) return c;
    }
    return "rgb(255, 255, 255)";
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const style = getComputedStyle(el);
    const a = lum(style.color), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${el.tagName}.${el.className} ${style.color} on ${background(el)}: ${ratio.toFixed(2)}`);
  }
  return low;
}"""


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
        assert page.evaluate(LOW_CONTRAST) == [], path
        assert dialogs == [], f"JS dialog fired on {path}: {dialogs}"
        page.close()
