"""Never stale at the edge (issue 15): proxy hit ratio and staleness through Varnish on the
12,000-article demo, with one article published every ``--every`` seconds.

Two runs on the same stack (deploy.stack: Redis, two waitress processes, Varnish from
deploy/varnish.vcl), each on a fresh copy of the archive and a fresh proxy:

- before: CACHE_MAX_AGE=60 and no purging (the proxy keeps everything 60 s);
- after: purging by surrogate key (xkey) on every write, and the proxy keeps objects for
  SURROGATE_MAX_AGE (a day) while browsers still get max-age=60.

Readers: ``--readers`` threads on keep-alive connections, each drawing URLs from a realistic mix
(Zipf over the front pages, the site's and every section's, tag's and author's feeds and
listings, the newest articles' pages, a few searches); a response is a hit when Varnish says so
(X-Proxy-Cache). A writer publishes through process 1's API every ``--every`` seconds, and a
watcher polls the new article's section page, the front page and /feed/ through the proxy from
the 201 on: "stale" counts its responses that still lack the title, "staleness" is the time
from the 201 to the first fresh one.

    .venv/bin/python bench/edge_purge_bench.py [--duration 60] [--warmup 15] [--every 10]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402
from deploy.stack import Stack  # noqa: E402


@dataclass
class Tally:
    hits: int = 0
    misses: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Publication:
    latency: float  # seconds the API took to answer 201
    staleness: float | None  # seconds from the 201 to the first fresh response (None: never)
    stale: int  # responses without the new title after the 201


def url_mix(db: Path, rng: random.Random) -> list[str]:
    """The URLs readers ask for, most popular first (Zipf weights are given by position)."""
    import sqlite3

    conn = sqlite3.connect(db)
    cats = [r[0] for r in conn.execute("SELECT slug FROM categories ORDER BY position")]
    tags = [r[0] for r in conn.execute("SELECT slug FROM tags ORDER BY name")]
    authors = [r[0] for r in conn.execute("SELECT slug FROM authors ORDER BY name")]
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    newest = conn.execute(
        "SELECT published, slug FROM articles WHERE status = 'published' AND published <= ?"
        " ORDER BY published DESC LIMIT 400",
        (now,),
    ).fetchall()
    conn.close()
    articles = [f"/{p[:4]}/{p[5:7]}/{p[8:10]}/{s}/" for p, s in newest]
    urls = ["/", "/feed/", "/feed/atom/", "/feed/json/"]
    urls += [f"/category/{c}/" for c in cats] + [f"/category/{c}/feed/" for c in cats]
    urls += articles[:40] + ["/page/2/", "/page/3/"]
    urls += [f"/tag/{t}/feed/" for t in tags] + [f"/author/{a}/feed/" for a in authors]
    urls += [f"/tag/{t}/" for t in tags] + [f"/author/{a}/" for a in authors]
    urls += articles[40:] + [f"/category/{c}/page/2/" for c in cats]
    urls += [f"/search?q={w}" for w in ("market", "election", "climate", "football", "energy")]
    return [quote(u, safe="/?=&") for u in urls]


def reader(port: int, urls: list[str], weights: list[float], stop: threading.Event, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        path = rng.choices(urls, weights)[0]
        try:
            conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
            response = conn.getresponse()
            response.read()
            hit = response.getheader("X-Proxy-Cache") == "HIT"
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with tally.lock:
                tally.errors += 1
            continue
        with tally.lock:
            if response.status >= 500:
                tally.errors += 1
            elif hit:
                tally.hits += 1
            else:
                tally.misses += 1
    conn.close()


def publish(app_url: str, token: str, category: str, title: str) -> float:
    body = json.dumps({"title": title, "body": f"<p>{title}</p>", "category": category, "tags": ["Energy"]}).encode()
    host, port = app_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    started = time.perf_counter()
    conn.request("POST", "/api/v1/articles", body, {"Authorization": f"Bearer {token}",
                                                    "Content-Type": "application/json"})  # fmt: skip
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    assert response.status == 201, response.status
    return elapsed


def watch(port: int, paths: list[str], title: str, published: float, limit: float, out: list[Publication],
          latency: float) -> None:  # fmt: skip
    """From the 201 (``published``): poll ``paths`` through the proxy until each shows ``title``.
    Staleness is when the first request that showed it was sent (0: the very first did)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    pending, stale, fresh_at = list(paths), 0, 0.0
    while pending and time.perf_counter() - published < limit:
        for path in list(pending):
            sent = time.perf_counter()
            conn.request("GET", path)
            body = conn.getresponse().read().decode()
            if title in body:
                pending.remove(path)
                fresh_at = max(fresh_at, 0.0 if stale == 0 else sent - published)
            else:
                stale += 1
        if pending:
            time.sleep(0.05)
    conn.close()
    out.append(Publication(latency, None if pending else fresh_at, stale))


