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

TermValue = tuple[str, str]  # (slug, name)


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


def term_value(value: Any, name: str) -> TermValue:
    """A term given as a name ("Middle East"), or as {"slug": ..., "name": ...}."""
    if isinstance(value, dict):
        term_name = content.clean_name(value.get("name") or value.get("slug") or "")
        slug = content.slugify(value.get("slug") or term_name, limits.MAX_SLUG)
    elif isinstance(value, str):
        term_name = content.clean_name(value)
        slug = content.slugify(term_name, limits.MAX_SLUG)
    else:
        raise ValueError(f"{name} must be a name or an object with slug and name")
    if not term_name:
        raise ValueError(f"{name} is empty: give a name (spaces and invisible characters do not count)")
    if not slug:
        raise ValueError(f"{name} needs a name with at least one letter or digit, in any script")
    return slug, term_name[: limits.MAX_TERM_NAME]


# ------------------------------------------------------------------------- the input fields
# Each kind of field cleans one raw value (None when absent: each says what that means) or
# raises ValueError with the message for that field, and describes itself as a JSON Schema.

SLUG_SCHEMA = {"type": "string", "maxLength": limits.MAX_SLUG, "pattern": limits.SLUG_PATTERN}
ANY_LETTER = "[A-Za-z0-9]"
TERM_INPUT_SCHEMA = {
    "description": "a name, or an object with a slug and a name",
    "oneOf": [
        {"type": "string", "minLength": 1, "maxLength": limits.MAX_TERM_NAME, "pattern": ANY_LETTER},
        {
            "type": "object",
            "properties": {
                "slug": SLUG_SCHEMA,
                "name": {"type": "string", "maxLength": limits.MAX_TERM_NAME, "pattern": ANY_LETTER},
            },
            "required": ["name"],
        },
    ],
}


@dataclass(frozen=True)
class Text:
    max_length: int
    single_line: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # further schema keywords (documentation)

    def clean(self, value: Any, **_: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ValueError("must be a string")
        cleaned = content.clean_text(value, single_line=self.single_line)
        if len(cleaned) > self.max_length:
            raise ValueError(f"longer than {self.max_length} characters")
        return cleaned

    def schema(self) -> dict[str, Any]:
        return {"type": "string", **self.extra, "maxLength": self.max_length}


@dataclass(frozen=True)
class Guid:
    def clean(self, value: Any, **_: Any) -> str | None:
        if value is None or value == "":
            return None  # a new article gets one minted
        if not isinstance(value, str) or not content.clean_text(value) or len(value) > limits.MAX_GUID:
            raise ValueError(f"must be a non-empty string of at most {limits.MAX_GUID} characters")
        return content.clean_text(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "minLength": 1, "maxLength": limits.MAX_GUID, "pattern": ANY_LETTER,
                "description": "your permanent id; a POST with a known guid updates that article"}  # fmt: skip


@dataclass(frozen=True)
class Slug:
    def clean(self, value: Any, **_: Any) -> str | None:
        if value is None or value == "":
            return None  # made from the title
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if not content.is_slug(value):
            raise ValueError("may contain only lowercase letters and digits (any script) and single hyphens")
        return value

    def schema(self) -> dict[str, Any]:
        return dict(SLUG_SCHEMA)


@dataclass(frozen=True)
class Html:
    def clean(self, value: Any, **_: Any) -> str:
        if value is not None and not isinstance(value, str):
            raise ValueError("must be a string of HTML")
        return content.clean_html(value or "")

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "description": "HTML; sanitised on the way in"}


@dataclass(frozen=True)
class HttpUrl:
    def clean(self, value: Any, **_: Any) -> str:
        value = value or ""
        if not isinstance(value, str):
            raise ValueError("must be a string")
        value = content.clean_text(value)
        if value and not content.is_http_url(value):
            raise ValueError("must be an absolute http(s) URL")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^https?://[A-Za-z0-9]"}


@dataclass(frozen=True)
class Count:
    """A whole number within [minimum, maximum] (see ``limits`` for why each maximum)."""

    unit: str
    minimum: int
    maximum: int

    def clean(self, value: Any, **_: Any) -> int | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"must be a whole number of {self.unit}")
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"must be a whole number of {self.unit} from {self.minimum} to {self.maximum}")
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


