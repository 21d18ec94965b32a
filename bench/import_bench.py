"""Import speed: export a demo archive to JSON Lines, import it into an empty database with
``syndicate import``, and print seconds and articles per second; then the re-run (every record
unchanged) and a check that export -> import -> export is byte-identical.

    PYTHONPATH=. python bench/import_bench.py [--articles 12000] [--workdir /tmp/syndicate-import-bench]

Each step runs the real CLI in a subprocess (what an operator runs), so the figures include
start-up (about 0.3 s). The demo archive is generated once and reused from the work folder.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNTIL = "2026-11-01"  # fixed, so every run imports the same archive


def syndicate(database: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "syndicate", "--database", str(database), *args]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def timed(database: Path, *args: str) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds (user + system) of one command. On a busy machine the CPU time
    is the steadier figure; the wall clock is what an operator waits."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = syndicate(database, *args)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=12000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/syndicate-import-bench"))
    parser.add_argument("--repeat", type=int, default=3, help="Runs; the best and the median are shown.")
    options = parser.parse_args()
    work = options.workdir
    work.mkdir(parents=True, exist_ok=True)

    source_db = work / f"demo-{options.articles}.db"
    exported = work / f"demo-{options.articles}.jsonl"
    if not exported.exists():
        for stale in work.glob(f"demo-{options.articles}.db*"):
            stale.unlink()
        syndicate(source_db, "demo", "--articles", str(options.articles), "--until", UNTIL)
        syndicate(source_db, "export", "-o", str(exported))
    size_mib = exported.stat().st_size / 1_048_576

    target = work / "import-target.db"
    firsts, reruns, first_cpu, rerun_cpu = [], [], [], []
    for _ in range(max(1, options.repeat)):
        for stale in work.glob("import-target.db*"):
            stale.unlink()
        seconds, cpu, summary = timed(target, "import", str(exported))
        rerun_seconds, cpu2, rerun_summary = timed(target, "import", str(exported))
        firsts.append(seconds)
        reruns.append(rerun_seconds)
        first_cpu.append(cpu)
        rerun_cpu.append(cpu2)
    again = work / "reexport.jsonl"
    syndicate(target, "export", "-o", str(again))
    identical = filecmp.cmp(exported, again, shallow=False)

    n = options.articles
    print(f"import of {n} articles ({size_mib:.1f} MiB JSON Lines) into an empty database")
    print(f"  (best / median of {len(firsts)} runs; each run starts from an empty database)")
    for label, runs, cpus, last in (
        ("first import", firsts, first_cpu, summary),
        ("re-run", reruns, rerun_cpu, rerun_summary),
    ):
        best, median = min(runs), statistics.median(runs)
        print(
            f"  {label:<13}: {best:6.2f} s  {n / best:6.0f} articles/s  (median {median:.2f} s, {n / median:.0f}/s;"
            f" CPU {min(cpus):.2f} s)"
        )
        print(f"                 {last}")
    print(f"  export -> import -> export byte-identical: {'yes' if identical else 'NO'}")
    if not identical:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
