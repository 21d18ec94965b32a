"""Small records the rest of the code passes around: articles, terms, scopes and pages."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote


@lru_cache(maxsize=16384)
def _quote(slug: str) -> str:
    return quote(slug, safe="-")


def quote_slug(slug: str) -> str:
    """A slug as it goes on the wire: ASCII as is, any other script percent-encoded (UTF-8)."""
    return slug if slug.isascii() else _quote(slug)


@dataclass(frozen=True)
class Term:
    """An author, category or tag: a stable slug and a display name."""

    kind: str  # "author" | "category" | "tag"
    slug: str
    name: str
    # The row id: stable across renames, so surrogate keys (surrogate.py) use it. 0 = unknown.
    id: int = field(default=0, compare=False)

    @property
    def path(self) -> str:
        return f"/{self.kind}/{quote_slug(self.slug)}/"


@dataclass
class Article:
    id: int
    guid: str
    slug: str
    title: str
    summary: str
    body: str
    image_url: str
    image_caption: str
    image_type: str
    image_length: int | None
    author: Term | None
    category: Term | None
    tags: list[Term]
    published: datetime
    updated: datetime
    status: str
    created_by: str = ""
    updated_by: str = ""
    language: str = ""  # BCP 47; "" = the site's language
    # Partners only until then; ``published`` is never earlier (the public sees it from then).
    embargo_until: datetime | None = None

    def is_public(self, now: datetime) -> bool:
        """The store's ``VISIBLE`` rule, for an article in hand: published, and its time has come
        (an embargoed article is published at its embargo time, so this covers embargoes)."""
        return self.status == "published" and self.published <= now

    def under_embargo(self, now: datetime) -> bool:
        """Whether only partners may see this article at ``now``."""
        return self.embargo_until is not None and self.embargo_until > now

    @property
    def path(self) -> str:
        """The permalink path, WordPress style: /yyyy/mm/dd/slug/ (UTC date, so it never moves),
        a valid URI: a slug in another script is percent-encoded."""
        p = self.published
        return f"/{p.year:04d}/{p.month:02d}/{p.day:02d}/{quote_slug(self.slug)}/"

    @property
    def was_updated(self) -> bool:
        return (self.updated - self.published).total_seconds() > 60


@dataclass(frozen=True)
class Scope:
    """What a listing or feed is about: the whole site, one term, a date range or a search."""

    kind: str  # "site" | "category" | "tag" | "author" | "year" | "month" | "day" | "search"
    value: str = ""
    term: Term | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass
class Page:
    """One page of a listing."""

    scope: Scope
    number: int
    per_page: int
    total: int
    articles: list[Article] = field(default_factory=list)

    @property
    def last(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.last

    def window(self, size: int = 2) -> list[int]:
        """Page numbers around the current one, for pagination links."""
        low = max(1, self.number - size)
        high = min(self.last, self.number + size)
        return list(range(low, high + 1))


@dataclass
class SearchHit:
    article: Article
    snippet: str  # HTML: escaped text with <mark> around matches
