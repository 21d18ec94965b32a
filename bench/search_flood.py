"""Can a flood of distinct searches starve the rest of the site? Before vs after.

    python bench/search_flood.py --base /tmp/search-base --db 12k.db

For each side (``--base``: a checkout of main on ``--db``; this checkout on ``--db`` copied
and migrated, see search_bench.py) a real ``syndicate serve`` (waitress, default settings and
cache) is started on a free loopback port. wrk measures GET / and GET /feed/ alone, then again
while a second wrk floods /search with expensive, distinct queries (common words at random
result pages, and one-letter prefixes): each a cache miss. Printed: req/s, p50 and p99 of / and
/feed/ without and during the flood, and what the flood itself got (req/s, non-2xx).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Processes, fetch, free_port, parse_wrk, wait_for_port  # noqa: E402
from bench.search_bench import ROOT, _after_copy  # noqa: E402

FLOOD_LUA = """
local words = {"the", "said", "minister", "talks", "a* b* c* d* e* f* g* h* i* j* k* l*", "officials", "in"}
request = function()
  local q = words[math.random(#words)]
  return wrk.format("GET", "/search?q=" .. q:gsub(" ", "+") .. "&page=" .. math.random(1, 100))
end
"""


def _wrk(url: str, seconds: int, connections: int, script: str | None = None) -> str:
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", script]
    return subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout


def _side(code: Path, db: Path, seconds: int, script: str) -> dict[str, object]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PYTHONPATH": str(code), "PATH": "/usr/bin:/bin", "SYNDICATE_SITE_URL": base}
    with Processes() as procs:
        args = [sys.executable, "-m", "syndicate", "--database", str(db), "serve", "--port", str(port)]
        procs.start(args, env=env, cwd=code)  # cwd: "-m" puts it first on the path
        wait_for_port(port, timeout=60)
        for path in ("/", "/feed/"):
            fetch(base + path)
        out: dict[str, object] = {}
        for path in ("/", "/feed/"):
            out[f"{path} alone"] = parse_wrk(_wrk(base + path, seconds, 4))
        flood: dict[str, str] = {}
        thread = threading.Thread(
            target=lambda: flood.update(out=_wrk(base + "/search", 2 * seconds + 4, 16, script)), daemon=True
        )
        thread.start()
        time.sleep(2)
        for path in ("/", "/feed/"):
            out[f"{path} during flood"] = parse_wrk(_wrk(base + path, seconds, 4))
        thread.join()
        out["flood /search"] = parse_wrk(flood["out"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(FLOOD_LUA)
    results = {
        "before": _side(args.base, args.db, args.seconds, lua.name),
        "after": _side(ROOT, _after_copy(args.db), args.seconds, lua.name),
    }
    Path(lua.name).unlink()
    print(f"\n{'':24} {'before: req/s   p50 ms   p99 ms':>34}   {'after: req/s   p50 ms   p99 ms':>34}")
    for label in results["after"]:
        cells = []
        for side in ("before", "after"):
            run = results[side][label]
            cells.append(f"{run.rps:10.0f} {run.p50_ms:8.1f} {run.p99_ms:8.1f}  {run.errors[:24]:24}")
        print(f"{label:24} {cells[0]}   {cells[1]}")


if __name__ == "__main__":
    main()
