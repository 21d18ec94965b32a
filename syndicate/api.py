"""The publishing API: a JSON blueprint at ``/api/v1/`` for newsroom scripts and partners.

Every request carries a bearer token made with ``syndicate token create``; read tokens may
read everything (drafts and scheduled articles too), write tokens may also create, update and
delete. Every refusal is a JSON body ``{"error": ..., "fields": {...}}`` (``errors.json_error``,
the one shape of every error under /api/) with a 4xx status, and
a refused write changes nothing: each write is one store transaction that validates before it
writes. The OpenAPI document (``openapi.py``) describes exactly these routes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from . import content, limits, urls, validation
from .db import get_store
from .errors import INTERNAL_ERROR, http_error, json_error, json_response
from .models import Article
from .negotiation import NO_CACHE, NO_STORE
from .store import IdempotencyConflict, Store, to_db, token_hash

bp = Blueprint("api", __name__, url_prefix="/api/v1")

LIST_STATUSES = ("draft", "published", "scheduled")


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


# ------------------------------------------------------------------------------ responses


def article_etag(article: Article) -> str:
    """A strong validator of everything the API shows about an article (changes with any write
    that changes it, even two writes within one second)."""
    state = json.dumps([article.id, validation.record_from_article(article)], sort_keys=True, ensure_ascii=True)
    return '"' + hashlib.sha256(state.encode()).hexdigest()[:32] + '"'


def article_json(article: Article) -> dict[str, Any]:
    """The API's view of an article: its input form (what a client may send back) plus the
    server's own fields."""
    now = datetime.now(UTC)
    return {
        "id": article.id,
        "url": urls.absolute(article.path),
        "api_url": urls.absolute(f"/api/v1/articles/{article.id}"),
        **validation.record_from_article(article),
        "published": to_db(article.published),
        "updated": to_db(article.updated),
        "scheduled": article.status == "published" and article.published > now,
        "created_by": article.created_by,
        "updated_by": article.updated_by,
        "etag": article_etag(article),
    }


# --------------------------------------------------------------------------- request input


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
    if store.term("category", slug) is not None:
        return None
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


def after_write(previous: Article | None, saved: Article | None) -> None:
    from . import fediverse, websub

    websub.notify(current_app, [a for a in (previous, saved) if a is not None])
    fediverse.after_write(current_app, previous, saved)


# ---------------------------------------------------------------------------------- views


@bp.get("/")
def index() -> Response:
    return json_response(
        {"articles": urls.absolute("/api/v1/articles"), "openapi": urls.absolute("/api/v1/openapi.json")}
    )


@bp.get("/openapi.json")
def openapi_document() -> Response:
    from .openapi import document

    response = json_response(document(current_app, get_store()))
    response.headers["Cache-Control"] = NO_CACHE
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/articles")
def list_articles() -> Response:
    authenticate(write=False)
    args = request.args
    errors: dict[str, str] = {}
    status = args.get("status") or None
    if status is not None and status not in LIST_STATUSES:
        errors["status"] = "must be one of " + ", ".join(LIST_STATUSES)
    order = args.get("order") or "updated"
    if order not in ("updated", "-updated"):
        errors["order"] = "must be 'updated' (oldest change first) or '-updated' (newest first)"
    limit = limits.API_DEFAULT_LIMIT
    if "limit" in args:
        raw_limit = args["limit"]
        if not (raw_limit.isascii() and raw_limit.isdigit() and 1 <= int(raw_limit) <= limits.API_MAX_LIMIT):
            errors["limit"] = f"must be a whole number from 1 to {limits.API_MAX_LIMIT}"
        else:
            limit = int(raw_limit)
    since = None
    if args.get("updated_since"):
        try:
            since = validation.parse_time(args["updated_since"])
        except ValueError as exc:
            errors["updated_since"] = str(exc)
    if errors:
        raise ApiError(422, "invalid query parameters", errors)
    after = None
    if args.get("cursor"):
        updated, article_id, cursor_order = decode_cursor(args["cursor"])
        if cursor_order != order:
            raise ApiError(400, "malformed cursor", {"cursor": "this cursor belongs to another order"})
        after = (to_db(validation.parse_time(updated)), article_id)
    store = get_store()
    with store.snapshot():
        articles = store.api_articles(
            status=status,
            category=args.get("category") or None,
            author=args.get("author") or None,
            updated_since=since,
            after=after,
            descending=order == "-updated",
            limit=limit,
        )
        items = [article_json(a) for a in articles]
    cursor = None
    if len(articles) == limit:
        last = articles[-1]
        cursor = encode_cursor([to_db(last.updated), last.id, order])
    return json_response({"articles": items, "next": cursor})


