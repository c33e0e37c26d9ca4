#!/usr/bin/env bash
# The one script to run on a GPU machine: the GPU tests (CPU = CUDA bit for bit, tensor-core fields
# against the CPU, fBP CPU vs CUDA), short solves on both backends, the throughput figures of
# `locent bench` (rSA, dense fields, fBP), then the rest of the test suite with the time left,
# ending with a short table. Build here first, carrying only the binaries (static runtime, no MPI,
# no Google Benchmark):
#   cmake -S . -B build-device -G Ninja -DCMAKE_CUDA_ARCHITECTURES=90 -DLOCENT_BENCH=OFF -DLOCENT_MPI=OFF
#   cmake --build build-device -j2 --target locent locent_tests
# then, on the GPU machine:  bench/device-check.sh build-device [PARTS]   (writes under $OUT if set)
# PARTS is a comma-separated subset of tests,cluster,sanitize,solves,bench,wmma,host-cpu,fbp,suite
# (default: all), plus target, probes and profile, which run only when named:
#   tests     the dense-field tests in their own process, then every other CUDA test but the
#             rounds kernel's;
#   target    what the open N = 100001 target needs, first: the CPU = CUDA tests of the default
#             kernels, the member pipeline's tests and figures (LOCENT_ROUNDS_PIPELINE=1; counts
#             by popcounts and on the tensor cores, LOCENT_PIPELINE_COUNT=tensor), the
#             default's figures, the older rounds variants and their tests;
#   pipeline  the member pipeline (the default for one large instance): its tests, the
#             default's, its count and move timed apart (locent_probe_pipeline), its
#             N = 100001 figure by count, window, reads and move, phase counters;
#   cluster   the rounds kernel's tests (default and lean variants, then apart the longer
#             and the frontier rounds, LOCENT_ROUNDS_LONGER, LOCENT_ROUNDS_FRONTIER), and each
#             variant's figures: one N = 100001 instance on a cluster, and batched with one
#             block per instance;
#   sanitize  two small rounds-kernel tests under compute-sanitizer (racecheck, synccheck);
#   solves    short solves and a resumed sweep on both backends;
#   bench     `locent bench`: batched rSA and dense fields, one N = 100001 instance on the step
#             kernel, each dense kernel and variant;
#   fbp       the focusing-BP reference cases and the perceptron capacity scan
#             (bench/fbp_reference.sh) on the GPU;
#   suite     the rest of the test suite with the time left;
#   probes    the rounds kernels' phase counters, each phase 3 and 5 also timed a second time
#             (LOCENT_ROUNDS_PROFILE=2), and the dense kernels with parts left out
#             (LOCENT_WGMMA_PROBE);
#   profile   Nsight Compute on the rounds and wgmma kernels (the rounds kernel has not survived
#             its replay on an H200).
# Every step has its own time limit, so that one hang cannot eat the machine's lease.
# For the open N = 100001 target alone: PARTS=target, 3–8 minutes; BUDGET (seconds, default 540) skips the steps
# that would start later, so that the table comes back within a call's time limit.
set -uo pipefail
build=${1:-build-device}
parts=",${2:-tests,cluster,sanitize,solves,bench,wmma,host-cpu,fbp,suite},"
want() { [[ $parts == *",$1,"* ]]; }
# The rounds kernels' variants (env_for sets their switches): default, lean
# (LOCENT_ROUNDS_LEAN=1), lean with the longer rounds in at most 1 or 2 parts
# (LOCENT_ROUNDS_LONGER), lean with the frontier rounds (LOCENT_ROUNDS_FRONTIER=1), and both
# (the longer frontier rounds), none but the first yet the default.
env_for() {
  case $1 in
    lean1) echo LOCENT_ROUNDS_LEAN=1 ;;
    longer*) echo "LOCENT_ROUNDS_LONGER=${1#longer}" ;;
    frontier) echo LOCENT_ROUNDS_FRONTIER=1 ;;
    frontier-longer) echo LOCENT_ROUNDS_FRONTIER=1 LOCENT_ROUNDS_LONGER=1 ;;
    pipeline) echo LOCENT_ROUNDS_PIPELINE=1 ;;
    *) echo LOCENT_ROUNDS_LEAN=0 ;;
  esac
}
out=${OUT:-/tmp/locent-device-check}
mkdir -p "$out"
exec > >(tee "$out/device-check.log") 2>&1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv,noheader || true
start=$SECONDS
rows=()
# Steps that would start after $BUDGET seconds (default 540) are skipped with a row that says so,
# so that the table still comes back from a call with a time limit.
budget=${BUDGET:-540}
over_budget() {  # over_budget LABEL: true (and a row) once the budget is spent
  ((SECONDS < budget)) && return 1
  rows+=("$1|skipped|over the ${budget} s budget")
  return 0
}

