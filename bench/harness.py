"""Shared plumbing for the benchmarks: the 12,000-article demo archive, free loopback ports,
starting and stopping server processes, timing helpers and plain-text tables.

Benchmarks print figures; they never assert speed (tests assert behaviour, bench/ measures).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from wsgiref.headers import Headers

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable
DEMO_ARTICLES = 12_000
DEMO_SEED = 1107


def demo_db(articles: int = DEMO_ARTICLES, *, path: Path | None = None, until: str | None = None) -> Path:
    """The demo archive under bench/out/ (gitignored), generated with the real CLI if missing."""
    if path is None:
        name = f"demo{articles // 1000}k.db" if articles % 1000 == 0 else f"demo{articles}.db"
        path = OUT / name
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.db")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    args = ["--database", str(tmp), "demo", "--articles", str(articles), "--seed", str(DEMO_SEED)]
    if until:
        args += ["--until", until]
    print(f"building {articles}-article demo archive in {path} ...", file=sys.stderr)
    subprocess.run([PYTHON, "-m", "syndicate", *args], cwd=ROOT, env=child_env(), check=True, stdout=subprocess.DEVNULL)
    # Fold the WAL into the main file so the copy under its final name is complete.
    import sqlite3

    with sqlite3.connect(tmp) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    tmp.rename(path)
    return path


def private_copy(source: Path, folder: Path, name: str) -> Path:
    """A copy of ``source`` in ``folder`` for one server or one checkout's code. Each checkout
    migrates the database it opens to its own schema, and an older checkout refuses a database
    a newer one has migrated ("schema version 6 is newer than this Syndicate"), so a bench
    comparing two checkouts gives each its own copy and never lets either touch the source."""
    import sqlite3

    copy = folder / f"{name}.db"
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    return copy


def child_env(**settings: str) -> dict[str, str]:
    """The environment for a child process: this checkout first on the path, SYNDICATE_* settings
    given as keyword arguments (``CACHE_TYPE="NullCache"``), and no inherited SYNDICATE_* noise."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATE_")}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update({f"SYNDICATE_{k}": str(v) for k, v in settings.items()})
    return env


# One implementation of each, shared with the deployment scripts (deploy/stack.py).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from deploy.stack import free_port, stop_processes, wait_for_port  # noqa: E402, F401 (re-exported for the bench scripts)


class Processes:
    """Child processes started by one benchmark or test; ``stop()`` ends exactly those, by pid."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(
        self, args: Sequence[str], *, env: dict[str, str] | None = None, log: Path | None = None, **kw: object
    ) -> subprocess.Popen:
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(list(args), env=env, stdout=out, stderr=subprocess.STDOUT, cwd=kw.pop("cwd", ROOT))
        proc.log_file = out  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        stop_processes(self.procs)
        for proc in self.procs:
            if proc.log_file is not subprocess.DEVNULL:  # type: ignore[attr-defined]
                proc.log_file.close()  # type: ignore[attr-defined]
        self.procs.clear()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def fetch(url: str, headers: dict[str, str] | None = None, timeout: float = 30.0) -> tuple[int, Headers, bytes]:
    """(status, headers, body) of a GET; 3xx and 4xx are returned, not raised. The headers
    keep their order and case and are looked up case-insensitively (``.get("ETag")``)."""
    request = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, Headers(list(response.headers.items())), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, Headers(list(exc.headers.items())), exc.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def median_time(fn: Callable[[], object], *, repeat: int = 200, warmup: int = 5) -> float:
    """Median wall time of ``fn()`` in seconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table (readable in a terminal, pasteable into bench/README.md)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def machine() -> str:
    """One line describing where the figures come from."""
    import platform

    cpu = "?"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {system}"


def stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


# ----------------------------------------------------------------------------- wrk


@dataclass
class Run:
    """One wrk run."""

    rps: float
    p50_ms: float
    p99_ms: float
    bytes_per_response: float
    errors: str = ""
    tally: dict[str, int] = field(default_factory=dict)  # "status X-Cache" -> responses (TALLY_LUA)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
_SIZES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> Run:
    """Requests/sec, p50 and p99 (from --latency) and bytes per response from wrk's report."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    number, unit = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", output).groups()
    per_response = float(number) * _SIZES[unit] / rps if rps else 0.0
    errors = []
    if m := re.search(r"Socket errors: (.*)", output):
        errors.append("socket errors: " + m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        errors.append(f"{m.group(1)} non-2xx/3xx")
    tally = {m.group(1): int(m.group(2)) for m in re.finditer(r"^TALLY (.+) (\d+)$", output, re.M)}
    return Run(rps, p50, p99, per_response, "; ".join(errors), tally)


def wrk(url: str, headers: dict[str, str], args: argparse.Namespace, script: Path | None = None) -> Run:
    """One wrk run (args: wrk, wrk_threads, connections, duration) against ``url``, with a Lua
    ``script`` if given (``tally_script``)."""
    command = [args.wrk, "-t", str(args.wrk_threads), "-c", str(args.connections), "-d", f"{args.duration}s"]
    command += ["--latency", "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run([*command, url], capture_output=True, text=True, check=True)
    return parse_wrk(result.stdout)


# A wrk script replaying the lines of a file (``path`` or ``path<TAB>If-None-Match``) in a loop,
# each wrk thread from its own offset, and counting responses by status and X-Cache header; the
# counts are printed as "TALLY <status> <x-cache> <n>" lines (``Run.tally``). Fill in ``file``.
TALLY_LUA = """
local lines = {}
for line in io.lines("%(file)s") do lines[#lines + 1] = line end
local requests, counter = {}, 0
tally = {}  -- global: done() reads it from each thread with thread:get
local threads = {}
setup = function(thread) threads[#threads + 1] = thread; thread:set("start", #threads * 7919) end
init = function(args)
  counter = tonumber(start) or 0
  for i, line in ipairs(lines) do
    local path, etag = line:match("^([^\t]+)\t(.+)$")
    if path then requests[i] = wrk.format("GET", path, {["If-None-Match"] = etag})
    else requests[i] = wrk.format("GET", line) end
  end
end
request = function()
  counter = counter + 1
  return requests[(counter %% #requests) + 1]
end
response = function(status, headers, body)
  local key = status .. " " .. (headers["X-Cache"] or headers["x-cache"] or "-")
  tally[key] = (tally[key] or 0) + 1
end
done = function(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("tally") or {}) do total[key] = (total[key] or 0) + n end
  end
  for key, n in pairs(total) do io.write(string.format("TALLY %%s %%d\\n", key, n)) end
end
"""


def tally_script(lines: Sequence[str], folder: Path, name: str) -> Path:
    """A TALLY_LUA script replaying ``lines`` (written next to it in ``folder``)."""
    data = folder / f"{name}.txt"
    data.write_text("\n".join(lines) + "\n")
    script = folder / f"{name}.lua"
    script.write_text(TALLY_LUA % {"file": data})
    return script


def hit_ratio(tally: dict[str, int]) -> tuple[float, int]:
    """(share of responses not rendered for the request, responses rendered) from a tally:
    X-Cache ``miss`` is a render; ``hit`` and ``revalidated`` are answered from memory."""
    total = sum(tally.values())
    rendered = sum(n for key, n in tally.items() if key.endswith(" miss"))
    return (1 - rendered / total if total else float("nan")), rendered
