"""What a miss costs, part by part (issue 12, goal 1): wall microseconds per request in process,
with one thread and with as many threads as ``syndicate serve`` runs, beside a bare WSGI app and
a Flask view of ours that returns fixed bytes (every hook, no work).

Parts, each the median of ``--rounds`` timed loops (NullCache, the 12,000-article demo):
- ``bare WSGI``: a function returning a fixed body (what bench/floor.py does per request);
- ``Flask, fixed bytes``: a route added to the real app (create_app: every before/after_request
  hook, the security headers, validators, surrogate keys...) returning a body of the page's size;
- ``store.page``: the listing's SQL and hydration alone (10 articles for the listing, 20 for the
  feed), on the app's per-thread store;
- ``render``: the listing's template (with the page in hand) and, for the feed, writing the
  document (entries and channel kept: what a miss pays when they were made before);
- ``whole miss``: the real request through the WSGI app;
- the same request from ``--threads`` threads at once: what the GIL costs when the store lets it
  go at every SQLite call (context switches per request are printed).

    python bench/miss_parts.py [--database bench/out/demo12k.db] [--rounds 5] [--threads 8]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import demo_db  # noqa: E402
from bench.miss_profile import call  # noqa: E402

LISTING, FEED = "/page/3/", "/feed/"


def per_call(fn, loops: int, rounds: int) -> float:
    """Median over ``rounds`` of the mean wall µs of ``loops`` calls."""
    for _ in range(min(loops, 20)):
        fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter() - start) / loops * 1e6)
    return statistics.median(times)


def threaded(app, path: str, threads: int, per_thread: int) -> tuple[float, float, float]:
    """(wall µs, CPU µs, voluntary context switches) per request, ``threads`` at once."""

    def worker() -> None:
        for _ in range(per_thread):
            call(app, path, "")

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    n = threads * per_thread
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall / n * 1e6, cpu / n * 1e6, (after.ru_nvcsw - before.ru_nvcsw) / n


def parts(app, path: str, size: int, args: argparse.Namespace) -> list[tuple[str, float, list | None]]:
    """The rows of one target: ``size`` articles a page (10: listing page 3; 20: feed page 1)."""
    from flask import render_template

    from syndicate import feeds, site
    from syndicate.db import get_store
    from syndicate.feedwriters import write
    from syndicate.fragments import fragments
    from syndicate.models import Scope

    wsgi, label = app.wsgi_app, path
    body_size = len(call(wsgi, path, ""))
    fixed = f"/__fixed__/{body_size}/"
    rows = [(f"{label}: Flask, fixed bytes", per_call(lambda: call(wsgi, fixed, ""), args.loops, args.rounds), None)]
    number = 3 if size == 10 else 1
    with app.test_request_context(path):
        store = get_store()
        page = store.page(Scope("site"), number, size)
        fetch = per_call(lambda: store.page(Scope("site"), number, size), args.loops, args.rounds)
        rows.append((f"{label}: store.page", fetch, None))
        if size == 10:
            context = {
                "page": page, "heading": "Latest news", "crumbs": [("Home", "/"), ("Blog", "/"), ("Page 3", "")],
                "feeds": site._feeds(Scope("site"), ""), "canonical": "https://x/page/3/",
                "prev_url": "/page/2/", "next_url": "/page/4/",
            }  # fmt: skip

            def render() -> object:
                return render_template("front.html", **context)
        else:
            keep = getattr(fragments(), "channels", None)  # channels kept (absent before they were)

            def render() -> object:
                doc = feeds._new_doc(Scope("site"), "rss", page.articles, "https://x/feed/")
                return write(doc, "rss", keep) if keep is not None else write(doc, "rss")

        rows.append((f"{label}: render (pieces kept)", per_call(render, args.loops, args.rounds), None))
    rows.append(
        (f"{label}: whole miss, 1 thread", per_call(lambda: call(wsgi, path, ""), args.loops, args.rounds), None)
    )
    runs = [threaded(wsgi, path, args.threads, max(1, args.loops // args.threads)) for _ in range(args.rounds)]
    rows.append((f"{label}: whole miss, {args.threads} threads", statistics.median(r[0] for r in runs), runs))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loops", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    from flask import Response

    from syndicate import create_app

    app = create_app({"DATABASE": str(args.database or demo_db()), "CACHE_TYPE": "NullCache"})

    @app.get("/__fixed__/<int:size>/")
    def fixed(size: int) -> Response:
        return Response(b"x" * size, mimetype="text/html")

    def bare(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"x"]

    rows = [("bare WSGI", per_call(lambda: call(bare, "/", ""), args.loops, args.rounds), None)]
    rows += parts(app, LISTING, 10, args) + parts(app, FEED, 20, args)
    print("| part | wall µs / request | CPU µs / request | voluntary context switches / request |")
    print("|---|---|---|---|")
    for label, wall, runs in rows:
        cpu = f"{statistics.median(r[1] for r in runs):,.0f}" if runs else ""
        switches = f"{statistics.median(r[2] for r in runs):.0f}" if runs else ""
        print(f"| {label} | {wall:,.1f} | {cpu} | {switches} |")


if __name__ == "__main__":
    main()
