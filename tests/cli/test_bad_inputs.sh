#!/bin/sh
# The bad-input suite: every case of tests/bad_inputs/cases.txt must exit with its code, print
# its message fragment, and leave no file (nor temporary file) in the output folder.
set -u
M=${MCRAGE:-build/asan/mcrage}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
mkdir -p "$D/out"
# --- the files
: >"$D/empty.csv"
printf 'x,y\n' >"$D/header_only.csv"
printf 'x,y\n1,a\n2\n' >"$D/ragged.csv"
printf 'x,y\n1,a\n2,"b\n3,a\n' >"$D/quote.csv"
printf 'x,y\n1,a\0b\n' >"$D/nul.csv"
printf 'x,y\n1,caf\351\n' >"$D/latin1.csv"
{ printf 'x,note\n1,'; head -c 10000 /dev/zero | tr '\0' 'z'; printf '\n2,b\n3,c\n'; } >"$D/longfield.csv"
ok() { i=0; printf 'x,z,g,y\n'; while [ $i -lt 60 ]; do printf '%d.5,%d,g%d,%s\n' $i $((i % 7)) $((i % 3)) $([ $((i % 4)) -eq 0 ] && echo b || echo a); i=$((i + 1)); done; }
ok >"$D/ok.csv"
printf 'x,w,y\n1,2,a\n2,3,a\n3,4,a\n' >"$D/oneclass.csv"
{ ok; printf '99.5,1,g1,c\n'; } >"$D/singleton.csv"
ok | awk -F, 'BEGIN{OFS=","} NR>1{$3=""} {print}' >"$D/nosens.csv"
ok | awk -F, 'BEGIN{OFS=","} NR==1{$2="empty"} NR>1{$2=""} {print}' >"$D/allmissing.csv"
ok | awk -F, 'BEGIN{OFS=","} NR==1{$2="const"} NR>1{$2="7"} {print}' >"$D/constant.csv"
printf 'x,y\n1e309,a\n2,b\ninf,a\n' >"$D/inf.csv"
printf 'x,y\n1.5,a\nNaN,b\n2.5,a\n' >"$D/nan.csv"
printf 'x,y\n-0,a\n5,b\n7,a\n' >"$D/negzero.csv"
printf 'a,b,a\n1,2,3\n' >"$D/dup.csv"
awk 'BEGIN{print "id,x,y"; for(i=0;i<100000;i++) printf "p%d,%d.5,%s\n", i, i%13, (i%5?"a":"b")}' >"$D/levels.csv"
printf 'x,z,g,extra,y\n1,2,g1,5,a\n' >"$D/other.csv"
printf 'x,z,g,y\nabc,1,g1,a\n2,1,g2,b\n' >"$D/textx.csv"
"$M" fit "$D/ok.csv" --target y --steps 3 --widths 8 -q -o "$D/good.mcrg" || echo "setup: fit failed"
head -c 300 "$D/good.mcrg" >"$D/trunc.mcrg"
cp "$D/good.mcrg" "$D/flip.mcrg"
printf '\001' | dd of="$D/flip.mcrg" bs=1 seek=500 conv=notrunc 2>/dev/null
cp "$D/good.mcrg" "$D/future.mcrg"
printf '\143' | dd of="$D/future.mcrg" bs=1 seek=8 conv=notrunc 2>/dev/null
cp "$D/good.mcrg" "$D/older.mcrg"
printf '\001' | dd of="$D/older.mcrg" bs=1 seek=8 conv=notrunc 2>/dev/null
# --- the cases
pass=0 fail=0
while IFS='|' read -r name code frag cmd; do
    case "$name" in '#'* | '') continue ;; esac
    name=$(echo "$name" | sed 's/ *$//'); code=$(echo "$code" | tr -d ' ')
    frag=$(echo "$frag" | sed 's/^ *//; s/ *$//')
    rm -rf "$D/out"; mkdir -p "$D/out"
    cmd=$(echo "$cmd" | sed "s|\$M|$M|g; s|\$D|$D|g")
    sh -c "$cmd" >"$D/stdout" 2>"$D/stderr"; rc=$?
    left=$(ls -A "$D/out" | grep -v -e '^single.csv$' -e '^am.mcrg$' -e '^c.mcrg$' || true)
    lines=$(wc -l <"$D/stderr")
    if [ "$rc" = "$code" ] && grep -qF -- "$frag" "$D/stderr" "$D/stdout" && { [ "$code" = 0 ] || [ -z "$left" ]; } &&
       ! grep -q "AddressSanitizer\|runtime error" "$D/stderr"; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fail=$((fail + 1)); echo "FAIL $name (exit $rc, wanted $code and '$frag'; left: $left)"; head -n 3 "$D/stderr" | sed 's/^/     /'
    fi
    [ "$code" != 0 ] && [ "$lines" -gt 3 ] && echo "     (note: $lines lines on stderr)"
done <tests/bad_inputs/cases.txt
echo "test_bad_inputs.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
