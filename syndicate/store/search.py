"""Full-text search over visible articles (SQLite FTS5, ranked by bm25, with snippets).

Cost is bounded whatever a visitor types: at most ``SEARCH_MAX_TERMS`` words reach the index, a
word beginning (``elect*``) needs ``SEARCH_MIN_PREFIX`` characters, and a query that runs longer
than ``SEARCH_TIME_LIMIT`` seconds of CPU is stopped by SQLite's progress handler (``SearchTooBroad``).
Only the page's rows get a snippet, and matches are counted exactly up to the deepest page
offered, "more than" beyond it.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass, field

from markupsafe import escape

from .. import textnorm
from ..limits import SEARCH_MAX_TERMS, SEARCH_MIN_PREFIX, SEARCH_PHRASE_TOKENS, SEARCH_TIME_LIMIT
from ..models import SearchHit
from .articles import Articles
from .connection import VISIBLE

# How often (in SQLite virtual-machine steps) the progress handler looks at the clock.
PROGRESS_STEPS = 2000
SNIPPET_TOKENS = 24
_WORD = re.compile(r"([^\s*]+)(\*?)")


class SearchTooBroad(Exception):
    """The query could not be answered within the time a search may take."""


@dataclass
class ParsedQuery:
    """A visitor's query as the index sees it, and what was left out of it."""

    match: str  # the FTS5 expression ("" when no word is left)
    short_prefixes: list[str] = field(default_factory=list)  # words whose * was ignored
    dropped: int = 0  # words beyond SEARCH_MAX_TERMS


@dataclass
class SearchResults:
    hits: list[SearchHit]
    total: int  # exact when ``exact``, else a lower bound (the count stopped at a cap)
    exact: bool = True
    query: ParsedQuery | None = None

    def __iter__(self):
        """``hits, total = store.search(...)``, as callers wrote it before the cap."""
        return iter((self.hits, self.total))

    def __getitem__(self, index: int):
        return (self.hits, self.total)[index]


def _words(text: str) -> list[tuple[str, bool]]:
    """Words of a folded query: runs of letters, digits, marks and '_' (everything else, FTS
    syntax included, separates), each with whether a '*' followed it."""
    out = []
    for chunk, star in _WORD.findall(text):
        word = ""
        for char in chunk:
            if textnorm.is_word_char(char) or char == "_":
                word += char
            elif word:
                out.append((word, False))
                word = ""
        if word:
            out.append((word, bool(star)))
    return out


def _tokens(word: str) -> tuple[list[str], bool]:
    """The index tokens of one query word, and whether its last one must be a prefix (a lone
    unspaced character at the end, which the index holds only inside its bigrams)."""
    parts = []
    pos = 0
    for run in textnorm.UNSPACED_RUN.finditer(word):
        if run.start() > pos:
            parts.append(word[pos : run.start()])
        chars = run.group()
        at_end = run.end() == len(word)
        if len(chars) == 1:
            parts.append(chars)
            if at_end:
                return parts, True
        else:
            pairs = textnorm.bigrams(chars)
            parts.extend(pairs[:-1] if at_end else pairs)
        pos = run.end()
    if pos < len(word):
        parts.append(word[pos:])
    return parts, False


def parse_query(text: str) -> ParsedQuery:
    """Turn anything a visitor types into a safe FTS5 query: every word quoted (so FTS syntax
    such as NEAR, -, ^, parentheses or stray quotes is just text), all words required, a
    trailing * kept as a prefix search when the word is long enough, letters folded as the
    index folds them, and words of unspaced scripts turned into phrases of bigrams."""
    parsed = ParsedQuery("")
    terms = []
    for word, star in _words(textnorm.fold(text or "")):
        if len(terms) == SEARCH_MAX_TERMS:
            parsed.dropped += 1
            continue
        tokens, must_prefix = _tokens(word)
        tokens = tokens[:SEARCH_PHRASE_TOKENS]
        if star and not must_prefix and len(word) < SEARCH_MIN_PREFIX and not textnorm.UNSPACED_RUN.search(word):
            parsed.short_prefixes.append(word)
            star = False
        terms.append('"' + " ".join(tokens) + '"' + ("*" if star or must_prefix else ""))
    parsed.match = " ".join(terms)
    return parsed


def fts_query(text: str) -> str:
    """The FTS5 expression for ``text`` (see ``parse_query``)."""
    return parse_query(text).match


def _snippet_html(snippet: str) -> str:
    text = textnorm.unindexed(snippet or "")
    return str(escape(text)).replace("\x01", "<mark>").replace("\x02", "</mark>")


