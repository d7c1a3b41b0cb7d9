# clihelp.sh — the shell tests' harness (sourced; the shell twin of testhelp.h).
# Sets M (the mcrage binary under test), D (a scratch folder removed on exit) and the counters;
# ok/bad/skipped record a check, expect runs a command and checks its exit code and a message
# fragment, summary prints "NAME: N passed, N failed[, N skipped]" and returns the status.
M=${MCRAGE:-build/asan/mcrage}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$D/err" ] && sed 's/^/     /' "$D/err" | head -5; }
# skipped N WHY: N checks not run
skipped() { skip=$((skip + $1)); echo "skip $2"; }
# expect NAME CODE FRAGMENT -- command...   (stderr or stdout must contain FRAGMENT)
expect() {
    name=$1 code=$2 frag=$3; shift 4
    "$@" >"$D/out" 2>"$D/err"; rc=$?
    if [ "$rc" -eq "$code" ] && grep -qF -- "$frag" "$D/err" "$D/out"; then ok "$name"
    else echo "     (exit $rc, expected $code; wanted '$frag')"; bad "$name"; fi
}
# no_file NAME PATH: PATH does not exist and its folder holds no temporary file
no_tmp() { [ -z "$(ls -A "$1" | grep '\.tmp\.')" ]; }
no_file() { if [ ! -e "$2" ] && no_tmp "$(dirname "$2")"; then ok "$1"; else bad "$1"; fi; }
summary() {
    if [ "$skip" -gt 0 ]; then echo "$1: $pass passed, $fail failed, $skip skipped"
    else echo "$1: $pass passed, $fail failed"; fi
    [ "$fail" -eq 0 ]
}
