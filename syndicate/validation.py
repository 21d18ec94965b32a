"""Turning untrusted article input (API JSON, import rows, demo records) into a clean
``ArticleRecord`` for the store, or a list of errors that name each bad field.

Every field goes through ``content`` here, whatever the way in: this is the one gate. Each
input field is declared once in ``INPUT`` (its type and limits); the gate checks with it and the
OpenAPI document (``openapi.py``) describes it from it, so the two cannot drift.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from . import content, limits
from .fields import (  # noqa: F401  (the gate's public names: the API, importers and OpenAPI use them)
    ANY_LETTER,
    DATE_TIME_DESCRIPTION,
    SLUG_SCHEMA,
    TERM_INPUT_SCHEMA,
    Count,
    Guid,
    Html,
    HttpUrl,
    LanguageTag,
    Moment,
    Slug,
    SlugList,
    Status,
    TermField,
    TermList,
    TermValue,
    Text,
    parse_time,
    source_language,
    term_value,
)


@dataclass
class Invalid(Exception):
    """One or more fields are wrong; ``errors`` maps each field to a message."""

    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items())


@dataclass(frozen=True)
class ArticleRecord:
    """A clean, complete article as the store writes it (the output of ``article_record``)."""

    guid: str
    slug: str
    title: str
    summary: str
    body: str  # sanitised HTML
    body_text: str  # its plain text, for search
    image_url: str
    image_caption: str
    image_type: str
    image_length: int | None
    author: TermValue | None
    category: TermValue | None
    tags: tuple[TermValue, ...]
    previous_slugs: tuple[str, ...]
    status: str
    published: datetime
    updated: datetime
    language: str = ""  # BCP 47; "" = the site's language
    embargo_until: datetime | None = None  # see EMBARGO_DESCRIPTION

    def __post_init__(self) -> None:
        if self.embargo_until is not None and self.published < self.embargo_until:
            raise ValueError("an embargoed article cannot be published before its embargo ends")

    def __getitem__(self, name: str) -> Any:
        """Read a field by name, as the importers still do (``record["guid"]``)."""
        return getattr(self, name)


def mint_guid() -> str:
    """A permanent id for a new article: never derived from its slug or title, which may change."""
    return f"urn:uuid:{uuid.uuid4()}"


EMBARGO_DESCRIPTION = (
    "until then the article goes to partner feeds only (marked as under embargo), and nowhere public;"
    " it is published at that time: an earlier `published` is moved to it. Null: no embargo"
)

INPUT: dict[str, Any] = {
    "guid": Guid(),
    "slug": Slug(),
    "title": Text(limits.MAX_TITLE, extra={"minLength": 1, "pattern": ANY_LETTER}),
    "summary": Text(limits.MAX_SUMMARY, single_line=False),
    "body": Html(),
    "image_url": HttpUrl(),
    "image_caption": Text(limits.MAX_IMAGE_CAPTION),
    "image_type": Text(limits.MAX_IMAGE_TYPE),
    "image_length": Count("bytes", 0, limits.MAX_IMAGE_LENGTH),
    "author": TermField("author"),
    "category": TermField("category"),
    "tags": TermList(),
    "published": Moment("publication time; in the future = scheduled. Default: now"),
    "updated": Moment(),
    "status": Status(),
    "previous_slugs": SlugList(),
    "embargo_until": Moment(EMBARGO_DESCRIPTION),
    "language": LanguageTag(),
}
FIELDS = frozenset(INPUT)
REQUIRED = ("title",)
NOT_NULLABLE = ("guid", "title")  # the rest accept null for "absent" (a PATCH clears with it)


def input_schema(*, partial: bool, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Schema of an article input (``partial``: a PATCH, where nothing is required)."""
    properties = {}
    for name, spec in INPUT.items():
        schema = (overrides or {}).get(name) or spec.schema()
        properties[name] = schema if name in NOT_NULLABLE else {**schema, "nullable": True}
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    if not partial:
        schema["required"] = list(REQUIRED)
    return schema


