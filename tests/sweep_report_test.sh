#!/usr/bin/env bash
# locent sweep and locent report end to end: exit codes and messages for bad sweep files and
# results files, the table, CSV and JSON forms, and a valid PNG from --plot (skipped when the
# Python that the report would use has no matplotlib).
set -u
source "$(dirname "${BASH_SOURCE[0]}")/shell_common.sh"

cat >"$tmp/s.toml" <<'EOF'
N = [51, 101]
alpha = [0.4, 0.8]
instances = 5
backend = "cpu"
threads = 2

[[solver]]
name = "rsa"
max_sweeps = 200

[[solver]]
name = "sa"
algo = "sa"
max_sweeps = 1400
EOF

# --- sweep -----------------------------------------------------------------------------------
expect 0 "" -- sweep "$tmp/s.toml" -q
[[ -s $tmp/s.jsonl ]] || { echo "FAIL: no default results file s.jsonl" >&2; failures=$((failures + 1)); }
expect 0 "40 runs, 40 already recorded" -- sweep "$tmp/s.toml"
printf 'N = [51]\nalpha = [0.3, -0.1]\ninstances = 5\n[[solver]]\nname = "x"\n' >"$tmp/bad.toml"
expect 3 "bad.toml:2: alpha: values must be > 0 \(got -0.1\)" -- sweep "$tmp/bad.toml"
printf 'N = [51]\nalpha = [0.3]\ninstances = 5\n[[solver]]\nname = "x"\nbeta = "warm"\n' >"$tmp/bad.toml"
expect 3 "bad.toml:6: solver\[0\].beta: 'warm' is not a number" -- sweep "$tmp/bad.toml"
expect 3 "cannot open the sweep file" -- sweep "$tmp/missing.toml"
expect 2 "batch-size" -- sweep "$tmp/s.toml" --batch-size 0
# One more instance per point, and a longer budget for sa: its runs get new keys.
sed 's/instances = 5/instances = 6/; s/max_sweeps = 1400/max_sweeps = 1500/' "$tmp/s.toml" >"$tmp/more.toml"
expect 2 "holds runs of another sweep .*--force" -- sweep "$tmp/more.toml" --results "$tmp/s.jsonl"
cp "$tmp/s.jsonl" "$tmp/more.jsonl"
expect 0 "48 runs, 20 already recorded" -- sweep "$tmp/more.toml" --results "$tmp/more.jsonl" --force

# --- report ----------------------------------------------------------------------------------
expect 0 "" -- report "$tmp/s.jsonl"
if [[ $(grep -c '^rsa \|^sa ' "$tmp/out") -ne 8 ]] || ! head -1 "$tmp/out" | grep -q "95% CI"; then
  echo "FAIL: report table:" >&2; cat "$tmp/out" >&2; failures=$((failures + 1))
fi
expect 0 "" -- report "$tmp/s.jsonl" --csv
"$py" - "$tmp/out" <<'PY' || failures=$((failures + 1))
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 8, rows
assert all(int(r["runs"]) == 5 for r in rows)
assert {(r["solver"], r["N"], r["alpha"]) for r in rows} == {
    (s, n, a) for s in ("rsa", "sa") for n in ("51", "101") for a in ("0.4", "0.8")}
for r in rows:
    assert float(r["ci_low"]) <= float(r["success"]) <= float(r["ci_high"]), r
PY
expect 0 "" -- report "$tmp/s.jsonl" --json
"$py" -c 'import json,sys; r=json.load(open(sys.argv[1]))["rows"]; assert len(r)==8 and "success_ci95" in r[0]' \
  "$tmp/out" || failures=$((failures + 1))
expect 0 "note: solver .sa. appears with 2 different settings, label modes or models" -- report "$tmp/more.jsonl"
grep -q '^sa \[2\] ' "$tmp/out" || { echo "FAIL: no row for sa [2]" >&2; failures=$((failures + 1)); }
# Runs of another model under the same solver name and settings are not pooled either; a record
# whose numbers are out of range is refused, not wrapped.
head -1 "$tmp/s.jsonl" >"$tmp/models.jsonl"
head -1 "$tmp/s.jsonl" | sed 's/"model":"perceptron"/"model":"committee-tree-K3"/' >>"$tmp/models.jsonl"
expect 0 "appears with 2 different settings, label modes or models" -- report "$tmp/models.jsonl"
head -1 "$tmp/s.jsonl" | sed 's/"instance":[0-9]*/"instance":-1/' >"$tmp/negative.jsonl"
expect 3 "negative.jsonl:1: not a valid run record .*instance" -- report "$tmp/negative.jsonl"
expect 2 "excludes|--json" -- report "$tmp/s.jsonl" --csv --json
expect 2 "no directory" -- report "$tmp/s.jsonl" --plot "$tmp/nodir/p.png"
expect 2 ".png, .pdf or .svg" -- report "$tmp/s.jsonl" --plot "$tmp/plot"
expect 3 "is a directory" -- report "$tmp"
expect 3 "is a directory" -- sweep "$tmp"
expect 3 "is empty" -- sweep /dev/null
expect 3 "NUL bytes" -- report /dev/zero
expect 3 "NUL bytes" -- sweep /dev/zero
expect 3 "cannot open the results file" -- report "$tmp/missing.jsonl"
{ head -1 "$tmp/s.jsonl"; echo '{"solver": "x"}'; } >"$tmp/broken.jsonl"
expect 3 "broken.jsonl:2: not a valid run record" -- report "$tmp/broken.jsonl"
: >"$tmp/empty.jsonl"
expect 3 "no run records" -- report "$tmp/empty.jsonl"
{ cat "$tmp/s.jsonl"; printf '{"sweep_hash": "to'; } >"$tmp/torn.jsonl"
expect 0 "ignored an incomplete last line" -- report "$tmp/torn.jsonl"

# --- plot ------------------------------------------------------------------------------------
# The report's choice of Python: LOCENT_PYTHON, else the system Python, else PATH's.
plot_py=${LOCENT_PYTHON:-}
[[ -n $plot_py ]] || { [[ -x /usr/bin/python3 ]] && plot_py=/usr/bin/python3; } || plot_py=python3
if "$plot_py" -c "import matplotlib" 2>/dev/null; then
  expect 0 "" -- report "$tmp/s.jsonl" --plot "$tmp/p.png"
  "$py" -c 'import sys; d=open(sys.argv[1],"rb").read(); assert d[:8]==b"\x89PNG\r\n\x1a\n" and len(d)>5000' \
    "$tmp/p.png" || { echo "FAIL: --plot did not write a PNG" >&2; failures=$((failures + 1)); }
else
  echo "sweep_report_test: plot check skipped ($plot_py has no matplotlib)"
fi
# A Python without matplotlib (site packages off) gives a clear failure.
printf '#!/bin/sh\nexec "%s" -S "$@"\n' "$(command -v "$plot_py")" >"$tmp/bare-python"
chmod +x "$tmp/bare-python"
LOCENT_PYTHON="$tmp/bare-python" expect 1 "matplotlib is not installed" -- report "$tmp/s.jsonl" --plot "$tmp/q.png"
LOCENT_PYTHON="$tmp/no-such-python" expect 1 "cannot run .*LOCENT_PYTHON" -- report "$tmp/s.jsonl" --plot "$tmp/q.png"

echo "sweep_report_test: $passed passed, $failures failed"
[[ $failures -eq 0 ]]
