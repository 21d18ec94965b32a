"""Error responses: friendly HTML pages in the site's look, JSON for the API.

Under ``/api/`` every error, whoever raises it (the API's own checks, routing, werkzeug, a
bug), has one shape, made by ``json_error``: ``{"error": message}``, plus ``"fields"`` naming
each bad field, header or query parameter when there are any. Everything else gets the site's
error page (with a link to the last page when a listing page is out of range). Unexpected
exceptions are logged by Flask and shown as a plain 500 page that does not touch the database.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, g, render_template, request
from flask_babel import gettext, lazy_gettext
from werkzeug.exceptions import HTTPException

from .negotiation import JSON_TYPE, NO_STORE, VARY_AUTHORIZATION
from .urls import API_PREFIX

TITLES = {
    400: lazy_gettext("Bad request"),
    404: lazy_gettext("Page not found"),
    405: lazy_gettext("Method not allowed"),
    413: lazy_gettext("Request too large"),
    414: lazy_gettext("Address too long"),
    429: lazy_gettext("Too many requests"),
    500: lazy_gettext("Something went wrong"),
}
INTERNAL_ERROR = "internal error; it has been logged"


def wants_json() -> bool:
    return request.path == API_PREFIX.rstrip("/") or request.path.startswith(API_PREFIX)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An API answer: ``body`` as compact JSON (or already-encoded JSON text)."""
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=True, separators=(",", ":"))
    response = Response(text, status=status, mimetype=JSON_TYPE)
    # Authenticated answers, some about unpublished articles: never stored by shared caches.
    response.headers["Cache-Control"] = NO_STORE
    response.headers["Vary"] = VARY_AUTHORIZATION
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def json_error(
    status: int, message: str, fields: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> Response:
    """The one JSON error shape under /api/: ``{"error": message, "fields": {...}}``."""
    body: dict[str, Any] = {"error": message}
    if fields:
        body["fields"] = fields
    return json_response(body, status, headers)


def _page_message(error: HTTPException, code: int) -> str:
    """Our own descriptions are translated where raised; werkzeug's stock ones are English, so a
    stock one becomes a translated sentence for the page."""
    if code >= 500:
        return gettext("We could not show this page. Please try again later.")
    if error.description == type(error).description:
        return gettext("The page you asked for does not exist or cannot be shown.")
    return str(error.description)


def http_error(error: HTTPException) -> Response:
    """The response for an HTTP error: JSON under /api/, the site's error page elsewhere."""
    if error.response is not None:
        return error.response  # abort(response): the caller built the answer itself
    code = error.code or 500
    # Keep the error's own headers (Allow on 405, Retry-After on 429).
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    if wants_json():
        return json_error(code, error.description or error.name if code < 500 else INTERNAL_ERROR, headers=headers)
    if code >= 500:
        # The database may be what failed: the page must render without it.
        g.site_degraded = True
    html = render_template(
        "error.html",
        code=code,
        title=str(TITLES.get(code, error.name)),
        message=_page_message(error, code),
        last_url=getattr(error, "last_url", None),
        crumbs=[(gettext("Home"), "/"), (str(TITLES.get(code, error.name)), "")],
        noindex=True,
    )
    response = Response(html, status=code, mimetype="text/html")
    for key, value in headers.items():
        response.headers[key] = value
    return response


def init_app(app: Flask) -> None:
    # Not registered on Exception: an unexpected exception reaches Flask, which logs it (and
    # re-raises it in tests), then hands this handler an InternalServerError.
    app.register_error_handler(HTTPException, http_error)
