"""Authors, categories and tags: looking them up, listing them with counts, saving them."""

from __future__ import annotations

from typing import Any

from ..models import Term
from .connection import TERM_TABLES, VISIBLE, Connection

# The extra columns each kind of term may carry besides its slug and name.
TERM_EXTRAS = {"author": ("bio",), "category": ("description", "position"), "tag": ()}


class Terms(Connection):
    def term(self, kind: str, slug: str) -> Term | None:
        table = TERM_TABLES[kind]
        row = self.conn.execute(f"SELECT id, slug, name FROM {table} WHERE slug = ?", (slug,)).fetchone()
        return Term(kind, row["slug"], row["name"], row["id"]) if row else None

    def term_id(self, kind: str, slug: str) -> int | None:
        row = self.conn.execute(f"SELECT id FROM {TERM_TABLES[kind]} WHERE slug = ?", (slug,)).fetchone()
        return row["id"] if row else None

    def terms(self, kind: str, *, with_counts: bool = False) -> list[Term] | list[tuple[Term, int]]:
        """Every author, category or tag, in display order (categories by their position)."""
        table = TERM_TABLES[kind]
        order = "position, name" if kind == "category" else "name"
        if not with_counts:
            rows = self.conn.execute(f"SELECT id, slug, name FROM {table} ORDER BY {order}")
            return [Term(kind, row["slug"], row["name"], row["id"]) for row in rows]
        if kind == "tag":
            count_sql = (
                "SELECT count(*) FROM article_tags x WHERE x.tag_id = t.id"
                " AND x.status = 'published' AND x.published <= :now"
            )
        else:
            column = "author_id" if kind == "author" else "category_id"
            count_sql = f"SELECT count(*) FROM articles a WHERE a.{column} = t.id AND a.{VISIBLE}"
        rows = self.conn.execute(
            f"SELECT id, slug, name, ({count_sql}) AS n FROM {table} t ORDER BY {order}", {"now": self.now()}
        )
        return [(Term(kind, row["slug"], row["name"], row["id"]), row["n"]) for row in rows]

    def term_records(self, kind: str) -> list[dict[str, Any]]:
        """Every author or category with its extra fields (bio; description, position), for export."""
        columns = ", ".join(("slug", "name", *TERM_EXTRAS[kind]))
        return [dict(row) for row in self.conn.execute(f"SELECT {columns} FROM {TERM_TABLES[kind]} ORDER BY slug")]

    def ensure_term(self, kind: str, slug: str, name: str) -> int:
        """The id of a term, creating it (inside the caller's transaction) when new."""
        found = self.term_id(kind, slug)
        if found is not None:
            return found
        return self.conn.execute(f"INSERT INTO {TERM_TABLES[kind]} (slug, name) VALUES (?, ?)", (slug, name)).lastrowid

    def save_term(self, kind: str, slug: str, name: str, **extra: Any) -> None:
        """Create or rename a term (authors may carry ``bio``, categories ``position``)."""
        extra = {k: v for k, v in extra.items() if k in TERM_EXTRAS[kind]}
        values = {"slug": slug, "name": name, **extra}
        updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "slug")
        with self.transaction():
            self.conn.execute(
                f"INSERT INTO {TERM_TABLES[kind]} ({', '.join(values)}) VALUES ({', '.join(f':{c}' for c in values)})"
                f" ON CONFLICT(slug) DO UPDATE SET {updates}",
                values,
            )
            self._bump_generation()
