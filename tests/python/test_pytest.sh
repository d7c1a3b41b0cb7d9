#!/bin/sh
# The Python package's test suite (python/tests, pytest, Debian's interpreter) against the release
# library build/rel/libmcrage.so (an ASan build cannot be loaded into an uninstrumented python3).
# Prints "test_pytest.sh: N passed, N failed[, N skipped]" for tests/run.sh; no test run (no
# interpreter, no pytest, nothing collected) counts as a failure.
set -u
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
if ! "$PY" -c "import pytest, numpy, pandas, sklearn, imblearn" 2>/dev/null; then
    echo "  $PY lacks pytest/numpy/pandas/sklearn/imblearn: run ./scripts/deps.sh --tests"
    echo "test_pytest.sh: 0 passed, 1 failed"
    exit 1
fi
log=$(mktemp)
(cd python && MCRAGE_LIB="$PWD/../build/rel/libmcrage.so" OMP_WAIT_POLICY=passive \
    "$PY" -m pytest -q -p no:cacheprovider -W error::RuntimeWarning:mcrage tests) >"$log" 2>&1
rc=$?
cat "$log"
last=$(grep -E '(passed|failed|error|no tests ran)' "$log" | tail -n 1)
rm -f "$log"
num() { echo "$last" | grep -oE "[0-9]+ $1" | grep -oE '[0-9]+' || echo 0; }
p=$(num passed) f=$(num failed) e=$(num error) s=$(num skipped)
f=$((f + e))
if [ "$p" -eq 0 ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
    echo "  (pytest exit status $rc, $p passed: counted as a failure)"
    f=$((f + 1))
fi
if [ "$s" -gt 0 ]; then echo "test_pytest.sh: $p passed, $f failed, $s skipped"
else echo "test_pytest.sh: $p passed, $f failed"; fi
[ "$f" -eq 0 ]
