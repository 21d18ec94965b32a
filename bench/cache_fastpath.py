"""Micro-benchmark of the response cache's fast path, in process (no server, no sockets).

Prints the cost per request, in µs, of answering the same page:
  - a bare WSGI app returning the same bytes (the floor any server adds its own cost to),
  - a cache hit and a 304 through ``ResponseCache`` (no Flask),
  - the same fixed bytes returned by a Flask view (Flask's own per-request cost),
  - the page rendered by Flask with caching off (NullCache),
plus one content-version check. Each figure is the median of several runs.

    PYTHONPATH=. python bench/cache_fastpath.py [--articles 2000] [--runs 7] [--requests 3000]

Waitress + wrk figures (the real targets) come from the other scripts in bench/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import make_response, request
from werkzeug.test import EnvironBuilder

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syndicate import create_app  # noqa: E402
from syndicate.cache import response_cache  # noqa: E402
from syndicate.db import get_store  # noqa: E402
from syndicate.models import Scope  # noqa: E402
from syndicate.store import Store  # noqa: E402


def bench_listing():
    """A stand-in for the front page when the site is not there: one page of full articles."""
    number = int(request.args.get("page", "1"))
    page = get_store().page(Scope("site"), number, 40)  # about 50 KB, like a real front page
    parts = ["<!doctype html><html lang=en><head><title>Bench</title></head><body>"]
    for article in page.articles:
        parts.append(f"<article><h2>{article.title}</h2><p>{article.summary}</p>{article.body}</article>")
    response = make_response("".join(parts) + "</body></html>")
    response.last_modified = max(a.updated for a in page.articles)
    return response


FIXED: dict[str, bytes] = {"body": b"", "encoding": "identity"}


def flask_fixed():
    """Flask's own per-request cost: a view returning bytes it already has."""
    response = make_response(FIXED["body"])
    response.headers["Content-Encoding"] = FIXED["encoding"]
    return response


def make(db: Path, cache_type: str):
    app = create_app(
        {"DATABASE": str(db), "CACHE_TYPE": cache_type, "SITE_URL": "https://news.example.com", "TESTING": False}
    )
    app.add_url_rule("/_bench/", "bench_listing", bench_listing)
    app.add_url_rule("/_bench/fixed", "fixed", flask_fixed)
    return app


def per_request(app, environ: dict, requests: int, runs: int) -> float:
    """Median over ``runs`` of the mean µs per request of calling ``app`` with ``environ``."""

    def start_response(status, headers, exc_info=None):
        return None

    results = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(requests):
            body = app(dict(environ), start_response)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()
        results.append((time.perf_counter() - started) / requests * 1e6)
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--path", default="", help="path to measure (default: / when the site exists)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="syndicate-bench-"))
    db = workdir / "bench.db"
    until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    builder = make(db, "NullCache")
    result = builder.test_cli_runner().invoke(
        args=["demo", "--articles", str(args.articles), "--seed", "7", "--until", until]
    )
    assert result.exit_code == 0, result.output

    cached, uncached = make(db, "SimpleCache"), make(db, "NullCache")
    path = args.path or ("/" if any(r.rule == "/" for r in cached.url_map.iter_rules()) else "/_bench/")
    environ = EnvironBuilder(path=path, headers={"Accept-Encoding": "gzip, deflate, br"}).get_environ()
    environ.pop("wsgi.input", None)
    fast = cached.wsgi_app

    captured = {}

    def keep(status, headers, exc_info=None):
        captured.update(status=status, headers=headers)

    body = b"".join(fast(dict(environ), keep))
    assert captured["status"].startswith("200"), captured
    headers = dict(captured["headers"])
    identity = uncached.test_client().get(path).data
    print(f"path {path}: {len(identity)} bytes, {headers.get('Content-Encoding', 'identity')} {len(body)} bytes")

    fixed_headers = [(k, v) for k, v in captured["headers"] if k != "X-Cache"]

    def bare(environ, start_response):
        start_response("200 OK", list(fixed_headers))
        return [body]

    def bare_304(environ, start_response):
        start_response("304 Not Modified", [("ETag", headers["ETag"]), ("X-Cache", "hit")])
        return []

    FIXED.update(body=body, encoding=headers.get("Content-Encoding", "identity"))
    fixed_environ = dict(environ, PATH_INFO="/_bench/fixed")
    conditional = dict(environ, HTTP_IF_NONE_MATCH=headers["ETag"])

    n, runs = args.requests, args.runs
    rows = [
        ("bare WSGI, same bytes (floor)", per_request(bare, environ, n, runs)),
        ("fast path: cache hit", per_request(fast, environ, n, runs)),
        ("bare WSGI 304", per_request(bare_304, conditional, n, runs)),
        ("fast path: 304 (If-None-Match)", per_request(fast, conditional, n, runs)),
        ("Flask view returning the same bytes", per_request(uncached.wsgi_app, fixed_environ, n, runs)),
        ("Flask render, cache off (NullCache)", per_request(uncached.wsgi_app, environ, max(n // 20, 50), runs)),
    ]
    # In process there is no server, so the bare app costs almost nothing: what matters is the
    # cost each layer adds on top of it, to compare with a server's own per-request cost.
    bare_cost = {"200": rows[0][1], "304": rows[2][1]}
    for label, micros in rows:
        base = bare_cost["304" if "304" in label else "200"]
        print(f"{label:40s} {micros:9.1f} µs/request  (+{micros - base:7.1f} µs over the bare app)")

    store = Store(str(db))
    cache = response_cache(cached)
    for label, fn in (
        ("version check (stamp, nothing changed)", cache.content.current),
        ("Store.content_version()", store.content_version),
        ("Store.data_version()", store.data_version),
    ):
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            for _ in range(n):
                fn()
            samples.append((time.perf_counter() - started) / n * 1e6)
        print(f"{label:40s} {statistics.median(samples):9.2f} µs")


if __name__ == "__main__":
    main()
