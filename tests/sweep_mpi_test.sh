#!/usr/bin/env bash
# A sweep distributed over MPI ranks records the same runs and outcomes as a single process, in one
# results file, also when resuming a partial file. Builds without MPI must refuse to run as one of
# several ranks; without MPI or mpirun the distributed part is skipped.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/shell_common.sh"

cat >"$tmp/s.toml" <<'EOF'
N = [101, 151]
alpha = [0.5, 0.7, 0.85]
instances = 6
seed = 21
backend = "cpu"

[[solver]]
name = "rsa"
max_sweeps = 300

[[solver]]
name = "sa"
algo = "sa"
max_sweeps = 2100
EOF

if [[ ${LOCENT_HAS_MPI:-0} != 1 ]]; then
  # As if started by mpirun -np 2: every process would run the whole sweep, so it must refuse.
  OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 "$locent" sweep "$tmp/s.toml" -q 2>"$tmp/err"
  rc=$?
  if [[ $rc -ne 2 ]] || ! grep -q "no MPI support" "$tmp/err"; then
    echo "FAIL: a build without MPI launched as 2 ranks gave exit $rc:" >&2
    cat "$tmp/err" >&2
    exit 1
  fi
  echo "sweep_mpi_test: skipped (this build has no MPI); the refusal to run as one of 2 ranks works"
  exit 0
fi
mpirun=${MPIEXEC:-}
[[ -n $mpirun && -x $mpirun ]] || mpirun=$(command -v mpirun || true)
if [[ -z $mpirun ]]; then
  echo "sweep_mpi_test: skipped (no mpirun)"
  exit 0
fi
mpi=("$mpirun")
# Open MPI refuses root (containers, CI) and more ranks than cores unless told.
"$mpirun" --version 2>&1 | grep -qE "Open MPI|OpenRTE" && mpi+=(--oversubscribe --allow-run-as-root)

run() {  # run NAME COMMAND...: runs it, failing the test on a non-zero exit
  local name=$1
  shift
  if ! timeout 120 "$@" >"$tmp/out" 2>"$tmp/err"; then
    echo "FAIL: $name: $*" >&2
    cat "$tmp/out" "$tmp/err" >&2
    failures=$((failures + 1))
  fi
}

run "single process" "$locent" sweep "$tmp/s.toml" --results "$tmp/single.jsonl" --threads 2 -q
run "1 rank" "${mpi[@]}" -np 1 "$locent" sweep "$tmp/s.toml" --results "$tmp/one.jsonl" --threads 2 -q
run "2 ranks" "${mpi[@]}" -np 2 "$locent" sweep "$tmp/s.toml" --results "$tmp/two.jsonl" --threads 1 -q
# Resume with 2 ranks from a partial file written by one process, torn last line included.
head -n 25 "$tmp/single.jsonl" >"$tmp/resumed.jsonl"
sed -n 26p "$tmp/single.jsonl" | head -c 100 >>"$tmp/resumed.jsonl"
run "2 ranks, resuming" "${mpi[@]}" -np 2 "$locent" sweep "$tmp/s.toml" --results "$tmp/resumed.jsonl" \
  --threads 1 --batch-size 3

"$py" - "$tmp"/{single,one,two,resumed}.jsonl <<'PY' || failures=$((failures + 1))
import json, sys

def load(path):
    data = open(path, "rb").read()
    assert data.endswith(b"\n"), "%s: torn last line" % path
    runs, ranks = {}, set()
    for n, line in enumerate(data.decode().splitlines(), 1):
        r = json.loads(line)
        key = (r["N"], r["alpha"], r["solver"], json.dumps(r["settings"], sort_keys=True),
               r["point_seed"], r["instance"])
        outcome = (r["solved"], r["solved_by"], r["sweeps"], r["proposals"], r["accepted"],
                   r["replica_errors"], r["centre_errors"])
        assert key not in runs, "%s:%d: duplicate run %s" % (path, n, key)
        runs[key] = outcome
        ranks.add(r["rank"])
    return runs, ranks

single, _ = load(sys.argv[1])
assert len(single) == 2 * 3 * 2 * 6, len(single)
for path in sys.argv[2:]:
    runs, ranks = load(path)
    assert runs == single, "%s: %d runs, %d differ from the single process" % (
        path, len(runs), sum(1 for k in single if runs.get(k) != single[k]))
    if "two" in path:
        assert ranks == {0, 1}, "%s: records from ranks %s" % (path, sorted(ranks))
PY
grep -q "rank 1: backend cpu" "$tmp/err" || { echo "FAIL: no note from rank 1 in the resumed run" >&2; failures=$((failures + 1)); }

echo "sweep_mpi_test: $failures failed"
[[ $failures -eq 0 ]]
