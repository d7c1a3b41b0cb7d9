#!/bin/sh
# `mcrage image`: describe (text and JSON), grid, convert to .npz (read back by numpy when
# Debian's python3-numpy is there) and to a folder of PNGs, and bad inputs: exit 2 with a message
# naming the file, nothing written. Prints "test_image.sh: N passed, N failed[, N skipped]".
set -u
. "$(dirname "$0")/../clihelp.sh"
PY=/usr/bin/python3
have_numpy() { [ -x "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null; }
FX=tests/data/img_mixed.npz
PN=${MCR_DATA:-../shared/datasets}/images/pneumoniamnist.npz

expect "image --help" 0 "sub-commands:" -- "$M" image --help
for c in describe grid convert; do expect "image $c --help shows an example" 0 "example" -- "$M" image "$c" --help; done
expect "image: no sub-command" 1 "usage: mcrage image" -- "$M" image
expect "image: unknown sub-command" 1 "unknown sub-command 'frob'" -- "$M" image frob

# describe: the fixture's counts (dev/make_npz_fixture.py: train labels 0 1 2 -1 1, attributes 0 1 0 1 -1)
expect "describe the fixture" 0 "train: 5 images, 1 unlabelled" -- "$M" image describe "$FX"
grep -q "^  1  *0  *1  *1  *2$" "$D/out" && ok "describe: label 1 row (attr 0, 1, unknown, total)" || bad "describe: label 1 row (attr 0, 1, unknown, total)"
"$M" image describe "$FX" --json >"$D/d.json" 2>"$D/err"
if "$PY" - "$D/d.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert (d["images"], d["height"], d["width"], d["channels"], d["unlabelled"]) == (10, 4, 6, 3, 1), d
s = d["splits"]
assert s["train"]["images"] == 5 and s["val"]["images"] == 2 and s["test"]["images"] == 3
assert s["train"]["per_label"] == {"0": 1, "1": 2, "2": 1}
assert s["test"]["per_label"] == {"0": 1, "1": 2, "2": 0}
cells = {(c["label"], c["attribute"]): c["images"] for c in s["train"]["cells"]}
assert cells == {("0", "0"): 1, ("1", "1"): 1, ("1", None): 1, ("2", "0"): 1, (None, "1"): 1}, cells
PY
then ok "describe --json: counts per split x label x attribute"; else bad "describe --json: counts per split x label x attribute"; fi

if [ -r "$PN" ]; then
    expect "describe PneumoniaMNIST" 0 "images: 3166 of 28x28, 1 channel (grey)" -- "$M" image describe "$PN"
    grep -q "^train: 2428 images" "$D/out" && grep -q "^val: 270 images" "$D/out" && grep -q "^test: 468 images" "$D/out" \
        && ok "PneumoniaMNIST: 2428 / 270 / 468" || bad "PneumoniaMNIST: 2428 / 270 / 468"
    expect "grid of PneumoniaMNIST" 0 "wrote $D/pg.png: 2 rows of up to 10 images (split train)" -- \
        "$M" image grid "$PN" --split train --per-cell 10 -o "$D/pg.png"
    # IHDR: width = 10 * 28 + 11 * 2 = 302, height = 2 * 28 + 3 * 2 = 62, grey
    [ "$(od -An -tx1 -j16 -N10 "$D/pg.png" | tr -d ' \n')" = "0000012e0000003e0800" ] && ok "grid size 302x62 grey" || bad "grid size 302x62 grey"
else
    skip=$((skip + 4)); echo "skip PneumoniaMNIST ($PN absent)"
fi

# grid of the fixture: 5 train rows, RGB, 3 per cell: 3*6+4*2 = 26 wide, 5*4+6*2 = 32 high
expect "grid of the fixture" 0 "row 5: label (unlabelled), attribute 1 (1 images)" -- "$M" image grid "$FX" --split train --per-cell 3 -o "$D/g.png"
[ "$(od -An -tx1 -j16 -N10 "$D/g.png" | tr -d ' \n')" = "0000001a000000200802" ] && ok "grid size 26x32 RGB" || bad "grid size 26x32 RGB"
expect "--per-cell 0" 1 "--per-cell expects an integer from 1 to 1000" -- "$M" image grid "$FX" --per-cell 0 -o "$D/x.png"
expect "--split bogus" 1 "--split expects train, val, test or all" -- "$M" image grid "$FX" --split holdout -o "$D/x.png"
expect "grid without -o" 1 "missing -o" -- "$M" image grid "$FX"

# convert: .npz read back by numpy, equal to the fixture; a folder of PNGs and back
expect "convert to npz" 0 "wrote 10 images" -- "$M" image convert "$FX" -o "$D/c.npz"
expect "convert to a folder" 0 "manifest.csv" -- "$M" image convert "$FX" -o "$D/pngs/"
expect "convert the folder back" 0 "wrote 10 images" -- "$M" image convert "$D/pngs/manifest.csv" -o "$D/c2.npz"
if have_numpy; then
    if "$PY" - "$FX" "$D/c.npz" "$D/c2.npz" <<'PY'
import sys
import numpy as np
ref = np.load(sys.argv[1])
for path in sys.argv[2:]:
    d = np.load(path)
    for k in ref.files:
        a, b = d[k], ref[k]
        assert np.array_equal(a.reshape(b.shape).astype(np.int64), b.astype(np.int64)), (path, k)
        if k.endswith("_images"):
            assert a.dtype == np.uint8 and a.shape == b.shape, (path, k, a.dtype, a.shape)
        else:
            assert a.dtype == np.int64 and a.shape == (len(b), 1), (path, k, a.dtype, a.shape)
    assert list(d["label_names"]) == [b"0", b"1", b"2"], d["label_names"]
PY
    then ok "numpy reads the written .npz files as the fixture"; else bad "numpy reads the written .npz files as the fixture"; fi
else
    skip=$((skip + 1)); echo "skip numpy check (no $PY with numpy)"
fi
expect "convert -o without .npz or /" 1 "ending in .npz" -- "$M" image convert "$FX" -o "$D/c.zip"

# bad inputs: exit 2, the file named, nothing written
mkdir -p "$D/o"
expect "missing data file" 2 "nope.npz: cannot open" -- "$M" image describe "$D/nope.npz"
head -c 1000 "$FX" >"$D/cut.npz"
expect "truncated npz" 2 "cut.npz" -- "$M" image grid "$D/cut.npz" -o "$D/o/g.png"
[ ! -e "$D/o/g.png" ] && no_tmp "$D/o" && ok "no grid written for a bad input" || bad "no grid written for a bad input"
cp "$FX" "$D/flip.npz"
printf '\377' | dd of="$D/flip.npz" bs=1 seek=300 conv=notrunc 2>/dev/null
expect "damaged npz (CRC)" 2 "CRC-32 mismatch" -- "$M" image describe "$D/flip.npz"
expect "convert a damaged npz" 2 "flip.npz" -- "$M" image convert "$D/flip.npz" -o "$D/o/x.npz"
[ ! -e "$D/o/x.npz" ] && no_tmp "$D/o" && ok "no npz written for a bad input" || bad "no npz written for a bad input"
"$M" image convert "$FX" -o "$D/m/" 2>/dev/null
cp "$D/m/train_00.png" "$D/m/a.png"
printf 'file,label\na.png,0\nmissing.png,1\n' >"$D/m/miss.csv"
expect "manifest: missing PNG" 2 "miss.csv:3: cannot open image $D/m/missing.png" -- "$M" image describe "$D/m/miss.csv"
head -c 60 "$D/m/a.png" >"$D/m/bad.png"
printf 'file,label\na.png,0\nbad.png,1\n' >"$D/m/corrupt.csv"
expect "manifest: corrupt PNG" 2 "bad.png: corrupt PNG" -- "$M" image describe "$D/m/corrupt.csv"
"$M" image grid "$PN" --per-cell 1 --split val -o "$D/m/other.png" 2>/dev/null || cp "$D/g.png" "$D/m/other.png"
printf 'file,label\na.png,0\nother.png,1\n' >"$D/m/mixed.csv"
expect "manifest: mixed sizes name both files" 2 "a.png (line 2)" -- "$M" image describe "$D/m/mixed.csv"
grep -qF "other.png" "$D/err" && ok "mixed sizes: the other file named too" || bad "mixed sizes: the other file named too"
printf 'file,label\na.png,0.5\na.png,1.25\n' >"$D/m/cont.csv"
expect "manifest: continuous label" 2 "column 'label' is not a label" -- "$M" image describe "$D/m/cont.csv"
printf 'file,label,split\na.png,0,train\na.png,1,dev\n' >"$D/m/split.csv"
expect "manifest: unknown split" 2 "split.csv:3: unknown split 'dev'" -- "$M" image describe "$D/m/split.csv"
printf 'file,label\na.png,0\na.png,"1\n' >"$D/m/quote.csv"
expect "manifest: malformed CSV names file:line:col" 2 "quote.csv:3:" -- "$M" image describe "$D/m/quote.csv"
expect "a PNG is not a set" 2 "a PNG image" -- "$M" image describe "$D/m/a.png"

# image fit / sample / inspect on the fixture (4 x 6 RGB: a tiny UNet of two levels)
IF="--channels 8,16 --groups 4 --res-blocks 1 --attention 0 --T 50 --batch 4"
for c in fit sample inspect; do expect "image $c --help shows an example" 0 "example" -- "$M" image "$c" --help; done
expect "image fit" 0 "image fit: 6 steps in" -- "$M" image fit "$FX" $IF --steps 6 -o "$D/m.mcrg"
[ -s "$D/m.mcrg" ] && no_tmp "$D" && ok "image fit wrote the model atomically" || bad "image fit wrote the model atomically"
"$M" image fit "$FX" $IF --steps 6 -o "$D/m2.mcrg" 2>/dev/null
cmp -s "$D/m.mcrg" "$D/m2.mcrg" && ok "image fit: same seed, same model bytes" || bad "image fit: same seed, same model bytes"
expect "image inspect" 0 "label (unlabelled) attribute 1            1" -- "$M" image inspect "$D/m.mcrg"
grep -q "^unet: *channels 8,16, 1 residual blocks per level, attention off" "$D/out" && ok "inspect: the UNet" || bad "inspect: the UNet"
expect "image sample --counts" 0 "wrote 5 images to $D/s.npz and a grid to $D/s.png" -- \
    "$M" image sample "$D/m.mcrg" --counts 'label=1,attribute=0:3;label=2:2' --sample-steps 4 -o "$D/s.npz" --grid "$D/s.png"
expect "sampled cells are the counts" 0 "train: 5 images, 0 unlabelled" -- "$M" image describe "$D/s.npz"
grep -q "^  1  *3  *0  *0  *3$" "$D/out" && grep -q "^  2  *0  *0  *2  *2$" "$D/out" && ok "cells: (1,0) 3, (2,null) 2" || bad "cells: (1,0) 3, (2,null) 2"
"$M" image sample "$D/m.mcrg" --counts 'label=1,attribute=0:3;label=2:2' --sample-steps 4 -o "$D/s2.npz" 2>/dev/null
cmp -s "$D/s.npz" "$D/s2.npz" && ok "image sample: same seed, same images" || bad "image sample: same seed, same images"
# quality: the fixture against image sample's .npz (its labels read by level name), text and JSON
expect "image quality --help shows an example" 0 "example" -- "$M" image quality --help
expect "image quality" 0 "detector (real vs synthetic" -- "$M" image quality "$FX" "$D/s.npz" --widths 8 --epochs 1 --json "$D/q.json" -q
grep -q "^1  *2  *2  *3 " "$D/out" && ok "image quality: label 1 row (2 train, 2 test, 3 synthetic)" || bad "image quality: label 1 row (2 train, 2 test, 3 synthetic)"
if "$PY" - "$D/q.json" <<'PY'
import json, sys
q = json.load(open(sys.argv[1]))
g = {x["label"]: x for x in q["groups"]}
assert list(g) == ["0", "1", "2", "all"], list(g)
assert (g["1"]["n_synth"], g["2"]["n_synth"], g["all"]["n_synth"]) == (3, 2, 5), g
assert g["0"]["acc_synth"] is None and 0 <= g["all"]["tv"] <= 1 and q["detector"]["held_out"] == 4, q  # 5 of each, round(0.3 * 5) = 2 held out
PY
then ok "image quality --json: groups, counts, detector split"; else bad "image quality --json: groups, counts, detector split"; fi
"$M" image quality "$FX" "$D/s.npz" --widths 8 --epochs 1 -q >"$D/q2.txt" 2>/dev/null
grep -v '^time' "$D/out" >"$D/q1.txt"; grep -v '^time' "$D/q2.txt" >"$D/q2b.txt"
cmp -s "$D/q1.txt" "$D/q2b.txt" && ok "image quality: same seed, same numbers" || bad "image quality: same seed, same numbers"
expect "image quality: sizes differ" 2 "has 4x6x3 images but tests/data/img_savez.npz has 2x2x1" -- "$M" image quality "$FX" tests/data/img_savez.npz --widths 8 --epochs 1
expect "image quality: --widths vs groups" 1 "--widths: 12 is not divisible by 8" -- "$M" image quality "$FX" "$D/s.npz" --widths 12
expect "image quality: one set" 1 "expects REAL and SYNTH" -- "$M" image quality "$FX"
expect "image sample --policy balance" 0 "wrote 7 images" -- "$M" image sample "$D/m.mcrg" --policy balance --n 7 --sample-steps 2 -o "$D/b/"
[ "$(grep -c '\.png' "$D/b/manifest.csv")" = 7 ] && ok "balance: 7 PNGs in the manifest" || bad "balance: 7 PNGs in the manifest"
expect "image sample --policy group-balance" 0 "label 0, attribute 0: 1 images" -- \
    "$M" image sample "$D/m.mcrg" --policy group-balance --n 7 --sampler ddpm --guidance-label 2 --guidance-attr 0 -o "$D/gb.npz"
# the one-weight options take precedence over --guidance in any order (as in image evaluate)
"$M" image sample "$D/m.mcrg" --policy balance --n 3 --sample-steps 2 --guidance-label 2 --guidance 1 -o "$D/ga.npz" 2>/dev/null
"$M" image sample "$D/m.mcrg" --policy balance --n 3 --sample-steps 2 --guidance 1 --guidance-label 2 -o "$D/gc.npz" 2>/dev/null
"$M" image sample "$D/m.mcrg" --policy balance --n 3 --sample-steps 2 --guidance 1 -o "$D/gd.npz" 2>/dev/null
cmp -s "$D/ga.npz" "$D/gc.npz" && ! cmp -s "$D/ga.npz" "$D/gd.npz" \
    && ok "image sample: --guidance-label over --guidance, whatever the order" || bad "image sample: --guidance-label over --guidance, whatever the order"
# checkpoints along the way leave the same final model (resume itself: tests/image/test_imodel.c)
"$M" image fit "$FX" $IF --steps 6 --checkpoint-every 3 -o "$D/ck.mcrg" 2>/dev/null
cmp -s "$D/ck.mcrg" "$D/m.mcrg" && ok "image fit --checkpoint-every: the same final model" || bad "image fit --checkpoint-every: the same final model"
expect "image fit --resume of a finished model" 1 "--resume: the model is finished" -- "$M" image fit "$FX" $IF --steps 6 --resume "$D/m.mcrg" -o "$D/o2/r.mcrg"
# two threads: the same bytes twice
"$M" image fit "$FX" $IF --steps 4 --threads 2 -o "$D/th1.mcrg" 2>/dev/null
"$M" image fit "$FX" $IF --steps 4 --threads 2 -o "$D/th2.mcrg" 2>/dev/null
cmp -s "$D/th1.mcrg" "$D/th2.mcrg" && ok "image fit --threads 2: same model bytes twice" || bad "image fit --threads 2: same model bytes twice"
# bad options exit 1 naming the option; bad files exit 2 naming the file; nothing written
mkdir -p "$D/o2"
expect "image sample: bad --counts" 1 "--counts: unknown label '9'" -- "$M" image sample "$D/m.mcrg" --counts 'label=9:3' -o "$D/o2/x.npz"
expect "image sample: --counts without a count" 1 "--counts: cell 'label=1' has no ':COUNT'" -- "$M" image sample "$D/m.mcrg" --counts 'label=1' -o "$D/o2/x.npz"
expect "image sample: bad --policy" 1 "--policy expects balance or group-balance" -- "$M" image sample "$D/m.mcrg" --policy even --n 3 -o "$D/o2/x.npz"
expect "image sample: --policy without --n" 1 "--policy needs --n" -- "$M" image sample "$D/m.mcrg" --policy balance -o "$D/o2/x.npz"
expect "image sample: --counts and --policy" 1 "--counts excludes" -- "$M" image sample "$D/m.mcrg" --counts 'label=1:1' --policy balance --n 2 -o "$D/o2/x.npz"
expect "image sample: --sampler dpmpp" 1 "--sampler expects ddim or ddpm" -- "$M" image sample "$D/m.mcrg" --sampler dpmpp --policy balance --n 2 -o "$D/o2/x.npz"
expect "image sample: -o not .npz" 1 "-o expects a name ending in .npz" -- "$M" image sample "$D/m.mcrg" --policy balance --n 2 -o "$D/o2/x.csv"
expect "image fit: bad --channels" 1 "--channels: 12 is not a multiple" -- "$M" image fit "$FX" --channels 8,12 --groups 4 -o "$D/o2/x.mcrg"
expect "image fit: bad --cond-drop" 1 "--cond-drop expects a number from 0 to 1" -- "$M" image fit "$FX" --cond-drop 1.5 -o "$D/o2/x.mcrg"
expect "image fit: sizes not divisible" 1 "divisible" -- "$M" image fit "$FX" --channels 8,16,32 --groups 4 --steps 1 -o "$D/o2/x.mcrg"
expect "image fit: missing data" 2 "nope.npz" -- "$M" image fit "$D/nope.npz" -o "$D/o2/x.mcrg"
cp "$D/m.mcrg" "$D/flip.mcrg"
printf '\377' | dd of="$D/flip.mcrg" bs=1 seek=400 conv=notrunc 2>/dev/null
expect "image sample: damaged model (CRC)" 2 "flip.mcrg: checksum mismatch" -- "$M" image sample "$D/flip.mcrg" --policy balance --n 2 -o "$D/o2/x.npz"
expect "image inspect: damaged model" 2 "flip.mcrg" -- "$M" image inspect "$D/flip.mcrg"
expect "image sample: a data file is not a model" 2 "not an mcrage image model file" -- "$M" image sample "$FX" --policy balance --n 2 -o "$D/o2/x.npz"
"$M" simulate --rows 300 --seed 1 -o "$D/t.csv" 2>/dev/null
"$M" fit "$D/t.csv" --target outcome --steps 3 --widths 16 --batch 32 -q -o "$D/t.mcrg" 2>/dev/null
if [ -s "$D/t.mcrg" ]; then
    expect "image sample: a table model refused" 2 "is a table model (written by mcrage fit)" -- "$M" image sample "$D/t.mcrg" --policy balance --n 2 -o "$D/o2/x.npz"
else skipped 1 "table model (fit failed)"; fi
expect "sample: an image model refused" 2 "is an image model (written by mcrage image fit)" -- "$M" sample "$D/m.mcrg" --n 3 -o "$D/o2/x.csv"
expect "inspect: an image model refused" 2 "use mcrage image inspect" -- "$M" inspect "$D/m.mcrg"
[ -z "$(ls -A "$D/o2")" ] && ok "nothing written for bad options or files" || bad "nothing written for bad options or files"

# image sites: the multi-site benchmark at scale 0.05 of PneumoniaMNIST (148 images: A 30/5/10,
# B 30/5/10, C 6/2/10, D 25 unlabelled train + 15 test), same seed = same bytes, a folder with a
# manifest, numpy's view, the calibration check at a tiny size, bad input
expect "image sites --help shows the table" 0 "OOD: unlabelled for training" -- "$M" image sites --help
mkdir -p "$D/o3"
expect "image sites: unknown site" 1 "--sites: unknown site 'Z' (the table has A, B, C, D)" -- "$M" image sites "$FX" --sites A,Z -o "$D/o3/x.npz"
expect "image sites: 3 label levels" 2 "3 label levels; the sites need a binary label" -- "$M" image sites "$FX" -o "$D/o3/x.npz"
expect "image sites: -o not .npz" 1 "-o expects a name ending in .npz" -- "$M" image sites "$FX" -o "$D/o3/x.csv"
if [ -r "$PN" ]; then
    expect "image sites: set too small" 2 "a smaller scale would fit" -- "$M" image sites "$PN" --scale 2 -o "$D/o3/x.npz"
    expect "image sites --scale 0.05" 0 "wrote 148 images to $D/st.npz" -- "$M" image sites "$PN" --scale 0.05 -o "$D/st.npz"
    grep -q "^D  *25  *0  *0  *15 " "$D/out" && ok "sites: D has 25 unlabelled train and 15 test images" || bad "sites: D has 25 unlabelled train and 15 test images"
    "$M" image sites "$PN" --scale 0.05 -o "$D/st2.npz" >/dev/null 2>&1
    "$M" image sites "$PN" --scale 0.05 --seed 2 -o "$D/st3.npz" >/dev/null 2>&1
    cmp -s "$D/st.npz" "$D/st2.npz" && ok "image sites: same seed, same bytes" || bad "image sites: same seed, same bytes"
    cmp -s "$D/st.npz" "$D/st3.npz" && bad "image sites: another seed, other bytes" || ok "image sites: another seed, other bytes"
    expect "sites read back" 0 "train: 91 images, 25 unlabelled" -- "$M" image describe "$D/st.npz"
    expect "image sites --oracle" 0 "wrote the oracle's set to $D/so.npz" -- "$M" image sites "$PN" --scale 0.05 --oracle "$D/so.npz" -o "$D/st5.npz"
    cmp -s "$D/st.npz" "$D/st5.npz" && ok "--oracle leaves -o's bytes as they were" || bad "--oracle leaves -o's bytes as they were"
    expect "the oracle's set has every label" 0 "train: 91 images, 0 unlabelled" -- "$M" image describe "$D/so.npz"
    expect "image sites: bad --oracle" 1 "--oracle expects a name ending in .npz" -- "$M" image sites "$PN" --oracle "$D/o3/x.txt" -o "$D/o3/y.npz"
    expect "image sites to a folder" 0 "manifest.csv" -- "$M" image sites "$PN" --scale 0.05 --sites A,D -o "$D/sd/"
    [ "$(head -1 "$D/sd/manifest.csv")" = "file,label,attribute,split" ] && [ "$(grep -c ',,D,train$' "$D/sd/manifest.csv")" = 25 ] \
        && ok "sites folder: manifest with 25 unlabelled D train rows" || bad "sites folder: manifest with 25 unlabelled D train rows"
    expect "the sites' manifest read back as real multi-site data" 0 "train: 55 images, 25 unlabelled" -- "$M" image describe "$D/sd/manifest.csv"
    if have_numpy && "$PY" - "$D/st.npz" <<'PY'
import sys
import numpy as np
d = np.load(sys.argv[1])
assert list(d["attribute_names"]) == [b"A", b"B", b"C", b"D"], d["attribute_names"]
a, y = d["train_attributes"].ravel(), d["train_labels"].ravel()
assert (y[a == 3] == -1).all() and (y[a != 3] >= 0).all() and (a == 3).sum() == 25
assert (d["test_labels"] >= 0).all() and d["train_images"].dtype == np.uint8
PY
    then ok "numpy: site attribute, the OOD site unlabelled in train only"; else bad "numpy: site attribute, the OOD site unlabelled in train only"; fi
    expect "image sites --check (tiny)" 0 "oracle clean - OOD" -- "$M" image sites "$PN" --scale 0.05 --check --widths 8 --epochs 1 --threads 1 -o "$D/st4.npz"
    # image evaluate on the scale-0.05 sites (66 labelled train images: cells A 15/15, B 10/20, C 4/2):
    # none 66, oversample 6 x 20 = 120, diffusion@0.25 66 + round(66 / 3) = 88 train images
    expect "image evaluate (tiny)" 0 "diffusion@0.25" -- "$M" image evaluate "$D/st.npz" --methods none,oversample,diffusion \
        --ratios 0.25 --seeds 1 --widths 8 --epochs 1 --steps 2 --channels 8,16 --sample-steps 2 --threads 1 --json "$D/ie.json"
    grep -q "image evaluate: seed 1/1 oversample" "$D/err" && ok "image evaluate: progress on stderr" || bad "image evaluate: progress on stderr"
    if "$PY" - "$D/ie.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = {r["method"]: r["n_train"] for r in d["runs"]}
assert n == {"none": 66, "oversample": 120, "diffusion@0.25": 88}, n
assert [s["role"] for s in d["sites"]] == ["id", "id", "id", "ood"] and d["n_ood"] == 15, d["sites"]
assert any(p["baseline"] == "none" for p in d["paired"]) and any(p["baseline"] == "best" for p in d["paired"])
assert all(0 <= r["id_acc"] <= 1 and r["gap"] >= 0 for r in d["runs"]) and set(d["runs"][0]["per_site"]) == set("ABCD")
PY
    then ok "image evaluate --json: training-set sizes, sites, per-site rows"; else bad "image evaluate --json: training-set sizes, sites, per-site rows"; fi
    expect "image evaluate --oracle (tiny)" 0 "oracle" -- "$M" image evaluate "$D/st.npz" --oracle "$D/so.npz" --methods none,oracle \
        --seeds 1 --widths 8 --epochs 1 --threads 1 --json "$D/io.json"
    grep -q '"method":"oracle","seed":1,"n_train":91,"n_real":66' "$D/io.json" && ok "oracle: 66 labelled + D's 25 train images" \
        || bad "oracle: 66 labelled + D's 25 train images"
    # the arms, --policy, the generator checks and the HTML report
    expect "image evaluate: arms, --report (tiny)" 0 "diffusion-no-unlabelled@0.25" -- "$M" image evaluate "$D/st.npz" \
        --methods none,diffusion,diffusion-label-only,diffusion-no-unlabelled --ratios 0.25 --seeds 1 --widths 8 --epochs 1 \
        --steps 2 --channels 8,16 --sample-steps 2 --policy balance --guidance-label 2 --guidance-attr 0.5 --threads 1 \
        --json "$D/ir.json" --report "$D/ir.html"
    grep -q "wrote report $D/ir.html" "$D/err" && grep -q "^generator checks" "$D/out" \
        && ok "image evaluate: report written, checks printed" || bad "image evaluate: report written, checks printed"
    sec=ok
    for h in "Results" "ID and OOD accuracy" "Fairness gap" "Ratio sweep" "Real and synthetic images per (label, site)" \
        "Generator checks" "Command"; do grep -qF "<h2>$h</h2>" "$D/ir.html" || sec=; done
    grep -q "data:image/png;base64," "$D/ir.html" && grep -q "mcrage image evaluate .*--report" "$D/ir.html" || sec=
    [ -n "$sec" ] && ok "image evaluate report: every section, grids, the command line" || bad "image evaluate report: every section, grids, the command line"
    if "$PY" - "$D/ir.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
g = d["generator"]
assert g["policy"] == "balance" and not g["refit_per_seed"] and not g["one_pass"], g
assert "guidance weights label 2, site 0.5" in g["settings"], g["settings"]
assert "fitted once (seed 1), used by every seed" in g["settings"], g["settings"]
arms = {a["arm"]: a for a in g["arms"]}
assert set(arms) == {"diffusion", "diffusion-label-only", "diffusion-no-unlabelled"}, arms
assert all(a["checked"] and 0 <= a["detect_auroc"] <= 1 and 0 <= a["label_acc"] <= 1 for a in arms.values())
assert arms["diffusion-label-only"]["site_acc"] is None and arms["diffusion"]["site_acc"] is not None
assert all(c["site"] != "D" for c in arms["diffusion-no-unlabelled"]["cells"])
r = {x["method"]: x for x in d["runs"]}
assert r["diffusion-label-only@0.25"]["ratio"] == 0.25 and r["diffusion-no-unlabelled@0.25"]["n_train"] == 88, r
PY
    then ok "image evaluate --json: generator arms, checks, ratios"; else bad "image evaluate --json: generator arms, checks, ratios"; fi
    mkdir -p "$D/o4"
    expect "image evaluate: an image model of another size" 2 "the image model makes 4x6x3 images, the data has 28x28x1" -- \
        "$M" image evaluate "$D/st.npz" --model "$D/m.mcrg" --methods none,diffusion --json "$D/o4/x.json" --report "$D/o4/x.html"
    # a manifest with a site the image model does not know (the sites A, D as a folder, one row moved to site Z)
    "$M" image fit "$D/sd/manifest.csv" --steps 2 --channels 8,16 --res-blocks 1 --attention 0 --threads 1 -q -o "$D/sdm.mcrg" 2>/dev/null
    cp -r "$D/sd" "$D/sz" && sed -i '2s/,A,train$/,Z,train/' "$D/sz/manifest.csv"
    grep -q ",Z,train$" "$D/sz/manifest.csv" && ok "a manifest row moved to site Z" || bad "a manifest row moved to site Z"
    expect "image evaluate: a manifest with an unknown site" 2 "site 'Z' of the data is unknown to the image model" -- \
        "$M" image evaluate "$D/sz/manifest.csv" --model "$D/sdm.mcrg" --methods none,diffusion --json "$D/o4/x.json" --report "$D/o4/x.html"
    expect "image evaluate: --policy nope" 1 "--policy expects balance or group-balance" -- \
        "$M" image evaluate "$D/st.npz" --policy nope --json "$D/o4/x.json" --report "$D/o4/x.html"
    [ -z "$(ls -A "$D/o4")" ] && ok "image evaluate: no output after an error" || bad "image evaluate: no output after an error"
else
    skipped 28 "image sites / evaluate on PneumoniaMNIST ($PN absent)"
fi
# image evaluate: options and data refused before any output
expect "image evaluate --help shows an example" 0 "example" -- "$M" image evaluate --help
expect "image evaluate: --ratios 1.5" 1 "--ratios: '1.5' is not a share of synthetic images in (0, 1)" -- "$M" image evaluate "$FX" --ratios 0.5,1.5 --json "$D/o3/x.json" --report "$D/o3/x.html"
expect "image evaluate: --guidance with --one-pass" 1 "--guidance, --guidance-label and --guidance-attr exclude --one-pass" -- "$M" image evaluate "$FX" --guidance 2 --one-pass --json "$D/o3/x.json"
expect "image evaluate: --guidance-attr with --one-pass" 1 "exclude --one-pass" -- "$M" image evaluate "$FX" --one-pass --guidance-attr 0 --json "$D/o3/x.json"
expect "image evaluate: --guidance-label -1" 1 "--guidance-label" -- "$M" image evaluate "$FX" --guidance-label -1 --json "$D/o3/x.json"
expect "image evaluate: unknown method" 1 "--methods: unknown method 'smote'" -- "$M" image evaluate "$FX" --methods none,smote --json "$D/o3/x.json"
expect "image evaluate: 3 label levels" 2 "the evaluation needs a binary label" -- "$M" image evaluate "$FX" --json "$D/o3/x.json"
no_file "image evaluate: no JSON after refused input" "$D/o3/x.json"
no_file "image evaluate: no report after refused input" "$D/o3/x.html"
# image augment (RandAugment-style): M = 0 writes the fixture as convert does; same seed, same bytes
expect "image augment --help shows an example" 0 "example" -- "$M" image augment --help
expect "image augment --magnitude 0" 0 "wrote 10 images" -- "$M" image augment "$FX" --split all --magnitude 0 -o "$D/a0.npz"
"$M" image convert "$FX" -o "$D/c0.npz" 2>/dev/null
cmp -s "$D/a0.npz" "$D/c0.npz" && ok "augment at M = 0: the fixture's bytes" || bad "augment at M = 0: the fixture's bytes"
expect "image augment --copies 3" 0 "wrote 15 images" -- "$M" image augment "$FX" --copies 3 --magnitude 8 --flip -o "$D/a1.npz"
"$M" image augment "$FX" --copies 3 --magnitude 8 --flip -o "$D/a2.npz" 2>/dev/null
cmp -s "$D/a1.npz" "$D/a2.npz" && ok "image augment: same seed, same bytes" || bad "image augment: same seed, same bytes"
cmp -s "$D/a1.npz" "$D/c0.npz" && bad "image augment: M = 8 changed the images" || ok "image augment: M = 8 changed the images"
expect "image augment: unknown op" 1 "--ops: unknown operation 'shear'" -- "$M" image augment "$FX" --ops rotate,shear -o "$D/o3/x.npz"
expect "image augment: --magnitude 11" 1 "--magnitude" -- "$M" image augment "$FX" --magnitude 11 -o "$D/o3/x.npz"
[ -z "$(ls -A "$D/o3")" ] && ok "image sites / augment: nothing written for bad input" || bad "image sites / augment: nothing written for bad input"

summary test_image.sh
