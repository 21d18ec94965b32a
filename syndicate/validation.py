"""Turning untrusted article input (API JSON, import rows, demo records) into a clean record
for the store, or a list of errors that name each bad field.

Every field goes through ``content`` here, whatever the way in: this is the one gate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from . import content

FIELDS = {
    "guid", "slug", "title", "summary", "body", "image_url", "image_caption", "image_type",
    "image_length", "author", "category", "tags", "published", "updated", "status", "previous_slugs",
}  # fmt: skip
MAX_TITLE = 500
MAX_TAGS = 50


@dataclass
class Invalid(Exception):
    """One or more fields are wrong; ``errors`` maps each field to a message."""

    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items())


def mint_guid() -> str:
    """A permanent id for a new article: never derived from its slug or title, which may change."""
    return f"urn:uuid:{uuid.uuid4()}"


def parse_time(value: Any, *, naive_tz: tzinfo | None = None) -> datetime:
    """An aware datetime from an ISO-8601 string or datetime. Naive input is an error unless
    the operator set NAIVE_TIMEZONE: we never guess a time zone."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an ISO-8601 date and time: {value!r}") from None
    else:
        raise ValueError("must be an ISO-8601 date and time with a time zone, e.g. 2026-11-25T10:00:00Z")
    if moment.tzinfo is None or moment.utcoffset() is None:
        if naive_tz is None:
            raise ValueError(f"has no time zone: {value!s} (add Z or an offset such as +01:00)")
        moment = moment.replace(tzinfo=naive_tz)
    if not 1970 <= moment.year <= 9998:
        raise ValueError(f"year out of range: {moment.year}")
    return moment.replace(microsecond=0)


def _term(value: Any, name: str) -> tuple[str, str]:
    """A term given as a name ("Middle East"), or as {"slug": ..., "name": ...}."""
    if isinstance(value, dict):
        term_name = content.clean_name(value.get("name") or value.get("slug") or "")
        slug = content.slugify(value.get("slug") or term_name)
    elif isinstance(value, str):
        term_name = content.clean_name(value)
        slug = content.slugify(term_name)
    else:
        raise ValueError(f"{name} must be a name or an object with slug and name")
    if not term_name:
        raise ValueError(f"{name} is empty: give a name (spaces and invisible characters do not count)")
    if not slug:
        raise ValueError(f"{name} needs a name with at least one letter or digit, in any script")
    return slug, term_name[:200]


term_value = _term  # public name: the API checks a category against the store before writing


