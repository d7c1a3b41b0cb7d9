#!/bin/sh
# Kill a training run with SIGKILL after its first checkpoint, resume it, and require the final
# model file to equal an uninterrupted run's byte for byte (one thread). Also: a checkpoint is
# refused with other data, and a finished model cannot be resumed.
set -u
. "$(dirname "$0")/../clihelp.sh"
"$M" simulate --rows 2000 --seed 4 -o "$D/d.csv" 2>/dev/null
"$M" simulate --rows 2000 --seed 5 -o "$D/other.csv" 2>/dev/null
A="$D/d.csv --target outcome --steps 400 --widths 64,64 --batch 128 --dropout 0.1 --threads 1 --checkpoint-every 40 -q"
"$M" fit $A -o "$D/full.mcrg" || bad "uninterrupted fit"
"$M" fit $A -o "$D/part.mcrg" &
pid=$!
while [ ! -e "$D/part.mcrg" ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
if kill -9 $pid 2>/dev/null; then ok "killed mid-run"; else bad "killed mid-run (the run ended first)"; fi
wait $pid 2>/dev/null
"$M" inspect "$D/part.mcrg" >"$D/insp" 2>&1 && grep -q "checkpoint: training state at step" "$D/insp" &&
    grep -q "file format 3" "$D/insp" &&
    ! grep -q "step 400 of 400" "$D/insp" && ok "checkpoint holds a partial state" || bad "checkpoint holds a partial state"
ls -A "$D" | grep -q '\.tmp\.' && bad "no temporary file left by the killed run" || ok "no temporary file left by the killed run"
"$M" fit "$D/other.csv" --target outcome --steps 400 --widths 64,64 --batch 128 --dropout 0.1 --threads 1 \
    --checkpoint-every 40 -q --resume "$D/part.mcrg" -o "$D/x.mcrg" 2>"$D/err"
[ $? -eq 2 ] && grep -q "other data or settings" "$D/err" && ok "other data refused" || bad "other data refused"
"$M" fit $A --resume "$D/part.mcrg" -o "$D/part.mcrg" && cmp -s "$D/full.mcrg" "$D/part.mcrg" &&
    ok "resumed model equals the uninterrupted one" || bad "resumed model equals the uninterrupted one"
"$M" fit $A --resume "$D/full.mcrg" -o "$D/y.mcrg" 2>"$D/err"
[ $? -eq 2 ] && grep -q "holds no training state" "$D/err" && ok "finished model not resumable" || bad "finished model not resumable"
summary test_resume.sh
