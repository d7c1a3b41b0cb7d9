#!/bin/sh
# matrix.sh — issue 18's measurement matrix: every shared table x threshold (0.5, tuned) with
# none / ROS / SMOTE-NC / mcrage / its selections / mcrage-auto and logreg / rf / xgb over 5 seeds,
# one evaluate per (table, threshold), then scripts/matrix.py over the JSON files.
#
# usage: scripts/matrix.sh OUTDIR [TABLE ...]    TABLE: pt stroke flchain diabetes (default all)
# Each run is single-threaded (--threads 1: the same thread count gives the same numbers); run
# two at once on a 2-core machine (e.g. `scripts/matrix.sh out pt & scripts/matrix.sh out stroke`).
# Cost on the 2-core development machine, one run per core: patient_treatment ~30 min per
# threshold, stroke and flchain ~35-45; diabetes_130 ~40 min per threshold without mcrage-auto
# and roughly an hour of one core per seed for mcrage-auto (3 fold fits and 12 samples of up to
# ~40k rows of 2,470 encoded dims). Long runs can be split one evaluate per seed: `--seed S
# --seeds 1` gives exactly seed S of a `--seeds 5` run, and matrix.py merges the files (checking
# that runs present twice agree), e.g. for the diabetes_130 rows of doc/issue18_matrix.md:
#   $M evaluate <diabetes args> --methods none,mcrage-auto --classifiers logreg,rf,xgb \
#       --seed S --seeds 1 --threshold tuned --threads 1 --json OUT/diabauto-tuned-sS.json
set -eu
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/matrix.sh OUTDIR [TABLE ...]}
shift
mkdir -p "$out"
D=../shared/datasets
M=build/rel/mcrage
[ -x $M ] || make all >/dev/null
METHODS=none,ros,smote-nc,mcrage,mcrage-plausible,mcrage-boundary,mcrage-auto
run() { # NAME ARGS...
    name=$1
    shift
    for thr in 0.5 tuned; do
        $M evaluate "$@" --methods $METHODS --classifiers logreg,rf,xgb --seeds 5 --threshold $thr \
            --threads 1 --json "$out/$name-$thr.json" >"$out/$name-$thr.txt" 2>"$out/$name-$thr.err"
    done
}
for t in ${@:-pt stroke flchain diabetes}; do
    case $t in
    pt) run pt $D/patient_treatment.csv --target SOURCE --sensitive SEX --thin in:0.1 ;;
    stroke) run stroke $D/stroke.csv --target stroke --sensitive gender --na ,N/A ;;
    flchain) run flchain $D/flchain.csv --target death --sensitive sex --drop futime,chapter ;;
    diabetes) run diabetes $D/diabetes_130.csv --target readmitted --positive '<30' --sensitive race \
        --group patient_nbr --drop encounter_id ;;
    *) echo "unknown table '$t' (pt, stroke, flchain, diabetes)" >&2; exit 2 ;;
    esac
done
/usr/bin/python3 scripts/matrix.py "$out"/*.json
