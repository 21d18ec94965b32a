"""Revalidation never renders (issue 12, goal 3): a conditional GET for a page or feed that the
cache does not hold is answered 304 from a validator computed from what decides the bytes (the
key, the content stamp, the settings and code), and that validator changes whenever the bytes
would."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from syndicate.cache import response_cache
from syndicate.db import get_store
from syndicate.validation import article_record
from tests.conftest import make_app
from tests.test_feeds import publish, test_conditional_get_and_rfc3229_delta

PATHS = ("/", "/page/2/", "/category/world/", "/feed/", "/feed/atom/", "/feed/json/", "/feed/archive/1/",
         "/category/world/feed/atom/", "/search?q=the")  # fmt: skip


def cached(path):
    return make_app(path, CACHE_TYPE="SimpleCache")


@pytest.mark.parametrize("path", PATHS)
def test_a_process_that_never_rendered_a_page_answers_its_revalidation(db_copy, path):
    first, second = cached(db_copy), cached(db_copy)
    full = first.test_client().get(path)
    assert full.status_code == 200
    answer = second.test_client().get(path, headers={"If-None-Match": full.headers["ETag"]})
    assert answer.status_code == 304 and answer.data == b""
    assert answer.headers["X-Cache"] == "revalidated"
    assert response_cache(second).renders == 0  # nothing rendered
    for name in ("ETag", "Cache-Control", "Vary"):  # what the 200 carries (RFC 9110 §15.4.5)
        assert answer.headers[name] == full.headers[name], name
    # A browser's view of a feed is another representation: another validator, no 304.
    if "feed" in path and "json" not in path:
        browser = second.test_client().get(path, headers={"If-None-Match": full.headers["ETag"], "Accept": "text/html"})
        assert browser.status_code == 200


def test_a_wrong_or_old_validator_gets_the_page(db_copy):
    app = cached(db_copy)
    client = app.test_client()
    etag = client.get("/feed/").headers["ETag"]
    other = client.get("/", headers={"If-None-Match": etag})  # another page's validator
    assert other.status_code == 200 and b"<html" in other.data
    fresh = cached(db_copy).test_client()
    assert fresh.get("/feed/", headers={"If-None-Match": '"abc"'}).status_code == 200


def _etags(client, paths):
    return {p: client.get(p).headers["ETag"] for p in paths}


def test_the_validator_changes_whenever_the_bytes_would(db_copy):
    app = cached(db_copy)
    client = app.test_client()
    watched = ("/", "/feed/", "/category/world/")
    before = _etags(client, watched)

    # A new article in scope.
    new = publish(app, "A new article for the validators")
    after_new = _etags(client, watched)
    assert all(after_new[p] != before[p] for p in watched)
    stale = client.get("/", headers={"If-None-Match": before["/"]})
    assert stale.status_code == 200 and b"A new article for the validators" in stale.data

    # An edit of a shown article.
    with app.app_context():
        store = get_store()
        fields = {"guid": new.guid, "title": "An edited title", "body": "<p>New.</p>", "category": "World"}
        record = article_record({**fields, "published": new.published.isoformat()}, now=store.clock())
        store.save_article(record)
    after_edit = _etags(client, watched)
    assert all(after_edit[p] != after_new[p] for p in watched)
    assert b"An edited title" in client.get("/", headers={"If-None-Match": after_new["/"]}).data

    # A term rename.
    with app.app_context():
        get_store().save_term("category", "world", "Whole World")
    after_rename = _etags(client, watched)
    assert all(after_rename[p] != after_edit[p] for p in watched)
    assert "Whole World" in client.get("/category/world/", headers={"If-None-Match": after_edit["/"]}).text

    # A scheduled article falling due: no write happens, the stamp still moves.
    publish(app, "Scheduled for the validators", when=_now(app) + timedelta(seconds=1.5))
    scheduled = _etags(client, watched)
    time.sleep(2.0)
    due = client.get("/", headers={"If-None-Match": scheduled["/"]})
    assert due.status_code == 200 and b"Scheduled for the validators" in due.data


def _now(app):
    with app.app_context():
        return get_store().clock()


def test_rfc3229_deltas_work_through_the_cache(db_copy):
    """The feeds' delta encoding names a version by its ETag: the cache's validators keep the
    shape it reads (identity, newest update, digest)."""
    test_conditional_get_and_rfc3229_delta(cached(db_copy))
