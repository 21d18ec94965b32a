"""A demo archive of any size is accepted by the input gate: `syndicate demo --articles 200000`
(the size the performance goals are measured on) starts after 1970, the earliest year allowed."""

from __future__ import annotations

from datetime import UTC, datetime

from syndicate import demo
from syndicate.validation import article_record


def test_a_200k_demo_starts_after_1970_and_passes_the_gate():
    until = datetime(2026, 12, 1, tzinfo=UTC)
    first = next(demo.articles(200_000, 1107, until, "https://news.example.com"))
    assert article_record(first, now=until).published.year >= 1971


def test_small_demos_keep_eight_articles_a_day():
    until = datetime(2026, 12, 1, tzinfo=UTC)
    first = next(demo.articles(12_000, 1107, until, "https://news.example.com"))
    assert (until - datetime.fromisoformat(first["published"])).days in range(1499, 1501)
