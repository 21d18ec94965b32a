"""What the format modules and the import pipeline share: the record as read (``Entry``), what a
format module returns (``Parsed``), what it may report (``Context``, ``Event``), the one error
that stops an import (``ImportFailed``), and the identity helpers (guids and slugs from links)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from urllib.parse import unquote, urlsplit

from .. import content

IDENTITY_FIELDS = ("url", "link", "id")  # read to derive guid and slug, never stored as such


class ImportFailed(ValueError):
    """The import cannot go on (unreadable source, unknown format, a batch the database refused).
    The message is for the operator; the CLI shows it without a traceback."""


@dataclass(frozen=True)
class Event:
    """Something the operator should read: a record ``skipped`` or a ``warning``. ``where`` names
    the record (``line 7``, ``item 3 (line 40)``) or the source; ``message`` gives the reason."""

    kind: str  # "skipped" or "warning"
    where: str
    message: str
    record: str = ""  # the record's guid or title when it has one: "guid 'tag:x,3'"

    def __str__(self) -> str:
        named = f" ({self.record})" if self.record else ""
        if self.kind == "skipped":
            return f"{self.where}: skipped: {self.message}{named}"
        return f"warning: {self.where}: {self.message}{named}" if self.where else f"warning: {self.message}"


OnEvent = Callable[[Event], None]
# done, total (None when unknown) and the unit of both ("bytes" or "items").
OnProgress = Callable[[int, int | None, str], None]


def ignore(*_args: Any) -> None:
    """The default callback: report nothing."""


@dataclass
class Entry:
    """One record as a format module read it: ``data`` for validation, or ``problem`` when the
    record could not even be read (bad JSON, invalid UTF-8...), or neither for an item that is
    not an article and is passed over. ``done`` is progress so far; ``warnings`` are fields the
    format module dropped from an otherwise good record (an author name empty after cleaning)."""

    where: str  # "line 7", "item 3"
    data: dict[str, Any] | None = None
    problem: str | None = None
    done: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class Parsed:
    entries: Iterator[Entry]
    length: int | None  # progress units in total
    unit: str = "bytes"  # or "items"
    ignored: dict[str, int] = field(default_factory=dict)  # filled while reading: non-articles by kind


@dataclass
class Context:
    """What a format module may need besides the bytes."""

    on_event: OnEvent = ignore
    naive_tz: tzinfo | None = None

    def warn(self, where: str, message: str, record: str = "") -> None:
        self.on_event(Event("warning", where, message, record))


def whole_number(text: object) -> Any:
    """A count of bytes as written in a file ("12345") as an int, however large (the pipeline
    range-checks it); anything else unchanged, for validation to name. Never raises: Python
    refuses to convert integers of more than ``sys.get_int_max_str_digits()`` digits."""
    if not isinstance(text, str):
        return text
    value = text.strip()
    if value.isascii() and value.isdigit():
        limit = sys.get_int_max_str_digits()
        return int(value) if not limit or len(value) <= limit else value
    return value or None


def derived_guid(*parts: object) -> str:
    """A deterministic ``urn:uuid:`` (UUID 5) for a record whose source gives no guid."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'syndicate-import:' + chr(31).join(map(str, parts)))}"


def slug_from_url(url: object) -> str | None:
    """The slug in a permalink (its last path segment without extension), if it has one."""
    if not isinstance(url, str):
        return None
    segments = [s for s in urlsplit(url.strip()).path.split("/") if s]
    if not segments:
        return None
    last = unquote(segments[-1]).rsplit(".", 1)[0] if "." in segments[-1] else unquote(segments[-1])
    slug = content.slugify(last)
    # A bare number (/2024/05/12345) is a post id, not a name: let the title make the slug.
    return slug if slug and not slug.isdigit() else None


def term_name(value: object, field_name: str, where: str, warnings: list[str]) -> str | None:
    """A display name cleaned as validation would; an empty one is dropped with a warning (the
    article is imported without that field rather than skipped)."""
    if value in (None, ""):
        return None
    name = content.clean_name(str(value))
    if not name or not content.slugify(name):
        warnings.append(f"{field_name}: {str(value)[:80]!r} is empty once cleaned; imported without it")
        return None
    return name
