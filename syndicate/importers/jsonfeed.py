"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/), a file or a fetched URL.

The document is one JSON object; its ``items`` map to articles as RSS/Atom entries do (see
``feed``):

- guid: ``id`` verbatim (a number in a 1.0 feed becomes its text), else ``url``, else a
  deterministic id from the title and date; slug: the last path segment of ``url``
  (``external_url`` is someone else's page and is not used), else made from the title.
- title: ``title`` (plain text). body: ``content_html``, else ``content_text`` as paragraphs,
  else the summary; summary: ``summary``.
- published / updated: ``date_published`` / ``date_modified`` (RFC 3339); an item with only one
  uses it for both.
- author: the first of ``authors`` (1.1) with a usable name, else ``author`` (1.0). Tags: the first is the
  article's category and the others its tags, as with feed categories.
- image: ``image``, else ``banner_image``, else the first image among ``attachments``; its type
  and size (``mime_type``, ``size_in_bytes``) come from a matching attachment when there is one.

An author or tag whose name is empty once cleaned is dropped with a warning, not the item. An
item that is not an object is reported and skipped; a document that is not JSON, or not a JSON
Feed, stops the import before anything is written.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from typing import Any

from .. import content
from ..validation import source_language
from .feed import paragraphs
from .records import Context, Entry, ImportFailed, Parsed, derived_guid, slug_from_url, term_name
from .sources import Source, wide_encoding


def parse(src: Source, ctx: Context) -> Parsed:
    document = _document(src)
    version = document.get("version")
    if not isinstance(version, str) or "jsonfeed.org/version/" not in version:
        raise ImportFailed(f"{src.name} is not a JSON Feed (its version is {version!r}, not a jsonfeed.org URL)")
    items = document.get("items")
    if not isinstance(items, list):
        raise ImportFailed(f"{src.name} is not a JSON Feed: it has no list of items")
    return Parsed(_entries(items), length=len(items), unit="items")


def _document(src: Source) -> dict[str, Any]:
    raw = src.read()
    encoding = wide_encoding(raw[:8]) or "utf-8"
    try:
        text = raw.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise ImportFailed(f"{src.name} is not UTF-8: byte {exc.start + 1} ({exc.reason})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = exc.msg.removesuffix(" at")
        raise ImportFailed(f"{src.name} is not valid JSON ({reason}, line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise ImportFailed(f"{src.name} is not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # an integer longer than Python converts
        raise ImportFailed(f"{src.name} cannot be read ({exc})") from None
    if not isinstance(document, dict):
        raise ImportFailed(f"{src.name} is not a JSON Feed: the document is not a JSON object")
    return document


def _entries(items: list) -> Iterator[Entry]:
    for number, item in enumerate(items, start=1):
        where = f"item {number}"
        if not isinstance(item, dict):
            yield Entry(where, problem="not a JSON object", done=number)
            continue
        warnings: list[str] = []
        yield Entry(where, data=item_record(item, where, warnings), done=number, warnings=warnings)


def _string(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool) and name == "id":
        return str(value)  # JSON Feed 1.0 allowed numbers as ids
    return value.strip() if isinstance(value, str) else ""


def item_record(item: dict[str, Any], where: str = "", warnings: list[str] | None = None) -> dict[str, Any]:
    """The article record for one JSON Feed item (validation checks every value)."""
    warnings = [] if warnings is None else warnings
    url = _string(item, "url")
    title = item.get("title")
    published = item.get("date_published") or item.get("date_modified") or None
    updated = item.get("date_modified") or published
    guid = _string(item, "id") or url or derived_guid("jsonfeed", title or "", published or "")

    names: list[str] = []
    tags = item.get("tags")
    for tag in tags if isinstance(tags, list) else []:
        name = term_name(tag, "tags", where, warnings)
        if name and name not in names:
            names.append(name)

    summary = _string(item, "summary")
    body = _string(item, "content_html")
    if not body:
        body = paragraphs(_string(item, "content_text") or summary)
    record: dict[str, Any] = {
        "guid": guid,
        "slug": slug_from_url(url),
        "title": title,
        "summary": content.summarize(content.clean_text(summary), 5000) if summary else "",
        "body": body,
        "author": term_name(_author(item), "author", where, warnings),
        "category": names[0] if names else None,
        "tags": names[1:],
        "published": published,
        "updated": updated,
        "status": "published",
        "language": source_language(item.get("language")),
    }
    record.update(_image(item))
    return record


def _author(item: dict[str, Any]) -> object:
    """The first author with a usable name (else the first name given, for the warning)."""
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else []
    candidates = [*candidates, item.get("author")]  # JSON Feed 1.0 had one author object
    names = [a["name"] for a in candidates if isinstance(a, dict) and isinstance(a.get("name"), str)]
    usable = [name for name in names if content.slugify(content.clean_text(name))]
    return (usable or names or [None])[0]


def _image(item: dict[str, Any]) -> dict[str, Any]:
    attachments = [a for a in item.get("attachments") or [] if isinstance(a, dict)]
    attachments = [a for a in attachments if isinstance(a.get("url"), str) and content.is_http_url(a["url"].strip())]
    pictures = [a for a in attachments if str(a.get("mime_type") or "").startswith("image/")]
    url = _string(item, "image") or _string(item, "banner_image")
    if not content.is_http_url(url):
        url = pictures[0]["url"].strip() if pictures else ""
    if not url:
        return {}
    match = next((a for a in attachments if a["url"].strip() == url), {})
    size = match.get("size_in_bytes")
    return {
        "image_url": url,
        "image_type": str(match.get("mime_type") or mimetypes.guess_type(url.split("?", 1)[0])[0] or ""),
        "image_length": size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
        "image_caption": content.clean_text(match.get("title") or "") if isinstance(match.get("title"), str) else "",
    }
