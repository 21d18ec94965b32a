"""Feed generation speed on a cold cache: median time to build each format (20 items, full
content) on a 12,000-article demo archive, how much of it is feedgen, and the time to walk the
whole site archive (RFC 5005) as a partner would.

    PYTHONPATH=. /work/venv/bin/python bench/feeds_bench.py [--articles 12000] [--repeat 30]

The demo database is generated once and kept in the system temp folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syndicate import create_app, feeds, feedwriters  # noqa: E402
from syndicate.db import get_store  # noqa: E402
from syndicate.models import Scope  # noqa: E402

SUFFIX = {"rss": "/feed/", "atom": "/feed/atom/", "json": "/feed/json/"}


def app_for(articles: int):
    path = Path(tempfile.gettempdir()) / f"syndicate-feeds-bench-{articles}.db"
    config = {"DATABASE": str(path), "SITE_URL": "https://news.example.com", "CACHE_TYPE": "NullCache"}
    app = create_app(config)
    if not path.with_suffix(".done").exists():
        print(f"generating a {articles}-article demo archive in {path} (once)...", flush=True)
        result = app.test_cli_runner().invoke(args=["demo", "--articles", str(articles), "--seed", "7"])
        assert result.exit_code == 0, result.output
        path.with_suffix(".done").write_text("ok")
    return app


def median_ms(func, repeat: int) -> float:
    func()  # warm: imports, page-key cache, SQLite page cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=12_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    app = app_for(args.articles)
    client = app.test_client()

    print(
        f"\nSite feed, {app.config['FEED_ITEMS']} items, full content, {args.articles} articles"
        f" (median of {args.repeat})"
    )
    print(f"{'format':<6} {'request ms':>11} {'writer ms':>10} {'model ms':>9} {'bytes':>8}")
    with app.test_request_context("/feed/"):
        store = get_store()
        articles = store.page(Scope("site"), 1, app.config["FEED_ITEMS"]).articles
        model_ms = median_ms(lambda: feeds._new_doc(Scope("site"), "rss", articles, "https://x/"), args.repeat)
        doc = feeds._new_doc(Scope("site"), "rss", articles, "https://news.example.com/feed/")
        writer = {fmt: median_ms(lambda fmt=fmt: feedwriters.write(doc, fmt), args.repeat) for fmt in SUFFIX}
        sizes = {fmt: len(feedwriters.write(doc, fmt)) for fmt in SUFFIX}
    request = {fmt: median_ms(lambda fmt=fmt: client.get(SUFFIX[fmt]), args.repeat) for fmt in SUFFIX}
    for fmt in SUFFIX:
        print(f"{fmt:<6} {request[fmt]:>11.2f} {writer[fmt]:>10.2f} {model_ms:>9.2f} {sizes[fmt]:>8}")
    print(
        f"feedgen (RSS/Atom writer) vs plain json writer: {writer['rss'] / writer['json']:.1f}x / "
        f"{writer['atom'] / writer['json']:.1f}x; writer share of the RSS request: {writer['rss'] / request['rss']:.0%}"
    )

    print("\nWalking the whole site archive (subscription document + every prev-archive)")
    for fmt in ("rss", "atom"):
        start = time.perf_counter()
        docs = entries = 0
        response = client.get(SUFFIX[fmt])
        while True:
            docs += 1
            entries += response.data.count(b"<item>" if fmt == "rss" else b"<entry>")
            rel = feedwriters_links(response.data)
            if "prev-archive" not in rel:
                break
            response = client.get(rel["prev-archive"].removeprefix("https://news.example.com"))
        elapsed = time.perf_counter() - start
        print(
            f"{fmt:<6} {docs} documents, {entries} entries in {elapsed:.2f} s"
            f" ({elapsed / docs * 1000:.1f} ms a document)"
        )


def feedwriters_links(body: bytes) -> dict[str, str]:
    from lxml import etree

    root = etree.fromstring(body)
    found = root.iter("{http://www.w3.org/2005/Atom}link")
    return {link.get("rel"): link.get("href") for link in found if link.getparent() in (root, root.find("channel"))}


if __name__ == "__main__":
    main()
