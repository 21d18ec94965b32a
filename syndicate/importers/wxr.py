"""WordPress eXtended RSS (WXR): the file WordPress's Tools > Export writes.

Parsed with lxml's iterparse (``huge_tree``, no recovery, no entities, no network) in two
streaming passes: the first collects authors and attachments (a featured image may be listed
after the post that uses it) and fails on malformed XML before anything is written; the second
yields the posts. Control characters that XML forbids (WordPress lets them into posts) are
stripped from the bytes before parsing, with a warning, instead of failing the whole file.

Mapping of an ``<item>`` with ``wp:post_type`` = post to an article:

- guid: ``<guid>`` verbatim (else one derived from the link or post id); slug: ``wp:post_name``
  (else made from the title); title; author: the display name of ``dc:creator`` (from the
  ``wp:author`` entries).
- status: publish -> published; future -> published at its future date (scheduled); draft,
  pending and private (and password-protected posts) -> draft; trash and auto-draft are skipped.
- published: ``wp:post_date_gmt`` (UTC); an unsaved draft has ``0000-00-00 00:00:00`` there, and
  then ``wp:post_date`` (blog-local) is used with NAIVE_TIMEZONE. A draft without a usable date
  is imported as a draft dated at import (as WordPress shows it); so is a post with no date at
  all, with a warning. A published post with only a blog-local date and no NAIVE_TIMEZONE is
  reported and skipped. updated: ``wp:post_modified_gmt`` when present.
- encoding: UTF-8 or whatever the XML declaration names; UTF-16 and UTF-32 exports (byte-order
  mark or declaration) are re-encoded as UTF-8 before parsing.
- category: the first ``<category domain="category">`` (the others become tags; WordPress's
  default "Uncategorized" is dropped: it is not a section); tags: ``<category domain="post_tag">``.
- body: ``content:encoded`` with WordPress's automatic paragraphs applied (text separated by
  blank lines becomes ``<p>``; single newlines ``<br>``), ``[caption]`` shortcodes turned into
  ``<figure>``; summary: ``excerpt:encoded``.
- image: the featured image (``_thumbnail_id`` post meta) -> the attachment's
  ``wp:attachment_url``, its caption (the attachment's excerpt) and a MIME type from its name.

Items that are not posts (pages, attachments, menu items...) are counted and ignored.
Items are numbered from 1 in file order, every item counted, and reported with their line.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import unquote

from lxml import etree

from .. import content
from ..validation import source_language
from .records import Context, Entry, ImportFailed, Parsed, derived_guid
from .sources import Source, as_utf8_xml

CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
STATUS = {"publish": "published", "future": "published", "draft": "draft", "pending": "draft", "private": "draft"}
# C0 controls other than tab, LF and CR; in UTF-8 these bytes never occur inside a multi-byte
# character, so deleting them from the raw bytes is safe.
_FORBIDDEN_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_NS_RE = re.compile(rb"""xmlns:(wp|excerpt)\s*=\s*["']([^"']+)["']""")


class _Stripped:
    """A binary stream with XML-forbidden control bytes removed (counted in ``removed``)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.removed = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        clean = data.translate(None, _FORBIDDEN_BYTES)
        self.removed += len(data) - len(clean)
        return clean


def _namespaces(src: Source) -> tuple[str, str]:
    found = {name.decode(): value.decode() for name, value in _NS_RE.findall(src.head(1 << 20))}
    if "wp" not in found:
        raise ImportFailed(f"{src.name} is not a WordPress export (no xmlns:wp namespace)")
    return found["wp"], found.get("excerpt", found["wp"] + "excerpt/")


def _iterparse(stream, wp: str):
    return etree.iterparse(
        stream,
        events=("end",),
        tag=("item", f"{{{wp}}}author"),
        huge_tree=True,
        recover=False,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
    )


