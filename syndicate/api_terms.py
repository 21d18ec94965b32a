"""The publishing API's term routes: ``/api/v1/categories``, ``/api/v1/tags``, ``/api/v1/authors``.

Registered on the API blueprint (``api.bp``), so they share its tokens, scopes and JSON error
shape: read tokens list and read, write tokens also create (POST), change (PATCH) and delete
(DELETE, with ``?move_to=OTHER`` to move the articles first; for tags, a merge). Each write is
one store transaction that bumps the change stamp; a refused one changes nothing.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from flask import Response, current_app, request

from . import limits, purge, validation
from .api import bp
from .api_input import ApiError, authenticate, json_body
from .db import get_store
from .errors import json_response
from .models import Scope, Term, quote_slug
from .store import Store, StoreError
from .store.terms import TERM_EXTRAS, TermConflict, TermInUse, TermNotFound
from .term_input import KINDS, PLURAL, term_input
from .urls import absolute, feed_path

KIND_OF = {plural: kind for kind, plural in PLURAL.items()}


def term_json(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """The API's view of a term: its fields, how many articles name it, and its addresses."""
    term = Term(kind, record["slug"], record["name"])
    return {
        "slug": term.slug,
        "name": term.name,
        **{extra: record[extra] for extra in TERM_EXTRAS[kind]},
        "articles": record["articles"],
        "url": absolute(term.path),
        "feed_url": absolute(feed_path(Scope(kind, term.slug, term))),
        "api_url": absolute(f"/api/v1/{PLURAL[kind]}/{quote_slug(term.slug)}"),
    }


def _wanted(slug: str) -> str:
    """The slug a client meant (Flask decoded the percent-encoding): NFC, lower case."""
    return unicodedata.normalize("NFC", slug).lower()


def _find(store: Store, kind: str, slug: str) -> dict[str, Any]:
    found = store.term_detail(kind, _wanted(slug)) if len(slug) <= limits.MAX_SLUG else None
    if found is None:
        moved = store.term_redirect(kind, _wanted(slug)) if len(slug) <= limits.MAX_SLUG else None
        hint = f" (it is now {moved.slug!r})" if moved is not None else ""
        raise ApiError(404, f"no {kind} {slug!r}{hint}")
    return found


def _fields(kind: str, *, partial: bool) -> dict[str, Any]:
    data, _raw = json_body()
    try:
        return term_input(kind, data, partial=partial)
    except validation.Invalid as exc:
        raise ApiError(422, f"the {kind} is not valid", exc.errors) from None


def _refused(exc: StoreError) -> ApiError:
    """A store refusal as the client's error, naming the field it is about."""
    if isinstance(exc, TermConflict):
        return ApiError(409, str(exc), {"slug": "choose another slug"})
    if isinstance(exc, TermInUse):
        return ApiError(409, str(exc), {"move_to": "the slug of the term to move the articles to"})
    return ApiError(422, str(exc), {"move_to": str(exc)})


def _purge_term_change() -> None:
    """A renamed, moved or deleted term changes every page printing its name (navigation,
    article pages, listings, feeds): purge every keyed response at the proxies. Term changes
    are rare; precision is not worth a stale name anywhere."""
    purge.everything_changed(current_app)


def list_terms(plural: str) -> Response:
    authenticate(write=False)
    kind = KIND_OF[plural]
    return json_response({plural: [term_json(kind, record) for record in get_store().term_details(kind)]})


def create_term(plural: str) -> Response:
    authenticate(write=True)
    kind = KIND_OF[plural]
    fields = _fields(kind, partial=False)
    try:
        record = get_store().create_term(kind, fields.pop("slug"), fields.pop("name"), **fields)
    except TermConflict as exc:
        raise _refused(exc) from None
    body = term_json(kind, record)
    return json_response(body, 201, {"Location": body["api_url"]})


def get_term(plural: str, slug: str) -> Response:
    authenticate(write=False)
    kind = KIND_OF[plural]
    return json_response(term_json(kind, _find(get_store(), kind, slug)))


def update_term(plural: str, slug: str) -> Response:
    """Change some fields; a new slug leaves a 301 from the old pages and feeds."""
    authenticate(write=True)
    kind = KIND_OF[plural]
    fields = _fields(kind, partial=True)
    store = get_store()
    current = _find(store, kind, slug)
    try:
        record = store.update_term(kind, current["slug"], fields)
    except TermNotFound:  # deleted between the lookup and the write
        raise ApiError(404, f"no {kind} {slug!r}") from None
    except TermConflict as exc:
        raise _refused(exc) from None
    _purge_term_change()
    return json_response(term_json(kind, record))


def delete_term(plural: str, slug: str) -> Response:
    """Delete a term. ``?move_to=OTHER`` moves its articles there first (and its old addresses
    redirect there); without it a tag is taken off its articles, and a category or author that
    still has articles is refused (409)."""
    authenticate(write=True)
    kind = KIND_OF[plural]
    move_to = _wanted(request.args["move_to"]) if request.args.get("move_to") else None
    store = get_store()
    current = _find(store, kind, slug)
    try:
        deleted, count = store.delete_term(kind, current["slug"], move_to=move_to)
    except TermNotFound as exc:
        if move_to is None:
            raise ApiError(404, f"no {kind} {slug!r}") from None
        raise _refused(exc) from None
    except StoreError as exc:
        raise _refused(exc) from None
    _purge_term_change()
    return json_response(
        {"deleted": {"slug": deleted["slug"], "name": deleted["name"]}, "articles": count, "moved_to": move_to}
    )


# One rule per collection (not a converter), so each is its own path in the OpenAPI document.
for _plural in KIND_OF:
    for _rule, _view, _methods in (
        ("", list_terms, ["GET"]),
        ("", create_term, ["POST"]),
        ("/<slug>", get_term, ["GET"]),
        ("/<slug>", update_term, ["PATCH"]),
        ("/<slug>", delete_term, ["DELETE"]),
    ):
        bp.add_url_rule(
            f"/{_plural}{_rule}", f"{_view.__name__}_{_plural}", _view, methods=_methods, defaults={"plural": _plural}
        )
assert set(KIND_OF.values()) == set(KINDS)
