"""One feed model, three writers: RSS 2.0 and Atom 1.0 (built with feedgen) and JSON Feed 1.1.

The shape follows Django's syndication framework: ``feeds.py`` turns a listing into a
``FeedDoc`` (format-neutral: items, links, dates), and a writer turns that into bytes. Writers
know the formats and nothing about the store or HTTP.

Every string passes through ``content.xml_safe`` here, whatever the store already did: a search
query echoed into a title, or a row written before a sanitiser fix, must never break a feed.

feedgen falls short in three places, handled by the ``syn`` extension below:
- its RSS writer emits only ``atom:link rel="self"``; RFC 5005 paging/archive links and the
  WebSub hub are added to the channel as further ``atom:link`` elements;
- it has no ``media:description`` and no ``dc:creator`` (RSS ``author`` needs an e-mail);
- RFC 5005 ``fh:archive`` marks archive documents;
- an article under embargo (partner feeds only) is marked in our own namespace
  (``embargo_mark``): ``<syn:embargo until="..."/>`` plus ``<rights>`` (Atom) or ``<dc:rights>``
  (RSS) saying it is not for publication before then; in JSON Feed, the ``_syndicate`` object.
Full HTML goes into ``content:encoded`` as escaped text, not CDATA: a literal ``]]>`` in an
attribute value cannot end a CDATA section early when there is none.
"""

from __future__ import annotations

import html
import json
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .content import xml_safe
from .version import __version__

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
DC_NS = "http://purl.org/dc/elements/1.1/"
FH_NS = "http://purl.org/syndication/history/1.0"
SYN_NS = "urn:syndicate:feed-extensions:1"  # our own namespace (embargo marks)
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
GENERATOR = "Syndicate"


def s(value: object) -> str:
    """Any value as XML-safe text (the writers' defence in depth)."""
    return xml_safe(str(value or ""))


@dataclass
class Image:
    url: str
    type: str
    length: int | None
    caption: str


@dataclass
class Category:
    term: str  # the slug
    label: str  # the display name
    scheme: str  # absolute URL of the term's listing


@dataclass
class FeedItem:
    """One article as every format sees it."""

    id: str
    url: str
    title: str
    summary: str
    content_html: str | None  # None when the feed carries summaries only
    author_name: str
    author_url: str
    categories: list[Category]
    published: datetime
    updated: datetime
    image: Image | None = None
    language: str = ""  # BCP 47 when it differs from the feed's; "" = the feed's language
    embargo_until: datetime | None = None  # set only on partner feeds, while under embargo


@dataclass
class FeedDoc:
    """One feed document in one format: its items and every link it carries."""

    id: str
    title: str
    subtitle: str
    language: str
    publisher: str  # the feed-level author (Atom requires one unless every entry has one)
    home_url: str  # rel=alternate: the HTML listing
    self_url: str
    updated: datetime
    items: list[FeedItem]
    icon: str = ""
    logo: str = ""
    ttl: int = 0
    hub: str = ""
    stylesheet: str = ""  # href of the XSLT for <?xml-stylesheet?> (RSS and Atom)
    # Further RFC 5005 relations (first, next, previous, last, current, prev-archive, next-archive).
    links: list[tuple[str, str]] = field(default_factory=list)
    archive: bool = False
    # Entries already serialised in this document's format (``entry_piece``), written instead
    # of ``items``; then ``published`` is the newest publication time among them.
    entries: list[str] | None = None
    published: datetime | None = None

    @property
    def newest_published(self) -> datetime | None:
        if self.entries is not None:
            return self.published
        return max((i.published for i in self.items), default=None)


def image_type(image_url: str, declared: str) -> str:
    """The MIME type of a lead image: the stored one, else a guess from the URL."""
    if declared:
        return declared
    guessed, _ = mimetypes.guess_type(image_url.split("?", 1)[0])
    return guessed or "application/octet-stream"


# ---------------------------------------------------------------------- embargo marks


def embargo_rights(until: datetime) -> str:
    """The rights statement of an article under embargo (Atom ``rights``, RSS ``dc:rights``)."""
    return f"Embargoed: not for publication before {_rfc3339(until)}."


def embargo_mark(parent: etree._Element, until: datetime) -> None:
    """``<syn:embargo until="RFC 3339 time"/>`` (declared where used: public feeds never carry it)."""
    etree.SubElement(parent, f"{{{SYN_NS}}}embargo", {"until": _rfc3339(until)}, nsmap={"syn": SYN_NS})


