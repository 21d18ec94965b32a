"""Checks shared by the feed tests: parse a served feed the way readers and validators do, and
assert the rules of its format (RSS 2.0 + Best Practices, Atom / RFC 4287, JSON Feed 1.1)."""

from __future__ import annotations

import email.utils
import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
from lxml import etree, html

SCHEMAS = Path(__file__).parent / "data" / "schemas"
ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
NS = {"atom": ATOM_NS, "media": MEDIA_NS, "content": CONTENT_NS}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
CONTENT_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
_ATOM_SCHEMA = None


def atom_schema() -> etree.RelaxNG:
    """RFC 4287 Appendix B as RELAX NG (a copy in tests/data, so CI needs no ../shared)."""
    global _ATOM_SCHEMA
    if _ATOM_SCHEMA is None:
        _ATOM_SCHEMA = etree.RelaxNG(etree.parse(str(SCHEMAS / "atom.rng")))
    return _ATOM_SCHEMA


def strict_xml(body: bytes) -> etree._Element:
    """A strict, non-recovering parse (what a validator does)."""
    parser = etree.XMLParser(recover=False, resolve_entities=False, no_network=True)
    return etree.fromstring(body, parser)


def is_absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def html_urls(fragment: str) -> list[str]:
    """Every href / src / cite / srcset URL inside an HTML fragment."""
    if not fragment.strip():
        return []
    tree = html.fragment_fromstring(fragment, create_parent="div")
    urls = []
    for el in tree.iter():
        for attr in ("href", "src", "cite"):
            if el.get(attr) is not None:
                urls.append(el.get(attr))
        if el.get("srcset"):
            urls += [c.strip().split()[0] for c in el.get("srcset").split(",") if c.strip()]
    return urls


def check_feedparser(body: bytes) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def check_rss(body: bytes) -> list[str]:
    """RSS 2.0 rules that readers rely on; returns the item guids."""
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet type="text/xsl" href="')
    check_feedparser(body)
    root = strict_xml(body)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    for name in ("title", "link", "description"):
        assert (channel.findtext(name) or "").strip(), f"channel/{name} is required"
    assert is_absolute(channel.findtext("link"))
    selfs = channel.findall("atom:link[@rel='self']", NS)
    assert len(selfs) == 1 and is_absolute(selfs[0].get("href"))
    for link in channel.findall("atom:link", NS):
        assert is_absolute(link.get("href")), link.get("href")
    assert int(channel.findtext("ttl")) >= 0
    for name in ("lastBuildDate", "pubDate"):
        if channel.find(name) is not None:
            assert email.utils.parsedate_to_datetime(channel.findtext(name)).tzinfo is not None
    guids = []
    for item in channel.findall("item"):
        assert item.findtext("title") or item.findtext("description")
        assert is_absolute(item.findtext("link"))
        guid = item.find("guid")
        assert guid is not None and guid.get("isPermaLink") == "false" and guid.text
        guids.append(guid.text)
        when = email.utils.parsedate_to_datetime(item.findtext("pubDate"))
        assert when.tzinfo is not None and item.findtext("pubDate").endswith("+0000")
        enclosures = item.findall("enclosure")
        assert len(enclosures) <= 1, "at most one enclosure per item"
        for enc in enclosures:
            assert is_absolute(enc.get("url")) and enc.get("type") and enc.get("length").isdigit()
            media = item.find("media:content", NS)
            assert media is not None and media.get("url") == enc.get("url")
        for cat in item.findall("category"):
            assert cat.text and is_absolute(cat.get("domain"))
        encoded = item.findtext("content:encoded", namespaces=NS)
        if encoded is not None:
            for url in html_urls(encoded):
                assert is_absolute(url) or url.startswith("mailto:"), url
    assert len(guids) == len(set(guids)), "guids must be unique"
    return guids


def check_atom(body: bytes) -> list[str]:
    """RFC 4287: the RELAX NG schema, plus the rules it cannot express; returns entry ids."""
    assert b'<?xml-stylesheet type="text/xsl" href="' in body.split(b"<feed", 1)[0]
    check_feedparser(body)
    root = strict_xml(body)
    schema = atom_schema()
    assert schema.validate(root), schema.error_log
    assert RFC3339.match(root.findtext("atom:updated", namespaces=NS))
    assert root.find("atom:author/atom:name", NS) is not None
    assert root.find("atom:link[@rel='self']", NS) is not None
    for link in root.iter(f"{{{ATOM_NS}}}link"):
        assert is_absolute(link.get("href")), link.get("href")
    ids = []
    for entry in root.findall("atom:entry", NS):
        ids.append(entry.findtext("atom:id", namespaces=NS))
        for name in ("updated", "published"):
            assert RFC3339.match(entry.findtext(f"atom:{name}", namespaces=NS))
        # RFC 4287 4.1.1: at most one rel=alternate per (type, hreflang); the schema cannot say so.
        alternates = [(x.get("type"), x.get("hreflang")) for x in entry.findall("atom:link", NS)
                      if x.get("rel", "alternate") == "alternate"]  # fmt: skip
        assert len(alternates) == len(set(alternates)) == 1, alternates
        has_content = entry.find("atom:content", NS) is not None
        assert has_content or entry.find("atom:link[@rel='alternate']", NS) is not None
        content = entry.find("atom:content", NS)
        if content is not None:
            assert content.get("type") == "html"
            for url in html_urls(content.text or ""):
                assert is_absolute(url) or url.startswith("mailto:"), url
    assert len(ids) == len(set(ids)), "ids must be unique"
    return ids


def check_json(body: bytes) -> list[str]:
    """JSON Feed 1.1 required keys and types; returns item ids."""
    feed = json.loads(body)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    assert isinstance(feed["items"], list)
    for key in ("home_page_url", "feed_url"):
        assert is_absolute(feed[key])
    ids = []
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        ids.append(item["id"])
        assert "content_html" in item or "content_text" in item
        assert is_absolute(item["url"])
        for key in ("date_published", "date_modified"):
            assert RFC3339.match(item[key]) and datetime.fromisoformat(item[key]).tzinfo is not None
        for url in html_urls(item.get("content_html", "")):
            assert is_absolute(url) or url.startswith("mailto:"), url
    assert len(ids) == len(set(ids))
    return ids


CHECKS = {"rss": check_rss, "atom": check_atom, "json": check_json}


def check(fmt: str, response) -> list[str]:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == CONTENT_TYPES[fmt]
    return CHECKS[fmt](response.data)


def links(fmt: str, body: bytes) -> dict[str, str]:
    """The feed-level relations of a document (self, first, next, prev-archive, ...)."""
    if fmt == "json":
        feed = json.loads(body)
        out = {k.replace("_", "-"): v for k, v in feed.get("_rfc5005", {}).items() if isinstance(v, str)}
        out["self"] = feed["feed_url"]
        return out
    root = strict_xml(body)
    parent = root.find("channel") if fmt == "rss" else root
    return {link.get("rel"): link.get("href") for link in parent.findall("atom:link", NS)}