def article_record(
    data: dict[str, Any],
    *,
    now: datetime,
    naive_tz: tzinfo | None = None,
    existing: dict[str, Any] | None = None,
    allow_unknown: bool = False,
) -> dict[str, Any]:
    """Validate and clean one article. ``existing`` (a previous record) fills fields that a
    partial update leaves out. Raises ``Invalid`` naming every bad field."""
    errors: dict[str, str] = {}
    if not isinstance(data, dict):
        raise Invalid({"_": "an article must be a JSON object"})
    if not allow_unknown:
        for key in data:
            if key not in FIELDS:
                errors[key] = "unknown field"
    merged = {**(existing or {}), **{k: v for k, v in data.items() if k in FIELDS}}
    out: dict[str, Any] = {}

    def text(name: str, value: Any, *, single_line: bool = True, limit: int = 100_000) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            errors[name] = "must be a string"
            return ""
        cleaned = content.clean_text(value, single_line=single_line)
        if len(cleaned) > limit:
            errors[name] = f"longer than {limit} characters"
        return cleaned

    out["title"] = text("title", merged.get("title"), limit=MAX_TITLE)
    if "title" not in errors and not out["title"]:
        errors["title"] = "is required"

    guid = merged.get("guid")
    if guid is None or guid == "":
        out["guid"] = mint_guid()
    elif not isinstance(guid, str) or not content.clean_text(guid) or len(guid) > 500:
        errors["guid"] = "must be a non-empty string of at most 500 characters"
    else:
        out["guid"] = content.clean_text(guid)

    slug = merged.get("slug")
    if slug is not None and not isinstance(slug, str):
        errors["slug"] = "must be a string"
    else:
        out["slug"] = content.slugify(slug or out["title"]) or "article"
        if slug and not content.is_slug(slug):
            errors["slug"] = "may contain only lowercase letters and digits (any script) and single hyphens"

    body = merged.get("body")
    if body is not None and not isinstance(body, str):
        errors["body"] = "must be a string of HTML"
        body = ""
    out["body"] = content.clean_html(body or "")
    out["body_text"] = content.html_to_text(out["body"])
    summary = text("summary", merged.get("summary"), single_line=False, limit=5000)
    out["summary"] = summary or content.summarize(out["body_text"])

    image_url = merged.get("image_url") or ""
    if not isinstance(image_url, str):
        errors["image_url"] = "must be a string"
        image_url = ""
    image_url = content.clean_text(image_url)
    if image_url and not content.is_http_url(image_url):
        errors["image_url"] = "must be an absolute http(s) URL"
    out["image_url"] = image_url
    out["image_caption"] = text("image_caption", merged.get("image_caption"), limit=2000)
    out["image_type"] = text("image_type", merged.get("image_type"), limit=100)
    length = merged.get("image_length")
    if length in (None, ""):
        out["image_length"] = None
    elif isinstance(length, bool) or not isinstance(length, int) or length < 0:
        errors["image_length"] = "must be a whole number of bytes"
    else:
        out["image_length"] = length

    for name in ("author", "category"):
        value = merged.get(name)
        if value in (None, ""):
            out[name] = None
            continue
        try:
            out[name] = _term(value, name)
        except ValueError as exc:
            errors[name] = str(exc)

    tags = merged.get("tags") or []
    if isinstance(tags, str):
        tags = [t for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list):
        errors["tags"] = "must be a list of names"
        tags = []
    out["tags"] = []
    for value in tags[:MAX_TAGS]:
        try:
            term = _term(value, "tag")
        except ValueError as exc:
            errors["tags"] = str(exc)
            break
        if term not in out["tags"]:
            out["tags"].append(term)
    if len(tags) > MAX_TAGS:
        errors["tags"] = f"at most {MAX_TAGS} tags"

    # Slugs the article had before (export/import keeps old links redirecting to it).
    previous = merged.get("previous_slugs") or []
    if isinstance(previous, str):  # CSV cells
        previous = [p.strip() for p in previous.replace(";", ",").split(",") if p.strip()]
    if not isinstance(previous, list) or not all(content.is_slug(p) for p in previous):
        errors["previous_slugs"] = (
            "must be a list of slugs (lowercase letters and digits in any script, single hyphens)"
        )
        previous = []
    out["previous_slugs"] = sorted(set(previous) - {out.get("slug")})[:100]

    status = merged.get("status") or "published"
    if status not in ("draft", "published"):
        errors["status"] = "must be 'draft' or 'published'"
    out["status"] = status

    for name in ("published", "updated"):
        # An update that does not say when it was updated was updated now.
        value = data.get(name) if (name == "updated" and existing is not None) else merged.get(name)
        if value in (None, ""):
            out[name] = None
            continue
        try:
            out[name] = parse_time(value, naive_tz=naive_tz)
        except ValueError as exc:
            errors[name] = str(exc)
    if "published" not in errors and out.get("published") is None:
        out["published"] = now.replace(microsecond=0)
    if "updated" not in errors and "published" not in errors:
        if out.get("updated") is None or out["updated"] < out["published"]:
            out["updated"] = out["published"] if existing is None else max(now.replace(microsecond=0), out["published"])
    if errors:
        raise Invalid(errors)
    return out


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
        **({"previous_slugs": list(previous_slugs)} if previous_slugs else {}),
    }