def embargo_json(until: datetime) -> dict[str, str]:
    """The JSON Feed item extension for an article under embargo."""
    return {"about": SYN_NS, "embargo_until": _rfc3339(until), "rights": embargo_rights(until)}


# ------------------------------------------------------------------- feedgen extension


class SynFeedExtension(BaseExtension):
    """Feed level: RFC 5005 links, hub and fh:archive, which feedgen's RSS writer drops."""

    def __init__(self) -> None:
        self.links: list[tuple[str, str]] = []
        self.archive = False

    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA_NS, "dc": DC_NS, "fh": FH_NS}

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        channel = rss.find("channel")
        # Next to feedgen's own self link, so all atom:link elements sit together.
        anchor = channel.find(f"{{{ATOM_NS}}}link")
        for rel, href in reversed(self.links):
            link = etree.Element(f"{{{ATOM_NS}}}link", rel=rel, href=href)
            if anchor is not None:
                anchor.addnext(link)
            else:
                channel.append(link)
        if self.archive:
            etree.SubElement(channel, f"{{{FH_NS}}}archive")
        return rss

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        # feedgen writes the Atom links itself (fg.link accepts every registered relation).
        if self.archive:
            etree.SubElement(feed, f"{{{FH_NS}}}archive")
        return feed


class SynEntryExtension(BaseEntryExtension):
    """Entry level: media:content with media:description, and dc:creator in RSS."""

    def __init__(self) -> None:
        self.image: Image | None = None
        self.creator = ""
        self.language = ""
        self.links: list[dict[str, str]] = []
        self.embargo_until: datetime | None = None

    def _media(self, parent: etree._Element) -> None:
        if self.image is None:
            return
        media = etree.SubElement(parent, f"{{{MEDIA_NS}}}content", url=self.image.url, medium="image")
        media.set("type", self.image.type)
        if self.image.length:
            media.set("fileSize", str(self.image.length))
        if self.image.caption:
            etree.SubElement(media, f"{{{MEDIA_NS}}}description").text = self.image.caption

    def extend_rss(self, item: etree._Element) -> etree._Element:
        if self.creator:
            etree.SubElement(item, f"{{{DC_NS}}}creator").text = self.creator
        self._media(item)
        if self.embargo_until is not None:
            etree.SubElement(item, f"{{{DC_NS}}}rights").text = embargo_rights(self.embargo_until)
            embargo_mark(item, self.embargo_until)
        return item

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        # feedgen 1.0.0 drops rel/type/length from entry links (it tests the new element instead
        # of the link data), which turns an enclosure into a second rel=alternate link and makes
        # the entry invalid (RFC 4287 4.1.1): write the entry links ourselves.
        # (feedgen builds Atom with un-namespaced elements under a literal xmlns attribute.)
        for old in entry.findall("link"):
            entry.remove(old)
        for data in self.links:
            etree.SubElement(entry, "link", data)
        if self.language:
            entry.set(XML_LANG, self.language)
        self._media(entry)
        if self.embargo_until is not None:
            embargo_mark(entry, self.embargo_until)
        return entry


# Longer than our ~60 lines on purpose: the feed model mapped field by field to feedgen (RSS and Atom).
def _generator(doc: FeedDoc) -> FeedGenerator:
    fg = _channel(doc)
    for item in doc.items:  # in the model's order (newest first); feedgen prepends by default
        _add_entry(fg, item)
    return fg


def _channel(doc: FeedDoc) -> FeedGenerator:
    """The document without its entries."""
    fg = FeedGenerator()
    fg.register_extension("syn", SynFeedExtension, SynEntryExtension)
    fg.id(s(doc.id))
    fg.title(s(doc.title))
    fg.subtitle(s(doc.subtitle) or s(doc.title))
    fg.language(s(doc.language))
    # Atom needs a feed author unless every entry has one; the publisher is a fair answer.
    fg.author({"name": s(doc.publisher) or GENERATOR})
    fg.generator(GENERATOR, version=__version__)
    fg.updated(doc.updated)
    fg.lastBuildDate(doc.updated)
    if doc.newest_published:
        fg.pubDate(doc.newest_published)
    if doc.icon:
        fg.icon(s(doc.icon))
    if doc.logo:
        fg.logo(s(doc.logo))
        fg.image(url=s(doc.logo), title=s(doc.title), link=s(doc.home_url), width="128", height="128")
    if doc.ttl:
        fg.ttl(doc.ttl)
    fg.link(href=s(doc.self_url), rel="self")
    links = list(doc.links)
    if doc.hub:
        links.insert(0, ("hub", doc.hub))
    for rel, href in links:
        fg.link(href=s(href), rel=rel)
    # Last: feedgen takes the RSS channel <link> from the last feed link it was given.
    fg.link(href=s(doc.home_url), rel="alternate", type="text/html")
    fg.syn.links = [(rel, s(href)) for rel, href in links]
    fg.syn.archive = doc.archive
    return fg


