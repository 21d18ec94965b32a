"""Feeds as readers and validators see them: every variant (3 formats x site / category / tag /
author / search x first, middle and last page x archives) parses and follows its format's
rules; content, enclosures, paging links, status codes, validators and RFC 3229 deltas."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from syndicate import feeds
from syndicate.db import get_store
from syndicate.validation import article_record
from tests.conftest import make_app
from tests.feedcheck import NS, check, check_atom, check_feedparser, links, strict_xml

FORMATS = {"rss": "feed/", "atom": "feed/atom/", "json": "feed/json/"}


@pytest.fixture(scope="module")
def read_client(demo_db):
    """One app on the shared demo archive for the read-only tests of this module (fast)."""
    return make_app(demo_db).test_client()


@pytest.fixture(scope="module")
def terms(read_client):
    with read_client.application.app_context():
        store = get_store()
        counts = {kind: store.terms(kind, with_counts=True) for kind in ("category", "tag", "author")}
    # The busiest term of each kind, so its feed has several pages.
    return {kind: max(rows, key=lambda row: row[1])[0].slug for kind, rows in counts.items()}


def scope_bases(terms) -> dict[str, str]:
    return {
        "site": "/",
        "category": f"/category/{terms['category']}/",
        "tag": f"/tag/{terms['tag']}/",
        "author": f"/author/{terms['author']}/",
        "search": "/search/",
    }


def url(base: str, fmt: str, **query) -> str:
    from urllib.parse import urlencode

    if base == "/search/":
        query = {"q": "talks", **query}
    q = urlencode(query)
    return base + FORMATS[fmt] + (f"?{q}" if q else "")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scope", ["site", "category", "tag", "author", "search"])
def test_every_page_of_every_feed_is_valid(read_client, terms, scope, fmt):
    base = scope_bases(terms)[scope]
    first = read_client.get(url(base, fmt))
    ids = check(fmt, first)
    assert len(ids) == 20
    rel = links(fmt, first.data)
    last_page = int(rel["last"].rsplit("page=", 1)[1]) if "page=" in rel["last"] else 1
    assert last_page >= 2, "the busiest term of each kind spans several pages"
    seen = set(ids)
    for number in sorted({2, last_page}):
        response = read_client.get(url(base, fmt, page=number))
        page_ids = check(fmt, response)
        assert page_ids and not (seen & set(page_ids)), "pages do not overlap"
        seen |= set(page_ids)
    assert read_client.get(url(base, fmt, page=last_page + 1)).status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scope", ["site", "category", "tag", "author"])
def test_archives_are_valid(read_client, terms, scope, fmt):
    base = scope_bases(terms)[scope]
    rel = links(fmt, read_client.get(url(base, fmt)).data)
    newest = int(rel["prev-archive"].rstrip("/").rsplit("/", 1)[1])
    for number in sorted({1, newest}):
        response = read_client.get(f"{base}{FORMATS[fmt]}archive/{number}/")
        assert len(check(fmt, response)) == 20, "an archive is only published when complete"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert read_client.get(f"{base}{FORMATS[fmt]}archive/{newest + 1}/").status_code == 404


def test_feed_level_elements(read_client):
    rss = strict_xml(read_client.get("/feed/").data).find("channel")
    assert rss.findtext("title") == "The Syndicate Times"
    assert rss.findtext("link") == "https://news.example.com/"
    assert rss.findtext("language") == "en"
    assert rss.findtext("ttl") == "15"
    assert rss.findtext("generator") == "Syndicate"
    assert rss.findtext("image/url") == "https://news.example.com/static/feed-icon.png"
    assert rss.findtext("image/width") == "128"  # RSS 2.0: at most 144, 88 when absent
    assert rss.find("atom:link[@rel='self']", NS).get("href") == "https://news.example.com/feed/"
    assert rss.find("atom:link[@rel='hub']", NS) is None, "no hub unless WEBSUB_HUB is set"
    atom = strict_xml(read_client.get("/feed/atom/").data)
    assert atom.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert atom.findtext("atom:subtitle", namespaces=NS)
    assert atom.findtext("atom:icon", namespaces=NS) == "https://news.example.com/static/feed-icon.png"
    assert atom.find("atom:link[@rel='alternate']", NS).get("href") == "https://news.example.com/"
    assert atom.findtext("atom:generator", namespaces=NS) == "Syndicate"


def test_hub_is_advertised_when_configured(demo_db):
    client = make_app(demo_db, WEBSUB_HUB="https://hub.example.net/").test_client()
    assert links("rss", client.get("/feed/").data)["hub"] == "https://hub.example.net/"
    assert links("atom", client.get("/tag/oil/feed/atom/").data)["hub"] == "https://hub.example.net/"
    assert json.loads(client.get("/feed/json/").data)["hubs"] == [{"type": "WebSub", "url": "https://hub.example.net/"}]


def test_items_carry_every_field(read_client):
    with read_client.application.app_context():
        article = get_store().page(feeds.Scope("site"), 1, 20).articles[0]
    permalink = "https://news.example.com" + article.path
    item = strict_xml(read_client.get("/feed/").data).find("channel/item")
    assert item.findtext("title") == article.title
    assert item.findtext("link") == permalink
    assert item.findtext("guid") == article.guid
    assert item.findtext("description") == article.summary
    assert item.findtext("dc:creator", namespaces={"dc": "http://purl.org/dc/elements/1.1/"}) == article.author.name
    assert [c.text for c in item.findall("category")] == [article.category.name] + [t.name for t in article.tags]
    enclosure = item.find("enclosure")
    assert enclosure.get("url") == article.image_url
    assert enclosure.get("type") == article.image_type
    assert enclosure.get("length") == str(article.image_length)
    assert item.findtext("media:content/media:description", namespaces=NS) == article.image_caption
    assert "<p>" in item.findtext("content:encoded", namespaces=NS)

    entry = strict_xml(read_client.get("/feed/atom/").data).find("atom:entry", NS)
    assert entry.findtext("atom:id", namespaces=NS) == article.guid
    assert entry.find("atom:link[@rel='enclosure']", NS).get("href") == article.image_url
    assert datetime.fromisoformat(entry.findtext("atom:published", namespaces=NS)) == article.published
    assert datetime.fromisoformat(entry.findtext("atom:updated", namespaces=NS)) == article.updated

    first = json.loads(read_client.get("/feed/json/").data)["items"][0]
    assert first["id"] == article.guid and first["image"] == article.image_url
    assert first["authors"] == [{"name": article.author.name, "url": "https://news.example.com" + article.author.path}]


def test_summary_mode_has_no_full_body(read_client, demo_db):
    for fmt in FORMATS:
        body = read_client.get(url("/", fmt, content="summary")).data
        if fmt == "json":
            items = json.loads(body)["items"]
            assert all("content_html" not in i and i["content_text"] for i in items)
        else:
            parsed = check_feedparser(body)
            # (feedparser files media:description under content too, as text/plain)
            assert all(c.type != "text/html" for e in parsed.entries for c in e.get("content", [])), fmt
            assert b"&lt;p&gt;" not in body
        # Paging links keep the mode.
        assert "content=summary" in links(fmt, body)["next"]
    # The default is configurable.
    client = make_app(demo_db, FEED_CONTENT="summary").test_client()
    assert b"content:encoded" not in client.get("/feed/").data
    assert b"content:encoded" in client.get("/feed/?content=full").data
    assert read_client.get("/feed/?content=everything").status_code == 400


def test_relative_urls_in_content_become_absolute(demo_app):
    client = demo_app.test_client()
    with demo_app.app_context():
        store = get_store()
        now = store.clock()
        body = (
            '<p><a href="../other/">rel</a> <a href="/abs/">root</a> <img src="img/a.png" '
            'srcset="img/a.png 1x, /img/b.png 2x"> <a href="mailto:desk@example.com">mail</a></p>'
        )
        article, _ = store.save_article(article_record({"title": "Links", "body": body}, now=now))
    permalink = "https://news.example.com" + article.path
    for fmt in FORMATS:
        response = client.get(url("/", fmt))
        check(fmt, response)  # asserts every URL in content is absolute
    content = strict_xml(client.get("/feed/").data).find("channel/item").findtext("content:encoded", namespaces=NS)
    assert f'href="{permalink}../other/"'.replace("/../other/", "/") not in content  # resolved, not glued
    assert 'href="https://news.example.com' + article.path.rsplit("/", 2)[0] + '/other/"' in content
    assert 'href="https://news.example.com/abs/"' in content
    assert f'src="{permalink}img/a.png"' in content
    assert f"{permalink}img/a.png 1x, https://news.example.com/img/b.png 2x" in content


def test_drafts_and_scheduled_never_appear(demo_app):
    client = demo_app.test_client()
    with demo_app.app_context():
        store = get_store()
        now = store.clock()
        hidden = [a for a in store.export_rows() if a.status == "draft" or a.published > now]
        drafts = [a for a in hidden if a.status == "draft"]
        scheduled = [a for a in hidden if a.status == "published"]
    assert drafts and scheduled, "the demo archive has both"
    served = []
    for fmt in FORMATS:
        served.append(client.get(url("/", fmt)).data)
        # the scheduled ones would be the newest: check the first page of their category too
        for slug in {a.category.slug for a in scheduled}:
            served.append(client.get(f"/category/{slug}/{FORMATS[fmt]}").data)
    for article in drafts[:2]:
        for fmt in FORMATS:
            served.append(client.get(url("/search/", fmt, q=article.title)).data)
    blob = b"\n".join(served)
    for article in hidden:
        assert article.guid.encode() not in blob, article.title


def test_not_found_and_bad_parameters_are_plain_404s(read_client):
    for path in [
        "/category/no-such-thing/feed/",
        "/tag/no-such-thing/feed/atom/",
        "/author/nobody/feed/json/",
        "/feed/?page=0",
        "/feed/?page=-1",
        "/feed/?page=abc",
        "/feed/?page=99999",
        "/feed/archive/0/",
        "/feed/archive/999/",
        "/feed/atom/archive/abc/",
        "/search/feed/",
        "/search/feed/?q=",
        "/search/feed/?q=talks&page=999",
    ]:
        response = read_client.get(path)
        assert response.status_code == 404, path
        assert "xml" not in response.content_type and "json" not in response.content_type, path


def test_search_feed_escapes_the_query(read_client):
    nasty = "oil</title><script>alert(1)</script> ]]> &amp; \u202e\U0001f600 \x00\x1b"
    for fmt in FORMATS:
        response = read_client.get(url("/search/", fmt, q=nasty))
        check(fmt, response)
        assert b"<script>" not in response.data
    title = strict_xml(read_client.get(url("/search/", "atom", q=nasty)).data).findtext("atom:title", namespaces=NS)
    assert "</title><script>alert(1)</script> ]]> &amp; \u202e\U0001f600" in title
    assert "\x00" not in title and "\x1b" not in title


def test_last_modified_is_the_newest_update_shown(read_client):
    response = read_client.get("/feed/atom/")
    root = strict_xml(response.data)
    newest = max(datetime.fromisoformat(e.text) for e in root.findall("atom:entry/atom:updated", NS))
    assert response.last_modified == newest
    assert response.headers["ETag"]


def test_opml_lists_every_feed(read_client):
    response = read_client.get("/feeds.opml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/x-opml; charset=utf-8"
    root = strict_xml(response.data)
    assert root.get("version") == "2.0"
    urls = [o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")]
    with read_client.application.app_context():
        store = get_store()
        expected = 1 + len(store.terms("category")) + len(store.terms("author"))
    assert len(urls) == len(set(urls)) == expected
    for feed_url in urls[:3] + urls[-2:]:
        assert feed_url.startswith("https://news.example.com/")
        check("rss", read_client.get(feed_url.removeprefix("https://news.example.com")))


def test_xslt_turns_rss_and_atom_into_a_readable_page(read_client):
    transform = etree.XSLT(etree.parse("static/feed.xsl"))
    assert read_client.get("/static/feed.xsl").status_code == 200
    for fmt in ("rss", "atom"):
        body = read_client.get(url("/", fmt)).data
        assert b'href="/static/feed.xsl"' in body
        page = str(transform(strict_xml(body)))
        assert "This is a web feed" in page
        assert "https://news.example.com/" + FORMATS[fmt] in page  # the address to copy
        doc = etree.HTML(page)
        titles = [a.text for a in doc.iterfind(".//li/h3/a")]
        assert len(titles) == 20 and all(titles)


# ------------------------------------------------------------------ validators and RFC 3229


def publish(app, title: str, when: datetime | None = None):
    with app.app_context():
        store = get_store()
        now = store.clock()
        record = article_record({"title": title, "body": "<p>New.</p>", "category": "World",
                                 "published": (when or now).isoformat()}, now=now)  # fmt: skip
        return store.save_article(record)[0]


def test_conditional_get_and_rfc3229_delta(demo_app):
    client = demo_app.test_client()
    first = client.get("/feed/atom/")
    old_etag = first.headers["ETag"]
    assert client.get("/feed/atom/", headers={"If-None-Match": old_etag}).status_code == 304
    # Nothing changed: a delta request for the current version is a 304 too.
    same = client.get("/feed/atom/", headers={"If-None-Match": old_etag, "A-IM": "feed"})
    assert same.status_code == 304 and same.headers["ETag"] == old_etag

    new = publish(demo_app, "Breaking: delta encoding works")
    full = client.get("/feed/atom/")
    assert full.headers["ETag"] != old_etag

    delta = client.get("/feed/atom/", headers={"If-None-Match": old_etag, "A-IM": "feed"})
    assert delta.status_code == 226
    assert delta.headers["IM"] == "feed"
    assert delta.headers["ETag"] == full.headers["ETag"]
    assert "no-store" in delta.headers["Cache-Control"]
    ids = check_atom(delta.data)  # the delta is still a valid feed document
    # Everything newer than the old version, and (times have whole seconds) nothing older than
    # its newest entry, which may be repeated: readers merge entries by id.
    old_newest = max(e.updated_parsed for e in check_feedparser(first.data).entries)
    assert ids[0] == new.guid
    assert all(e.updated_parsed >= old_newest for e in check_feedparser(delta.data).entries)
    assert len(ids) < 20

    # No A-IM: the whole feed, as before.
    plain = client.get("/feed/atom/", headers={"If-None-Match": old_etag})
    assert plain.status_code == 200 and len(check_feedparser(plain.data).entries) == 20
    # An ETag of another feed is not a version of this one: full response.
    other = client.get("/category/world/feed/atom/").headers["ETag"]
    assert client.get("/feed/atom/", headers={"If-None-Match": other, "A-IM": "feed"}).status_code == 200
    # RSS and JSON get deltas too.
    for path in ("/feed/", "/feed/json/"):
        etag = client.get(path).headers["ETag"]
        publish(demo_app, f"Another one for {path}")
        response = client.get(path, headers={"If-None-Match": etag, "A-IM": "feed"})
        assert response.status_code == 226
        if "json" in path:
            titles = [i["title"] for i in json.loads(response.data)["items"]]
        else:
            titles = [e.title for e in check_feedparser(response.data).entries]
        assert 1 <= len(titles) <= 3 and titles[0] == f"Another one for {path}"


def test_new_article_appears_first_and_scheduled_stays_out(demo_app):
    client = demo_app.test_client()
    later = datetime.now(UTC) + timedelta(days=30)
    hidden = publish(demo_app, "Embargoed until next month", later)
    visible = publish(demo_app, "Just published")
    for fmt in FORMATS:
        body = client.get(url("/", fmt)).data
        assert visible.guid.encode() in body and hidden.guid.encode() not in body


def test_empty_site_and_empty_term_give_valid_empty_feeds(app, client):
    with app.app_context():
        get_store().save_term("category", "quiet", "Quiet corner")
    for base in ("/", "/category/quiet/"):
        for fmt in FORMATS:
            response = client.get(url(base, fmt))
            assert check(fmt, response) == []
            rel = links(fmt, response.data)
            assert "prev-archive" not in rel and "next" not in rel
        assert client.get(f"{base}feed/archive/1/").status_code == 404
    opml = strict_xml(client.get("/feeds.opml").data)
    assert [o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")] == [
        "https://news.example.com/feed/",
        "https://news.example.com/category/quiet/feed/",
    ]


def test_enclosure_urls_are_uris(demo_app):
    with demo_app.app_context():
        store = get_store()
        record = article_record(
            {"title": "Pictures", "image_url": "https://img.example.com/Köln Dom.jpg", "image_caption": "Köln"},
            now=store.clock(),
        )
        store.save_article(record)
    client = demo_app.test_client()
    item = strict_xml(client.get("/feed/").data).find("channel/item")
    assert item.find("enclosure").get("url") == "https://img.example.com/K%C3%B6ln%20Dom.jpg"
    assert item.find("enclosure").get("type") == "image/jpeg"  # guessed from the URL
    assert item.find("enclosure").get("length") == "0"  # unknown: 0, as the RSS Best Practices allow
    entry = strict_xml(client.get("/feed/atom/").data).find("atom:entry", NS)
    assert entry.find("atom:link[@rel='enclosure']", NS).get("length") is None


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize("cache_type", ["SimpleCache", "NullCache"])
def test_browsers_get_feeds_as_xml_for_the_stylesheet_readers_get_feed_types(db_copy, cache_type):
    from .conftest import make_app

    client = make_app(db_copy, CACHE_TYPE=cache_type).test_client()
    cases = (("/feed/", "application/rss+xml"), ("/category/economy/feed/atom/", "application/atom+xml"))
    for path, feed_type in cases:
        plain = client.get(path)
        reader = client.get(path, headers={"Accept": f"{feed_type}, */*;q=0.5"})
        wildcard = client.get(path, headers={"Accept": "*/*"})
        browser = client.get(path, headers={"Accept": BROWSER_ACCEPT})
        for response in (plain, reader, wildcard):
            assert response.headers["Content-Type"] == f"{feed_type}; charset=utf-8"
        assert browser.headers["Content-Type"] == "application/xml; charset=utf-8"
        assert browser.data == plain.data  # the same document, another media type
        assert browser.headers["ETag"] != plain.headers["ETag"]  # so another strong validator
        assert "Accept" in plain.headers["Vary"] and "Accept" in browser.headers["Vary"]
        again = client.get(path, headers={"Accept": BROWSER_ACCEPT, "If-None-Match": browser.headers["ETag"]})
        assert again.status_code == 304
        assert client.get(path, headers={"If-None-Match": browser.headers["ETag"]}).status_code == 200
    json_feed = client.get("/feed/json/", headers={"Accept": BROWSER_ACCEPT})
    assert json_feed.headers["Content-Type"] == "application/feed+json; charset=utf-8"


@pytest.mark.parametrize("cache_type", ["SimpleCache", "NullCache"])
def test_a_term_whose_slug_is_json_has_a_browser_view_of_its_rss_and_atom_feeds(db_copy, cache_type):
    """The representation comes from the route (the feed's format), not from the URL's text:
    /tag/json/feed/ is an RSS feed, and a browser gets it as XML for the stylesheet."""
    app = make_app(db_copy, CACHE_TYPE=cache_type)
    with app.app_context():
        store = get_store()
        store.save_article(article_record({"title": "Parsing it", "tags": ["json"]}, now=store.clock()))
    client = app.test_client()
    for path, feed_type in (
        ("/tag/json/feed/", "application/rss+xml"),
        ("/tag/json/feed/atom/", "application/atom+xml"),
    ):
        plain = client.get(path)  # a feed reader first: the plain representation is stored
        browser = client.get(path, headers={"Accept": BROWSER_ACCEPT})
        assert plain.headers["Content-Type"] == f"{feed_type}; charset=utf-8"
        assert browser.headers["Content-Type"] == "application/xml; charset=utf-8", path
        assert browser.data == plain.data and b"Parsing it" in browser.data
        assert browser.headers["ETag"] != plain.headers["ETag"]
    json_feed = client.get("/tag/json/feed/json/", headers={"Accept": BROWSER_ACCEPT})
    assert json_feed.headers["Content-Type"] == "application/feed+json; charset=utf-8"
