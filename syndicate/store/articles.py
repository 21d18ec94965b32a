"""Reading articles: hydration into ``Article`` records (a bounded number of queries whatever
the page size), lookups by slug, guid and id, old slugs, neighbours and export."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..models import Article, Term
from .connection import VISIBLE, Connection, from_db, to_db

ARTICLE_FROM = (
    "FROM articles a LEFT JOIN authors au ON au.id = a.author_id LEFT JOIN categories c ON c.id = a.category_id"
)
ARTICLE_COLUMNS = (
    "a.id, a.guid, a.slug, a.title, a.summary, a.body, a.image_url, a.image_caption, a.image_type,"
    " a.image_length, au.slug AS author_slug, au.name AS author_name, c.slug AS category_slug,"
    " c.name AS category_name, a.author_id, a.category_id, a.published, a.updated, a.status, a.created_by,"
    " a.updated_by, a.language, a.embargo_until"
)
# The same columns: their names, and as one JSON array per article.
ARTICLE_NAMES = tuple(column.split(" AS ")[-1].split(".")[-1] for column in ARTICLE_COLUMNS.split(", "))
ARTICLE_JSON = "json_array(" + ", ".join(column.split(" AS ")[0] for column in ARTICLE_COLUMNS.split(", ")) + ")"


def _article(row: Mapping[str, Any], tags: list[Term]) -> Article:
    return Article(
        id=row["id"], guid=row["guid"], slug=row["slug"], title=row["title"], summary=row["summary"],
        body=row["body"], image_url=row["image_url"], image_caption=row["image_caption"],
        image_type=row["image_type"], image_length=row["image_length"],
        author=Term("author", row["author_slug"], row["author_name"], row["author_id"]) if row["author_slug"] else None,
        category=(
            Term("category", row["category_slug"], row["category_name"], row["category_id"])
            if row["category_slug"] else None
        ),
        tags=tags, published=from_db(row["published"]), updated=from_db(row["updated"]), status=row["status"],
        created_by=row["created_by"], updated_by=row["updated_by"], language=row["language"],
        embargo_until=from_db(row["embargo_until"]) if row["embargo_until"] else None,
    )  # fmt: skip


class Articles(Connection):
    def articles_by_ids(self, ids: Sequence[int]) -> list[Article]:
        """Full articles for ``ids``, in that order: one query for articles, one for tags."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        cursor = self.conn.execute(f"SELECT {ARTICLE_COLUMNS} {ARTICLE_FROM} WHERE a.id IN ({marks})", list(ids))
        # Rows as dicts: sqlite3.Row finds a name by comparing it with every column name.
        rows = [dict(zip(ARTICLE_NAMES, row, strict=True)) for row in cursor]
        by_id = {article.id: article for article in self._hydrate(rows)}
        return [by_id[i] for i in ids if i in by_id]

    def _hydrate(self, rows: list[dict[str, Any]]) -> list[Article]:
        """``Article`` records for ``rows`` (``ARTICLE_COLUMNS`` by name), in their order, with
        their tags."""
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        marks = ",".join("?" * len(ids))
        tags: dict[int, list[Term]] = {i: [] for i in ids}
        # One row for all the tags: sqlite3 lets go of the GIL at every row it steps to, and
        # under a threaded server each of those hand-overs costs context switches.
        found = self.conn.execute(
            "SELECT json_group_array(json_array(article_id, id, slug, name)) AS tags FROM (SELECT x.article_id,"
            f" t.id, t.slug, t.name FROM article_tags x JOIN tags t ON t.id = x.tag_id WHERE x.article_id IN ({marks})"
            " ORDER BY t.name)",
            ids,
        ).fetchone()
        for article_id, tag_id, slug, name in json.loads(found["tags"]):
            tags[article_id].append(Term("tag", slug, name, tag_id))
        return [_article(row, tags[row["id"]]) for row in rows]

    def articles_listed(self, sql: str, params: dict[str, Any], direction: str) -> list[Article]:
        """Full articles for the ``id`` and ``published`` columns ``sql`` selects, in that order
        (``direction`` of published, id): one query for the articles of a page, one for tags.

        The page comes back as one row of JSON: sqlite3 lets go of the GIL at every row it steps
        to, and under a threaded server each hand-over costs context switches (measured: most of
        a miss's cost with 8 threads)."""
        found = self.conn.execute(
            f"SELECT json_group_array(json(article)) AS page FROM (SELECT {ARTICLE_JSON} AS article"
            f" FROM ({sql}) AS listed JOIN articles a ON a.id = listed.id"
            " LEFT JOIN authors au ON au.id = a.author_id LEFT JOIN categories c ON c.id = a.category_id"
            f" ORDER BY listed.published {direction}, listed.id {direction})",
            params,
        ).fetchone()
        return self._hydrate([dict(zip(ARTICLE_NAMES, values, strict=True)) for values in json.loads(found["page"])])

    def _ids(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[int]:
        """The ``id`` column of a query that selects article ids."""
        return [row["id"] for row in self.conn.execute(sql, params)]

    def _one(self, where: str, params: Sequence[Any]) -> Article | None:
        ids = self._ids(f"SELECT a.id {ARTICLE_FROM} WHERE {where}", params)
        return self.articles_by_ids(ids[:1])[0] if ids else None

    def article(self, slug: str, *, include_hidden: bool = False) -> Article | None:
        """The article with ``slug``; drafts and scheduled articles only with include_hidden."""
        if include_hidden:
            return self._one("a.slug = ?", (slug,))
        return self._one("a.slug = ? AND a.status = 'published' AND a.published <= ?", (slug, self.now()))

    def article_by_guid(self, guid: str) -> Article | None:
        return self._one("a.guid = ?", (guid,))

    def article_by_id(self, article_id: int) -> Article | None:
        return self._one("a.id = ?", (article_id,))

    def redirected_slug(self, slug: str) -> Article | None:
        """The visible article that used to have ``slug`` (for a 301 to its new permalink)."""
        row = self.conn.execute("SELECT article_id FROM slug_redirects WHERE slug = ?", (slug,)).fetchone()
        if not row:
            return None
        article = self.article_by_id(row["article_id"])
        if article and article.status == "published" and to_db(article.published) <= self.now():
            return article
        return None

    def previous_slugs(self, ids: Sequence[int]) -> dict[int, list[str]]:
        """Old slugs that still redirect to each of ``ids`` (for export)."""
        out: dict[int, list[str]] = {}
        if not ids:
            return out
        marks = ",".join("?" * len(ids))
        for row in self.conn.execute(
            f"SELECT article_id, slug FROM slug_redirects WHERE article_id IN ({marks}) ORDER BY slug", list(ids)
        ):
            out.setdefault(row["article_id"], []).append(row["slug"])
        return out

    def adjacent(self, article: Article) -> tuple[Article | None, Article | None]:
        """(older, newer) visible neighbours on the front-page timeline."""
        key = {"now": self.now(), "p": to_db(article.published), "id": article.id}
        older = self._ids(
            f"SELECT id FROM articles WHERE {VISIBLE} AND (published, id) < (:p, :id)"
            " ORDER BY published DESC, id DESC LIMIT 1",
            key,
        )
        newer = self._ids(
            f"SELECT id FROM articles WHERE {VISIBLE} AND (published, id) > (:p, :id)"
            " ORDER BY published ASC, id ASC LIMIT 1",
            key,
        )
        found = {a.id: a for a in self.articles_by_ids(older + newer)}
        return (found.get(older[0]) if older else None, found.get(newer[0]) if newer else None)

    def related(self, article: Article, limit: int = 4) -> list[Article]:
        """Recent visible articles from the same category, published up to this one."""
        return self.articles_by_ids(self._same_category(article, limit, newer=False))

    def related_to(self, article: Article, limit: int = 4) -> list[int]:
        """Ids of the visible articles whose ``related`` list may show ``article``: the next
        ``limit`` in its category published after it (what a change of it may move)."""
        return self._same_category(article, limit, newer=True)

    def _same_category(self, article: Article, limit: int, *, newer: bool) -> list[int]:
        """Ids of up to ``limit`` visible articles of ``article``'s category, nearest first:
        published at or after it (``newer``), or at or before it."""
        if article.category is None:
            return []
        compare, order = (">=", "ASC") if newer else ("<=", "DESC")
        return self._ids(
            f"SELECT a.id FROM articles a JOIN categories c ON c.id = a.category_id"
            f" WHERE c.slug = :cat AND a.{VISIBLE} AND a.id != :id AND a.published {compare} :p"
            f" ORDER BY a.published {order}, a.id {order} LIMIT :limit",
            {"cat": article.category.slug, "now": self.now(), "id": article.id,
             "p": to_db(article.published), "limit": limit},
        )  # fmt: skip

    def became_visible(self, since: str, until: str) -> list[int]:
        """Published articles whose time came in (since, until]: scheduled ones falling due."""
        return self._ids(
            "SELECT id FROM articles WHERE status = 'published' AND published > ? AND published <= ?"
            " ORDER BY published, id",
            (since, until),
        )

    def export_rows(self) -> Iterator[Article]:
        """Every article, oldest id first, in chunks (for export)."""
        last = 0
        while True:
            ids = self._ids("SELECT id FROM articles WHERE id > ? ORDER BY id LIMIT 500", (last,))
            if not ids:
                return
            yield from self.articles_by_ids(ids)
            last = ids[-1]
