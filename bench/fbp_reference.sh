#!/usr/bin/env bash
# Focusing BP: the reference check cases of algorithms.md §4 and the perceptron capacity scan whose
# results bench/RESULTS.md ("fBP") records. Each line: case, solved/instances, median and largest
# seconds of the solved instances, median BP iterations, wall seconds of the whole line.
#
# Usage: bench/fbp_reference.sh LOCENT [all|committee|small|perceptron]
#   committee   fully connected K = 5, N = 321 per unit, alpha = 0.3, instances 0..$COMMITTEE_INSTANCES-1
#   small       K = 5, N = 21 per unit, alpha = 0.1, fc and tree, every protocol, 10 instances each
#   perceptron  N = 1001, alpha in $ALPHAS (default "0.70 0.72 0.74 0.76"), 10 instances each,
#               at most $MAX_SECONDS (default 900) per instance
# Further `locent solve` options (for example --backend cuda, --threads 2) come from $LOCENT_ARGS.
set -euo pipefail
locent=${1:?path to the locent binary}
what=${2:-all}
alphas=${ALPHAS:-0.70 0.72 0.74 0.76}
max_seconds=${MAX_SECONDS:-900}
committee_instances=${COMMITTEE_INSTANCES:-3}
read -r -a extra <<<"${LOCENT_ARGS:-}"

run() {  # run LABEL ARGS...
  local label=$1
  shift
  "$locent" solve --algo fbp -q "${extra[@]}" "$@" | python3 -c '
import json, statistics, sys
j = json.load(sys.stdin)
inst = j["instances"]
solved = [i for i in inst if i["solved"]]
secs = [i["seconds_to_solution"] for i in solved]
iters = [i["iterations"] for i in solved]
med = f"{statistics.median(secs):.1f}s" if secs else "-"
top = f"{max(secs):.1f}s" if secs else "-"
it = f"{statistics.median(iters):.0f}" if iters else "-"
wall, where = j["wall_seconds"], j["backend"] + " (" + j["device"] + ")"
print(f"{sys.argv[1]}\t{len(solved)}/{len(inst)}\tmedian {med}\tmax {top}\titerations {it}\t"
      f"wall {wall:.0f}s\t{where}", flush=True)
' "$label"
}

if [[ $what == all || $what == small ]]; then
  for arch in fc tree; do
    n=21
    [[ $arch == tree ]] && n=105
    for protocol in standard scoping pseudo; do
      run "K=5 N=21/unit $arch alpha=0.1 $protocol" --model committee --K 5 --arch "$arch" --N "$n" \
        --alpha 0.1 --instances 10 --protocol "$protocol"
    done
    run "K=5 N=21/unit $arch alpha=0.1 list" --model committee --K 5 --arch "$arch" --N "$n" \
      --alpha 0.1 --instances 10 --protocol list \
      --fbp-gamma 0.2,0.5,1,2,3,5,8,13,20,inf --fbp-y 2,4,6,10,15,20,30,50,80,100
  done
fi

if [[ $what == all || $what == committee ]]; then
  run "K=5 N=321/unit fc alpha=0.3 standard" --model committee --K 5 --arch fc --N 321 \
    --alpha 0.3 --instances "$committee_instances"
fi

if [[ $what == all || $what == perceptron ]]; then
  for alpha in $alphas; do
    run "perceptron N=1001 alpha=$alpha standard" --N 1001 --alpha "$alpha" --instances 10 \
      --max-seconds "$max_seconds"
  done
fi
