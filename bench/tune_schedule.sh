#!/usr/bin/env bash
# Success rate of rSA over 10 seeded instances for a grid of schedules: how the defaults of
# `locent solve` were chosen (README "Defaults"). Usage: bench/tune_schedule.sh LOCENT [ALPHA] [N]
# Each line: alpha, settings, solved/10, median sweeps to solution, wall seconds (2 threads).
set -euo pipefail
locent=${1:?path to the locent binary}
alpha=${2:-0.55}
n=${3:-1001}
run() {
  "$locent" solve --N "$n" --alpha "$alpha" --instances 10 --backend cpu --threads 2 -q "$@" |
    python3 -c '
import json, sys, statistics
j = json.load(sys.stdin)
s = [i["sweeps"] for i in j["instances"] if i["solved"]]
med = round(statistics.median(s)) if s else "-"
n, w = j["summary"]["solved"], j["wall_seconds"]
print(f"{sys.argv[1]}\t{sys.argv[2]}\t{n}/10\t{med}\t{w:.1f}s", flush=True)
' "$alpha" "$*"
}
while read -r line; do
  [[ -z $line || $line == \#* ]] && continue
  eval "run $line"
done
