"""The input gate of term management: what a new or changed author, category or tag may carry,
cleaned as article terms are (``content.clean_name``, ``content.slugify``), or ``Invalid``
naming each bad field.

Each field is declared once in ``TERM_INPUT``; the CLI and the API check with it and the
OpenAPI document (``openapi.py``) describes it from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import content, limits
from .validation import ANY_LETTER, Count, Invalid, Slug, Text

KINDS = ("category", "tag", "author")
PLURAL = {"category": "categories", "tag": "tags", "author": "authors"}


@dataclass(frozen=True)
class Name:
    """A display name in any script: invisible characters dropped, at least one letter or digit."""

    def clean(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        name = content.clean_name(value)
        if not name:
            raise ValueError("is empty: give a name (spaces and invisible characters do not count)")
        if len(name) > limits.MAX_TERM_NAME:
            raise ValueError(f"longer than {limits.MAX_TERM_NAME} characters")
        if not content.slugify(name, limits.MAX_SLUG):
            raise ValueError("needs at least one letter or digit, in any script")
        return name

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "minLength": 1, "maxLength": limits.MAX_TERM_NAME, "pattern": ANY_LETTER}


@dataclass(frozen=True)
class TermSlug(Slug):
    """A slug as ``content.slugify`` makes them, short enough for a term's address."""

    def clean(self, value: Any, **_: Any) -> str | None:
        slug = super().clean(value)
        if slug is not None and len(slug) > limits.MAX_SLUG:
            raise ValueError(f"longer than {limits.MAX_SLUG} characters")
        return slug


DESCRIPTION = Text(limits.MAX_TERM_DESCRIPTION, single_line=False)
TERM_INPUT: dict[str, dict[str, Any]] = {
    "category": {
        "name": Name(),
        "slug": TermSlug(),
        "description": DESCRIPTION,
        "position": Count("places", 0, limits.MAX_TERM_POSITION),
    },
    "tag": {"name": Name(), "slug": TermSlug()},
    "author": {"name": Name(), "slug": TermSlug(), "bio": DESCRIPTION},
}
DESCRIBED = {
    "name": "the display name, in any script",
    "slug": "its address: /{kind}/{slug}/ (default: made from the name). A new slug leaves a 301 from the old one",
    "description": "shown on the category's page",
    "position": "place in the navigation (0 first)",
    "bio": "shown on the author's page",
}


def term_input(kind: str, data: Any, *, partial: bool) -> dict[str, Any]:
    """The clean fields of a new term (``partial``: only those given, for a change). A new term
    without a slug gets one made from its name. Raises ``Invalid`` naming every bad field."""
    if not isinstance(data, dict):
        raise Invalid({"_": f"a {kind} must be a JSON object"})
    fields = TERM_INPUT[kind]
    errors = {key: "unknown field" for key in data if key not in fields}
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in data:
            continue
        value = data[name]
        if value is None and name in ("name", "slug"):
            errors[name] = "cannot be null"
            continue
        try:
            cleaned = spec.clean(value)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if name == "slug" and cleaned is None:
            if partial:
                errors[name] = "cannot be empty (leave it out to keep the slug)"
            continue  # a new term: made from the name
        out[name] = cleaned if cleaned is not None else (0 if name == "position" else "")
    if not partial and "name" not in data:
        errors["name"] = "is required"
    if partial and not data and not errors:
        errors["_"] = "nothing to change: give at least one of " + ", ".join(fields)
    if errors:
        raise Invalid(errors)
    if not partial and not out.get("slug"):
        out["slug"] = content.slugify(out["name"], limits.MAX_SLUG)
    return out


def term_schema(kind: str, *, partial: bool) -> dict[str, Any]:
    """The JSON Schema of a new term (or of a change, ``partial``), from ``TERM_INPUT``."""
    properties = {}
    for name, spec in TERM_INPUT[kind].items():
        described = DESCRIBED[name].replace("{kind}", kind)
        properties[name] = {**spec.schema(), "description": described}
        if name not in ("name", "slug"):
            properties[name]["nullable"] = True
    schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": properties}
    if partial:
        schema["minProperties"] = 1
    else:
        schema["required"] = ["name"]
    return schema
