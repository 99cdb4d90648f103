#!/bin/sh
# Compile-check of op block_mask's kernels (kernels/block_mask.cl) for NVIDIA without a GPU:
# clang compiles them (OpenCL C 1.2, nvptx64, sm_80, -cl-mad-enable as cl_program.c builds)
# to PTX, ptxas assembles it for sm_90 and prints registers / spills; then the PTX is
# searched for fused multiply-adds (fma / mad on floats), which would break the bit-exact
# agreement with the host (docs/sparse.md "Masks on the device"): there must be none.
# usage: tools/ptx_check_block_mask.sh [PTXAS]   (needs clang; ptxas from CUDA)
set -e
PTXAS=${1:-$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)}
D=${D:-$(mktemp -d)}
trap 'rm -rf "$D"' EXIT
{
    cat tools/ptx_check_prelude.cl
    # built-ins the prelude lacks, with the same semantics
    echo '#define get_global_id(d) (get_group_id(d) * get_local_size(d) + get_local_id(d))'
    echo '#define convert_long_rtz(x) ((long)(x))'
    echo '#define convert_float_rte(x) ((float)(x))'
    cat kernels/block_mask.cl
} > "$D/k.cl"
clang -x cl -cl-std=CL1.2 -target nvptx64-nvidia-nvcl -march=sm_80 -Xclang -finclude-default-header -O2 \
  -cl-mad-enable -Wno-macro-redefined -S -o "$D/k.ptx" "$D/k.cl"
"$PTXAS" -arch=sm_90 -v "$D/k.ptx" -o "$D/k.cubin" 2>&1 | grep -E "entry|registers|spill|error|fatal"
if grep -E "(fma|mad)\.[a-z.]*f(32|64)" "$D/k.ptx"; then echo "FAIL: fused multiply-add in the PTX"; exit 1; fi
echo "ok: no fused multiply-add"
