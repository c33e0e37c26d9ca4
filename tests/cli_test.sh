#!/usr/bin/env bash
# End-to-end checks of the locent command line: a good run gives valid JSON and weights; every
# kind of bad input gives one clear message on stderr and the documented non-zero exit code.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/shell_common.sh"

# Writes a .npy file: npy FILE DESCR SHAPE PYTHON-BYTES-EXPRESSION
npy() {
  "$py" - "$@" <<'PY'
import struct, sys
path, descr, shape, data = sys.argv[1], sys.argv[2], sys.argv[3], eval(sys.argv[4])
header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
header += " " * (63 - (10 + len(header)) % 64) + "\n"
with open(path, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)
PY
}

# --- good runs -------------------------------------------------------------------------------
expect 0 "" -- --version
expect 0 "" -- solve --help
"$locent" --version | grep -q "locent 0" || { echo "FAIL: --version" >&2; failures=$((failures + 1)); }
"$locent" solve --N 201 --alpha 0.4 --backend cpu --seed 1 --trace-every 1 \
  --save-weights "$tmp/w.npy" --out "$tmp/r.json" 2>"$tmp/err"
if [[ $? -ne 0 ]]; then
  echo "FAIL: default small solve" >&2; cat "$tmp/err" >&2; failures=$((failures + 1))
else
  "$py" - "$tmp/r.json" "$tmp/w.npy" <<'PY' || failures=$((failures + 1))
import json, sys, struct
r = json.load(open(sys.argv[1]))
i = r["instances"][0]
assert r["problem"]["N"] == 201 and r["problem"]["P"] == 80, r["problem"]
assert i["solved"] is True and i["train_error"] == 0.0, i
assert len(i["replica_errors"]) == 7 and "trace" in i and len(i["trace"]) >= 1
assert r["summary"]["solved"] == 1 and r["backend"] == "cpu"
raw = open(sys.argv[2], "rb").read()
assert raw[:6] == b"\x93NUMPY"
hl = struct.unpack("<H", raw[8:10])[0]
header = raw[10:10 + hl].decode()
assert "'|i1'" in header and "(201,)" in header, header
w = raw[10 + hl:]
assert len(w) == 201 and set(w) <= {1, 255}
PY
  passed=$((passed + 1))
fi
# Training data from files: the saved weights of a solved run classify it without error.
npy "$tmp/p.npy" "<f8" "(3, 5)" "struct.pack('<15d', *([1,-1,1,1,-1]*3))"
npy "$tmp/l.npy" "|i1" "(3,)" "bytes([1,1,1])"
expect 0 "" -- solve --patterns "$tmp/p.npy" --labels "$tmp/l.npy" --backend cpu --out "$tmp/f.json" \
  --save-weights "$tmp/fw.npy"
"$py" - "$tmp/f.json" "$tmp/fw.npy" <<'PY' || { echo "FAIL: files run" >&2; failures=$((failures + 1)); }
import struct, sys
assert '"label_mode": "files"' in open(sys.argv[1]).read()
raw = open(sys.argv[2], "rb").read()
w = [b - 256 if b > 127 else b for b in raw[10 + struct.unpack("<H", raw[8:10])[0]:]]
# The patterns [1,-1,1,1,-1] three times, labels +1: the weights classify every one.
assert len(w) == 5 and sum(x * y for x, y in zip(w, [1, -1, 1, 1, -1])) > 0, w
PY

# Teacher–student: generalization and test errors reported, both far below chance.
expect 0 "" -- solve --N 201 --alpha 1.0 --label-mode teacher --test-patterns 2000 --backend cpu \
  --seed 2 --out "$tmp/t.json"
"$py" - "$tmp/t.json" <<'PY' || { echo "FAIL: teacher-student run" >&2; failures=$((failures + 1)); }
import json, sys
i = json.load(open(sys.argv[1]))["instances"][0]
assert i["solved"] and 0 < i["generalization_error"] < 0.4 and 0 < i["test_error"] < 0.4, i
assert abs(i["test_error"] - i["generalization_error"]) < 0.08, i
PY

