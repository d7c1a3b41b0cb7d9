#!/bin/sh
# Byte-identity check for refactors: run a fixed set of commands (simulate, fit at 1 and 2
# threads in every mode, sample with every sampler, augment with every method, evaluate,
# fidelity, describe, inspect) with a binary into a folder; compare two folders with cmp.
#   scripts/identity.sh run BIN DIR     write the outputs of BIN into DIR
#   scripts/identity.sh cmp DIR1 DIR2   list files that differ (exit 1 if any)
# Reports and evaluate text hold timings or paths, so only CSV, model, JSON and the
# timing-free text outputs are compared. Reads ../shared/datasets (MCR_DATA overrides).
set -eu
case "${1:-}" in
cmp)
    rc=0
    # JSON holds the folder's path and timings: both are taken out before comparing
    norm() { case "$1" in *.json) sed -E -e 's#"[^"]*/([^/"]+\.csv)"#"\1"#g' -e 's/"seconds":[-0-9.e+]+//g' "$1" ;; *) cat "$1" ;; esac; }
    for f in "$2"/*; do
        b=$(basename "$f")
        [ -e "$3/$b" ] || { echo "missing: $3/$b"; rc=1; continue; }
        if [ "$(norm "$f" "$2" | md5sum)" != "$(norm "$3/$b" "$3" | md5sum)" ]; then
            echo "differs: $b"; rc=1
        fi
    done
    [ "$rc" -eq 0 ] && echo "identical: $(ls "$2" | wc -l) files"
    exit $rc ;;
run) ;;
*) echo "usage: $0 run BIN DIR | cmp DIR1 DIR2" >&2; exit 1 ;;
esac
M=$2 O=$3 DATA=${MCR_DATA:-../shared/datasets}
mkdir -p "$O"
q=--quiet
"$M" simulate --rows 2000 --seed 5 -o "$O/c.csv" >/dev/null
for th in 1 2; do
    "$M" fit "$O/c.csv" --target outcome --sensitive race --steps 150 --batch 256 --seed 3 --threads $th $q -o "$O/m$th.mcrg"
    "$M" sample "$O/m$th.mcrg" --n 400 --seed 4 --threads $th -o "$O/s$th.csv" >/dev/null
done
"$M" fit "$O/c.csv" --target outcome --sensitive race --condition both --steps 120 --batch 256 --act silu --dropout 0.1 --threads 2 $q -o "$O/mb.mcrg"
"$M" sample "$O/mb.mcrg" --counts '1|Black=200,0|Asian=100' --guidance 1.5 --sampler ddpm --seed 2 -o "$O/sb.csv" >/dev/null
"$M" fit "$O/c.csv" --target outcome --categorical-mode onehot --transform standard --steps 100 --batch 256 --threads 2 $q -o "$O/mo.mcrg"
"$M" sample "$O/mo.mcrg" --class 1 --n 300 --sample-steps 20 -o "$O/so.csv" >/dev/null
"$M" inspect "$O/m1.mcrg" >"$O/inspect.txt"
"$M" describe "$O/c.csv" --target outcome --sensitive race --json >"$O/describe.json"
for me in ros rus smote smote-nc adasyn; do
    "$M" augment "$O/c.csv" --target outcome --sensitive race --method $me --seed 2 $q -o "$O/a_$me.csv" >/dev/null
done
"$M" augment "$O/c.csv" --target outcome --sensitive race --method smote-nc --strategy group-balance $q -o "$O/a_gb.csv" >/dev/null
"$M" augment "$O/c.csv" --target outcome --method mcrage --steps 100 --batch 256 --threads 2 --json "$O/a_mcrage.json" --mark-synthetic syn $q -o "$O/a_mcrage.csv" >/dev/null
"$M" evaluate "$O/c.csv" --target outcome --sensitive race --methods none,ros,smote,mcrage --classifiers logreg,xgb,rf --seeds 2 --steps 100 --threads 2 --json "$O/eval.json" $q >/dev/null
"$M" evaluate "$O/c.csv" --target outcome --sensitive age --bands 45,65 --methods none,adasyn --classifiers logreg,mlp --seeds 2 --balanced --json "$O/eval2.json" $q >/dev/null
head -1 "$O/c.csv" >"$O/h.csv"
head -1 "$O/c.csv" >"$O/t.csv"; sed -n 2,1401p "$O/c.csv" >>"$O/t.csv"; sed -n 1402,2001p "$O/c.csv" >>"$O/h.csv"
"$M" fidelity "$O/t.csv" "$O/s1.csv" --holdout "$O/h.csv" --target outcome --sensitive race --json "$O/fid.json" $q >/dev/null
if [ -r "$DATA/flchain.csv" ]; then
    "$M" fit "$DATA/flchain.csv" --target death --drop futime,chapter --steps 100 --batch 256 --threads 2 $q -o "$O/fl.mcrg"
    "$M" sample "$O/fl.mcrg" --counts 0=300,1=200 -o "$O/fl.csv" >/dev/null
    "$M" fit "$DATA/patient_treatment.csv" --target SOURCE --min-level-count 3 --steps 100 --batch 256 --threads 2 $q -o "$O/pt.mcrg"
    "$M" sample "$O/pt.mcrg" --n 300 -o "$O/pt.csv" >/dev/null
fi
rm -f "$O/h.csv" "$O/t.csv"
echo "wrote $(ls "$O" | wc -l) files to $O"
