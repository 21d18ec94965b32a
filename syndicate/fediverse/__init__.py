"""Syndicate on the fediverse: ActivityPub actors for the site, its categories and its authors.

Wiring (the only places the rest of Syndicate touches this package):
- ``init_app(app)`` in ``create_app`` before the cache: creates the tables (``storage.migrate``),
  registers the blueprint and remembers the bare Flask WSGI app;
- ``wrap(app)`` in ``create_app`` after the cache: requests for ActivityStreams JSON and the
  fediverse's own paths go straight to Flask, never through the response cache, whose keys
  ignore ``Accept`` (see ``Negotiation``);
- ``after_write(app, previous, saved)`` from ``api.after_write``, next to the WebSub ping.
Nothing happens unless ``FEDIVERSE_ENABLED`` is on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from ..models import Article
from ..store import connect
from ..store import fediverse as storage
from . import publish
from .delivery import Deliverer
from .views import bp, wants_activity

# Paths that only ever answer JSON for servers (or take POSTs): never through the page cache.
PREFIXES = ("/ap/", "/.well-known/webfinger", "/.well-known/nodeinfo", "/.well-known/host-meta", "/nodeinfo/")


class Federation:
    """Per-app state: the delivery workers and the schedule watcher."""

    def __init__(self, app: Flask) -> None:
        self.deliverer = Deliverer(app.config)
        self.flask_wsgi = app.wsgi_app
        self.schedule = publish.ScheduleWatcher(app, float(app.config["WEBSUB_SCHEDULE_POLL"]))

    def close(self) -> None:
        self.deliverer.close()
        self.schedule.close()


class Negotiation:
    """WSGI layer outside the response cache: a request for ActivityStreams JSON (by ``Accept``)
    or for a fediverse path is sent to Flask directly. The cache keys pages by path and query and
    renders them without ``Accept``, so it must not see these: a fediverse server would get the
    cached HTML, or a browser the cached JSON."""

    def __init__(self, cached: Callable, flask_wsgi: Callable) -> None:
        self.cached = cached
        self.flask_wsgi = flask_wsgi

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        accept = environ.get("HTTP_ACCEPT", "")
        if path.startswith(PREFIXES) or (("json" in accept) and wants_activity(accept)):
            return self.flask_wsgi(environ, start_response)
        return self.cached(environ, start_response)


def init_app(app: Flask) -> None:
    if not app.config.get("FEDIVERSE_ENABLED"):
        return
    conn = connect(app.config["DATABASE"])
    try:
        storage.migrate(conn)
        queued = conn.execute("SELECT 1 FROM fedi_deliveries LIMIT 1").fetchone() is not None
    finally:
        conn.close()
    app.register_blueprint(bp)
    federation = Federation(app)
    app.extensions["fediverse"] = federation
    if queued:  # a restart picks up what the previous process left queued
        federation.deliverer.wake()


def wrap(app: Flask) -> None:
    federation = app.extensions.get("fediverse")
    if federation is not None:
        app.wsgi_app = Negotiation(app.wsgi_app, federation.flask_wsgi)  # type: ignore[method-assign]


def after_write(app: Flask, previous: Article | None, saved: Article | None) -> list[str]:
    """Queue Create / Update / Delete (and Announces) for an article write; never waits."""
    return publish.after_write(app, previous, saved)
