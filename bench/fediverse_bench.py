"""Fediverse delivery: 1,000 followers behind one shared inbox, and behind 100 distinct inboxes.

A local receiving server (threads, loopback; optional added latency per POST to stand in for
the network) counts signed POSTs. The app runs in this process with its real delivery workers
(``FEDIVERSE_WORKERS``). For each case it publishes ``--articles`` articles through the API and
reports: deliveries queued, time from the first API answer until the receiver has them all,
API write latency (median, p95) while deliveries run against the same write latency with
FEDIVERSE_ENABLED off (the baseline, same run), and memory (resident set: peak, and growth during the case).

    .venv/bin/python bench/fediverse_bench.py [--articles 10] [--latency-ms 0 50]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syndicate import create_app  # noqa: E402
from syndicate.db import get_store  # noqa: E402
from syndicate.fediverse.delivery import stamp  # noqa: E402
from syndicate.store.fediverse import FediStorage  # noqa: E402

TOKEN = "syn_bench-write-secret"
FOLLOWERS = 1000


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssPeak:
    """Samples this process's resident memory every 10 ms; ``peak`` is the highest seen."""

    def __init__(self) -> None:
        self.start = self.peak = rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, rss_mib())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak - self.start


def _serve(port_out, count, latency: float) -> None:
    """The receiving server's process: inboxes at /i/<n>/inbox, counting what arrives."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if latency:
                time.sleep(latency)
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with count.get_lock():
                count.value += 1

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024  # listen() backlog: set before the socket listens
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    port_out.value = server.server_address[1]
    server.serve_forever()


class Receiver:
    """A receiving server in its own process (as a remote server would be: no shared GIL)."""

    def __init__(self, latency: float) -> None:
        self._count = multiprocessing.Value("i", 0)
        port = multiprocessing.Value("i", 0)
        self.proc = multiprocessing.Process(target=_serve, args=(port, self._count, latency), daemon=True)
        self.proc.start()
        while not port.value:
            time.sleep(0.01)
        self.base = f"http://127.0.0.1:{port.value}"

    @property
    def count(self) -> int:
        return self._count.value

    def reset(self) -> None:
        with self._count.get_lock():
            self._count.value = 0

    def close(self) -> None:
        self.proc.terminate()
        self.proc.join()


def make_app(path: Path, enabled: bool):
    app = create_app(
        {
            "DATABASE": str(path),
            "SITE_URL": "https://news.example.com",
            "CACHE_TYPE": "NullCache",
            "FEDIVERSE_ENABLED": enabled,
            "FEDIVERSE_ALLOW_PRIVATE_ADDRESSES": True,
            "FEDIVERSE_POLL": 0.5,
            "FEDIVERSE_BACKOFF": 1.0,  # a refused connection is retried after 1 s, 2 s... (default 60 s)
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


class Retries(logging.Handler):
    """Counts failed attempts logged by the delivery workers (and keeps them off the screen)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


RETRIES = Retries()
_log = logging.getLogger("syndicate.fediverse.delivery")
_log.addHandler(RETRIES)
_log.propagate = False


def run_case(inboxes: int, articles: int, latency: float) -> dict[str, float]:
    receiver = Receiver(latency)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        app = make_app(path, True)
        add_followers(path, receiver, inboxes)
        write_latencies(app, 2, "warm-up")  # keys made, code paths warm
        federation = app.extensions["fediverse"]
        federation.deliverer.wait_idle(120)
        receiver.reset()
        RETRIES.count = 0
        memory = RssPeak()
        started = time.perf_counter()
        latencies = write_latencies(app, articles, "bench")
        expected = articles * inboxes
        while receiver.count < expected and time.perf_counter() - started < 600:
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        growth = memory.stop()
        federation.deliverer.wait_idle(60)
        federation.close()
    receiver.close()
    return {
        "deliveries": receiver.count,
        "expected": expected,
        "seconds": elapsed,
        "per_second": receiver.count / elapsed,
        "write_median_ms": statistics.median(latencies) * 1000,
        "write_p95_ms": sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1000,
        "rss_growth_mib": growth,
        "rss_mib": memory.peak,
        "retries": RETRIES.count,
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
        f"{'ratio':>6} {'RSS peak':>9} {'growth':>7} {'retries':>7}"
    )
    for latency in args.latency_ms:
        for inboxes in (1, 100):
            r = run_case(inboxes, args.articles, latency / 1000)
            label = f"{FOLLOWERS} followers / {inboxes} inbox(es), +{latency:.0f} ms"
            ratio = r["write_median_ms"] / (statistics.median(base) * 1000)
            print(
                f"{label:<34} {r['deliveries']:>4}/{r['expected']:<3}{r['seconds']:>7.2f} {r['per_second']:>8.0f} "
                f"{r['write_median_ms']:>8.1f}ms {r['write_p95_ms']:>8.1f}ms {ratio:>5.2f}x "
                f"{r['rss_mib']:>6.0f}MiB {r['rss_growth_mib']:>4.1f}MiB {r['retries']:>7}"
            )


if __name__ == "__main__":
    main()
