"""Rendered pieces of one article, made once per article version and reused by every listing
and feed that shows it: its listing card (HTML), its RSS item, its Atom entry and its JSON Feed
item.

An article's *version* is every field a piece can show (title, body, summary,
image, author and category names, tags, dates, slug, guid, status): any edit, re-categorisation,
re-tag or term rename gives another version, so a piece can never be stale; nothing needs to
be invalidated, old versions just fall out of the bounded LRU. The pieces are kept per app
(``app.extensions``), so the settings and the code that made them are those of this process.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from .lru import LRU
from .models import Article

# How many pieces a process keeps is FRAGMENT_CACHE_SIZE (default 4000): a card is ~1 KB, a
# full-content feed item ~3-8 KB in each format (plus its key, which holds the article's
# body): ~40 MB at most.
EXTENSION = "syndicate.fragments"


def article_version(article: Article) -> tuple:
    """Everything any piece of ``article`` can show, as a key. The fields themselves rather
    than a digest of them: a dict compares keys whole, so two versions can never share pieces
    (no hash collision can make a piece stale), and nothing is encoded or digested per request."""
    author, category = article.author, article.category
    return (
        article.id, article.guid, article.slug, article.title, article.summary, article.body,
        article.image_url, article.image_caption, article.image_type, article.image_length,
        author.slug if author else None, author.name if author else None,
        category.slug if category else None, category.name if category else None,
        article.published, article.updated, article.status, article.language, article.embargo_until,
        tuple((t.slug, t.name) for t in article.tags),
    )  # fmt: skip


class Fragments:
    """The pieces of one app, keyed by (kind, article version)."""

    def __init__(self, size: int) -> None:
        self.pieces: LRU[tuple, str] = LRU(size)
        self.made = 0  # pieces rendered (for tests and the benchmarks)

    def piece(self, kind: tuple, article: Article, make: Callable[[Article], str]) -> str:
        """The ``kind`` piece of ``article`` (``kind`` names the piece and everything else that
        shapes it, such as the feed format or the content mode), made once per version."""
        key = (kind, article_version(article))
        found = self.pieces.get(key)
        if found is None:
            found = make(article)
            self.pieces.put(key, found)
            self.made += 1
        return found


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Fragments(app.config["FRAGMENT_CACHE_SIZE"])


def fragments(app: Flask | None = None) -> Fragments:
    return (app or current_app).extensions[EXTENSION]
