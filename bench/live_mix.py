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
- wrk counts every answer's ``X-Cache`` (``harness.TALLY_LUA``): the hit ratio is the share of
  answers not rendered for that request, renders/s the ``miss`` answers a second.
- Survivors of one publish (goal 4): the 300 hottest URLs of the sequence are fetched until
  they are cached, one article is published (category World), and each is fetched again: how
  many still answer ``X-Cache: hit``.

    python bench/live_mix.py [--duration 20] [--rounds 2] [--base /tmp/base-main] [--database DB] [--env NAME=VALUE]

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


def start(
    procs: harness.Processes, name: str, db: Path, logs: Path, root: Path | None, extra: dict[str, str]
) -> Server:
    port = harness.free_port()
    command = [harness.PYTHON, "-m", "syndicate", "--database", str(db), "serve", "--port", str(port)]
    command += ["--threads", "8"]
    env = {**harness.child_env(SITE_URL=SITE_URL), **extra}
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
            ok = publish(self.server, self.token, title)
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


def publish(server: Server, token: str, title: str) -> bool:
    body = json.dumps({"title": title, "body": f"<p>{title}.</p>", "category": "World"}).encode()
    request = urllib.request.Request(
        server.base + "/api/v1/articles", data=body, method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status == 201
    except Exception:  # noqa: BLE001 - counted by the caller, the bench goes on
        return False


def survivors(server: Server, token: str, paths: list[str]) -> tuple[int, int, list[str]]:
    """(entries cached, entries still cached after one publish, the URLs that were not)."""
    for path in paths:  # twice: the first pass may render, the second must hit
        harness.fetch(server.base + path)
    cached = [p for p in paths if harness.fetch(server.base + p)[1].get("X-Cache") == "hit"]
    if not publish(server, token, f"Survivor check {time.time_ns()}"):
        raise SystemExit(f"{server.name}: the publish for the survivor check failed")
    gone = [p for p in cached if harness.fetch(server.base + p)[1].get("X-Cache") != "hit"]
    return len(cached), len(cached) - len(gone), gone


def measure(label: str, server: Server, lua: Path, args: argparse.Namespace, token: str | None) -> dict:
    stop = threading.Event()
    writer = Writer(server, token, stop) if token else None
    if writer:
        writer.start()
    run = harness.wrk(server.base + "/", {}, args, lua)
    stop.set()
    if writer:
        writer.join()
    rss, hwm = rss_kib(server.proc) if server.proc else (0, 0)
    hits, rendered = harness.hit_ratio(run.tally)
    if odd := {k: n for k, n in run.tally.items() if not k.startswith(("2", "3"))}:
        print(f"# {label}: answers other than 2xx/3xx: {odd}", file=sys.stderr)
    return {
        "hits": hits, "renders": rendered / args.duration,
        "label": label, "rps": run.rps, "p50": run.p50_ms, "p99": run.p99_ms, "errors": run.errors,
        "published": writer.published if writer else 0, "stale": writer.stale if writer else 0,
        "write_errors": writer.errors if writer else 0, "rss_mb": rss / 1024, "hwm_mb": hwm / 1024,
    }  # fmt: skip


def prepare(procs: harness.Processes, name: str, root: Path | None, args: argparse.Namespace, logs: Path,
            source: Path) -> tuple[Server, Path, dict, str, dict]:  # fmt: skip
    """A server of one checkout on its own copy of the archive (each checkout migrates it to its
    own schema), its replayed sequence, the floor's spec and the survivor check."""
    db = harness.private_copy(source, logs, name)
    token = "syn_live_" + str(time.time_ns())
    create = f"from syndicate.store import Store; Store({str(db)!r}).create_token('live', {token!r}, 'write')"
    env = {**harness.child_env(), **({"PYTHONPATH": str(root)} if root else {})}
    # In the checkout's folder: python -c puts the working directory before PYTHONPATH.
    subprocess.run([harness.PYTHON, "-c", create], env=env, check=True, cwd=root or harness.ROOT)
    server = start(procs, name, db, logs, root, dict(v.split("=", 1) for v in args.env))
    urls = url_spread(server, db)
    sequence = zipf_sequence(urls, SEQUENCE)
    lua = harness.tally_script(sequence, logs, name)
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
    hot = list(dict.fromkeys(sequence))[: args.survivors]
    cached, kept, gone = survivors(server, token, hot)
    print(f"# {name}: {kept} of {cached} cached entries survive one publish; gone: {gone[:40]}", file=sys.stderr)
    return server, lua, spec, token, {"label": f"{name}: survivors", "cached": cached, "kept": kept}


def scenarios(args: argparse.Namespace, logs: Path, source: Path) -> list[dict]:
    """Every checkout's server and the floor, the rounds interleaving them."""
    results = []
    with harness.Processes() as procs:
        checkouts = [("this", None), *((("base", args.base),) if args.base else ())]
        prepared = []
        for name, root in checkouts:
            server, lua, spec, token, kept = prepare(procs, name, root, args, logs, source)
            results.append(kept)
            prepared.append((name, server, lua, token))
            if root is None:
                floor, floor_lua = start_floor(procs, spec, 8, logs), lua
        for number in range(args.rounds):
            print(f"# round {number + 1}/{args.rounds}", file=sys.stderr)
            for name, server, lua, token in prepared if number % 2 == 0 else reversed(prepared):
                results.append(measure(f"{name}: no writes", server, lua, args, None))
                results.append(measure(f"{name}: 1 write/s", server, lua, args, token))
            results.append({**measure("floor", floor, floor_lua, args, None), "rss_mb": 0, "hwm_mb": 0})
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="for the servers' environment (SYNDICATE_CACHE_THRESHOLD=20000, MALLOC_ARENA_MAX=2)",
    )  # fmt: skip
    parser.add_argument("--survivors", type=int, default=300, help="hottest URLs checked across one publish")
    parser.add_argument("--base", type=Path)
    parser.add_argument("--sample", type=int, default=400, help="URLs fetched up front to size the floor")
    parser.add_argument("--database", type=Path)
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    args = parser.parse_args()
    source = args.database or harness.demo_db()
    logs = Path(tempfile.mkdtemp(prefix="live-mix-", dir=harness.OUT))
    results = scenarios(args, logs, source)
    rows, kept = {}, []
    for r in results:
        if r["label"].endswith("survivors"):
            kept.append(f"{r['label']}: {r['kept']} of {r['cached']} cached entries still hit after one publish")
        else:
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
            "" if label == "floor" else f"{statistics.median(r['hits'] for r in runs):.1%}",
            "" if label == "floor" else f"{statistics.median(r['renders'] for r in runs):.1f}",
            f"{max(r['rss_mb'] for r in runs):.0f} / {max(r['hwm_mb'] for r in runs):.0f}",
        ])  # fmt: skip
    headers = ["run", "req/s", "p50 ms", "p99 ms (worst)", "vs no writes", "vs floor", "published", "stale",
               "errors", "hit ratio", "renders/s", "RSS / peak MB"]  # fmt: skip
    print(harness.table(headers, table))
    print("\n" + "\n".join(f"- {line}" for line in kept))
    shutil.rmtree(logs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