gpu_tests='*Cuda*:*TensorCores*:*ManyTiles*:*Cluster*'  # every GPU test (the suite step leaves them out)
gtests() {  # gtests LABEL LIMIT FILTER: one test run with its own time limit, a table row
  local label=$1 limit=$2 filter=$3
  over_budget "$label" && return
  timeout "$limit" "$build/tests/locent_tests" --gtest_filter="$filter" --gtest_brief=1 >"$out/$label.log" 2>&1
  local status=$?
  rows+=("$label|$([[ $status -eq 0 ]] && echo pass || echo "FAIL rc=$status")|$(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$out/$label.log" | tr '\n' ' ')")
  grep -E 'Failure|FAILED|error|Expected|Which is|actual' "$out/$label.log" | head -40
  echo "$label: ${SECONDS}s"
}
# The tensor-core kernels in their own process: a fault in one (the new wgmma kernel) would
# otherwise poison the CUDA context of every test after it.
want tests && gtests dense-tests 90 '*TensorCores*:*ManyTiles*'
want tests && gtests gpu-tests 150 "*Cuda*-*Cluster*:*CudaPipeline*"
# The cluster kernel apart: new, and the one most likely to hang if it is wrong.
rounds_tests() {
  gtests cluster-tests 180 '*Cluster*-*Longer*:*Frontier*:*ClusterRoundsSolve*'
  # The longer and frontier rounds' kernels (LOCENT_ROUNDS_LONGER, _FRONTIER), newer still, each
  # in its own process.
  gtests longer-tests 150 'CudaLonger/*'
  gtests frontier-tests 150 '*CudaFrontier/*:*ClusterRoundsSolve*'
  gtests frontier-longer-tests 150 '*CudaFrontierLonger*'
  # The member pipeline (LOCENT_ROUNDS_PIPELINE), unless part `target` ran it already.
  [[ -n ${pipeline_tested:-} ]] || gtests pipeline-tests 150 '*CudaPipeline/*'
  [[ -n ${pipeline_tested:-} ]] || gtests pipeline-tensor-tests 150 '*CudaPipelineTensor/*'
  [[ -n ${pipeline_tested:-} ]] || gtests pipeline-spread-tests 150 '*CudaPipelineSpread/*'
  [[ -n ${pipeline_tested:-} ]] || gtests pipeline-staged-tests 150 '*CudaPipelineStaged/*'
  [[ -n ${pipeline_tested:-} ]] ||
    gtests pipeline-interleaved-tests 150 '*CudaPipelineInterleaved/*'
  [[ -n ${pipeline_tested:-} ]] || gtests pipeline-split-tests 150 '*CudaPipelineSplit/*'
  [[ -n ${pipeline_tested:-} ]] || gtests pipeline-ordered-tests 150 '*CudaPipelineOrdered/*'
}
want cluster && rounds_tests
# Its races and barriers under compute-sanitizer, on two small cases (a cluster, one block each).
if want sanitize; then
  sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  for tool in racecheck synccheck; do
    if [[ -x $sanitizer ]]; then
      timeout 90 "$sanitizer" --tool "$tool" --error-exitcode 9 "$build/tests/locent_tests" \
        --gtest_filter='Cuda/ClusterRoundsEqualCpu.*/N201_*:Cuda/ClusterRoundsEqualCpu.*/N301_y4_explicit_errors_C1_*' \
        --gtest_brief=1 >"$out/sanitize-$tool.log" 2>&1
      rc=$?
      rows+=("sanitize $tool|rc=$rc|$(grep -E 'ERROR SUMMARY|PASSED|FAILED' "$out/sanitize-$tool.log" | tr '\n' ' ')")
    else
      rows+=("sanitize $tool|skipped|no compute-sanitizer")
    fi
  done
  echo "sanitize: ${SECONDS}s"