# fBP from the command line: a solve that saves its messages, then a warm start from them at its
# last step's y that solves the same instance in a few iterations.
expect 0 "" -- solve --algo fbp --N 101 --alpha 0.5 --backend cpu --seed 3 --out "$tmp/b.json" \
  --save-messages "$tmp/m.npy" --save-weights "$tmp/bw.npy"
last_y=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["instances"][0]["trace"][-1]["y"])' "$tmp/b.json")
expect 0 "" -- solve --algo fbp --N 101 --alpha 0.5 --backend cpu --seed 3 --out "$tmp/b2.json" \
  --init-messages "$tmp/m.npy" --protocol list --fbp-gamma inf --fbp-y "$last_y"
"$py" - "$tmp/b.json" "$tmp/b2.json" <<'PY' || { echo "FAIL: fBP runs" >&2; failures=$((failures + 1)); }
import json, sys
first, again = (json.load(open(p)) for p in sys.argv[1:3])
a, b = first["instances"][0], again["instances"][0]
assert a["solved"] and a["train_error"] == 0.0, a
assert b["solved"] and b["iterations"] <= 3 < a["iterations"], (a["iterations"], b["iterations"])
assert again["solver"]["init_messages"].endswith("m.npy"), again["solver"]
PY
expect 3 "shape|messages" -- solve --algo fbp --N 103 --alpha 0.5 --backend cpu --init-messages "$tmp/m.npy"

# --- bad input -------------------------------------------------------------------------------
expect 2 "N must be odd" -- solve --N 1000 --backend cpu
expect 2 "alpha must be a positive" -- solve --alpha 0 --backend cpu
expect 2 "alpha must be a positive" -- solve --alpha -0.5 --backend cpu
expect 2 "--replicas: .0. is not a whole number from 1 to 30" -- solve --replicas 0 --backend cpu
expect 2 "bogus" -- solve --bogus
expect 2 "--beta" -- solve --beta geom:0:1 --backend cpu
expect 2 "backend" -- solve --backend tpu
expect 3 "cannot open" -- solve --patterns "$tmp/missing.npy" --labels "$tmp/l.npy"
printf 'not a numpy file at all' >"$tmp/bad.npy"
expect 3 "bad.npy" -- solve --patterns "$tmp/bad.npy" --labels "$tmp/l.npy"
npy "$tmp/short.npy" "|i1" "(3, 5)" "bytes([1]*10)"
expect 3 "short.npy" -- solve --patterns "$tmp/short.npy" --labels "$tmp/l.npy"
npy "$tmp/zero.npy" "<i4" "(3, 5)" "struct.pack('<15i', *([1]*7 + [0] + [1]*7))"
expect 3 "not ±1|±1" -- solve --patterns "$tmp/zero.npy" --labels "$tmp/l.npy"
npy "$tmp/l4.npy" "|i1" "(4,)" "bytes([1,1,1,1])"
expect 3 "4 labels|labels" -- solve --patterns "$tmp/p.npy" --labels "$tmp/l4.npy"
npy "$tmp/even.npy" "|i1" "(3, 4)" "bytes([1]*12)"
expect 3 "odd" -- solve --patterns "$tmp/even.npy" --labels "$tmp/l.npy"
npy "$tmp/c8.npy" "<c8" "(3, 5)" "bytes(120)"
expect 3 "dtype" -- solve --patterns "$tmp/c8.npy" --labels "$tmp/l.npy"
expect 2 "needs|requires" -- solve --patterns "$tmp/p.npy"
expect 2 "--cluster" -- bench --cluster 3 --backend cpu
expect 2 "--round-steps" -- bench --round-steps 0 --backend cpu
expect 2 "--round-decisions" -- bench --round-decisions fast --backend cpu
expect 2 "--dense-kernel" -- bench --dense-kernel tensor --backend cpu
if ! "$locent" solve --N 101 --backend cuda --max-sweeps 1 -q >/dev/null 2>"$tmp/err"; then
  # No GPU here (or a CPU-only build): one clear message and exit code 4.
  expect 4 "CUDA" -- solve --N 101 --backend cuda --max-sweeps 1
  # auto falls back to the CPU with a note.
  expect 0 "note: .*CPU" -- solve --N 101 --alpha 0.3 --backend auto --max-sweeps 5
