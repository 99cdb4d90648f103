#!/bin/sh
# Stage everything tools/hart_side_by_side.sh needs on an offline NVIDIA machine into
# one folder that travels with the working tree (the device tool's carry list):
#   tools/hart_gpu_stage.sh [DEST]        (default build/hart-stage)
# - bench_hart (and bench_qwen2, bench_dcae where they build; release builds, debug
#   sections stripped) and the shared libraries a bare CUDA image lacks (cJSON, OpenBLAS
#   and libgfortran gzipped, ...; the OpenCL ICD loader only as a fallback in lib/ocl),
#   as tools/gpu_stage.sh does, without CLBlast;
# - the ORIGINAL HART python package (github mit-han-lab/hart: hart/ and pyproject.toml)
#   in DEST/hart-src, taken from build/hart-src or else extracted with git archive from
#   the snapshot at $HART_GIT (never committed here);
# - the two llm configs and tools/hart_torch_bench.py.
# Prints the folder's size: with the tracked files (~45 MB) it must stay under the
# device tool's 64 MiB, so the stage must stay under 18 MB.
set -e
cd "$(dirname "$0")/.."
dest=${1:-build/hart-stage}
hart_git=${HART_GIT:-/work/.mirror/mit-han-lab+hart/repo}
rm -rf "$dest"
mkdir -p "$dest/lib/ocl" "$dest/configs"
make -s build/tests/bench/bench_hart >/dev/null
cp build/tests/bench/bench_hart "$dest/"
for b in bench_qwen2 bench_dcae; do
    if make -s "build/tests/bench/$b" >/dev/null 2>&1; then cp "build/tests/bench/$b" "$dest/"; else echo "($b not built: skipped)"; fi
done
for bin in "$dest"/bench_*; do ldd "$bin"; done | awk '{print $3}' | sort -u |
    grep -Ev 'libc\.so|libm\.so|libpthread|libdl\.so|libgcc_s|libstdc|libOpenCL|libclblast|ld-linux|^$' |
    while read -r l; do cp -L "$l" "$dest/lib/"; done
cp -L "$(ldd "$dest/bench_hart" | awk '/libOpenCL/ {print $3}')" "$dest/lib/ocl/" 2>/dev/null || true
# size: the binaries without debug sections; large libraries xz-compressed (tools/stage_libs.sh; the run scripts unpack them)
for b in "$dest"/bench_*; do strip --strip-debug "$b"; done
. tools/stage_libs.sh
stage_compress "$dest/lib"
cp tools/stage_libs.sh "$dest/"
if [ ! -f build/hart-src/hart/modules/models/transformer/hart_transformer_t2i.py ]; then
    [ -d "$hart_git" ] || { echo "hart_gpu_stage: no build/hart-src and no HART snapshot at $hart_git (set HART_GIT)" >&2; exit 1; }
    rm -rf build/hart-src
    mkdir -p build/hart-src
    git --git-dir="$hart_git" archive HEAD hart pyproject.toml LICENSE | tar -x -C build/hart-src
fi
for f in hart/modules/models/transformer/hart_transformer_t2i.py hart/modules/networks/basic_hart.py \
    hart/kernels/csrc/layernorm/layernorm_kernels.cu; do
    [ -f "build/hart-src/$f" ] || { echo "hart_gpu_stage: build/hart-src lacks $f" >&2; exit 1; }
done
cp -a build/hart-src "$dest/hart-src"
cp configs/hart-0.7b-1024px-llm.json configs/hart-0.7b-1024px-llm-depth16-adaln.json configs/dc-ae-f32c32-in-1.0.json \
    "$dest/configs/"
cp tools/hart_torch_bench.py tools/hart_side_by_side.sh tools/side_by_side_table.py "$dest/"
du -sh "$dest"
size=$(du -sb "$dest" | cut -f1)
echo "staged $size bytes in $dest"
[ "$size" -le 18000000 ] || echo "hart_gpu_stage: WARNING: over 18 MB; with the tracked files it may exceed the 64 MiB the device tool carries" >&2