fi

solve() {  # solve LABEL ARGS...: one solve, JSON to $out/solves/LABEL.json, a table row
  local label=$1
  shift
  mkdir -p "$out/solves"
  timeout 60 "$build/locent" solve -q --out "$out/solves/$label.json" "$@"
  local rc=$?
  local row
  row=$(python3 - "$out/solves/$label.json" <<'PY' 2>/dev/null
import json, sys
j = json.load(open(sys.argv[1]))
s = j["summary"]
pps = j.get("proposals_per_second")
print(f'{s["solved"]}/{s["instances"]} solved|{pps:.3g} proposals/s|{j["wall_seconds"]:.2f} s' if pps else
      f'{s["solved"]}/{s["instances"]} solved||{j["wall_seconds"]:.2f} s')
PY
  )
  rows+=("$label|rc=$rc|$row")
}
if want solves; then
solve cuda_n1001_a05_b1024 --backend cuda --N 1001 --alpha 0.5 --instances 1024 --seed 1
solve cuda_n1001_a06_fixed --backend cuda --N 1001 --alpha 0.6 --instances 1024 --beta 2 --gamma 0.5 --max-sweeps 20
solve cpu_n1001_a06_fixed --backend cpu --N 1001 --alpha 0.6 --instances 16 --beta 2 --gamma 0.5 --max-sweeps 20
solve cuda_committee_tree --backend cuda --model committee --K 3 --arch tree --N 303 --alpha 0.3 --instances 256
solve cuda_fbp_n1001_a07 --backend cuda --algo fbp --N 1001 --alpha 0.7 --instances 2
# A sweep with an fBP and an rSA solver on a committee, on the GPU, resumed once (nothing to redo).
printf '%s\n' 'model = "committee"' 'K = 3' 'N = [63, 153]' 'alpha = [0.3]' 'instances = 8' \
  'backend = "cuda"' '[[solver]]' 'name = "rsa"' '[[solver]]' 'name = "fbp"' 'algo = "fbp"' \
  >"$out/solves/sweep.toml"
timeout 60 "$build/locent" sweep "$out/solves/sweep.toml" -q &&
  timeout 30 "$build/locent" sweep "$out/solves/sweep.toml" 2>"$out/solves/resume.txt"
rc=$?
rows+=("cuda sweep fbp+rsa|rc=$rc|$(timeout 30 "$build/locent" report "$out/solves/sweep.jsonl" |
  awk 'NR > 1 { printf "%s N=%s %s/%s; ", $1, $2, $6, $5 }')$(grep -o '0 runs done now' "$out/solves/resume.txt")")
echo "solves: ${SECONDS}s"
fi

