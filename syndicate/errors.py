"""Error responses: friendly HTML pages in the site's look, JSON for the API.

Paths under ``/api/`` answer ``{"error": ..., "status": N}``; everything else gets the site's
error page (with a link to the last page when a listing page is out of range). Unexpected
exceptions are logged by Flask and shown as a plain 500 page that does not touch the database.
"""

from __future__ import annotations

from flask import Flask, Response, g, jsonify, render_template, request
from flask_babel import gettext, lazy_gettext
from werkzeug.exceptions import HTTPException

TITLES = {
    400: lazy_gettext("Bad request"),
    404: lazy_gettext("Page not found"),
    405: lazy_gettext("Method not allowed"),
    413: lazy_gettext("Request too large"),
    414: lazy_gettext("Address too long"),
    429: lazy_gettext("Too many requests"),
    500: lazy_gettext("Something went wrong"),
}


def wants_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _page_message(error: HTTPException, code: int) -> str:
    """Our own descriptions are translated where raised; werkzeug's stock ones are English, so a
    stock one becomes a translated sentence for the page."""
    if code >= 500:
        return gettext("We could not show this page. Please try again later.")
    if error.description == type(error).description:
        return gettext("The page you asked for does not exist or cannot be shown.")
    return str(error.description)


def error_response(error: HTTPException) -> Response:
    """The response for an HTTP error: JSON under /api/, the site's error page elsewhere."""
    if error.response is not None:
        return error.response  # abort(response): the caller built the answer itself
    code = error.code or 500
    # Keep the error's own headers (Allow on 405, Retry-After on 429).
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    if wants_json():
        message = error.description if code != 500 else "Internal server error"
        response = jsonify({"error": message, "status": code})
    else:
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
        response = Response(html, mimetype="text/html")
    response.status_code = code
    for key, value in headers:
        response.headers[key] = value
    return response


def init_app(app: Flask) -> None:
    # Not registered on Exception: an unexpected exception reaches Flask, which logs it (and
    # re-raises it in tests), then hands this handler an InternalServerError.
    app.register_error_handler(HTTPException, error_response)
