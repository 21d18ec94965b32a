"""Where an uncached request spends its time: a listing page and a 20-item full-content feed,
rendered by the real app with the cache off (``NullCache``), profiled with cProfile.

Each function's own time (tottime) is charged to a bucket by the file it lives in: SQL
(sqlite3 calls), Jinja, feedgen + lxml serialising, sanitising/absolutising (nh3, lxml.html,
``content.py``), compression, Flask/werkzeug, Syndicate's own Python, and the rest. Printed as a
Markdown table: per-request milliseconds and shares.

    python bench/miss_profile.py [--database bench/out/demo12k.db] [--repeat 200]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import demo_db  # noqa: E402

TARGETS = (("listing page /page/3/", "/page/3/", ""), ("RSS feed /feed/ (20, full)", "/feed/", ""))
BUCKETS = (
    ("SQL (sqlite3)", ("sqlite3", "syndicate/store/")),
    ("Jinja", ("jinja2", "markupsafe", "<template>", "babel", "flask_babel", "syndicate/i18n.py")),
    ("feedgen + lxml writing", ("feedgen", "syndicate/feedwriters.py", "lxml.etree", "dateutil", "json")),
    ("sanitising/absolutising", ("nh3", "lxml/html", "syndicate/content.py", "urllib/parse", "urljoin")),
    ("compression", ("gzip", "brotli", "zlib")),
    ("Flask/werkzeug", ("flask/", "werkzeug", "flask_caching", "cachelib")),
    ("Syndicate views/cache", ("syndicate/",)),
)


def bucket(filename: str, name: str) -> str:
    where = f"{filename} {name}"
    if filename == "~":  # built-ins: charge by what they are
        if "sqlite3" in name:
            return "SQL (sqlite3)"
        if "lxml" in name or "feedgen" in name:
            return "feedgen + lxml writing"
        if "zlib" in name or "brotli" in name:
            return "compression"
        if "nh3" in name:
            return "sanitising/absolutising"
    for label, needles in BUCKETS:
        if any(n in where for n in needles):
            return label
    return "other (stdlib, builtins)"


def environ(path: str, query: str) -> dict:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SCRIPT_NAME": "",
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
    }  # fmt: skip


def call(app, path: str, query: str) -> bytes:
    status = []
    body = b"".join(app(environ(path, query), lambda s, h, e=None: status.append(s)))
    assert status[0].startswith("200"), (path, status)
    return body


def profile(app, path: str, query: str, repeat: int) -> tuple[float, dict[str, float]]:
    for _ in range(5):
        call(app, path, query)
    start = time.perf_counter()
    for _ in range(repeat):
        call(app, path, query)
    wall = (time.perf_counter() - start) / repeat * 1000
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(repeat):
        call(app, path, query)
    prof.disable()
    stats = pstats.Stats(prof, stream=io.StringIO())
    shares: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        shares[bucket(filename, name)] += tottime
        total += tottime
    return wall, {k: v / total for k, v in shares.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path)
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()
    from syndicate import create_app

    database = args.database or demo_db()
    app = create_app({"DATABASE": str(database), "CACHE_TYPE": "NullCache", "SITE_URL": "http://localhost"})
    wsgi = app.wsgi_app
    results = [(label, *profile(wsgi, path, query, args.repeat)) for label, path, query in TARGETS]
    labels = [b[0] for b in BUCKETS] + ["other (stdlib, builtins)"]
    print(f"| bucket | {' | '.join(r[0] for r in results)} |")
    print("|---|" + "---|" * len(results))
    print("| **wall ms / request (no profiler)** | " + " | ".join(f"**{r[1]:.2f}**" for r in results) + " |")
    for label in labels:
        print(
            f"| {label} | "
            + " | ".join(f"{r[2].get(label, 0) * r[1]:.2f} ms ({r[2].get(label, 0):.0%})" for r in results)
            + " |"
        )


if __name__ == "__main__":
    main()
