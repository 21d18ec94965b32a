"""The search page, /search?q=...: the store's full-text search (bounded in words, prefixes,
time and concurrent searches), one page of ranked, highlighted results in the site's look.
Part of the site blueprint (``site.search``); the factory imports it."""

from __future__ import annotations

from flask import Response, current_app, render_template, request

from . import surrogate
from .content import clean_text
from .db import get_store
from .i18n import gettext as _
from .i18n import number as number_
from .limits import SEARCH_MAX_PAGE, SEARCH_MAX_QUERY, SEARCH_MIN_PREFIX, page_number
from .models import Page, Scope
from .searchgate import search_slot
from .site import PageNotFound, _feeds, _finish, _newest, bp
from .store.search import SearchResults, SearchTooBroad
from .urls import absolute, page_path, scope_path


@bp.get("/search")
def search() -> Response:
    # Control characters and runs of spaces are dropped; the rest is text to the store's
    # FTS quoting, so FTS syntax cannot reach SQLite as syntax.
    query = clean_text(request.args.get("q", "")[: SEARCH_MAX_QUERY * 4])[:SEARCH_MAX_QUERY]
    raw_number = request.args.get("page")
    number = 1 if raw_number is None else page_number(raw_number)
    scope = Scope("search", query)
    if number is None or number > SEARCH_MAX_PAGE:
        raise PageNotFound(last_url=scope_path(scope) if query else None)
    per_page = current_app.config["PER_PAGE"]
    results, status = SearchResults([], 0), 200
    if query:
        try:
            with search_slot():
                results = get_store().search(query, number, per_page, count_cap=per_page * SEARCH_MAX_PAGE)
        except SearchTooBroad:
            # Not cached (only 200s are): on a quieter moment the same query may fit in time.
            status = 422
    hits = results.hits
    page = Page(scope, number, per_page, results.total, [h.article for h in hits])
    if number > 1 and not hits and status == 200:
        raise PageNotFound(last_url=page_path(scope, page.last))
    surrogate.shows(scope, page.articles)
    crumbs = [(_("Home"), "/"), (_("Search"), scope_path(scope) if number > 1 else "")]
    if number > 1:
        crumbs.append((_("Page %(number)s", number=number_(number)), ""))
    html = render_template(
        "search.html",
        query=query,
        hits=hits,
        results=results,
        too_broad=status == 422,
        min_prefix=SEARCH_MIN_PREFIX,
        page=page,
        crumbs=crumbs,
        feeds=_feeds(Scope("site"), ""),
        canonical=absolute(page_path(scope, number)),
        prev_url=page_path(scope, number - 1) if hits and page.has_prev else None,
        next_url=page_path(scope, number + 1) if hits and page.has_next else None,
        noindex=True,
    )
    response = _finish(html, _newest(page.articles))
    response.status_code = status
    return response
