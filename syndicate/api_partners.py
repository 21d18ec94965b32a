"""``GET /api/v1/partners/usage``: what each partner fetched, per day (any API token). Its
OpenAPI description is ``partner_usage.openapi_paths``; the counts come from ``partner_usage``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Response, current_app, request

from .api import bp
from .api_input import ApiError, authenticate
from .db import get_store
from .errors import json_response
from .partner_usage import MAX_USAGE_DAYS, usage


@bp.get("/partners/usage")
def partner_usage_view() -> Response:
    """Usage per partner and day for the last ``days`` days (default 7), newest first."""
    authenticate(write=False)
    raw = request.args.get("days", "7")
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_USAGE_DAYS):
        raise ApiError(400, "malformed query", {"days": f"a whole number from 1 to {MAX_USAGE_DAYS}"})
    partner = request.args.get("partner") or None
    usage(current_app).flush()  # this process's latest counts; others' follow within their interval
    since = (datetime.now(UTC).date() - timedelta(days=int(raw) - 1)).isoformat()
    return json_response({"since": since, "usage": get_store().partner_usage(since, partner)})
