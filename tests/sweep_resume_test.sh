#!/usr/bin/env bash
# Resuming a sweep: interrupted with SIGINT, killed with SIGKILL at random moments, and left with a
# torn last line, then resumed until done (with varying batch sizes), it records exactly the runs
# and outcomes of an uninterrupted run: none lost, none duplicated, every line valid JSON. So do
# two invocations writing one results file at once.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/shell_common.sh"

cat >"$tmp/s.toml" <<'EOF'
N = [101, 151, 201]
alpha = [0.5, 0.65, 0.8]
instances = 8
seed = 3
backend = "cpu"
threads = 2

[[solver]]
name = "rsa"
max_sweeps = 400

[[solver]]
name = "sa"
algo = "sa"
max_sweeps = 2800
EOF

start_ns=$(date +%s%N)
"$locent" sweep "$tmp/s.toml" --results "$tmp/whole.jsonl" -q || { echo "FAIL: uninterrupted sweep" >&2; exit 1; }
# How long a whole run takes here, in ms: the kills below are timed as fractions of it.
whole_ms=$((($(date +%s%N) - start_ns) / 1000000))
((whole_ms < 100)) && whole_ms=100

# SIGINT: stops at a batch boundary with exit code 130 (0 if it happened to finish first).
"$locent" sweep "$tmp/s.toml" --results "$tmp/parts.jsonl" --batch-size 2 -q 2>"$tmp/err" &
pid=$!
# Interrupt once the first batch is written: the handler is installed by then.
for _ in $(seq 1 200); do
  [[ -s $tmp/parts.jsonl ]] && break
  sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
if [[ $rc -ne 130 && $rc -ne 0 ]] || { [[ $rc -eq 130 ]] && ! grep -q "stopping after the current batch" "$tmp/err"; }; then
  echo "FAIL: SIGINT gave exit code $rc" >&2
  cat "$tmp/err" >&2
  failures=$((failures + 1))
fi

# SIGKILL at random moments until a run completes. A round that completes after fewer than two
# kills (a resumed run with little left can beat the next kill on a busy machine) starts again
# from an empty results file, up to five rounds.
kills=0 finished=0 log=""
for round in 1 2 3 4 5; do
  kills=0 finished=0
  for attempt in $(seq 1 60); do
    batch=$((1 + RANDOM % 5))
    "$locent" sweep "$tmp/s.toml" --results "$tmp/parts.jsonl" --batch-size $batch -q 2>"$tmp/err" &
    pid=$!
    # Random, within the first half of a whole run at first, and longer with every attempt, so
    # that both fast and slow machines see kills and still get to the end.
    ms=$((10 + RANDOM % (whole_ms / 2) + whole_ms * attempt / 20))
    delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
    sleep "$delay"
    if kill -9 $pid 2>/dev/null; then
      wait $pid 2>/dev/null
      kills=$((kills + 1))
      log+=" kill@${delay}s(batch $batch)"
      # Once, leave a line torn in the middle, as a writer killed during write() would.
      [[ $kills -eq 2 ]] && printf '{"sweep_hash": "0123456789abcdef", "model": "perc' >>"$tmp/parts.jsonl"
    else
      wait $pid
      rc=$?
      log+=" done(batch $batch, exit $rc)"
      if [[ $rc -ne 0 ]]; then
        echo "FAIL: resumed sweep exited with $rc:" >&2
        cat "$tmp/err" >&2
        failures=$((failures + 1))
        break 2
      fi
      finished=1
      break
    fi
  done
  ((kills >= 2)) && break
  log+=" | new round:"
  rm -f "$tmp/parts.jsonl"
done
echo "sweep_resume_test:$log"
if [[ $finished -ne 1 || $kills -lt 2 ]]; then
  echo "FAIL: expected at least 2 kills and a completed run (kills: $kills, finished: $finished)" >&2
  failures=$((failures + 1))
fi
# Complete: one more invocation has nothing to do.
"$locent" sweep "$tmp/s.toml" --results "$tmp/parts.jsonl" 2>"$tmp/err"
grep -q "0 runs done now" "$tmp/err" || { echo "FAIL: a complete sweep ran again:" >&2; cat "$tmp/err" >&2; failures=$((failures + 1)); }

# Two invocations on one results file at once (as a rank left running by a killed job would be):
# each run recorded once, by whichever got there first, and both end with exit code 0.
"$locent" sweep "$tmp/s.toml" --results "$tmp/both.jsonl" --batch-size 2 --threads 1 -q 2>"$tmp/err1" &
pid1=$!
"$locent" sweep "$tmp/s.toml" --results "$tmp/both.jsonl" --batch-size 3 --threads 1 -q 2>"$tmp/err2" &
pid2=$!
wait $pid1
rc1=$?
wait $pid2
rc2=$?
if [[ $rc1 -ne 0 || $rc2 -ne 0 ]]; then
  echo "FAIL: concurrent sweeps exited with $rc1 and $rc2" >&2
  cat "$tmp/err1" "$tmp/err2" >&2
  failures=$((failures + 1))
fi

for recorded in parts both; do
"$py" - "$tmp/whole.jsonl" "$tmp/$recorded.jsonl" <<'PY' || failures=$((failures + 1))
import json, sys

def load(path):
    data = open(path, "rb").read()
    assert data.endswith(b"\n"), "%s: torn last line" % path
    runs = {}
    for n, line in enumerate(data.decode().splitlines(), 1):
        r = json.loads(line)  # every line valid JSON
        key = (r["model"], r["label_mode"], r["N"], r["alpha"], r["solver"],
               json.dumps(r["settings"], sort_keys=True), r["point_seed"], r["instance"])
        outcome = (r["solved"], r["solved_by"], r["sweeps"], r["proposals"], r["accepted"],
                   r["replica_errors"], r["centre_errors"])
        assert key not in runs, "%s:%d: duplicate run %s" % (path, n, key)
        runs[key] = outcome
    return runs

whole, parts = load(sys.argv[1]), load(sys.argv[2])
assert len(whole) == 3 * 3 * 2 * 8, len(whole)
assert set(whole) == set(parts), "different runs: %d vs %d" % (len(whole), len(parts))
diff = [k for k in whole if whole[k] != parts[k]]
assert not diff, "different outcomes for %d runs, e.g. %s: %s vs %s" % (
    len(diff), diff[0], whole[diff[0]], parts[diff[0]])
PY

done

echo "sweep_resume_test: $failures failed"
[[ $failures -eq 0 ]]
