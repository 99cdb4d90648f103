#!/bin/sh
# HART side by side on the CPU, in one call: hart.c's own code path (bench_vae ->
# hart_vae_decode, bench_hart -> hart_t2i_generate, the functions `hart generate` calls;
# CPU backend, f32) against the ORIGINAL PyTorch HART (tools/hart_torch_bench.py --device
# cpu, float32: no autocast on the CPU; its CUDA extension cannot be built without a GPU,
# so its RMSNorm runs as the plain PyTorch formula, --kernels standin; attention through
# PyTorch's SDPA; convolutions through PyTorch's bundled oneDNN). Random weights, same
# shapes; text encoder excluded (random context), decode to pixels included.
# Both sides get the same thread count (OpenMP / torch.set_num_threads).
#
#   sh tools/hart_cpu_side_by_side.sh [PLAN]       from the repository root
#   PLAN  decode  (default) the tokenizer decoder alone (fhat_to_img / hart_vae_decode)
#         image   the whole image (transformer + diffusion head + decode), the configs below
#         all     decode, then image
#         dry     tiny shapes (checks the script; ~2 min)
#
# Pairing: the two implementations run in turn, ROUNDS times (ours, original, ours, ...),
# each process timing RUNS calls in-process after a warm-up call (decode) or RUNS whole
# images (image; HART_CPU_SBS_IMAGE_WARMUP=1 adds a warm-up image). The ratio ours/original
# is taken round by round (the machine's speed drifts on a shared host), and its median
# and range printed with the medians of each side.
#
# Environment: HART_CPU_SBS_THREADS (2), HART_CPU_SBS_SIZE (256), HART_CPU_SBS_ROUNDS (3),
# HART_CPU_SBS_RUNS (decode: 3 calls per process; image: 1), HART_CPU_SBS_IMAGE_WARMUP (0),
# HART_CPU_SBS_CONFIGS (configs/hart-0.7b-1024px-llm.json, comma list; the depth-16 AdaLN
# file is configs/hart-0.7b-1024px-llm-depth16-adaln.json), PYTHON (python3 with torch and
# transformers), HART_GIT (a clone of github.com/mit-han-lab/hart; its hart/ package is
# extracted into build/hart-src once, as tools/hart_gpu_stage.sh does).
# Output: OUT (default /tmp/hart-cpu-sbs): sbs.log (every process's output), results.txt
# (RESULT lines), table.md (the medians and ratios).
plan=${1:-decode}
out=${OUT:-/tmp/hart-cpu-sbs}
thr=${HART_CPU_SBS_THREADS:-2}
px=${HART_CPU_SBS_SIZE:-256}
rounds=${HART_CPU_SBS_ROUNDS:-3}
configs=${HART_CPU_SBS_CONFIGS:-configs/hart-0.7b-1024px-llm.json}
PY=${PYTHON:-python3}
log=$out/sbs.log
mkdir -p "$out"
: >"$log"

src=build/hart-src
if [ ! -f $src/hart/modules/models/autoencoder/hart_autoencoder.py ]; then
    if [ -z "$HART_GIT" ] || [ ! -d "$HART_GIT" ]; then echo "hart_cpu_side_by_side: no $src; set HART_GIT to a clone of mit-han-lab/hart" >&2; exit 1; fi
    rm -rf $src && mkdir -p $src
    git --git-dir="$HART_GIT" archive HEAD hart pyproject.toml LICENSE | tar -x -C $src || exit 1
fi
$PY -c 'import torch, transformers' 2>/dev/null || { echo "hart_cpu_side_by_side: $PY lacks torch or transformers (set PYTHON)" >&2; exit 1; }
nice make -s build/tests/bench/bench_vae build/tests/bench/bench_hart >/dev/null || exit 1

export OMP_NUM_THREADS="$thr" HART_TORCH_THREADS="$thr" PYTHONUNBUFFERED=1
torch_cmd() { $PY tools/hart_torch_bench.py --device cpu --src $src --kernels standin --dtype fp32 "$@"; }

# run NAME cmd...: append its output to the log, echo its RESULT line(s)
run() {
    name=$1
    shift
    echo "=== $name ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg))" >>"$log"
    "$@" >>"$log.part" 2>&1
    rc=$?
    grep -v "UserWarning\|_conversion_method_template" "$log.part" >>"$log"
    grep "^RESULT" "$log.part" | sed "s/^RESULT /RESULT round=$name /"
    [ $rc = 0 ] || echo "  ($name: exit status $rc)" >&2
    rm -f "$log.part"
}

{
    echo "date $(date -u '+%Y-%m-%d %H:%M') UTC; $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; threads $thr; load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "torch $($PY -c 'import torch; print(torch.__version__)' 2>/dev/null); $(./build/tests/bench/bench_vae --size 16 2>/dev/null | sed -n 's/.*backend \(.*\), precision.*/\1/p')"
} | tee -a "$log"

decode_rows() {
    n=${HART_CPU_SBS_RUNS:-3} s=$px
    [ "$plan" = dry ] && s=32 n=1
    for r in $(seq 1 "$rounds"); do
        run "decode-$r" ./build/tests/bench/bench_vae --device cpu --size "$s" --runs "$n" --warmup
        run "decode-$r" torch_cmd --decode-only --size "$s" --batch 1 --runs "$n" --warmup 1
    done
}

image_rows() {
    n=${HART_CPU_SBS_RUNS:-1} w=${HART_CPU_SBS_IMAGE_WARMUP:-0} ow='' tw=0
    [ "$w" = 1 ] && ow=--warmup tw=1
    for cfg in $(echo "$configs" | tr , ' '); do
        for r in $(seq 1 "$rounds"); do
            if [ "$plan" = dry ]; then
                run "image-$r" ./build/tests/bench/bench_hart --device cpu --small --size 256 --runs "$n" $ow
                run "image-$r" torch_cmd --tiny --config "$cfg" --size 64 --batch 1 --runs "$n" --warmup $tw
            else
                run "image-$r" ./build/tests/bench/bench_hart --device cpu --config "$cfg" --layers 0 --size "$px" --runs "$n" $ow
                run "image-$r" torch_cmd --config "$cfg" --size "$px" --batch 1 --runs "$n" --warmup $tw
            fi
        done
    done
}

case $plan in
decode) decode_rows ;;
image) image_rows ;;
all) decode_rows; image_rows ;;
dry) rounds=1; decode_rows; image_rows ;;
*) echo "hart_cpu_side_by_side: unknown plan '$plan' (decode, image, all, dry)" >&2; exit 2 ;;
esac | tee "$out/results.txt"
$PY tools/cpu_side_by_side_table.py "$out/results.txt" | tee "$out/table.md"
