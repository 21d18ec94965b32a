"""Full-text search over visible articles (SQLite FTS5, ranked by bm25, with snippets)."""

from __future__ import annotations

import re

from markupsafe import escape

from ..limits import SEARCH_MAX_TERMS
from ..models import SearchHit
from .articles import Articles
from .connection import VISIBLE


def fts_query(text: str) -> str:
    """Turn anything a visitor types into a safe FTS5 query: every word quoted (so FTS syntax
    such as NEAR, -, ^, parentheses or stray quotes is just text), all words required, and a
    trailing * kept as a prefix search."""
    terms = []
    for match in re.finditer(r"(\w+)(\*?)", text or ""):
        word, star = match.groups()
        terms.append(f'"{word}"' + ("*" if star else ""))
        if len(terms) == SEARCH_MAX_TERMS:
            break
    return " ".join(terms)


def _snippet_html(snippet: str) -> str:
    return str(escape(snippet or "")).replace("\x01", "<mark>").replace("\x02", "</mark>")


class Search(Articles):
    def search(self, query: str, number: int, per_page: int) -> tuple[list[SearchHit], int]:
        """Ranked full-text search (bm25) with highlighted snippets; never raises on odd input."""
        match = fts_query(query)
        if not match:
            return [], 0
        params = {"match": match, "now": self.now()}
        # CROSS JOIN keeps the FTS match as the outer loop: with a plain JOIN the planner may
        # walk every visible article and probe the FTS index once per article (~100x slower).
        total = self.conn.execute(
            "SELECT count(*) AS n FROM articles_fts CROSS JOIN articles a ON a.rowid = articles_fts.rowid"
            f" WHERE articles_fts MATCH :match AND a.{VISIBLE}",
            params,
        ).fetchone()["n"]
        rows = self.conn.execute(
            "SELECT a.id, snippet(articles_fts, -1, char(1), char(2), '…', 24) AS snippet"
            " FROM articles_fts CROSS JOIN articles a ON a.rowid = articles_fts.rowid"
            f" WHERE articles_fts MATCH :match AND a.{VISIBLE}"
            " ORDER BY bm25(articles_fts, 10.0, 4.0, 1.0), a.published DESC"
            " LIMIT :limit OFFSET :offset",
            {**params, "limit": per_page, "offset": (number - 1) * per_page},
        ).fetchall()
        articles = {a.id: a for a in self.articles_by_ids([row["id"] for row in rows])}
        hits = [SearchHit(articles[row["id"]], _snippet_html(row["snippet"])) for row in rows if row["id"] in articles]
        return hits, total
