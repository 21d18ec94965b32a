"""Syndicate: a feed server for news publishers.

``create_app`` is the application factory: settings, the store, the cache, the blueprints
and the CLI are wired here and nowhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    from . import api, cache, db, errors, fediverse, feeds, security, site, websub
    from . import config as settings
    from .store import Store

    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    settings.load(app, config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    # Create or upgrade the schema once at start-up, so requests never race a migration.
    store = Store(app.config["DATABASE"])
    try:
        store.ensure_schema()
    finally:
        store.close()

    db.init_app(app)
    errors.init_app(app)
    site.init_app(app)
    feeds.init_app(app)
    api.init_app(app)
    websub.init_app(app)
    fediverse.init_app(app)
    security.init_app(app)
    # Last: the cache wraps the finished WSGI app, so hits skip all of the above.
    cache.init_app(app)
    fediverse.wrap(app)  # outside the cache: ActivityStreams requests never go through it
    app.wsgi_app = security.HostCheck(
        app.wsgi_app, app.config.get("CONTENT_SECURITY_POLICY") or security.CONTENT_SECURITY_POLICY
    )  # type: ignore[method-assign]

    from .cli import register

    register(app)
    return app
