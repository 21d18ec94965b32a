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

import hashlib
import math
import re
from datetime import UTC, datetime
from urllib.parse import urlencode, urljoin, urlsplit

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request
from werkzeug.urls import iri_to_uri

from . import feedwriters
from .cache.keys import cache_key, canonical_query, identity
from .cache.validators import VALIDATOR
from .content import absolutize_html, xml_safe
from .db import get_store
from .feedwriters import Category, FeedDoc, FeedItem, Image
from .fragments import fragments
from .models import Article, Scope
from .negotiation import (
    BROWSER_FEED_TYPE,
    BROWSER_FORMATS,
    FEED_TYPES,
    IMMUTABLE,
    NO_STORE,
    OPML_TYPE,
    VARY_ACCEPT,
    wants_browser_feed,
)
from .urls import absolute, feed_path, scope_path

FEED_CSP = (
    "default-src 'none'; script-src 'self'; object-src 'none'; style-src 'self'; img-src 'self' https: http:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

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


def _content_mode() -> str:
    raw = request.args.get("content")
    if raw is None:
        return current_app.config["FEED_CONTENT"]
    if raw not in ("full", "summary"):
        abort(400, description="content must be 'full' or 'summary'")
    return raw


def _with_query(path: str, **params: object) -> str:
    """``path`` plus query parameters (skipping empty ones), respecting a '?' already there."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    if not query:
        return path
    return path + ("&" if "?" in path else "?") + query


def _doc_url(scope: Scope, fmt: str, page: int = 1) -> str:
    """Absolute URL of page ``page`` of a subscription document, keeping an explicit ?content=."""
    return absolute(_with_query(feed_path(scope, fmt), page=page if page > 1 else None, content=_explicit_content()))


def _explicit_content() -> str | None:
    raw = request.args.get("content")
    return raw if raw in ("full", "summary") else None


def archive_path(scope: Scope, fmt: str, number: int) -> str:
    """'/feed/archive/3/', '/category/economy/feed/atom/archive/3/'."""
    return feed_path(scope, fmt) + f"archive/{number}/"


def _archive_url(scope: Scope, fmt: str, number: int) -> str:
    return absolute(_with_query(archive_path(scope, fmt, number), content=_explicit_content()))


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
    )


def _scope_label(scope: Scope) -> str:
    if scope.kind == "site":
        return ""
    if scope.kind == "search":
        return f"search results for “{scope.value}”"
    name = scope.term.name if scope.term else scope.value
    return {"category": name, "tag": f"tagged “{name}”", "author": f"articles by {name}"}[scope.kind]


def _entries(articles: list[Article], fmt: str) -> list[str]:
    """Each article's entry in ``fmt``, serialised once per article version (``fragments``)."""
    full = _content_mode() == "full"
    pieces = fragments()

    def make(article: Article) -> str:
        return feedwriters.entry_piece(feed_item(article, full), fmt)

    return [pieces.piece(("feed", fmt, full), article, make) for article in articles]


def _new_doc(scope: Scope, fmt: str, articles: list[Article], self_url: str) -> FeedDoc:
    cfg = current_app.config
    label = _scope_label(scope)
    title = f"{cfg['SITE_TITLE']}: {label}" if label else cfg["SITE_TITLE"]
    updated = _newest_updated(articles) or EPOCH
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
        entries=_entries(articles, fmt),
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
        abort(404)
    return Scope(kind, term.slug, term)


# -------------------------------------------------------------------------- views


def subscription_feed(fmt: str, kind: str = "site", slug: str = "") -> Response:
    """Page ``?page=n`` of a scope's feed, newest first (page 1 = the subscription document)."""
    scope = _scope(kind, slug)
    number = _page_number()
    size = current_app.config["FEED_ITEMS"]
    page = get_store().page(scope, number, size)
    if page is None:
        abort(404)
    doc = _new_doc(scope, fmt, page.articles, _doc_url(scope, fmt, number))
    doc.links = _paging_links(scope, fmt, number, page.last)
    complete = page.total // size
    if number == 1 and complete >= 1:
        doc.links.append(("prev-archive", _archive_url(scope, fmt, complete)))
    return _respond(doc, fmt, page.articles)


def archive_feed(fmt: str, number: int, kind: str = "site", slug: str = "") -> Response:
    """Complete archive ``number`` of a scope, counted from the oldest article (RFC 5005)."""
    scope = _scope(kind, slug)
    size = current_app.config["FEED_ITEMS"]
    page = get_store().page(scope, number, size, oldest_first=True) if number >= 1 else None
    if page is None or number * size > page.total:
        abort(404)  # out of range, or the newest chunk, which is not complete (so not archived) yet
    complete = page.total // size
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
    response = _respond(doc, fmt, articles)
    if response.status_code in (200, 304):
        response.headers["Cache-Control"] = IMMUTABLE
    return response


def search_feed(fmt: str) -> Response:
    """Full-text search results as a feed (ranked; paged with ``?page=n``)."""
    q = xml_safe(request.args.get("q", "")).strip()[:MAX_QUERY]
    if not q:
        abort(404)
    scope = Scope("search", q)
    number = _page_number()
    size = current_app.config["FEED_ITEMS"]
    hits, total = get_store().search(q, number, size)
    last = max(1, math.ceil(total / size))
    if number > last:
        abort(404)
    articles = [h.article for h in hits]
    doc = _new_doc(scope, fmt, articles, _doc_url(scope, fmt, number))
    doc.links = _paging_links(scope, fmt, number, last)
    return _respond(doc, fmt, articles)


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


# ----------------------------------------------------------------- HTTP: validators, delta


def _for_browser(fmt: str) -> bool:
    return wants_browser_feed(fmt, request.headers.get("Accept", ""))


def _content_type(fmt: str) -> str:
    """The feed's own media type; for a browser, the same bytes as application/xml, which
    browsers render through the feed's XSLT stylesheet (they show application/rss+xml and
    application/atom+xml as raw text or a download)."""
    return BROWSER_FEED_TYPE if _for_browser(fmt) else FEED_TYPES[fmt]


def _identity(fmt: str) -> str:
    """What makes this document this document: the cache layer's key (path, the parameters
    that change the output, the representation), hashed."""
    query = canonical_query(request.environ.get("QUERY_STRING", ""))
    return identity(cache_key(request.script_root + request.path, query, _for_browser(fmt)))


def _unquote(etag: str | None) -> str | None:
    return etag[1:-1] if etag else None


def _newest_updated(articles: list[Article]) -> datetime | None:
    return max((a.updated for a in articles), default=None)


def make_etag(identity: str, newest: datetime | None, body: bytes) -> str:
    """``<identity>-<newest updated, epoch seconds>-<hash of the body>`` (unquoted).

    The timestamp lets an RFC 3229 request name the version it holds; the identity proves the
    version is of this same document; the hash changes with any change at all.
    """
    seconds = int(newest.timestamp()) if newest is not None else 0
    return f"{identity}-{seconds}-{hashlib.blake2b(body, digest_size=8).hexdigest()}"


def _client_etags() -> list[str]:
    return re.findall(r'"([^"]*)"', request.headers.get("If-None-Match", ""))


def _wants_delta() -> bool:
    tokens = [t.split(";")[0].strip().lower() for t in request.headers.get("A-IM", "").split(",")]
    return "feed" in tokens


def _respond(doc: FeedDoc, fmt: str, articles: list[Article]) -> Response:
    body = feedwriters.write(doc, fmt)
    identity = _identity(fmt)
    last_modified = _newest_updated(articles)
    # The cache's validator when it computed one (it decides the bytes: see cache.keys), so a
    # revalidation it answers without rendering and this response agree.
    etag = _unquote(request.environ.get(VALIDATOR)) or make_etag(identity, last_modified, body)
    if _wants_delta() and request.headers.get("If-None-Match"):
        client = _client_etags()
        if etag in client:
            return _not_modified(etag, last_modified)
        since = _version_time(client, identity)
        if since is not None:
            # RFC 3229 feed IM: only the entries newer than the client's version. Times have whole
            # seconds, so an entry from the very second of that version is sent again: a duplicate
            # (readers merge by id) is harmless, a missed entry is not.
            entries = [e for e, a in zip(doc.entries or [], articles, strict=True) if a.updated >= since]
            delta = FeedDoc(**{**doc.__dict__, "entries": entries})
            response = Response(feedwriters.write(delta, fmt), status=226, content_type=_content_type(fmt))
            response.headers["IM"] = "feed"
            response.headers["Cache-Control"] = f"{NO_STORE}, im"  # a delta must never be served as the feed
            response.set_etag(etag)
            if last_modified:
                response.last_modified = last_modified
            return response
    response = Response(body, content_type=_content_type(fmt))
    if fmt in BROWSER_FORMATS:
        response.vary.add(VARY_ACCEPT)
        # Browsers load an XSLT stylesheet under script-src: allow ours (same origin), and
        # still no inline script, so a payload in an item can never run in the rendered page.
        response.headers["Content-Security-Policy"] = FEED_CSP
    response.set_etag(etag)
    if last_modified:
        response.last_modified = last_modified
    # Plain conditional GET (RFC 9110 §13: If-None-Match wins over If-Modified-Since).
    return response.make_conditional(request)


def _not_modified(etag: str, last_modified: datetime | None) -> Response:
    response = Response(status=304)
    response.set_etag(etag)
    if last_modified:
        response.last_modified = last_modified
    return response


def _version_time(client_etags: list[str], identity: str) -> datetime | None:
    """The newest-updated time of the client's version, if one of its ETags is ours for this feed."""
    for tag in client_etags:
        parts = tag.split("-")
        if len(parts) == 3 and parts[0] == identity and parts[1].isdigit():
            return datetime.fromtimestamp(int(parts[1]), UTC)
    return None


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
