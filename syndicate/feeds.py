"""Feeds blueprint: RSS 2.0, Atom 1.0 and JSON Feed 1.1 for the site, every category, tag and
author, and search; RFC 5005 paging and archives; RFC 3229 delta encoding; the OPML list.

Views are thin: they ask the store for a page, turn it into a format-neutral ``FeedDoc`` and
hand it to a writer in ``feedwriters``. Every view is a pure function of the path, the query
parameters ``page``, ``q`` and ``content``, and the database (the cache layer keys on exactly
those). Every URL is built from ``SITE_URL``, never from the request's Host.

URLs (``<fmt>`` is empty for RSS, ``atom/`` or ``json/``):
- subscription documents: ``/feed/<fmt>``, ``/{category,tag,author}/<slug>/feed/<fmt>``,
  ``/search/feed/<fmt>?q=...``; every one takes ``?page=n`` (RFC 5005 paged feed:
  first / next / previous / last) and ``?content=summary|full``;
- archive documents (RFC 5005 archived feed), for the site and every category, tag and author:
  ``/feed/<fmt>archive/<k>/``, ``/category/<slug>/feed/<fmt>archive/<k>/``... Archive ``k``
  holds articles ``(k-1)*FEED_ITEMS+1 .. k*FEED_ITEMS`` counted from the OLDEST, so it never
  shifts when something is published; it exists only once complete. The subscription
  document (page 1) links ``prev-archive`` to the newest complete archive; the articles newer
  than that archive are all in the subscription document itself.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from urllib.parse import urlencode, urljoin, urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, redirect, render_template, request
from werkzeug.urls import iri_to_uri

from . import feedwriters, partners, surrogate
from .content import absolutize_html, xml_safe
from .db import get_store
from .feed_http import respond
from .feedwriters import Category, FeedDoc, FeedItem, Image
from .fragments import fragments
from .limits import SEARCH_MAX_PAGE
from .models import Article, Scope
from .negotiation import (
    IMMUTABLE,
    OPML_TYPE,
)
from .searchgate import search_slot
from .store.search import SearchTooBroad
from .urls import absolute, feed_path, moved_term_url, scope_path

bp = Blueprint("feeds", __name__)

FORMATS = {"rss": "", "atom": "atom/", "json": "json/"}
TERM_KINDS = "category,tag,author"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_QUERY = 200  # characters of a search query echoed into titles and links


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


# ------------------------------------------------------------------------ parameters


def _page_number() -> int:
    """``?page=n``: absent means 1; anything but a positive whole number is a 404."""
    raw = request.args.get("page")
    if raw is None:
        return 1
    if not re.fullmatch(r"[1-9][0-9]{0,8}", raw):
        abort(404)
    return int(raw)


def _content_mode(kind: str) -> str:
    raw = request.args.get("content")
    if raw is not None and raw not in ("full", "summary"):
        abort(400, description="content must be 'full' or 'summary'")
    return partners.content_mode(raw, kind)  # partners: full text; the public: PUBLIC_FEED_CONTENT


def _with_query(path: str, **params: object) -> str:
    """``path`` plus query parameters (skipping empty ones), respecting a '?' already there."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    if not query:
        return path
    return path + ("&" if "?" in path else "?") + query


def _doc_url(scope: Scope, fmt: str, page: int = 1) -> str:
    """Absolute URL of page ``page`` of a subscription document, keeping an explicit ?content=."""
    path = _with_query(feed_path(scope, fmt), page=page if page > 1 else None, content=_explicit_content())
    return partners.feed_url(path)  # a partner's secret URL keeps its prefix


def _explicit_content() -> str | None:
    raw = request.args.get("content")
    return raw if raw in ("full", "summary") else None


def archive_path(scope: Scope, fmt: str, number: int) -> str:
    """'/feed/archive/3/', '/category/economy/feed/atom/archive/3/'."""
    return feed_path(scope, fmt) + f"archive/{number}/"


def _archive_url(scope: Scope, fmt: str, number: int) -> str:
    return partners.feed_url(_with_query(archive_path(scope, fmt, number), content=_explicit_content()))


# ----------------------------------------------------------------------- feed model


def feed_item(article: Article, full: bool) -> FeedItem:
    """An article as a feed item; its content's URLs resolved against its absolute permalink."""
    url = absolute(article.path)
    categories = []
    if article.category is not None:
        categories.append(Category(article.category.slug, article.category.name, absolute(article.category.path)))
    for tag in article.tags:
        categories.append(Category(tag.slug, tag.name, absolute(tag.path)))
    image = None
    if article.image_url:
        # As a URI (spaces and non-ASCII percent-encoded): enclosure URLs go to podcast-style
        # downloaders that do not speak IRIs.
        image_url = iri_to_uri(urljoin(url, xml_safe(article.image_url)))
        image = Image(
            image_url,
            feedwriters.image_type(image_url, article.image_type),
            article.image_length,
            article.image_caption,
        )
    return FeedItem(
        id=article.guid,
        url=url,
        title=article.title,
        summary=article.summary,
        content_html=absolutize_html(article.body, url) if full else None,
        author_name=article.author.name if article.author else "",
        author_url=absolute(article.author.path) if article.author else "",
        categories=categories,
        published=article.published,
        updated=article.updated,
        image=image,
        # Only partners' listings hold articles under embargo: marked while it lasts.
        embargo_until=article.embargo_until if article.under_embargo(datetime.now(UTC)) else None,
        language=article.language,
    )


