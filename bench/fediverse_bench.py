"""Fediverse delivery: 1,000 followers behind one shared inbox, and behind 100 distinct inboxes.

A local receiving server (threads, loopback; optional added latency per POST to stand in for
the network) counts signed POSTs. The app runs in this process with its real delivery workers
(``FEDIVERSE_WORKERS``). For each case it publishes ``--articles`` articles through the API and
reports: deliveries queued, time from the first API answer until the receiver has them all,
API write latency (median, p95) while deliveries run against the same write latency with
FEDIVERSE_ENABLED off (the baseline, same run), and memory (tracemalloc peak, RSS growth).

    .venv/bin/python bench/fediverse_bench.py [--articles 10] [--latency-ms 0 50]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syndicate import create_app  # noqa: E402
from syndicate.db import get_store  # noqa: E402
from syndicate.fediverse.delivery import stamp  # noqa: E402
from syndicate.fediverse.storage import FediStorage  # noqa: E402

TOKEN = "syn_bench-write-secret"
FOLLOWERS = 1000


class Receiver:
    """Inboxes at /i/<n>/inbox; counts what arrives."""

    def __init__(self, latency: float) -> None:
        self.count = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if latency:
                    time.sleep(latency)
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.lock:
                    receiver.count += 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_app(path: Path, enabled: bool):
    app = create_app(
        {
            "DATABASE": str(path),
            "SITE_URL": "https://news.example.com",
            "CACHE_TYPE": "NullCache",
            "FEDIVERSE_ENABLED": enabled,
            "FEDIVERSE_ALLOW_PRIVATE_ADDRESSES": True,
            "FEDIVERSE_POLL": 0.5,
        }
    )
    with app.app_context():
        store = get_store()
        if not store.tokens():
            store.create_token("bench", TOKEN, "write")
    return app


def write_latencies(app, n: int, tag: str) -> list[float]:
    client = app.test_client()
    out = []
    for i in range(n):
        started = time.perf_counter()
        response = client.post(
            "/api/v1/articles",
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={"title": f"{tag} article {i}", "body": "<p>Body.</p>", "summary": "S."},
        )
        out.append(time.perf_counter() - started)
        assert response.status_code == 201, response.json
    return out


def add_followers(path: Path, receiver: Receiver, inboxes: int) -> None:
    fedi = FediStorage(str(path))
    try:
        with fedi.transaction():
            for n in range(FOLLOWERS):
                box = n % inboxes
                fedi.add_follower(
                    "https://news.example.com/ap/site",
                    f"https://remote{box}.example/users/u{n}",
                    f"{receiver.base}/i/{box}/u{n}",
                    f"{receiver.base}/i/{box}/inbox",
                    "",
                    stamp(time.time()),
                )
    finally:
        fedi.close()


def run_case(inboxes: int, articles: int, latency: float) -> dict[str, float]:
    receiver = Receiver(latency)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        app = make_app(path, True)
        add_followers(path, receiver, inboxes)
        write_latencies(app, 2, "warm-up")  # keys made, code paths warm
        federation = app.extensions["fediverse"]
        federation.deliverer.wait_idle(120)
        receiver.count = 0
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        started = time.perf_counter()
        latencies = write_latencies(app, articles, "bench")
        expected = articles * inboxes
        while receiver.count < expected and time.perf_counter() - started < 600:
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        federation.close()
    receiver.close()
    return {
        "deliveries": receiver.count,
        "expected": expected,
        "seconds": elapsed,
        "per_second": receiver.count / elapsed,
        "write_median_ms": statistics.median(latencies) * 1000,
        "write_p95_ms": sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1000,
        "peak_mib": peak / 2**20,
        "rss_growth_mib": (rss_after - rss_before) / 1024,
    }


def baseline(articles: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp) / "base.db", False)
        write_latencies(app, 2, "warm-up")
        return write_latencies(app, articles, "base")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10, help="articles published per case")
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 50.0], help="added per POST")
    args = parser.parse_args(argv)
    base = baseline(max(args.articles, 20))
    print(
        f"API write, fediverse off (baseline): median {statistics.median(base) * 1000:.1f} ms, "
        f"p95 {sorted(base)[int(len(base) * 0.95) - 1] * 1000:.1f} ms over {len(base)} writes"
    )
    print(
        f"{'case':<34} {'deliv.':>7} {'seconds':>8} {'deliv/s':>8} {'write med':>10} {'write p95':>10} "
        f"{'ratio':>6} {'tracemalloc':>12} {'RSS+':>6}"
    )
    for latency in args.latency_ms:
        for inboxes in (1, 100):
            r = run_case(inboxes, args.articles, latency / 1000)
            label = f"{FOLLOWERS} followers / {inboxes} inbox(es), +{latency:.0f} ms"
            ratio = r["write_median_ms"] / (statistics.median(base) * 1000)
            print(
                f"{label:<34} {r['deliveries']:>4}/{r['expected']:<3}{r['seconds']:>7.2f} {r['per_second']:>8.0f} "
                f"{r['write_median_ms']:>8.1f}ms {r['write_p95_ms']:>8.1f}ms {ratio:>5.2f}x "
                f"{r['peak_mib']:>9.1f}MiB {r['rss_growth_mib']:>4.0f}MiB"
            )


if __name__ == "__main__":
    main()
