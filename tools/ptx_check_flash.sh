#!/bin/sh
# Compile-check of the NVIDIA flash-attention kernels (kernels/flash_nv.cl) without a GPU:
# clang compiles every instance (OpenCL C, nvptx64, sm_80) to PTX, ptxas assembles it for
# sm_90 and prints registers / spills / local memory. Catches PTX syntax and operand errors of
# the inline mma.sync / ldmatrix / cp.async / vote; numerics are checked on the GPU by
# test_opencl_ops and test_attention_sparse with HART_CL_TENSOR_CORES=1.
# usage: tools/ptx_check_flash.sh [PTXAS]   (needs clang; ptxas from CUDA)
set -e
PTXAS=${1:-$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)}
D=${D:-$(mktemp -d)}
trap 'rm -rf "$D"' EXIT
# the instances cl_program.c builds (FA_DEFS): name, head dim, keys per tile, warps
{
    cat tools/ptx_check_prelude.cl kernels/common.cl kernels/nv_ptx.cl
    for inst in "nv_flash_d64_r128 64 64 8" "nv_flash_d64_r64 64 64 4" "nv_flash_d128_r128 128 32 8" "nv_flash_d128_r64 128 32 4"; do
        set -- $inst
        printf '#define FA_NAME %s\n#define FA_D %s\n#define FA_BK %s\n#define FA_WARPS %s\n' "$1" "$2" "$3" "$4"
        cat kernels/flash_nv.cl
        printf '#undef FA_NAME\n#undef FA_D\n#undef FA_BK\n#undef FA_WARPS\n'
    done
} > "$D/k.cl"
# library built-ins clang leaves as external calls get inline stand-ins (code shape only)
clang -x cl -cl-std=CL1.2 -target nvptx64-nvidia-nvcl -march=sm_80 -Xclang -finclude-default-header -O2 \
  -Dasm=__asm__ '-Dvload_half(i,p)=0.0f' '-Dpopcount(x)=__builtin_popcount(x)' \
  '-Dvstore_half8_rte(v,i,p)=(*(__local float8 *)(p) = (v))' '-Dnative_exp2(x)=__nvvm_ex2_approx_f(x)' '-Dvload8(i,p)=(*(__global const float8 *)(p))' '-Dmin(a,b)=((a) < (b) ? (a) : (b))' '-Dvstore2(v,i,p)=(*(__global float2 *)(p) = (v))' \
  -S -o "$D/k.ptx" "$D/k.cl"
"$PTXAS" -arch=sm_90 -v "$D/k.ptx" -o "$D/k.cubin" 2>&1 | grep -E "entry|registers|spill|error|fatal"
