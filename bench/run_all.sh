#!/usr/bin/env bash
# Run every benchmark in bench/ one after the other and keep the output in bench/out/latest.txt.
# Usage: bench/run_all.sh [--quick]     (--quick: 2 s x 1 round wrk runs, for a smoke test)
# Benchmarks other helpers add (site_render, feeds_bench, cache_fastpath, import_bench) run when present.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/work/venv/bin/python}
[ -x "$PY" ] || PY=python3
WRK_ARGS=()
if [ "${1:-}" = "--quick" ]; then WRK_ARGS=(--duration 2 --rounds 1); fi
mkdir -p bench/out
OUT=bench/out/latest.txt
: > "$OUT"

run() {
    echo "=== $* ===" | tee -a "$OUT"
    if ! "$PY" "$@" 2> >(grep -v '^# round' >&2) | tee -a "$OUT"; then
        echo "!!! $1 failed" | tee -a "$OUT"
        status=1
    fi
    echo | tee -a "$OUT"
}

status=0
# Build the 12,000-article archive first (once), so no benchmark times it.
"$PY" -c 'import sys; sys.path.insert(0, "."); from bench import harness; print(harness.demo_db())' >/dev/null
run bench/store_bench.py
DB_ARGS=(--database "$PWD/bench/out/demo12k.db")
for extra in site_render feeds_bench cache_fastpath import_bench edge_bench headers_bench lock_bench; do
    if [ -f "bench/$extra.py" ]; then
        if grep -q -- "add_argument(\"--database\"" "bench/$extra.py"; then run "bench/$extra.py" "${DB_ARGS[@]}"; else run "bench/$extra.py"; fi
    fi
done
# --floor-sqlite adds the diagnostic described in bench/README.md.
run bench/http_bench.py "${WRK_ARGS[@]}"
if command -v nginx >/dev/null && command -v redis-server >/dev/null; then
    run bench/proxy_bench.py "${WRK_ARGS[@]}"
else
    echo "=== proxy_bench skipped: nginx or redis-server missing ===" | tee -a "$OUT"
fi
echo "All output in $OUT"
exit $status