fi

# --- committee machines ----------------------------------------------------------------------
# Tree and fully connected: solved, committee fields in the JSON, weights shaped (B, K, fan_in).
"$locent" solve --model committee --K 3 --arch tree --N 63 --alpha 0.3 --instances 2 --backend cpu \
  -q --save-weights "$tmp/cw.npy" --out "$tmp/c.json" 2>"$tmp/err" &&
  "$locent" solve --model committee --K 3 --arch fc --N 21 --alpha 0.3 --backend cpu -q \
    --save-weights "$tmp/fw.npy" --save-all --out "$tmp/cf.json" 2>>"$tmp/err"
if [[ $? -ne 0 ]]; then
  echo "FAIL: committee solves" >&2; cat "$tmp/err" >&2; failures=$((failures + 1))
else
  files=("$tmp/c.json" "$tmp/cw.npy" "$tmp/cf.json" "$tmp/fw.npy")
  "$py" - "${files[@]}" <<'PY' || failures=$((failures + 1))
import json, sys, struct
def header(path):
    raw = open(path, "rb").read()
    return raw[10:10 + struct.unpack("<H", raw[8:10])[0]].decode()
r = json.load(open(sys.argv[1]))
p = r["problem"]
assert p["model"] == "committee" and p["K"] == 3 and p["arch"] == "tree" and p["P"] == 19, p
assert r["solver"]["energy"] == "errors" and r["summary"]["solved"] == 2, r
assert all(i["train_error"] == 0.0 for i in r["instances"])
assert "(2, 3, 21)" in header(sys.argv[2]), header(sys.argv[2])
f = json.load(open(sys.argv[3]))
assert f["problem"]["arch"] == "fc" and f["problem"]["P"] == 19 and f["summary"]["solved"] == 1, f
assert "(8, 3, 21)" in header(sys.argv[4]), header(sys.argv[4])
PY
  passed=$((passed + 1))
fi
# --- outputs: checked before the work, never destroyed by a failed write --------------------
expect 2 "no directory" -- solve --N 21 --alpha 0.3 --backend cpu -q --out "$tmp/nodir/r.json"
expect 2 "no directory" -- solve --N 21 --alpha 0.3 --backend cpu -q --save-weights "$tmp/nodir/w.npy"
expect 2 "empty" -- solve --N 21 --alpha 0.3 --backend cpu -q --out ""
expect 2 "directory" -- solve --N 21 --alpha 0.3 --backend cpu -q --out "$tmp"
expect 2 "--save-weights" -- solve --N 21 --alpha 0.3 --backend cpu -q --save-all
if [[ -w /dev/full ]]; then
  # A full disk: an error, not a result lost with exit code 0; a link to the full device stays.
  for command in "solve --N 21 --alpha 0.3" "solve --algo fbp --N 21 --alpha 0.3" \
                 "bench --N 21 --instances 1 --dense-size 0 --fbp-N 0 --no-baseline"; do
    # shellcheck disable=SC2086  # one word an option
    "$locent" $command --backend cpu -q >/dev/full 2>"$tmp/err"
    if [[ $? -ne 3 ]] || ! grep -q "standard output" "$tmp/err"; then
      echo "FAIL: $command >/dev/full" >&2; failures=$((failures + 1))
    else
      passed=$((passed + 1))
    fi
  done
  ln -s /dev/full "$tmp/full-link"
  expect 3 "No space" -- solve --N 21 --alpha 0.3 --backend cpu -q --save-weights "$tmp/full-link"
  if [[ -L "$tmp/full-link" ]]; then passed=$((passed + 1)); else
    echo "FAIL: a failed write removed the link it wrote through" >&2; failures=$((failures + 1))
  fi
