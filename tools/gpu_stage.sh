#!/bin/sh
# Stage prebuilt OpenCL benchmark/test binaries plus the shared libraries the
# GPU machine lacks (cJSON, cmocka, CLBlast, ...) into one folder that can be
# copied to (or carried onto) an offline GPU machine, with tools/gpu_run.sh.
#   tools/gpu_stage.sh DEST [extra binaries...]
# Builds build/tests/bench/bench_opencl_gemm (release) and non-sanitizer
# test_opencl_ops and golden tests (the ASan runtime and the NVIDIA driver do
# not mix well); with GOLDEN=DIR the golden data is copied to DEST/golden.
set -e
cd "$(dirname "$0")/.."
dest=${1:?usage: tools/gpu_stage.sh DEST [binaries...]}
shift
mkdir -p "$dest/lib"
make -s build/libhart.a build/tests/bench/bench_opencl_gemm build/tests/bench/bench_qgemm >/dev/null
LIBS="$(pkg-config --libs cmocka libcjson libpcre2-8 libutf8proc libpng OpenCL openblas zlib) -ljpeg -lm -lpthread -ldl -fopenmp"
for src in tests/unit/test_opencl_ops.c tests/unit/test_attention_sparse.c tests/unit/test_block_mask.c tests/unit/test_wgmma_ptx.c tests/unit/test_quant_ops.c tests/unit/test_precision.c tests/golden/test_*.c; do
    [ -f "$src" ] || continue
    t=$(basename "$src" .c)
    # shellcheck disable=SC2086
    gcc -std=c11 -D_GNU_SOURCE -DCL_TARGET_OPENCL_VERSION=120 -O1 -g -fopenmp -Isrc -I. -Itests -Ibuild/gen \
        $(pkg-config --cflags libcjson openblas) "$src" tests/support/*.c build/libhart.a $LIBS -o "$dest/$t"
done
cp build/tests/bench/bench_opencl_gemm build/tests/bench/bench_qgemm "$dest/"
for b in "$@"; do cp "$b" "$dest/"; done
cp tools/gpu_run.sh "$dest/"
mkdir -p "$dest/cli" # gpu_run.sh's precision step
cp tests/cli/test_precision.sh tests/cli/lib.sh tests/cli/png_psnr.py tests/cli/png_maxdiff_lib.py tests/cli/st_relerr.py "$dest/cli/"
[ -n "$GOLDEN" ] && cp -a "$GOLDEN" "$dest/golden"
# libraries not on a bare CUDA image (system ones are left to the target)
for bin in "$dest"/bench_* "$dest"/test_* "$@"; do ldd "$bin" 2>/dev/null; done | awk '{print $3}' | sort -u |
    grep -Ev 'libc\.so|libm\.so|libpthread|libdl\.so|libgcc_s|libstdc|libOpenCL|ld-linux|^$' |
    while read -r l; do cp -L "$l" "$dest/lib/"; done
# the OpenCL ICD loader only as a fallback (gpu_run.sh puts it last)
mkdir -p "$dest/lib/ocl"
cp -L "$(ldd "$dest/bench_opencl_gemm" | awk '/libOpenCL/ {print $3}')" "$dest/lib/ocl/" 2>/dev/null || true
for l in /usr/lib/x86_64-linux-gnu/libclblast.so.1; do [ -f "$l" ] && cp -L "$l" "$dest/lib/"; done
# large libraries travel xz-compressed (the device tool's size limit); gpu_run.sh unpacks them
. tools/stage_libs.sh
stage_compress "$dest/lib"
cp tools/stage_libs.sh "$dest/"
du -sh "$dest"
