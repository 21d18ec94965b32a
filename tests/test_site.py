"""The HTML site as a reader sees it, on the 600-article demo archive: every kind of page,
links that resolve, pagination, breadcrumbs, autodiscovery, redirects, hidden articles,
sitemaps and robots.txt."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from syndicate.db import get_store
from syndicate.validation import article_record, record_from_article

from .conftest import SITE_URL


def parse(response):
    assert response.status_code == 200, (response.status_code, response.request.path)
    assert response.mimetype == "text/html"
    return lxml.html.fromstring(response.get_data(as_text=True))


def text(node) -> str:
    return " ".join(node.text_content().split())


def breadcrumbs(doc) -> str:
    return text(doc.cssselect("nav.crumbs")[0])


def head_link(doc, rel: str) -> str | None:
    found = doc.xpath(f"//head/link[@rel='{rel}']/@href")
    return found[0] if found else None


def alternates(doc) -> dict[str, str]:
    links = doc.xpath("//head/link[@rel='alternate']")
    return {link.get("type") + " " + link.get("href"): link.get("title") for link in links}


def visible_articles(app):
    """Every article a reader may see, newest first, and the hidden ones (drafts, scheduled)."""
    with app.app_context():
        store = get_store()
        now = store.clock()
        everything = list(store.export_rows())
    shown = sorted(
        (a for a in everything if a.status == "published" and a.published <= now),
        key=lambda a: (a.published, a.id),
        reverse=True,
    )
    hidden = [a for a in everything if a.status != "published" or a.published > now]
    return shown, hidden


@pytest.fixture
def articles(demo_app):
    return visible_articles(demo_app)


# ------------------------------------------------------------------ what each page shows


def test_front_page_lists_the_newest_articles_with_everything_a_reader_needs(demo_client, demo_app, articles):
    shown, _ = articles
    per_page = demo_app.config["PER_PAGE"]
    doc = parse(demo_client.get("/"))
    cards = doc.cssselect("main article.card")
    assert [c.cssselect("h2 a")[0].get("href") for c in cards] == [a.path for a in shown[:per_page]]
    first, card = shown[0], cards[0]
    assert text(card.cssselect("h2")[0]) == first.title
    assert text(card.cssselect(".label")[0]) == first.category.name
    assert card.cssselect("figure img")[0].get("src") == first.image_url
    assert card.cssselect("figure img")[0].get("alt") == first.image_caption
    assert text(card.cssselect("figcaption")[0]) == first.image_caption
    assert text(card.cssselect(".summary")[0]) == first.summary
    assert first.author.name in text(card.cssselect(".byline")[0])
    stamp = card.cssselect("time")[0]
    assert datetime.fromisoformat(stamp.get("datetime")) == first.published
    assert re.fullmatch(r"[A-Z][a-z]+ \d{1,2}, \d{4}", text(stamp))
    # Header: the title, today written out, one link per category in their order.
    assert text(doc.cssselect(".brand")[0]) == demo_app.config["SITE_TITLE"]
    today = datetime.now(UTC)
    assert text(doc.cssselect(".today")[0]) == f"{today:%A}, {today:%B} {today.day}, {today.year}"
    with demo_app.app_context():
        categories = get_store().terms("category")
    assert [a.get("href") for a in doc.cssselect("nav.sections a")] == [c.path for c in categories]
    # Landmarks, one h1, a skip link to main.
    assert len(doc.xpath("//h1")) == 1
    assert doc.xpath("//header") and doc.xpath("//footer") and doc.xpath("//main[@id='main']")
    assert doc.xpath("//a[@class='skip']/@href") == ["#main"]
    assert doc.xpath("//html/@lang") == ["en"]
    # Head: canonical, next (no prev on page 1), site feeds.
    assert head_link(doc, "canonical") == SITE_URL + "/"
    assert head_link(doc, "next") == "/page/2/" and head_link(doc, "prev") is None
    feeds = alternates(doc)
    site_feeds = {"application/rss+xml /feed/", "application/atom+xml /feed/atom/", "application/feed+json /feed/json/"}
    assert set(feeds) == site_feeds
    assert doc.xpath("//link[@rel='stylesheet']/@href") == ["/static/style.css"]


def test_page_three_has_breadcrumbs_pagination_and_rel_links(demo_client, articles, demo_app):
    shown, _ = articles
    per_page = demo_app.config["PER_PAGE"]
    last = -(-len(shown) // per_page)
    doc = parse(demo_client.get("/page/3/"))
    assert breadcrumbs(doc) == "Home › Blog › Page 3"
    assert [c.get("href") for c in doc.cssselect("main article.card h2 a")] == [
        a.path for a in shown[2 * per_page : 3 * per_page]
    ]
    assert head_link(doc, "prev") == "/page/2/" and head_link(doc, "next") == "/page/4/"
    assert head_link(doc, "canonical") == SITE_URL + "/page/3/"
    pager = doc.cssselect("nav.pager")[0]
    links = {text(a): a.get("href") for a in pager.cssselect("a")}
    assert links["« First"] == "/" and links["‹ Previous"] == "/page/2/"
    assert links["Next ›"] == "/page/4/" and links["Last »"] == f"/page/{last}/"
    assert links["1"] == "/" and links["5"] == "/page/5/"
    assert text(pager.cssselect("[aria-current=page]")[0]) == "3"
    assert f"Page 3 of {last}" in text(pager)
    # The last page: no next, and its articles are the oldest.
    doc = parse(demo_client.get(f"/page/{last}/"))
    assert head_link(doc, "next") is None and head_link(doc, "prev") == f"/page/{last - 1}/"
    hrefs = [c.get("href") for c in doc.cssselect("main article.card h2 a")]
    assert hrefs[-1] == shown[-1].path


def test_category_page_two(demo_client, demo_app, articles):
    shown, _ = articles
    per_page = demo_app.config["PER_PAGE"]
    economy = [a for a in shown if a.category and a.category.slug == "economy"]
    doc = parse(demo_client.get("/category/economy/page/2/"))
    assert breadcrumbs(doc) == "Home › Economy › Page 2"
    assert text(doc.xpath("//h1")[0]) == "Economy"
    assert [c.get("href") for c in doc.cssselect("main article.card h2 a")] == [
        a.path for a in economy[per_page : 2 * per_page]
    ]
    assert head_link(doc, "prev") == "/category/economy/"
    assert head_link(doc, "canonical") == SITE_URL + "/category/economy/page/2/"
    assert doc.xpath("//nav[@class='sections']//a[@aria-current='page']/@href") == ["/category/economy/"]
    feeds = alternates(doc)
    assert "application/rss+xml /category/economy/feed/" in feeds
    assert "application/atom+xml /category/economy/feed/atom/" in feeds
    assert "application/feed+json /category/economy/feed/json/" in feeds
    assert "application/rss+xml /feed/" not in feeds
    assert "Economy" in feeds["application/rss+xml /category/economy/feed/"]
    assert breadcrumbs(parse(demo_client.get("/category/economy/"))) == "Home › Economy"


@pytest.mark.parametrize("kind", ["tag", "author"])
def test_tag_and_author_pages_list_their_articles_and_feeds(demo_client, articles, kind):
    shown, _ = articles
    first = shown[0]
    term = first.tags[0] if kind == "tag" else first.author
    mine = [a for a in shown if (term in a.tags if kind == "tag" else a.author == term)]
    doc = parse(demo_client.get(term.path))
    hrefs = [c.get("href") for c in doc.cssselect("main article.card h2 a")]
    assert hrefs[0] == first.path and hrefs == [a.path for a in mine[: len(hrefs)]]
    assert term.name in text(doc.xpath("//h1")[0])
    assert breadcrumbs(doc) == f"Home › {term.name}"
    assert f"application/atom+xml {term.path}feed/atom/" in alternates(doc)


def test_date_archives(demo_client, articles):
    shown, _ = articles
    newest = shown[0].published
    year, month, day = f"{newest.year:04d}", f"{newest.month:02d}", f"{newest.day:02d}"
    for path, kind in ((f"/{year}/", "year"), (f"/{year}/{month}/", "month"), (f"/{year}/{month}/{day}/", "day")):
        doc = parse(demo_client.get(path))
        first = doc.cssselect("main article.card h2 a")[0].get("href")
        assert first == shown[0].path, kind
        assert all(a.get("href").startswith(path) for a in doc.cssselect("main article.card h2 a"))
    doc = parse(demo_client.get(f"/{year}/{month}/{day}/"))
    month_name = newest.strftime("%B")
    assert breadcrumbs(doc) == f"Home › {year} › {month_name} › {newest.day}"
    assert text(doc.xpath("//h1")[0]) == f"Archive: {month_name} {newest.day}, {year}"


def test_article_page(demo_client, demo_app, articles):
    shown, _ = articles
    article = next(a for a in shown[5:] if a.tags and a.image_caption)
    doc = parse(demo_client.get(article.path))
    assert text(doc.xpath("//h1")[0]) == article.title and len(doc.xpath("//h1")) == 1
    assert breadcrumbs(doc) == f"Home › {article.category.name} › {article.title}"
    story = doc.cssselect("article.story")[0]
    assert article.author.name in text(story.cssselect(".byline")[0])
    assert story.cssselect(".byline time")[0].get("datetime").startswith(article.published.strftime("%Y-%m-%dT%H:%M"))
    assert text(story.cssselect("figcaption")[0]) == article.image_caption
    assert story.cssselect("figure img")[0].get("alt") == article.image_caption
    body = lxml.html.fromstring(article.body)
    assert text(story.cssselect(".body")[0]) == text(body)  # the stored HTML, as HTML
    assert [a.get("href") for a in story.cssselect(".tags a")] == [t.path for t in article.tags]
    index = shown.index(article)
    adjacent = doc.cssselect("nav.adjacent")[0]
    assert adjacent.cssselect("a[rel=prev]")[0].get("href") == shown[index + 1].path
    assert adjacent.cssselect("a[rel=next]")[0].get("href") == shown[index - 1].path
    related = [a.get("href") for a in doc.cssselect("aside.related a")]
    assert related and all(a.category == article.category for a in shown if a.path in related), (
        "related articles come from the same category"
    )
    assert head_link(doc, "canonical") == SITE_URL + article.path
    og = {m.get("property"): m.get("content") for m in doc.xpath("//meta[@property]")}
    assert og["og:title"] == article.title and og["og:url"] == SITE_URL + article.path
    assert og["og:image"] == article.image_url and og["og:type"] == "article"
    data = json.loads(doc.xpath("//script[@type='application/ld+json']")[0].text)
    assert data["@type"] == "NewsArticle" and data["headline"] == article.title
    assert datetime.fromisoformat(data["datePublished"]) == article.published
    assert data["author"][0]["name"] == article.author.name
    assert data["mainEntityOfPage"] == SITE_URL + article.path
    assert f"application/rss+xml /category/{article.category.slug}/feed/" in alternates(doc)
    assert "application/rss+xml /feed/" in alternates(doc)


def test_hostile_text_is_escaped_and_json_ld_cannot_break_out(demo_app):
    client = demo_app.test_client()
    with demo_app.app_context():
        store = get_store()
        record = article_record(
            {
                "title": "</script><script>alert(1)</script> & <b>bold</b>",
                "summary": "Quotes \" and ' and </script>",
                "body": "<p>Fine <em>body</em></p><script>alert(2)</script>",
                "image_url": "https://cdn.example.com/x.jpg",
                "image_caption": "<img src=x onerror=alert(3)>",
                "category": "World",
                "published": "2020-01-01T10:00:00+00:00",
            },
            now=store.clock(),
        )
        article, _ = store.save_article(record)
    html = client.get(article.path).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert html.count("<script") == 1  # the JSON-LD block only
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and ">" not in block and "&" not in block
    assert json.loads(block)["headline"].startswith("</script>")
    doc = lxml.html.fromstring(html)
    assert text(doc.xpath("//h1")[0]) == "</script><script>alert(1)</script> & <b>bold</b>"
    assert doc.cssselect(".body em") and not doc.cssselect(".body script")


def test_last_modified_is_the_newest_update_shown(demo_client, articles, demo_app):
    shown, _ = articles
    per_page = demo_app.config["PER_PAGE"]
    before = datetime.now(UTC).replace(microsecond=0)
    response = demo_client.get("/page/2/")
    after = datetime.now(UTC)
    newest = max(a.updated for a in shown[per_page : 2 * per_page]).replace(microsecond=0)
    if newest <= before:
        assert response.last_modified == newest
    else:  # an update time in the future is sent as "now" (RFC 9110 8.8.2.1)
        assert before <= response.last_modified <= after
    # validators and caching headers come from the cache layer, on every page
    assert response.headers["ETag"].startswith('"') and "max-age" in response.headers["Cache-Control"]
    article = shown[-1]  # old, so its update time is in the past
    assert demo_client.get(article.path).last_modified >= article.updated.replace(microsecond=0)


def test_dates_are_shown_in_the_configured_time_zone(demo_db):
    from zoneinfo import ZoneInfo

    from .conftest import make_app

    app = make_app(demo_db, TIMEZONE="Pacific/Kiritimati")  # UTC+14: the local date differs
    shown, _ = visible_articles(app)
    article = next(a for a in shown if a.published.hour >= 10)
    local = article.published.astimezone(ZoneInfo("Pacific/Kiritimati"))
    doc = parse(app.test_client().get(article.path))
    stamp = doc.cssselect(".story .byline time")[0]
    # CLDR's English: a 12-hour clock, a narrow no-break space before AM/PM.
    hour = local.hour % 12 or 12
    assert text(stamp).replace("\u202f", " ").startswith(f"{local:%B} {local.day}, {local.year}, {hour}:{local:%M %p}")
    assert stamp.get("datetime") == article.published.strftime("%Y-%m-%dT%H:%M:%SZ")  # machine value: UTC
    assert article.path.startswith(article.published.strftime("/%Y/%m/%d/"))  # URLs keep the UTC date
    today = datetime.now(ZoneInfo("Pacific/Kiritimati"))
    assert text(doc.cssselect(".today")[0]) == f"{today:%A}, {today:%B} {today.day}, {today.year}"


# ------------------------------------------------------------------ links resolve


def internal_links(doc) -> set[str]:
    links = set(doc.xpath("//a/@href")) | set(doc.xpath("//head/link[@rel!='alternate']/@href"))
    out = set()
    for href in links:
        parts = urlsplit(href)
        if parts.netloc and href.startswith(SITE_URL):
            href = href[len(SITE_URL) :]
        elif parts.netloc or href.startswith("#"):
            continue
        if "/feed/" in href:
            continue  # feeds are served by the feeds blueprint, tested there
        out.add(href)
    return out


def test_every_link_on_every_kind_of_page_resolves(demo_client, articles):
    shown, _ = articles
    article = shown[3]
    pages = [
        "/", "/page/2/", article.path, article.category.path, article.category.path + "page/2/",
        article.author.path, f"/{article.published:%Y}/", f"/{article.published:%Y/%m}/",
        f"/{article.published:%Y/%m/%d}/", "/search?q=talks", "/page/0/",
    ]  # fmt: skip
    seen: set[str] = set()
    for path in pages:
        response = demo_client.get(path)
        doc = lxml.html.fromstring(response.get_data(as_text=True))
        for href in internal_links(doc) - seen:
            seen.add(href)
            assert demo_client.get(href).status_code == 200, f"{href} (linked from {path})"
    assert len(seen) > 60


# ------------------------------------------------------------------ redirects


def test_page_one_redirects_to_the_listing(demo_client, articles):
    shown, _ = articles
    article = shown[0]
    for path, target in [
        ("/page/1/", "/"),
        ("/category/economy/page/1/", "/category/economy/"),
        (article.author.path + "page/1/", article.author.path),
        (f"/{article.published:%Y}/page/1/", f"/{article.published:%Y}/"),
    ]:
        response = demo_client.get(path)
        assert response.status_code == 301 and response.headers["Location"] == target


def test_changed_slug_redirects_permanently(demo_app, articles):
    shown, _ = articles
    client = demo_app.test_client()
    old = shown[10]
    with demo_app.app_context():
        store = get_store()
        record = article_record({**record_from_article(old), "slug": "a-brand-new-slug"}, now=store.clock())
        new, created = store.save_article(record)
    assert not created and new.guid == old.guid and new.path != old.path
    response = client.get(old.path)
    assert response.status_code == 301 and response.headers["Location"] == new.path
    assert client.get(new.path).status_code == 200


def test_wrong_date_in_permalink_redirects_to_the_right_one(demo_client, articles):
    shown, _ = articles
    article = shown[0]
    response = demo_client.get(f"/1999/01/01/{article.slug}/")
    assert response.status_code == 301 and response.headers["Location"] == article.path


def test_hidden_articles_are_never_shown_or_listed(demo_client, articles):
    shown, hidden = articles
    assert hidden, "the demo has drafts and scheduled articles"
    hidden_paths = {a.path for a in hidden}
    for article in hidden:
        assert demo_client.get(article.path).status_code == 404
    listed = set()
    for path in ["/", "/page/2/", "/sitemap-1.xml", hidden[0].category.path, f"/{hidden[0].published:%Y/%m}/"]:
        listed |= set(re.findall(r'href="([^"]+)"', demo_client.get(path).get_data(as_text=True)))
    sitemap = demo_client.get("/sitemap-1.xml").get_data(as_text=True)
    assert not hidden_paths & listed
    assert not any(SITE_URL + p in sitemap for p in hidden_paths)
    title = hidden[0].title.split(":")[0]
    assert hidden[0].path not in demo_client.get(f"/search?q={title}").get_data(as_text=True)


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "path",
    ["/page/0/", "/page/-1/", "/page/abc/", "/page/99999999999999999999/", "/page/01/", "/page/100000/",
     "/category/economy/page/0/", "/category/economy/page/999/", "/tag/oil/page/x/"],
)  # fmt: skip
def test_bad_page_numbers_are_404_with_a_link_to_the_last_page(demo_client, path):
    response = demo_client.get(path)
    assert response.status_code == 404
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    assert text(doc.xpath("//h1")[0]) == "Page not found"
    last = doc.xpath("//a[contains(., 'last page')]/@href")
    assert last and re.fullmatch(r"/(category/economy/|tag/oil/)?(page/\d+/)?", last[0])
    assert demo_client.get(last[0]).status_code == 200
    assert doc.cssselect("nav.sections a"), "the 404 page has the site's look"


HOSTILE = [
    "/2026/13/", "/2026/00/", "/2026/02/30/", "/0000/", "/2026/02/30/some-slug/", "/2026/1/", "/99999/",
    "/category/%00/", "/category/nope/", "/tag/" + "x" * 5000 + "/", "/2026/01/01/" + "a" * 5000 + "/",
    "/2026/01/01/%00/", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/category/../../etc/passwd",
    "/category/%E2%98%83/", "/auteur/é/", "/tag/%ff%fe/", "/2026/01/01/slug%00/", "/page/%00/",
    "/page/1e3/", "/page/+2/", "/page/２/", "/sitemap-0.xml", "/sitemap-999.xml", "/sitemap-abc.xml",
    "/sitemap-99999999999999999999.xml", "/1900/", "/search?page=0", "/search?q=x&page=-1",
    "/search?q=x&page=abc", "/search?q=x&page=101", "/search?q=talks&page=99999999999999999999",
]  # fmt: skip


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_paths_give_a_clean_4xx(demo_client, path):
    response = demo_client.get(path)
    assert 400 <= response.status_code < 500, response.status_code
    assert b"Traceback" not in response.data


def test_missing_article_and_method_errors(demo_client):
    response = demo_client.get("/2026/01/01/no-such-article/")
    assert response.status_code == 404 and b"no such article" in response.data
    response = demo_client.post("/")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
    assert b"Method not allowed" in response.data


def test_api_paths_get_json_errors(demo_client):
    response = demo_client.get("/api/no-such-thing")
    assert response.status_code == 404 and response.is_json
    assert set(response.get_json()) == {"error"} and response.get_json()["error"]


def test_500_page_in_html_and_json(demo_db, tmp_path):
    from .conftest import make_app

    app = make_app(demo_db, PROPAGATE_EXCEPTIONS=False)

    def boom():
        raise RuntimeError("a bug")

    app.add_url_rule("/boom/", "boom", boom)
    app.add_url_rule("/api/boom", "api_boom", boom)
    client = app.test_client()
    response = client.get("/boom/")
    assert response.status_code == 500 and response.mimetype == "text/html"
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    assert text(doc.xpath("//h1")[0]) == "Something went wrong" and "a bug" not in text(doc)
    assert doc.xpath("//link[@rel='stylesheet']/@href") == ["/static/style.css"]
    response = client.get("/api/boom")
    assert response.status_code == 500 and response.get_json() == {"error": "internal error; it has been logged"}


# ------------------------------------------------------------------ search


def test_search_ranks_and_highlights(demo_client, articles):
    shown, _ = articles
    word = shown[0].title.split(":")[0].split()[0]  # a place name
    doc = parse(demo_client.get(f"/search?q={word.lower()}"))
    assert "Search results for" in text(doc.xpath("//h1")[0])
    marks = doc.cssselect("main article.card .summary mark")
    assert marks and all(text(m).lower() == word.lower() for m in marks)
    assert doc.xpath("//meta[@name='robots']/@content") == ["noindex"]
    assert doc.xpath("//input[@id='q']/@value") == [word.lower()]
    assert re.search(r"[\d,]+ results?", text(doc.cssselect(".listing-head")[0]))
    if doc.cssselect("nav.pager"):
        assert head_link(doc, "next") == f"/search?q={word.lower()}&page=2"
        assert parse(demo_client.get(f"/search?q={word.lower()}&page=2")).cssselect("main article.card")


@pytest.mark.parametrize(
    "query",
    ['"', '"unbalanced', "(((", "a NEAR b", "NEAR(", "-talks", "talks*", "*", "^x", "x:y", "AND OR NOT",
     "\x00\x01", "🙂", "ب", "x" * 5000, "%", "' OR 1=1 --", "<script>alert(1)</script>", "   ", ""],
)  # fmt: skip
def test_any_search_query_gives_results_or_nothing_found(demo_client, query):
    response = demo_client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>alert" not in page
    doc = lxml.html.fromstring(page)
    assert doc.cssselect("main article.card") or doc.cssselect("p.empty")


def test_search_nothing_found(demo_client):
    doc = parse(demo_client.get("/search?q=zzyzxqq"))
    assert "Nothing found for “zzyzxqq”" in text(doc.cssselect("p.empty")[0])


# ------------------------------------------------------------------ sitemaps and robots


SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def test_sitemap_index_and_pages(demo_client, articles, monkeypatch):
    from syndicate import sitemaps

    shown, _ = articles
    monkeypatch.setattr(sitemaps, "SITEMAP_SIZE", 250)
    index = etree.fromstring(demo_client.get("/sitemap.xml").data)
    locs = index.xpath("//s:sitemap/s:loc/text()", namespaces=SITEMAP_NS)
    locs = [loc for loc in locs if loc != f"{SITE_URL}/news-sitemap.xml"]  # tests/test_news_sitemap.py
    assert locs == [f"{SITE_URL}/sitemap-{n}.xml" for n in range(1, -(-len(shown) // 250) + 1)]
    urls = []
    lastmods = index.xpath("//s:sitemap/s:lastmod/text()", namespaces=SITEMAP_NS)[: len(locs)]
    for loc, lastmod in zip(locs, lastmods, strict=True):
        response = demo_client.get(urlsplit(loc).path)
        assert response.status_code == 200 and response.mimetype == "application/xml"
        doc = etree.fromstring(response.data)
        entries = doc.xpath("//s:url", namespaces=SITEMAP_NS)
        assert 0 < len(entries) <= 250
        mods = [datetime.fromisoformat(e.findtext("s:lastmod", namespaces=SITEMAP_NS)) for e in entries]
        assert datetime.fromisoformat(lastmod) == max(mods)
        urls += [e.findtext("s:loc", namespaces=SITEMAP_NS) for e in entries]
    assert sorted(urls) == sorted(SITE_URL + a.path for a in shown)
    assert demo_client.get(urlsplit(urls[0]).path).status_code == 200
    by_url = {SITE_URL + a.path: a for a in shown}
    doc = etree.fromstring(demo_client.get("/sitemap-1.xml").data)
    first = doc.xpath("//s:url", namespaces=SITEMAP_NS)[0]
    article = by_url[first.findtext("s:loc", namespaces=SITEMAP_NS)]
    assert datetime.fromisoformat(first.findtext("s:lastmod", namespaces=SITEMAP_NS)) == article.updated


def test_robots_points_to_the_sitemap(demo_client):
    response = demo_client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert f"Sitemap: {SITE_URL}/sitemap.xml" in response.get_data(as_text=True).splitlines()


# ------------------------------------------------------------------ cost


def count_statements(app, path: str) -> int:
    """SQL statements the app runs to render ``path`` (the request reuses the pushed app
    context, so ``get_store()`` below is the very store the view uses). Statements that SQLite
    runs inside FTS5 (traced with a '-- ' prefix) are its own business, not ours."""
    statements: list[str] = []
    with app.app_context():
        store = get_store()
        client = app.test_client()
        assert client.get(path).status_code == 200  # warms the page-key cache
        store.conn.set_trace_callback(statements.append)
        assert client.get(path).status_code == 200
        store.conn.set_trace_callback(None)
    ours = [s for s in statements if not s.startswith("-- ")]
    assert ours, "the trace saw the view's queries"
    return len(ours)


@pytest.mark.parametrize("path", ["/page/2/", "/category/economy/", "/tag/oil/", "/2026/", "/search?q=talks"])
def test_list_pages_run_a_bounded_number_of_queries(demo_db, tmp_path, path):
    from .conftest import make_app

    small = count_statements(make_app(demo_db, PER_PAGE=3), path)
    large = count_statements(make_app(demo_db, PER_PAGE=40), path)
    assert small == large, "no query per listed article"
    assert large <= 12


def test_list_page_weighs_under_40_kb(demo_client, demo_app):
    assert demo_app.config["PER_PAGE"] == 10
    css = demo_client.get("/static/style.css").data
    for path in ["/", "/page/2/", "/category/economy/", "/search?q=talks"]:
        html = demo_client.get(path).data
        assert len(html) + len(css) < 40 * 1024, (path, len(html), len(css))


def test_no_inline_scripts_or_styles(demo_client, articles):
    shown, _ = articles
    for path in ["/", shown[0].path, "/search?q=talks", "/page/0/"]:
        doc = lxml.html.fromstring(demo_client.get(path).get_data(as_text=True))
        assert not doc.xpath("//*[@style]") and not doc.xpath("//style")
        assert all(s.get("type") == "application/ld+json" for s in doc.xpath("//script"))
        assert not [a for a in doc.xpath("//@*") if a.attrname.startswith("on")]


def test_empty_site(client):
    doc = parse(client.get("/"))
    assert "No articles here yet" in text(doc.cssselect("main")[0])
    assert client.get("/page/2/").status_code == 404
    index = etree.fromstring(client.get("/sitemap.xml").data)
    assert index.xpath("//s:sitemap", namespaces=SITEMAP_NS) == []
    assert client.get("/sitemap-1.xml").status_code == 404


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=60), page=st.one_of(st.none(), st.text(max_size=6), st.integers(-5, 150).map(str)))
def test_search_never_fails_on_any_input(demo_client, query, page):
    params = {"q": query} if page is None else {"q": query, "page": page}
    response = demo_client.get("/search", query_string=params)
    assert response.status_code in (200, 404), (query, page)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segments=st.lists(st.text(min_size=1, max_size=12).filter(lambda s: "/" not in s), min_size=1, max_size=5))
def test_any_path_answers_without_a_server_error(demo_client, segments):
    path = "/" + "/".join(quote(s, safe="") for s in segments) + "/"
    for prefix in ("", "/category", "/2026/01", "/page"):
        assert demo_client.get(prefix + path).status_code < 500, prefix + path


def test_500_page_renders_when_the_database_is_unreachable(demo_db, tmp_path):
    from .conftest import make_app

    app = make_app(demo_db, PROPAGATE_EXCEPTIONS=False)
    app.config["DATABASE"] = str(tmp_path)  # a folder: SQLite cannot open it
    response = app.test_client().get("/")
    assert response.status_code == 500
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    assert text(doc.xpath("//h1")[0]) == "Something went wrong"
    assert text(doc.cssselect(".brand")[0]) == app.config["SITE_TITLE"]
