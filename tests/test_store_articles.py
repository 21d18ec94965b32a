"""Writing and reading articles: round-trips, permanent guids, slugs and their redirects,
scheduling, atomic batches and imports that skip what is unchanged."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from syndicate.models import Scope
from syndicate.store import Store

from .store_support import NOW, record


def test_round_trip_keeps_every_field(store):
    article, created = store.save_article(
        record(image_url="https://cdn.example.com/a.jpg", image_caption="Delegates arrive.", image_length=1234,
               image_type="image/jpeg", summary="Short."),
        actor="tester",
    )  # fmt: skip
    assert created
    again = store.article(article.slug)
    assert again.title == "Talks resume in Geneva"
    assert again.author.name == "Amira Haddad" and again.author.slug == "amira-haddad"
    assert again.category.slug == "world"
    assert [t.slug for t in again.tags] == ["diplomacy", "united-nations"]
    assert again.published == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)  # stored as UTC
    assert again.published.tzinfo is not None
    assert again.image_length == 1234 and again.image_caption == "Delegates arrive."
    assert again.summary == "Short."
    assert again.created_by == "tester"
    assert again.path == "/2026/11/20/talks-resume-in-geneva/"
    assert again.guid.startswith("urn:uuid:")


def test_guid_never_changes_when_slug_or_title_change(store):
    article, _ = store.save_article(record())
    updated, created = store.save_article(record(guid=article.guid, title="Talks collapse in Geneva"))
    assert not created
    assert updated.guid == article.guid
    assert updated.slug == "talks-collapse-in-geneva"
    # the old slug still leads to the article (for a 301)
    assert store.redirected_slug("talks-resume-in-geneva").id == article.id
    assert store.article("talks-resume-in-geneva") is None


def test_slug_collisions_get_a_suffix(store):
    a, _ = store.save_article(record())
    b, _ = store.save_article(record())
    assert a.slug == "talks-resume-in-geneva" and b.slug == "talks-resume-in-geneva-2"
    assert a.guid != b.guid


def test_drafts_and_scheduled_articles_stay_hidden_until_due(tmp_path):
    clock = {"now": NOW}
    store = Store(str(tmp_path / "s.db"), clock=lambda: clock["now"])
    store.migrate()
    store.save_article(record(title="Visible"))
    store.save_article(record(title="Draft", status="draft"))
    store.save_article(record(title="Scheduled", published=(NOW + timedelta(hours=2)).isoformat()))
    titles = [a.title for a in store.page(Scope("site"), 1, 10).articles]
    assert titles == ["Visible"]
    assert store.article("scheduled") is None and store.article("draft") is None
    version = store.content_version()
    clock["now"] = NOW + timedelta(hours=3)
    assert [a.title for a in store.page(Scope("site"), 1, 10).articles] == ["Scheduled", "Visible"]
    assert store.content_version() != version  # caches keyed on it go stale on time


def test_xml_forbidden_characters_and_scripts_never_reach_the_store(store):
    article, _ = store.save_article(
        record(title="Bad\x00 title\x0b here\ufffe", body='<p onclick="x()">Hi<script>alert(1)</script></p>')
    )
    assert article.title == "Bad title here"
    assert "script" not in article.body and "onclick" not in article.body
    assert article.body == "<p>Hi</p>"


def test_a_failing_batch_leaves_the_database_as_it_was(store):
    store.save_article(record(title="Before"))
    good = record(title="Good one")
    bad = dataclasses.replace(record(title="Bad one"), status="bogus")  # fails a CHECK half-way through
    with pytest.raises(sqlite3.IntegrityError):
        store.save_articles([good, bad])
    assert [a.title for a in store.page(Scope("site"), 1, 10).articles] == ["Before"]
    assert store.term("tag", "diplomacy") is not None  # from "Before", not rolled back


def test_generation_moves_on_every_write(store):
    v0 = store.content_version()
    article, _ = store.save_article(record())
    v1 = store.content_version()
    store.save_article(record(guid=article.guid, status="draft"))
    v2 = store.content_version()
    assert len({v0, v1, v2}) == 3


def test_old_slugs_given_on_import_redirect_unless_a_live_article_owns_them(store):
    taken, _ = store.save_article(record(title="Taken"))
    article, _ = store.save_article(record(previous_slugs=["first-draft-title", "taken"]))
    assert store.redirected_slug("first-draft-title").id == article.id
    assert store.redirected_slug("taken") is None and store.article("taken").id == taken.id
    assert store.previous_slugs([article.id]) == {article.id: ["first-draft-title"]}


def test_a_dry_run_import_counts_exactly_and_writes_nothing(store):
    existing, _ = store.save_article(record(title="Existing"))
    batch = [record(title="New one"), record(guid=existing.guid, title="Existing", slug=existing.slug)]
    edited = [record(guid=existing.guid, title="Existing, edited")]
    version = store.content_version()
    assert store.import_articles(batch, dry_run=True) == (1, 0, 1)
    assert store.import_articles(edited, dry_run=True) == (0, 1, 0)
    assert store.content_version() == version
    assert [a.title for a in store.page(Scope("site"), 1, 10).articles] == ["Existing"]
    assert store.import_articles(batch) == (1, 0, 1)
    assert store.import_articles(batch) == (0, 0, 2)  # a re-run changes nothing
    assert store.content_version() != version