def _add_entry(fg: FeedGenerator, item: FeedItem) -> None:
    """One item as a feedgen entry (appended: the model's order, newest first)."""
    fe = fg.add_entry(order="append")
    fe.id(s(item.id))
    fe.title(s(item.title) or "(untitled)")
    alternate = {"href": s(item.url), "rel": "alternate", "type": "text/html"}
    fe.link(dict(alternate))
    fe.syn.links = [alternate]
    fe.syn.language = s(item.language)
    if item.author_name:
        author = {"name": s(item.author_name)}
        if item.author_url:
            author["uri"] = s(item.author_url)
        fe.author(author)
        fe.syn.creator = s(item.author_name)
    if item.categories:
        fe.category(
            [{"term": s(c.term), "label": s(c.label), "scheme": s(c.scheme)} for c in item.categories if c.term]
        )
    fe.published(item.published)
    fe.pubDate(item.published)
    fe.updated(item.updated)
    summary = s(item.summary) or s(item.title)
    fe.summary(summary)  # Atom: type="text"
    # RSS readers treat <description> as HTML: the plain-text summary must stay text there.
    fe.description(html.escape(summary, quote=False))
    if item.content_html is not None:
        fe.content(s(item.content_html), type="html")
    if item.image is not None:
        image = Image(s(item.image.url), s(item.image.type), item.image.length, s(item.image.caption))
        link = {"href": image.url, "rel": "enclosure", "type": image.type}
        if image.length:  # Atom: omit an unknown length; RSS: feedgen writes "0" (allowed)
            link["length"] = str(image.length)
        fe.link(dict(link))
        fe.syn.links.append(link)
        fe.syn.image = image
    if item.embargo_until is not None:
        fe.rights(embargo_rights(item.embargo_until))  # Atom only; RSS gets dc:rights
        fe.syn.embargo_until = item.embargo_until


def _with_stylesheet(body: bytes, href: str) -> bytes:
    head = b'<?xml version="1.0" encoding="UTF-8"?>\n'
    if href:
        head += f'<?xml-stylesheet type="text/xsl" href="{quote(href, safe="/:.-_~")}"?>\n'.encode()
    return head + body


# Pre-serialised entries (``entry_piece``): feedgen still writes every byte. An entry is cut out
# of a one-entry document, and a document is written around one placeholder entry that the
# pieces then replace, so the bytes are those feedgen writes for the whole document at once
# (feedgen declares every namespace on the root, whatever the entries hold).
_XML_ENTRY = {"rss": (b"<item", b"</item>"), "atom": (b"<entry", b"</entry>")}
_TAG_END = re.compile(rb"[\s>]")
_PLACEHOLDER = FeedItem(
    id="urn:syndicate:placeholder", url="", title="", summary="", content_html=None, author_name="",
    author_url="", categories=[], published=datetime(1970, 1, 1, tzinfo=UTC), updated=datetime(1970, 1, 1, tzinfo=UTC),
)  # fmt: skip
_JSON_SLOT = "\x00syndicate:entries\x00"
_JSON_ITEM_SEPARATOR = ",\n  "  # items sit two levels deep in the indented document


def _xml_bytes(fg: FeedGenerator, fmt: str) -> bytes:
    return fg.rss_str(xml_declaration=False) if fmt == "rss" else fg.atom_str(xml_declaration=False)


def _one_entry(fg: FeedGenerator, fmt: str) -> tuple[bytes, int, int]:
    body = _xml_bytes(fg, fmt)
    start, end = _XML_ENTRY[fmt]
    at = body.index(start)  # the first entry's start tag, with or without attributes (xml:lang)
    while not _TAG_END.match(body, at + len(start)):
        at = body.index(start, at + 1)
    return body, at, body.rindex(end) + len(end)


_PIECE_CHANNEL = FeedDoc(
    id="urn:syndicate:piece", title="piece", subtitle="piece", language="", publisher="",
    home_url="urn:syndicate:piece", self_url="urn:syndicate:piece", updated=datetime(1970, 1, 1, tzinfo=UTC), items=[],
)  # fmt: skip


