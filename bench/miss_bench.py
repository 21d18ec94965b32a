"""A cache miss over HTTP (issue 12, goal 1), before and after, in one run.

Servers, all ``syndicate serve`` (waitress, 8 threads) on the 12,000-article demo archive:
- ``uncached``: this checkout with ``CACHE_TYPE=NullCache`` (every request renders);
- ``uncached (base)``: the same with another checkout's code (``--base DIR``, e.g. a worktree
  of main), for the "before" figures;
- ``floor``: bench/floor.py, a bare WSGI app on the same server settings returning a body of
  the same size and headers.
wrk -c32 (the issue's setting). Rounds interleave the servers; ratios are medians of per-round
ratios to the floor. Each checkout gets its own copy of the archive (each migrates it to its
own schema). Goal 3 (a 304 without an entry) is measured by bench/revalidate_bench.py: the
"cold 304" rows that were here asked a process for URLs it had never rendered, which now
renders once and then answers cached 304s (validators are kept per process, not computed).

    python bench/miss_bench.py [--base /tmp/base-main] [--duration 5] [--rounds 3]
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
    args = parser.parse_args()
    db = args.database or harness.demo_db()
    logs = Path(tempfile.mkdtemp(prefix="miss-bench-", dir=harness.OUT))
    rows = []
    with harness.Processes() as procs:
        uncached = start(procs, "uncached", harness.private_copy(db, logs, "this"), logs, None, CACHE_TYPE="NullCache")
        servers = [uncached]
        if args.base:
            base_db = harness.private_copy(db, logs, "base")
            servers.append(start(procs, "uncached (base)", base_db, logs, args.base, CACHE_TYPE="NullCache"))
        spec = {path: probe(uncached, path, "", warm=3) for _, path in TARGETS}
        floor = start_floor(procs, spec, 8, logs)
        results: dict[tuple[str, str], list] = {}
        for number in range(args.rounds):
            print(f"# round {number + 1}/{args.rounds}", file=sys.stderr)
            for name, path in TARGETS:
                for server in [*servers, floor]:
                    results.setdefault((name, server.name), []).append(harness.wrk(server.base + path, {}, args))
    for (name, server), runs in results.items():
        ratio = statistics.median(a.rps / b.rps for a, b in zip(runs, results[(name, "floor")], strict=True))
        rows.append([
            name, server, f"{statistics.median(r.rps for r in runs):,.0f}",
            f"{statistics.median(r.p50_ms for r in runs):.2f}", f"{statistics.median(r.p99_ms for r in runs):.2f}",
            f"{statistics.median(r.bytes_per_response for r in runs):,.0f}", f"{ratio:.2f}x floor",
            "; ".join(sorted({r.errors for r in runs if r.errors})),
        ])  # fmt: skip
    print(f"# miss_bench: {db.name}, wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}s,", end=" ")
    print(f"{args.rounds} rounds, waitress 8 threads; {harness.stamp()}, {harness.machine()}\n")
    print(harness.table(["target", "server", "req/s", "p50 ms", "p99 ms", "bytes/resp", "ratio", "errors"], rows))
    shutil.rmtree(logs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
