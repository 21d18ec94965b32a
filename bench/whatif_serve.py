"""What if: ``syndicate serve`` with the response cache's content-version check made at most
every ``--stamp-interval`` seconds per thread instead of on every request.

A diagnostic for http_bench.py (``--what-if-stamp-interval``), not a proposal in code: it
measures how much of the gap between a cache hit and the floor is the one SQLite call per
request that notices writes from other processes. The app itself is unchanged; only this
process patches ``ResponseCache.stamp``.

    python bench/whatif_serve.py --database DB --port 8002 --stamp-interval 0.1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syndicate import cache, create_app  # noqa: E402
from syndicate.server import serve  # noqa: E402


def throttle_stamp(interval: float) -> None:
    checked = cache.ResponseCache.stamp

    def stamp(self) -> str:
        state = self.local
        now = time.monotonic()
        if getattr(state, "stamp", None) is not None and now - getattr(state, "checked_at", 0.0) < interval:
            return state.stamp
        state.checked_at = now
        return checked(self)

    cache.ResponseCache.stamp = stamp


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--stamp-interval", type=float, default=0.1, help="seconds between checks per thread")
    args = parser.parse_args(argv)
    throttle_stamp(args.stamp_interval)
    app = create_app({"DATABASE": args.database})
    serve(app, host="127.0.0.1", port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