@dataclass(frozen=True)
class TermField:
    kind: str

    def clean(self, value: Any, **_: Any) -> TermValue | None:
        return None if value in (None, "") else term_value(value, self.kind)

    def schema(self) -> dict[str, Any]:
        return dict(TERM_INPUT_SCHEMA)


@dataclass(frozen=True)
class TermList:
    def clean(self, value: Any, **_: Any) -> tuple[TermValue, ...]:
        tags = value or []
        if isinstance(tags, str):
            tags = [t for t in tags.split(",") if t.strip()]
        if not isinstance(tags, list):
            raise ValueError("must be a list of names")
        if len(tags) > limits.MAX_TAGS:
            raise ValueError(f"at most {limits.MAX_TAGS} tags")
        out: list[TermValue] = []
        for item in tags:
            term = term_value(item, "tag")
            if term not in out:
                out.append(term)
        return tuple(out)

    def schema(self) -> dict[str, Any]:
        return {
            "oneOf": [
                {"type": "array", "maxItems": limits.MAX_TAGS, "items": TERM_INPUT_SCHEMA},
                {"type": "string", "description": "comma-separated names"},
            ],
        }


@dataclass(frozen=True)
class SlugList:
    """Slugs the article had before (export/import keeps old links redirecting to it)."""

    def clean(self, value: Any, **_: Any) -> tuple[str, ...]:
        previous = value or []
        if isinstance(previous, str):  # CSV cells
            previous = [p.strip() for p in previous.replace(";", ",").split(",") if p.strip()]
        if not isinstance(previous, list) or not all(content.is_slug(p) for p in previous):
            raise ValueError("must be a list of slugs (lowercase letters and digits in any script, single hyphens)")
        return tuple(sorted(set(previous)))

    def schema(self) -> dict[str, Any]:
        return {
            "description": "old slugs whose permalinks should redirect here (export/import)",
            "oneOf": [
                # Old slugs are only checked for their shape (an exported one may be longer).
                {
                    "type": "array",
                    "maxItems": limits.MAX_PREVIOUS_SLUGS,
                    "items": {"type": "string", "pattern": limits.SLUG_PATTERN},
                },
                {"type": "string", "description": "comma-separated slugs"},
            ],
        }


@dataclass(frozen=True)
class Status:
    choices: tuple[str, ...] = ("draft", "published")

    def clean(self, value: Any, **_: Any) -> str:
        status = value or self.choices[-1]
        if status not in self.choices:
            raise ValueError("must be " + " or ".join(f"'{c}'" for c in self.choices))
        return status

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}


@dataclass(frozen=True)
class LanguageTag:
    """A BCP 47 language tag that CLDR knows ('fa', 'pt-BR', 'zh-Hant'); empty = inherit."""

    def clean(self, value: Any, **_: Any) -> str:
        if value is None or value == "":
            return ""
        from babel import Locale, UnknownLocaleError

        if not isinstance(value, str) or len(value) > limits.MAX_LANGUAGE_TAG:
            raise ValueError("must be a language tag such as en, fa, ar or pt-BR")
        tag = value.strip().replace("_", "-")
        try:
            Locale.parse(tag, sep="-")
        except (UnknownLocaleError, ValueError, TypeError):
            raise ValueError(f"must be a language tag such as en, fa, ar or pt-BR, got {tag!r}") from None
        return tag

    def schema(self) -> dict[str, Any]:
        return {
            "type": "string",
            "maxLength": limits.MAX_LANGUAGE_TAG,
            "description": "BCP 47 language of this article (sets lang/dir on its page and in feeds);"
            " empty or absent: the site's language",
            "example": "fa",
        }


def source_language(value: Any) -> str:
    """An importer's reading of a source's language for one item: the tag when valid, else ''
    (inherit the site's), so a bad tag never costs the article."""
    try:
        return LanguageTag().clean(value)
    except ValueError:
        return ""


@dataclass(frozen=True)
class Moment:
    description: str = ""

    def clean(self, value: Any, *, naive_tz: tzinfo | None = None) -> datetime | None:
        return None if value in (None, "") else parse_time(value, naive_tz=naive_tz)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time",
                "description": self.description or DATE_TIME_DESCRIPTION}  # fmt: skip


EMBARGO_DESCRIPTION = (
    "until then the article goes to partner feeds only (marked as under embargo), and nowhere public;"
    " it is published at that time: an earlier `published` is moved to it. Null: no embargo"
)
DATE_TIME_DESCRIPTION = "ISO 8601 with a time zone (Z or an offset); a time without one is refused"

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