@bp.post("/articles")
def create_article() -> Response:
    token = authenticate(write=True)
    data, _raw = json_body()
    check_article_fields(data)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= limits.MAX_IDEMPOTENCY_KEY and key.isascii() and key.isprintable()):
        raise ApiError(400, f"Idempotency-Key must be 1 to {limits.MAX_IDEMPOTENCY_KEY} printable ASCII characters")
    store = get_store()
    written: list[tuple[Article | None, Article | None]] = []

    def perform() -> tuple[int, str]:
        guid = data.get("guid")
        guid = content.clean_text(guid) if isinstance(guid, str) else None

        def build(current: Article | None) -> dict[str, Any]:
            existing = replacement_base(current) if current is not None else None
            return clean_record(data, store, existing=existing, current=current)

        previous, saved, created = store.write_article_with(guid or None, build, actor=token.name)
        written.append((previous, saved))
        return (201 if created else 200), json.dumps(article_json(saved), ensure_ascii=True, separators=(",", ":"))

    replayed = False
    if key is None:
        status, body = perform()
    else:
        # The key is scoped to the token; the hash is of the parsed body, so whitespace and key
        # order do not make a retry look like a different request.
        request_hash = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=True).encode()).hexdigest()
        try:
            status, body, replayed = store.idempotent(token.name, key, request_hash, perform)
        except IdempotencyConflict:
            raise ApiError(
                422,
                "this Idempotency-Key was already used with a different request",
                {"Idempotency-Key": "use a new key for a new request"},
            ) from None
    for previous, saved in written:
        after_write(previous, saved)
    article = json.loads(body)
    headers = {"Location": article["api_url"], "ETag": article["etag"]}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(body, status, headers)


@bp.get("/articles/<path:ref>")
def get_article(ref: str) -> Response:
    authenticate(write=False)
    store = get_store()
    with store.snapshot():
        article = find_article(ref, store)
        body = article_json(article)
    return json_response(body, headers={"ETag": body["etag"]})


@bp.route("/articles/<path:ref>", methods=["PUT", "PATCH"])
def update_article(ref: str) -> Response:
    """PUT replaces the article (fields left out are reset, except its guid, slug and
    published time); PATCH changes only the fields given (null clears one)."""
    token = authenticate(write=True)
    data, _raw = json_body()
    check_article_fields(data)
    store = get_store()
    guid = find_article(ref, store).guid

    def build(current: Article | None) -> dict[str, Any]:
        assert current is not None
        check_if_match(current)
        if request.method == "PATCH":
            existing = validation.record_from_article(current)
        else:
            existing = replacement_base(current)
        return clean_record(data, store, existing=existing, current=current)

    previous, saved, _created = store.write_article_with(guid, build, actor=token.name, create=False)
    if saved is None:  # deleted between the lookup and the write
        raise ApiError(404, f"no article {ref!r}")
    after_write(previous, saved)
    body = article_json(saved)
    return json_response(body, headers={"ETag": body["etag"]})


@bp.delete("/articles/<path:ref>")
def delete_article(ref: str) -> Response:
    authenticate(write=True)
    store = get_store()
    guid = find_article(ref, store).guid
    token = g.api_token
    deleted = store.delete_article_with(guid, check_if_match)
    if deleted is None:
        raise ApiError(404, f"no article {ref!r}")
    # The row is gone, so the log is the only record of who deleted it.
    current_app.logger.info("article %s (%s) deleted by token %r", deleted.guid, deleted.path, token.name)
    after_write(deleted, None)
    response = Response(status=204)
    response.headers["Cache-Control"] = NO_STORE
    return response


# --------------------------------------------------------------------------------- errors


@bp.errorhandler(ApiError)
def handle_api_error(exc: ApiError) -> Response:
    return json_error(exc.status, exc.message, exc.fields, exc.headers)


@bp.errorhandler(validation.Invalid)
def handle_invalid(exc: validation.Invalid) -> Response:
    return json_error(422, "the article is not valid", exc.errors)


# Its own errors too, or the handler for Exception below would catch them (Flask looks in the
# blueprint's handlers first): one shape, made by errors.http_error, whoever raises.
bp.register_error_handler(HTTPException, http_error)


@bp.errorhandler(Exception)
def handle_bug(exc: Exception) -> Response:
    # A bug, not the client's fault: logged with its traceback, never shown to the client.
    current_app.logger.exception("API error on %s %s", request.method, request.path)
    return json_error(500, INTERNAL_ERROR)


def json_routing_errors() -> Response | None:
    """404 and 405 under /api/ are raised by routing, before any blueprint is known, so the
    blueprint's handlers cannot see them: answer them in JSON here, before dispatch."""
    exc = request.routing_exception
    if exc is None or not request.path.startswith(bp.url_prefix + "/") and request.path != bp.url_prefix:
        return None
    if isinstance(exc, MethodNotAllowed):
        allow = ", ".join(sorted(exc.valid_methods or []))
        return json_error(405, f"{request.method} is not allowed here", headers={"Allow": allow})
    if isinstance(exc, NotFound):
        return json_error(404, "no such API endpoint")
    return None


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(json_routing_errors)
