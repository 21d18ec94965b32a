"""HTTP caching: the flask-caching backend, the WSGI fast path in front of Flask, and the HTTP
validators on every response. One module a job:

- ``keys``: which requests share an entry, and which deployment an entry belongs to;
- ``entries``: a rendered response as a stored entry (validators, compressed bodies);
- ``validators``: ETag, Last-Modified, Cache-Control and Vary on what Flask answers, and the
  conditional-request rule (werkzeug's, memoised);
- ``stamp``: whether an entry still shows the current content (the change token, then SQLite;
  what each write changed);
- ``middleware``: the fast path (``ResponseCache``), its locks and the backend.

Which representation a request wants, the media types and the Cache-Control and Vary values
live in ``syndicate.negotiation``, shared with the views. The cache depends on no view.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask_caching import Cache

from .keys import canonical_query, code_fingerprint
from .middleware import ResponseCache
from .validators import http_headers

__all__ = ["ResponseCache", "canonical_query", "code_fingerprint", "flask_cache", "init_app", "response_cache"]


def init_app(app: Flask) -> None:
    """Build the flask-caching backend from the settings, register the HTTP validators, and
    (unless caching is off) wrap ``app.wsgi_app`` in the fast path."""
    options: dict[str, Any] = {"CACHE_NO_NULL_WARNING": True}
    if app.config["CACHE_TYPE"] == "RedisCache" and not app.config.get("CACHE_OPTIONS"):
        # Without timeouts an unreachable Redis would hang every miss; with them it costs a
        # second at most, and the site keeps rendering (backend errors are logged, not raised).
        options["CACHE_OPTIONS"] = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    cache = Cache()
    cache.init_app(app, config=options)
    app.extensions["syndicate.cache"] = cache
    app.after_request(http_headers)
    if app.config["CACHE_TYPE"] == "NullCache":
        app.extensions["syndicate.response_cache"] = None
        return
    response_cache = ResponseCache(app, cache.cache)
    app.wsgi_app = response_cache  # type: ignore[method-assign]
    app.extensions["syndicate.response_cache"] = response_cache


def flask_cache(app: Flask | None = None) -> Cache:
    """The app's flask-caching ``Cache`` (for anything else worth memoising)."""
    return (app or current_app).extensions["syndicate.cache"]


def response_cache(app: Flask | None = None) -> ResponseCache | None:
    """The app's fast path, or None when caching is off."""
    return (app or current_app).extensions.get("syndicate.response_cache")
