"""The HTML site: a blueprint of thin views over the store, WordPress-compatible URLs.

Every view is a pure function of its path (plus ``q`` and ``page`` for search) and of the
database, so the cache layer can key on exactly those. Views ask the store, pick a template and
set ``Last-Modified``; they never set ETag or Cache-Control (the cache layer does).
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Blueprint, Flask, Response, current_app, g, redirect, render_template, request
from markupsafe import Markup
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter, RequestRedirect

from . import surrogate
from .db import get_store
from .fragments import fragments
from .i18n import full_date, long_date, month_name, month_year, year_name
from .i18n import gettext as _
from .i18n import number as number_
from .limits import page_number
from .models import Article, Page, Scope
from .negotiation import FEED_MEDIA_TYPES
from .urls import absolute, feed_path, moved_term_url, page_path, scope_path

bp = Blueprint("site", __name__)

# Search: a visitor's query is cut to this many characters, and deeper pages are refused.
# Slugs are at most 80 characters when we make them; imports may bring longer ones.
MAX_SLUG = 200
# Publication years stop at 9998 (validation.parse_time refuses later ones), and the archive of
# December 9999 would end past the largest date Python can represent.
LAST_ARCHIVE_YEAR = 9998
_NO_SUCH = {
    "category": lambda: _("There is no such category."),
    "tag": lambda: _("There is no such tag."),
    "author": lambda: _("There is no such author."),
}
# A page number is 1 to 999,999,999, written without a sign or leading zeros; anything else
# ("0", "-1", "abc", 20 digits) is a 404, never an int() of unbounded size.


class PageNotFound(NotFound):
    """A listing page that does not exist; the 404 page links to ``last_url`` when known."""

    def __init__(self, last_url: str | None = None, description: str | None = None) -> None:
        super().__init__(description or _("There is no such page in this listing."))
        self.last_url = last_url


class _YearConverter(BaseConverter):
    """Four digits: the year segment of date URLs (so '/page/' or '/search/' never match)."""

    regex = r"[0-9]{4}"


class _TwoDigitConverter(BaseConverter):
    """Two digits: the month and day segments of date URLs."""

    regex = r"[0-9]{2}"


# ------------------------------------------------------------------------------ helpers


def iso(moment: datetime) -> str:
    """A machine-readable UTC time for ``<time datetime>`` and metadata."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def today_line() -> str:
    """'Wednesday, November 25, 2026': today in the configured time zone and language."""
    return full_date(datetime.now(UTC) if g.get("site_degraded") else get_store().clock())


def nav_categories() -> list:
    """The categories for the navigation; empty when the database cannot answer (500 page)."""
    if g.get("site_degraded"):
        return []
    return get_store().terms("category")


def masthead(section: Any = None) -> Markup:
    """The header every page starts with (today's date, search, the sections), rendered once
    per everything it shows: the date line, the categories (slug, name) in order, the current
    section and the site's title; a new day or a renamed category makes another one."""
    surrogate.shows(None, (), surrogate.NAV)
    section = section if isinstance(section, str) else None  # undefined in most templates
    today, categories = today_line(), tuple(nav_categories())
    title = current_app.config["SITE_TITLE"]
    key = ("masthead", today, tuple((c.slug, c.name) for c in categories), section, title)
    return fragments().shell(
        key, lambda: render_template("partials/masthead.html", today=today, categories=categories, section=section)
    )


def breadcrumbs(crumbs: Any = None) -> Markup:
    """The breadcrumb trail (label, href)..., rendered once per trail. A label's type is part of
    the key: Markup is written as is, text is escaped."""
    trail = tuple((label, isinstance(label, Markup), href) for label, href in crumbs) if crumbs else ()
    return fragments().shell(
        ("crumbs", trail),
        lambda: render_template("partials/breadcrumbs.html", crumbs=[(label, href) for label, _m, href in trail]),
    )


