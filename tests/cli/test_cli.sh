#!/bin/sh
# CLI behaviour: exit codes, messages naming file:line:col or the option, no partial outputs,
# describe's counts equal what simulate was asked for, fit/sample/inspect end to end.
# Prints "test_cli.sh: N passed, N failed".
set -u
. "$(dirname "$0")/../clihelp.sh"

expect "version" 0 "mcrage 0.1.0" -- "$M" --version
expect "help" 0 "commands:" -- "$M" --help
for c in simulate describe fit sample inspect bench augment evaluate fidelity; do
    expect "$c --help shows an example" 0 "example" -- "$M" "$c" --help
done
expect "unknown command" 1 "unknown command" -- "$M" frobnicate
expect "unknown option" 1 "unknown or incomplete option '--bogus'" -- "$M" simulate --bogus -o "$D/x.csv"
expect "rows out of range" 1 "--rows expects an integer" -- "$M" simulate --rows -5 -o "$D/x.csv"

# simulate -> describe: the counts asked for
expect "simulate" 0 "wrote 4000 rows" -- "$M" simulate --rows 4000 --seed 3 -o "$D/c.csv"
"$M" describe "$D/c.csv" --target outcome --sensitive race --json >"$D/d.json" 2>"$D/err"
if python3 - "$D/d.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
# asked: 4000 rows; race shares .62/.17/.12/.05/.04; positives per group round(n_g * rate_g)
shares = {"White": .62, "Black": .17, "Hispanic": .12, "Asian": .05, "Other": .04}
mult = {"White": .8, "Black": 1.6, "Hispanic": 1.2, "Asian": .7, "Other": 1.3}
norm = sum(shares[g] * mult[g] for g in shares)
g = d["sensitive"]["groups"]
assert d["rows"] == 4000
for k in shares:
    n = round(4000 * shares[k]); pos = round(n * 0.08 * mult[k] / norm)
    assert g[k]["total"] == n, (k, g[k]["total"], n)
    assert g[k]["1"] == pos, (k, g[k]["1"], pos)
assert d["target"]["counts"]["1"] == sum(v["1"] for v in g.values())
PY
then ok "describe --json reports the simulated counts"; else bad "describe --json reports the simulated counts"; fi
cmp -s "$D/c.csv" "$D/c.csv" && "$M" simulate --rows 4000 --seed 3 -o "$D/c2.csv" 2>/dev/null && cmp -s "$D/c.csv" "$D/c2.csv" && ok "simulate is reproducible" || bad "simulate is reproducible"

# bad CSV input: file:line:col, exit 2, nothing written
printf 'a,b\n1,2\n3\n' >"$D/ragged.csv"
expect "ragged row" 2 "ragged.csv:3:" -- "$M" fit "$D/ragged.csv" --target b -o "$D/out/m.mcrg"
printf 'a,b\n1,"x\n2,y\n' >"$D/quote.csv"
expect "unterminated quote" 2 "quote.csv:2:3: unterminated" -- "$M" describe "$D/quote.csv"
mkdir -p "$D/o"
expect "no model written on bad input" 2 "ragged" -- "$M" fit "$D/ragged.csv" --target b -o "$D/o/m.mcrg"
no_file "no partial model file" "$D/o/m.mcrg"
expect "missing file" 2 "cannot open" -- "$M" describe "$D/nope.csv"
expect "missing target column" 2 "column 'nosuch' does not exist" -- "$M" describe "$D/c.csv" --target nosuch
expect "unwritable output" 2 "cannot create output file" -- "$M" simulate --rows 100 -o /nonexistent/dir/x.csv

