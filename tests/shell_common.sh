# Shared start of the shell tests (sourced): the binary under test in $locent, a scratch folder
# $tmp removed on exit, the Python that the report uses in $py, the counters, and expect.
locent=${LOCENT:?set LOCENT to the locent binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
[[ -x $py ]] || py=python3
failures=0 passed=0

# expect CODE PATTERN -- ARGS...: exit code CODE and stderr matching PATTERN (grep -E).
expect() {
  local code=$1 pattern=$2
  shift 3
  "$locent" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [[ $got -ne $code ]] || { [[ -n $pattern ]] && ! grep -qE -e "$pattern" "$tmp/err"; }; then
    echo "FAIL: locent $* -> exit $got (want $code), stderr:" >&2
    sed 's/^/    /' "$tmp/err" >&2
    failures=$((failures + 1))
  else
    passed=$((passed + 1))
  fi
}