def pager(page: Page) -> Markup:
    """A listing page's pagination, rendered once per (listing, page number, last page): the
    links and labels depend on nothing else."""
    return fragments().shell(("pager", page.scope.key, page.number, page.last), lambda: str(_pager_macro()(page)))


def _pager_macro() -> Any:
    return current_app.jinja_env.get_template("partials/pagination.html").module.pagination


def site_footer() -> Markup:
    """The footer: the site's settings alone, so rendered once per title and description."""
    config = current_app.config
    key = ("footer", config["SITE_TITLE"], config["SITE_DESCRIPTION"])
    return fragments().shell(key, lambda: render_template("partials/footer.html"))


def json_ld(data: dict[str, Any]) -> Markup:
    """JSON for a ``<script type="application/ld+json">`` block: '<', '>' and '&' escaped so no
    string in the data can close the script element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def _wanted_slug(raw: str) -> str:
    """The slug a visitor meant: Flask has decoded the percent-encoding; NFC and lower case, as
    slugs are made (a browser or keyboard may send decomposed or capitalised letters)."""
    return raw if raw.isascii() and raw.islower() else unicodedata.normalize("NFC", raw).lower()


def _newest(articles: list[Article]) -> datetime | None:
    return max((a.updated for a in articles), default=None)


def _last_modified(response: Response, newest: datetime | None) -> Response:
    """Last-Modified = the newest ``updated`` shown, but never later than now (RFC 9110 8.8.2.1:
    an update time in the future, say from a clock-skewed import, becomes the current time)."""
    if newest is not None:
        response.last_modified = min(newest, get_store().clock())
    return response


def _finish(html: str, newest: datetime | None) -> Response:
    return _last_modified(Response(html, mimetype="text/html"), newest)


def _feeds(scope: Scope, label: str) -> list[dict[str, str]]:
    """``<link rel="alternate">`` entries for the feeds of ``scope``."""
    title = current_app.config["SITE_TITLE"] + (f" — {label}" if label else "")
    formats = (("rss", "RSS"), ("atom", "Atom"), ("json", "JSON Feed"))
    return [
        {"type": FEED_MEDIA_TYPES[fmt], "name": name, "title": f"{title} ({name})", "href": feed_path(scope, fmt)}
        for fmt, name in formats
    ]


def _date_scope(year: str, month: str | None = None, day: str | None = None) -> tuple[Scope, list[tuple[str, str]]]:
    """The scope of a date archive and its breadcrumb trail; 404 for impossible dates."""
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise PageNotFound(description=_("There is no such date.")) from None  # 2026/02/30, year 0000
    if int(year) > LAST_ARCHIVE_YEAR:
        raise PageNotFound(description=_("Nothing was published here."))
    crumbs = [(year_name(int(year)), f"/{year}/")]
    if month is None:
        return Scope("year", year), crumbs
    crumbs.append((month_name(int(month)), f"/{year}/{month}/"))
    if day is None:
        return Scope("month", f"{year}-{month}"), crumbs
    crumbs.append((number_(int(day)), f"/{year}/{month}/{day}/"))
    return Scope("day", f"{year}-{month}-{day}"), crumbs


# ------------------------------------------------------------------------------ listings


def _listing(
    scope: Scope,
    raw_number: str | None,
    *,
    template: str,
    heading: str,
    crumbs: list[tuple[str, str]],
    feeds: list[dict[str, str]],
    empty_is_404: bool = False,
    **extra: Any,
) -> Response:
    """One page of a listing: validate the page number, fetch, render."""
    if raw_number is None:
        number = 1
    else:
        number = page_number(raw_number)
        if number == 1:
            return redirect(scope_path(scope), code=301)
    per_page = current_app.config["PER_PAGE"]
    store = get_store()
    page: Page | None = store.page(scope, number, per_page) if number else None
    if page is None or (empty_is_404 and not page.articles):
        keys = store.page_keys(scope, per_page)
        if keys is None or (empty_is_404 and not keys):
            raise PageNotFound(description=_("Nothing was published here."))
        raise PageNotFound(last_url=page_path(scope, max(len(keys), 1)))
    surrogate.shows(scope, page.articles)
    trail = list(crumbs)
    if page.number > 1:
        trail = [
            *crumbs[:-1],
            (crumbs[-1][0], scope_path(scope)),
            (_("Page %(number)s", number=number_(page.number)), ""),
        ]
    else:
        trail[-1] = (crumbs[-1][0], "")
    html = render_template(
        template,
        page=page,
        heading=heading,
        crumbs=trail,
        feeds=feeds,
        canonical=absolute(page_path(scope, page.number)),
        prev_url=page_path(scope, page.number - 1) if page.has_prev else None,
        next_url=page_path(scope, page.number + 1) if page.has_next else None,
        **extra,
    )
    return _finish(html, _newest(page.articles))


@bp.get("/", defaults={"number": None})
@bp.get("/page/<number>/")
def front(number: str | None) -> Response:
    scope = Scope("site")
    return _listing(
        scope,
        number,
        template="front.html",
        heading=_("Latest news"),
        crumbs=[(_("Home"), "/"), (_("Blog"), "/")] if number else [(_("Home"), "/")],
        feeds=_feeds(scope, ""),
    )


@bp.get("/<any(category, tag, author):kind>/<slug>/", defaults={"number": None})
@bp.get("/<any(category, tag, author):kind>/<slug>/page/<number>/")
def term(kind: str, slug: str, number: str | None) -> Response:
    found = get_store().term(kind, _wanted_slug(slug)) if len(slug) <= MAX_SLUG else None
    if found is None:
        moved = get_store().term_redirect(kind, _wanted_slug(slug)) if len(slug) <= MAX_SLUG else None
        if moved is not None:  # renamed, merged or moved: its old addresses keep working
            return redirect(moved_term_url(moved, slug, request.path, request.query_string), code=301)
        raise PageNotFound(description=_NO_SUCH[kind]())
    scope = Scope(kind, found.slug, found)
    if found.slug != slug:  # typed in capitals or decomposed (NFD): the canonical address
        return redirect(page_path(scope, 1 if number is None else (page_number(number) or 1)), code=301)
    heading = {
        "category": found.name,
        "tag": _("Tagged “%(name)s”", name=found.name),
        "author": _("Articles by %(name)s", name=found.name),
    }[kind]
    return _listing(
        scope,
        number,
        template="term.html",
        heading=heading,
        crumbs=[(_("Home"), "/"), (found.name, scope_path(scope))],
        feeds=_feeds(scope, found.name),
        term=found,
        section=slug if kind == "category" else None,
    )


@bp.get("/<d4:year>/", defaults={"number": None})
@bp.get("/<d4:year>/page/<number>/")
def year_archive(year: str, number: str | None) -> Response:
    return _date_listing(number, year)


@bp.get("/<d4:year>/<d2:month>/", defaults={"number": None})
@bp.get("/<d4:year>/<d2:month>/page/<number>/")
def month_archive(year: str, month: str, number: str | None) -> Response:
    return _date_listing(number, year, month)


@bp.get("/<d4:year>/<d2:month>/<d2:day>/", defaults={"number": None})
@bp.get("/<d4:year>/<d2:month>/<d2:day>/page/<number>/")
def day_archive(year: str, month: str, day: str, number: str | None) -> Response:
    return _date_listing(number, year, month, day)


def _date_listing(number: str | None, year: str, month: str | None = None, day: str | None = None) -> Response:
    scope, crumbs = _date_scope(year, month, day)
    if day:
        heading = long_date(date(int(year), int(month), int(day)))
    elif month:
        heading = month_year(int(year), int(month))
    else:
        heading = year_name(int(year))
    # A date with no articles is not a page (WordPress answers 404 too): crawlers cannot
    # wander through an endless calendar of empty archives.
    return _listing(
        scope,
        number,
        template="archive.html",
        heading=_("Archive: %(period)s", period=heading),
        crumbs=[(_("Home"), "/"), *crumbs],
        feeds=_feeds(Scope("site"), ""),
        empty_is_404=True,
    )


# ------------------------------------------------------------------------------ articles


@bp.get("/<d4:year>/<d2:month>/<d2:day>/<slug>/")
def article(year: str, month: str, day: str, slug: str) -> Response:
    store = get_store()
    if len(slug) > MAX_SLUG:
        raise NotFound(_("There is no such article."))
    slug = _wanted_slug(slug)
    found = store.article(slug)
    if found is None:
        moved = store.redirected_slug(slug)
        if moved is None:
            raise NotFound(_("There is no such article. It may have been removed, or the address is mistyped."))
        return redirect(moved.path, code=301)
    if request.path != unquote(found.path):
        # The date in the link is wrong (an old link, a time-zone slip): send readers to the permalink.
        return redirect(found.path, code=301)
    older, newer = store.adjacent(found)
    related = store.related(found)
    crumbs = [(_("Home"), "/")]
    if found.category:
        crumbs.append((found.category.name, found.category.path))
    crumbs.append((found.title, ""))
    feeds = _feeds(Scope("site"), "")
    if found.category:
        feeds += _feeds(Scope("category", found.category.slug), found.category.name)
    html = render_template(
        "article.html",
        article=found,
        older=older,
        newer=newer,
        related=related,
        crumbs=crumbs,
        feeds=feeds,
        canonical=absolute(found.path),
        section=found.category.slug if found.category else None,
        metadata=json_ld(_news_article(found)),
    )
    shown = [found, *related, *(a for a in (older, newer) if a)]
    surrogate.shows(None, shown, surrogate.page_key(found.id))
    return _finish(html, _newest(shown))


def _news_article(article: Article) -> dict[str, Any]:
    """schema.org NewsArticle metadata for search engines."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title[:110],
        "description": article.summary,
        "datePublished": iso(article.published),
        "dateModified": iso(article.updated),
        "mainEntityOfPage": absolute(article.path),
        "url": absolute(article.path),
        "publisher": {"@type": "Organization", "name": current_app.config["SITE_TITLE"]},
    }
    if article.image_url:
        data["image"] = [article.image_url]
    if article.author:
        data["author"] = [{"@type": "Person", "name": article.author.name, "url": absolute(article.author.path)}]
    if article.category:
        data["articleSection"] = article.category.name
    if article.tags:
        data["keywords"] = [t.name for t in article.tags]
    return data


