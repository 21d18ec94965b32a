"""Authors, categories and tags: looking them up, listing them with counts, saving them, and
managing them (create, change, reorder, delete or merge), each change one transaction that
bumps the change stamp. A changed slug leaves a redirect (``term_redirects``) behind."""

from __future__ import annotations

import json
from typing import Any

from ..models import Term
from .connection import TERM_TABLES, VISIBLE, Connection, StoreError

# The extra columns each kind of term may carry besides its slug and name.
TERM_EXTRAS = {"author": ("bio",), "category": ("description", "position"), "tag": ()}
# Which articles a term has (any status: a draft still names its category).
ARTICLES_OF = {
    "author": "SELECT count(*) FROM articles WHERE author_id = t.id",
    "category": "SELECT count(*) FROM articles WHERE category_id = t.id",
    "tag": "SELECT count(*) FROM article_tags WHERE tag_id = t.id",
}


class TermNotFound(StoreError):
    """No author, category or tag with that slug."""


class TermConflict(StoreError):
    """Another term of the same kind already has that slug."""


class TermInUse(StoreError):
    """The term still has articles, and no other term to move them to was given."""

    def __init__(self, message: str, articles: int) -> None:
        super().__init__(message)
        self.articles = articles


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
            # One row of JSON, not a row a term: sqlite3 lets go of the GIL at every row (the
            # navigation asks for the categories on every page).
            found = self.conn.execute(
                f"SELECT json_group_array(json_array(id, slug, name)) AS terms"
                f" FROM (SELECT id, slug, name FROM {table} ORDER BY {order})"
            ).fetchone()
            return [Term(kind, slug, name, term_id) for term_id, slug, name in json.loads(found["terms"])]
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
        """The id of a term, creating it (inside the caller's transaction) when new. An old
        slug of a renamed or merged term means that term (a script may still send it)."""
        found = self.term_id(kind, slug)
        if found is not None:
            return found
        moved = self.conn.execute(
            "SELECT term_id FROM term_redirects WHERE kind = ? AND slug = ?", (kind, slug)
        ).fetchone()
        if moved is not None:
            return moved["term_id"]
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

    # ---- management (the CLI's and the API's term commands)
    def term_detail(self, kind: str, slug: str) -> dict[str, Any] | None:
        """One term with its extra fields and how many articles (any status) it has."""
        found = self._term_rows(kind, "WHERE t.slug = :slug", {"slug": slug})
        return found[0] if found else None

    def term_details(self, kind: str) -> list[dict[str, Any]]:
        """Every term of ``kind`` with its extras and article count, in display order."""
        return self._term_rows(kind, "", {})

    def _term_rows(self, kind: str, where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        extras = "".join(f", t.{c}" for c in TERM_EXTRAS[kind])
        order = "t.position, t.name, t.slug" if kind == "category" else "t.name, t.slug"
        rows = self.conn.execute(
            f"SELECT t.id, t.slug, t.name{extras}, ({ARTICLES_OF[kind]}) AS articles"
            f" FROM {TERM_TABLES[kind]} t {where} ORDER BY {order}",
            params,
        )
        return [dict(row) for row in rows]

    def _require(self, kind: str, slug: str) -> dict[str, Any]:
        found = self.term_detail(kind, slug)
        if found is None:
            raise TermNotFound(f"no {kind} with slug {slug!r}")
        return found

    def _slug_free(self, kind: str, slug: str, own_id: int | None = None) -> None:
        other = self.term_id(kind, slug)
        if other is not None and other != own_id:
            raise TermConflict(f"another {kind} already has the slug {slug!r}")

    def create_term(self, kind: str, slug: str, name: str, **extra: Any) -> dict[str, Any]:
        """A new term; refused (TermConflict) when the slug is taken. An old slug that used to
        redirect stops redirecting: the live term now answers there."""
        values = {"slug": slug, "name": name, **{k: v for k, v in extra.items() if k in TERM_EXTRAS[kind]}}
        with self.transaction():
            self._slug_free(kind, slug)
            self.conn.execute(
                f"INSERT INTO {TERM_TABLES[kind]} ({', '.join(values)}) VALUES ({', '.join(f':{c}' for c in values)})",
                values,
            )
            self.conn.execute("DELETE FROM term_redirects WHERE kind = ? AND slug = ?", (kind, slug))
            self._bump_generation()
            return self._require(kind, slug)

    def update_term(self, kind: str, slug: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change a term's name, slug or extras. A new slug leaves a redirect from the old one
        (pages and feeds answer 301); the articles keep their GUIDs and permalinks."""
        changes = {k: v for k, v in changes.items() if k in ("slug", "name", *TERM_EXTRAS[kind])}
        with self.transaction():
            current = self._require(kind, slug)
            new_slug = changes.get("slug", slug)
            if new_slug != slug:
                self._slug_free(kind, new_slug, current["id"])
                self.conn.execute(
                    "INSERT INTO term_redirects (kind, slug, term_id) VALUES (?, ?, ?)"
                    " ON CONFLICT(kind, slug) DO UPDATE SET term_id = excluded.term_id",
                    (kind, slug, current["id"]),
                )
                self.conn.execute("DELETE FROM term_redirects WHERE kind = ? AND slug = ?", (kind, new_slug))
            if changes:
                assignments = ", ".join(f"{c} = :{c}" for c in changes)
                self.conn.execute(
                    f"UPDATE {TERM_TABLES[kind]} SET {assignments} WHERE id = :id", {**changes, "id": current["id"]}
                )
                self._bump_generation()
            return self._require(kind, new_slug)

    def move_category(self, slug: str, position: int) -> list[dict[str, Any]]:
        """Put a category at ``position`` (0 = first) of the navigation; the others keep their
        order and every position is renumbered 0, 1, 2... Returns the new order."""
        with self.transaction():
            current = self._require("category", slug)
            order = [c["id"] for c in self.term_details("category") if c["id"] != current["id"]]
            order.insert(max(0, min(position, len(order))), current["id"])
            self.conn.executemany(
                "UPDATE categories SET position = ? WHERE id = ?", [(n, term_id) for n, term_id in enumerate(order)]
            )
            self._bump_generation()
            return self.term_details("category")

    def delete_term(self, kind: str, slug: str, *, move_to: str | None = None) -> tuple[dict[str, Any], int]:
        """Delete a term; returns it and how many articles it had.

        With ``move_to`` its articles go to that term first (for tags: a merge) and its old
        slugs redirect there. Without, a tag is taken off its articles; a category or an author
        that still has articles is refused (TermInUse), since its articles would silently lose it.
        """
        with self.transaction():
            current = self._require(kind, slug)
            count = current["articles"]
            target = None
            if move_to is not None:
                if move_to == slug:
                    raise StoreError(f"cannot move the articles of {kind} {slug!r} to itself")
                target = self.term_detail(kind, move_to)
                if target is None:
                    raise TermNotFound(f"no {kind} with slug {move_to!r} to move the articles to")
            elif count and kind != "tag":
                raise TermInUse(
                    f"{kind} {slug!r} still has {count} article{'s' if count != 1 else ''}: move them to another"
                    f" {kind} first (move_to / --move-to OTHER)",
                    count,
                )
            self._move_articles(kind, current["id"], target["id"] if target else None)
            if target is not None:
                self.conn.execute(
                    "UPDATE term_redirects SET term_id = ? WHERE kind = ? AND term_id = ?",
                    (target["id"], kind, current["id"]),
                )
                self.conn.execute(
                    "INSERT INTO term_redirects (kind, slug, term_id) VALUES (?, ?, ?)"
                    " ON CONFLICT(kind, slug) DO UPDATE SET term_id = excluded.term_id",
                    (kind, slug, target["id"]),
                )
            else:
                self.conn.execute("DELETE FROM term_redirects WHERE kind = ? AND term_id = ?", (kind, current["id"]))
            self.conn.execute(f"DELETE FROM {TERM_TABLES[kind]} WHERE id = ?", (current["id"],))
            self._bump_generation()
            return current, count

    def _move_articles(self, kind: str, source: int, target: int | None) -> None:
        """Give ``source``'s articles ``target`` instead (None: only for tags, take it off)."""
        if kind != "tag":
            column = "author_id" if kind == "author" else "category_id"
            self.conn.execute(f"UPDATE articles SET {column} = ? WHERE {column} = ?", (target, source))
            return
        if target is not None:
            self.conn.execute(
                "INSERT OR IGNORE INTO article_tags (article_id, tag_id, published, status)"
                " SELECT article_id, ?, published, status FROM article_tags WHERE tag_id = ?",
                (target, source),
            )
        self.conn.execute("DELETE FROM article_tags WHERE tag_id = ?", (source,))

    def term_redirect(self, kind: str, slug: str) -> Term | None:
        """The term an old ``slug`` of ``kind`` now leads to (for a 301), if any."""
        row = self.conn.execute(
            f"SELECT t.slug, t.name FROM term_redirects r JOIN {TERM_TABLES[kind]} t ON t.id = r.term_id"
            " WHERE r.kind = ? AND r.slug = ?",
            (kind, slug),
        ).fetchone()
        return Term(kind, row["slug"], row["name"]) if row else None