def writer(stack: Stack, token: str, every: float, stop: threading.Event, out: list[Publication],
           watchers: list[threading.Thread]) -> None:  # fmt: skip
    rng = random.Random(7)
    cats = ["world", "economy", "politics", "science"]
    while not stop.wait(every):
        category = rng.choice(cats)
        title = f"Bench {uuid.uuid4().hex[:12]}"
        latency = publish(stack.app_urls[0], token, category.title(), title)
        published = time.perf_counter()
        paths = [f"/category/{category}/", "/", "/feed/"]
        watcher = threading.Thread(target=watch, args=(stack.proxy_port, paths, title, published, 75.0, out, latency))
        watcher.start()
        watchers.append(watcher)


def run(db: Path, purge: bool, args: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="edge-purge-", dir=harness.OUT))
    copy = work / "site.db"
    shutil.copy(db, copy)
    created = subprocess.run(
        [harness.PYTHON, "-m", "syndicate", "--database", str(copy), "token", "create", "--name", "bench"],
        capture_output=True, text=True, check=True, cwd=harness.ROOT, env=harness.child_env(),
    )  # fmt: skip
    token = created.stdout.strip().splitlines()[-1]
    urls = url_mix(copy, random.Random(1))
    weights = [1 / (rank + 1) for rank in range(len(urls))]
    stack = Stack(database=copy, workdir=work, processes=2, proxy="varnish", purge=purge, access_log=False,
                  settings={"CACHE_MAX_AGE": "60"})  # fmt: skip
    with stack:
        warm, measured = Tally(), Tally()
        for tally, seconds in ((warm, args.warmup), (measured, args.duration)):
            stop = threading.Event()
            threads = [
                threading.Thread(target=reader, args=(stack.proxy_port, urls, weights, stop, tally, n))
                for n in range(args.readers)
            ]
            pubs: list[Publication] = []
            watchers: list[threading.Thread] = []
            if tally is measured:
                threads.append(threading.Thread(target=writer, args=(stack, token, args.every, stop, pubs, watchers)))
            for thread in threads:
                thread.start()
            time.sleep(seconds)
            stop.set()
            for thread in threads + watchers:
                thread.join()
    shutil.rmtree(work, ignore_errors=True)
    total = measured.hits + measured.misses
    seen = [p.staleness for p in pubs if p.staleness is not None]
    return {
        "requests": total,
        "hit ratio": measured.hits / total if total else 0.0,
        "errors": measured.errors,
        "publishes": len(pubs),
        "stale": sum(p.stale for p in pubs),
        "never fresh": sum(p.staleness is None for p in pubs),
        "staleness median": statistics.median(seen) if seen else None,
        "staleness max": max(seen) if seen else None,
        "write median": statistics.median(p.latency for p in pubs) if pubs else None,
        "urls": len(urls),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between publishes")
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--database", type=Path)
    args = parser.parse_args(argv)
    db = (args.database or harness.demo_db()).resolve()
    results = {name: run(db, purge, args) for name, purge in (("before (max-age 60)", False),
                                                              ("after (xkey purge)", True))}  # fmt: skip

    def ms(value: object) -> str:
        return "-" if value is None else f"{value * 1000:,.0f}"

    first = next(iter(results.values()))
    print(f"# edge_purge_bench: Varnish (deploy/varnish.vcl) -> 2 waitress processes + Redis, {db.name}")
    print(f"# {args.readers} readers on keep-alive connections over {first['urls']} URLs (Zipf), a publish every"
          f" {args.every:g} s; {args.warmup:g} s warm-up, {args.duration:g} s measured")  # fmt: skip
    print(f"# {harness.stamp()}, {harness.machine()}\n")
    rows = [
        [name, f"{r['requests']:,}", f"{r['hit ratio']:.1%}", r["errors"], r["publishes"], r["stale"],
         r["never fresh"], ms(r["staleness median"]), ms(r["staleness max"]), ms(r["write median"])]
        for name, r in results.items()
    ]  # fmt: skip
    print(harness.table(["run", "requests", "hit ratio", "errors", "publishes", "stale responses",
                         "never fresh", "staleness p50 ms", "staleness max ms", "201 p50 ms"], rows))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
