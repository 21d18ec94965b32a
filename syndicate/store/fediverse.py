"""Every SQL statement of the fediverse package, over the Store's SQLite file.

``migrate(conn)`` creates the tables (idempotent: ``CREATE TABLE IF NOT EXISTS``); the app
calls it at start-up, and the store's migration list can register it as is. ``FediStorage``
wraps one ``sqlite3`` connection (opened with ``syndicate.store.connect``) and holds the queries:

- ``fedi_keys``: each local actor's RSA key pair (the private key never leaves this table:
  exports read articles and terms only).
- ``fedi_followers``: who follows which local actor, and at which inbox / shared inbox.
- ``fedi_objects``: which articles were federated (so an edit is an Update, an unpublish a Delete).
- ``fedi_activities`` + ``fedi_deliveries``: the durable delivery queue, one activity body and
  one row per distinct inbox; ``fedi_inboxes`` remembers inboxes given up on.
- ``fedi_reactions``: likes, boosts and replies counted per article (ids only, never content).
- ``fedi_remote_keys``: public keys of remote actors, cached.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .connection import VISIBLE, connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS fedi_keys (
    actor TEXT PRIMARY KEY, public_pem TEXT NOT NULL, private_pem TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fedi_followers (
    actor TEXT NOT NULL, follower TEXT NOT NULL, inbox TEXT NOT NULL, shared_inbox TEXT NOT NULL DEFAULT '',
    follow_id TEXT NOT NULL DEFAULT '', created TEXT NOT NULL, PRIMARY KEY (actor, follower));
CREATE INDEX IF NOT EXISTS fedi_followers_follower ON fedi_followers (follower);
CREATE TABLE IF NOT EXISTS fedi_objects (
    guid TEXT PRIMARY KEY, object_id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, changed TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fedi_activities (
    id INTEGER PRIMARY KEY, actor TEXT NOT NULL, body TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fedi_deliveries (
    id INTEGER PRIMARY KEY, activity_id INTEGER NOT NULL REFERENCES fedi_activities(id) ON DELETE CASCADE,
    inbox TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt TEXT NOT NULL,
    created TEXT NOT NULL, last_error TEXT NOT NULL DEFAULT '', UNIQUE (activity_id, inbox));
CREATE INDEX IF NOT EXISTS fedi_deliveries_due ON fedi_deliveries (next_attempt);
CREATE TABLE IF NOT EXISTS fedi_inboxes (inbox TEXT PRIMARY KEY, unreachable_since TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fedi_reactions (
    kind TEXT NOT NULL, remote_id TEXT NOT NULL, object_id TEXT NOT NULL, actor TEXT NOT NULL,
    created TEXT NOT NULL, PRIMARY KEY (kind, remote_id));
CREATE INDEX IF NOT EXISTS fedi_reactions_object ON fedi_reactions (object_id, kind);
CREATE TABLE IF NOT EXISTS fedi_remote_keys (
    key_id TEXT PRIMARY KEY, owner TEXT NOT NULL, public_pem TEXT NOT NULL, fetched TEXT NOT NULL);
"""
TABLES = (
    "fedi_keys",
    "fedi_followers",
    "fedi_objects",
    "fedi_activities",
    "fedi_deliveries",
    "fedi_inboxes",
    "fedi_reactions",
    "fedi_remote_keys",
)


def migrate(conn: sqlite3.Connection) -> None:
    """Create the fediverse tables if they are missing (safe to run at every start)."""
    conn.executescript(SCHEMA)


