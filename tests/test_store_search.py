"""Full-text search: any input is safe, and the index follows every write."""

from __future__ import annotations

from syndicate.db import get_store
from syndicate.store import fts_query

from .store_support import record


def test_search_handles_any_input(demo_app):

    with demo_app.app_context():
        store = get_store()
        hits, total = store.search("ceasefire", 1, 10)
        assert total > 0 and "<mark>" in hits[0].snippet.lower()
        for nasty in ['"', "NEAR(", "a OR", "-", "((", "*", "title:x", "'; DROP TABLE articles; --", "\x00", ""]:
            store.search(nasty, 1, 10)  # must not raise
        assert tuple(store.search("", 1, 10)) == ([], 0)


def test_search_stays_in_sync_with_writes(store):
    article, _ = store.save_article(record(body="<p>A unique zebracorn sighting.</p>"))
    assert store.search("zebracorn", 1, 10)[1] == 1
    store.save_article(record(guid=article.guid, body="<p>Nothing to see.</p>"))
    assert store.search("zebracorn", 1, 10)[1] == 0
    store.delete_article_with(article.guid, lambda current: None)
    assert store.search("nothing", 1, 10)[1] == 0


def test_a_query_reaches_the_index_as_quoted_words_at_most_twelve():
    # A one-letter word beginning ("y*") would expand to every word in y: searched as a word.
    assert fts_query('NEAR(a b) "x" -y* z elect*') == '"NEAR" "a" "b" "x" "y" "z" "elect"*'
    assert fts_query(" ".join(f"w{i}*" for i in range(20))).count('"') == 24
