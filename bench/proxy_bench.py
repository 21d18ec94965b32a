"""The caching reverse proxy: a cached feed through nginx against nginx serving a static file of
the same size.

Starts the deployment of deploy/ (deploy.stack: Redis, several waitress processes on the demo
archive, nginx with proxy_cache from deploy/nginx.conf) on loopback, warms /feed/ into the proxy
cache, writes a file of exactly the feed's size into the static directory nginx serves, and
drives both with wrk in interleaved rounds. Target (issue 5): the cached feed at >= 50 % of the
static file's req/s. A 304 revalidation through the proxy is measured too, against the same
static file answered with 304.

    /work/venv/bin/python bench/proxy_bench.py [--duration 5] [--rounds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from deploy.stack import Stack  # noqa: E402

TARGET = 0.50


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2, help="waitress processes behind the proxy")
    parser.add_argument("--path", default="/feed/", help="the cached response to measure")
    parser.add_argument("--encoding", default="", help="Accept-Encoding to send (default: none)")
    parser.add_argument("--database", type=Path)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    args = parser.parse_args(argv)

    db = args.database or harness.demo_db()
    work = Path(tempfile.mkdtemp(prefix="proxy-bench-", dir=harness.OUT))
    static = work / "static"
    static.mkdir()
    accept = {"Accept-Encoding": args.encoding} if args.encoding else {}
    # A long max-age so the proxy entry stays fresh for the whole run: we measure hits.
    stack = Stack(database=db.resolve(), workdir=work, processes=args.processes, static_dir=static,
                  access_log=False, settings={"CACHE_MAX_AGE": "3600"})  # fmt: skip
    results: dict[str, list[harness.Run]] = {}
    with stack:
        url = stack.proxy_url + args.path
        for _ in range(3):
            status, headers, body = harness.fetch(url, accept)
        proxy_status = headers.get("X-Proxy-Cache")
        if status != 200:
            print(f"{args.path} answers {status} through the proxy; nothing to measure", file=sys.stderr)
            return 1
        (static / "same-size.bin").write_bytes(b"x" * len(body))
        static_url = stack.proxy_url + "/static/same-size.bin"
        _, static_headers, _ = harness.fetch(static_url)
        targets = {"cached feed": (url, accept), "static file": (static_url, accept)}
        if headers.get("ETag"):
            targets["304 feed"] = (url, {**accept, "If-None-Match": headers["ETag"]})
            targets["304 static"] = (static_url, {"If-None-Match": static_headers["ETag"]})
        # Warm with wrk itself: the proxy keeps a variant per Accept / Accept-Encoding value
        # (Vary), and wrk's headers differ from urllib's. Without this, the first round would
        # include the one miss of wrk's variant, during which proxy_cache_lock makes every other
        # request wait (nginx re-checks a lock every 500 ms).
        warm = argparse.Namespace(**{**vars(args), "duration": 1})
        for target_url, target_headers in targets.values():
            harness.wrk(target_url, target_headers, warm)
        for number in range(args.rounds):
            print(f"# round {number + 1}/{args.rounds}", file=sys.stderr)
            for name, (target_url, target_headers) in targets.items():
                results.setdefault(name, []).append(harness.wrk(target_url, target_headers, args))

    print(f"# proxy_bench: nginx (deploy/nginx.conf) -> {args.processes} waitress processes + Redis, {db.name}")
    print(f"# {args.path}: {len(body):,} bytes, X-Proxy-Cache after warm-up: {proxy_status}")
    load = f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s --latency"
    print(f"# {load}, {args.rounds} rounds (medians)")
    print(f"# {harness.stamp()}, {harness.machine()}\n")
    rows = []
    for name, runs in results.items():
        base = results["static file" if not name.startswith("304") else "304 static"]
        rps = statistics.median(r.rps for r in runs)
        base_rps = statistics.median(r.rps for r in base)
        p50 = statistics.median(r.p50_ms for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        errors = "; ".join(sorted({r.errors for r in runs if r.errors}))
        rows.append([name, f"{rps:,.0f}", f"{p50:.2f}", f"{p99:.2f}", f"{rps / base_rps:.0%}", errors])
    print(harness.table(["target", "req/s", "p50 ms", "p99 ms", "vs static", "errors"], rows))
    ratio = statistics.median(r.rps for r in results["cached feed"]) / statistics.median(
        r.rps for r in results["static file"]
    )
    verdict = "met" if ratio >= TARGET else f"NOT met (short by {TARGET - ratio:.0%})"
    print(f"\nTarget: cached feed through the proxy >= {TARGET:.0%} of a static file: {ratio:.0%}, {verdict}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
