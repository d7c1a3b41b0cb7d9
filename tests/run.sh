#!/bin/sh
# Run every test binary and the CLI tests; print one closing line "total: N passed, N failed".
# MCRAGE: the mcrage binary to test; TESTBIN: folder of test binaries.
set -u
: "${MCRAGE:=build/asan/mcrage}" "${TESTBIN:=build/asan/tests}"
export MCRAGE ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OMP_WAIT_POLICY=passive
pass=0 fail=0 skip=0 log=$(mktemp)
for t in "$TESTBIN"/*/test_* tests/cli/*.sh tests/python/*.sh; do
    [ -e "$t" ] || continue
    name=$(basename "$t")
    printf '== %s\n' "$name"
    case "$t" in *.sh) sh "$t" >"$log" 2>&1 ;; *) "$t" >"$log" 2>&1 ;; esac
    rc=$?
    cat "$log"
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    p=$(echo "$line" | sed -E 's/.* ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    [ -n "$line" ] || { p=0; f=1; echo "  (no summary line: counted as a failure)"; }
    case "$line" in *skipped*) skip=$((skip + $(echo "$line" | sed -E 's/.* ([0-9]+) skipped.*/\1/'))) ;; esac
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "  (exit status $rc: counted as a failure)"; fi
    pass=$((pass + p)); fail=$((fail + f))
done
rm -f "$log"
if [ "$skip" -gt 0 ]; then echo "total: $pass passed, $fail failed, $skip skipped"
else echo "total: $pass passed, $fail failed"; fi
[ "$fail" -eq 0 ]
