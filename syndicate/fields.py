"""How each kind of article input field is cleaned and described: one small declaration a
kind (text, slug, URL, count, terms, times...), each with ``clean`` (what the gate runs) and
``schema`` (what the OpenAPI document shows), so a limit is written once. ``validation.INPUT``
names the fields of an article with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from . import content, limits

TermValue = tuple[str, str]  # (slug, name)
DATE_TIME_DESCRIPTION = "ISO 8601 with a time zone (Z or an offset); a time without one is refused"


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
