"""The floor: a bare WSGI app under the same waitress server as ``syndicate serve``
(``syndicate.server.create_server``: same threads, ident and keep-alive fix).

It answers each path of a spec file with a fixed body of exactly the size of the real
response, with the real response's headers, and answers an ``If-None-Match`` that matches the
stored ETag with an empty ``304``. Whatever the real server does beyond this is the cost of
Syndicate; http_bench.py prints every figure as a ratio to this floor.

    python bench/floor.py --spec SPEC.json --port 8001 [--threads 8] [--sqlite-check DB]

``--sqlite-check DB`` adds one ``PRAGMA data_version`` per request on a per-thread connection
(what the response cache does to notice writes from other processes): a diagnostic floor that
shows what that one SQLite call costs under waitress, where each call releases the GIL.

SPEC.json maps a path (or "*": every other path) to {"status": 200, "headers": [[name, value], ...], "size": N,
"etag": "...", "headers_304": [[name, value], ...]}.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from pathlib import Path

# Set by waitress itself (or by the framing), never copied from the real response.
HOP_HEADERS = {"date", "server", "content-length", "transfer-encoding", "connection", "keep-alive"}


def clean_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in HOP_HEADERS]


def make_app(spec: dict[str, dict]) -> Callable:
    """A WSGI app serving ``spec``: everything is prepared here, so a request costs a dict
    lookup and one header comparison."""
    routes = {}
    for path, entry in spec.items():
        body = b"x" * entry["size"]
        headers = clean_headers(tuple(h) for h in entry["headers"]) + [("Content-Length", str(len(body)))]
        headers_304 = clean_headers(tuple(h) for h in entry.get("headers_304") or [])
        routes[path] = (f"{entry.get('status', 200)} OK", headers, [body], entry.get("etag"), headers_304)
    not_found = ("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")], [b"not found"])

    default = routes.get("*")  # a spec may give one response for every other path

    def app(environ, start_response):
        route = routes.get(environ["PATH_INFO"], default)
        if route is None:
            start_response(not_found[0], not_found[1])
            return not_found[2]
        status, headers, body, etag, headers_304 = route
        if etag and environ.get("HTTP_IF_NONE_MATCH") == etag:
            start_response("304 Not Modified", headers_304)
            return []
        start_response(status, headers)
        return body

    return app


def with_sqlite_check(app: Callable, database: str) -> Callable:
    """``app`` behind one ``PRAGMA data_version`` per request (see --sqlite-check)."""
    import sqlite3
    import threading

    local = threading.local()

    def checked(environ, start_response):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = sqlite3.connect(database, check_same_thread=False)
        conn.execute("PRAGMA data_version").fetchone()
        return app(environ, start_response)

    return checked


def main(argv: list[str] | None = None) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    # The very server ``syndicate serve`` runs, so that only the app differs.
    from syndicate.server import serve

    parser = argparse.ArgumentParser(description="Serve fixed responses under waitress (the benchmark floor).")
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--sqlite-check", metavar="DB", help="one PRAGMA data_version per request on DB")
    args = parser.parse_args(argv)
    app = make_app(json.loads(args.spec.read_text()))
    if args.sqlite_check:
        app = with_sqlite_check(app, args.sqlite_check)
    serve(app, host=args.host, port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
