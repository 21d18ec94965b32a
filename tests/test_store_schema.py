"""The connection, its transactions and the schema: settings, all-or-nothing writes,
forward migrations and refusing a database from the future."""

from __future__ import annotations

import pytest

from syndicate.store import SCHEMA_VERSION, Store, StoreError, connect, migrate, transaction
from syndicate.validation import article_record

from .store_support import NOW


def test_migrates_an_old_database_in_place(tmp_path):
    path = str(tmp_path / "old.db")
    conn = connect(path)
    migrate(conn, target=1)
    conn.execute(
        "INSERT INTO articles (guid, slug, title, published, updated, status)"
        " VALUES ('urn:uuid:1', 'old-story', 'Old story', '2020-01-01T00:00:00+00:00',"
        " '2020-01-01T00:00:00+00:00', 'published')"
    )
    conn.close()
    store = Store(path)
    assert store.schema_version == 1
    store.ensure_schema()
    assert store.schema_version == SCHEMA_VERSION
    old = store.article("old-story")
    assert old.title == "Old story" and old.guid == "urn:uuid:1" and old.created_by == ""
    assert store.search("story", 1, 10)[1] == 1


def test_refuses_a_database_from_the_future(tmp_path):
    path = str(tmp_path / "future.db")
    conn = connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path).ensure_schema()


def test_connection_settings(store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_a_transaction_is_all_or_nothing_and_nested_blocks_join_it(store):
    conn = store.conn
    with pytest.raises(RuntimeError), transaction(conn):
        conn.execute("INSERT INTO meta (key, value) VALUES ('a', '1')")
        with transaction(conn) as opened:
            assert opened is False  # joined the outer transaction
            conn.execute("INSERT INTO meta (key, value) VALUES ('b', '2')")
        raise RuntimeError("refused half-way")
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) AS n FROM meta WHERE key IN ('a', 'b')").fetchone()["n"] == 0
    with transaction(conn, rollback=True):
        conn.execute("INSERT INTO meta (key, value) VALUES ('c', '3')")
    assert conn.execute("SELECT count(*) AS n FROM meta WHERE key = 'c'").fetchone()["n"] == 0
    with transaction(conn) as opened:
        assert opened is True
        conn.execute("INSERT INTO meta (key, value) VALUES ('d', '4')")
    assert conn.execute("SELECT value FROM meta WHERE key = 'd'").fetchone()["value"] == "4"


def test_every_write_inside_a_refused_transaction_is_undone(store):
    generation = store.generation()
    with pytest.raises(ValueError), store.transaction():
        store.save_article(article_record({"title": "Rolled back"}, now=NOW))
        raise ValueError("refused")
    assert store.generation() == generation and store.article("rolled-back", include_hidden=True) is None


def test_migration_6_knows_when_the_articles_already_scheduled_fall_due(db_copy):
    # A database from before migration 6 holds scheduled articles no write recorded: the cache
    # must still see them appear (stamp.py counts what fell due).
    conn = connect(str(db_copy))
    scheduled = conn.execute(
        "SELECT id, published FROM articles WHERE status = 'published'"
        " AND published > strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now') ORDER BY id"
    ).fetchall()
    assert scheduled  # the demo schedules a few
    conn.executescript("DROP TABLE changes; DROP TABLE due; PRAGMA user_version = 5;")
    migrate(conn)
    rows = conn.execute("SELECT article_id, due_at FROM due ORDER BY article_id").fetchall()
    assert [tuple(r) for r in rows] == [tuple(r) for r in scheduled]
    assert conn.execute("SELECT key FROM changes").fetchall()[0][0] == "all"
    conn.close()
