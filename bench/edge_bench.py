"""Hostile clients against `syndicate serve` on the 12,000-article demo archive.

1. GET / (cache on, warmed) with no other connection, then with N connections each holding a
   half-sent request (slowloris), then with N trickling a header line every second: median and
   worst of ``--repeat`` requests, each on a new connection. The same server process for all.
2. A POST /api/v1/articles declaring a 300 MB body, headers only: time from the last header
   byte sent to the full 401 (no token) and 413 (write token, over MAX_CONTENT_LENGTH) answer.
   The body is never sent.

    python bench/edge_bench.py [--held 1000] [--repeat 9]
"""

from __future__ import annotations

import argparse
import http.client
import resource
import shutil
import socket
import statistics
import subprocess
import threading
import time

from harness import OUT, PYTHON, Processes, child_env, demo_db, free_port, table, wait_for_port

HALF_REQUEST = b"GET / HTTP/1.1\r\nHost: bench.example\r\nUser-Agent: slow"


def timed_get(port: int) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/")
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 200, response.status
    return time.perf_counter() - started


def gets(port: int, repeat: int) -> list[float]:
    timed_get(port)  # warm the cache entry and this code path
    return [timed_get(port) for _ in range(repeat)]


def hold(port: int, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.sendall(HALF_REQUEST)
        socks.append(sock)
    return socks


def trickle(socks: list[socket.socket], stop: threading.Event) -> None:
    while not stop.wait(1.0):
        for sock in socks:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                pass


def headers_to_answer(port: int, head: bytes) -> tuple[int, float]:
    """(status, seconds from the headers sent to the whole answer read)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        started = time.perf_counter()
        sock.sendall(head)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return int(data.split(b" ", 2)[1]), time.perf_counter() - started


def post_head(token: str | None) -> bytes:
    lines = ["POST /api/v1/articles HTTP/1.1", "Host: bench.example", "Content-Type: application/json",
             f"Content-Length: {300 * 1024 * 1024}"]  # fmt: skip
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def ms(values: list[float]) -> tuple[str, str]:
    return f"{statistics.median(values) * 1000:.1f}", f"{max(values) * 1000:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--held", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * args.held + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(2 * args.held + 256, hard), hard))
    database = OUT / "edge.db"  # a copy: the bench's token is not left in the shared archive
    shutil.copy(demo_db(), database)
    env = child_env(SITE_URL="http://127.0.0.1")
    token = "syn_bench_" + str(time.time_ns())
    subprocess.run(
        [PYTHON, "-c", f"from syndicate.store import Store; Store({str(database)!r}).create_token("
         f"'bench-{token[-6:]}', {token!r}, 'write')"],
        env=env, check=True,
    )  # fmt: skip
    port = free_port()
    with Processes() as procs:
        proc = procs.start(
            [PYTHON, "-m", "syndicate", "--database", str(database), "serve", "--port", str(port)], env=env
        )
        wait_for_port(port, proc)
        rows = [["GET /, no other connection", *ms(gets(port, args.repeat))]]
        held = hold(port, args.held)
        time.sleep(0.5)
        rows.append([f"GET /, {args.held} half-sent requests held", *ms(gets(port, args.repeat))])
        stop = threading.Event()
        trickler = threading.Thread(target=trickle, args=(held, stop), daemon=True)
        trickler.start()
        rows.append([f"GET /, {args.held} trickling a header line a second", *ms(gets(port, args.repeat))])
        stop.set()
        trickler.join()
        for sock in held:
            sock.close()
        print(table(["request", "median ms", "worst ms"], rows))
        print()
        rows = []
        for label, head in (("no token: 401", post_head(None)), ("write token, too large: 413", post_head(token))):
            timings = []
            for _ in range(args.repeat):
                status, seconds = headers_to_answer(port, head)
                timings.append(seconds)
            rows.append([f"POST 300 MB declared, headers only, {label}", status, *ms(timings)])
        print(table(["request", "status", "median ms", "worst ms"], rows))


if __name__ == "__main__":
    main()