def _scope_label(scope: Scope) -> str:
    if scope.kind == "site":
        return ""
    if scope.kind == "search":
        return f"search results for “{scope.value}”"
    name = scope.term.name if scope.term else scope.value
    return {"category": name, "tag": f"tagged “{name}”", "author": f"articles by {name}"}[scope.kind]


def _entries(articles: list[Article], kind: str, fmt: str) -> list[str]:
    """Each article's entry in ``fmt``, serialised once per article version (``fragments``).
    A partner's entries are made for it alone (its links keep its prefix, embargoes are marked)."""
    full = _content_mode(kind) == "full"

    def make(article: Article) -> str:
        return feedwriters.entry_piece(feed_item(article, full), fmt)

    if partners.current() is not None:
        return [make(article) for article in articles]
    pieces = fragments()
    return [pieces.piece(("feed", fmt, full), article, make) for article in articles]


def _new_doc(scope: Scope, fmt: str, articles: list[Article], self_url: str) -> FeedDoc:
    cfg = current_app.config
    label = _scope_label(scope)
    title = f"{cfg['SITE_TITLE']}: {label}" if label else cfg["SITE_TITLE"]
    updated = max((a.updated for a in articles), default=None) or EPOCH
    site_path = urlsplit(cfg["SITE_URL"]).path
    return FeedDoc(
        id=absolute(feed_path(scope, "atom")),
        title=xml_safe(title),
        subtitle=cfg["SITE_DESCRIPTION"] if scope.kind == "site" else f"{label} — {cfg['SITE_DESCRIPTION']}",
        language=cfg["SITE_LANGUAGE"],
        publisher=cfg["SITE_TITLE"],
        home_url=absolute(scope_path(scope)),
        self_url=self_url,
        updated=updated,
        items=[],
        entries=_entries(articles, scope.kind, fmt),
        published=max((a.published for a in articles), default=None),
        icon=absolute("/static/feed-icon.png"),
        logo=absolute("/static/feed-icon.png"),
        ttl=cfg["FEED_TTL"],
        hub=cfg["WEBSUB_HUB"],
        # Root-relative on purpose: browsers apply XSLT only from the document's own origin.
        stylesheet=f"{site_path}/static/feed.xsl",
    )


def _scope(kind: str, slug: str) -> Scope:
    if kind == "site":
        return Scope("site")
    term = get_store().term(kind, slug)
    if term is None:
        moved = get_store().term_redirect(kind, slug)
        if moved is not None:  # renamed, merged or moved: subscribers follow the 301
            abort(redirect(moved_term_url(moved, slug, request.path, request.query_string), code=301))
        abort(404)
    return Scope(kind, term.slug, term)


# -------------------------------------------------------------------------- views


def subscription_feed(fmt: str, kind: str = "site", slug: str = "") -> Response:
    """Page ``?page=n`` of a scope's feed, newest first (page 1 = the subscription document)."""
    scope = _scope(kind, slug)
    number = _page_number()
    size = current_app.config["FEED_ITEMS"]
    # Partners also get the articles under embargo (archives stay what the public has).
    page = get_store().page(scope, number, size, embargoed=partners.current() is not None)
    if page is None:
        abort(404)
    surrogate.shows(scope, page.articles)
    doc = _new_doc(scope, fmt, page.articles, _doc_url(scope, fmt, number))
    doc.links = _paging_links(scope, fmt, number, page.last)
    complete = page.total // size
    if number == 1 and complete >= 1:
        doc.links.append(("prev-archive", _archive_url(scope, fmt, complete)))
    return respond(doc, fmt, page.articles)