# fit / sample / inspect
expect "fit" 0 "final loss" -- "$M" fit "$D/c.csv" --target outcome --steps 40 --batch 128 --widths 64,64 --threads 2 -o "$D/m.mcrg"
expect "inspect" 0 "parameters" -- "$M" inspect "$D/m.mcrg"
expect "sample a class" 0 "wrote 300 rows" -- "$M" sample "$D/m.mcrg" --class 1 --n 300 -o "$D/s.csv"
head -n 1 "$D/s.csv" | cmp -s - "$(head -n 1 "$D/c.csv" >"$D/h"; echo "$D/h")" && ok "sample keeps the header" || bad "sample keeps the header"
[ "$(tail -n +2 "$D/s.csv" | cut -d, -f17 | sort -u)" = "1" ] && ok "sampled rows carry the class" || bad "sampled rows carry the class"
expect "sample --counts" 0 "wrote 30 rows" -- "$M" sample "$D/m.mcrg" --counts 0=10,1=20 -o "$D/s2.csv"
expect "sample dpmpp" 0 "wrote 40 rows" -- "$M" sample "$D/m.mcrg" --n 40 --sampler dpmpp --sample-steps 10 -o "$D/s6.csv"
expect "sample bad sampler" 1 "--sampler expects ddim, ddpm or dpmpp" -- "$M" sample "$D/m.mcrg" --n 4 --sampler euler -o "$D/s7.csv"
expect "sample unknown class" 2 "not a condition value" -- "$M" sample "$D/m.mcrg" --class 7 --n 5 -o "$D/s3.csv"
expect "sample negative n" 1 "--n expects" -- "$M" sample "$D/m.mcrg" --n -5 -o "$D/s3.csv"
# --precision (issue 17): a bad value names the option; fp32 is recorded; bf16 where the CPU has it
expect "fit --precision nope" 1 "--precision expects one of fp32, bf16, auto" -- "$M" fit "$D/c.csv" --target outcome --precision nope -o "$D/mp.mcrg"
no_file "no model from a refused --precision" "$D/mp.mcrg"
expect "inspect says fp32" 0 "precision: fp32" -- "$M" inspect "$D/m.mcrg"
if grep -q avx512_bf16 /proc/cpuinfo 2>/dev/null && [ "${MCRAGE_BF16:-1}" != 0 ]; then
    expect "fit --precision bf16" 0 "final loss" -- "$M" fit "$D/c.csv" --target outcome --steps 20 --batch 128 --widths 64,64 --threads 2 --precision bf16 -o "$D/mb.mcrg"
    expect "inspect says bf16" 0 "precision: bf16" -- "$M" inspect "$D/mb.mcrg"
    expect "sample a bf16 model" 0 "wrote 50 rows" -- "$M" sample "$D/mb.mcrg" --n 50 -o "$D/sb.csv"
else
    skipped 3 "bf16 checks (no AVX512-BF16 on this CPU)"
fi
expect "fit steps 0" 1 "--steps expects" -- "$M" fit "$D/c.csv" --target outcome --steps 0 -o "$D/m2.mcrg"
cp "$D/m.mcrg" "$D/flip.mcrg"
printf '\377' | dd of="$D/flip.mcrg" bs=1 seek=2000 conv=notrunc 2>/dev/null
expect "flipped byte refused" 2 "checksum mismatch" -- "$M" sample "$D/flip.mcrg" --n 5 -o "$D/s4.csv"
no_file "no output from a damaged model" "$D/s4.csv"
head -c 1000 "$D/m.mcrg" >"$D/trunc.mcrg"
expect "truncated model refused" 2 "truncated" -- "$M" inspect "$D/trunc.mcrg"
expect "csv as a model" 2 "not an mcrage model" -- "$M" inspect "$D/c.csv"

expect "fidelity" 0 "column shapes score" -- "$M" fidelity "$D/c.csv" "$D/s.csv" --target outcome --class 1 --max-rows 300 -q
expect "fidelity pair trends" 0 "column pair trends score" -- "$M" fidelity "$D/c.csv" "$D/s.csv" --target outcome --class 1 --max-rows 300 -q
expect "fidelity unknown class" 2 "is not a value" -- "$M" fidelity "$D/c.csv" "$D/s.csv" --target outcome --class 9
"$M" simulate --rows 1000 --seed 9 -o "$D/hold.csv" >/dev/null 2>&1
expect "fidelity --holdout --json --report" 0 "wrote report" -- "$M" fidelity "$D/c.csv" "$D/s2.csv" --target outcome --sensitive race \
    --holdout "$D/hold.csv" --max-rows 400 --folds 3 --json "$D/f.json" --report "$D/f.html"
