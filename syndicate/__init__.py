"""Syndicate: a feed server for news publishers.

``create_app`` is the application factory: settings, the store, the cache, the blueprints
and the CLI are wired here and nowhere else.

Where things are found:

- ``templates/`` and ``static/``: at the top of a checkout (and of an editable install); an
  installed wheel carries them inside the package as ``syndicate/templates`` and
  ``syndicate/static`` (pyproject.toml maps them there).
- the instance folder (``config.py``, the database, the file cache, media): ``SYNDICATE_INSTANCE``
  when set; else ``instance/`` in a checkout; else, for an installed package, Flask's
  ``<prefix>/var/syndicate-instance`` (``<prefix>`` being the virtual environment).
- media (files the site writes, such as the demo's lead images): ``<instance>/media/``, served
  under ``/static/`` when the package's own static folder has no file of that name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, send_from_directory
from werkzeug.exceptions import NotFound

from .version import __version__  # noqa: F401  (syndicate.__version__)

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
INSTANCE_ENV = "SYNDICATE_INSTANCE"


def resource_folder(name: str) -> Path:
    """``templates`` or ``static``: inside the installed package, else at the checkout's top."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else ROOT / name


def instance_folder() -> Path | None:
    """The instance folder as documented above; None means Flask's default for installed code."""
    if os.environ.get(INSTANCE_ENV):
        return Path(os.environ[INSTANCE_ENV]).expanduser().resolve()
    if (ROOT / "pyproject.toml").is_file() and (ROOT / "syndicate" / "__init__.py").is_file():
        return ROOT / "instance"  # a checkout (or an editable install of one)
    return None


def media_folder(app: Flask) -> Path:
    """Files the site writes and serves (the demo's images): never inside site-packages."""
    return Path(app.instance_path) / "media"


class Syndicate(Flask):
    """Flask, with /static/ falling back to the instance's media folder (same endpoint, so the
    same caching headers as every static file)."""

    def send_static_file(self, filename: str):
        try:
            return super().send_static_file(filename)
        except NotFound:
            max_age = self.get_send_file_max_age(filename)
            return send_from_directory(media_folder(self), filename, max_age=max_age)


# Longer than our ~60 lines on purpose: the whole wiring, in order, in one place to read.
def create_app(config: dict[str, Any] | None = None) -> Flask:
    from . import (
        api,
        api_partners,  # noqa: F401  (adds its route to the API blueprint)
        api_stats,  # noqa: F401  (adds its routes to the API blueprint)
        api_terms,  # noqa: F401  (likewise)
        cache,
        db,
        errors,
        fediverse,
        feeds,
        fragments,
        health,
        i18n,
        partners,
        purge,
        search_page,  # noqa: F401  (adds /search to the site blueprint)
        security,
        site,
        sitemaps,
        subscribers,
        surrogate,
        websub,
    )
    from . import config as settings
    from .store import Store

    instance = instance_folder()
    app = Syndicate(
        __name__,
        instance_path=str(instance) if instance else None,
        instance_relative_config=True,
        template_folder=str(resource_folder("templates")),
        static_folder=str(resource_folder("static")),
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
    fragments.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    site.init_app(app)
    sitemaps.init_app(app)
    feeds.init_app(app)
    api.init_app(app)
    websub.init_app(app)
    surrogate.init_app(app)
    purge.init_app(app)
    health.init_app(app)
    fediverse.init_app(app)
    security.init_app(app)
    subscribers.init_app(app)  # before the cache: its fast path counts feed requests too
    # After subscribers (which never sees a secret URL's path), before the cache (which passes
    # /partner/ around itself): partners' secret URLs.
    partners.init_app(app)
    # Last: the cache wraps the finished WSGI app, so hits skip all of the above.
    cache.init_app(app)
    fediverse.wrap(app)  # outside the cache: ActivityStreams requests never go through it
    app.wsgi_app = security.HostCheck(
        app.wsgi_app, app.config.get("CONTENT_SECURITY_POLICY") or security.CONTENT_SECURITY_POLICY
    )  # type: ignore[method-assign]

    from .cli import register

    register(app)
    return app
