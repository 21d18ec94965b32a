"""What an API request brings, checked: its bearer token, its JSON body, the article it names,
its preconditions and its cursor. Every refusal is an ``ApiError``, which the API blueprint
turns into the one JSON error shape."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app, g, request

from . import limits, validation
from .db import get_store
from .models import Article
from .store import Store, token_hash


class ApiError(Exception):
    """A refusal the client caused: turned into a JSON error response by the blueprint."""

    def __init__(
        self, status: int, message: str, fields: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.fields, self.headers = status, message, fields or {}, headers or {}


@dataclass(frozen=True)
class Token:
    name: str
    scope: str

    @property
    def can_write(self) -> bool:
        return self.scope == "write"


# --------------------------------------------------------------------------- request input


def article_etag(article: Article) -> str:
    """A strong validator of everything the API shows about an article (changes with any write
    that changes it, even two writes within one second)."""
    state = json.dumps([article.id, validation.record_from_article(article)], sort_keys=True, ensure_ascii=True)
    return '"' + hashlib.sha256(state.encode()).hexdigest()[:32] + '"'


def authenticate(*, write: bool) -> Token:
    """The token of this request: 401 when missing, unknown or revoked; 403 when a read-only
    token tries to write. Lookup is by the SHA-256 of the secret (only hashes are stored)."""
    challenge = {"WWW-Authenticate": 'Bearer realm="syndicate"'}
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise ApiError(401, "a bearer token is required (Authorization: Bearer <token>)", headers=challenge)
    store = get_store()
    digest = token_hash(secret)
    row = store.token_by_hash(digest)
    # The lookup already went through a hash; compare_digest keeps the final check constant-time.
    if row is None or not hmac.compare_digest(row["token_hash"], digest):
        invalid = {"WWW-Authenticate": 'Bearer realm="syndicate", error="invalid_token"'}
        raise ApiError(401, "the token is unknown or revoked", headers=invalid)
    token = Token(row["name"], row["scope"])
    if write and not token.can_write:
        raise ApiError(403, f"token {token.name!r} is read-only")
    store.touch_token(token.name)
    g.api_token = token
    return token


def json_body() -> tuple[Any, bytes]:
    """The parsed JSON body and its raw bytes: 415 unless JSON, 413 over MAX_CONTENT_LENGTH,
    400 when malformed."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise ApiError(415, "the request body must be JSON (Content-Type: application/json)")
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"the request body is larger than {limit} bytes")
    raw = request.get_data(cache=True)  # raises 413 for an oversized chunked body
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError(400, "malformed JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ApiError(400, f"malformed JSON: {exc}") from None
    return data, raw


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def check_article_fields(data: Any) -> None:
    """Refusals ``article_record`` cannot make alone: it has no idea what the store holds."""
    if not isinstance(data, dict):
        raise ApiError(422, "an article must be a JSON object", {"_": "must be a JSON object"})


def category_error(value: Any, store: Store) -> str | None:
    """The API never invents categories (they shape the site's navigation); authors and tags
    are created on first use."""
    if value in (None, ""):
        return None
    try:
        slug, _name = validation.term_value(value, "category")
    except ValueError:
        return None  # article_record reports the malformed value
    if store.term("category", slug) is not None or store.term_redirect("category", slug) is not None:
        return None  # an old slug of a renamed category means that category
    known = ", ".join(t.slug for t in store.terms("category")) or "none"
    return f"unknown category {slug!r} (known: {known})"


def clean_record(
    data: dict[str, Any], store: Store, *, existing: dict[str, Any] | None = None, current: Article | None = None
) -> validation.ArticleRecord:
    """The validated record, or ``Invalid`` naming every bad field at once."""
    errors: dict[str, str] = {}
    record: validation.ArticleRecord | None = None
    try:
        record = validation.article_record(data, now=datetime.now(UTC), existing=existing)
    except validation.Invalid as exc:
        errors.update(exc.errors)
    if current is not None and "guid" in data and data["guid"] not in (None, current.guid):
        errors["guid"] = "cannot be changed (it is the article's permanent id)"
    category = data["category"] if "category" in data else (existing or {}).get("category")
    if "category" not in errors and (problem := category_error(category, store)):
        errors["category"] = problem
    if errors:
        raise validation.Invalid(errors)
    return record


def replacement_base(current: Article) -> dict[str, Any]:
    """What a full replacement (PUT, or POST of a known guid) keeps when the body leaves it out:
    the identity and the permalink, which must never move by accident."""
    return {"guid": current.guid, "slug": current.slug, "published": current.published.isoformat()}


def check_if_match(current: Article) -> None:
    header = request.headers.get("If-Match")
    if header is None:
        return
    wanted = [tag.strip() for tag in header.split(",")]
    if "*" in wanted:
        return
    etag = article_etag(current)
    if etag not in wanted:
        raise ApiError(412, "the article changed since you read it (If-Match does not match its ETag)")


def find_article(ref: str, store: Store) -> Article:
    """An article by its numeric id or its guid."""
    article = None
    if ref.isascii() and ref.isdigit() and len(ref) < 19:
        article = store.article_by_id(int(ref))
    if article is None:
        article = store.article_by_guid(ref)
    if article is None:
        raise ApiError(404, f"no article {ref!r}")
    return article


def encode_cursor(payload: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int, str]:
    """(updated, id, order) from an opaque cursor made by ``encode_cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated, article_id, order = json.loads(raw)
        if not isinstance(updated, str) or isinstance(article_id, bool) or not isinstance(article_id, int):
            raise ValueError
        if not 0 <= article_id <= limits.MAX_ROW_ID:  # SQLite could not even compare it
            raise ValueError
        if order not in ("updated", "-updated"):
            raise ValueError
        validation.parse_time(updated)
        return updated, article_id, order
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "malformed cursor", {"cursor": "use the 'next' value of a previous page"}) from None