/usr/bin/python3 - "$D/f.json" <<'PY' && ok "fidelity json: scopes, privacy, utility" || bad "fidelity json: scopes, privacy, utility"
import json, sys
d = json.load(open(sys.argv[1]))
kinds = [s["kind"] for s in d["scopes"]]
assert kinds == ["all", "class", "class"] + ["group"] * 5, kinds
a = d["scopes"][0]
for k in ("column_shapes", "column_pair_trends", "detection_auroc_logreg", "detection_auroc_xgb", "exact_copy_rate",
          "dcr_median_ratio", "membership_inference_auroc"):
    assert isinstance(a[k], float) or a[k] == 0, (k, a[k])
assert 0 <= a["detection_auroc_xgb"] <= 1 and 0 <= a["membership_inference_auroc"] <= 1
assert a["dcr_synthetic"]["p05"] <= a["dcr_synthetic"]["p50"] <= a["dcr_synthetic"]["p95"]
assert d["minority"] == "1" and [s for s in d["scopes"] if s["minority"]][0]["value"] == "1"
u = d["utility"]["classifiers"]
assert [c["classifier"] for c in u] == ["logreg", "xgb"] and len(u[0]["tstr"]["per_class"]) == 2
assert d["holdout"].endswith("hold.csv")
assert a["membership_inference_auroc_ci95_lo"] <= a["membership_inference_auroc"] <= a["membership_inference_auroc_ci95_hi"]
assert a["dcr_median_ratio_ci95_lo"] <= a["dcr_median_ratio"] <= a["dcr_median_ratio_ci95_hi"]
b = d["baseline"]
assert b["holdout_rows"] == 1000 and [s["kind"] for s in b["scopes"]] == kinds
assert 0 < b["scopes"][0]["real_holdout"]["column_shapes"] <= 1 and b["scopes"][0]["synthetic_at_holdout_size"]["rows"] <= 1000
PY
grep -c '<svg' "$D/f.html" | grep -q '^[1-9]' && ok "fidelity report has charts" || bad "fidelity report has charts"
expect "fidelity --no-baseline" 0 '"baseline":null' -- "$M" fidelity "$D/c.csv" "$D/s2.csv" --holdout "$D/hold.csv" --no-baseline --json - --max-rows 200 -q
expect "fidelity json to stdout" 0 '"scopes":[' -- "$M" fidelity "$D/c.csv" "$D/s.csv" --json - --max-rows 200 -q
head -n 3 "$D/c.csv" >"$D/two.csv" # two rows: every integer column reads as a 0/1-like flag on its own
expect "fidelity reads the synthetic table with the real kinds" 0 "column shapes score" -- "$M" fidelity "$D/c.csv" "$D/two.csv" -q
expect "fidelity --class without --target" 1 "--class needs --target" -- "$M" fidelity "$D/c.csv" "$D/s.csv" --class 1
expect "fidelity --folds 1" 1 "--folds expects an integer from 2" -- "$M" fidelity "$D/c.csv" "$D/s.csv" --folds 1
expect "fidelity report to an unwritable path" 2 "cannot create" -- "$M" fidelity "$D/c.csv" "$D/s.csv" --max-rows 100 -q --report /nonexistent/r.html

