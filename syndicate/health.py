"""``/healthz`` for load balancers: 200 when the database answers, else 503. Never cached."""

from __future__ import annotations

import logging
import os
import sqlite3

from flask import Flask, Response, current_app, jsonify

from .db import get_store
from .negotiation import NO_STORE
from .urls import HEALTHZ

log = logging.getLogger(__name__)


def healthz() -> tuple[Response, int]:
    path = current_app.config["DATABASE"]
    ok = False
    # Opening a missing file would create an empty database; report it as down instead.
    if path == ":memory:" or os.path.isfile(path):
        try:
            ok = get_store().healthcheck()
        except sqlite3.Error as exc:
            log.warning("healthz: database unavailable: %s", exc)
    response = jsonify({"status": "ok" if ok else "unavailable"})
    response.headers["Cache-Control"] = NO_STORE
    return response, 200 if ok else 503


def init_app(app: Flask) -> None:
    app.add_url_rule(HEALTHZ, "healthz", healthz)
