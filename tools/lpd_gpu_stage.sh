#!/bin/sh
# Stage everything tools/lpd_gpu_run.sh needs on an offline NVIDIA machine into one
# folder that travels with the working tree (the device tool's carry list):
#   tools/lpd_gpu_stage.sh [DEST]        (default build/lpd-stage)
# - bench_lpd (release build) and the shared libraries a bare CUDA image lacks
#   (cJSON, cmocka, OpenBLAS gzipped, libgfortran, ...; the OpenCL ICD loader
#   only as a fallback in lib/ocl), as tools/gpu_stage.sh does;
# - the ORIGINAL LPD code (github mit-han-lab/lpd at f447b83: models/*.py and
#   orders/group_sizes_lookup.json) in DEST/lpd-src, taken from build/lpd-src,
#   or else extracted from a git snapshot at $LPD_GIT (never committed here);
# - wheels for what the original imports and a PyTorch image may lack
#   (timm==0.9.12, the version of its requirements.txt) in DEST/wheels, from
#   build/lpd-wheels or downloaded with `pip download --no-deps`.
# Prints the folder's size; with the working tree it must stay under 64 MiB.
set -e
cd "$(dirname "$0")/.."
dest=${1:-build/lpd-stage}
lpd_git=${LPD_GIT:-/work/.mirror/mit-han-lab+lpd/repo}
lpd_rev=f447b83
rm -rf "$dest"
mkdir -p "$dest/lib/ocl" "$dest/wheels"
make -s build/tests/bench/bench_lpd >/dev/null
cp build/tests/bench/bench_lpd "$dest/"
ldd "$dest/bench_lpd" | awk '{print $3}' | sort -u |
    grep -Ev 'libc\.so|libm\.so|libpthread|libdl\.so|libgcc_s|libstdc|libOpenCL|ld-linux|^$' |
    while read -r l; do cp -L "$l" "$dest/lib/"; done
cp -L "$(ldd "$dest/bench_lpd" | awk '/libOpenCL/ {print $3}')" "$dest/lib/ocl/" 2>/dev/null || true
. tools/stage_libs.sh
stage_compress "$dest/lib"
cp tools/stage_libs.sh "$dest/"
if [ ! -f build/lpd-src/models/lpd.py ]; then
    [ -d "$lpd_git" ] || { echo "lpd_gpu_stage: no build/lpd-src and no LPD snapshot at $lpd_git (set LPD_GIT)" >&2; exit 1; }
    mkdir -p build/lpd-src
    # (a snapshot may lack its large data files, which git archive reports; they are not needed)
    git --git-dir="$lpd_git" archive "$lpd_rev" models orders/group_sizes_lookup.json LICENSE README.md 2>/dev/null |
        tar -x -C build/lpd-src
fi
if [ ! -f build/lpd-src/models/lpd.py ] || [ ! -f build/lpd-src/orders/group_sizes_lookup.json ]; then
    echo "lpd_gpu_stage: build/lpd-src lacks models/lpd.py or orders/group_sizes_lookup.json" >&2
    exit 1
fi
cp -a build/lpd-src "$dest/lpd-src"
if ! ls build/lpd-wheels/timm-0.9.12-*.whl >/dev/null 2>&1; then
    mkdir -p build/lpd-wheels
    pip download -q --no-deps -d build/lpd-wheels timm==0.9.12
fi
cp build/lpd-wheels/*.whl "$dest/wheels/"
cp tools/lpd_gpu_run.sh tools/lpd_torch_bench.py "$dest/"
du -sh "$dest"
echo "staged $(du -sb "$dest" | cut -f1) bytes in $dest"
