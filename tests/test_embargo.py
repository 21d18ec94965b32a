"""Embargoes: before ``embargo_until`` an article is in partner feeds only (marked), and no
public surface shows it to a reader without a credential; at that moment it appears everywhere
with no write, caches included. ``embargo_until`` goes through the API, imports and export."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree

from syndicate import websub
from syndicate.db import get_store
from syndicate.validation import article_record

from . import feedcheck
from .api_support import WRITE, api_app, auth
from .conftest import SITE_URL, make_app
from .test_websub import Hub

WORD = "zanzibarite"  # in the embargoed article only
PARTNER = "synp_test-partner-secret"
SYN = "{urn:syndicate:feed-extensions:1}"
ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
FEED_SCOPES = ("/", "/category/world/", "/tag/talks/", "/author/amira-haddad/")
FORMATS = ("feed/", "feed/atom/", "feed/json/")
LEAD = 12  # seconds until the embargo ends: time for every "before" check (~3 s), then the wait


def public_urls(article_path: str) -> list[str]:
    """Every public surface an article could show up on."""
    year, month, day = article_path.split("/")[1:4]
    urls = ["/", "/page/2/", "/category/world/", "/tag/talks/", "/author/amira-haddad/", f"/{year}/",
            f"/{year}/{month}/", f"/{year}/{month}/{day}/", article_path, f"/search?q={WORD}",
            "/sitemap.xml", "/sitemap-1.xml", "/news-sitemap.xml", "/feeds.opml", "/robots.txt",
            "/api/v1/articles", "/api/v1/articles?status=scheduled"]  # fmt: skip
    for scope in FEED_SCOPES:
        for fmt in FORMATS:
            urls += [scope + fmt, scope + fmt + "?page=2", scope + fmt + "archive/1/", scope + fmt + "archive/2/"]
    urls += [f"/search/{fmt}?q={WORD}" for fmt in FORMATS]
    return urls


@pytest.fixture
def newsroom(tmp_path):
    """A cached site (the response cache on) with five public articles and one under embargo
    for LEAD seconds, plus a partner."""
    app = make_app(tmp_path / "e.db", CACHE_TYPE="SimpleCache", FEED_ITEMS=2, PER_PAGE=2)
    with app.app_context():
        store = get_store()
        now = store.clock()
        base = {"category": "World", "tags": ["Talks"], "author": "Amira Haddad", "body": "<p>Delegates met.</p>"}
        for i in range(5):
            published = (now - timedelta(days=3, hours=i)).isoformat()
            store.save_article(article_record({**base, "title": f"Public story {i}", "published": published}, now=now))
        until = now + timedelta(seconds=LEAD)
        record = article_record(
            {**base, "title": f"Geneva accord {WORD}", "body": f"<p>The {WORD} text.</p>",
             "published": (now - timedelta(hours=2)).isoformat(), "embargo_until": until.isoformat()},
            now=now,
        )  # fmt: skip
        embargoed = store.save_article(record)[0]
        store.create_partner("agency", PARTNER)
    return app, embargoed, until


def leaks(response, article) -> list[str]:
    """What of the article a response shows (a search echoes its query, so WORD is not counted
    where the URL asked for it)."""
    text = response.data.decode("utf-8", "replace")
    asked = WORD in response.request.url
    return [s for s in (WORD, article.slug, article.guid, "Geneva accord") if s in text and not (asked and s == WORD)]


def test_no_public_surface_shows_an_embargoed_article_until_it_ends_then_all_do_without_a_write(newsroom):
    app, article, until = newsroom
    partner, public = app.test_client(), app.test_client()
    urls = public_urls(article.path)
    # The partner goes first on every URL: if anything it got were stored for the public, the
    # public reader below would see it.
    seen_by_partner = set()
    for url in urls:
        response = partner.get(url, headers=auth(PARTNER))
        if leaks(response, article):
            seen_by_partner.add(url)
    assert {s + f for s in FEED_SCOPES for f in FORMATS} <= seen_by_partner
    assert not {u for u in seen_by_partner if "archive" in u}  # archives: what the public has
    before = {}
    for url in urls:
        response = public.get(url)
        assert datetime.now(UTC) < until, "the checks took longer than the embargo: raise LEAD"
        assert not leaks(response, article), f"{url} shows the embargoed article"
        before[url] = response
    assert before[article.path].status_code == 404
    assert before["/api/v1/articles"].status_code == 401

    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 1.1)
    after = {url: public.get(url) for url in urls}
    assert after[article.path].status_code == 200
    for url in ["/", "/category/world/", "/tag/talks/", "/author/amira-haddad/", f"/search?q={WORD}",
                "/sitemap-1.xml", "/news-sitemap.xml", *(s + f for s in FEED_SCOPES for f in FORMATS),
                *(f"/search/{f}?q={WORD}" for f in FORMATS)]:  # fmt: skip
        assert leaks(after[url], article), f"{url} does not show the article once its embargo ended"
        assert b"syndicate:feed-extensions" not in after[url].data  # no embargo mark any more
    # It is published at the embargo's end, so the newest: archive documents keep their entries
    # (their only change is a next-archive link once a newer archive completes).
    for url in [u for u in urls if "archive" in u]:
        assert after[url].status_code == before[url].status_code
        assert re.findall(rb"urn:uuid:[0-9a-f-]+", after[url].data) == re.findall(
            rb"urn:uuid:[0-9a-f-]+", before[url].data
        )


def test_partner_feeds_mark_the_embargo_in_every_format(newsroom):
    app, article, until = newsroom
    client = app.test_client()
    stamp = until.astimezone(UTC).isoformat()
    atom = etree.fromstring(client.get("/feed/atom/", headers=auth(PARTNER)).data)
    entry = next(e for e in atom.iter(f"{ATOM}entry") if e.findtext(f"{ATOM}id") == article.guid)
    assert entry.find(f"{SYN}embargo").get("until") == stamp
    assert entry.findtext(f"{ATOM}rights") == f"Embargoed: not for publication before {stamp}."
    others = [e for e in atom.iter(f"{ATOM}entry") if e is not entry]
    assert others and all(e.find(f"{SYN}embargo") is None for e in others)
    rss = etree.fromstring(client.get("/feed/", headers=auth(PARTNER)).data)
    item = next(i for i in rss.iter("item") if i.findtext("guid") == article.guid)
    assert item.find(f"{SYN}embargo").get("until") == stamp
    assert item.findtext(f"{DC}rights").startswith("Embargoed: not for publication before")
    for fmt, path in (("rss", "/feed/"), ("atom", "/feed/atom/"), ("json", "/feed/json/")):
        # Still valid feeds (the Atom one against RFC 4287's RELAX NG schema), the article in each.
        assert article.guid in feedcheck.check(fmt, client.get(path, headers=auth(PARTNER))), fmt
    doc = json.loads(client.get("/feed/json/", headers=auth(PARTNER)).data)
    marked = [i for i in doc["items"] if "_syndicate" in i]
    assert [i["id"] for i in marked] == [article.guid]
    assert marked[0]["_syndicate"]["embargo_until"] == stamp


def test_the_api_takes_embargo_until_and_moves_published_to_it(tmp_path):
    app = api_app(tmp_path / "api.db")
    client = app.test_client()
    until = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)
    body = {"title": "Under embargo", "category": "world", "published": "2026-01-01T00:00:00Z",
            "embargo_until": until.isoformat()}  # fmt: skip
    created = client.post("/api/v1/articles", json=body, headers=auth(WRITE))
    assert created.status_code == 201, created.json
    assert created.json["embargo_until"] == until.isoformat()
    assert created.json["published"] == until.isoformat() and created.json["scheduled"] is True
    # Moving the embargo of an article not yet public moves its publication along.
    sooner = until - timedelta(hours=3)
    ref = f"/api/v1/articles/{created.json['id']}"
    moved = client.patch(ref, json={"embargo_until": sooner.isoformat()}, headers=auth(WRITE))
    assert moved.json["published"] == moved.json["embargo_until"] == sooner.isoformat()
    put = client.put(ref, json={"title": "Under embargo", "embargo_until": until.isoformat()}, headers=auth(WRITE))
    assert put.json["published"] == until.isoformat()
    plain = client.post("/api/v1/articles", json={"title": "Plain", "category": "world"}, headers=auth(WRITE))
    assert plain.json["embargo_until"] is None
    bad = client.post("/api/v1/articles", json={**body, "embargo_until": "2026-12-01T10:00:00"}, headers=auth(WRITE))
    assert bad.status_code == 422 and "embargo_until" in bad.json["fields"]
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    assert schema["ArticleInput"]["properties"]["embargo_until"]["format"] == "date-time"
    assert "embargo_until" in schema["Article"]["properties"]


def test_export_and_import_keep_embargoes(tmp_path):
    first = make_app(tmp_path / "a.db")
    until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    with first.app_context():
        store = get_store()
        store.save_article(article_record({"title": "Later", "embargo_until": until.isoformat()}, now=store.clock()))
        store.save_article(article_record({"title": "Now"}, now=store.clock()))
    out = tmp_path / "export.jsonl"
    assert first.test_cli_runner().invoke(args=["export", "-o", str(out)]).exit_code == 0
    assert f'"embargo_until": "{until.isoformat()}"' in out.read_text()
    second = make_app(tmp_path / "b.db")
    result = second.test_cli_runner().invoke(args=["import", str(out)])
    assert result.exit_code == 0, result.output
    again = tmp_path / "again.jsonl"
    assert second.test_cli_runner().invoke(args=["export", "-o", str(again)]).exit_code == 0
    assert again.read_bytes() == out.read_bytes()
    csv = tmp_path / "embargo.csv"
    csv.write_text(f"title,embargo_until\nFrom a spreadsheet,{until.isoformat()}\n")
    assert second.test_cli_runner().invoke(args=["import", str(csv)]).exit_code == 0
    with second.app_context():
        imported = [a for a in get_store().export_rows() if a.title == "From a spreadsheet"]
        assert imported[0].embargo_until == until and imported[0].published == until


def test_websub_is_pinged_when_the_embargo_ends_never_before(tmp_path):
    hub = Hub()
    app = api_app(tmp_path / "w.db", WEBSUB_HUB=hub.url, WEBSUB_BACKOFF=0.05, WEBSUB_SCHEDULE_POLL=0.2)
    try:
        until = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
        body = {"title": "Embargoed", "category": "world", "embargo_until": until.isoformat()}
        assert app.test_client().post("/api/v1/articles", json=body, headers=auth(WRITE)).status_code == 201
        assert websub.pinger(app).wait_idle(5)
        assert hub.pinged() == []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and f"{SITE_URL}/category/world/feed/" not in hub.pinged():
            time.sleep(0.1)
        assert f"{SITE_URL}/category/world/feed/" in hub.pinged()
        assert datetime.now(UTC) >= until
    finally:
        websub.pinger(app).close()
        app.extensions["websub_schedule"].close()
        hub.close()


def test_one_public_predicate_for_code_holding_an_article_or_its_id(tmp_path):
    app = make_app(tmp_path / "v.db")
    with app.app_context():
        store = get_store()
        now = store.clock()
        public = store.save_article(article_record({"title": "Out"}, now=now))[0]
        until = (now + timedelta(hours=1)).isoformat()
        embargoed = store.save_article(article_record({"title": "Held", "embargo_until": until}, now=now))[0]
        draft = store.save_article(article_record({"title": "Draft", "status": "draft"}, now=now))[0]
        assert [store.is_public(a.id) for a in (public, embargoed, draft)] == [True, False, False]
        assert [a.is_public(now) for a in (public, embargoed, draft)] == [True, False, False]
        assert embargoed.under_embargo(now) and not embargoed.under_embargo(now + timedelta(hours=1))
        assert embargoed.is_public(now + timedelta(hours=1))


def test_the_fediverse_does_not_show_an_embargoed_article(tmp_path):
    import base64

    app = make_app(tmp_path / "ap.db", FEDIVERSE_ENABLED=True)
    with app.app_context():
        store = get_store()
        now = store.clock()
        store.save_article(article_record({"title": "Out now", "category": "World"}, now=now))
        until = (now + timedelta(hours=1)).isoformat()
        held = {"title": f"Held {WORD}", "category": "World", "embargo_until": until}
        article = store.save_article(article_record(held, now=now))[0]
    client = app.test_client()
    activity = {"Accept": "application/activity+json"}
    ref = base64.urlsafe_b64encode(article.guid.encode()).decode().rstrip("=")
    pages = [client.get(url, headers=activity) for url in
             ("/ap/site/outbox", "/ap/site/outbox?page=true", "/ap/category/world/outbox?page=true")]  # fmt: skip
    assert b"Out now" in pages[1].data  # the outbox works: the public article is there
    assert json.loads(pages[0].data)["totalItems"] == 1
    for response in pages:
        assert WORD.encode() not in response.data and article.slug.encode() not in response.data
    assert client.get(f"/ap/objects/{ref}", headers=activity).status_code == 404
    assert client.get(article.path, headers=activity).status_code == 404