# augment / evaluate
expect "augment smote" 0 "smote: 4000 real +" -- "$M" augment "$D/c.csv" --target outcome --method smote --mark-synthetic syn -o "$D/a.csv"
/usr/bin/python3 - "$D/a.csv" <<'PY' && ok "augment balances and marks synthetic rows" || bad "augment balances and marks synthetic rows"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
n0 = sum(r["outcome"] == "0" for r in rows); n1 = sum(r["outcome"] == "1" for r in rows)
real = [r for r in rows if r["syn"] == "0"]
assert n0 == n1, (n0, n1)
assert len(real) == 4000 and all(r["syn"] == "1" for r in rows[4000:])
PY
expect "augment mcrage --json" 0 "exactly copy a training row" -- "$M" augment "$D/c.csv" --target outcome --method mcrage --steps 20 --widths 32 --json "$D/aug.json" -o "$D/am.csv"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['exact_copies_left']==0 and 'dcr_below_p01' in d and d['synthetic_rows']>0" "$D/aug.json" && ok "augment json has the privacy counts" || bad "augment json has the privacy counts"
expect "augment ratio" 0 "ros:" -- "$M" augment "$D/c.csv" --target outcome --method ros --strategy ratio:0.5 -o "$D/a2.csv"
expect "augment bad ratio" 1 "--strategy ratio:R expects" -- "$M" augment "$D/c.csv" --target outcome --method ros --strategy ratio:-1 -o "$D/a3.csv"
expect "augment unknown method" 1 "unknown method 'magic'" -- "$M" augment "$D/c.csv" --target outcome --method magic -o "$D/a3.csv"
expect "augment group-balance needs sensitive" 2 "needs --sensitive" -- "$M" augment "$D/c.csv" --target outcome --method ros --strategy group-balance -o "$D/a3.csv"
no_file "no output on a failed augment" "$D/a3.csv"
expect "evaluate" 0 "paired difference vs none" -- "$M" evaluate "$D/c.csv" --target outcome --sensitive race --methods none,ros --classifiers logreg --seeds 2 --json "$D/e.json"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d['runs'])==4 and d['positive']=='1'" "$D/e.json" && ok "evaluate --json" || bad "evaluate --json"
expect "evaluate --report" 0 "wrote report" -- "$M" evaluate "$D/c.csv" --target outcome --sensitive race --methods none,mcrage --classifiers logreg --seeds 1 --steps 30 --widths 32 --report "$D/e.html" -q
for sec in "Rebalancing with mcrage" "Results" "Training loss" "Real and synthetic distributions" "Fidelity, privacy and utility" "Command"; do
    grep -qF "$sec" "$D/e.html" || { echo "     missing section: $sec"; sec=; break; }
done
[ -n "$sec" ] && ok "evaluate report has every section" || bad "evaluate report has every section"
expect "augment --report" 0 "wrote report" -- "$M" augment "$D/c.csv" --target outcome --sensitive race --method mcrage --steps 20 --widths 32 -q --report "$D/a.html" -o "$D/ar.csv"
grep -qF "after rebalancing" "$D/a.html" && grep -qF "Training loss" "$D/a.html" && ok "augment report: counts and loss" || bad "augment report: counts and loss"
expect "evaluate unknown classifier" 1 "unknown classifier 'svm'" -- "$M" evaluate "$D/c.csv" --target outcome --classifiers svm
expect "evaluate bad positive" 2 "is not a value" -- "$M" evaluate "$D/c.csv" --target race --positive Martian --methods none --classifiers logreg --seeds 1

