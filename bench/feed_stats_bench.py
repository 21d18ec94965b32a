"""What counting feed subscribers costs on the cached feed: the real server with counting on
(the default, ``FEED_STATS_FLUSH=30``), the same with counting off (``FEED_STATS_FLUSH=0``) and
the floor (bench/floor.py: a bare WSGI app under the same waitress settings answering the same
bytes), driven by wrk on loopback for the cached feed (200) and its revalidation (304). Rounds
are interleaved; figures are medians, ratios the median of per-round ratios.

Every request carries a feed reader's User-Agent without a subscriber figure, so each one takes
the direct-poller path (the dearer one: a set insert per request, besides the counters); the
counts are flushed in the background every 30 s while wrk runs (the flush was forced to run
mid-round with ``--flush 1``).

Target (issue 14): the cached feed with counting on at >= 0.90 of the floor's req/s.

    .venv/bin/python bench/feed_stats_bench.py [--duration 5] [--rounds 3] [--flush 30]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.http_bench import Series, probe, start_app, start_floor  # noqa: E402

READER = "NetNewsWire (RSS Reader; https://netnewswire.com/)"
TARGET = 0.90
ARTICLES = 2000  # the feed shows 20 items whatever the archive's size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--flush", type=int, default=30, help="FEED_STATS_FLUSH of the counting server (seconds)")
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    args = parser.parse_args(argv)

    source = harness.demo_db(ARTICLES, path=harness.OUT / f"demo{ARTICLES // 1000}k.db")
    logs = Path(tempfile.mkdtemp(prefix="feed-stats-bench-", dir=harness.OUT))
    db = logs / "bench.db"
    shutil.copyfile(source, db)  # the servers migrate it and write counts: never the shared copy
    headers = {"User-Agent": READER}
    with harness.Processes() as procs:
        counting = start_app(procs, "counting", db, args.threads, logs, FEED_STATS_FLUSH=str(args.flush))
        quiet = start_app(procs, "not counting", db, args.threads, logs, FEED_STATS_FLUSH="0")
        real = probe(counting, "/feed/", "", warm=3)
        floor = start_floor(procs, {"/feed/": real}, args.threads, logs)
        servers = [counting, quiet, floor]
        targets = [("feed", {}), ("304 feed", {"If-None-Match": real["etag"]})]
        series = {(s.name, t): Series() for s in servers for t, _ in targets}
        for number in range(args.rounds):
            print(f"# round {number + 1}/{args.rounds}", file=sys.stderr)
            for target, extra in targets:
                for server in servers if number % 2 == 0 else servers[::-1]:
                    harness.fetch(server.base + "/feed/", {**headers, **extra})
                    run = harness.wrk(server.base + "/feed/", {**headers, **extra}, args)
                    series[(server.name, target)].runs.append(run)
        counting.proc.terminate()  # SIGTERM: serve flushes what is left
        counting.proc.wait(timeout=30)
    with closing(sqlite3.connect(db)) as conn:
        counted = conn.execute("SELECT coalesce(sum(requests), 0), coalesce(sum(not_modified), 0) FROM feed_days")
        requests, not_modified = counted.fetchone()
    report(args, series, [t for t, _ in targets], requests, not_modified)
    record_cost(logs, series)
    shutil.rmtree(logs, ignore_errors=True)
    return 0


def report(args: argparse.Namespace, series: dict, targets: list[str], requests: int, not_modified: int) -> None:
    print(f"# feed_stats_bench: /feed/ of a {ARTICLES}-article demo, wrk -t{args.wrk_threads} -c{args.connections}")
    print(f"# -d{args.duration}s, {args.rounds} rounds (medians; ratios: median of per-round ratios),")
    print(f"# waitress threads={args.threads}, FEED_STATS_FLUSH={args.flush}; {harness.stamp()}, {harness.machine()}\n")
    rows, verdicts = [], []
    for target in targets:
        floor, quiet = series[("floor", target)], series[("not counting", target)]
        for name in ("counting", "not counting", "floor"):
            s = series[(name, target)]
            rows.append([
                target, name, f"{s.median('rps'):,.0f}", f"{s.median('p50_ms'):.2f}", f"{s.median('p99_ms'):.2f}",
                f"{s.paired_ratio(floor):.2f}", f"{s.paired_ratio(quiet):.2f}",
            ])  # fmt: skip
        ratio = series[("counting", target)].paired_ratio(floor)
        met = "met" if ratio >= TARGET else "NOT met"
        verdicts.append(f"- {target}: counting on at {ratio:.2f} of the floor, target >= {TARGET:.2f}: {met}")
    print(harness.table(["target", "server", "req/s", "p50 ms", "p99 ms", "x floor", "x not counting"], rows))
    print("\nTargets:")
    print("\n".join(verdicts))
    print(f"\nCounted by the counting server (flushed, then at SIGTERM): {requests:,} requests, {not_modified:,} 304s")


def record_cost(logs: Path, series: dict) -> None:
    """The hot-path call alone, in this process: microseconds per ``FeedCounter.record`` (median
    of 5 x 100,000 calls), and what share of a cached feed request it is at the measured rate."""
    import statistics
    import timeit

    from syndicate.store import Store
    from syndicate.subscribers import FeedCounter

    db = logs / "record.db"
    store = Store(str(db))
    store.ensure_schema()
    store.close()
    counter = FeedCounter(str(db), interval=3600)
    agents = {
        "direct poller": READER,
        "aggregator": "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 1234 subscribers)",
    }
    rps = series[("counting", "feed")].median("rps")
    for name, agent in agents.items():
        environ = {"HTTP_USER_AGENT": agent, "REMOTE_ADDR": "127.0.0.1"}
        runs = timeit.repeat(lambda e=environ: counter.record("/feed/", e, False), number=100_000, repeat=5)
        micro = statistics.median(runs) / 100_000 * 1e6
        share = micro / (1e6 / rps) if rps else float("nan")
        print(
            f"FeedCounter.record, {name}: {micro:.2f} us a call = {share:.1%} of a cached feed request"
            f" at {rps:,.0f} req/s"
        )
    counter.close()  # before its database is removed


if __name__ == "__main__":
    start = time.monotonic()
    code = main()
    print(f"\n# took {time.monotonic() - start:.0f} s", file=sys.stderr)
    sys.exit(code)
