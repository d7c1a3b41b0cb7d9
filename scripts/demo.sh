#!/bin/sh
# The quick start's main job on the built-in simulated cohort:
#   simulate -> describe -> evaluate (none / ros / smote / mcrage x logreg / xgb, 3 seeds)
#   -> augment with mcrage -> describe the balanced table -> the HTML report of the evaluation.
# Outputs go to out/ (override with OUT=dir; STEPS=N sets the diffusion model's steps).
set -e
M=${MCRAGE:-build/rel/mcrage}
OUT=${OUT:-out}
STEPS=${STEPS:-1500}
mkdir -p "$OUT"
echo "== 1. simulate a cohort with a known imbalance (8% outcome, rate differing by race)"
"$M" simulate --rows 5000 --seed 1 -o "$OUT/cohort.csv"
echo "== 2. describe it"
"$M" describe "$OUT/cohort.csv" --target outcome --sensitive race
echo "== 3. does rebalancing help, and whom? (3 seeds, 30% test)"
"$M" evaluate "$OUT/cohort.csv" --target outcome --sensitive race --methods none,ros,smote,mcrage \
    --classifiers logreg,xgb --seeds 3 --steps "$STEPS" --json "$OUT/evaluate.json" --report "$OUT/report.html"
echo "== 4. rebalance the whole cohort with the diffusion model"
"$M" augment "$OUT/cohort.csv" --target outcome --method mcrage --steps "$STEPS" \
    --mark-synthetic synthetic -o "$OUT/balanced.csv"
"$M" describe "$OUT/balanced.csv" --target outcome --sensitive race
echo "demo outputs: $OUT/cohort.csv $OUT/evaluate.json $OUT/balanced.csv"
echo "report: $OUT/report.html (open it in a browser: data, rebalancing, results with CIs, charts,"
echo "        loss curve, real vs synthetic minority rows, fidelity and privacy scores)"