# Throughput (bench/RESULTS.md): batched N = 1001 and 10001, dense fields, fBP; one instance at
# N = 100001; the CPU of this machine for the plain-loop ratio.
bench() {  # bench LABEL LIMIT ARGS...
  local label=$1 limit=$2
  shift 2
  over_budget "bench $label" && return
  timeout "$limit" "$build/locent" bench "$@" >"$out/bench-$label.json"
  rows+=("bench $label|rc=$?|$(python3 bench/summarize_bench.py "$out/bench-$label.json" 2>&1)")
}
# Part `target`: the open N = 100001 target, in order of what a result is worth. First the
# CPU = CUDA tests of the kernels that are defaults (the step kernel, the rounds kernel on one
# block and on a cluster); then the member pipeline (one block a member,
# kernels/metropolis_pipeline.cu), its counts by popcounts and on the tensor cores each: tests in
# their own process, and where they did not hang, its figure counting 16 and 8 steps ahead and its
# phase counters; then the default's figures (one N = 100001 instance, batched N = 1001 and
# 10001) and the older rounds variants with the time left.
if want target; then
  gtests step-tests 90 '*CudaEqualsCpu*:*CudaSolve*:Cuda/ClusterRoundsEqualCpu.*_C1_*'
  gtests cluster-tests 120 '*Cluster*-*Longer*:*Frontier*:*ClusterRoundsSolve*:*_C1_*'
  for count in popc tensor; do
    label=pipeline-tests
    [[ $count == tensor ]] && label=pipeline-tensor-tests
    filter='*CudaPipeline/*'
    [[ $count == tensor ]] && filter='*CudaPipelineTensor/*'
    gtests $label 60 "$filter"
    # A hang (timeout's 124, or a kill) leaves the figures out: they would hang too.
    if grep -q "^$label|FAIL rc=\(124\|137\)" <(printf '%s\n' "${rows[@]}"); then
      rows+=("pipeline $count figures|skipped|its tests hung")
      continue
    fi
    for steps in 16 8; do
      LOCENT_ROUNDS_PIPELINE=1 LOCENT_PIPELINE_COUNT=$count bench \
        "target-n100001-pipeline-$count-k$steps" 40 --backend cuda --N 100001 --instances 1 \
        --no-baseline --dense-size 0 --fbp-N 0 --cluster 16 --round-steps $steps
    done
    over_budget "phases N=100001 pipeline $count" && continue
    LOCENT_ROUNDS_PIPELINE=1 LOCENT_PIPELINE_COUNT=$count LOCENT_ROUNDS_PROFILE=1 timeout 40 \
      "$build/locent" bench --backend cuda --N 100001 --instances 1 --cluster 16 --no-baseline \
      --dense-size 0 --fbp-N 0 >"$out/probe-pipeline-$count.json" 2>"$out/probe-pipeline-$count.txt"
    rows+=("phases N=100001 pipeline $count|rc=$?|$(grep 'pipeline profile' "$out/probe-pipeline-$count.txt" | tail -1 | cut -d':' -f2-)")
  done
  pipeline_tested=1
  gtests pipeline-solve 60 '*ClusterRoundsSolve.Same*'
  # The default rounds kernel: one instance on a cluster of 16 with its phase counters, and the
  # batched figures of the table (rSA only).
  bench target-n100001-lean0 40 --backend cuda --N 100001 --instances 1 --no-baseline \
    --dense-size 0 --fbp-N 0 --cluster 16
  if ! over_budget "phases N=100001 lean0"; then
    LOCENT_ROUNDS_PROFILE=1 timeout 40 "$build/locent" bench --backend cuda --N 100001 \
      --instances 1 --cluster 16 --no-baseline --dense-size 0 --fbp-N 0 \
      >"$out/probe-rounds.json" 2>"$out/probe-rounds.txt"
    rows+=("phases N=100001 lean0|rc=$?|$(grep 'rounds profile' "$out/probe-rounds.txt" | tail -1 | cut -d';' -f2)")
  fi
  bench target-batched 120 --backend cuda --N 1001 10001 --no-baseline --dense-size 0 --fbp-N 0
  for variant in lean1 frontier longer2 frontier-longer; do
    # shellcheck disable=SC2046  # one word a variable
    export $(env_for $variant)
    bench "target-n100001-$variant" 40 --backend cuda --N 100001 --instances 1 --no-baseline \
      --dense-size 0 --fbp-N 0 --cluster 16
    unset LOCENT_ROUNDS_LEAN LOCENT_ROUNDS_LONGER LOCENT_ROUNDS_FRONTIER LOCENT_ROUNDS_PIPELINE
  done
  echo "target figures: ${SECONDS}s"
  # Then the other rounds kernels' tests (a variant whose trajectory is not the CPU's gives no
  # figure).
  gtests longer-tests 90 'CudaLonger/*'
  gtests frontier-tests 90 '*CudaFrontier/*'
  gtests frontier-longer-tests 90 '*CudaFrontierLonger*'
  echo "target: ${SECONDS}s"