# --------------------------------------------------------------------------------- the gate


def article_record(
    data: dict[str, Any],
    *,
    now: datetime,
    naive_tz: tzinfo | None = None,
    existing: dict[str, Any] | None = None,
    allow_unknown: bool = False,
) -> ArticleRecord:
    """Validate and clean one article. ``existing`` (a previous record) fills fields that a
    partial update leaves out. Raises ``Invalid`` naming every bad field."""
    if not isinstance(data, dict):
        raise Invalid({"_": "an article must be a JSON object"})
    errors = {} if allow_unknown else {key: "unknown field" for key in data if key not in FIELDS}
    merged = {**(existing or {}), **{k: v for k, v in data.items() if k in FIELDS}}
    # An update that does not say when it was updated was updated now.
    if existing is not None:
        merged["updated"] = data.get("updated")
        _move_with_embargo(merged, data, existing, now)
    out: dict[str, Any] = {}
    for name, spec in INPUT.items():
        try:
            out[name] = spec.clean(merged.get(name), naive_tz=naive_tz)
        except ValueError as exc:
            errors[name] = str(exc)
    if "title" not in errors and not out["title"]:
        errors["title"] = "is required"
    if errors:
        raise Invalid(errors)
    return _complete(out, now=now.replace(microsecond=0), updating=existing is not None)


def _move_with_embargo(merged: dict[str, Any], data: dict[str, Any], existing: dict[str, Any], now: datetime) -> None:
    """An update that moves the embargo of an article not yet public (and does not say when it
    is published) moves its publication along: it was published at the old embargo's end."""
    if data.get("embargo_until") in (None, "") or "published" in data or not existing.get("published"):
        return
    try:
        waiting = parse_time(existing["published"]) > now
    except ValueError:
        return
    if waiting:
        merged["published"] = data["embargo_until"]


def _complete(out: dict[str, Any], *, now: datetime, updating: bool) -> ArticleRecord:
    """The fields derived from others: guid, slug, plain text, summary and the two times."""
    out["guid"] = out["guid"] or mint_guid()
    out["slug"] = content.slugify(out["slug"] or out["title"], limits.MAX_SLUG) or "article"
    out["body_text"] = content.html_to_text(out["body"])
    out["summary"] = out["summary"] or content.summarize(out["body_text"])
    out["previous_slugs"] = tuple(p for p in out["previous_slugs"] if p != out["slug"])[: limits.MAX_PREVIOUS_SLUGS]
    published = out["published"] or now
    if out["embargo_until"] is not None and published < out["embargo_until"]:
        # Published when the embargo ends: at the top of every listing then, never inside
        # the archive (RFC 5005 archive documents must not change).
        published = out["embargo_until"]
    updated = out["updated"]
    if updated is None or updated < published:
        updated = max(now, published) if updating else published
    return ArticleRecord(**{**out, "published": published, "updated": updated})


def record_from_article(article, previous_slugs: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """The input form of a stored article (for partial updates and export, which also passes
    the slugs that still redirect to it)."""
    return {
        "guid": article.guid,
        "slug": article.slug,
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "image_url": article.image_url,
        "image_caption": article.image_caption,
        "image_type": article.image_type,
        "image_length": article.image_length,
        "author": {"slug": article.author.slug, "name": article.author.name} if article.author else None,
        "category": {"slug": article.category.slug, "name": article.category.name} if article.category else None,
        "tags": [{"slug": t.slug, "name": t.name} for t in article.tags],
        "published": article.published.isoformat(),
        "updated": article.updated.isoformat(),
        "status": article.status,
        **({"language": article.language} if article.language else {}),
        **({"previous_slugs": list(previous_slugs)} if previous_slugs else {}),
        **({"embargo_until": article.embargo_until.isoformat()} if article.embargo_until else {}),
    }
