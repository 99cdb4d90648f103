#!/bin/sh
# Compile-check of the NVIDIA int8 kernels (kernels/qgemm_nv.cl and the
# tensor-core tiles of kernels/qgemm_nv_tc.cl, one instance per format as
# cl_ops_quant.c defines them) without a GPU: clang compiles them (OpenCL C,
# nvptx64, sm_80) to PTX, ptxas assembles it for sm_90 and prints registers /
# spills. Catches PTX syntax and operand errors of the inline mma.sync / dp4a /
# ldmatrix / cp.async; numerics are checked on the GPU by test_quant_ops.
# usage: tools/ptx_check_qgemm.sh [PTXAS]   (needs clang; ptxas from CUDA)
set -e
PTXAS=${1:-$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)}
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
inst() { # name bm bn st wm wn nt w4 p
  printf '\n#define QG_NAME %s\n#define QG_BM %s\n#define QG_BN %s\n#define QG_ST %s\n#define QG_WM %s\n#define QG_WN %s\n#define QG_NT %s\n#define QG_W4 %s\n#define QG_P %s\n' "$@"
  cat kernels/qgemm_nv_tc.cl
  printf '\n#undef QG_NAME\n#undef QG_BM\n#undef QG_BN\n#undef QG_ST\n#undef QG_WM\n#undef QG_WN\n#undef QG_NT\n#undef QG_W4\n#undef QG_P\n'
}
{
  cat tools/ptx_check_prelude.cl kernels/common.cl kernels/nv_ptx.cl
  # hgemm_nv.cl once (its HG_SW), as one of its variants
  printf '#define HG_NAME nv_hgemm_chk\n#define HG_BM 128\n#define HG_BN 128\n#define HG_BK 32\n#define HG_ST 3\n#define HG_WM 64\n#define HG_WN 64\n#define HG_NT 128\n#define HG_WAIT 1\n#define HG_DB 1\n'
  cat kernels/hgemm_nv.cl kernels/qgemm_nv.cl
  inst nv_qg8_128x128_w4 128 128 3 64 64 128 0 0
  inst nv_qg4_128x128_w4 128 128 4 64 64 128 1 0
  inst nv_qg8_128x128_w8 128 128 3 64 32 256 0 0
  inst nv_qg4_128x128_w8 128 128 4 64 32 256 1 0
  inst nv_qg8_128x256_w8 128 256 2 64 64 256 0 0
  inst nv_qg4_128x256_w8 128 256 3 64 64 256 1 0
  inst nv_qg8_64x128_w4 64 128 4 32 64 128 0 0
  inst nv_qg4_64x128_w4 64 128 4 32 64 128 1 0
  inst nv_qg8_128x128_w4_p 128 128 3 64 64 128 0 1
  inst nv_qg4_128x128_w4_p 128 128 4 64 64 128 1 1
  inst nv_qg8_128x128_w8_p 128 128 3 64 32 256 0 1
  inst nv_qg4_128x128_w8_p 128 128 4 64 32 256 1 1
} > "$D/k.cl"
clang -x cl -cl-std=CL1.2 -target nvptx64-nvidia-nvcl -march=sm_80 -Xclang -finclude-default-header -O2 \
  -Dasm=__asm__ '-Dvload_half(i,p)=0.0f' '-Dvstore_half_rte(x,i,p)=((void)0)' -S -o "$D/k.ptx" "$D/k.cl"
"$PTXAS" -arch=sm_90 -v "$D/k.ptx" -o "$D/k.cubin" 2>&1 | grep -E "entry|registers|spill"
