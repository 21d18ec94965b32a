"""The OpenAPI 3 document of the publishing API, served at ``/api/v1/openapi.json``.

Built per request because one part depends on the data: the categories an article may name
(the API never invents categories). Everything else mirrors ``api.py``; the schemathesis test
checks every response the API gives against this document.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from . import limits, openapi_terms, partner_usage, validation
from .store import Store

TERM = {
    "type": "object",
    "required": ["slug", "name"],
    "properties": {"slug": {"type": "string"}, "name": {"type": "string"}},
    "additionalProperties": False,
}
DATE_TIME = validation.Moment().schema()
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {
            "type": "object",
            "description": "each bad field (or header or query parameter) and what is wrong with it",
            "additionalProperties": {"type": "string"},
        },
    },
    "additionalProperties": False,
}
ARTICLE = {
    "type": "object",
    "required": [
        "id",
        "guid",
        "url",
        "api_url",
        "slug",
        "title",
        "summary",
        "body",
        "image_url",
        "image_caption",
        "image_type",
        "image_length",
        "author",
        "category",
        "tags",
        "published",
        "updated",
        "status",
        "scheduled",
        "created_by",
        "updated_by",
        "etag",
    ],  # fmt: skip
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer", "description": "numeric id; use it (or the guid) in article URLs"},
        "guid": {"type": "string", "description": "the permanent id, e.g. urn:uuid:..."},
        "url": {"type": "string", "format": "uri", "description": "the public permalink (SITE_URL + path)"},
        "api_url": {"type": "string", "format": "uri"},
        "slug": {"type": "string"},
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "body": {"type": "string", "description": "sanitised HTML"},
        "image_url": {"type": "string"},
        "image_caption": {"type": "string"},
        "image_type": {"type": "string"},
        "image_length": {"type": "integer", "nullable": True},
        "author": {**TERM, "nullable": True},
        "category": {**TERM, "nullable": True},
        "tags": {"type": "array", "items": TERM},
        "published": {"type": "string", "format": "date-time"},
        "updated": {"type": "string", "format": "date-time"},
        "status": {"type": "string", "enum": ["draft", "published"]},
        "scheduled": {"type": "boolean", "description": "published, with a publication time still in the future"},
        "embargo_until": {**validation.INPUT["embargo_until"].schema(), "nullable": True},
        "created_by": {"type": "string", "description": "the name of the token that created it"},
        "updated_by": {"type": "string", "description": "the name of the token that last changed it"},
        "etag": {"type": "string", "description": "send it back in If-Match to update only this version"},
        "language": {"type": "string", "description": "BCP 47; absent when the article is in the site's language"},
    },
}


def _input_schema(categories: list[str], *, partial: bool) -> dict[str, Any]:
    if categories:
        category = {
            "description": "an existing category (by name or slug); the API does not create categories",
            "nullable": True,
            "oneOf": [
                {"type": "string", "enum": categories},
                {
                    "type": "object",
                    "properties": {"slug": {"type": "string", "enum": categories}, "name": {"type": "string"}},
                    "required": ["slug"],
                },
            ],
        }
    else:
        category = {"description": "no categories exist yet: leave it out", "nullable": True, "enum": [None]}
    return validation.input_schema(partial=partial, overrides={"category": category})


def _error(description: str, **headers: Any) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        response["headers"] = headers
    return response


def _article_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {"ETag": {"schema": {"type": "string"}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Article"}}},
    }


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _list_articles() -> dict[str, Any]:
    return {
        "operationId": "listArticles",
        "summary": "Articles of any status, ordered by last change (cursor-paged)",
        "parameters": [
            {
                "name": "status",
                "in": "query",
                "schema": {"type": "string", "enum": ["draft", "published", "scheduled"]},
            },
            {"name": "category", "in": "query", "schema": {"type": "string"}},
            {"name": "author", "in": "query", "schema": {"type": "string"}},
            {"name": "updated_since", "in": "query", "schema": DATE_TIME},
            {
                "name": "order",
                "in": "query",
                "schema": {"type": "string", "enum": ["updated", "-updated"], "default": "updated"},
            },
            {
                "name": "limit",
                "in": "query",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": limits.API_MAX_LIMIT,
                    "default": limits.API_DEFAULT_LIMIT,
                },
            },
            {
                "name": "cursor",
                "in": "query",
                "description": "the `next` value of the previous page",
                "schema": {"type": "string"},
            },
        ],
        "responses": {
            "200": {
                "description": "one page; `next` is null on the last page",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ArticleList"}}},
            },
            **_errors(400, 401, 422),
        },
    }


def _create_article(body: dict[str, Any], write_errors: dict[str, Any]) -> dict[str, Any]:
    return {
        "operationId": "createArticle",
        "summary": "Create an article, or replace the one with the same guid",
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "retrying with the same key and body returns the first response; "
                "the same key with another body is refused (422)",
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": limits.MAX_IDEMPOTENCY_KEY,
                    "pattern": "^[!-~]+$",
                },
            },
        ],
        "requestBody": body,
        "responses": {
            "201": {
                **_article_response("created"),
                "headers": {
                    "Location": {"schema": {"type": "string"}},
                    "ETag": {"schema": {"type": "string"}},
                },
            },
            "200": _article_response("an article with this guid existed and was replaced"),
            **write_errors,
        },
    }


def _article(
    ref: dict[str, Any], if_match: dict[str, Any], body: dict[str, Any], write_errors: dict[str, Any]
) -> dict[str, Any]:
    return {
        "parameters": [ref],
        "get": {
            "operationId": "getArticle",
            "summary": "One article (drafts and scheduled ones too)",
            "responses": {"200": _article_response("the article"), **_errors(401, 404)},
        },
        "put": {
            "operationId": "replaceArticle",
            "summary": "Replace an article (fields left out are reset; guid, slug and published are kept)",
            "parameters": [if_match],
            "requestBody": body,
            "responses": {"200": _article_response("the new version"), **write_errors, **_errors(404, 412)},
        },
        "patch": {
            "operationId": "updateArticle",
            "summary": 'Change some fields (null clears one); {"status": "draft"} unpublishes',
            "parameters": [if_match],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ArticlePatch"}}},
            },
            "responses": {"200": _article_response("the new version"), **write_errors, **_errors(404, 412)},
        },
        "delete": {
            "operationId": "deleteArticle",
            "summary": "Delete an article for good (to unpublish, PATCH status to draft)",
            "parameters": [if_match],
            "responses": {"204": {"description": "deleted"}, **_errors(401, 403, 404, 412)},
        },
    }


def _index_paths() -> dict[str, Any]:
    return {
        "/api/v1/": {
            "get": {
                "operationId": "index",
                "summary": "Links to the articles collection and this document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "links",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["articles", "openapi"],
                                    "properties": {
                                        "articles": {"type": "string", "format": "uri"},
                                        "openapi": {"type": "string", "format": "uri"},
                                    },
                                    "additionalProperties": False,
                                }
                            }
                        },
                    }
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def _components(categories: list[str]) -> dict[str, Any]:
    return {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Article": ARTICLE,
            "ArticleList": {
                "type": "object",
                "required": ["articles", "next"],
                "additionalProperties": False,
                "properties": {
                    "articles": {"type": "array", "items": {"$ref": "#/components/schemas/Article"}},
                    "next": {"type": "string", "nullable": True},
                },
            },
            "ArticleInput": _input_schema(categories, partial=False),
            "ArticlePatch": _input_schema(categories, partial=True),
            "Error": ERROR,
            **openapi_terms.schemas(),
        },
        "responses": {
            "E400": _error("malformed JSON, header or cursor"),
            "E401": _error(
                "missing, unknown or revoked token",
                **{"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
            ),
            "E403": _error("the token is read-only"),
            "E404": _error("no such article, category, tag or author"),
            "E409": _error("the slug is taken, or the term still has articles (give move_to)"),
            "E412": _error("If-Match does not match the article's current ETag"),
            "E413": _error("the body is larger than MAX_CONTENT_LENGTH"),
            "E415": _error("the body is not JSON"),
            "E422": _error("invalid fields (each named in `fields`), or a reused Idempotency-Key"),
        },
    }


def document(app: Flask, store: Store) -> dict[str, Any]:
    categories = [t.slug for t in store.terms("category")]
    ref = {
        "name": "ref",
        "in": "path",
        "required": True,
        "description": "the article's numeric id, or its guid (percent-encoded)",
        "schema": {"type": "string", "minLength": 1},
        "examples": {
            "id": {"value": "1"},
            "guid": {"value": "urn:uuid:6f1c1a4e-8d2c-4b7b-9a55-0c2f1e9d7a11"},
        },
    }
    if_match = {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "the article's ETag: the write happens only if nobody changed it since (else 412)",
        "schema": {"type": "string"},
    }
    body = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ArticleInput"}}},
    }
    write_errors = _errors(400, 401, 403, 413, 415, 422)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{app.config['SITE_TITLE']} publishing API",
            "version": "1.0.0",
            "description": (
                "Create, update and delete articles, categories, tags and authors; read feed statistics. "
                "Authenticate with `Authorization: Bearer <token>`; "
                "tokens are made with `syndicate token create --name NAME [--scope read|write]`. "
                'Errors are JSON: `{"error": ..., "fields": {field: message}}`; a refused request changes nothing.'
            ),
        },
        "servers": [{"url": app.config["SITE_URL"]}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/articles": {"get": _list_articles(), "post": _create_article(body, write_errors)},
            "/api/v1/articles/{ref}": _article(ref, if_match, body, write_errors),
            **openapi_terms.paths(),
            **_index_paths(),
            **partner_usage.openapi_paths(),
        },
        "components": _components(categories),
    }