# rough edges: augment refuses a header-only table and a one-class target (nothing written);
# integer codes are groups; tied classes have no minority
head -n 1 "$D/c.csv" >"$D/hdr.csv"
expect "augment header-only refused" 2 "has no rows to rebalance" -- "$M" augment "$D/hdr.csv" --target outcome --method ros -o "$D/a4.csv"
no_file "no output from a header-only table" "$D/a4.csv"
awk -F, 'NR == 1 || $17 == "0"' "$D/c.csv" >"$D/oneclass.csv"
expect "augment one class refused" 2 "has a single class" -- "$M" augment "$D/oneclass.csv" --target outcome --method smote -o "$D/a5.csv"
no_file "no output from a one-class table" "$D/a5.csv"
awk -F, 'BEGIN { OFS = "," } { print $0, (NR == 1 ? "stage" : 1 + NR % 4) }' "$D/c.csv" >"$D/stage.csv"
expect "evaluate: integer codes as groups" 0 "groups by 'stage' (4)" -- "$M" evaluate "$D/stage.csv" --target outcome --sensitive stage --methods none --classifiers logreg --seeds 1 -q
expect "augment: integer codes as groups" 0 "ros:" -- "$M" augment "$D/stage.csv" --target outcome --sensitive stage --strategy group-balance --method ros -o "$D/a6.csv"
expect "describe: integer codes as groups" 0 "group x class ('stage' x 'outcome')" -- "$M" describe "$D/stage.csv" --target outcome --sensitive stage
expect "fidelity: integer codes as groups" 0 "group 4" -- "$M" fidelity "$D/stage.csv" "$D/a6.csv" --target outcome --sensitive stage --max-rows 200 -q
expect "continuous sensitive names --categorical" 2 "or declare it with --categorical age" -- "$M" evaluate "$D/c.csv" --target outcome --sensitive age --methods none --classifiers logreg --seeds 1
printf 'x,y\n1,a\n2,b\n3,a\n4,b\n' >"$D/tie.csv"
"$M" describe "$D/tie.csv" --target y >"$D/tie.txt" 2>&1
"$M" describe "$D/tie.csv" --target y --json >"$D/tie.json" 2>&1
if ! grep -q "minority$" "$D/tie.txt" && grep -qF '"minority":null' "$D/tie.json"; then ok "describe: no minority on a tie"; else bad "describe: no minority on a tie"; fi
"$M" describe "$D/c.csv" --target outcome | grep -q "<- minority" && ok "describe marks a unique minority" || bad "describe marks a unique minority"

# identifiers (issue 19): a unique patient number is not modelled; synthetic rows leave it empty
awk 'BEGIN{srand(3); print "id,age,bmi,stroke"; for(i=0;i<600;i++) printf "%d,%d,%.1f,%d\n", 9046+7*i, 20+int(60*rand()), 18+20*rand(), rand()<0.1}' >"$D/ids.csv"
expect "augment says the id is not modelled" 0 "column 'id' is not modelled: identifier-like" -- "$M" augment "$D/ids.csv" --target stroke --method mcrage --steps 30 --widths 16,16 --mark-synthetic syn -q -o "$D/ids_aug.csv"
if awk -F, 'NR>1 && $5==1 && $1!="" {bad++} NR>1 && $5==0 && $1=="" {bad++} END{exit bad>0}' "$D/ids_aug.csv" && [ "$(awk -F, 'NR>1 && $5==1' "$D/ids_aug.csv" | wc -l)" -gt 0 ]
then ok "no synthetic row carries an id; real rows keep theirs"; else bad "no synthetic row carries an id; real rows keep theirs"; fi
expect "augment --synthetic-id-prefix" 0 "get SYN-1, SYN-2" -- "$M" augment "$D/ids.csv" --target stroke --method smote --synthetic-id-prefix SYN- --mark-synthetic syn -o "$D/ids_aug2.csv"
if awk -F, 'NR>1 && $5==1 && $1 !~ /^SYN-[0-9]+$/ {bad++} NR>1 && $5==0 && $1 !~ /^[0-9]+$/ {bad++} END{exit bad>0}' "$D/ids_aug2.csv"
then ok "synthetic rows carry SYN-n, real rows their ids"; else bad "synthetic rows carry SYN-n, real rows their ids"; fi
expect "--synthetic-id-prefix empty" 1 "non-empty prefix" -- "$M" augment "$D/ids.csv" --target stroke --method smote --synthetic-id-prefix "" -o "$D/ids_aug3.csv"
expect "--feature id models it" 0 "steps in" -- "$M" fit "$D/ids.csv" --target stroke --feature id --steps 5 --widths 8 -o "$D/ids.mcrg"
grep -q "identifier-like" "$D/err" && bad "--feature id: no identifier line" || ok "--feature id: no identifier line"
expect "describe flags the id" 0 "<- identifier-like (a distinct value in nearly every row): not modelled" -- "$M" describe "$D/ids.csv"