class FediStorage:
    """The fediverse's reads and writes, on its own connection to the store's database."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn = connect(path)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # ---- keys
    def key(self, actor: str) -> tuple[str, str] | None:
        row = self.conn.execute("SELECT public_pem, private_pem FROM fedi_keys WHERE actor = ?", (actor,)).fetchone()
        return (row[0], row[1]) if row else None

    def save_key(self, actor: str, public_pem: str, private_pem: str, now: str, *, replace: bool) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        self.conn.execute(
            f"{verb} INTO fedi_keys (actor, public_pem, private_pem, created) VALUES (?, ?, ?, ?)",
            (actor, public_pem, private_pem, now),
        )

    def key_actors(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT actor FROM fedi_keys ORDER BY actor")]

    # ---- followers
    def add_follower(self, actor: str, follower: str, inbox: str, shared_inbox: str, follow_id: str, now: str) -> None:
        self.conn.execute(
            "INSERT INTO fedi_followers (actor, follower, inbox, shared_inbox, follow_id, created)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (actor, follower) DO UPDATE SET inbox = excluded.inbox,"
            " shared_inbox = excluded.shared_inbox, follow_id = excluded.follow_id",
            (actor, follower, inbox, shared_inbox, follow_id, now),
        )
        # A follower that comes back makes its inbox worth trying again.
        self.conn.execute("DELETE FROM fedi_inboxes WHERE inbox IN (?, ?)", (inbox, shared_inbox))

    def remove_follower(self, actor: str, follower: str) -> bool:
        cur = self.conn.execute("DELETE FROM fedi_followers WHERE actor = ? AND follower = ?", (actor, follower))
        return bool(cur.rowcount)

    def remove_remote_actor(self, follower: str) -> int:
        cur = self.conn.execute("DELETE FROM fedi_followers WHERE follower = ?", (follower,))
        self.conn.execute("DELETE FROM fedi_remote_keys WHERE owner = ?", (follower,))
        return cur.rowcount

    def follower_count(self, actor: str) -> int:
        return self.conn.execute("SELECT count(*) FROM fedi_followers WHERE actor = ?", (actor,)).fetchone()[0]

    def followers(self, actor: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT actor, follower, inbox, shared_inbox, created FROM fedi_followers"
        rows = self.conn.execute(
            sql + (" WHERE actor = ?" if actor else "") + " ORDER BY actor, created", (actor,) if actor else ()
        )
        return [dict(zip(("actor", "follower", "inbox", "shared_inbox", "created"), r, strict=True)) for r in rows]

    def inboxes(self, actors: Sequence[str]) -> list[str]:
        """One inbox per remote server: the shared inbox when the follower has one, minus
        inboxes given up on."""
        if not actors:
            return []
        marks = ",".join("?" * len(actors))
        rows = self.conn.execute(
            f"SELECT DISTINCT CASE WHEN shared_inbox != '' THEN shared_inbox ELSE inbox END AS target"
            f" FROM fedi_followers WHERE actor IN ({marks})"
            " AND target NOT IN (SELECT inbox FROM fedi_inboxes) ORDER BY target",
            list(actors),
        )
        return [r[0] for r in rows]

    # ---- federated objects
    def object_state(self, guid: str) -> str | None:
        row = self.conn.execute("SELECT state FROM fedi_objects WHERE guid = ?", (guid,)).fetchone()
        return row[0] if row else None

    def set_object_state(self, guid: str, object_id: str, state: str, now: str) -> None:
        self.conn.execute(
            "INSERT INTO fedi_objects (guid, object_id, state, changed) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (guid) DO UPDATE SET state = excluded.state, changed = excluded.changed",
            (guid, object_id, state, now),
        )

    # ---- delivery queue
    def enqueue(self, actor: str, body: str, inboxes: Sequence[str], now: str) -> int:
        """One activity for many inboxes, in one transaction. Returns the activity's row id."""
        with self.transaction():
            activity = self.conn.execute(
                "INSERT INTO fedi_activities (actor, body, created) VALUES (?, ?, ?)", (actor, body, now)
            ).lastrowid
            self.conn.executemany(
                "INSERT OR IGNORE INTO fedi_deliveries (activity_id, inbox, next_attempt, created) VALUES (?, ?, ?, ?)",
                [(activity, inbox, now, now) for inbox in inboxes],
            )
        return activity

    def claim(self, now: str, lease_until: str, limit: int) -> list[dict[str, Any]]:
        """Due deliveries, leased to this worker until ``lease_until`` (another worker or process
        takes them again only if this one dies before finishing)."""
        with self.transaction():
            rows = self.conn.execute(
                "SELECT d.id, d.inbox, d.attempts, d.created, a.actor, a.body FROM fedi_deliveries d"
                " JOIN fedi_activities a ON a.id = d.activity_id WHERE d.next_attempt <= ?"
                " ORDER BY d.next_attempt, d.id LIMIT ?",
                (now, limit),
            ).fetchall()
            self.conn.executemany(
                "UPDATE fedi_deliveries SET next_attempt = ?, attempts = attempts + 1 WHERE id = ?",
                [(lease_until, r[0]) for r in rows],
            )
        names = ("id", "inbox", "attempts", "created", "actor", "body")
        return [dict(zip(names, r, strict=True)) for r in rows]

    def delivered(self, delivery_ids: Sequence[int]) -> None:
        """Finished deliveries leave the queue (and their activity, once nothing else needs it)."""
        if not delivery_ids:
            return
        marks = ",".join("?" * len(delivery_ids))
        with self.transaction():
            activities = [
                r[0]
                for r in self.conn.execute(
                    f"SELECT DISTINCT activity_id FROM fedi_deliveries WHERE id IN ({marks})", list(delivery_ids)
                )
            ]
            self.conn.execute(f"DELETE FROM fedi_deliveries WHERE id IN ({marks})", list(delivery_ids))
            for activity_id in activities:
                self._drop_finished_activity(activity_id)

    def _drop_finished_activity(self, activity_id: int) -> None:
        self.conn.execute(
            "DELETE FROM fedi_activities WHERE id = ? AND NOT EXISTS"
            " (SELECT 1 FROM fedi_deliveries WHERE activity_id = ?)",
            (activity_id, activity_id),
        )

    def reschedule(self, delivery_id: int, when: str, error: str) -> None:
        self.conn.execute(
            "UPDATE fedi_deliveries SET next_attempt = ?, last_error = ? WHERE id = ?", (when, error[:500], delivery_id)
        )

    def give_up(self, inbox: str, now: str) -> int:
        """Mark ``inbox`` unreachable and drop everything still queued for it."""
        with self.transaction():
            self.conn.execute(
                "INSERT OR IGNORE INTO fedi_inboxes (inbox, unreachable_since) VALUES (?, ?)", (inbox, now)
            )
            ids = [
                r[0]
                for r in self.conn.execute("SELECT DISTINCT activity_id FROM fedi_deliveries WHERE inbox = ?", (inbox,))
            ]
            cur = self.conn.execute("DELETE FROM fedi_deliveries WHERE inbox = ?", (inbox,))
            for activity_id in ids:
                self._drop_finished_activity(activity_id)
        return cur.rowcount

    def queue(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT d.id, d.inbox, d.attempts, d.next_attempt, d.last_error, a.body FROM fedi_deliveries d"
            " JOIN fedi_activities a ON a.id = d.activity_id ORDER BY d.next_attempt, d.id LIMIT ?",
            (limit,),
        )
        names = ("id", "inbox", "attempts", "next_attempt", "last_error", "body")
        return [dict(zip(names, r, strict=True)) for r in rows]

    def queued_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM fedi_deliveries").fetchone()[0]

    def unreachable(self) -> list[tuple[str, str]]:
        return self.conn.execute("SELECT inbox, unreachable_since FROM fedi_inboxes ORDER BY inbox").fetchall()

    def retry_now(self, now: str, inbox: str | None = None) -> int:
        """Everything queued (for one inbox or all) becomes due now; a given-up inbox is tried again."""
        with self.transaction():
            if inbox:
                self.conn.execute("DELETE FROM fedi_inboxes WHERE inbox = ?", (inbox,))
                cur = self.conn.execute("UPDATE fedi_deliveries SET next_attempt = ? WHERE inbox = ?", (now, inbox))
            else:
                self.conn.execute("DELETE FROM fedi_inboxes")
                cur = self.conn.execute("UPDATE fedi_deliveries SET next_attempt = ?", (now,))
        return cur.rowcount

    def next_due(self) -> str | None:
        row = self.conn.execute("SELECT min(next_attempt) FROM fedi_deliveries").fetchone()
        return row[0] if row else None

    # ---- reactions
    def add_reaction(self, kind: str, remote_id: str, object_id: str, actor: str, now: str) -> bool:
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO fedi_reactions (kind, remote_id, object_id, actor, created) VALUES (?, ?, ?, ?, ?)",
            (kind, remote_id, object_id, actor, now),
        )
        return bool(cur.rowcount)

    def remove_reaction(self, remote_id: str, actor: str) -> bool:
        cur = self.conn.execute("DELETE FROM fedi_reactions WHERE remote_id = ? AND actor = ?", (remote_id, actor))
        return bool(cur.rowcount)

    def reaction_counts(self, object_id: str | None = None) -> dict[str, dict[str, int]]:
        """{object id: {"like": n, "announce": n, "reply": n}}."""
        sql = "SELECT object_id, kind, count(*) FROM fedi_reactions"
        rows = self.conn.execute(
            sql + (" WHERE object_id = ?" if object_id else "") + " GROUP BY 1, 2", (object_id,) if object_id else ()
        )
        out: dict[str, dict[str, int]] = {}
        for obj, kind, n in rows:
            out.setdefault(obj, {"like": 0, "announce": 0, "reply": 0})[kind] = n
        return out

    # ---- remote keys
    def remote_key(self, key_id: str) -> tuple[str, str, str] | None:
        row = self.conn.execute(
            "SELECT owner, public_pem, fetched FROM fedi_remote_keys WHERE key_id = ?", (key_id,)
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def save_remote_key(self, key_id: str, owner: str, public_pem: str, now: str) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO fedi_remote_keys (key_id, owner, public_pem, fetched) VALUES (?, ?, ?, ?)",
            (key_id, owner, public_pem, now),
        )

    # ---- outbox: the actor's visible articles, newest first, keyset-paged
    def outbox_ids(self, scope: tuple[str, str], now: str, before: tuple[str, int] | None, limit: int) -> list[int]:
        """Ids of visible articles of a scope ("site", ""), ("category", slug) or ("author", slug),
        newest first, strictly older than ``before`` (published, id): one index range per page."""
        kind, slug = scope
        where = [VISIBLE]
        params: dict[str, Any] = {"now": now, "limit": limit}
        if kind in ("category", "author"):
            table = "categories" if kind == "category" else "authors"
            where.append(f"{kind}_id = (SELECT id FROM {table} WHERE slug = :slug)")
            params["slug"] = slug
        if before is not None:
            where.append("(published, id) < (:published, :id)")
            params.update(published=before[0], id=before[1])
        sql = f"SELECT id FROM articles WHERE {' AND '.join(where)} ORDER BY published DESC, id DESC LIMIT :limit"
        return [r[0] for r in self.conn.execute(sql, params)]

    def outbox_count(self, scope: tuple[str, str], now: str) -> int:
        kind, slug = scope
        params: dict[str, Any] = {"now": now}
        where = VISIBLE
        if kind in ("category", "author"):
            table = "categories" if kind == "category" else "authors"
            where += f" AND {kind}_id = (SELECT id FROM {table} WHERE slug = :slug)"
            params["slug"] = slug
        return self.conn.execute(f"SELECT count(*) FROM articles WHERE {where}", params).fetchone()[0]

    def published_key(self, article_id: int) -> tuple[str, int] | None:
        row = self.conn.execute("SELECT published, id FROM articles WHERE id = ?", (article_id,)).fetchone()
        return (row[0], row[1]) if row else None
