"""RFC 5005 archived feeds: a partner walks from the subscription document back through
``prev-archive`` links and gets every visible article of the scope exactly once; archive
documents never change when new articles are published."""

from __future__ import annotations

import json

import feedparser
import pytest

from syndicate.db import get_store
from syndicate.models import Scope
from syndicate.validation import article_record
from tests.feedcheck import check, links

SUFFIX = {"rss": "feed/", "atom": "feed/atom/", "json": "feed/json/"}
BASE = "https://news.example.com"


def visible_guids(app, scope: Scope) -> set[str]:
    with app.app_context():
        store = get_store()
        now = store.clock()
        out = set()
        for article in store.export_rows():
            if article.status != "published" or article.published > now:
                continue
            if scope.kind == "category" and (article.category is None or article.category.slug != scope.value):
                continue
            out.add(article.guid)
        return out


def walk(client, start: str, fmt: str) -> tuple[list[str], list[str]]:
    """Follow prev-archive from ``start``; returns (ids in walk order, documents visited).

    The subscription document and the newest archive may share up to FEED_ITEMS - 1 articles
    (the subscription document always holds the newest FEED_ITEMS, the incomplete chunk among
    them): a client merges by id, as RFC 5005 section 4 says it should, so we dedupe only
    between the subscription document and the archives, never inside the archives.
    """
    response = client.get(start)
    current_ids = check(fmt, response)
    rel = links(fmt, response.data)
    archive_ids: list[str] = []
    visited = [start]
    while "prev-archive" in rel:
        path = rel["prev-archive"].removeprefix(BASE)
        response = client.get(path)
        archive_ids += check(fmt, response)
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        rel = links(fmt, response.data)
        assert rel["current"] == BASE + start
        visited.append(path)
    return current_ids, archive_ids, visited


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_walking_the_site_archive_yields_every_article_exactly_once(demo_app, fmt):
    client = demo_app.test_client()
    current_ids, archive_ids, visited = walk(client, "/" + SUFFIX[fmt], fmt)
    assert len(archive_ids) == len(set(archive_ids)), "no article is in two archives"
    overlap = set(current_ids) & set(archive_ids)
    assert len(overlap) < 20
    assert set(current_ids) | set(archive_ids) == visible_guids(demo_app, Scope("site"))
    assert visited[-1].endswith("/archive/1/")


def test_walking_a_category_archive(demo_app):
    client = demo_app.test_client()
    with demo_app.app_context():
        slug = get_store().terms("category")[0].slug
    current_ids, archive_ids, visited = walk(client, f"/category/{slug}/feed/atom/", "atom")
    assert len(visited) > 2
    assert len(archive_ids) == len(set(archive_ids))
    assert set(current_ids) | set(archive_ids) == visible_guids(demo_app, Scope("category", slug))


def test_archive_links_chain_both_ways(demo_app):
    client = demo_app.test_client()
    newest = links("atom", client.get("/feed/atom/").data)["prev-archive"].removeprefix(BASE)
    k = int(newest.rstrip("/").rsplit("/", 1)[1])
    rel = links("atom", client.get(newest).data)
    assert "next-archive" not in rel, "no successor yet"
    assert rel["prev-archive"] == f"{BASE}/feed/atom/archive/{k - 1}/"
    older = links("atom", client.get(f"/feed/atom/archive/{k - 1}/").data)
    assert older["next-archive"] == BASE + newest
    first = links("atom", client.get("/feed/atom/archive/1/").data)
    assert "prev-archive" not in first and first["next-archive"] == f"{BASE}/feed/atom/archive/2/"
    # JSON Feed carries the relations in its _rfc5005 extension.
    assert json.loads(client.get("/feed/json/archive/1/").data)["_rfc5005"]["archive"] is True


def archives(client, fmt: str) -> dict[str, bytes]:
    newest = links(fmt, client.get("/" + SUFFIX[fmt]).data)["prev-archive"].removeprefix(BASE)
    k = int(newest.rstrip("/").rsplit("/", 1)[1])
    out = {}
    for n in range(1, k + 1):
        path = f"/{SUFFIX[fmt]}archive/{n}/"
        response = client.get(path)
        out[path] = (response.data, response.headers["ETag"])
    return out


def test_archives_do_not_change_when_articles_are_published(demo_app):
    client = demo_app.test_client()
    size = demo_app.config["FEED_ITEMS"]
    with demo_app.app_context():
        store = get_store()
        now = store.clock()
        missing = size - store.page(Scope("site"), 1, size).total % size  # until the next archive is complete

        def publish(count: int) -> None:
            for n in range(count):
                store.save_article(article_record({"title": f"Fresh news {n}", "body": "<p>x</p>"}, now=now))

        for fmt in ("rss", "atom"):
            before = archives(client, fmt)
            newest = f"/{SUFFIX[fmt]}archive/{len(before)}/"
            # Not yet enough for a new archive: every archive is byte-for-byte the same.
            publish(missing - 1)
            assert archives(client, fmt) == before
            # The publication that completes the next archive changes only one thing: the newest
            # archive gains its next-archive link. Its entries, and every older archive, stay.
            publish(1)
            after = archives(client, fmt)
            assert len(after) == len(before) + 1
            for path, stored in before.items():
                if path != newest:
                    assert after[path] == stored, path
            assert entry_ids(after[newest][0]) == entry_ids(before[newest][0])
            assert links(fmt, after[newest][0])["next-archive"] == f"{BASE}/{SUFFIX[fmt]}archive/{len(after)}/"
            missing = size


def entry_ids(body: bytes) -> list[str]:
    return [e.id for e in feedparser.parse(body).entries]
