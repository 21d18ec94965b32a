"""Test-only views shaped like the real ones (they read the store, set Last-Modified), and an
app built with them, for the cache's tests. The real site and feeds are tested elsewhere."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

from flask import abort, make_response, request
from markupsafe import escape

from syndicate.db import get_store
from syndicate.models import Scope
from syndicate.store import Store
from syndicate.validation import article_record
from tests.conftest import make_app


def add_routes(app, renders: Counter | None = None, *, slow: float = 0.0) -> Counter:
    """Views shaped like the real ones (they read the store, set Last-Modified); each counts its
    renders in the returned Counter so tests can prove that hits do no work."""
    renders = Counter() if renders is None else renders

    def listing():
        renders["listing"] += 1
        number = request.args.get("page", "1")
        if not number.isdigit():
            abort(404)
        page = get_store().page(Scope("site"), int(number), 10)
        if page is None:
            abort(404)
        parts = [
            "<!doctype html><html lang=en><head><title>Listing</title></head><body>",
            f"<p id=q>{escape(request.args.get('q', ''))}</p>",
            f"<p id=content>{escape(request.args.get('content', ''))}</p>",
            f"<p id=page>{page.number}</p>",
            f"<p id=args>{escape(sorted(request.args))}</p>",
        ]
        for article in page.articles:
            parts.append(f"<article><h2>{escape(article.title)}</h2><p>{escape(article.summary)}</p></article>")
        response = make_response("".join(parts) + "</body></html>")
        if page.articles:
            response.last_modified = max(a.updated for a in page.articles)
        return response

    def feed():
        """RSS with its own ETag, answering RFC 3229 deltas itself (like the feeds view)."""
        renders["feed"] += 1
        articles = get_store().newest(Scope("site"), 20)
        etag = f'"feed-{articles[0].id}-{int(articles[0].updated.timestamp())}"'
        items = "".join(f"<item><title>{escape(a.title)}</title><guid>{a.guid}</guid></item>" for a in articles)
        response = make_response(f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>')
        response.mimetype = "application/rss+xml"
        response.headers["ETag"] = etag
        if "feed" in request.headers.get("A-IM", "") and request.headers.get("If-None-Match") not in (None, etag):
            response.status_code = 226
            response.headers["IM"] = "feed"
        return response

    def counted():
        renders["counted"] += 1
        time.sleep(slow)
        return "<p>counted</p>" * 50

    def cookie():
        renders["cookie"] += 1
        response = make_response("<p>with a cookie</p>")
        response.set_cookie("seen", "1")
        return response

    def stylesheet():
        renders["css"] += 1
        response = make_response("body { color: black }")
        response.mimetype = "text/css"
        return response

    def private():
        renders["private"] += 1
        response = make_response("<p>mine</p>")
        response.headers["Cache-Control"] = "private, max-age=0"
        return response

    def archive():
        renders["archive"] += 1
        response = make_response('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>')
        response.mimetype = "application/atom+xml"
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response

    for rule, view in (
        ("/_t/listing/", listing),
        ("/_t/feed/", feed),
        ("/_t/counted/", counted),
        ("/_t/cookie/", cookie),
        ("/_t/style.css", stylesheet),
        ("/_t/private/", private),
        ("/_t/archive/1/", archive),
    ):
        app.add_url_rule(rule, f"t_{view.__name__}", view)

    # Headers other modules add (security headers...) must be stored and replayed with every hit.
    def security(response):
        response.headers["X-Test-Added-By-Another-Module"] = "kept"
        return response

    app.after_request(security)
    return renders


def build(db_path, *, slow: float = 0.0, **config):
    app = make_app(db_path, **config)
    app.renders = add_routes(app, slow=slow)
    return app


def publish(store: Store, title: str, *, published: datetime | None = None, **fields):
    data = {"title": title, "body": "<p>News.</p>", "category": "World", **fields}
    data["published"] = (published or datetime.now(UTC)).isoformat()
    article, _ = store.save_article(article_record(data, now=datetime.now(UTC)))
    return article