fi
# Part `pipeline`: the member pipeline, now the default for one large instance: its tests, the
# default's (the rounds kernels' own suites with it switched off, the default taking it for a
# cluster only), the count and the move timed apart (locent_probe_pipeline), then its N = 100001
# figure by count (popcounts, columns copied into shared memory: LOCENT_PIPELINE_COUNT=staged),
# window (LOCENT_PIPELINE_WINDOW), reads of the others' weights (LOCENT_PIPELINE_READS=spread, a
# pair a lane), move (LOCENT_PIPELINE_MOVE=interleaved, a thread's words plane by plane) and
# blocks a replica (LOCENT_PIPELINE_PARTS=2) and columns (LOCENT_PIPELINE_COLUMNS=ordered, a copy
# of each sweep's in step order), and phase counters; with REFERENCE_BUILD set, a reference
# build's figure first and last.
if want pipeline; then
  gtests pipeline-tests 60 '*CudaPipeline/*'
  gtests pipeline-spread-tests 60 '*CudaPipelineSpread/*'
  gtests pipeline-staged-tests 60 '*CudaPipelineStaged/*'
  gtests pipeline-interleaved-tests 60 '*CudaPipelineInterleaved/*'
  gtests pipeline-split-tests 60 '*CudaPipelineSplit/*'
  gtests pipeline-ordered-tests 60 '*CudaPipelineOrdered/*'
  gtests pipeline-tensor-tests 60 '*CudaPipelineTensor/*'
  pipeline_tested=1
  gtests default-tests 120 '*ClusterRoundsSolve*:Cuda/ClusterRoundsEqualCpu.*'
  if [[ -x $build/locent_probe_pipeline ]] && ! over_budget probe-pipeline; then
    timeout 60 "$build/locent_probe_pipeline" >"$out/probe-pipeline.txt" 2>&1
    rows+=("probe-pipeline|rc=$?|$(grep -E '^(count|staged|move|handover|remote)' "$out/probe-pipeline.txt" |
      sed -E 's/ +/ /g; s/ (a round of 16 columns|a move \(columns in L2\)|there and back|a load|a batch)$//' |
      tr '\n' ';')")
    cat "$out/probe-pipeline.txt"
  fi
  # $REFERENCE_BUILD (a build of an earlier commit, carried too): its figure in the same call,
  # with the member pipeline switched on, so that a change is measured on one machine.
  if [[ -n ${REFERENCE_BUILD:-} && -x $REFERENCE_BUILD/locent ]]; then
    saved_build=$build build=$REFERENCE_BUILD
    LOCENT_ROUNDS_PIPELINE=1 bench pipeline-reference 40 --backend cuda --N 100001 --instances 1 \
      --no-baseline --dense-size 0 --fbp-N 0 --cluster 16
    build=$saved_build
  fi
  bench pipeline-default 40 --backend cuda --N 100001 --instances 1 --no-baseline --dense-size 0 \
    --fbp-N 0
  # The variants, each only where its tests passed (count:window:reads:move:parts:columns), the
  # likeliest winners first.
  passed() { grep -q "^pipeline-$1-tests|pass" <(printf '%s\n' "${rows[@]}"); }
  usable() {  # usable COUNT READS MOVE PARTS COLUMNS
    { [[ $1 != staged ]] || passed staged; } && { [[ $2 != spread ]] || passed spread; } &&
      { [[ $3 != interleaved ]] || passed interleaved; } && { [[ $4 != 2 ]] || passed split; } &&
      { [[ $5 != ordered ]] || passed ordered; }
  }
  for what in popc:192:spread:interleaved:2:site popc:192:spread:interleaved:2:ordered \
    popc:192:lane:word:1:ordered popc:192:lane:word:2:site popc:192:lane:interleaved:1:site \
    popc:192:spread:word:1:site popc:192:spread:interleaved:1:site \
    staged:192:spread:interleaved:2:site staged:192:lane:word:1:site \
    staged:192:spread:interleaved:2:ordered popc:448:spread:interleaved:2:site; do
    IFS=: read -r count window reads move parts columns <<<"$what"
    usable "$count" "$reads" "$move" "$parts" "$columns" || continue
    LOCENT_PIPELINE_COUNT=$count LOCENT_PIPELINE_WINDOW=$window LOCENT_PIPELINE_READS=$reads \
      LOCENT_PIPELINE_MOVE=$move LOCENT_PIPELINE_PARTS=$parts LOCENT_PIPELINE_COLUMNS=$columns \
      bench "pipeline-$count-w$window-$reads-$move-x$parts-$columns" 40 --backend cuda \
      --N 100001 --instances 1 --no-baseline --dense-size 0 --fbp-N 0 --cluster 16
  done
  for what in popc:192:lane:word:1:site popc:192:lane:word:1:ordered \
    popc:192:spread:interleaved:2:site staged:192:spread:interleaved:2:site; do
    IFS=: read -r count window reads move parts columns <<<"$what"
    usable "$count" "$reads" "$move" "$parts" "$columns" || continue
    label="phases pipeline $count w$window $reads $move x$parts $columns"
    over_budget "$label" && continue
    name="$count-$window-$reads-$move-x$parts-$columns"
    LOCENT_PIPELINE_COUNT=$count LOCENT_PIPELINE_WINDOW=$window LOCENT_PIPELINE_READS=$reads \
      LOCENT_PIPELINE_MOVE=$move LOCENT_PIPELINE_PARTS=$parts LOCENT_PIPELINE_COLUMNS=$columns \
      LOCENT_ROUNDS_PROFILE=1 timeout 40 "$build/locent" bench --backend cuda --N 100001 \
      --instances 1 --cluster 16 --no-baseline --dense-size 0 --fbp-N 0 \
      >"$out/probe-$name.json" 2>"$out/probe-$name.txt"
    rows+=("$label|rc=$?|$(grep 'pipeline profile' "$out/probe-$name.txt" | tail -1 | cut -d':' -f2-)")
  done
  # The reference again: the machine's drift over the call.
  if [[ -n ${REFERENCE_BUILD:-} && -x $REFERENCE_BUILD/locent ]]; then
    saved_build=$build build=$REFERENCE_BUILD
    LOCENT_ROUNDS_PIPELINE=1 bench pipeline-reference-again 40 --backend cuda --N 100001 \
      --instances 1 --no-baseline --dense-size 0 --fbp-N 0 --cluster 16
    build=$saved_build
  fi
  # The N = 100001 figures, fastest first: the row to make the default.
  ranking=$(printf '%s\n' "${rows[@]}" | grep '^bench pipeline-' |
    sed -nE 's/^bench (pipeline-[^ |]*).*N=100001 B=1: ([0-9.e+]+) proposals.*/\2 \1/p' |
    sort -g -r | head -5 | tr '\n' ';')
  rows+=("pipeline ranking|-|${ranking:-none}")
  echo "pipeline: ${SECONDS}s"
