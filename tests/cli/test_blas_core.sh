#!/bin/sh
# The OpenBLAS start-up fix (src/cli/blas_core.c): when OpenBLAS falls back to its
# generic Prescott kernels on a CPU with AVX2+FMA, hart sets OPENBLAS_CORETYPE and
# starts again. HART_BLAS_CORE_FIX=force acts as if OpenBLAS had fallen back (this
# machine's OpenBLAS may well know its CPU); a user's OPENBLAS_CORETYPE always wins.
set -u
. tests/cli/lib.sh
BIN=${HART_BIN:-bin/hart}

# a user's choice stands, even Prescott
expect 0 "" env OPENBLAS_CORETYPE=Prescott "$BIN" info
grep -q "BLAS core: Prescott" "$T/out" || fail "OPENBLAS_CORETYPE=Prescott not kept: $(grep 'BLAS core' "$T/out")"
grep -q "set by hart" "$T/out" && fail "hart overrode the user's OPENBLAS_CORETYPE"
# HART_BLAS_CORE_FIX=0: no fix even when forced conditions hold
expect 0 "" env -u OPENBLAS_CORETYPE HART_BLAS_CORE_FIX=0 "$BIN" info
grep -q "set by hart" "$T/out" && fail "HART_BLAS_CORE_FIX=0 still re-executed"

# forced: with AVX2+FMA (AVX-512 F/BW/VL/DQ) the program runs again with Haswell (SkylakeX) kernels
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || echo "")
cwant=""
case " $flags " in *" avx2 "*) case " $flags " in *" fma "*) cwant=Haswell ;; esac ;; esac
n512=0
for f in avx512f avx512bw avx512vl avx512dq; do case " $flags " in *" $f "*) n512=$((n512 + 1)) ;; esac; done
[ "$n512" = 4 ] && cwant=SkylakeX
expect 0 "" env -u OPENBLAS_CORETYPE HART_BLAS_CORE_FIX=force "$BIN" info
if [ -n "$cwant" ]; then
  grep -q "BLAS core: $cwant" "$T/out" || fail "forced fix: expected $cwant: $(grep 'BLAS core' "$T/out")"
  grep -q "BLAS core set by hart: OpenBLAS picked .*OPENBLAS_CORETYPE=$cwant" "$T/out" || fail "no 'set by hart' line"
else
  grep -q "set by hart" "$T/out" && fail "re-executed on a CPU without AVX2+FMA"
fi
# the arguments and the exit status survive the re-exec
expect 2 "batch-size" env -u OPENBLAS_CORETYPE HART_BLAS_CORE_FIX=force "$BIN" fid --batch-size 0 a b
expect 0 "" env -u OPENBLAS_CORETYPE HART_BLAS_CORE_FIX=force "$BIN" tokenize --text-model models/hart-tiny-demo/text_encoder "a red circle"
[ -s "$T/out" ] || fail "tokenize printed nothing after the re-exec"
echo "ok test_blas_core"
