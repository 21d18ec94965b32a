"""Where a serving process's memory goes under the live mix (issue 12, goal 6: under 300 MB
resident with the default cache settings).

In one process: the app with the default settings behind the real server (waitress,
``syndicate.server.create_server``, 8 threads) in a thread, with tracemalloc on; clients replay
the first ``--requests`` of live_mix.py's Zipf sequence over ~9,500 URLs (8 at a time). Then it
prints the process's VmRSS / VmHWM, Python's own allocations (tracemalloc), the deep size of
each cache structure (objects shared between them counted once, in the first that holds them),
and the allocation sites holding the most memory.

    python bench/memory_profile.py [--database bench/out/big200k.db] [--requests 20000]

tracemalloc slows everything ~2x and adds its own bookkeeping to VmRSS; compare the Python
figures with each other, and VmRSS with live_mix.py's (which runs without it).
"""

from __future__ import annotations

import argparse
import gc
import re
import sys
import tempfile
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.live_mix import SITE_URL, url_spread, zipf_sequence  # noqa: E402


@dataclass
class Local:
    base: str


def deep_size(roots: object, seen: set[int]) -> int:
    """Bytes of ``roots`` and everything reachable from it not in ``seen`` (types, modules and
    functions excluded: they belong to the code, not to the data)."""
    skip = (type, type(sys), type(deep_size))
    total, stack = 0, [roots]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


def vm(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+)", status).group(1)) // 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--no-trace", action="store_true", help="without tracemalloc (true VmRSS; no allocation sites)")
    args = parser.parse_args()
    source = args.database or harness.demo_db()
    folder = Path(tempfile.mkdtemp(prefix="memory-profile-", dir=harness.OUT))
    db = harness.private_copy(source, folder, "this")
    if not args.no_trace:
        tracemalloc.start(1)
    from syndicate import create_app
    from syndicate.fragments import fragments
    from syndicate.server import create_server

    app = create_app({"DATABASE": str(db), "SITE_URL": SITE_URL})
    started_rss = vm("VmRSS")
    port = harness.free_port()
    server = create_server(app, port=port, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    local = Local(f"http://127.0.0.1:{port}")
    urls = url_spread(local, db)
    sequence = zipf_sequence(urls, args.requests)
    baseline_rss = vm("VmRSS")
    with ThreadPoolExecutor(args.clients) as pool:
        statuses = list(pool.map(lambda path: harness.fetch(local.base + path)[0], sequence))
    gc.collect()
    snapshot = tracemalloc.take_snapshot() if not args.no_trace else None
    current, peak = tracemalloc.get_traced_memory()
    cache = app.extensions["syndicate.response_cache"]
    seen: set[int] = set()
    structures = [
        ("response cache: hot entries (bodies in 3 codings)", (cache.hot, cache.hot_searches)),
        ("response cache: backend (SimpleCache, pickled)", cache.backend),
        ("response cache: kept validators (heads)", cache.heads),
        ("fragments (cards, feed items)", fragments(app).pieces),
        ("request keys memo", cache.request_key),
    ]
    rows = []
    for name, obj in structures:
        size = deep_size(obj, seen)
        count = len(obj) if hasattr(obj, "__len__") else ""
        if name.startswith("response cache: hot"):
            count = len(cache.hot) + len(cache.hot_searches)
        elif name.startswith("response cache: backend"):
            count = len(getattr(cache.backend, "_cache", {}))
        elif name.startswith("request keys"):
            count = cache.request_key.cache_info().currsize
        rows.append([name, f"{count:,}" if count != "" else "", f"{size / 2**20:.1f}"])
    print(f"# memory_profile: {source.name}, {args.requests:,} requests of the live mix", end=" ")
    print(f"({len(set(sequence)):,} distinct URLs, {args.clients} clients); {harness.stamp()}, {harness.machine()}\n")
    errors = sum(1 for s in statuses if s >= 500)
    print(f"- VmRSS after create_app {started_rss} MB, after the URL spread (sitemaps) {baseline_rss} MB,", end=" ")
    print(f"after the mix {vm('VmRSS')} MB; VmHWM {vm('VmHWM')} MB")
    traced = f"now {current / 2**20:.1f} MB, peak {peak / 2**20:.1f} MB" if snapshot else "not traced"
    print(f"- Python allocations (tracemalloc): {traced}; 5xx answers: {errors}\n")
    print(harness.table(["structure", "entries", "MB (deep)"], rows))
    print()
    top = snapshot.statistics("lineno")[: args.top] if snapshot else []
    lines = [[f"{s.traceback[0].filename.split('site-packages/')[-1]}:{s.traceback[0].lineno}",
              f"{s.size / 2**20:.1f}", f"{s.count:,}"] for s in top]  # fmt: skip
    if lines:
        print(harness.table(["allocated at", "MB", "blocks"], lines))
    server.close()
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