# Ranking costs about a microsecond a match inside FTS5 (bm25 decodes each match's positions and
# reads its length) and cannot be skipped while the order stays bm25's: see bench/README.md,
# "Search at any selectivity". What can be skipped is checking visibility for every match: the
# best ``:n`` matches are taken on score alone (``top``), and only those are looked up among the
# articles, ordered exactly as a search is (score, then newest first) and cut to the page. The
# caller then checks that the cut could not have lost a row of the page (``_complete``); when it
# could (hidden articles or equal scores at the edge) it asks again with no cut. Only the page's
# rows get a snippet: the snippet reads and re-tokenises a whole article. CROSS JOIN keeps each
# loop where it is written; INDEXED BY looks visibility up in a narrow index instead of the wide
# article rows (whose status and dates sit behind the body).
_PAGE = f"""
WITH top AS MATERIALIZED (
    SELECT rowid AS id, bm25(articles_fts, 10.0, 4.0, 1.0) AS score
    FROM articles_fts WHERE articles_fts MATCH :match ORDER BY score LIMIT :n
), page AS MATERIALIZED (
    SELECT top.id, top.score, a.published
    FROM top CROSS JOIN articles a INDEXED BY articles_visible ON a.id = top.id
    WHERE a.{VISIBLE}
    ORDER BY top.score, a.published DESC LIMIT :limit OFFSET :offset
)
SELECT page.id, page.score, (SELECT count(*) FROM top) AS taken, (SELECT max(score) FROM top) AS edge,
    snippet(articles_fts, -1, char(1), char(2), '…', {SNIPPET_TOKENS}) AS snippet
FROM page CROSS JOIN articles_fts ON articles_fts.rowid = page.id
WHERE articles_fts MATCH :match
ORDER BY page.score, page.published DESC
"""
# Matches taken on score alone for a page: the page's and those before it, twice over (room for
# hidden articles among the best) and a few more.
_HEADROOM = 2
_SLACK = 16
_COUNT = f"""
SELECT count(*) AS n FROM (
    SELECT 1 FROM articles_fts CROSS JOIN articles a INDEXED BY articles_visible
    ON a.id = articles_fts.rowid WHERE articles_fts MATCH :match AND a.{VISIBLE} LIMIT :cap)
"""


def _complete(rows: list[sqlite3.Row], expected: int, n: int) -> bool:
    """Whether a page cut from the best ``n`` matches is the page an uncut ranking gives: it has
    every row it should, and either no match was left out or each of its rows scores strictly
    better than the worst match kept (so nothing left out could rank before or beside it)."""
    if len(rows) < expected:
        return False
    if not rows:
        return True
    return rows[0]["taken"] < n or rows[-1]["score"] < rows[0]["edge"]


class Search(Articles):
    def search(self, query: str, number: int, per_page: int, *, count_cap: int | None = None) -> SearchResults:
        """Ranked full-text search (bm25) with highlighted snippets; never raises on odd input.

        Matches are counted up to ``count_cap`` (default: every one); ``SearchTooBroad`` when the
        query runs out of time."""
        parsed = parse_query(query)
        if not parsed.match:
            return SearchResults([], 0, query=parsed)
        params = {"match": parsed.match, "now": self.now()}
        cap = -1 if count_cap is None else count_cap + 1
        with self._time_limit():
            total = self.conn.execute(_COUNT, {**params, "cap": cap}).fetchone()["n"]
            rows = []
            offset = (number - 1) * per_page
            if total > offset:
                rows = self._ranked_page(params, offset, per_page, min(per_page, total - offset))
        exact = count_cap is None or total <= count_cap
        articles = {a.id: a for a in self.articles_by_ids([row["id"] for row in rows])}
        hits = [SearchHit(articles[row["id"]], _snippet_html(row["snippet"])) for row in rows if row["id"] in articles]
        return SearchResults(hits, total if exact else count_cap, exact, parsed)

    def _ranked_page(self, params: dict, offset: int, limit: int, expected: int) -> list[sqlite3.Row]:
        """The page's rows (id, score, snippet) in search order: cut from the best matches on
        score first, and ranked again without the cut when the cut might have lost a row."""
        page = {**params, "limit": limit, "offset": offset}
        n = (offset + limit) * _HEADROOM + _SLACK
        rows = self.conn.execute(_PAGE, {**page, "n": n}).fetchall()
        if not _complete(rows, expected, n):
            rows = self.conn.execute(_PAGE, {**page, "n": -1}).fetchall()
        return rows

    def _time_limit(self):
        return _TimeLimit(self.conn, SEARCH_TIME_LIMIT)


class _TimeLimit:
    """Stops any statement of the block once ``seconds`` have passed (SQLite's progress
    handler), turning SQLite's "interrupted" into ``SearchTooBroad``."""

    def __init__(self, conn: sqlite3.Connection, seconds: float) -> None:
        self.conn = conn
        self.seconds = seconds

    def __enter__(self) -> None:
        # CPU time of this thread (SQLite runs in it): a busy machine does not turn a fair query
        # into a refused one, and the bound is on what a search costs the server.
        deadline = time.thread_time() + self.seconds
        self.conn.set_progress_handler(lambda: time.thread_time() > deadline, PROGRESS_STEPS)

    def __exit__(self, kind, error, traceback) -> bool:
        self.conn.set_progress_handler(None, 0)
        if isinstance(error, sqlite3.OperationalError) and "interrupted" in str(error):
            raise SearchTooBroad from error
        return False
