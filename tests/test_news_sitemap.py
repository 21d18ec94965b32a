"""The Google News sitemap: public articles of the last 48 hours (at most 1,000), valid against
the published schemas (tests/data/schemas: sitemaps.org 0.9 and Google's sitemap-news 0.9),
named in robots.txt and in the sitemap index."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from syndicate.db import get_store
from syndicate.sitemaps import NEWS_MAX_URLS, news_language
from syndicate.validation import article_record

from .conftest import SITE_URL, make_app

SCHEMAS = Path(__file__).parent / "data" / "schemas"
NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "news": "http://www.google.com/schemas/sitemap-news/0.9"}


@pytest.fixture(scope="module")
def news_schema():
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "sitemap-news-with-core.xsd")))


def add(store, title, hours_ago, **extra):
    now = store.clock()
    published = (now - timedelta(hours=hours_ago)).isoformat()
    record = article_record({"title": title, "published": published, **extra}, now=now)
    return store.save_article(record)[0]


def test_lists_public_articles_of_the_last_48_hours_and_validates(tmp_path, news_schema):
    app = make_app(tmp_path / "n.db", SITE_TITLE="The <Syndicate> & Times")
    with app.app_context():
        store = get_store()
        fresh = add(store, "Talks resume in Genève & Bern", 1)
        edge = add(store, "Still in the window", 47.5)
        add(store, "Too old for Google News", 49)
        add(store, "Scheduled", -2)
        add(store, "A draft", 2, status="draft")
        add(store, "Under embargo", 3, embargo_until=(store.clock() + timedelta(hours=1)).isoformat())
    client = app.test_client()
    response = client.get("/news-sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    doc = etree.fromstring(response.data)
    news_schema.assertValid(doc)
    assert doc.xpath("//s:loc/text()", namespaces=NS) == [SITE_URL + fresh.path, SITE_URL + edge.path]
    assert doc.xpath("//news:title/text()", namespaces=NS) == [fresh.title, edge.title]
    assert set(doc.xpath("//news:name/text()", namespaces=NS)) == {"The <Syndicate> & Times"}
    assert set(doc.xpath("//news:language/text()", namespaces=NS)) == {"en"}
    dates = doc.xpath("//news:publication_date/text()", namespaces=NS)
    assert dates[0] == fresh.published.isoformat().replace("+00:00", "Z")


def test_at_most_1000_urls_newest_first(tmp_path, news_schema):
    app = make_app(tmp_path / "many.db")
    with app.app_context():
        store = get_store()
        now = store.clock()
        records = [
            article_record({"title": f"Story {i}", "published": (now - timedelta(minutes=i + 1)).isoformat()}, now=now)
            for i in range(NEWS_MAX_URLS + 5)
        ]
        store.save_articles(records)
    doc = etree.fromstring(app.test_client().get("/news-sitemap.xml").data)
    news_schema.assertValid(doc)
    titles = doc.xpath("//news:title/text()", namespaces=NS)
    assert len(titles) == NEWS_MAX_URLS
    assert titles[0] == "Story 0" and titles[-1] == f"Story {NEWS_MAX_URLS - 1}"


def test_robots_and_the_index_name_it(tmp_path):
    app = make_app(tmp_path / "r.db")
    client = app.test_client()
    robots = client.get("/robots.txt").get_data(as_text=True).splitlines()
    assert f"Sitemap: {SITE_URL}/news-sitemap.xml" in robots and "Disallow: /partner/" in robots
    # Nothing recent: a news sitemap would be an empty urlset (invalid), so it is not offered.
    assert client.get("/news-sitemap.xml").status_code == 404
    assert f"{SITE_URL}/news-sitemap.xml" not in client.get("/sitemap.xml").get_data(as_text=True)
    with app.app_context():
        add(get_store(), "Fresh", 1)
    index = etree.fromstring(client.get("/sitemap.xml").data)
    locs = index.xpath("//s:sitemap/s:loc/text()", namespaces=NS)
    assert locs == [f"{SITE_URL}/sitemap-1.xml", f"{SITE_URL}/news-sitemap.xml"]
    etree.XMLSchema(etree.parse(str(SCHEMAS / "sitemap.xsd")))  # the core schema loads on its own


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "en"), ("fa", "fa"), ("pt-BR", "pt"), ("zh", "zh-cn"), ("zh-Hans", "zh-cn"), ("zh-Hant", "zh-tw"),
     ("zh_TW", "zh-tw"), ("haw", "haw")],
)  # fmt: skip
def test_publication_language_follows_googles_rule(language, expected, news_schema):
    assert news_language(language) == expected
    doc = etree.fromstring(
        f'<urlset xmlns="{NS["s"]}" xmlns:news="{NS["news"]}"><url><loc>https://example.com/a/</loc><news:news>'
        f"<news:publication><news:name>X</news:name><news:language>{expected}</news:language></news:publication>"
        "<news:publication_date>2026-12-01T10:00:00Z</news:publication_date><news:title>T</news:title>"
        "</news:news></url></urlset>"
    )
    news_schema.assertValid(doc)


def test_the_schema_refuses_a_news_entry_without_a_title(news_schema):
    doc = etree.fromstring(
        f'<urlset xmlns="{NS["s"]}" xmlns:news="{NS["news"]}"><url><loc>https://example.com/a/</loc><news:news>'
        "<news:publication><news:name>X</news:name><news:language>en</news:language></news:publication>"
        "<news:publication_date>2026-12-01T10:00:00Z</news:publication_date></news:news></url></urlset>"
    )
    assert not news_schema.validate(doc)