def _free(el) -> None:
    """Drop an element already read, and the siblings before it, so memory stays flat."""
    el.clear()
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def parse(src: Source, ctx: Context) -> Parsed:
    src = as_utf8_xml(src)
    wp, excerpt_ns = _namespaces(src)
    authors: dict[str, str] = {}
    attachments: dict[str, dict[str, str]] = {}
    items = 0
    with src.open() as raw:
        stream = _Stripped(raw)
        try:
            for _, el in _iterparse(stream, wp):
                if el.tag == "item":
                    items += 1
                    if (el.findtext(f"{{{wp}}}post_type") or "").strip() == "attachment":
                        attachments[(el.findtext(f"{{{wp}}}post_id") or "").strip()] = {
                            "url": (el.findtext(f"{{{wp}}}attachment_url") or "").strip(),
                            "caption": el.findtext(f"{{{excerpt_ns}}}encoded") or "",
                        }
                else:
                    login = (el.findtext(f"{{{wp}}}author_login") or "").strip()
                    name = (el.findtext(f"{{{wp}}}author_display_name") or "").strip()
                    if login:
                        authors[login] = name or login
                _free(el)
        except etree.XMLSyntaxError as exc:
            raise ImportFailed(f"{src.name} is not well-formed XML: {exc}") from None
    if stream.removed:
        ctx.warn(src.name, f"removed {stream.removed} control characters that XML does not allow")
    parsed = Parsed(iter(()), length=items, unit="items")
    parsed.entries = _entries(src, ctx, wp, excerpt_ns, authors, attachments, parsed.ignored)
    return parsed


def _entries(src, ctx, wp, excerpt_ns, authors, attachments, ignored: dict[str, int]) -> Iterator[Entry]:
    number = 0
    with src.open() as raw:
        for _, el in _iterparse(_Stripped(raw), wp):
            if el.tag != "item":
                _free(el)
                continue
            number += 1
            where = f"item {number} (line {el.sourceline})"
            kind = (el.findtext(f"{{{wp}}}post_type") or "").strip()
            if kind != "post":
                ignored[kind or "untyped item"] = ignored.get(kind or "untyped item", 0) + 1
                _free(el)
                yield Entry(where, done=number)  # no record: progress only
                continue
            warnings: list[str] = []
            try:
                data = _post(el, ctx, wp, excerpt_ns, authors, attachments, warnings)
                entry = Entry(where, data=data, done=number, warnings=warnings)
            except ValueError as exc:
                entry = Entry(where, problem=str(exc), done=number)
            _free(el)
            yield entry


def _text(el, path: str) -> str:
    return (el.findtext(path) or "").strip()


def _dated(value: str) -> bool:
    return bool(value) and not value.startswith("0000")


def _published(el, w: str, ctx: Context, status: str, warnings: list[str]) -> tuple[str | None, str]:
    """The publication time and the status, as WordPress would show them: a post without any
    date (an unsaved draft, or a date of zeros) is a draft, dated when it is imported."""
    gmt = _text(el, f"{w}post_date_gmt")
    if _dated(gmt):
        return gmt + "+00:00", status
    local = _text(el, f"{w}post_date")
    if not _dated(local):
        if status != "draft":
            warnings.append("published: the post has no date; imported as a draft")
        return None, "draft"
    if ctx.naive_tz is not None:
        return local, status  # interpreted in NAIVE_TIMEZONE by validation
    if status == "draft":
        warnings.append(
            f"published: wp:post_date {local} has no time zone (set NAIVE_TIMEZONE to keep it); the draft is"
            " dated when imported"
        )
        return None, status
    raise ValueError(
        f"published: no wp:post_date_gmt and wp:post_date {local} has no time zone;"
        " set NAIVE_TIMEZONE to the blog's time zone to import it"
    )


