"""Store listing cost: page 1 against a deep page, for every kind of listing, on the
12,000-article demo archive.

``Store.page`` seeks straight to a page through keys computed once per content version
(see syndicate/store.py), so a deep page should cost about the same as page 1. For contrast,
the same pages fetched the naive way (``LIMIT 10 OFFSET n``, written here: this is a
measurement, not app code), whose cost grows with the page number.

    /work/venv/bin/python bench/store_bench.py [--repeat 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from syndicate.models import Scope  # noqa: E402
from syndicate.store import Store, listings  # noqa: E402

PER_PAGE = 10
SITE_DEEP_PAGE = 1107


def busiest(store: Store, kind: str) -> Scope:
    """The term of ``kind`` with the most visible articles (the deepest listing)."""
    term, _count = max(store.terms(kind, with_counts=True), key=lambda pair: pair[1])
    return Scope(kind, term.slug, term)


def busiest_month(store: Store) -> Scope:
    year, month, _count = max(store.months(), key=lambda row: row[2])
    return Scope("month", f"{year:04d}-{month:02d}")


def naive_page(store: Store, scope: Scope, number: int) -> list:
    """The OFFSET way: SQLite walks and throws away (number - 1) * PER_PAGE index entries."""
    listing = store._listing(scope, store.now())
    p, i = listing.published, listing.ident
    sql = (
        f"SELECT {i} AS id FROM {listing.table} WHERE {listing.where} AND {p} <= :now"
        f" ORDER BY {p} DESC, {i} DESC LIMIT :limit OFFSET :offset"
    )
    params = {**listing.params, "limit": PER_PAGE, "offset": (number - 1) * PER_PAGE}
    ids = [row["id"] for row in store.conn.execute(sql, params)]
    return store.articles_by_ids(ids)


def page_keys_cost(store: Store, scope: Scope, repeat: int) -> float:
    """The one-off computation of every page key of ``scope`` (paid once per content version)."""

    def compute() -> None:
        listings._PAGE_KEYS.data.clear()  # force the computation: that is what is measured
        store.page_keys(scope, PER_PAGE)

    return harness.median_time(compute, repeat=repeat, warmup=2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1000, help="timed calls per figure (median reported)")
    parser.add_argument("--database", type=Path, help="demo archive (default: bench/out/demo12k.db, built if missing)")
    args = parser.parse_args(argv)

    path = args.database or harness.demo_db()
    store = Store(str(path))
    scopes = [
        ("site", Scope("site")),
        ("category", busiest(store, "category")),
        ("tag", busiest(store, "tag")),
        ("author", busiest(store, "author")),
        ("month", busiest_month(store)),
    ]
    print(f"# store_bench: {path.name}, {store.count(Scope('site'))} visible articles, {PER_PAGE} a page")
    print(f"# {harness.stamp()}, {harness.machine()}, median of {args.repeat} calls\n")

    rows, naive_rows, key_rows = [], [], []
    for label, scope in scopes:
        last = len(store.page_keys(scope, PER_PAGE))
        deep = [SITE_DEEP_PAGE, last] if label == "site" else [last]
        name = f"{label} {scope.value}".strip()
        first = harness.median_time(lambda s=scope: store.page(s, 1, PER_PAGE), repeat=args.repeat)
        naive_first = harness.median_time(lambda s=scope: naive_page(store, s, 1), repeat=args.repeat)
        for number in deep:
            shown = len(store.page(scope, number, PER_PAGE).articles)
            assert shown, f"{name} page {number} is empty"
            t = harness.median_time(lambda s=scope, n=number: store.page(s, n, PER_PAGE), repeat=args.repeat)
            rows.append([name, number, shown, f"{first * 1e3:.3f}", f"{t * 1e3:.3f}", f"{t / first:.2f}"])
            t = harness.median_time(lambda s=scope, n=number: naive_page(store, s, n), repeat=args.repeat)
            naive_rows.append([name, number, f"{naive_first * 1e3:.3f}", f"{t * 1e3:.3f}", f"{t / naive_first:.2f}"])
        cost = page_keys_cost(store, scope, max(10, args.repeat // 10))
        key_rows.append([name, last, f"{cost * 1e3:.2f}"])

    print("## Store.page (keyset paging)\n")
    print(harness.table(["listing", "deep page", "articles on it", "page 1 ms", "deep page ms", "ratio deep/1"], rows))
    print("\n## Naive LIMIT/OFFSET, same pages, same hydration (for comparison)\n")
    print(harness.table(["listing", "deep page", "page 1 ms", "deep page ms", "ratio deep/1"], naive_rows))
    print("\n## One-off page-key computation (once per content version and listing)\n")
    print(harness.table(["listing", "pages", "ms"], key_rows))
    store.close()


if __name__ == "__main__":
    main()
