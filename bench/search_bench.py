"""Search cost at every selectivity, before vs after, on the 12k and 200k demo archives.

    python bench/search_bench.py --base /tmp/search-base --db12k A.db --db200k B.db

``--base`` is a checkout of the code to compare against (``git worktree add /tmp/search-base
main``); the databases are demo archives built by that code (``syndicate demo --until
2026-12-01``, and ``--articles 200000``). Each archive is copied once beside itself
(``*.after.db``) and migrated by this checkout, so both sides search the same articles.

For each query kind it prints the median server time of a search (the store's ``search()``
and the whole uncached request through the app, NullCache, first result page) and the ratio
before/after. Both sides run in child processes of this one, one after the other, so they share
the machine's load. Figures are printed, never asserted.

    python bench/search_bench.py --db12k A.db --db200k B.db --breakdown said the coastguard

times each part of those words' search alone (the match, the visibility join, the length
lookups, bm25, the sort) and bm25's cost per match.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parent.parent

QUERIES = {
    "common (the)": "the",
    "common (said)": "said",
    "common (year)": "year",
    "three common (the year said)": "the year said",
    "common, page 50 (said)": ("said", 50),
    "rare (117)": "117",
    "rare word (coastguard)": "coastguard",
    "prefix (negotia*)": "negotia*",
    "two words (central bank)": "central bank",
    "phrase-ish (foreign minister said)": "foreign minister said",
    "12 one-letter prefixes": "a* b* c* d* e* f* g* h* i* j* k* l*",
}


def _child(db: str, runs: int) -> None:
    """Runs inside a child whose PYTHONPATH puts the measured checkout first."""
    from syndicate import create_app

    app = create_app({"DATABASE": db, "SITE_URL": "https://news.example.com", "CACHE_TYPE": "NullCache"})
    client = app.test_client()
    out = {}
    with app.app_context():
        from syndicate.db import get_store

        store = get_store()
        for label, query in QUERIES.items():
            q, number = query if isinstance(query, tuple) else (query, 1)
            per_page = app.config["PER_PAGE"]
            store_times, request_times, total, status, ids = [], [], 0, 0, []
            for _ in range(runs):
                t0 = time.perf_counter()
                try:
                    hits, total = store.search(q, number, per_page, count_cap=per_page * 100)
                    ids = [hit.article.guid for hit in hits]
                except Exception as error:  # the bounded search refuses some queries
                    total = type(error).__name__
                store_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                response = client.get(f"/search?q={quote_plus(q)}&page={number}")
                request_times.append(time.perf_counter() - t0)
                status = response.status_code
            out[label] = {
                "store_ms": statistics.median(store_times) * 1000,
                "request_ms": statistics.median(request_times) * 1000,
                "total": total,
                "status": status,
                "ids": ids,
            }
    print(json.dumps(out))


# Where a common word's search time goes (``--breakdown``): each statement alone, on the archive.
_VISIBLE = "a.status = 'published' AND a.published <= :now"
_JOIN = "CROSS JOIN articles a INDEXED BY articles_visible ON a.id = articles_fts.rowid"
_BM25 = "bm25(articles_fts, 10.0, 4.0, 1.0)"
BREAKDOWN = {
    "match, counted": "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH :m",
    "match + visibility join, counted": f"SELECT count(*) FROM articles_fts {_JOIN} WHERE articles_fts MATCH :m"
    f" AND {_VISIBLE}",
    "match + docsize row per match": "SELECT count(d.sz) FROM articles_fts CROSS JOIN articles_fts_docsize d"
    " ON d.id = articles_fts.rowid WHERE articles_fts MATCH :m",
    "bm25 of every match (no sort)": f"SELECT max(s) FROM (SELECT {_BM25} AS s FROM articles_fts"
    " WHERE articles_fts MATCH :m LIMIT -1)",
    "bm25 top 20 (sort, no join)": f"SELECT rowid FROM articles_fts WHERE articles_fts MATCH :m"
    f" ORDER BY {_BM25} LIMIT 20",
    "bm25 top 20 + join (main's order)": f"SELECT a.id FROM articles_fts {_JOIN} WHERE articles_fts MATCH :m"
    f" AND {_VISIBLE} ORDER BY {_BM25}, a.published DESC LIMIT 20",
}


def breakdown(db: Path, words: list[str], runs: int) -> None:
    """Prints the median of each BREAKDOWN statement per word, and bm25's cost per match."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    print(f"\n{db.name}: median ms of {runs} runs")
    for word in words:
        matches = conn.execute(BREAKDOWN["match, counted"], {"m": word}).fetchone()[0]
        print(f"{word!r}: {matches} matches")
        for label, sql in BREAKDOWN.items():
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                conn.execute(sql, {"m": word, "now": now}).fetchall()
                times.append(time.perf_counter() - t0)
            ms = statistics.median(times) * 1000
            print(f"  {label:36} {ms:8.2f} ms  ({ms * 1000 / max(1, matches):.2f} µs per match)")


def _measure(code: Path, db: Path, runs: int) -> dict:
    env = {"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(db), "--runs", str(runs)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=code,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _after_copy(db: Path) -> Path:
    """The archive copied and migrated by this checkout (once), unless it already has this
    checkout's schema (then both sides search the same file)."""
    sys.path.insert(0, str(ROOT))
    from syndicate.store.schema import SCHEMA_VERSION

    with sqlite3.connect(db) as conn:
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return db
    after = db.with_suffix(".after.db")
    if not after.exists():
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy(db, after)
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "syndicate", "--database", str(after), "init"],
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            check=True,
            cwd=ROOT,
        )
        print(f"migrated {after.name} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="checkout of the code to compare with (main)")
    parser.add_argument("--db12k", type=Path)
    parser.add_argument("--db200k", type=Path)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--breakdown", nargs="*", metavar="WORD", help="only time the parts of these words' search")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.runs)
        return
    if args.breakdown is not None:
        for db in (args.db12k, args.db200k):
            if db is not None:
                breakdown(db, args.breakdown or ["said", "the", "coastguard"], args.runs)
        return
    for name, db, runs in (("12k", args.db12k, args.runs), ("200k", args.db200k, max(3, args.runs // 3))):
        if db is None:
            continue
        after_db = _after_copy(db)
        before = _measure(args.base, db, runs) if args.base else None
        after = _measure(ROOT, after_db, runs)
        print(f"\n{name} archive: median ms per search (store search() / whole uncached request), {runs} runs")
        print(f"{'query':38} {'before':>17} {'after':>17} {'ratio':>7}  matches before/after")
        for label, a in after.items():
            b = before[label] if before else None
            bs = f"{b['store_ms']:7.1f} /{b['request_ms']:7.1f}" if b else "-"
            ratio = f"{b['request_ms'] / a['request_ms']:6.1f}x" if b else "-"
            counts = f"{b['total'] if b else '-'} / {a['total']} (HTTP {a['status']})"
            if b:
                counts += ", first page same" if b["ids"] == a["ids"] else ", first page DIFFERS"
            print(f"{label:38} {bs:>17} {a['store_ms']:7.1f} /{a['request_ms']:7.1f} {ratio:>7}  {counts}")


if __name__ == "__main__":
    main()