# ------------------------------------------------------------------------------ wiring


def site_url_redirects() -> Response | None:
    """Routing's own redirects (``/2026/11`` to ``/2026/11/``) with a Location on ``SITE_URL``,
    as feeds build their links: Werkzeug would build it from the request's Host header, which
    any client can set (and a cache in front would keep and hand to everyone)."""
    exc = request.routing_exception
    if not isinstance(exc, RequestRedirect):
        return None
    target = urlsplit(exc.new_url)
    return redirect(absolute(target.path) + (f"?{target.query}" if target.query else ""), code=exc.code)


def listing_card(article: Article, lazy: bool) -> Markup:
    """An article's listing card, rendered once per article version (``fragments``)."""
    return Markup(fragments().piece(("card", lazy), article, lambda a: str(_card_macro()(a, lazy=lazy))))


def listing_cards(articles: list[Article]) -> Markup:
    """The cards of a listing page, each on its own line; the first one's image loads at once."""
    return Markup("".join(f"{listing_card(article, i > 0)}\n" for i, article in enumerate(articles)))


def _card_macro() -> Any:
    return current_app.jinja_env.get_template("partials/article_bits.html").module.card


def init_app(app: Flask) -> None:
    app.url_map.converters["d4"] = _YearConverter
    app.url_map.converters["d2"] = _TwoDigitConverter
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.globals.update(
        masthead=masthead,
        breadcrumbs=breadcrumbs,
        pager=pager,
        site_footer=site_footer,
        page_path=page_path,
        listing_card=listing_card,
        listing_cards=listing_cards,
    )
    app.register_blueprint(bp)
    app.before_request(site_url_redirects)
