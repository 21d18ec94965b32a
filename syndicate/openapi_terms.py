"""The OpenAPI paths and schemas of the term routes (``api_terms.py``) and of the feed statistics
(``/api/v1/stats/feeds``), merged into the document by ``openapi.py``. Term input schemas are
made from ``term_input.TERM_INPUT``, the declarations the routes check with."""

from __future__ import annotations

from typing import Any

from . import limits
from .store.terms import TERM_EXTRAS
from .subscribers import STATS_MAX_DAYS
from .term_input import PLURAL, term_schema

EXTRA_SCHEMAS = {
    "description": {"type": "string"},
    "position": {"type": "integer"},
    "bio": {"type": "string"},
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(description: str, schema: dict[str, Any], **headers: Any) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = {name: {"schema": {"type": "string"}} for name in headers}
    return response


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"$ref": f"#/components/responses/E{code}"} for code in codes}


def term_output_schema(kind: str) -> dict[str, Any]:
    properties = {
        "slug": {"type": "string"},
        "name": {"type": "string"},
        **{extra: EXTRA_SCHEMAS[extra] for extra in TERM_EXTRAS[kind]},
        "articles": {"type": "integer", "description": "articles (any status) that name it"},
        "url": {"type": "string", "format": "uri", "description": "its page"},
        "feed_url": {"type": "string", "format": "uri", "description": "its RSS feed"},
        "api_url": {"type": "string", "format": "uri"},
    }
    return {"type": "object", "required": list(properties), "additionalProperties": False, "properties": properties}


def _slug_parameter(kind: str) -> dict[str, Any]:
    return {
        "name": "slug",
        "in": "path",
        "required": True,
        "description": f"the {kind}'s slug (percent-encoded in another script)",
        "schema": {"type": "string", "minLength": 1},
    }


def _move_to_parameter(kind: str) -> dict[str, Any]:
    return {
        "name": "move_to",
        "in": "query",
        "required": False,
        "description": f"the slug of another {kind}: its articles move there first and the old addresses "
        f"redirect there{' (a merge)' if kind == 'tag' else ''}",
        "schema": {"type": "string", "minLength": 1, "maxLength": limits.MAX_SLUG},
    }


def _deleted_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["deleted", "articles", "moved_to"],
        "additionalProperties": False,
        "properties": {
            "deleted": {
                "type": "object",
                "required": ["slug", "name"],
                "properties": {"slug": {"type": "string"}, "name": {"type": "string"}},
                "additionalProperties": False,
            },
            "articles": {"type": "integer", "description": "articles it had (moved, or for a tag, untagged)"},
            "moved_to": {"type": "string", "nullable": True},
        },
    }


def _term_paths(kind: str) -> dict[str, Any]:
    plural = PLURAL[kind]
    name = kind.capitalize()
    names = plural.capitalize()
    write_errors = _errors(400, 401, 403, 413, 415, 422)
    body = {"required": True, "content": {"application/json": {"schema": _ref(f"{name}Input")}}}
    patch = {"required": True, "content": {"application/json": {"schema": _ref(f"{name}Patch")}}}
    if kind == "tag":
        delete_summary = "Delete a tag (taken off its articles, unless merged into another with move_to)"
    else:
        delete_summary = f"Delete a {kind}; one that still has articles needs move_to (else 409)"
    return {
        f"/api/v1/{plural}": {
            "get": {
                "operationId": f"list{names}",
                "summary": f"Every {kind}, with how many articles name it",
                "responses": {
                    "200": _json(
                        f"the {plural}",
                        {
                            "type": "object",
                            "required": [plural],
                            "additionalProperties": False,
                            "properties": {plural: {"type": "array", "items": _ref(name)}},
                        },
                    ),
                    **_errors(401),
                },
            },
            "post": {
                "operationId": f"create{name}",
                "summary": f"Create a {kind}",
                "requestBody": body,
                "responses": {"201": _json("created", _ref(name), Location=True), **write_errors, **_errors(409)},
            },
        },
        f"/api/v1/{plural}/{{slug}}": {
            "parameters": [_slug_parameter(kind)],
            "get": {
                "operationId": f"get{name}",
                "summary": f"One {kind}",
                "responses": {"200": _json(f"the {kind}", _ref(name)), **_errors(401, 404)},
            },
            "patch": {
                "operationId": f"update{name}",
                "summary": f"Change some fields of a {kind}; a new slug leaves 301s from its old pages and feeds",
                "requestBody": patch,
                "responses": {"200": _json(f"the changed {kind}", _ref(name)), **write_errors, **_errors(404, 409)},
            },
            "delete": {
                "operationId": f"delete{name}",
                "summary": delete_summary,
                "parameters": [_move_to_parameter(kind)],
                "responses": {"200": _json("deleted", _deleted_schema()), **_errors(401, 403, 404, 409, 422)},
            },
        },
    }


def _stats_schema() -> dict[str, Any]:
    day = {
        "type": "object",
        "required": ["day", "subscribers", "aggregators", "pollers", "requests", "not_modified"],
        "additionalProperties": False,
        "properties": {
            "day": {"type": "string", "format": "date"},
            "subscribers": {"type": "integer", "description": "aggregators' figures plus direct pollers"},
            "aggregators": {"type": "object", "additionalProperties": {"type": "integer"}},
            "pollers": {"type": "integer", "description": "distinct direct pollers (address and user agent)"},
            "requests": {"type": "integer"},
            "not_modified": {"type": "integer", "description": "answered 304 Not Modified"},
        },
    }
    feed = {
        "type": "object",
        "required": ["path", "url", "subscribers", "average_7", "average_30", "requests", "not_modified", "days"],
        "additionalProperties": False,
        "properties": {
            "path": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "subscribers": {"type": "integer", "description": "on the latest day with requests"},
            "average_7": {"type": "number", "description": "mean daily subscribers over the last 7 days"},
            "average_30": {"type": "number", "description": "mean daily subscribers over the last 30 days"},
            "requests": {"type": "integer", "description": "over the period asked for"},
            "not_modified": {"type": "integer"},
            "days": {"type": "array", "items": day, "description": "newest first"},
        },
    }
    return {
        "type": "object",
        "required": ["since", "until", "feeds"],
        "additionalProperties": False,
        "properties": {
            "since": {"type": "string", "format": "date"},
            "until": {"type": "string", "format": "date"},
            "feeds": {"type": "array", "items": feed, "description": "most subscribers first"},
        },
    }


def paths() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in PLURAL:
        out.update(_term_paths(kind))
    out["/api/v1/stats/feeds"] = {
        "get": {
            "operationId": "feedStats",
            "summary": "Subscribers, requests and 304s per feed and UTC day (see the README)",
            "parameters": [
                {
                    "name": "days",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": STATS_MAX_DAYS, "default": 30},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": limits.API_MAX_LIMIT, "default": 20},
                },
            ],
            "responses": {"200": _json("the busiest feeds", _ref("FeedStats")), **_errors(401, 422)},
        }
    }
    return out


def schemas() -> dict[str, Any]:
    out: dict[str, Any] = {"FeedStats": _stats_schema()}
    for kind in PLURAL:
        name = kind.capitalize()
        out[name] = term_output_schema(kind)
        out[f"{name}Input"] = term_schema(kind, partial=False)
        out[f"{name}Patch"] = term_schema(kind, partial=True)
    return out
