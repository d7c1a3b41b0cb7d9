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

summary test_image.sh