fi
# A shell's `>>` through --out /dev/stdout appends, as with plain stdout; two outputs that are one
# file, or an output that is an input, are refused; a link to a file not yet there creates it.
printf 'earlier line\n' >"$tmp/log.txt"
"$locent" solve --N 21 --alpha 0.3 --backend cpu -q --out /dev/stdout >>"$tmp/log.txt" 2>"$tmp/err"
[[ $(head -1 "$tmp/log.txt") == "earlier line" && $(sed -n 2p "$tmp/log.txt") == "{" ]] &&
  passed=$((passed + 1)) || { echo "FAIL: --out /dev/stdout with >>" >&2; failures=$((failures + 1)); }
expect 2 "name one file" -- solve --N 21 --alpha 0.3 --backend cpu -q --out "$tmp/same" --save-weights "$tmp/same"
expect 2 "is the input of --patterns" -- solve --patterns "$tmp/p.npy" --labels "$tmp/l.npy" --backend cpu -q --out "$tmp/p.npy"
ln -s "$tmp/later.json" "$tmp/link.json"
expect 0 "" -- solve --N 21 --alpha 0.3 --backend cpu -q --out "$tmp/link.json"
[[ -L "$tmp/link.json" && -s "$tmp/later.json" ]] && passed=$((passed + 1)) ||
  { echo "FAIL: a link to a missing file" >&2; failures=$((failures + 1)); }

# A file is replaced whole, through a temporary file beside it that does not stay.
printf 'old' >"$tmp/w21.npy"
"$locent" solve --N 21 --alpha 0.3 --backend cpu -q --seed 3 --save-weights "$tmp/w21.npy" \
  --out "$tmp/r21.json" 2>"$tmp/err" && [[ $(head -c 6 "$tmp/w21.npy" | tail -c 5) == NUMPY ]] &&
  [[ -z $(find "$tmp" -name '.locent-*') ]] && passed=$((passed + 1)) ||
  { echo "FAIL: weights written through a temporary file" >&2; failures=$((failures + 1)); }
# A results file that is not one is refused as it is, even without a last newline; a whole last
# record without its newline is a record.
cat >"$tmp/s.toml" <<'TOML'
N = [21]
alpha = [0.3]
instances = 1
backend = "cpu"
[[solver]]
name = "rsa"
max_sweeps = 50
TOML
printf '{"config": "not a results file", "values": [1, 2, 3]}' >"$tmp/one-line.json"
expect 3 "not a run record" -- sweep "$tmp/s.toml" -q --results "$tmp/one-line.json"
grep -q '"values": \[1, 2, 3\]}$' "$tmp/one-line.json" && passed=$((passed + 1)) ||
  { echo "FAIL: a one-line JSON file taken for a torn record" >&2; failures=$((failures + 1)); }
expect 3 "regular file" -- sweep "$tmp/s.toml" -q --results /dev/null
expect 2 "empty" -- sweep "$tmp/s.toml" -q --results ""
printf 'notes\nline two without newline' >"$tmp/notes.txt"
cp "$tmp/notes.txt" "$tmp/notes.copy"
cp "$tmp/s.toml" "$tmp/s.copy"
truncate -s -1 "$tmp/s.toml"  # no last newline
expect 3 "not a valid run record" -- sweep "$tmp/s.toml" -q --results "$tmp/notes.txt"
expect 3 "not a valid run record|not a run record" -- sweep "$tmp/s.toml" -q --results "$tmp/s.toml"
if cmp -s "$tmp/notes.txt" "$tmp/notes.copy" && [[ $(wc -c <"$tmp/s.toml") -eq $(($(wc -c <"$tmp/s.copy") - 1)) ]]; then
  passed=$((passed + 1))
else
  echo "FAIL: a refused results file was changed" >&2; failures=$((failures + 1))
fi
"$locent" sweep "$tmp/s.copy" -q --results "$tmp/s.jsonl" 2>"$tmp/err" && truncate -s -1 "$tmp/s.jsonl"
expect 0 "" -- report "$tmp/s.jsonl"
expect 0 "" -- sweep "$tmp/s.copy" -q --results "$tmp/s.jsonl"
if [[ $(wc -l <"$tmp/s.jsonl") -eq 1 ]] && [[ $(tail -c 1 "$tmp/s.jsonl" | od -An -c | tr -d ' ') == '\n' ]]; then
  passed=$((passed + 1))
