"""The change stamp: a write, a scheduled article falling due and a new day make entries
fresh; an unusable database goes to Flask instead of crashing the fast path."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from syndicate.cache import response_cache

from .views import publish


def test_a_write_makes_the_next_request_fresh(cached_app, client, writer):
    before = client.get("/_t/listing/")
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"
    article = publish(writer, "Breaking: the cache saw this at once")
    after = client.get("/_t/listing/")
    assert after.headers["X-Cache"] == "miss"
    assert b"Breaking: the cache saw this at once" in after.data
    assert after.headers["ETag"] != before.headers["ETag"]
    assert client.get("/_t/listing/", headers={"If-None-Match": before.headers["ETag"]}).status_code == 200
    # Unpublishing is a write too.
    publish(writer, "Breaking: the cache saw this at once", guid=article.guid, status="draft")
    gone = client.get("/_t/listing/")
    assert gone.headers["X-Cache"] == "miss" and b"Breaking" not in gone.data
    assert gone.data == before.data


def test_a_scheduled_article_appears_on_time_without_any_write(cached_app, client, writer):
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)  # 2 to 3 s ahead
    publish(writer, "Embargoed until a few seconds from now", published=due)
    early = client.get("/_t/listing/")
    assert b"Embargoed" not in early.data
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"
    time.sleep(max(0.0, due.timestamp() - time.time()) + 0.05)
    on_time = client.get("/_t/listing/")
    assert on_time.headers["X-Cache"] == "miss"
    assert b"Embargoed until a few seconds from now" in on_time.data


def test_a_new_day_makes_entries_fresh(cached_app, client):
    client.get("/_t/listing/")
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"
    cache = response_cache(cached_app)
    cache.content.clock = lambda: time.time() + 86400  # pages print today's date
    assert client.get("/_t/listing/").headers["X-Cache"] == "miss"
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"


def test_an_unusable_database_is_passed_to_flask_not_crashing_the_fast_path(cached_app, client, db_copy):
    assert client.get("/_t/listing/").status_code == 200
    response_cache(cached_app).content.reset_thread_store()
    for suffix in ("", "-wal", "-shm"):
        path = db_copy.with_name(db_copy.name + suffix)
        if path.exists():
            path.unlink()
    db_copy.write_bytes(b"this is not a database" * 100)
    cached_app.testing = False  # a real deployment: Flask answers 500, the middleware does not raise
    assert client.get("/_t/listing/").status_code == 500
    assert client.get("/healthz").status_code == 503