def entry_piece(item: FeedItem, fmt: str) -> str:
    """``item`` serialised as it appears inside a document of format ``fmt``."""
    if fmt == "json":
        return _json_text(_json_item(item)).replace("\n", "\n  ")
    fg = _channel(_PIECE_CHANNEL)
    _add_entry(fg, item)
    body, start, end = _one_entry(fg, fmt)
    return body[start:end].decode("utf-8")


def _write_xml(doc: FeedDoc, fmt: str) -> bytes:
    if doc.entries is None:
        return _with_stylesheet(_xml_bytes(_generator(doc), fmt), doc.stylesheet)
    fg = _channel(doc)
    _add_entry(fg, _PLACEHOLDER)
    body, start, end = _one_entry(fg, fmt)
    joined = "".join(doc.entries).encode("utf-8")
    return _with_stylesheet(body[:start] + joined + body[end:], doc.stylesheet)


def write_rss(doc: FeedDoc) -> bytes:
    return _write_xml(doc, "rss")


def write_atom(doc: FeedDoc) -> bytes:
    return _write_xml(doc, "atom")


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


# Longer than our ~60 lines on purpose: JSON Feed 1.1 written field by field, in the spec's order.
def write_json(doc: FeedDoc) -> bytes:
    """JSON Feed 1.1. RFC 5005 relations have no JSON Feed field (only ``next_url``), so they
    travel in the ``_rfc5005`` extension object, as the spec allows for extensions."""
    links = dict(doc.links)
    feed: dict[str, object] = {
        "version": JSON_FEED_VERSION,
        "title": s(doc.title),
        "home_page_url": s(doc.home_url),
        "feed_url": s(doc.self_url),
        "description": s(doc.subtitle),
        "language": s(doc.language),
        "authors": [{"name": s(doc.publisher) or GENERATOR}],
    }
    if doc.icon:
        feed["favicon"] = s(doc.icon)
    if doc.logo:
        feed["icon"] = s(doc.logo)
    if "next" in links:
        feed["next_url"] = s(links["next"])
    if doc.hub:
        feed["hubs"] = [{"type": "WebSub", "url": s(doc.hub)}]
    if links:
        feed["_rfc5005"] = {
            "about": "https://www.rfc-editor.org/rfc/rfc5005",
            **{rel.replace("-", "_"): s(href) for rel, href in links.items()},
            **({"archive": True} if doc.archive else {}),
        }
    if doc.entries:
        feed["items"] = [_JSON_SLOT]
        shell = _json_text(feed)
        return shell.replace(json.dumps(_JSON_SLOT), _JSON_ITEM_SEPARATOR.join(doc.entries), 1).encode("utf-8")
    feed["items"] = [] if doc.entries is not None else [_json_item(item) for item in doc.items]
    return _json_text(feed).encode("utf-8")


def _json_text(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=1)
    # <, > and & only occur inside JSON strings: escaping them keeps the document safe to embed
    # in a <script> block by a careless consumer, at no cost to any JSON parser.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _json_item(item: FeedItem) -> dict[str, object]:
    out: dict[str, object] = {
        "id": s(item.id),
        "url": s(item.url),
        "title": s(item.title),
        "summary": s(item.summary),
        "date_published": _rfc3339(item.published),
        "date_modified": _rfc3339(item.updated),
    }
    if item.language:
        out["language"] = s(item.language)
    if item.content_html is not None:
        out["content_html"] = s(item.content_html)
    else:
        out["content_text"] = s(item.summary) or s(item.title)
    if item.author_name:
        author = {"name": s(item.author_name)}
        if item.author_url:
            author["url"] = s(item.author_url)
        out["authors"] = [author]
    if item.categories:
        out["tags"] = [s(c.label) for c in item.categories if c.label]
    if item.image is not None:
        out["image"] = s(item.image.url)
        attachment = {"url": s(item.image.url), "mime_type": s(item.image.type)}
        if item.image.length:
            attachment["size_in_bytes"] = item.image.length
        if item.image.caption:
            attachment["title"] = s(item.image.caption)
        out["attachments"] = [attachment]
    if item.embargo_until is not None:
        out["_syndicate"] = embargo_json(item.embargo_until)
    return out


WRITERS = {"rss": write_rss, "atom": write_atom, "json": write_json}


def write(doc: FeedDoc, fmt: str) -> bytes:
    """The document in ``fmt`` ('rss', 'atom' or 'json')."""
    return WRITERS[fmt](doc)
