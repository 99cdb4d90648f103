#!/bin/sh
# Build and run the OpenCL GEMM/attention benchmark on a GPU machine that may
# lack the project's full build dependencies (needs only gcc, the OpenCL
# headers and an OpenCL ICD loader). Registers the NVIDIA OpenCL ICD when the
# driver library exists but no vendors file names it. CLBlast is used when
# libclblast.so.1 is found (also in $CLBLAST_DIR).
#   tools/bench_gpu.sh [--build-only] [size ...]
#   tools/bench_gpu.sh --build-test   (also builds build/gpu/test_opencl_ops, needs
#                                      cmocka + cJSON; copy their .so files into
#                                      build/gpu to run it on a machine without them)
set -e
cd "$(dirname "$0")/.."
out=build/gpu
mkdir -p "$out/gen"
if ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
    lib=$(ldconfig -p 2>/dev/null | grep -o '/[^ ]*libnvidia-opencl.so.1' | head -1)
    [ -n "$lib" ] || lib=$(find /usr /lib /opt -name 'libnvidia-opencl.so.1' 2>/dev/null | head -1)
    if [ -n "$lib" ]; then
        { mkdir -p /etc/OpenCL/vendors && echo "$lib" > /etc/OpenCL/vendors/nvidia.icd; } 2>/dev/null ||
            echo "note: could not register the NVIDIA OpenCL ICD $lib (not root?)" >&2
    fi
fi
./tools/embed_kernels.sh "$out/gen/kernels_embedded.c" kernels/*.cl
srcs="tests/bench/bench_opencl_gemm.c src/backend/opencl/*.c src/backend/backend_open.c src/backend/ref/*.c
      src/backend/cpu/*.c src/core/tensor.c src/core/status.c src/core/fileio.c src/ops/ops.c $out/gen/kernels_embedded.c"
# shellcheck disable=SC2086
gcc -O2 -std=c11 -D_GNU_SOURCE -DCL_TARGET_OPENCL_VERSION=120 -fopenmp -Isrc -I. -I"$out/gen" \
    $(pkg-config --cflags openblas 2>/dev/null) $srcs -o "$out/bench_opencl_gemm" \
    -lOpenCL $(pkg-config --libs openblas 2>/dev/null) -lm -ldl
if [ "$1" = "--build-test" ]; then
    # shellcheck disable=SC2086
    gcc -O1 -g -std=c11 -D_GNU_SOURCE -DCL_TARGET_OPENCL_VERSION=120 -fopenmp -Isrc -I. -Itests -I"$out/gen" \
        $(pkg-config --cflags libcjson openblas 2>/dev/null) tests/unit/test_opencl_ops.c tests/support/*.c \
        $(echo "$srcs" | sed 's#tests/bench/bench_opencl_gemm.c##') src/core/safetensors.c src/core/checkpoint.c \
        -o "$out/test_opencl_ops" -lcmocka -lcjson -lOpenCL $(pkg-config --libs openblas 2>/dev/null) -lm -ldl
    exit 0
fi
[ "$1" = "--build-only" ] && exit 0
LD_LIBRARY_PATH="${CLBLAST_DIR:-$out}:$LD_LIBRARY_PATH" "$out/bench_opencl_gemm" "$@"
