"""Writing articles: insert or update by guid, free slugs and the redirects old slugs leave
behind, read-modify-write for the API, deletes, and batch imports that skip unchanged records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from .. import showing, textnorm
from ..limits import MAX_SLUG
from ..models import Article
from .articles import ARTICLE_FROM, Articles
from .connection import to_db
from .terms import Terms

# Columns of the search index's folded text, beside the text they fold (store/schema.py).
FTS_SHADOWS = {"title": "fts_title", "summary": "fts_summary", "body_text": "fts_body"}

if TYPE_CHECKING:  # the store never calls the gate; it only takes what the gate made
    from ..validation import ArticleRecord


class Writing(Terms, Articles):
    def save_article(self, record: ArticleRecord, *, actor: str = "") -> tuple[Article, bool]:
        """Insert or update one validated article (see ``validation.article_record``), by guid."""
        with self.transaction():
            before = self.article_by_guid(record.guid) if record.guid else None
            article_id, created = self._write_article(record, actor)
            after = self.article_by_id(article_id)
            self._bump_generation(self.changed_keys(before, after))
        return after, created

    def save_articles(self, records: Iterable[ArticleRecord], *, actor: str = "") -> tuple[int, int]:
        """Insert or update a batch atomically: all of it or none. Returns (created, updated)."""
        created = updated = 0
        with self.transaction():
            for record in records:
                _, was_created = self._write_article(record, actor)
                created += was_created
                updated += not was_created
            self._bump_generation()
        return created, updated

    def import_articles(
        self, records: Sequence[ArticleRecord], *, actor: str = "", dry_run: bool = False
    ) -> tuple[int, int, int]:
        """Upsert a batch of validated records by guid, atomically: all of it or none.

        A record identical to the stored article is left alone (no write, no generation bump),
        so re-importing the same file changes nothing. With ``dry_run`` every write happens and
        is then rolled back, so the counts are exact. Returns (created, updated, unchanged).
        """
        created = updated = unchanged = 0
        with self.transaction(rollback=dry_run):
            for record in records:
                if self._import_unchanged(record):
                    unchanged += 1
                    continue
                _, was_created = self._write_article(record, actor)
                created += was_created
                updated += not was_created
            if created or updated:
                self._bump_generation()
        return created, updated, unchanged

    def write_article_with(
        self,
        guid: str | None,
        build: Callable[[Article | None], ArticleRecord | None],
        *,
        actor: str = "",
        create: bool = True,
    ) -> tuple[Article | None, Article | None, bool]:
        """Read-modify-write of one article in ONE write transaction, so concurrent partial
        updates never lose each other's fields.

        ``build(current)`` gets the stored article (None when ``guid`` is unknown or None) and
        returns the validated record to write; it may raise to refuse, which rolls everything
        back. With ``create=False`` an unknown guid writes nothing. Returns (previous, saved,
        created); saved is None when nothing was written.
        """
        with self.transaction():
            current = self.article_by_guid(guid) if guid else None
            if current is None and not create:
                return None, None, False
            record = build(current)
            if record is None:
                return current, None, False
            article_id, created = self._write_article(record, actor)
            saved = self.article_by_id(article_id)
            self._bump_generation(self.changed_keys(current, saved))
            return current, saved, created

    def delete_article_with(self, guid: str, check: Callable[[Article], None]) -> Article | None:
        """Delete after ``check(current)`` (which may raise to refuse), atomically; the deleted
        article, or None when there was none."""
        with self.transaction():
            current = self.article_by_guid(guid)
            if current is None:
                return None
            check(current)
            self.conn.execute("DELETE FROM articles WHERE id = ?", (current.id,))
            self._bump_generation(self.changed_keys(current, None))
            return current

    # ---- what a write changed
    def changed_keys(self, before: Article | None, after: Article | None) -> set[str]:
        """The ``showing.py`` keys a write of one article changed (``before``/``after``: the
        stored versions around it), its new neighbours' pages included; the navigation too when
        the write created a section (it lists every category)."""
        now = self.clock()
        shown_by = self.shown_by(before, after, now)
        keys = showing.affected_keys(before, after, now=now, shown_by=shown_by, appended=self._newest(after, now))
        category = after.category if after is not None else None
        if category is not None and (before is None or before.category != category):
            in_it = self.conn.execute("SELECT count(*) FROM articles WHERE category_id = ?", (category.id,))
            if in_it.fetchone()[0] <= 1:  # its only article: most likely a section this write created
                keys.add(showing.NAV)
        return keys

    def _newest(self, article: Article | None, now: datetime) -> bool:
        """Whether ``article`` is visible and no visible article comes after it."""
        if not showing.visible(article, now):
            return False
        published = to_db(article.published)
        row = self.conn.execute(
            "SELECT 1 FROM articles WHERE status = 'published' AND published <= ? AND id != ?"
            " AND (published > ? OR (published = ? AND id > ?)) LIMIT 1",
            (to_db(now), article.id, published, published, article.id),
        ).fetchone()
        return row is None

    def shown_by(self, before: Article | None, after: Article | None, now: datetime) -> list[int]:
        """Ids of the articles whose pages start showing ``after`` because it took a new place:
        its neighbours on the timeline and the articles whose "related" list it enters. (Pages
        that showed the old version carry its own key already.)"""
        if not showing.visible(after, now):
            return []
        moved = (
            not showing.visible(before, now) or before.published != after.published or before.category != after.category
        )
        if not moved:
            return []
        older, newer = self.adjacent(after)
        return [a.id for a in (older, newer) if a is not None] + self.related_to(after)

    # ---- slugs
    def _free_slug(self, slug: str, own_id: int | None) -> str:
        """``slug``, or ``slug-2``, ``slug-3``... when another article already has it."""
        candidate, n = slug, 1
        while True:
            row = self.conn.execute("SELECT id FROM articles WHERE slug = ?", (candidate,)).fetchone()
            if row is None or row["id"] == own_id:
                return candidate
            n += 1
            candidate = f"{slug[: MAX_SLUG - len(str(n)) - 1]}-{n}"

    def _redirect(self, slug: str, article_id: int) -> None:
        """Make the old ``slug`` lead to ``article_id`` (for a 301 to its new permalink)."""
        self.conn.execute(
            "INSERT INTO slug_redirects (slug, article_id) VALUES (?, ?)"
            " ON CONFLICT(slug) DO UPDATE SET article_id = excluded.article_id",
            (slug, article_id),
        )

    # ---- the write itself (inside the caller's transaction)
    def _write_article(self, r: ArticleRecord, actor: str) -> tuple[int, bool]:
        author_id = self.ensure_term("author", *r.author) if r.author else None
        category_id = self.ensure_term("category", *r.category) if r.category else None
        existing = self.conn.execute("SELECT id, slug FROM articles WHERE guid = ?", (r.guid,)).fetchone()
        slug = self._free_slug(r.slug, existing["id"] if existing else None)
        values = {
            "guid": r.guid, "slug": slug, "title": r.title, "summary": r.summary,
            "body": r.body, "body_text": r.body_text, "image_url": r.image_url,
            "image_caption": r.image_caption, "image_type": r.image_type,
            "image_length": r.image_length, "author_id": author_id, "category_id": category_id,
            "published": to_db(r.published), "updated": to_db(r.updated),
            "status": r.status, "updated_by": actor, "language": r.language,
            # The search index's folded text, where folding changes anything (store/schema.py).
            **{shadow: textnorm.folded_or_none(getattr(r, column)) for column, shadow in FTS_SHADOWS.items()},
            "embargo_until": to_db(r.embargo_until) if r.embargo_until else None,
        }  # fmt: skip
        if existing:
            article_id = existing["id"]
            assignments = ", ".join(f"{k} = :{k}" for k in values if k != "guid")
            self.conn.execute(f"UPDATE articles SET {assignments} WHERE id = :id", {**values, "id": article_id})
            if existing["slug"] != slug:
                self._redirect(existing["slug"], article_id)
            self.conn.execute("DELETE FROM article_tags WHERE article_id = ?", (article_id,))
        else:
            values["created_by"] = actor
            columns = ", ".join(values)
            marks = ", ".join(f":{k}" for k in values)
            article_id = self.conn.execute(f"INSERT INTO articles ({columns}) VALUES ({marks})", values).lastrowid
        # A slug now owned by a live article must not redirect elsewhere.
        self.conn.execute("DELETE FROM slug_redirects WHERE slug = ?", (slug,))
        for previous in r.previous_slugs:
            taken = self.conn.execute("SELECT 1 FROM articles WHERE slug = ?", (previous,)).fetchone()
            if previous != slug and not taken:
                self._redirect(previous, article_id)
        for tag_slug, tag_name in r.tags:
            tag_id = self.ensure_term("tag", tag_slug, tag_name)
            self.conn.execute(
                "INSERT OR IGNORE INTO article_tags (article_id, tag_id, published, status) VALUES (?, ?, ?, ?)",
                (article_id, tag_id, values["published"], values["status"]),
            )
        return article_id, not existing

    def _import_unchanged(self, r: ArticleRecord) -> bool:
        """True when writing ``r`` would leave its stored article exactly as it is. Term names
        are not compared: ``ensure_term`` never renames an existing term either."""
        row = self.conn.execute(
            "SELECT a.id, a.slug, a.title, a.summary, a.body, a.body_text, a.image_url, a.image_caption,"
            " a.image_type, a.image_length, au.slug AS author, c.slug AS category, a.published, a.updated,"
            f" a.status, a.language, a.embargo_until {ARTICLE_FROM} WHERE a.guid = ?",
            (r.guid,),
        ).fetchone()
        if row is None:
            return False
        wanted = {
            "title": r.title, "summary": r.summary, "body": r.body, "body_text": r.body_text,
            "image_url": r.image_url, "image_caption": r.image_caption, "image_type": r.image_type,
            "image_length": r.image_length, "author": r.author[0] if r.author else None,
            "category": r.category[0] if r.category else None, "published": to_db(r.published),
            "updated": to_db(r.updated), "status": r.status, "language": r.language,
            "embargo_until": to_db(r.embargo_until) if r.embargo_until else None,
        }  # fmt: skip
        if any(row[column] != value for column, value in wanted.items()):
            return False
        tags = sorted(
            tag["slug"]
            for tag in self.conn.execute(
                "SELECT t.slug FROM article_tags x JOIN tags t ON t.id = x.tag_id WHERE x.article_id = ?", (row["id"],)
            )
        )
        if tags != sorted(slug for slug, _ in r.tags):
            return False
        return self._free_slug(r.slug, row["id"]) == row["slug"]