def _post(el, ctx: Context, wp: str, excerpt_ns: str, authors, attachments, warnings: list[str]) -> dict[str, Any]:
    w = f"{{{wp}}}"
    status_raw = _text(el, f"{w}status")
    status = STATUS.get(status_raw)
    if status is None:
        raise ValueError(f"status: WordPress status {status_raw or '(none)'!r} is not imported")
    if _text(el, f"{w}post_password"):
        status = "draft"  # password-protected: not for the public archive
    published, status = _published(el, w, ctx, status, warnings)
    updated = _text(el, f"{w}post_modified_gmt")
    updated = updated + "+00:00" if _dated(updated) and published else None

    categories, tags, language = [], [], ""
    for cat in el.iterfind("category"):
        if cat.get("domain") == "language":  # Polylang's per-post language (WordPress has none)
            language = language or source_language(cat.get("nicename") or cat.text)
            continue
        name = content.clean_name(cat.text or "")
        if not name:
            continue
        term = {
            "slug": content.slugify(unquote(cat.get("nicename") or "") or name) or content.slugify(name),
            "name": name,
        }
        if cat.get("domain") == "category":
            categories.append(term)
        elif cat.get("domain") == "post_tag":
            tags.append(term)
    # WordPress files every post under "Uncategorized" unless told otherwise: not a real section.
    categories = [c for c in categories if c["slug"] != "uncategorized"]
    tags = categories[1:] + tags

    login = _text(el, f"{{{DC_NS}}}creator")
    link = _text(el, "link")
    post_id = _text(el, f"{w}post_id")
    slug = content.slugify(unquote(_text(el, f"{w}post_name"))) or None
    record: dict[str, Any] = {
        "guid": _text(el, "guid") or derived_guid("wxr", link or post_id),
        "slug": slug,
        # WordPress titles are HTML (entities such as &amp; or &#8217;, sometimes <em>): keep the text.
        "title": content.html_to_text(el.findtext("title") or ""),
        "summary": content.html_to_text(el.findtext(f"{{{excerpt_ns}}}encoded") or ""),
        "body": autop(shortcodes(el.findtext(f"{{{CONTENT_NS}}}encoded") or "")),
        "author": authors.get(login, login) or None,
        "category": categories[0] if categories else None,
        "tags": tags,
        "published": published,
        "updated": updated,
        "status": status,
        "language": language,
    }
    for meta in el.iterfind(f"{w}postmeta"):
        if _text(meta, f"{w}meta_key") == "_thumbnail_id":
            image = attachments.get(_text(meta, f"{w}meta_value"))
            if image and content.is_http_url(image["url"]):
                record["image_url"] = image["url"]
                record["image_caption"] = content.html_to_text(image["caption"])
                record["image_type"] = mimetypes.guess_type(image["url"])[0] or ""
    return record


# ------------------------------------------------------------------ WordPress formatting

_BLOCK = (
    r"(?:address|article|aside|blockquote|details|div|dl|dd|dt|fieldset|figcaption|figure|footer|form|"
    r"h[1-6]|header|hr|li|main|nav|ol|p|pre|section|table|thead|tbody|tfoot|tr|td|th|ul|iframe|script|"
    r"style|video|audio|object|embed|math|svg)"
)
_STARTS_WITH_BLOCK = re.compile(rf"^(?:<!--|</?{_BLOCK}\b)", re.IGNORECASE)
_CAPTION = re.compile(r"\[caption[^\]]*\](.*?)\[/caption\]", re.IGNORECASE | re.DOTALL)
_CAPTION_MEDIA = re.compile(r"^\s*((?:<a\b[^>]*>\s*)?<img\b[^>]*>(?:\s*</a>)?)(.*)$", re.IGNORECASE | re.DOTALL)
_OTHER_SHORTCODES = re.compile(r"\[/?(?:gallery|embed|audio|video|playlist)\b[^\]]*\]", re.IGNORECASE)
_BLOCK_COMMENT = re.compile(r"<!--\s*/?wp:.*?-->", re.DOTALL)  # Gutenberg block delimiters


def shortcodes(text: str) -> str:
    """``[caption]`` becomes a figure; gallery/embed/audio/video tags and Gutenberg block
    comments are dropped (their inner text, such as an embedded URL, stays)."""

    def figure(match: re.Match) -> str:
        inner = match.group(1)
        parts = _CAPTION_MEDIA.match(inner)
        if not parts:
            return inner
        media, caption = parts.group(1), parts.group(2).strip()
        return f"<figure>{media}<figcaption>{caption}</figcaption></figure>" if caption else f"<figure>{media}</figure>"

    return _BLOCK_COMMENT.sub("", _OTHER_SHORTCODES.sub("", _CAPTION.sub(figure, text)))


def autop(text: str) -> str:
    """WordPress's wpautop, simply: blocks of text separated by blank lines become paragraphs,
    single newlines inside them line breaks; blocks that start with block-level HTML (or a
    Gutenberg comment) are left as they are."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for chunk in re.split(r"\n[ \t]*\n", text):
        chunk = chunk.strip()
        if not chunk:
            continue
        if _STARTS_WITH_BLOCK.match(chunk):
            out.append(chunk)
        else:
            out.append("<p>" + re.sub(r"\s*\n\s*", "<br>\n", chunk) + "</p>")
    return "\n".join(out)
