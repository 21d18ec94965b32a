"""A cache miss over HTTP (issue 12, goals 1 and 3), before and after, in one run.

Servers, all ``syndicate serve`` (waitress, 8 threads) on the 12,000-article demo archive:
- ``uncached``: this checkout with ``CACHE_TYPE=NullCache`` (every request renders);
- ``uncached (base)``: the same with another checkout's code (``--base DIR``, e.g. a worktree
  of main), for the "before" figures;
- ``cold 304`` rows: this checkout with the cache on, asked for pages and feeds it has never
  stored, with ``If-None-Match`` (goal 3: answered without rendering); beside the cached 304
  (an entry in memory), which is the goal's yardstick, and the base answering the same
  request without an entry (a render each time, measured with the cache off);
- ``floor``: bench/floor.py, a bare WSGI app on the same server settings returning a body of
  the same size and headers.
wrk -c32 (the issue's setting). Rounds interleave the servers; ratios are medians of per-round
ratios to the floor.

    python bench/miss_bench.py [--base /tmp/perf-base] [--duration 5] [--rounds 3]
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
from bench.http_bench import Server, probe, start_floor  # noqa: E402

TARGETS = (("listing /page/3/", "/page/3/"), ("feed /feed/ (20, full)", "/feed/"))
# Never requested before the measurement, on the cache-on server: each 304 is a miss.
COLD_304 = (("cold 304 /page/5/", "/page/5/"), ("cold 304 /category/economy/feed/", "/category/economy/feed/"))


def start(procs: harness.Processes, name: str, db: Path, logs: Path, root: Path | None, **settings: str) -> Server:
    port = harness.free_port()
    command = [harness.PYTHON, "-m", "syndicate", "--database", str(db), "serve", "--port", str(port)]
    command += ["--threads", "8"]
    env = harness.child_env(SITE_URL="https://news.example.com", **settings)
    if root is not None:
        env["PYTHONPATH"] = str(root)
    proc = procs.start(command, env=env, log=logs / f"{name.replace(' ', '-')}.log", cwd=root or harness.ROOT)
    harness.wait_for_port(port, proc)
    return Server(name, port, proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, help="another checkout to measure beside this one (before)")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--database", type=Path)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--no-cold-304", action="store_true")
    args = parser.parse_args()
    db = args.database or harness.demo_db()
    logs = Path(tempfile.mkdtemp(prefix="miss-bench-", dir=harness.OUT))
    rows = []
    with harness.Processes() as procs:
        uncached = start(procs, "uncached", db, logs, None, CACHE_TYPE="NullCache")
        servers = [uncached]
        if args.base:
            servers.append(start(procs, "uncached (base)", db, logs, args.base, CACHE_TYPE="NullCache"))
        spec = {path: probe(uncached, path, "", warm=3) for _, path in TARGETS}
        cold = []
        if not args.no_cold_304:
            # The ETags come from a twin process; the measured one has never rendered these URLs.
            twin = start(procs, "twin", db, logs, None)
            measured = start(procs, "cached", db, logs, None)
            for name, path in COLD_304:
                real = probe(twin, path, "", warm=2)
                spec[path] = real
                cold.append((name, path, real["etag"]))
            if args.base:
                base_twin = start(procs, "base twin", db, logs, args.base)
                # The base renders every request its cache holds no entry for: with the cache on,
                # the first 304 would store one and the rest be hits, so measure it without.
                base_measured = start(procs, "uncached (base) 304", db, logs, args.base, CACHE_TYPE="NullCache")
                base_etags = {path: probe(base_twin, path, "", warm=2)["etag"] for _, path in COLD_304}
        floor = start_floor(procs, spec, 8, logs)
        results: dict[tuple[str, str], list] = {}
        for number in range(args.rounds):
            print(f"# round {number + 1}/{args.rounds}", file=sys.stderr)
            for name, path in TARGETS:
                for server in [*servers, floor]:
                    results.setdefault((name, server.name), []).append(harness.wrk(server.base + path, {}, args))
            for name, path, etag in cold:
                headers = {"If-None-Match": etag}
                runs = [("cold (no entry)", measured, etag)]
                if args.base:
                    runs.append(("cold (base)", base_measured, base_etags[path]))
                for label, server, tag in runs:
                    results.setdefault((name, label), []).append(
                        harness.wrk(server.base + path, {"If-None-Match": tag}, args)
                    )
                harness.fetch(twin.base + path)
                results.setdefault((name, "cached 304"), []).append(harness.wrk(twin.base + path, headers, args))
                results.setdefault((name, "floor 304"), []).append(harness.wrk(floor.base + path, headers, args))
    for (name, server), runs in results.items():
        floor_key = (name, "floor 304") if name.startswith("cold") else (name, "floor")
        yard = (name, "cached 304") if name.startswith("cold") else floor_key
        ratio = statistics.median(a.rps / b.rps for a, b in zip(runs, results[yard], strict=True))
        rows.append([
            name, server, f"{statistics.median(r.rps for r in runs):,.0f}",
            f"{statistics.median(r.p50_ms for r in runs):.2f}", f"{statistics.median(r.p99_ms for r in runs):.2f}",
            f"{statistics.median(r.bytes_per_response for r in runs):,.0f}",
            f"{ratio:.2f}x {'cached 304' if yard != floor_key else 'floor'}",
            "; ".join(sorted({r.errors for r in runs if r.errors})),
        ])  # fmt: skip
    print(f"# miss_bench: {db.name}, wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s,", end=" ")
    print(f"{args.rounds} rounds, waitress 8 threads; {harness.stamp()}, {harness.machine()}\n")
    print(harness.table(["target", "server", "req/s", "p50 ms", "p99 ms", "bytes/resp", "ratio", "errors"], rows))
    shutil.rmtree(logs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
