#!/bin/sh
# Temporary runner (the foundation branch replaces it): runs test binaries then CLI scripts.
build=$1; shift
pass=0; fail=0
export HART_BIN=${HART_BIN:-bin/hart}
export HART_GOLDEN=${HART_GOLDEN:-../shared/golden}
clis=0
for t in "$@"; do
  if [ "$t" = "--" ]; then clis=1; continue; fi
  if [ $clis = 1 ]; then sh "$t"; else "$t"; fi
  if [ $? = 0 ]; then pass=$((pass+1)); echo "PASS $t"; else fail=$((fail+1)); echo "FAIL $t"; fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
