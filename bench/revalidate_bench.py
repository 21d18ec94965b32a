"""Revalidation never renders (issue 12, goal 3): a conditional GET for a page or feed whose
entry is no longer in the cache, against the cached 304, before and after, in one run.

Servers, all ``syndicate serve`` (waitress, 8 threads) on the 12,000-article demo archive:
- ``evicted``: this checkout with a tiny cache (``CACHE_HOT_ENTRIES=4``, ``CACHE_THRESHOLD=10``,
  the smallest the settings allow) and the default ``CACHE_VALIDATORS``; every URL of a target
  is fetched once up front, then wrk cycles over all of them (200 by default) with each one's
  ``If-None-Match``, so every request asks for an entry evicted from the in-process LRU and
  from the backend long ago. Each answer's ``X-Cache`` is counted: ``revalidated`` is a 304
  from the kept validators, ``miss`` a render.
- ``evicted (base)``: the same with another checkout's code (``--base DIR``): the "before".
- ``cached``: this checkout with the default cache, every URL of the target in memory (fetched
  again right before each run): the cached 304, the goal's yardstick (>= 0.5x).
- ``floor``: bench/floor.py answering the same conditional requests with an empty 304.

Rounds interleave the servers; ratios are medians of per-round ratios to the cached 304.

    python bench/revalidate_bench.py [--base /tmp/base-main] [--duration 5] [--rounds 3] [--urls 200]
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
from bench.http_bench import Server, start_floor  # noqa: E402
from bench.miss_bench import start  # noqa: E402

TINY_CACHE = {"CACHE_HOT_ENTRIES": "4", "CACHE_THRESHOLD": "10"}


def targets(count: int) -> dict[str, list[str]]:
    return {
        "listing pages /page/N/": [f"/page/{n}/" for n in range(4, 4 + count)],
        "feed archives /feed/archive/N/": [f"/feed/archive/{n}/" for n in range(1, 1 + count)],
    }


def prime(server: Server, paths: list[str]) -> dict[str, tuple]:
    """GET every path once (the server renders and stores it): path -> (etag, headers, size)."""
    seen = {}
    for path in paths:
        status, headers, body = harness.fetch(server.base + path)
        if status != 200 or not headers.get("ETag"):
            raise SystemExit(f"{server.name}: {path} answered {status} without an ETag")
        seen[path] = (headers.get("ETag"), list(headers.items()), len(body))
    return seen


def floor_spec(cached: Server, primed: dict[str, tuple]) -> dict:
    spec = {}
    for path, (etag, headers, size) in primed.items():
        status, h304, _ = harness.fetch(cached.base + path, {"If-None-Match": etag})
        spec[path] = {"headers": headers, "size": size, "etag": etag, "headers_304": list(h304.items())}
    return spec


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, help="another checkout to measure beside this one (before)")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--urls", type=int, default=200, help="URLs cycled per target")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--database", type=Path)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    args = parser.parse_args()
    db = args.database or harness.demo_db()
    logs = Path(tempfile.mkdtemp(prefix="revalidate-bench-", dir=harness.OUT))
    results: dict[tuple[str, str], list[harness.Run]] = {}
    with harness.Processes() as procs:
        this_db = harness.private_copy(db, logs, "this")  # each checkout migrates its own copy
        cached = start(procs, "cached", this_db, logs, None)
        servers = [start(procs, "evicted", this_db, logs, None, **TINY_CACHE)]
        if args.base:
            base_db = harness.private_copy(db, logs, "base")
            servers.append(start(procs, "evicted (base)", base_db, logs, args.base, **TINY_CACHE))
        scripts, spec = {}, {}
        for name, paths in targets(args.urls).items():
            reference = prime(cached, paths)
            spec.update(floor_spec(cached, reference))
            for server in [*servers, cached]:
                primed = reference if server is cached else prime(server, paths)
                changed = [p for p in paths if primed[p][0] != reference[p][0]]
                if changed:
                    print(f"# {server.name}: other ETags than the cached server's for {changed[:3]}", file=sys.stderr)
                lines = [f"{p}\t{primed[p][0]}" for p in paths]
                scripts[(name, server.name)] = harness.tally_script(lines, logs, f"{server.name}-{len(scripts)}")
        floor = start_floor(procs, spec, 8, logs)
        for name in targets(args.urls):
            scripts[(name, "floor")] = scripts[(name, "cached")]
        for number in range(args.rounds):
            print(f"# round {number + 1}/{args.rounds}", file=sys.stderr)
            order = [*servers, cached, floor] if number % 2 == 0 else [floor, cached, *reversed(servers)]
            for name, paths in targets(args.urls).items():
                for server in order:
                    if server is cached:
                        prime(cached, paths)  # all of them back in memory
                    script = scripts[(name, server.name)]
                    results.setdefault((name, server.name), []).append(harness.wrk(server.base + "/", {}, args, script))
    rows = []
    for (name, server), runs in results.items():
        ratio = statistics.median(a.rps / b.rps for a, b in zip(runs, results[(name, "cached")], strict=True))
        tally: dict[str, int] = {}
        for run in runs:
            for key, count in run.tally.items():
                tally[key] = tally.get(key, 0) + count
        total = sum(tally.values()) or 1
        answers = ", ".join(f"{key} {count / total:.0%}" for key, count in sorted(tally.items(), key=lambda kv: -kv[1]))
        rows.append([
            name, server, f"{statistics.median(r.rps for r in runs):,.0f}",
            f"{statistics.median(r.p50_ms for r in runs):.2f}", f"{statistics.median(r.p99_ms for r in runs):.2f}",
            f"**{ratio:.2f}x**", answers, "; ".join(sorted({r.errors for r in runs if r.errors})),
        ])  # fmt: skip
    print(f"# revalidate_bench: {db.name}, {args.urls} URLs a target,", end=" ")
    print(f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s, {args.rounds} rounds,", end=" ")
    print(f"waitress 8 threads; {harness.stamp()}, {harness.machine()}\n")
    headers = ["target", "server", "req/s", "p50 ms", "p99 ms", "vs cached 304", "answers (status X-Cache)", "errors"]
    print(harness.table(headers, rows))
    shutil.rmtree(logs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
