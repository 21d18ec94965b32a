"""What headers that cannot change a page's bytes cost: /feed/ under wrk with and without them.

Starts ``syndicate serve`` (cache on) on the 12,000-article demo archive and drives the cached
feed with wrk, plain and with each header the cache used to step aside for (a Cookie, a Range,
a matching If-Match, A-IM without a known version), in interleaved rounds so the shared
machine's noise hits all alike. Figures are medians over rounds; the ratio is each run against
the plain run of the same round. Before the fix (issue 10, item 7) a Cookie took /feed/ from
~5,000 to ~240 req/s, every request rendering the feed.

    .venv/bin/python bench/headers_bench.py [--duration 5] [--rounds 3] [--connections 16]

``--code /path/to/checkout`` serves from another checkout (e.g. main before the fix).
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
from bench.http_bench import Server  # noqa: E402

PATH = "/feed/"


def cases(etag: str) -> list[tuple[str, dict[str, str]]]:
    return [
        ("plain", {}),
        ("Cookie: a=1", {"Cookie": "a=1"}),
        ("Cookie (5 cookies, 300 B)", {"Cookie": "; ".join(f"c{n}={'x' * 50}" for n in range(5))}),
        ("Range: bytes=0-1023", {"Range": "bytes=0-1023"}),
        ("If-Match: <current>", {"If-Match": etag}),
        ("A-IM: feed", {"A-IM": "feed"}),
    ]


def start(procs: harness.Processes, db: Path, args: argparse.Namespace, logs: Path) -> Server:
    """``syndicate serve`` with the cache on, from this checkout or ``--code``."""
    port = harness.free_port()
    code = args.code.resolve() if args.code else harness.ROOT
    env = harness.child_env(SITE_URL="https://news.example.com")
    env["PYTHONPATH"] = str(code)
    command = [harness.PYTHON, "-m", "syndicate", "--database", str(db), "serve", "--port", str(port)]
    proc = procs.start([*command, "--threads", str(args.threads)], env=env, log=logs / "serve.log", cwd=code)
    harness.wait_for_port(port, proc)
    return Server("cached", port, proc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, help="default: the 12k demo archive under bench/out/")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    parser.add_argument("--code", type=Path, help="serve from this checkout instead of this one")
    args = parser.parse_args(argv)

    db = args.database or harness.demo_db()
    logs = Path(tempfile.mkdtemp(prefix="headers-bench-", dir=harness.OUT))
    with harness.Processes() as procs:
        server = start(procs, db, args, logs)
        status, headers, _body = harness.fetch(server.base + PATH)
        assert status == 200, status
        runs: dict[str, list[harness.Run]] = {name: [] for name, _ in cases("")}
        notes: dict[str, str] = {}
        for number in range(args.rounds):
            print(f"# round {number + 1}/{args.rounds}", file=sys.stderr)
            etag = harness.fetch(server.base + PATH)[1].get("ETag")
            order = cases(etag) if number % 2 == 0 else cases(etag)[::-1]
            for name, extra in order:
                status, response_headers, _ = harness.fetch(server.base + PATH, extra)  # warm, and see
                notes[name] = f"{status} X-Cache: {response_headers.get('X-Cache', '(none)')}"
                runs[name].append(harness.wrk(server.base + PATH, extra, args))
    shutil.rmtree(logs, ignore_errors=True)

    print(f"# headers_bench: {db.name}, GET {PATH}, wrk -t{args.wrk_threads} -c{args.connections}", end=" ")
    print(f"-d{args.duration}s --latency, {args.rounds} rounds (medians), serve --threads {args.threads}")
    print(f"# code: {args.code.resolve() if args.code else harness.ROOT}")
    print(f"# {harness.stamp()}, {harness.machine()}\n")
    rows = []
    for name, series in runs.items():
        ratio = statistics.median(r.rps / p.rps for r, p in zip(series, runs["plain"], strict=True))
        errors = "; ".join(sorted({r.errors for r in series if r.errors}))
        rows.append([
            name, f"{statistics.median(r.rps for r in series):,.0f}", f"{ratio:.0%}",
            f"{statistics.median(r.p50_ms for r in series):.2f}", f"{statistics.median(r.p99_ms for r in series):.2f}",
            notes[name], errors,
        ])  # fmt: skip
    print(harness.table(["request", "req/s", "vs plain", "p50 ms", "p99 ms", "answer", "errors"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