def archive_feed(fmt: str, number: int, kind: str = "site", slug: str = "") -> Response:
    """Complete archive ``number`` of a scope, counted from the oldest article (RFC 5005)."""
    scope = _scope(kind, slug)
    size = current_app.config["FEED_ITEMS"]
    page = get_store().page(scope, number, size, oldest_first=True) if number >= 1 else None
    if page is None or number * size > page.total:
        abort(404)  # out of range, or the newest chunk, which is not complete (so not archived) yet
    complete = page.total // size
    # The newest archive gains a next-archive link when the following one completes: it moves
    # with its scope; the older ones only when an article enters, leaves or moves among them.
    if number == complete:
        surrogate.shows(scope, page.articles)
    else:
        key = surrogate.scope_key(scope)
        surrogate.shows(None, page.articles, *([surrogate.archive_key(key)] if key else []))
    # Newest first inside the document too, like every other feed we serve.
    articles = list(reversed(page.articles))
    doc = _new_doc(scope, fmt, articles, _archive_url(scope, fmt, number))
    doc.archive = True
    doc.links = [("current", _doc_url(scope, fmt))]
    if number > 1:
        doc.links.append(("prev-archive", _archive_url(scope, fmt, number - 1)))
    if number < complete:
        # Absent from the newest archive until its successor is complete: the only change an
        # archive document ever sees (its entries never change).
        doc.links.append(("next-archive", _archive_url(scope, fmt, number + 1)))
    response = respond(doc, fmt, articles)
    if response.status_code in (200, 304):
        response.headers["Cache-Control"] = IMMUTABLE
    return response


def search_feed(fmt: str) -> Response:
    """Full-text search results as a feed (ranked; paged with ``?page=n``). A search too broad
    to answer in time is a valid feed without items, status 422, saying so in its subtitle."""
    q = xml_safe(request.args.get("q", "")).strip()[:MAX_QUERY]
    if not q:
        abort(404)
    scope = Scope("search", q)
    number = _page_number()
    size = current_app.config["FEED_ITEMS"]
    try:
        with search_slot():
            results = get_store().search(q, number, size, count_cap=size * SEARCH_MAX_PAGE)
    except SearchTooBroad:
        doc = _new_doc(scope, fmt, [], _doc_url(scope, fmt, 1))
        doc.subtitle = "This search matches too much to answer in time: add a word to narrow it."
        response = respond(doc, fmt, [])
        response.status_code = 422
        return response
    last = max(1, math.ceil(results.total / size))
    if number > last or number > SEARCH_MAX_PAGE:
        abort(404)
    articles = [h.article for h in results.hits]
    surrogate.shows(scope, articles)
    doc = _new_doc(scope, fmt, articles, _doc_url(scope, fmt, number))
    doc.links = _paging_links(scope, fmt, number, last)
    return respond(doc, fmt, articles)


def _paging_links(scope: Scope, fmt: str, number: int, last: int) -> list[tuple[str, str]]:
    links = [("first", _doc_url(scope, fmt, 1))]
    if number > 1:
        links.append(("previous", _doc_url(scope, fmt, number - 1)))
    if number < last:
        links.append(("next", _doc_url(scope, fmt, number + 1)))
    links.append(("last", _doc_url(scope, fmt, last)))
    return links


@bp.route("/feeds.opml")
def opml() -> Response:
    """OPML 2.0: every feed the site offers (site, each category, each author), RSS flavour."""
    store = get_store()
    site = Scope("site")
    surrogate.shows(None, (), surrogate.LISTS)
    groups = []
    for kind, label in (("category", "Categories"), ("author", "Authors")):
        outlines = []
        for term in store.terms(kind):
            scope = Scope(kind, term.slug, term)
            outlines.append(
                {"text": term.name, "xml_url": absolute(feed_path(scope)), "html_url": absolute(scope_path(scope))}
            )
        groups.append((label, outlines))
    updated = store.last_updated()
    body = render_template(
        "feeds/opml.xml",
        title=current_app.config["SITE_TITLE"],
        site={"text": current_app.config["SITE_TITLE"], "xml_url": absolute(feed_path(site)),
              "html_url": absolute("/")},
        groups=groups,
        updated=updated,
        docs="https://opml.org/spec2.opml",
    )  # fmt: skip
    response = Response(xml_safe(body), content_type=OPML_TYPE)
    if updated:
        response.last_modified = updated
    return response


# ------------------------------------------------------------------------- routes


def _register() -> None:
    for fmt, suffix in FORMATS.items():
        bp.add_url_rule(f"/feed/{suffix}", f"site_{fmt}", subscription_feed, defaults={"fmt": fmt})
        bp.add_url_rule(
            f"/<any({TERM_KINDS}):kind>/<slug>/feed/{suffix}", f"term_{fmt}", subscription_feed, defaults={"fmt": fmt}
        )
        bp.add_url_rule(f"/search/feed/{suffix}", f"search_{fmt}", search_feed, defaults={"fmt": fmt})
        bp.add_url_rule(
            f"/feed/{suffix}archive/<int:number>/", f"site_archive_{fmt}", archive_feed, defaults={"fmt": fmt}
        )
        bp.add_url_rule(
            f"/<any({TERM_KINDS}):kind>/<slug>/feed/{suffix}archive/<int:number>/",
            f"term_archive_{fmt}",
            archive_feed,
            defaults={"fmt": fmt},
        )


_register()
