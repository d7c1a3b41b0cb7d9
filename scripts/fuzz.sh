#!/bin/sh
# Build the libFuzzer targets (clang) and run each: FUZZ_RUNS executions (default 200000) with a
# fixed seed, so a run is reproducible; FUZZ_SECONDS=N runs for N seconds instead. Crashes are
# written to build/fuzz/crash-*; turn each into a regression test.
set -e
cd "$(dirname "$0")/.."
WITH_FUZZ=1 ./scripts/deps.sh
make -s fuzz
mkdir -p build/fuzz/corpus_csv build/fuzz/corpus_model build/fuzz/corpus_npz
cp fuzz/corpus/csv/* build/fuzz/corpus_csv/
# .npz / .npy seeds: numpy's own files (np.save, np.savez, and the stored + deflated fixture)
cp fuzz/corpus/npz/* tests/data/img_mixed.npz tests/data/img_savez.npz build/fuzz/corpus_npz/
# seed for the loader: a real (small) model file, behind the target's leading mode byte
build/rel/mcrage simulate --rows 200 --seed 2 -o build/fuzz/sim.csv 2>/dev/null
# (kept under -max_len: a few columns, one of them with missing values, rare levels pooled)
build/rel/mcrage fit build/fuzz/sim.csv --target outcome --steps 2 --widths 4 --dim-t 4 --T 10 -q \
    --drop age_band,admission_type,heart_rate,sbp,dbp,resp_rate,temperature,spo2,wbc,glucose,hemoglobin \
    --min-level-count 25 -o build/fuzz/seed.mcrg
test "$(wc -c <build/fuzz/seed.mcrg)" -lt 4000
{ printf '\000'; cat build/fuzz/seed.mcrg; } > build/fuzz/corpus_model/seed0
{ printf '\001'; tail -c +29 build/fuzz/seed.mcrg; } > build/fuzz/corpus_model/seed1
if [ -n "${FUZZ_SECONDS:-}" ]; then limit="-max_total_time=$FUZZ_SECONDS"; else limit="-runs=${FUZZ_RUNS:-200000}"; fi
status=0
for t in csv model npz; do
    echo "== fuzz_$t ($limit)"
    build/fuzz/fuzz_$t $limit -seed=1 -max_len=4096 -artifact_prefix=build/fuzz/crash-$t- \
        build/fuzz/corpus_$t 2>build/fuzz/fuzz_$t.log || status=1
    grep -E "^Done|ERROR|SUMMARY" build/fuzz/fuzz_$t.log | tail -n 3
done
exit $status
