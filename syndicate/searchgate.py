"""Searches may not crowd out the rest of the site: at most ``SEARCH_MAX_CONCURRENT`` uncached
searches run at once in a process (cached ones never get here: the cache answers first); one
more is refused at once with 503 and Retry-After instead of queueing for a worker thread that
pages and feeds need. Each search is itself bounded in time (store/search.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Response, abort, current_app
from flask_babel import gettext as _
from markupsafe import escape

from .i18n import direction
from .limits import SEARCH_MAX_CONCURRENT

RETRY_AFTER = 2  # seconds: a search lasts at most SEARCH_TIME_LIMIT


@contextmanager
def search_slot() -> Iterator[None]:
    """Hold one of the process's search slots for the block, or raise 503 when all are taken."""
    slots = current_app.extensions.setdefault(
        "syndicate.search_slots",
        threading.BoundedSemaphore(current_app.config.get("SEARCH_MAX_CONCURRENT", SEARCH_MAX_CONCURRENT)),
    )
    if not slots.acquire(blocking=False):
        abort(_busy())
    try:
        yield
    finally:
        slots.release()


def _busy() -> Response:
    """The refusal, as cheap as a response can be: during a flood most answers are this one, so
    it skips the site's templates (and their queries) that a full error page would render."""
    language = current_app.config["SITE_LANGUAGE"]
    message = escape(_("Too many searches are running. Please try again in a moment."))
    body = (
        f'<!DOCTYPE html>\n<html lang="{escape(language)}" dir="{direction(language)}"><meta charset="utf-8">'
        f'<meta name="robots" content="noindex"><title>{message}</title><p>{message}</p>'
        f'<p><a href="/">{escape(_("Home"))}</a></p></html>\n'
    )
    response = Response(body, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response
