"""API tokens (only a hash of each secret is stored) and idempotency keys for API writes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .connection import Connection, IdempotencyConflict, StoreUnavailable, to_db

IDEMPOTENCY_DAYS = 7  # keys are a retry aid, not an archive: far longer than any client retries


def token_hash(secret: str) -> str:
    """The one encoding of a token secret the store keeps and the API looks tokens up by
    (``surrogatepass``: a secret with a lone surrogate still hashes instead of raising)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


class Tokens(Connection):
    def create_token(self, name: str, secret: str, scope: str) -> None:
        with self.transaction():
            self.conn.execute(
                "INSERT INTO tokens (name, token_hash, scope, created) VALUES (?, ?, ?, ?)",
                (name, token_hash(secret), scope, self.now()),
            )

    def tokens(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT name, scope, created, revoked, last_used FROM tokens ORDER BY name")
        return [dict(row) for row in rows]

    def revoke_token(self, name: str) -> bool:
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE tokens SET revoked = ? WHERE name = ? AND revoked IS NULL", (self.now(), name)
            )
        return bool(cur.rowcount)

    def token_by_hash(self, digest: str) -> dict[str, Any] | None:
        """The live token whose hash is ``digest`` (the lookup is by a hash, never the secret)."""
        row = self.conn.execute(
            "SELECT name, scope, token_hash FROM tokens WHERE token_hash = ? AND revoked IS NULL", (digest,)
        ).fetchone()
        return dict(row) if row else None

    def touch_token(self, name: str) -> None:
        """Record that a token was used; at most once a minute, so reads stay (nearly) read-only."""
        now = self.clock()
        stale = to_db(now - timedelta(minutes=1))
        # Read first: an UPDATE would take the write lock even when it changes nothing.
        row = self.conn.execute("SELECT last_used FROM tokens WHERE name = ?", (name,)).fetchone()
        if row is None or (row["last_used"] is not None and row["last_used"] >= stale):
            return
        # Bookkeeping, not the request's purpose: never wait for another writer's lock, and skip
        # it when the database cannot be written (a read must still answer).
        try:
            with self.lock_wait(0), self.transaction():
                self.conn.execute(
                    "UPDATE tokens SET last_used = ? WHERE name = ? AND (last_used IS NULL OR last_used < ?)",
                    (to_db(now), name, stale),
                )
        except StoreUnavailable:
            pass

    def idempotent(
        self, token_name: str, key: str, request_hash: str, perform: Callable[[], tuple[int, str]]
    ) -> tuple[int, str, bool]:
        """Run ``perform`` at most once per (token, key): it returns (status, JSON response),
        which is stored with the request's hash in the same transaction as the write it made.

        A repeat with the same hash returns the stored response (replayed=True); a repeat with
        another request raises ``IdempotencyConflict``. A ``perform`` that raises stores nothing.
        """
        with self.transaction():
            row = self.conn.execute(
                "SELECT request_hash, status, response FROM idempotency_keys WHERE token_name = ? AND key = ?",
                (token_name, key),
            ).fetchone()
            if row is not None:
                if row["request_hash"] != request_hash:
                    raise IdempotencyConflict(key)
                return row["status"], row["response"], True
            status, response = perform()
            self.conn.execute(
                "INSERT INTO idempotency_keys (key, token_name, request_hash, status, response, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, token_name, request_hash, status, response, self.now()),
            )
            cutoff = to_db(self.clock() - timedelta(days=IDEMPOTENCY_DAYS))
            self.conn.execute("DELETE FROM idempotency_keys WHERE created < ?", (cutoff,))
            return status, response, False
