#!/bin/sh
# Stage what tools/scaleout_run.sh needs on an offline two-GPU NVIDIA machine into one
# folder that travels with the working tree (the device tool's carry list):
#   tools/scaleout_stage.sh [DEST]        (default build/scaleout-stage)
# - bin/hart and build/tools/make_random_models (release builds, stripped): the
#   random-weight models are WRITTEN ON THE DEVICE MACHINE by make_random_models
#   (gigabytes at the release shapes; nothing of them travels);
# - the shared libraries a bare CUDA image lacks (cJSON, OpenBLAS, libgfortran, ...;
#   the large ones xz-compressed, tools/stage_libs.sh; the OpenCL ICD loader only as a
#   fallback in lib/ocl), as tools/gpu_stage.sh does;
# - the small inputs: the HART llm config, the demo text tokenizer (tokenizer.json of
#   models/hart-tiny-demo), the FID Inception random-weight list of the golden set
#   (tests/data/golden/fid-tiny/weights.txt), the run script and its helpers.
# Prints the size: with the tracked files (~51 MB) it must stay under 12 MB.
set -e
cd "$(dirname "$0")/.."
dest=${1:-build/scaleout-stage}
rm -rf "$dest"
mkdir -p "$dest/lib/ocl" "$dest/data"
make -s bin/hart build/tools/make_random_models >/dev/null
cp bin/hart build/tools/make_random_models "$dest/"
strip "$dest/hart" "$dest/make_random_models"
for bin in "$dest/hart" "$dest/make_random_models"; do ldd "$bin"; done | awk '{print $3}' | sort -u |
    grep -Ev 'libc\.so|libm\.so|libpthread|libdl\.so|libgcc_s|libstdc|libOpenCL|ld-linux|^$' |
    while read -r l; do cp -L "$l" "$dest/lib/"; done
cp -L "$(ldd "$dest/hart" | awk '/libOpenCL/ {print $3}')" "$dest/lib/ocl/" 2>/dev/null || true
. tools/stage_libs.sh
stage_compress "$dest/lib"
cp tools/stage_libs.sh tools/scaleout_run.sh tools/scaleout_pngs.py tools/scaleout_check.py "$dest/"
cp configs/hart-0.7b-1024px-llm.json models/hart-tiny-demo/text_encoder/tokenizer.json \
    tests/data/golden/fid-tiny/weights.txt "$dest/data/"
cp models/hart-tiny-demo/llm/config.json "$dest/data/hart-tiny-llm.json" # the dry plan's model shape
du -sh "$dest"
size=$(du -sb "$dest" | cut -f1)
echo "staged $size bytes in $dest"
[ "$size" -le 12000000 ] || echo "scaleout_stage: WARNING: over 12 MB (the device tool carries 64 MiB with the tracked files)" >&2
