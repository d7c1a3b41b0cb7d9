#!/bin/sh
# The quick start's main job on the built-in simulated cohort: simulate -> describe ->
# fit the conditional diffusion model -> sample the minority class up to the majority count
# -> describe the synthetic rows. Outputs go to out/ (override with OUT=dir).
set -e
M=${MCRAGE:-build/rel/mcrage}
OUT=${OUT:-out}
mkdir -p "$OUT"
echo "== 1. simulate a cohort with a known imbalance (8% outcome, rate differing by race)"
"$M" simulate --rows 5000 --seed 1 -o "$OUT/cohort.csv"
echo "== 2. describe it"
"$M" describe "$OUT/cohort.csv" --target outcome --sensitive race
echo "== 3. fit the conditional DDPM on the outcome"
"$M" fit "$OUT/cohort.csv" --target outcome --steps ${STEPS:-2000} --seed 1 -o "$OUT/cohort.mcrg"
"$M" inspect "$OUT/cohort.mcrg" | head -n 12
n0=$(awk -F, 'NR>1 && $NF=="0"' "$OUT/cohort.csv" | wc -l)
n1=$(awk -F, 'NR>1 && $NF=="1"' "$OUT/cohort.csv" | wc -l)
echo "== 4. sample $((n0 - n1)) synthetic minority rows (fills class 1 up to the majority's $n0)"
"$M" sample "$OUT/cohort.mcrg" --class 1 --n $((n0 - n1)) --seed 1 -o "$OUT/synthetic.csv"
echo "== 5. the synthetic rows"
"$M" describe "$OUT/synthetic.csv" --target outcome --sensitive race
echo "demo outputs: $OUT/cohort.csv $OUT/cohort.mcrg $OUT/synthetic.csv"
