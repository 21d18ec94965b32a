"""A write invalidates only what it changes: what each cached page and feed shows is kept with
it (``showing.py`` keys), every write records which keys it changed, and an entry is rendered
again only when one of its own keys moved. Every answer stays current (the zero-stale
property test checks that byte for byte); these check that the rest stays warm."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from syndicate.cache import response_cache
from syndicate.validation import article_record
from tests.conftest import make_app


@pytest.fixture
def site(db_copy):
    app = make_app(db_copy, CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=500)
    return app, app.test_client()


def _sections(writer) -> tuple[str, str]:
    rows = writer.conn.execute(
        "SELECT c.slug FROM categories c JOIN articles a ON a.category_id = c.id"
        " GROUP BY c.id HAVING count(*) > 5 ORDER BY c.slug LIMIT 2"
    ).fetchall()
    return rows[0][0], rows[1][0]


def _warm(client, urls) -> dict[str, str]:
    etags = {}
    for url in urls:
        assert client.get(url).status_code == 200, url
        response = client.get(url)
        assert response.headers["X-Cache"] == "hit", url
        etags[url] = response.headers["ETag"]
    return etags


def test_a_new_article_leaves_other_sections_warm(site, writer):
    app, client = site
    ours, other = _sections(writer)
    name = writer.conn.execute("SELECT name FROM categories WHERE slug = ?", (ours,)).fetchone()[0]
    touched = ["/", "/feed/", f"/category/{ours}/", f"/category/{ours}/feed/atom/"]
    untouched = [f"/category/{other}/", f"/category/{other}/feed/", f"/category/{other}/page/2/"]
    etags = _warm(client, touched + untouched)
    renders = response_cache(app).renders
    data = {"title": "Flood barrier holds overnight", "body": "<p>It held.</p>", "category": name}
    data["published"] = datetime.now(UTC).isoformat()
    writer.save_article(article_record(data, now=datetime.now(UTC)))
    for url in touched:  # on the very next request
        response = client.get(url)
        assert response.headers["X-Cache"] == "miss" and b"Flood barrier holds overnight" in response.data, url
    assert response_cache(app).renders == renders + len(touched)
    for url in untouched:
        assert client.get(url).headers["X-Cache"] == "hit", url
        revalidated = client.get(url, headers={"If-None-Match": etags[url]})
        assert revalidated.status_code == 304, url
    assert response_cache(app).renders == renders + len(touched)


def test_a_typo_fix_re_renders_what_shows_the_article_only(site, writer):
    app, client = site
    row = writer.conn.execute(
        "SELECT guid FROM articles WHERE status = 'published' AND published <= ?"
        " ORDER BY published DESC LIMIT 1 OFFSET 3",
        (writer.now(),),
    ).fetchone()
    article = writer.article_by_guid(row["guid"])
    own = article.path
    shows_it = ["/", "/feed/", own]
    elsewhere = ["/page/4/", "/page/9/", "/feed/?page=3"]
    _warm(client, shows_it + elsewhere)
    renders = response_cache(app).renders
    record = article_record(
        {
            "guid": article.guid,
            "title": article.title + " (corrected)",
            "slug": article.slug,
            "body": article.body,
            "category": article.category.name if article.category else None,
            "author": article.author.name if article.author else None,
            "tags": [t.name for t in article.tags],
            "summary": article.summary,
            "published": article.published.isoformat(),
            "status": "published",
        },
        now=datetime.now(UTC),
    )
    writer.save_article(record)
    for url in shows_it:
        response = client.get(url)
        assert response.headers["X-Cache"] == "miss" and b"(corrected)" in response.data, url
    for url in elsewhere:
        assert client.get(url).headers["X-Cache"] == "hit", url
    assert response_cache(app).renders == renders + len(shows_it)


def test_a_scheduled_article_falling_due_and_a_bulk_import_renew_everything(site, writer):
    app, client = site
    _ours, other = _sections(writer)
    url = f"/category/{other}/"
    _warm(client, [url])
    data = {"title": "Later", "body": "<p>Later.</p>", "category": "World"}
    data["published"] = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    writer.save_article(article_record(data, now=datetime.now(UTC)))
    assert client.get(url).headers["X-Cache"] == "hit"  # nothing visible changed yet
    writer.save_articles([article_record({**data, "title": "Bulk"}, now=datetime.now(UTC))])
    assert client.get(url).headers["X-Cache"] == "miss"  # a batch changes everything


def test_a_scheduled_article_shows_on_every_listing_when_due(site, writer):
    app, client = site
    urls = ["/", "/feed/", "/category/world/", "/feed/json/"]
    _warm(client, urls)
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    data = {"title": "Embargo lifts on the harbour report", "body": "<p>Now.</p>", "category": "World"}
    writer.save_article(article_record({**data, "published": due.isoformat()}, now=datetime.now(UTC)))
    for url in urls:
        assert b"Embargo lifts" not in client.get(url).data, url
    time.sleep(max(0.0, due.timestamp() - time.time()) + 0.05)
    for url in urls:  # no write happened: the due time alone renews them
        response = client.get(url)
        assert response.headers["X-Cache"] == "miss" and b"Embargo lifts on the harbour report" in response.data, url


def test_older_archives_stay_cached_until_an_older_article_changes(site, writer):
    app, client = site
    archives = ["/feed/archive/1/", "/feed/atom/archive/2/"]
    _warm(client, archives)
    data = {"title": "Newest of all", "body": "<p>Now.</p>", "category": "World"}
    writer.save_article(article_record({**data, "published": datetime.now(UTC).isoformat()}, now=datetime.now(UTC)))
    for url in archives:  # an article at the newest end moves no complete archive but the newest
        assert client.get(url).headers["X-Cache"] == "hit", url
    oldest = writer.conn.execute("SELECT min(published) FROM articles").fetchone()[0]
    backdated = datetime.fromisoformat(oldest) - timedelta(days=1)
    writer.save_article(
        article_record(
            {**data, "title": "Found in the vault", "published": backdated.isoformat()}, now=datetime.now(UTC)
        )
    )
    for url in archives:  # everything after it shifts by one
        response = client.get(url)
        assert response.headers["X-Cache"] == "miss", url
    assert b"Found in the vault" in client.get("/feed/archive/1/").data
