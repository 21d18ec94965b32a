"""RSS and Atom feeds (a file or a fetched URL), parsed with feedparser.

Mapping of an entry to an article:

- guid: the entry's ``id`` (Atom ``<id>``, RSS ``<guid>``), else its link, else a deterministic
  id from its title and date; kept verbatim, so readers that followed the old feed see the same ids.
- slug: the last path segment of the link (``/2024/05/rain-in-spain/`` -> ``rain-in-spain``),
  else made from the title.
- author: the author's name. Categories (``<category>``, Atom ``<category term>``): the first one
  is the article's category, the others become tags.
- published / updated: feedparser's parsed times, which are UTC; an entry with only one of them
  uses it for both. A date feedparser cannot read is reported and the entry skipped.
- body: the full content (``content:encoded`` / Atom ``<content>``), else the summary;
  summary: the text of ``<description>`` / ``<summary>``.
- image: the first image enclosure, else ``media:content`` (image), else ``media:thumbnail``.

A feed that is not well-formed XML (feedparser's "bozo") is still imported when feedparser
recovered entries from it, with a warning; every entry is then validated like any other record.
"""

from __future__ import annotations

import calendar
import html
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser

from .. import content
from ..validation import source_language
from .records import Context, Entry, ImportFailed, Parsed, derived_guid, slug_from_url, term_name, whole_number
from .sources import Source
from .wxr import autop

_HTML = ("text/html", "application/xhtml+xml")


def parse(src: Source, ctx: Context) -> Parsed:
    with src.open() as stream:
        data = stream.read()
    headers = {"content-location": src.name} if src.is_url else {}
    # Always bytes: given a str, feedparser would take it for a URL or a file name and fetch it.
    parsed = feedparser.parse(data, response_headers=headers)
    entries = parsed.get("entries") or []
    if parsed.get("bozo"):
        problem = parsed.get("bozo_exception")
        if not entries:
            raise ImportFailed(f"{src.name} is not a readable RSS or Atom feed ({problem})")
        ctx.warn("", f"{src.name} is not well-formed ({problem}); importing the {len(entries)} entries recovered")
    elif not entries and not parsed.get("version"):
        raise ImportFailed(f"{src.name} is not an RSS or Atom feed")
    feed_language = (parsed.get("feed") or {}).get("language")
    for entry in entries:
        # RSS: dc:language on the item. Atom: an xml:lang on the entry itself (feedparser hands
        # down the feed's, so only one that differs from the feed's was set on the entry).
        own = (entry.get("title_detail") or {}).get("language")
        if not entry.get("language") and own and own != feed_language and parsed.get("version", "").startswith("atom"):
            entry["language"] = own
    return Parsed(_entries(entries), length=len(entries), unit="items")


def _entries(entries: list) -> Iterator[Entry]:
    for number, entry in enumerate(entries, start=1):
        where = f"item {number}"
        warnings: list[str] = []
        try:
            yield Entry(where, data=entry_record(entry, where, warnings), done=number, warnings=warnings)
        except ValueError as exc:
            yield Entry(where, problem=str(exc), done=number)


def _utc(value: time.struct_time | None) -> datetime | None:
    # feedparser normalises every date it understands to a UTC struct_time.
    return datetime.fromtimestamp(calendar.timegm(value), UTC) if value else None


def entry_record(entry: Any, where: str = "", warnings: list[str] | None = None) -> dict[str, Any]:
    """The article record for one feedparser entry; ValueError for an unreadable date. An author
    or term whose name is empty once cleaned is left out, with a note in ``warnings``."""
    warnings = [] if warnings is None else warnings
    # dict.get: FeedParserDict.get would silently (and deprecatedly) map updated <-> published.
    published = _utc(dict.get(entry, "published_parsed"))
    updated = _utc(dict.get(entry, "updated_parsed"))
    for name, parsed_value in (("published", published), ("updated", updated)):
        raw = dict.get(entry, name)
        if raw and parsed_value is None:
            raise ValueError(f"{name}: not a date feedparser understands: {raw!r}")
    published = published or updated
    link = entry.get("link") or ""
    title = entry.get("title")
    if title and (entry.get("title_detail") or {}).get("type") in _HTML:
        title = content.html_to_text(title)  # Atom type="html" titles: the text, not the markup
    guid = entry.get("id") or link or derived_guid("feed", title or "", published.isoformat() if published else "")

    names: list[str] = []
    for tag in entry.get("tags") or []:
        name = term_name(tag.get("label") or tag.get("term"), "category", where, warnings)
        if name and name not in names:
            names.append(name)

    summary_html = entry.get("summary") or ""
    body = ""
    for part in entry.get("content") or []:
        if part.get("type") in _HTML:
            body = part.get("value") or ""
            break
        if not body:
            body = paragraphs(part.get("value") or "")
    summary_text = content.html_to_text(summary_html) if summary_html else ""
    if not body:
        plain = (entry.get("summary_detail") or {}).get("type") not in _HTML
        # An RSS description is HTML, often bare text: give it paragraphs like WordPress would.
        body, summary_text = (paragraphs(summary_html) if plain else autop(summary_html)), ""

    record: dict[str, Any] = {
        "guid": guid,
        "slug": slug_from_url(link),
        "title": title,
        "summary": content.summarize(summary_text, 5000),
        "body": body,
        "author": term_name(
            (entry.get("author_detail") or {}).get("name") or entry.get("author"), "author", where, warnings
        ),
        "category": names[0] if names else None,
        "tags": names[1:],
        "published": published,
        "updated": updated or published,
        "status": "published",
        "language": source_language(entry.get("language")),
    }
    record.update(_image(entry))
    return record


def paragraphs(text: str) -> str:
    """Plain text as HTML paragraphs (blank lines separate them)."""
    return "".join(f"<p>{html.escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip())


def _image(entry: Any) -> dict[str, Any]:
    candidates: list[dict[str, Any]] = []
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type") or "").startswith("image/"):
            candidates.append(
                {"url": enclosure.get("href"), "type": enclosure.get("type"), "length": enclosure.get("length")}
            )
    for media in entry.get("media_content") or []:
        kind = str(media.get("type") or "")
        if media.get("medium") == "image" or kind.startswith("image/"):
            candidates.append({"url": media.get("url"), "type": kind, "length": media.get("filesize")})
    for thumb in entry.get("media_thumbnail") or []:
        candidates.append({"url": thumb.get("url"), "type": "", "length": None})
    for image in candidates:
        url = (image["url"] or "").strip()
        if content.is_http_url(url):
            length = str(image["length"] or "").strip()
            return {
                "image_url": url,
                "image_type": image["type"] or "",
                "image_length": whole_number(length) if length.isascii() and length.isdigit() else None,
                "image_caption": content.clean_text(entry.get("media_description") or ""),
            }
    return {}
