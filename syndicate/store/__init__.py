"""The article store: the only package that speaks SQL.

One module a concept, each a part of the one ``Store`` object the rest of the code uses:

- ``connection``: the connection, its one transaction helper, the clock and change stamps
- ``schema``: the schema, its migrations, health and maintenance
- ``terms``: authors, categories and tags
- ``articles``: reading articles (hydration, lookups, neighbours, export)
- ``writing``: writing articles, slugs and their redirects, imports
- ``listings``: paged listings by page key, archives, sitemaps, the API's change feed
- ``search``: full-text search
- ``tokens``: API tokens and idempotency keys
- ``partners``: partner credentials and their usage per day
- ``feedstats``: feed subscriber counts (requests, 304s, aggregators, distinct pollers per day)
"""

from __future__ import annotations

from .connection import (
    IdempotencyConflict,
    StoreError,
    StoreUnavailable,
    connect,
    from_db,
    to_db,
    transaction,
    utcnow,
)
from .feedstats import FeedStats
from .listings import Listings
from .partners import Partners
from .schema import SCHEMA_VERSION, Schema, migrate
from .search import Search, fts_query
from .tokens import Tokens, token_hash
from .writing import Writing

__all__ = [
    "SCHEMA_VERSION",
    "IdempotencyConflict",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "connect",
    "from_db",
    "fts_query",
    "migrate",
    "to_db",
    "token_hash",
    "transaction",
    "utcnow",
]


class Store(Schema, Writing, Listings, Search, Tokens, FeedStats, Partners):
    """All reads and writes of one database, through one connection (one per thread)."""
