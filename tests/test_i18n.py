"""Every language and script: slugs and names in any script (percent-encoded on the wire, routed
back), invisible characters handled, the interface in the site's language (gettext catalogs,
CLDR dates and digits), right-to-left pages, and feeds that stay valid with all of it."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from lxml import etree
from lxml import html as lxml_html

from syndicate.content import balance_bidi, clean_name, is_slug, slugify
from syndicate.i18n import TRANSLATIONS

from . import feedcheck
from .api_support import SITE_URL_CHECK, api_app, auth

ARTICLES = "/api/v1/articles"
ROOT = Path(__file__).resolve().parent.parent
ZWNJ = "\u200c"


# ----------------------------------------------------------------------------- slugs


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("مریم احمدی", "مریم-احمدی"),
        ("Новости дня!", "новости-дня"),
        ("東京 オリンピック、開幕", "東京-オリンピック-開幕"),
        ("Ελλάδα: Εκλογές 2026", "ελλάδα-εκλογές-2026"),
        ("हिन्दी समाचार", "हिन्दी-समाचार"),  # vowel signs and virama (combining marks) are kept
        ("Cafe\u0301 culture", "café-culture"),  # decomposed input comes out NFC
        (f"کتاب{ZWNJ}ها", "کتاب-ها"),  # ZWNJ parts words in a slug
        ("عـــربي", "عربي"),  # tatweel only stretches the line
        ("\u202eabc\u202c \u200bdef\ufeff", "abc-def"),  # bidi controls and zero-width characters go
        ("Storm hits the coast", "storm-hits-the-coast"),
        ("C++ & C#: 10 tips_today", "c-c-10-tips-today"),
        ("۱۴۰۵ سال", "۱۴۰۵-سال"),  # Persian digits are digits
    ],
)
def test_unicode_slugs_keep_every_script(text, slug):
    assert slugify(text, style="unicode") == slug
    assert is_slug(slug)


def test_long_slugs_are_cut_by_characters_and_bytes_never_inside_a_letter():
    persian = " ".join(["خبرگزاری"] * 40)
    slug = slugify(persian, style="unicode")
    assert len(slug) <= 80 and len(slug.encode()) <= 240 and not slug.endswith("-")
    assert slug.split("-") == ["خبرگزاری"] * len(slug.split("-"))  # cut at a word boundary
    chinese = slugify("东京奥运会今天开幕" * 20, style="unicode")
    assert len(chinese.encode()) <= 240 and len(quote(chinese)) <= 720
    marks = slugify("नमस्ते" * 30, style="unicode")
    assert not unicodedata.category(marks[-1]).startswith("M") or marks[-1] in "्े"  # never a mark torn off
    assert slugify("नमस्ते" * 30, style="unicode") == unicodedata.normalize("NFC", marks)


def test_ascii_style_transliterates():
    assert slugify("مریم احمدی", style="ascii") == "mrym-hmdy"
    assert slugify("Новости", style="ascii") == "novosti"
    assert slugify("東京", style="ascii") == "dongjing"
    assert slugify("Café Ümlaut", style="ascii") == "cafe-umlaut"
    assert slugify("★★★", style="ascii") == ""


def test_strings_that_are_not_slugs():
    for bad in ["Capital", "two--hyphens", "-edge", "space here", "a/b", "كتاب\u200cها", "", "x" * 201]:
        assert not is_slug(bad), bad


# ----------------------------------------------------------------------------- names


def test_names_lose_invisible_characters_but_keep_zwnj_and_zwj_inside_words():
    assert clean_name("\u200fمریم\u200b احمدی\ufeff") == "مریم احمدی"
    assert clean_name(f"علی{ZWNJ}رضا شریفی") == f"علی{ZWNJ}رضا شریفی"
    assert clean_name(f"{ZWNJ}علی{ZWNJ}{ZWNJ}رضا{ZWNJ} ") == f"علی{ZWNJ}رضا"
    assert clean_name("\u202bسلام\u202c \u2067Ali\u2069") == "سلام Ali"  # the page isolates names itself
    assert clean_name("Mei Lin 陈美琳") == "Mei Lin 陈美琳"  # mixed scripts are kept as written
    assert clean_name("\u200b\u200e\ufeff \u00ad") == ""


def test_bidi_controls_in_text_are_balanced():
    assert balance_bidi("abc\u202eevil") == "abc\u202eevil\u202c"
    assert balance_bidi("x\u202cy\u2069") == "xy"
    assert balance_bidi("\u2067a\u202bb\u2069c") == "\u2067a\u202bb\u202c\u2069c"  # PDI closes the embedding inside
    assert balance_bidi("\u2066ok\u2069") == "\u2066ok\u2069"


# ----------------------------------------------------------------------------- API, routing, feeds


@pytest.fixture
def app(tmp_path):
    app = api_app(tmp_path / "api.db")
    from syndicate.db import get_store

    with app.app_context():
        get_store().save_term("category", "اقتصاد", "اقتصاد")
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def _create(client, **fields):
    data = {
        "title": "بازار تهران: قیمت‌ها پس از تصمیم بانک مرکزی",
        "body": "<p>متن خبر.</p>",
        "author": "\u200fمریم احمدی\u200b",
        "category": "اقتصاد",
        "tags": ["ایران", "Новости", "東京"],
        "published": "2026-03-04T10:00:00Z",
        **fields,
    }
    response = client.post(ARTICLES, json=data, headers=auth())
    assert response.status_code == 201, response.json
    return response.json


def _ascii_uri(url: str) -> bool:
    return url.isascii() and not re.search(r"[\s<>\"{}|\\^`]", url)


def test_api_creates_an_article_with_persian_names_and_a_persian_slug(client):
    article = _create(client)
    assert article["slug"] == "بازار-تهران-قیمت-ها-پس-از-تصمیم-بانک-مرکزی"
    assert article["author"] == {"slug": "مریم-احمدی", "name": "مریم احمدی"}  # invisible marks gone
    assert sorted(t["slug"] for t in article["tags"]) == sorted(["ایران", "новости", "東京"])
    assert _ascii_uri(article["url"])
    assert unquote(article["url"]) == f"{SITE_URL_CHECK}/2026/03/04/{article['slug']}/"
    page = client.get(urlsplit(article["url"]).path)
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.data)
    assert doc.findtext(".//h1") == article["title"]
    assert doc.cssselect(".byline bdi")[0].text == "مریم احمدی"
    for href in [a.get("href") for a in doc.iter("a")] + [doc.cssselect("link[rel=canonical]")[0].get("href")]:
        assert _ascii_uri(href), href
    for path in ["/author/مریم-احمدی/", "/category/اقتصاد/", "/tag/東京/", "/tag/новости/"]:
        assert client.get(quote(path)).status_code == 200, path


def test_empty_and_letterless_names_get_messages_that_say_which(client):
    empty = client.post(ARTICLES, json={"title": "t", "body": "b", "author": "\u200b \u200f"}, headers=auth())
    assert empty.status_code == 422
    assert (
        "empty" in empty.json["error"]["author"]
        if isinstance(empty.json["error"], dict)
        else "empty" in str(empty.json)
    )
    stars = client.post(ARTICLES, json={"title": "t", "body": "b", "author": "★★★"}, headers=auth())
    assert stars.status_code == 422 and "letter or digit" in str(stars.json)


def test_slug_routing_round_trip_and_redirects_are_uris(client):
    article = _create(client)
    path = urlsplit(article["url"]).path
    assert client.get(path.lower()).status_code == 200  # %d8 as well as %D8
    nfd = "/category/" + quote(unicodedata.normalize("NFD", "café")) + "/"
    assert client.get(nfd).status_code == 404  # no such category, but no 500 either
    renamed = client.patch(f"{ARTICLES}/{article['guid']}", json={"slug": "تازه"}, headers=auth(**{"If-Match": "*"}))
    assert renamed.status_code in (200, 412, 428), renamed.json
    if renamed.status_code == 200:
        moved = client.get(path)
        assert moved.status_code == 301
        assert _ascii_uri(moved.headers["Location"]) and unquote(moved.headers["Location"]).endswith("/تازه/")
    capital = client.get(quote("/tag/НОВОСТИ/"))
    assert capital.status_code == 301 and capital.headers["Location"].endswith(quote("/tag/новости/"))


def test_feeds_sitemaps_and_opml_with_non_ascii_slugs_are_valid(client):
    _create(client)
    _create(client, title="Новости: 東京 «тест»", published="2026-03-05T10:00:00Z")
    for url, fmt in [
        ("/feed/", "rss"),
        ("/feed/atom/", "atom"),
        ("/feed/json/", "json"),
        (quote("/category/اقتصاد/feed/atom/"), "atom"),
        (quote("/tag/東京/feed/"), "rss"),
        (quote("/author/مریم-احمدی/feed/json/"), "json"),
    ]:
        response = client.get(url)
        feedcheck.check(fmt, response)
        links = re.findall(rb'(?:href|url|link|loc)["\']?\s*[:=>]\s*["\']?(https?://[^"\'<\s]+)', response.data)
        assert links and all(_ascii_uri(u.decode()) for u in links), (url, links)
        if fmt != "json":
            parsed = feedparser_titles(response.data)
            assert any("東京" in t or "بازار" in t for t in parsed)
    sitemap = client.get("/sitemap-1.xml").data
    locs = etree.fromstring(sitemap).findall(".//{http://www.sitemaps.org/schemas/sitemap/0.9}loc")
    assert locs and all(_ascii_uri(loc.text) for loc in locs)
    opml = client.get("/feeds.opml")
    if opml.status_code == 200:
        for outline in etree.fromstring(opml.data).iter("outline"):
            for attr in ("xmlUrl", "htmlUrl"):
                assert outline.get(attr) is None or _ascii_uri(outline.get(attr))


def feedparser_titles(body: bytes) -> list[str]:
    return [e.title for e in feedcheck.check_feedparser(body).entries]


def test_ascii_slug_style_transliterates_titles_and_names(tmp_path):
    app = api_app(tmp_path / "ascii.db", SLUG_STYLE="ascii")
    article = _create(app.test_client(), category="economy")
    assert article["slug"] == "bzr-thrn-qymt-h-ps-z-tsmym-bnk-mrkzy"
    assert article["author"]["slug"] == "mrym-hmdy"
    assert article["url"].isascii()


# ----------------------------------------------------------------------------- the interface


def _page(app, path="/"):
    return lxml_html.fromstring(app.test_client().get(path).data)


@pytest.mark.parametrize(
    ("language", "direction", "heading", "search"),
    [
        ("en", "ltr", "Latest news", "Search"),
        ("fa", "rtl", "تازه‌ترین خبرها", "جست‌وجو"),
        ("ar", "rtl", "آخر الأخبار", "بحث"),
        ("ru", "ltr", "Последние новости", "Поиск"),
        ("he", "rtl", "Latest news", "Search"),  # no catalog: English words, Hebrew direction and dates
    ],
)
def test_the_interface_speaks_the_site_language(tmp_path, language, direction, heading, search):
    from .conftest import make_app

    app = make_app(tmp_path / "site.db", SITE_LANGUAGE=language)
    doc = _page(app)
    root = doc.getroottree().getroot()
    assert (root.get("lang"), root.get("dir")) == (language, direction)
    assert doc.findtext(".//h1") == heading
    assert doc.cssselect(".find button")[0].text == search
    today = doc.cssselect(".today")[0].text
    if language == "fa":
        assert re.search("[۰-۹]", today) and not re.search("[0-9]", today)  # Persian digits
    if language == "he":
        assert re.search("[א-ת]", today)  # CLDR's Hebrew month and weekday
    missing = _page(app, "/no-such-page/")
    assert missing.findtext(".//h1") != "Page not found" or language in ("en", "he")


def test_catalogs_are_complete_and_compiled(tmp_path):
    """Every interface string in the code is in the template and translated in every catalog, and
    each committed .mo is exactly what its .po compiles to (pip install . ships the .mo files)."""
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [str(pybabel), "extract", "-F", "babel.cfg", "-k", "lazy_gettext", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert len(wanted) > 50
    languages = sorted(p.name for p in TRANSLATIONS.iterdir() if p.is_dir())
    assert {"en", "fa", "ar", "ru"} <= set(languages)
    for language in languages:
        po = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as f:
            catalog = read_po(f, locale=language)
        have = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalog if m.id}
        assert wanted - set(have) == set(), f"{language}: run pybabel update (see docs/translations.md)"
        untranslated = [k for k, v in have.items() if not (all(v) if isinstance(v, tuple) else v)]
        assert untranslated == [], f"{language}: untranslated {untranslated}"
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.read_bytes() == compiled.getvalue(), f"{language}: run pybabel compile"


def test_feed_browser_view_of_a_persian_feed_is_right_to_left(tmp_path):
    from .conftest import make_app

    app = make_app(tmp_path / "fa.db", SITE_LANGUAGE="fa")
    transform = etree.XSLT(etree.parse(str(ROOT / "static" / "feed.xsl")))
    for path in ("/feed/", "/feed/atom/"):
        page = transform(etree.fromstring(app.test_client().get(path).data))
        root = page.getroot()
        assert (root.get("lang"), root.get("dir")) == ("fa", "rtl")
        assert root.find(".//section").get("dir") == "ltr"  # the English explanation reads LTR
    app = make_app(tmp_path / "en.db")
    assert transform(etree.fromstring(app.test_client().get("/feed/").data)).getroot().get("dir") == "ltr"


# ----------------------------------------------------------------------------- importers

PERSIAN_WXR = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>روزنامه</title><link>https://fa.example.org</link><wp:wxr_version>1.2</wp:wxr_version>
<wp:author><wp:author_login><![CDATA[maryam]]></wp:author_login>
<wp:author_display_name><![CDATA[\u200fمریم احمدی]]></wp:author_display_name></wp:author>
<item><title><![CDATA[کتاب‌ها در نمایشگاه تهران]]></title>
<link>https://fa.example.org/1403/05/{enc}/</link><dc:creator><![CDATA[maryam]]></dc:creator>
<guid isPermaLink="false">https://fa.example.org/?p=7</guid>
<content:encoded><![CDATA[متن خبر.]]></content:encoded>
<wp:post_id>7</wp:post_id><wp:post_date_gmt><![CDATA[2024-08-14 07:30:00]]></wp:post_date_gmt>
<wp:post_name><![CDATA[{enc}]]></wp:post_name><wp:status><![CDATA[publish]]></wp:status>
<wp:post_type><![CDATA[post]]></wp:post_type>
<category domain="category" nicename="{cat}"><![CDATA[فرهنگ]]></category>
<category domain="post_tag" nicename="{tag}"><![CDATA[ایران]]></category>
</item></channel></rss>
"""


def test_a_persian_wordpress_export_keeps_its_slugs_and_names(tmp_path):
    """WordPress stores non-ASCII slugs percent-encoded (lower-case hex); they come back as text."""
    from syndicate.db import get_store

    from .conftest import make_app

    enc = quote("کتاب-ها-در-نمایشگاه-تهران").lower()
    path = tmp_path / "fa.xml"
    path.write_text(PERSIAN_WXR.format(enc=enc, cat=quote("فرهنگ").lower(), tag=quote("ایران").lower()))
    app = make_app(tmp_path / "fa.db")
    result = app.test_cli_runner().invoke(args=["import", str(path)])
    assert result.exit_code == 0 and "1 created" in result.output, result.output
    with app.app_context():
        (article,) = get_store().export_rows()
    assert article.slug == "کتاب-ها-در-نمایشگاه-تهران"
    assert (article.category.slug, article.category.name) == ("فرهنگ", "فرهنگ")
    assert [(t.slug, t.name) for t in article.tags] == [("ایران", "ایران")]
    assert article.author.name == "مریم احمدی"
    assert app.test_client().get(article.path).status_code == 200