fi
if want cluster; then
# One N = 100001 instance on a cluster of 16 (rounds adapted to the acceptance, at most 16
# steps), then the batched shapes (one block per instance).
for variant in lean0 lean1 longer1 longer2 frontier; do
  # shellcheck disable=SC2046  # one word a variable
  export $(env_for $variant)
  bench "rounds-n100001-$variant" 60 --backend cuda \
    --N 100001 --instances 1 --no-baseline --dense-size 0 --fbp-N 0 --cluster 16
  [[ $variant == longer1 ]] || bench "rounds-batched-$variant" 90 --backend cuda \
    --N 1001 10001 --no-baseline --dense-size 0 --fbp-N 0 --cluster 1
  unset LOCENT_ROUNDS_LEAN LOCENT_ROUNDS_LONGER LOCENT_ROUNDS_FRONTIER LOCENT_ROUNDS_PIPELINE
done
# The frontier rounds with rounds of at most 32 steps a member (a window of 96 steps).
LOCENT_ROUNDS_FRONTIER=1 bench rounds-n100001-frontier-k32 60 --backend cuda --N 100001 \
  --instances 1 --no-baseline --dense-size 0 --fbp-N 0 --cluster 16 --round-steps 32
# The default kernel with rounds of at most 32 steps.
bench cluster16-upto32 60 --backend cuda --N 100001 --instances 1 --no-baseline \
  --dense-size 0 --fbp-N 0 --cluster 16 --round-steps 32
echo "cluster bench: ${SECONDS}s"
fi
if want bench; then
# $BENCH_EXTRA: more options for the batched figures (e.g. --fbp-N 0 to skip fBP).
read -r -a bench_extra <<<"${BENCH_EXTRA:-}"
bench batched 150 --backend cuda --N 1001 10001 --no-baseline --mac-ceiling 5.0e15 "${bench_extra[@]}"
bench single 60 --backend cuda --N 100001 --instances 1 --no-baseline --dense-size 0 --fbp-N 0 --cluster off
bench wgmma 30 --backend cuda --N 0 --dense-kernel wgmma --fbp-N 0 --mac-ceiling 5.0e15
bench wgmma-cluster 30 --backend cuda --N 0 --dense-kernel wgmma-cluster --fbp-N 0 --mac-ceiling 5.0e15
# Its variant with the row terms added by the consumers (not yet the default).
LOCENT_WGMMA_ROWS=consumers bench wgmma-cluster-rows 30 --backend cuda --N 0 \
  --dense-kernel wgmma-cluster --fbp-N 0 --mac-ceiling 5.0e15
