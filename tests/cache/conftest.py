"""Fixtures of the cache's tests: an app with the test views and a small in-process cache, its
client, and another connection writing to the same database file."""

from __future__ import annotations

import pytest

from syndicate.store import Store

from .views import build


@pytest.fixture
def cached_app(db_copy):
    return build(db_copy, CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=10)


@pytest.fixture
def client(cached_app):
    return cached_app.test_client()


@pytest.fixture
def writer(db_copy):
    """Another connection to the same database file, as the API or an import would write."""
    store = Store(str(db_copy))
    yield store
    store.close()