# strategy auto (issue 18): on classes separated by a wide margin the chosen share is 0 (or the
# smallest), the grid is in the JSON; bad options name themselves; evaluate's mcrage-auto
awk 'BEGIN{srand(5); print "x,z,y"; for(i=0;i<600;i++){y=(i%20==0); u1=rand(); u2=rand(); g=sqrt(-2*log(u1+1e-12))*cos(6.2831853*u2); printf "%.4f,%.4f,%d\n", (y?6:-6)+g, rand(), y}}' >"$D/blobs.csv"
expect "augment --strategy auto" 0 "<- chosen" -- "$M" augment "$D/blobs.csv" --target y --strategy auto --steps 40 --widths 32,32 --batch 128 --json "$D/auto.json" --report "$D/auto.html" -o "$D/auto.csv"
if grep -qF "strategy auto: fold 3/3: fitting the diffusion model on" "$D/err" && grep -qF "strategy auto: fold 1/3: sampling" "$D/err"
then ok "augment --strategy auto reports each fold's stages"; else bad "augment --strategy auto reports each fold's stages"; fi
/usr/bin/python3 - "$D/auto.json" <<'PY' && ok "auto keeps no synthetic rows on separated classes; JSON has the grid" || bad "auto keeps no synthetic rows on separated classes; JSON has the grid"
import json, sys
d = json.load(open(sys.argv[1]))
a = d["auto"]
assert d["method"] == "mcrage-auto" and a["folds"] == 3 and a["optimize"] == "minority-f1" and a["classifier"] == "logreg"
assert len(a["grid"]) == 7 and sorted({p["share"] for p in a["grid"]}) == [0, 0.25, 0.5, 1]
assert all(0 <= p["mean"] <= 1 for p in a["grid"])
assert a["chosen"]["share"] <= 0.25, a["chosen"]
assert d["synthetic_rows"] == round(a["chosen"]["share"] * 540), (d["synthetic_rows"], a["chosen"])
PY
expect "augment --optimize nope" 1 "--optimize expects minority-f1" -- "$M" augment "$D/blobs.csv" --target y --strategy auto --optimize nope -o "$D/a7.csv"
expect "augment --folds 1" 1 "--folds expects an integer from 2" -- "$M" augment "$D/blobs.csv" --target y --strategy auto --folds 1 -o "$D/a7.csv"
expect "augment --strategy auto needs mcrage" 1 "needs --method mcrage" -- "$M" augment "$D/blobs.csv" --target y --strategy auto --method smote -o "$D/a7.csv"
expect "evaluate --optimize nope" 1 "--optimize expects" -- "$M" evaluate "$D/blobs.csv" --target y --methods none,mcrage-auto --optimize nope
expect "evaluate --folds 1" 1 "--folds expects" -- "$M" evaluate "$D/blobs.csv" --target y --methods none,mcrage-auto --folds 1
no_file "no output from refused auto options" "$D/a7.csv"
expect "evaluate --strategy auto adds mcrage-auto" 0 "mcrage-auto: 2-fold cross-validation" -- "$M" evaluate "$D/blobs.csv" --target y --strategy auto --methods none --classifiers logreg --seeds 2 --folds 2 --steps 40 --widths 32,32 --batch 128 -q --json "$D/ea.json" --report "$D/ea.html"
/usr/bin/python3 - "$D/ea.json" <<'PY' && ok "evaluate JSON: auto choice per seed, verdict on mcrage-auto" || bad "evaluate JSON: auto choice per seed, verdict on mcrage-auto"
import json, sys
d = json.load(open(sys.argv[1]))
assert [a["seed"] for a in d["auto"]] == [1, 2] and all(len(a["choice"]["grid"]) == 7 for a in d["auto"])
assert {r["method"] for r in d["runs"]} == {"none", "mcrage-auto"}
v = d["verdicts"][0]
assert v["method"] == "mcrage-auto" and v["verdict"] != "helped", v
PY
grep -qF "The amount, chosen by cross-validation" "$D/auto.html" && grep -qF "What mcrage-auto chose" "$D/ea.html" && ok "reports show auto's choice" || bad "reports show auto's choice"

summary test_cli.sh