bench mma256 30 --backend cuda --N 0 --dense-kernel mma256 --fbp-N 0 --mac-ceiling 5.0e15
bench mma-staged 30 --backend cuda --N 0 --dense-kernel mma-staged --fbp-N 0 --mac-ceiling 5.0e15
want wmma && bench wmma 30 --backend cuda --N 0 --dense-kernel wmma --fbp-N 0 --mac-ceiling 5.0e15
want host-cpu && bench host-cpu 60 --backend cpu --N 1001 --sweeps-scale 0.3 --dense-size 0 --fbp-N 0
echo "bench: ${SECONDS}s"
fi

# Where the time goes without a profiler (part `probes`): the rounds kernel's phase counters
# (LOCENT_ROUNDS_PROFILE) for one N = 100001 instance and batched N = 10001, and the wgmma kernel
# with its copies or its fields left out (LOCENT_WGMMA_PROBE; wrong results by design).
if want probes; then
  # LOCENT_ROUNDS_PROFILE=2 also runs the counts and the sums a second time each round, timed
  # apart ("3again", "5again"): a second run far faster than the first says the first waits on
  # cold code or data, not on its work.
  for what in "100001 --instances 1 --cluster 16" "10001 --cluster 1" "1001 --cluster 1"; do
    read -r -a args <<<"$what"
    for variant in lean0 lean1 longer2 frontier; do
      lean=0 longer=0 frontier=0
      [[ $variant == lean1 ]] && lean=1
      [[ $variant == longer* ]] && longer=${variant#longer}
      [[ $variant == frontier ]] && frontier=1
      LOCENT_ROUNDS_LEAN=$lean LOCENT_ROUNDS_LONGER=$longer LOCENT_ROUNDS_FRONTIER=$frontier \
        LOCENT_ROUNDS_PROFILE=2 timeout 60 \
        "$build/locent" bench --backend cuda --N "${args[@]}" --no-baseline --dense-size 0 --fbp-N 0 \
        >"$out/probe-rounds.json" 2>"$out/probe-rounds.txt"
      rows+=("phases N=${args[0]} $variant|rc=$?|$(grep 'rounds profile' "$out/probe-rounds.txt" | tail -1 | cut -d';' -f2)")
    done
  done
  for what in wgmma:none wgmma:no-copies wgmma:no-fields wgmma-cluster:none wgmma-cluster:no-stores \
    wgmma-cluster:no-fields wgmma-cluster-rows:none wgmma-cluster-rows:no-stores; do
    kernel=${what%:*} probe=${what#*:} rows_variant=
    [[ $kernel == *-rows ]] && rows_variant=consumers
    LOCENT_WGMMA_ROWS=$rows_variant LOCENT_WGMMA_PROBE=$probe timeout 40 "$build/locent" bench --backend cuda \
      --N 0 --dense-kernel "${kernel%-rows}" --fbp-N 0 >"$out/probe-$kernel-$probe.json" 2>/dev/null
    rows+=("$kernel probe $probe|rc=$?|$(python3 bench/summarize_bench.py "$out/probe-$kernel-$probe.json" 2>&1)")
  done
  echo "probes: ${SECONDS}s"
fi

# Nsight Compute where the machine has it (not part of the default run): one launch each of the
# dense wgmma kernels and of the rounds kernel (one N = 100001 instance on a cluster of 16, and
# batched N = 10001 with one block per instance): throughput against the ceilings, the warps'
# stall reasons, and the source lines where the stall samples fall (hot-spots-LABEL.txt).
profile() {  # profile LABEL KERNEL_REGEX LIMIT LOCENT_BENCH_ARGS...
  local label=$1 regex=$2 limit=$3
  shift 3
  timeout "$limit" "$ncu" --clock-control none --kernel-name "regex:$regex" --launch-skip 1 \
    --launch-count 1 --import-source yes --section SpeedOfLight --section MemoryWorkloadAnalysis \
    --section WarpStateStats --section Occupancy --section LaunchStats --section SourceCounters \
    -o "$out/profile-$label" -f "$build/locent" bench --backend cuda --fbp-N 0 --no-baseline "$@" \
    >"$out/profile-$label.log" 2>&1
  local rc=$?
  "$ncu" -i "$out/profile-$label.ncu-rep" --page details >"$out/profile-$label.txt" 2>&1
  "$ncu" -i "$out/profile-$label.ncu-rep" --page source --csv --print-source cuda \
    >"$out/source-$label.csv" 2>/dev/null
  python3 - "$out/source-$label.csv" >"$out/hot-spots-$label.txt" 2>&1 <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], errors="replace")))
