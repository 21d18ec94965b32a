"""A live news day (issue 12, goal 5): a realistic spread of URLs with one article published per
second through the API, against the same spread without writes and against the floor.

- The URL spread (~9,500 URLs) comes from the site itself: every article in the sitemap, the
  front pages, every category's, author's and the busiest tags' listings and feeds in three
  formats, month archives, and a few searches. Requests follow a Zipf law over that list,
  ranked front pages and site feeds first, then scope listings and feeds, then articles newest
  first (a news site's readers), so a few URLs are very hot and most are cold.
- ``syndicate serve`` (waitress, 8 threads, default cache settings) on a copy of the 12,000
  article demo archive; wrk replays the sequence (a Lua script) with -c16.
- Writer: a thread POSTing one article a second to /api/v1/articles (a real write token), and
  right after each 201 fetching / and /feed/: the new title must be on both (zero-stale).
- Floor: bench/floor.py, the hottest URLs at their real size and headers, every other URL at
  the mean size of those.
- The server's resident memory (VmRSS, VmHWM) is read from /proc at the end of each run.

    python bench/live_mix.py [--duration 20] [--rounds 2] [--base /tmp/perf-base]

``--base DIR`` runs the same scenario with another checkout's code (the "before" figures).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from bench.http_bench import Server, start_floor  # noqa: E402

SITE_URL = "https://news.example.com"
ZIPF_S = 1.0
SEQUENCE = 200_000  # requests in the replayed sequence (wrk loops over it)
LUA = """
local paths = {}
for line in io.lines("%(file)s") do paths[#paths + 1] = line end
local counter = 0
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("start", threads * 7919) end
init = function(args) counter = tonumber(start) or 0 end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""


def start(procs: harness.Processes, name: str, db: Path, logs: Path, root: Path | None) -> Server:
    port = harness.free_port()
    command = [harness.PYTHON, "-m", "syndicate", "--database", str(db), "serve", "--port", str(port)]
    command += ["--threads", "8"]
    env = harness.child_env(SITE_URL=SITE_URL)
    if root is not None:
        env["PYTHONPATH"] = str(root)
    proc = procs.start(command, env=env, log=logs / f"{name}.log", cwd=root or harness.ROOT)
    harness.wait_for_port(port, proc)
    return Server(name, port, proc)


def local(url: str) -> str:
    return url.removeprefix(SITE_URL) or "/"


def url_spread(server: Server, db: Path) -> list[str]:
    """Ranked URLs, hottest first (see the module docstring)."""
    _, _, index = harness.fetch(server.base + "/sitemap.xml")
    articles = []
    for loc in re.findall(r"<loc>([^<]+)</loc>", index.decode()):
        _, _, body = harness.fetch(server.base + local(loc))
        articles += [local(u) for u in re.findall(r"<loc>([^<]+)</loc>", body.decode())]
    articles.reverse()  # newest first
    conn = sqlite3.connect(db)
    scopes = [f"/category/{s}/" for (s,) in conn.execute("SELECT slug FROM categories ORDER BY position, slug")]
    scopes += [f"/author/{s}/" for (s,) in conn.execute("SELECT slug FROM authors ORDER BY slug")]
    scopes += [
        f"/tag/{s}/"
        for (s,) in conn.execute(
            "SELECT t.slug FROM tags t JOIN article_tags x ON x.tag_id = t.id"
            " GROUP BY t.id ORDER BY count(*) DESC LIMIT 60"
        )
    ]
    months = [
        f"/{y}/{m}/"
        for y, m in conn.execute(
            "SELECT DISTINCT substr(published, 1, 4), substr(published, 6, 2) FROM articles ORDER BY 1 DESC, 2 DESC"
        )
    ]
    conn.close()
    top = ["/", "/feed/", "/feed/atom/", "/feed/json/", "/page/2/", "/page/3/"]
    listing = []
    for scope in scopes:
        listing += [scope, scope + "feed/", scope + "page/2/", scope + "feed/atom/", scope + "feed/json/"]
    searches = [f"/search?q={w}" for w in ("election", "talks", "climate", "market", "vaccine", "court")]
    deep = [f"/page/{n}/" for n in range(4, 60)] + [f"/feed/archive/{n}/" for n in range(1, 40)]
    ranked = top + listing[:60] + searches + listing[60:] + months + deep
    budget = 9_500 - len(ranked)
    return ranked + articles[: max(budget, 0)]


def zipf_sequence(urls: list[str], count: int, seed: int = 12) -> list[str]:
    weights = [1 / (rank + 1) ** ZIPF_S for rank in range(len(urls))]
    return random.Random(seed).choices(urls, weights=weights, k=count)


class Writer(threading.Thread):
    """One article a second through the API; after each 201, / and /feed/ must show it."""

    def __init__(self, server: Server, token: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.server, self.token, self.stop = server, token, stop
        self.published = self.stale = self.errors = 0
        self.latencies: list[float] = []

    def run(self) -> None:
        number = 0
        while not self.stop.is_set():
            started = time.monotonic()
            number += 1
            title = f"Live {time.time_ns()} number {number}"
            body = json.dumps({"title": title, "body": f"<p>{title}.</p>", "category": "World"}).encode()
            request = urllib.request.Request(
                self.server.base + "/api/v1/articles", data=body, method="POST",
                headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    ok = response.status == 201
            except Exception:  # noqa: BLE001 - counted, the bench goes on
                ok = False
            self.latencies.append(time.monotonic() - started)
            if not ok:
                self.errors += 1
            else:
                self.published += 1
                for path in ("/", "/feed/"):
                    _, _, page = harness.fetch(self.server.base + path)
                    if title.encode() not in page:
                        self.stale += 1
            self.stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))


def rss_kib(proc: subprocess.Popen) -> tuple[int, int]:
    status = Path(f"/proc/{proc.pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    return rss, hwm


def run_wrk(url: str, lua: Path, args: argparse.Namespace) -> harness.Run:
    command = [args.wrk, "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "--timeout", "10s"]
    result = subprocess.run([*command, "-s", str(lua), url], capture_output=True, text=True, check=True)
    return harness.parse_wrk(result.stdout)


def measure(label: str, server: Server, lua: Path, args: argparse.Namespace, token: str | None) -> dict:
    stop = threading.Event()
    writer = Writer(server, token, stop) if token else None
    if writer:
        writer.start()
    run = run_wrk(server.base + "/", lua, args)
    stop.set()
    if writer:
        writer.join()
    rss, hwm = rss_kib(server.proc) if server.proc else (0, 0)
    return {
        "label": label, "rps": run.rps, "p50": run.p50_ms, "p99": run.p99_ms, "errors": run.errors,
        "published": writer.published if writer else 0, "stale": writer.stale if writer else 0,
        "write_errors": writer.errors if writer else 0, "rss_mb": rss / 1024, "hwm_mb": hwm / 1024,
    }  # fmt: skip


def scenario(name: str, root: Path | None, args: argparse.Namespace, logs: Path, source: Path) -> list[dict]:
    db = logs / f"{name}.db"
    with sqlite3.connect(source) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    token = "syn_live_" + str(time.time_ns())
    create = f"from syndicate.store import Store; Store({str(db)!r}).create_token('live', {token!r}, 'write')"
    env = {**harness.child_env(), **({"PYTHONPATH": str(root)} if root else {})}
    subprocess.run([harness.PYTHON, "-c", create], env=env, check=True)
    results = []
    with harness.Processes() as procs:
        server = start(procs, name, db, logs, root)
        urls = url_spread(server, db)
        sequence = zipf_sequence(urls, SEQUENCE)
        paths = logs / f"{name}-paths.txt"
        paths.write_text("\n".join(sequence) + "\n")
        lua = logs / f"{name}.lua"
        lua.write_text(LUA % {"file": paths})
        # The floor's bodies: the real size of the hottest URLs (the first distinct ones of the
        # sequence, fetched once, which also warms them), the mean of those for all others.
        spec, sizes = {}, []
        for path in list(dict.fromkeys(sequence))[: args.sample]:
            status, headers, body = harness.fetch(server.base + path)
            if status == 200:
                spec[path] = {"headers": list(headers.items()), "size": len(body)}
                sizes.append(len(body))
        spec["*"] = {**spec["/"], "size": int(statistics.mean(sizes))}
        distinct = len(set(sequence))
        print(f"# {name}: {len(urls)} URLs, {distinct} distinct in the sequence, {len(sizes)} sized", file=sys.stderr)
        floor = start_floor(procs, spec, 8, logs) if root is None else None
        for _number in range(args.rounds):
            results.append(measure(f"{name}: no writes", server, lua, args, None))
            results.append(measure(f"{name}: 1 write/s", server, lua, args, token))
            if floor is not None:
                results.append({**measure("floor", floor, lua, args, None), "rss_mb": 0, "hwm_mb": 0})
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--base", type=Path)
    parser.add_argument("--sample", type=int, default=400, help="URLs fetched up front to size the floor")
    parser.add_argument("--database", type=Path)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    args = parser.parse_args()
    source = args.database or harness.demo_db()
    logs = Path(tempfile.mkdtemp(prefix="live-mix-", dir=harness.OUT))
    results = scenario("this", None, args, logs, source)
    if args.base:
        results += scenario("base", args.base, args, logs, source)
    rows = {}
    for r in results:
        rows.setdefault(r["label"], []).append(r)
    print(f"# live_mix: {source.name}, wrk -t2 -c{args.connections} -d{args.duration}s, {args.rounds} rounds;", end=" ")
    print(f"{harness.stamp()}, {harness.machine()}\n")
    table = []
    floor = statistics.median(r["rps"] for r in rows.get("floor", [{"rps": float("nan")}]))
    for label, runs in rows.items():
        rps = statistics.median(r["rps"] for r in runs)
        quiet = rows.get(label.replace("1 write/s", "no writes"))
        vs_quiet = rps / statistics.median(r["rps"] for r in quiet) if quiet and "write" in label else None
        table.append([
            label, f"{rps:,.0f}", f"{statistics.median(r['p50'] for r in runs):.2f}",
            f"{max(r['p99'] for r in runs):.1f}", f"{vs_quiet:.2f}" if vs_quiet else "", f"{rps / floor:.2f}",
            str(sum(r["published"] for r in runs)), str(sum(r["stale"] for r in runs)),
            "; ".join(r["errors"] for r in runs if r["errors"]) or "0",
            f"{max(r['rss_mb'] for r in runs):.0f} / {max(r['hwm_mb'] for r in runs):.0f}",
        ])  # fmt: skip
    headers = ["run", "req/s", "p50 ms", "p99 ms (worst)", "vs no writes", "vs floor", "published", "stale",
               "errors", "RSS / peak MB"]  # fmt: skip
    print(harness.table(headers, table))
    shutil.rmtree(logs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