else
  echo "FAIL: a whole last record without its newline was not kept" >&2; failures=$((failures + 1))
fi

# --- options that would be ignored or wrap around --------------------------------------------
expect 2 "--seed" -- solve --N 21 --alpha 0.3 --backend cpu --seed -1
expect 2 "--seed" -- solve --N 21 --alpha 0.3 --backend cpu --seed 18446744073709551616
expect 2 "2\^32" -- solve --N 21 --alpha 0.3 --backend cpu --first-instance 4294967295 --instances 2
expect 2 "--test-patterns" -- solve --N 21 --alpha 0.3 --backend cpu --label-mode teacher --test-patterns -1
expect 2 "teacher" -- solve --N 21 --alpha 0.3 --backend cpu --test-patterns 5
expect 2 "empty" -- solve --patterns "" --labels "" --backend cpu
expect 2 "--algo sa" -- solve --N 21 --alpha 0.3 --backend cpu --algo sa --gamma 5
expect 2 "--algo sa" -- solve --N 21 --alpha 0.3 --backend cpu --algo sa --coupling explicit
expect 2 "at most 1e6" -- solve --N 21 --alpha 0.3 --backend cpu --gamma 1e308
expect 2 "at most 1e6" -- solve --N 21 --alpha 0.3 --backend cpu --beta lin:1:1e300
expect 2 "--threads" -- solve --N 21 --alpha 0.3 --backend cpu --threads -1
expect 2 "--max-seconds" -- solve --N 21 --alpha 0.3 --backend cpu --max-seconds inf
expect 2 "--max-sweeps: '-1'" -- solve --N 21 --alpha 0.3 --backend cpu --max-sweeps -1
expect 2 "hidden units K must be odd .got 0" -- solve --model committee --K 0 --backend cpu
expect 2 "--sweeps-scale" -- bench --backend cpu --N 21 --sweeps-scale nan --dense-size 0 --fbp-N 0
expect 2 "--dense-size" -- bench --backend cpu --N 21 --dense-size -5 --fbp-N 0
expect 2 "--mac-ceiling" -- bench --backend cpu --N 0 --dense-size 0 --fbp-N 0 --mac-ceiling -1
# An fBP instance too large for this machine is refused before it is generated (at once).
expect 5 "out of host memory" -- solve --algo fbp --backend cpu --N 200001 --alpha 2
expect 2 "unknown subcommand 'foo'" -- foo
expect 2 "locent bench --help" -- bench --bogus
# fBP protocols: no number silently dropped, no bad file read whole.
expect 2 "one number each" -- solve --algo fbp --N 21 --alpha 0.3 --protocol scoping --fbp-gamma 1,2
expect 2 "not a finite number" -- solve --algo fbp --N 21 --alpha 0.3 --protocol list --fbp-gamma 1,
expect 2 "not a finite number" -- solve --algo fbp --N 21 --alpha 0.3 --protocol list --fbp-gamma 1e999
expect 3 "is a directory" -- solve --algo fbp --N 21 --alpha 0.3 --protocol-file "$tmp"
printf '1 0\n' >"$tmp/protocol.txt"
expect 3 "protocol.txt: step 1" -- solve --algo fbp --N 21 --alpha 0.3 --protocol-file "$tmp/protocol.txt"
expect 3 "NUL" -- solve --algo fbp --N 21 --alpha 0.3 --protocol-file "$tmp/w21.npy"
printf '\xef\xbb\xbfinf 1\ninf 2\n' >"$tmp/bom.txt"  # a byte-order mark first
expect 0 "" -- solve --algo fbp --N 21 --alpha 0.3 --backend cpu -q --protocol-file "$tmp/bom.txt"

expect 2 "flips energy" -- solve --model committee --energy flips --backend cpu --max-sweeps 2
expect 2 "K must be odd" -- solve --model committee --K 2 --backend cpu --max-sweeps 2
expect 2 "divisible" -- solve --model committee --K 3 --N 100 --backend cpu --max-sweeps 2
expect 2 "--model committee" -- solve --K 3 --backend cpu --max-sweeps 2

echo "cli_test: $passed passed, $failures failed"
[[ $failures -eq 0 ]]
