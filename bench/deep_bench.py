"""Deep and big archives (issue 12, goal 6), in process, cache off (``NullCache``):

- page 2 and page 10,000 of the front-page listing (and of its RSS feed), cold: the first
  request of a fresh app (which computes the page keys once and makes every card and feed item
  for the first time; the process has rendered other pages first, so imports and the OS's file
  cache are not counted against whichever page comes first), then the median of later renders;
- the RFC 5005 archive walk: from /feed/ follow ``prev-archive`` links to the oldest archive
  document, parsing each one, and count documents and entries.

    python bench/deep_bench.py [--articles 200000] [--repeat 30] [--base /tmp/perf-base]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

CHILD = r"""
import json, re, statistics, sys, time
from syndicate import create_app
db, repeat, deep = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = {}
# Pay what every first request of the process pays (imports, compiled templates, the OS's
# cache of the file) on other pages, so "first" below is the cold cost of each page alone.
warm = create_app({"DATABASE": db, "CACHE_TYPE": "NullCache", "SITE_URL": "https://news.example.com"})
for path in ("/page/7/", "/feed/?page=7", "/page/5000/", "/feed/?page=2500"):
    warm.test_client().get(path)
for label, path in (("page 2", "/page/2/"), (f"page {deep:,}", f"/page/{deep}/"),
                    ("feed page 2", "/feed/?page=2"), (f"feed page {deep // 2:,}", f"/feed/?page={deep // 2}")):
    app = create_app({"DATABASE": db, "CACHE_TYPE": "NullCache", "SITE_URL": "https://news.example.com"})
    client = app.test_client()
    start = time.perf_counter(); r = client.get(path); first = time.perf_counter() - start
    assert r.status_code == 200, (path, r.status_code)
    times = []
    for _ in range(repeat):
        start = time.perf_counter(); client.get(path); times.append(time.perf_counter() - start)
    out[label] = (first * 1000, statistics.median(times) * 1000)
if len(sys.argv) > 4:
    app = create_app({"DATABASE": db, "CACHE_TYPE": "NullCache", "SITE_URL": "https://news.example.com"})
    client = app.test_client()
    start = time.perf_counter()
    url, documents, entries = "/feed/", 0, 0
    while url:
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        documents += 1
        entries += r.data.count(b"<item>")
        m = re.search(rb'<atom:link[^>]*rel="prev-archive"[^>]*href="https://news.example.com([^"]+)"', r.data) or \
            re.search(rb'<atom:link[^>]*href="https://news.example.com([^"]+)"[^>]*rel="prev-archive"', r.data)
        url = m.group(1).decode() if m else None
    out["walk"] = (documents, entries, time.perf_counter() - start)
print(json.dumps(out))
"""


def big_archive(articles: int) -> Path:
    """``articles`` articles made from the 12,000-article demo archive: the demo plus copies of
    it, each copy's dates moved 200 days further back (interleaved timelines, all after 2013),
    with fresh ids, guids and slugs; tags, search index (FTS triggers) and all. Seconds to build,
    where ``syndicate demo --articles 200000`` takes over an hour on this machine."""
    import sqlite3

    path = harness.OUT / f"big{articles // 1000}k.db"
    if path.exists():
        return path
    source = harness.demo_db()
    tmp = path.with_suffix(".tmp.db")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(tmp) as dst:
        src.backup(dst)
    conn = sqlite3.connect(tmp)
    stride = conn.execute("SELECT max(id) FROM articles").fetchone()[0] + 1
    shift = "strftime('%Y-%m-%dT%H:%M:%S+00:00', julianday({col}) - :days)"
    columns = (
        "title, summary, body, body_text, image_url, image_caption, image_type, image_length, author_id, category_id"
    )
    copy = 1
    with conn:
        while (have := conn.execute("SELECT count(*) FROM articles").fetchone()[0]) < articles:
            params = {"offset": copy * stride, "days": copy * 200, "suffix": f"-{copy}", "stride": stride}
            conn.execute(
                f"INSERT INTO articles (id, guid, slug, {columns}, published, updated, status)"
                f" SELECT id + :offset, guid || :suffix, slug || :suffix, {columns},"
                f" {shift.format(col='published')}, {shift.format(col='updated')}, status"
                " FROM articles WHERE id < :stride ORDER BY id LIMIT :limit",
                {**params, "limit": articles - have},
            )
            conn.execute(
                f"INSERT INTO article_tags (article_id, tag_id, published, status)"
                f" SELECT x.article_id + :offset, x.tag_id, {shift.format(col='x.published')}, x.status"
                " FROM article_tags x JOIN articles a ON a.id = x.article_id + :offset WHERE x.article_id < :stride",
                params,
            )
            copy += 1
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    tmp.rename(path)
    return path


def run(root: Path, db: Path, repeat: int, deep: int, walk: bool) -> dict:
    env = harness.child_env()
    env["PYTHONPATH"] = str(root)
    args = [harness.PYTHON, "-c", CHILD, str(db), str(repeat), str(deep)] + (["walk"] if walk else [])
    result = subprocess.run(args, env=env, cwd=root, capture_output=True, text=True, check=True)
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--base", type=Path)
    parser.add_argument("--no-walk", action="store_true")
    args = parser.parse_args()
    db = big_archive(args.articles)
    deep = min(10_000, args.articles // 10 - 1)
    print(f"# deep_bench: {db.name}, NullCache, in process; {harness.stamp()}, {harness.machine()}\n")
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="deep-bench-", dir=harness.OUT))
    for name, root in (("this", harness.ROOT), *((("base", args.base),) if args.base else ())):
        # Each checkout on its own copy: each migrates what it opens to its own schema, and an
        # older checkout refuses a database a newer one has migrated.
        copy = harness.private_copy(db, folder, name)
        try:
            figures = run(root, copy, args.repeat, deep, walk=not args.no_walk and name == "this")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
        walk = figures.pop("walk", None)
        labels = list(figures)
        for label in labels:
            first, median = figures[label]
            rows.append([name, label, f"{first:.1f}", f"{median:.2f}"])
        for shallow, deeper in ((labels[0], labels[1]), (labels[2], labels[3])):
            ratio = figures[deeper][1] / figures[shallow][1]
            rows.append([name, f"{deeper} / {shallow}", "", f"**{ratio:.2f}x**"])
        if walk:
            documents, entries, seconds = walk
            rows.append([name, f"archive walk: {documents:,} documents, {entries:,} entries", f"{seconds:.1f} s",
                         f"{seconds / documents * 1000:.2f} ms a document"])  # fmt: skip
    folder.rmdir()
    print(harness.table(["code", "request", "first (fresh app) ms", "median ms"], rows))
    return 0


if __name__ == "__main__":
    start = time.monotonic()
    code = main()
    print(f"\n# took {time.monotonic() - start:.0f} s", file=sys.stderr)
    sys.exit(code)