head = next((i for i, r in enumerate(rows) if any("Sampling" in c for c in r)), None)
if head is None:
    sys.exit("no sampling columns in the source page")
names = rows[head]
col = next(i for i, c in enumerate(names) if "Warp Stall Sampling (All" in c)
src = next((i for i, c in enumerate(names) if c.strip() in ("Source", "Source Code")), len(names) - 1)
line = next((i for i, c in enumerate(names) if c.strip() in ("#", "Line", "# Line")), 0)
def num(x):
    try: return float(x.replace(",", ""))
    except ValueError: return 0.0
body = [r for r in rows[head + 1:] if len(r) > max(col, src, line)]
total = sum(num(r[col]) for r in body) or 1
for r in sorted(body, key=lambda r: -num(r[col]))[:30]:
    print(f"{100 * num(r[col]) / total:5.1f}%  line {r[line]:>5}  {r[src].strip()[:110]}")
PY
  rows+=("profile $label|rc=$rc|$(grep -E 'Compute \(SM\) Throughput|Memory Throughput|L2 Cache Throughput|Duration' "$out/profile-$label.txt" | awk '{ printf "%s %s %s; ", $1, $(NF-1), $NF }')")
}
if want profile; then
  ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
  if [[ -x $ncu ]]; then
    profile rounds-n100001 metropolis_rounds 150 --N 100001 --instances 1 --dense-size 0 --cluster 16
    profile rounds-n10001 metropolis_rounds 120 --N 10001 --dense-size 0 --cluster 1
    profile wgmma-cluster dense_fields 90 --N 0 --dense-kernel wgmma-cluster
    profile wgmma dense_fields 90 --N 0 --dense-kernel wgmma
  else
    rows+=("profile|skipped|no ncu")
  fi
  echo "profile: ${SECONDS}s"
fi

if want fbp; then
  # The small K = 5, N = 21 cases take seconds on a CPU; the two large ones run here.
  for what in committee:60 perceptron:120; do
    LOCENT_ARGS="--backend cuda" ALPHAS="0.70 0.72 0.74 0.76 0.78" MAX_SECONDS=20 \
      timeout "${what#*:}" bench/fbp_reference.sh "$build/locent" "${what%:*}" >>"$out/fbp-reference.tsv" 2>&1
    rows+=("fbp ${what%:*}|rc=$?|see fbp-reference.tsv")
  done
  cat "$out/fbp-reference.tsv"
  echo "fbp: ${SECONDS}s"
fi

# The whole suite with a GPU present (tests that pick the backend automatically now run CUDA).
left=$((330 - SECONDS))
if want suite && ((left > 30)); then
  timeout "$left" "$build/tests/locent_tests" --gtest_filter="-$gpu_tests" --gtest_brief=1 >"$out/other-tests.log" 2>&1
  status=$?
  rows+=("other tests|$([[ $status -eq 0 ]] && echo pass || echo "FAIL rc=$status")|$(grep -E '^\[  (PASSED|FAILED|SKIPPED)' "$out/other-tests.log" | tr '\n' ' ')")
  grep -E '^\[  FAILED' "$out/other-tests.log" | head -20
fi

echo
echo "== locent device check: $(date -u +%Y-%m-%dT%H:%MZ), ${SECONDS}s =="
printf '%s\n' "${rows[@]}" | awk -F'|' '{ printf "%-24s %-10s", $1, $2; for (i = 3; i <= NF; ++i) printf " %s", $i; print "" }'
