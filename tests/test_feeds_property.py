"""Property: whatever unicode an article carries (titles, bodies, captions, author names, image
URLs), once it went through the one input gate and the store, all three feed formats still
parse, strictly, and give its title back exactly as the store keeps it."""

from __future__ import annotations

import json

import feedparser
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from syndicate import content
from syndicate.db import get_store
from syndicate.validation import Invalid, article_record
from tests.feedcheck import NS, strict_xml

# Unicode everywhere, with the troublemakers made likely: XML-forbidden controls, lone
# surrogates, U+FFFE/FFFF, C1 controls, bidi overrides, astral characters, CDATA ends,
# entity-looking text and markup.
tricky = st.sampled_from(
    ["]]>", "<![CDATA[", "&amp;", "&#0;", "&#x1F;", "&bogus;", "<script>", "</title>", '"', "'", "\x00",
     "\x0b", "\x1b", "\ud800", "\udfff", "\ufffe", "\uffff", "\x85", "\u202e", "\u2028", "\U0001f600",
     "\U000e0041", "\r\n", "\t"]
)  # fmt: skip
text = st.lists(st.one_of(st.text(), tricky), max_size=6).map("".join)


@pytest.fixture(scope="module")
def prop_app(tmp_path_factory):
    from tests.conftest import make_app

    return make_app(tmp_path_factory.mktemp("prop") / "prop.db")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(title=text, body=text, caption=text, author=text, image_path=text, tag=text)
def test_any_text_survives_every_format(prop_app, title, body, caption, author, image_path, tag):
    data = {
        "guid": "urn:uuid:00000000-0000-4000-8000-000000000001",  # one article, rewritten each time
        "title": title,
        "body": f"<p>{body}</p><img src='{image_path}' alt='{caption}'><a href='{body}'>{author}</a>",
        "image_url": "https://img.example.com/" + image_path,
        "image_caption": caption,
        "author": author,
        "tags": [tag],
    }
    with prop_app.app_context():
        store = get_store()
        try:
            record = article_record(data, now=store.clock())
        except Invalid:
            # Refused at the gate (empty title, no letter in a name, bad URL): nothing to render.
            # Keep the example only if the rest can be stored without the bad fields.
            data.pop("author"), data.pop("tags")
            data["image_url"] = "https://img.example.com/lead.jpg"
            try:
                record = article_record(data, now=store.clock())
            except Invalid:
                assume(False)
        store.save_article(record)
    expected = content.clean_text(title)
    client = prop_app.test_client()

    rss = client.get("/feed/")
    assert feedparser.parse(rss.data).bozo == 0
    assert strict_xml(rss.data).findtext("channel/item/title") == expected

    atom = client.get("/feed/atom/")
    assert feedparser.parse(atom.data).bozo == 0
    assert strict_xml(atom.data).findtext("atom:entry/atom:title", namespaces=NS) == expected

    feed = json.loads(client.get("/feed/json/").data)
    assert feed["items"][0]["title"] == expected

    if record.author:
        slug = record.author[0]
        for suffix in ("feed/", "feed/atom/", "feed/json/"):
            response = client.get(f"/author/{slug}/{suffix}")
            assert response.status_code == 200
            if "json" in suffix:
                json.loads(response.data)
            else:
                strict_xml(response.data)
                assert feedparser.parse(response.data).bozo == 0


@settings(max_examples=40, deadline=None)
@given(title=text, summary=text, body=text, caption=text, author=text, label=text, query=text)
def test_writers_alone_cope_with_raw_text(title, summary, body, caption, author, label, query):
    """Defence in depth: text that never went through the gate (a search query echoed into the
    title, a row from before a sanitiser fix) still cannot break any writer."""
    from datetime import UTC, datetime

    from syndicate import feedwriters as fw

    when = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    item = fw.FeedItem(
        id="urn:uuid:1" + title, url="https://news.example.com/a/", title=title, summary=summary,
        content_html=body, author_name=author, author_url="https://news.example.com/author/x/",
        categories=[fw.Category("x", label, "https://news.example.com/tag/x/")], published=when, updated=when,
        image=fw.Image("https://img.example.com/" + caption, "image/jpeg", None, caption),
    )  # fmt: skip
    doc = fw.FeedDoc(
        id="https://news.example.com/feed/atom/", title="Search: " + query, subtitle=query, language="en",
        publisher="The Syndicate Times", home_url="https://news.example.com/",
        self_url="https://news.example.com/search/feed/", updated=when, items=[item],
        stylesheet="/static/feed.xsl", links=[("next", "https://news.example.com/search/feed/?page=2")],
    )  # fmt: skip
    for fmt in ("rss", "atom"):
        body_bytes = fw.write(doc, fmt)
        root = strict_xml(body_bytes)
        assert feedparser.parse(body_bytes).bozo == 0
        found = (
            root.findtext("channel/item/title")
            if fmt == "rss"
            else root.findtext("atom:entry/atom:title", namespaces=NS)
        )
        assert found == (content.xml_safe(title) or "(untitled)")
    parsed = json.loads(fw.write(doc, "json"))
    assert parsed["items"][0]["title"] == content.xml_safe(title)
