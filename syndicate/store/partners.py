"""Partners: their credentials (only a hash of each secret, as for API tokens), what each may
fetch, and their usage per day (written in batches by ``syndicate.partners.UsageTally``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .connection import Connection, StoreError
from .tokens import token_hash

PARTNER_COLUMNS = "name, token_hash, scopes, categories, rate_per_minute, created, rotated, revoked"


def _partner(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["scopes"] = [s for s in out["scopes"].split(",") if s]
    out["categories"] = [c for c in out["categories"].split(",") if c]
    return out


class Partners(Connection):
    def create_partner(
        self, name: str, secret: str, *, scopes: Sequence[str] = (), categories: Sequence[str] = (),
        rate_per_minute: int | None = None,
    ) -> None:  # fmt: skip
        """A new partner; StoreError if the name is taken (revoked partners keep theirs, so
        their usage history stays theirs)."""
        with self.transaction():
            if self.conn.execute("SELECT 1 FROM partners WHERE name = ?", (name,)).fetchone():
                raise StoreError(f"a partner named {name!r} already exists")
            self.conn.execute(
                "INSERT INTO partners (name, token_hash, scopes, categories, rate_per_minute, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (name, token_hash(secret), ",".join(scopes), ",".join(categories), rate_per_minute, self.now()),
            )

    def partners(self) -> list[dict[str, Any]]:
        """Every partner, live and revoked, by name (without their hashes)."""
        rows = self.conn.execute(f"SELECT {PARTNER_COLUMNS} FROM partners ORDER BY name")
        return [{k: v for k, v in _partner(row).items() if k != "token_hash"} for row in rows]

    def partner_by_hash(self, digest: str) -> dict[str, Any] | None:
        """The live partner whose secret hashes to ``digest`` (asked on every partner request,
        so a revocation or rotation takes effect on the next one, in every process)."""
        row = self.conn.execute(
            f"SELECT {PARTNER_COLUMNS} FROM partners WHERE token_hash = ? AND revoked IS NULL", (digest,)
        ).fetchone()
        return _partner(row) if row else None

    def revoke_partner(self, name: str) -> bool:
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE partners SET revoked = ? WHERE name = ? AND revoked IS NULL", (self.now(), name)
            )
        return bool(cur.rowcount)

    def rotate_partner(self, name: str, secret: str) -> bool:
        """Replace a live partner's secret: the old one stops working at once."""
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE partners SET token_hash = ?, rotated = ? WHERE name = ? AND revoked IS NULL",
                (token_hash(secret), self.now(), name),
            )
        return bool(cur.rowcount)

    def add_partner_usage(self, rows: Iterable[tuple[str, str, int, int, int]]) -> None:
        """Add (partner, day, requests, documents, articles) counts, all in one transaction."""
        rows = list(rows)
        if not rows:
            return
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO partner_usage (partner, day, requests, documents, articles) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(partner, day) DO UPDATE SET requests = requests + excluded.requests,"
                " documents = documents + excluded.documents, articles = articles + excluded.articles",
                rows,
            )

    def partner_usage(self, since: str, partner: str | None = None) -> list[dict[str, Any]]:
        """Usage per partner and day from day ``since`` ('yyyy-mm-dd'), newest day first."""
        sql = "SELECT partner, day, requests, documents, articles FROM partner_usage WHERE day >= ?"
        params: list[Any] = [since]
        if partner is not None:
            sql += " AND partner = ?"
            params.append(partner)
        return [dict(row) for row in self.conn.execute(sql + " ORDER BY day DESC, partner", params)]
