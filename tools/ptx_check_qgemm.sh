#!/bin/sh
# Compile-check of the NVIDIA int8 kernels (kernels/qgemm_nv.cl) without a GPU:
# clang compiles them (OpenCL C, nvptx64, sm_80) to PTX, ptxas assembles it for
# sm_90 and prints registers / spills. Catches PTX syntax and operand errors of the
# inline mma.sync / dp4a; numerics are checked on the GPU by test_quant_ops.
# usage: tools/ptx_check_qgemm.sh [PTXAS]   (needs clang; ptxas from CUDA)
set -e
PTXAS=${1:-$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
cat tools/ptx_check_prelude.cl kernels/common.cl kernels/qgemm_nv.cl > "$D/k.cl"
clang -x cl -cl-std=CL1.2 -target nvptx64-nvidia-nvcl -march=sm_80 -Xclang -finclude-default-header -O2 \
  -Dasm=__asm__ '-Dvload_half(i,p)=0.0f' -S -o "$D/k.ptx" "$D/k.cl"
"$PTXAS" -arch=sm_90 -v "$D/k.ptx" -o "$D/k.cubin" 2>&1 | grep -E "entry|registers|spill"
