"""Search ranking is bm25 (title 10, summary 4, body 1), then newest first, over visible articles
only, whatever shortcut the store takes to get there: every page of every kind of query is
compared with the plain statement that ranks every match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syndicate.db import get_store
from syndicate.store import search
from syndicate.store.connection import VISIBLE

from .store_support import record

# Today's ranking, written the plain way: every visible match scored and sorted.
REFERENCE = f"""
SELECT a.id FROM articles_fts CROSS JOIN articles a ON a.id = articles_fts.rowid
WHERE articles_fts MATCH :match AND a.{VISIBLE}
ORDER BY bm25(articles_fts, 10.0, 4.0, 1.0), a.published DESC
"""

QUERIES = [
    "said",  # in most articles
    "the",  # in nearly all
    "minister said",  # two common words
    "central bank",  # two words
    '"foreign minister"',  # quotes are text: two words
    "negotia*",  # a word beginning
    "elect* the",  # a word beginning and a common word
    "coastguard",  # rare
    "zebracorn",  # equal scores, and the best-scoring articles hidden
    "zebracorn said",
    "奥运",  # two characters inside unspaced text: a bigram
    "东京奥运会",  # a phrase of bigrams
    "كتاب",  # Arabic spelling, folded to the Persian index form
    "کتاب‌های",  # Persian with a zero-width non-joiner
    "nothingmatchesthis",
]


def _add_varied_articles(store, now: datetime) -> None:
    """Equal-scoring twins at the edge of pages, and drafts and scheduled articles that would
    rank first if they were visible, on top of the demo archive."""
    base = now - timedelta(days=3)
    twin = "<p>A zebracorn was seen near the harbour, officials said.</p>"
    for i in range(40):  # same text, so the same score: only the date orders them (not the id)
        published = (base - timedelta(minutes=(17 * i) % 40)).isoformat()
        store.save_article(record(title="Zebracorn sighting", body=twin, slug=f"twin-{i}", published=published))
    loud = "<p>Zebracorn zebracorn zebracorn, said everyone.</p>"
    for i in range(30):  # hidden: drafts, and articles scheduled for later
        hidden = {"status": "draft"} if i % 2 else {"published": (now + timedelta(days=2, minutes=i)).isoformat()}
        store.save_article(record(title="Zebracorn zebracorn", body=loud, slug=f"hidden-{i}", **hidden))
    scripts = [
        ("东京奥运会今天开幕", "<p>东京奥运会今天开幕，数千名运动员参加。</p>"),
        ("奥运村", "<p>运动员住在奥运村。</p>"),
        ("کتاب فارسی", "<p>وزیر گفت که کتاب‌های تازه در ۱۴۰۵ می‌آیند.</p>"),
        ("الكتاب العربي", "<p>قالَ الوزيرُ إنّ الكِتاب سيُنشر.</p>"),
    ]
    for i, (title, body) in enumerate(scripts):
        published = (base - timedelta(hours=i + 1)).isoformat()
        store.save_article(record(title=title, body=body, slug=f"script-{i}", published=published))


@pytest.fixture
def varied(demo_app):
    with demo_app.app_context():
        store = get_store()
        _add_varied_articles(store, datetime.now(UTC))
        yield store


def _reference(store, query: str) -> list[int]:
    match = search.parse_query(query).match
    if not match:
        return []
    rows = store.conn.execute(REFERENCE, {"match": match, "now": store.now()})
    return [row["id"] for row in rows]


@pytest.mark.parametrize("per_page", [3, 10])
def test_every_page_ranks_as_the_plain_statement(varied, per_page):
    for query in QUERIES:
        expected = _reference(varied, query)
        pages = max(1, -(-len(expected) // per_page))
        # Every page of a short result; the first pages, some middle ones and the last of a long one.
        numbers = sorted({*range(1, min(pages, 6) + 1), pages // 2, pages - 1, pages} - {0})
        for number in numbers:
            results = varied.search(query, number, per_page)
            got = [hit.article.id for hit in results.hits]
            assert got == expected[(number - 1) * per_page : number * per_page], (query, number)
            assert results.total == len(expected) and results.exact, query


def test_capped_counts_keep_the_ranking(varied):
    for query in ("said", "the", "zebracorn"):
        expected = _reference(varied, query)
        for number in (1, 4):
            results = varied.search(query, number, 5, count_cap=20)
            assert [hit.article.id for hit in results.hits] == expected[(number - 1) * 5 : number * 5]
            assert results.total == min(len(expected), 20) and results.exact == (len(expected) <= 20)


def test_the_varied_corpus_reaches_the_cases_that_need_care(varied):
    """The corpus is worth comparing on: twins tie at page edges, and hidden articles outrank
    every visible match (so a shortcut that forgot them would show them, or too few rows)."""
    match = search.parse_query("zebracorn").match
    scores = varied.conn.execute(
        "SELECT rowid AS id, bm25(articles_fts, 10.0, 4.0, 1.0) AS score FROM articles_fts"
        " WHERE articles_fts MATCH :match ORDER BY score",
        {"match": match},
    ).fetchall()
    visible = set(_reference(varied, "zebracorn"))
    assert len(visible) == 40 and len(scores) == 70
    assert {row["id"] for row in scores[:30]}.isdisjoint(visible)
    assert len({row["score"] for row in scores if row["id"] in visible}) == 1
    assert _reference(varied, "奥运") and _reference(varied, "كتاب") == _reference(varied, "کتاب")
