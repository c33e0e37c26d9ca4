#!/usr/bin/env bash
# The one script to run on a GPU machine: CUDA tests (CPU = CUDA bit for bit), short solves on
# both backends and the throughput figures of `locent bench`, ending with a short table. Build
# here first, carrying only the binaries (static runtime, no MPI, no Google Benchmark):
#   cmake -S . -B build-device -G Ninja -DCMAKE_CUDA_ARCHITECTURES=90 -DLOCENT_BENCH=OFF -DLOCENT_MPI=OFF
#   cmake --build build-device -j2 --target locent locent_tests
# then, on the GPU machine:  bench/device-check.sh build-device   (writes under $OUT if set)
set -uo pipefail
build=${1:-build-device}
out=${OUT:-/tmp/locent-device-check}
mkdir -p "$out"
exec > >(tee "$out/device-check.log") 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

rows=()
"$build/tests/locent_tests" --gtest_filter='*Cuda*' --gtest_brief=1 >"$out/cuda-tests.log" 2>&1
status=$?
tests_line=$(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$out/cuda-tests.log" | tr '\n' ' ')
rows+=("cuda tests|$([[ $status -eq 0 ]] && echo pass || echo FAIL)|$tests_line")
tail -30 "$out/cuda-tests.log"

solve() {  # solve LABEL ARGS...: one solve, JSON to $out/LABEL.json, a table row
  local label=$1
  shift
  "$build/locent" solve -q --out "$out/$label.json" "$@"
  local rc=$?
  local row
  row=$(python3 - "$out/$label.json" <<'PY' 2>/dev/null
import json, sys
j = json.load(open(sys.argv[1]))
s = j["summary"]
print(f'{s["solved"]}/{s["instances"]} solved|{j["proposals_per_second"]:.3g} proposals/s|{j["wall_seconds"]:.2f} s|{j["device"]}')
PY
  )
  rows+=("$label|rc=$rc|$row")
}
solve cuda_n1001_a05_b1024 --backend cuda --N 1001 --alpha 0.5 --instances 1024 --seed 1
solve cuda_n1001_a06_fixed --backend cuda --N 1001 --alpha 0.6 --instances 1024 --beta 2 --gamma 0.5 --max-sweeps 20
solve cpu_n1001_a06_fixed --backend cpu --N 1001 --alpha 0.6 --instances 16 --beta 2 --gamma 0.5 --max-sweeps 20
solve cuda_n10001_a06_fixed --backend cuda --N 10001 --alpha 0.6 --instances 264 --beta 2 --gamma 0.5 --max-sweeps 3

# Throughput (bench/RESULTS.md): batched N = 1001 and 10001, one instance at N = 100001.
"$build/locent" bench --backend cuda --N 1001 10001 --no-baseline -q >"$out/bench-batched.json"
rows+=("bench batched|rc=$?|$(python3 bench/summarize_bench.py "$out/bench-batched.json" 2>&1)")
"$build/locent" bench --backend cuda --N 100001 --instances 1 --no-baseline -q >"$out/bench-single.json"
rows+=("bench single|rc=$?|$(python3 bench/summarize_bench.py "$out/bench-single.json" 2>&1)")

echo
echo "== locent device check: $(date -u +%Y-%m-%dT%H:%MZ) =="
printf '%s\n' "${rows[@]}" | column -t -s '|'
