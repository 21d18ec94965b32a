"""Latency while ANOTHER PROCESS holds SQLite's write lock (issue 10, item 5).

Starts ``syndicate serve`` (cache on, default WRITE_LOCK_TIMEOUT and SERVER_WRITE_THREADS) on a
copy of the 12,000-article demo archive, then measures, without and with a second process
holding ``BEGIN IMMEDIATE`` (with uncommitted changes, as an import mid-batch): a cached GET /
(sequential, keep-alive), uncached pages (a different listing page each time), and API writes,
both one at a time and eight at once while a reader keeps reading. Prints medians and maxima.

    .venv/bin/python bench/lock_bench.py [--samples 200] [--code /path/to/other/checkout]

``--code`` runs the server from another checkout (e.g. the code before the fix) for a
comparison; writes there may take WRITE_LOCK_TIMEOUT or SQLite's busy timeout each.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from tests.lock_support import LockHolder  # noqa: E402

SECRET = "syn_bench-lock-secret"


def timed(port: int, method: str, path: str, body: dict | None = None, conn=None) -> tuple[int, float]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers, data = {}, None
    if body is not None:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
    started = time.perf_counter()
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    response.read()
    seconds = time.perf_counter() - started
    if own:
        conn.close()
    return response.status, seconds


def article(n: int) -> dict:
    return {"title": f"Bench write {n} {time.time()}", "body": "<p>News.</p>", "category": "world"}


def measure(port: int, samples: int, page_base: int) -> dict[str, tuple]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    timed(port, "GET", "/", conn=conn)
    cached = [timed(port, "GET", "/", conn=conn) for _ in range(samples)]
    conn.close()
    uncached = [timed(port, "GET", f"/page/{page_base + n}/") for n in range(20)]
    writes = [timed(port, "POST", "/api/v1/articles", article(n)) for n in range(3)]
    with ThreadPoolExecutor(9) as pool:
        burst = [pool.submit(timed, port, "POST", "/api/v1/articles", article(n)) for n in range(8)]
        time.sleep(0.05)
        reads_during = [timed(port, "GET", f"/page/{page_base + 100 + n}/") for n in range(5)]
        burst = [f.result() for f in burst]
    return {"cached GET /": cached, "uncached page": uncached, "API write": writes,
            "8 writes at once": burst, "uncached page during the 8": reads_during}  # fmt: skip


def describe(results: list[tuple[int, float]]) -> tuple[str, str, str]:
    statuses = ", ".join(
        f"{n}x{s}" for s, n in sorted({s: sum(1 for x, _ in results if x == s) for s, _ in results}.items())
    )
    seconds = [t for _, t in results]
    return statuses, f"{statistics.median(seconds) * 1000:,.1f}", f"{max(seconds) * 1000:,.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, help="default: the 12k demo archive under bench/out/")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--code", type=Path, help="run the server from this checkout instead")
    args = parser.parse_args(argv)

    source = args.database or harness.demo_db()
    work = Path(tempfile.mkdtemp(prefix="lock-bench-", dir=harness.OUT))
    db = work / "site.db"
    shutil.copy(source, db)
    env = harness.child_env(SITE_URL="https://news.example.com")
    if args.code:
        env["PYTHONPATH"] = str(args.code.resolve())
    code = args.code.resolve() if args.code else harness.ROOT
    subprocess.run([harness.PYTHON, "-c", (
        "import sys; from syndicate import create_app; from syndicate.db import get_store\n"
        "app = create_app({'DATABASE': sys.argv[1]})\n"
        "with app.app_context(): get_store().create_token('bench', sys.argv[2], 'write')"
    ), str(db), SECRET], env=env, cwd=code, check=True)  # fmt: skip
    rows = []
    with harness.Processes() as procs:
        port = harness.free_port()
        command = [harness.PYTHON, "-m", "syndicate", "--database", str(db), "serve", "--port", str(port)]
        proc = procs.start([*command, "--threads", str(args.threads)], env=env, log=work / "serve.log", cwd=code)
        harness.wait_for_port(port, proc)
        for label, page_base in (("no lock", 100), ("lock held", 400)):
            holder = LockHolder(db) if label == "lock held" else None
            try:
                results = measure(port, args.samples, page_base)
            finally:
                if holder is not None:
                    holder.release()
            for what, samples in results.items():
                rows.append([label, what, *describe(samples)])
    shutil.rmtree(work, ignore_errors=True)
    print(f"# lock_bench: {source.name}, serve --threads {args.threads}, code: {code},")
    print(f"# {args.samples} cached GETs, 20 uncached pages, 3 writes, 8 writes at once (+5 reads meanwhile)")
    print(f"# {harness.stamp()}, {harness.machine()}\n")
    print(harness.table(["database", "request", "statuses", "median ms", "max ms"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
