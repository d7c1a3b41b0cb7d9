#!/bin/sh
# End-to-end commands under valgrind (memcheck): no invalid accesses, no definite or indirect
# leaks. Valgrind cannot decode AVX-512, so this builds a portable variant (ARCH=) in build/vg
# and keeps OpenBLAS on its AVX2 kernel.
set -e
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
make -s R=build/vg ARCH= build/vg/mcrage
export MCRAGE_BLAS_CORETYPE=keep OPENBLAS_CORETYPE=Haswell
M=build/vg/mcrage D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
VG="valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect -q"
$M simulate --rows 300 --seed 3 -o "$D/d.csv" 2>/dev/null
status=0
run() { if $VG $M "$@" >"$D/log" 2>&1; then echo "clean: $1"; else echo "NOT CLEAN: $*"; cat "$D/log"; status=1; fi; }
run fit "$D/d.csv" --target outcome --steps 20 --widths 16,16 --batch 64 --threads 1 -q -o "$D/m.mcrg"
run sample "$D/m.mcrg" --n 50 --threads 1 -o "$D/s.csv"
run augment "$D/d.csv" --target outcome --method smote-nc --threads 1 -q -o "$D/a.csv"
run augment "$D/d.csv" --target outcome --method mcrage --steps 10 --widths 16 --threads 1 -q -o "$D/b.csv"
run evaluate "$D/d.csv" --target outcome --sensitive race --methods none,ros --classifiers logreg,xgb --seeds 1 --threads 1 -q
$M simulate --rows 150 --seed 4 -o "$D/h.csv" 2>/dev/null
run fidelity "$D/d.csv" "$D/s.csv" --target outcome --sensitive race --holdout "$D/h.csv" --max-rows 100 --folds 2 --threads 1 -q --json "$D/f.json" --report "$D/f.html"
run evaluate "$D/d.csv" --target outcome --methods none,mcrage --classifiers logreg --seeds 1 --steps 10 --widths 16 --threads 1 -q --report "$D/e.html"
run describe "$D/d.csv" --target outcome --sensitive race
exit $status
