"""Sitemaps and robots.txt: the sitemaps.org index and its files (50,000 URLs each), the Google
News sitemap (public articles of the last 48 hours, at most 1,000), and robots.txt naming them.

Every URL is a public article (the store's ``VISIBLE`` predicate): never a draft, a scheduled
article or one under embargo. URLs come from ``SITE_URL``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape as xml_escape

from flask import Blueprint, Flask, Response, current_app, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound

from . import surrogate
from .content import xml_safe
from .db import get_store
from .limits import page_number
from .models import quote_slug
from .negotiation import XML_MEDIA_TYPE
from .urls import absolute

bp = Blueprint("sitemaps", __name__)

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
# A sitemap file may hold 50,000 URLs (sitemaps.org protocol); 10,000 keeps each document ~2 MB,
# so rendering one after a write costs a serving process ~2 MB and a fraction of a second, not
# ~10 MB and seconds (a 200,000-article archive has 20 of them; crawlers follow the index).
SITEMAP_SIZE = 10_000
# Google News: articles of the last two days, at most 1,000 URLs a sitemap.
NEWS_WINDOW = timedelta(hours=48)
NEWS_MAX_URLS = 1000
NEWS_PATH = "/news-sitemap.xml"


def iso(moment: datetime) -> str:
    """W3C date-time in UTC, as sitemaps want it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _permalink(published: str, slug: str) -> str:
    return absolute(f"/{published[:4]}/{published[5:7]}/{published[8:10]}/{quote_slug(slug)}/")


def _xml(lines: list[str], newest: datetime | None) -> Response:
    response = Response("\n".join(lines) + "\n", mimetype=XML_MEDIA_TYPE)
    if newest is not None:
        # Never later than now (RFC 9110 8.8.2.1), whatever a clock-skewed import wrote.
        response.last_modified = min(newest, get_store().clock())
    return response


def news_language(language: str) -> str:
    """``news:language``: an ISO 639 code, or zh-cn / zh-tw for Chinese (Google's rule)."""
    parts = language.lower().replace("_", "-").split("-")
    if parts[0] == "zh":
        return "zh-tw" if {"hant", "tw", "hk", "mo"} & set(parts[1:]) else "zh-cn"
    return parts[0]


@bp.get("/sitemap.xml")
def sitemap_index() -> Response:
    store = get_store()
    chunks = store.sitemap_chunks(SITEMAP_SIZE)
    surrogate.shows(None, (), surrogate.LISTS)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sitemapindex xmlns="{SITEMAP_NS}">']
    for number, newest in chunks:
        loc = xml_escape(absolute(url_for("sitemaps.sitemap", number=str(number))))
        lines.append(f"<sitemap><loc>{loc}</loc><lastmod>{iso(newest)}</lastmod></sitemap>")
    news = store.news_entries(_news_since(), 1)
    if news:  # listed while it has articles (an empty urlset is not a valid sitemap)
        lines.append(
            f"<sitemap><loc>{xml_escape(absolute(NEWS_PATH))}</loc><lastmod>{iso(news[0][3])}</lastmod></sitemap>"
        )
    lines.append("</sitemapindex>")
    return _xml(lines, max((newest for _, newest in chunks), default=None))


@bp.get("/sitemap-<number>.xml")
def sitemap(number: str) -> Response:
    n = page_number(number)
    entries = get_store().sitemap_entries(n, SITEMAP_SIZE) if n else []
    surrogate.shows(None, (), surrogate.LISTS)
    if not entries:
        raise NotFound(_("There is no such sitemap."))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{SITEMAP_NS}">']
    for published, slug, updated in entries:
        lines.append(
            f"<url><loc>{xml_escape(_permalink(published, slug))}</loc><lastmod>{iso(updated)}</lastmod></url>"
        )
    lines.append("</urlset>")
    return _xml(lines, max(updated for _, _, updated in entries))


def _news_since() -> str:
    return iso(get_store().clock() - NEWS_WINDOW).replace("Z", "+00:00")


@bp.get(NEWS_PATH)
def news_sitemap() -> Response:
    """Google News sitemap: public articles published in the last 48 hours, newest first."""
    entries = get_store().news_entries(_news_since(), NEWS_MAX_URLS)
    surrogate.shows(None, (), surrogate.LISTS)
    if not entries:
        raise NotFound(_("There is no such sitemap."))
    cfg = current_app.config
    name = xml_escape(xml_safe(cfg["SITE_TITLE"]))
    language = xml_escape(news_language(cfg["SITE_LANGUAGE"]))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{SITEMAP_NS}" xmlns:news="{NEWS_NS}">']
    for published, slug, title, _updated in entries:
        lines.append(
            f"<url><loc>{xml_escape(_permalink(published, slug))}</loc><news:news><news:publication>"
            f"<news:name>{name}</news:name><news:language>{language}</news:language></news:publication>"
            f"<news:publication_date>{iso(datetime.fromisoformat(published))}</news:publication_date>"
            f"<news:title>{xml_escape(xml_safe(title))}</news:title></news:news></url>"
        )
    lines.append("</urlset>")
    return _xml(lines, max(updated for *_, updated in entries))


@bp.get("/robots.txt")
def robots() -> Response:
    text = (
        "User-agent: *\n"
        "Disallow: /search\n"
        "Disallow: /api/\n"
        "Disallow: /partner/\n"
        f"Sitemap: {absolute('/sitemap.xml')}\n"
        f"Sitemap: {absolute(NEWS_PATH)}\n"
    )  # fmt: skip
    return Response(text, mimetype="text/plain")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
