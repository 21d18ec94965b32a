"""The publishing API's feed statistics: ``GET /api/v1/stats/feeds`` (read scope), the table
``syndicate stats --feeds`` prints (``subscribers.feed_report``), as JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, current_app, request

from . import limits
from .api import bp
from .api_input import ApiError, authenticate
from .db import get_store
from .errors import json_response
from .subscribers import STATS_MAX_DAYS, feed_report


def _whole(name: str, default: int, high: int, errors: dict[str, str]) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= high):
        errors[name] = f"must be a whole number from 1 to {high}"
        return default
    return int(raw)


@bp.get("/stats/feeds")
def feed_stats() -> Response:
    """Subscribers, requests and 304s per feed and UTC day; ``days`` (1 to 90) and ``limit``."""
    authenticate(write=False)
    errors: dict[str, str] = {}
    days = _whole("days", 30, STATS_MAX_DAYS, errors)
    limit = _whole("limit", 20, limits.API_MAX_LIMIT, errors)
    if errors:
        raise ApiError(422, "invalid query parameters", errors)
    today = datetime.now(UTC).date()
    report = feed_report(get_store(), current_app.config["SITE_URL"], days=days, limit=limit, today=today)
    return json_response(report)
