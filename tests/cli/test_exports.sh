#!/bin/sh
# The shared library a binding loads: only mcr_ functions are exported (MCR_API in mcrage.h,
# the rest hidden), and every function the public header declares is there.
# Prints "test_exports.sh: N passed, N failed".
set -u
SO=${LIBMCRAGE:-build/rel/libmcrage.so}
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
if [ ! -r "$SO" ]; then bad "no $SO (make builds it)"; echo "test_exports.sh: $pass passed, $fail failed"; exit 1; fi
syms=$(nm -D --defined-only "$SO" | awk '$2 ~ /^[TDBRW]$/ {print $3}' | sort)
others=$(echo "$syms" | grep -v '^mcr_' | grep -v '^_' || true)
[ -z "$others" ] && ok "only mcr_ symbols exported" || { bad "exported without the mcr_ prefix:"; echo "$others" | head -20; }
declared=$(grep -o '^MCR_API [^(]*(' include/mcrage/mcrage.h | grep -o 'mcr_[a-z0-9_]*($' | tr -d '(' | sort -u)
missing=$(echo "$declared" | while read -r f; do echo "$syms" | grep -qx "$f" || echo "$f"; done)
[ -z "$missing" ] && ok "every declared function exported ($(echo "$declared" | wc -l))" || { bad "declared but not exported:"; echo "$missing"; }
echo "test_exports.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
