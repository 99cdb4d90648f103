#!/bin/sh
# LPD side by side on an NVIDIA GPU machine (offline): the ORIGINAL PyTorch code
# (tools/lpd_torch_bench.py, bf16 autocast as the release's timing, and fp32) and
# hart.c's own path (bench_lpd -> hart_c2i_generate on OpenCL, tensor cores on and
# off), random weights at the release shapes, in one run. From the repository root,
# with the folder of tools/lpd_gpu_stage.sh carried:
#   sh tools/lpd_gpu_run.sh [STAGE [PLAN]]      STAGE default build/lpd-stage
#   PLAN: full (default; stops itself after $LPD_BUDGET_S = 510 s) | smoke (tiny shapes, ~1 min)
# The most important rows come first (B=1 at the issue's configurations, then
# B=64, then latency vs steps, then XL-512 at B=64); every step has its own
# timeout and the whole run a budget, so a slow step only costs what comes after.
# Logs: $OUT (default /tmp/lpd-out)/lpd_bench.log (every step's full output, in order) and
# results.txt (the RESULT lines, one per configuration); per step also /tmp/lpd-steps/<step>.txt.
d=${1:-build/lpd-stage}
plan=${2:-full}
out=${OUT:-/tmp/lpd-out}
mkdir -p "$out"
budget=${LPD_BUDGET_S:-510}
t0=$(date +%s)
log=$out/lpd_bench.log
steps=/tmp/lpd-steps # one file per step (the device tool brings back at most 8 files from $OUT)
mkdir -p "$steps"
: >"$log"
[ -x "$d/bench_lpd" ] || { echo "lpd_gpu_run: $d/bench_lpd missing (run tools/lpd_gpu_stage.sh and carry $d)"; exit 1; }
[ -f configs/lpd-group-sizes.json ] || { echo "lpd_gpu_run: run from the repository root (configs/ needed)"; exit 1; }

# NVIDIA OpenCL ICD (the CUDA image has the driver's libnvidia-opencl but no .icd file)
if command -v nvidia-smi >/dev/null && ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
    mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 >/etc/OpenCL/vendors/nvidia.icd
fi
mkdir -p /tmp/hart-lib
. "$(dirname "$0")/stage_libs.sh"
stage_unpack "$d"
export LD_LIBRARY_PATH="$d/lib:/tmp/hart-lib:${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d/lib/ocl"
export HART_CACHE_DIR="${HART_CACHE_DIR:-/tmp/hart-cache}" HART_CONFIG_DIR="${HART_CONFIG_DIR:-$PWD/configs}"
unset HART_CL_TENSOR_CORES # bench_lpd --tc sets it per configuration
PY=${PYTHON:-python3}
# what the original imports beyond torch: timm (carried wheel, installed into /tmp only)
if ! $PY -c "import timm.layers" >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --target /tmp/lpd-py "$d"/wheels/*.whl >>"$log" 2>&1 &&
        export PYTHONPATH="/tmp/lpd-py${PYTHONPATH:+:$PYTHONPATH}"
    if ! $PY -c "import timm.layers" >>"$log" 2>&1; then
        echo "(timm still not importable: lpd_torch_bench.py uses its stand-in, see the log)"
        PYTHONPATH=${PYTHONPATH#/tmp/lpd-py}
        export PYTHONPATH="${PYTHONPATH#:}"
    fi
fi

mc=${LPD_MODEL_CACHE:-/tmp/lpd-models} # bench_lpd's random model files, written once per shape (~3 GB for XL)
mkdir -p "$mc"
left() { echo $((budget - ($(date +%s) - t0))); }
# step NAME LIMIT_S command...: run with a timeout (cut to the budget left), full output to $steps/NAME.txt and the log
step() {
    name=$1 lim=$2
    shift 2
    l=$(left)
    if [ "$l" -lt 20 ]; then
        echo "=== $name: SKIPPED (time budget of ${budget}s used up)" | tee -a "$log"
        return
    fi
    [ "$lim" -gt "$l" ] && lim=$l
    echo "=== $name (limit ${lim}s, $(date -u +%H:%M:%S) UTC, ${l}s of the budget left)" | tee -a "$log"
    case $1 in # T: the original (PyTorch), H: hart.c (bench_lpd on OpenCL)
    T) shift; set -- "$PY" "$d/lpd_torch_bench.py" --src "$d/lpd-src" "$@" ;;
    H) shift; set -- "$d/bench_lpd" --device "${LPD_HART_DEVICE:-opencl}" --model-cache "$mc" "$@" ;;
    HW) shift; set -- env HART_CL_TC_WEIGHT_CACHE=1 "$d/bench_lpd" --device "${LPD_HART_DEVICE:-opencl}" --model-cache "$mc" "$@" ;;
    esac
    timeout -k 5 "$lim" "$@" >"$steps/$name.txt" 2>&1
    rc=$?
    cat "$steps/$name.txt" >>"$log"
    grep -E "^(RESULT|bench_lpd:|lpd_torch_bench:)|FAILED|Traceback|Error" "$steps/$name.txt" | cut -c1-400
    [ $rc = 124 ] || [ $rc = 137 ] && echo "  (timed out after ${lim}s; the rows above are complete)" | tee -a "$log"
    [ $rc != 0 ] && echo "  (exit status $rc)" | tee -a "$log"
    return 0
}

step info 60 sh -c "nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit --format=csv;
    $PY -c 'import torch; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, torch.cuda.get_device_name(0))';
    nproc; date -u"
case $plan in
smoke)
    step smoke_torch 120 T --model tiny --size 128 --group-sizes 1,2,3,5,7,9,11,12,14 --batch 1,2 --dtype bf16,fp32 --runs 2 --warmup 1 --split
    step smoke_torch_xl 120 T --model xl --depth 2 --size 256 --steps 20 --batch 1,4 --dtype bf16 --runs 2 --warmup 1
    step smoke_hart 120 H --model tiny --batch 1,2 --tc 1,0 --runs 2 --split
    step smoke_hart_xl 150 H --model xl --depth 2 --size 256 --steps 20 --batch 1,4 --tc 1,0 --runs 2 --split
    ;;
full)
    # 1. B=1 at the issue's configurations (the README's latency column), each model: original, then hart.c
    step torch_xl256_b1 100 T --model xl --size 256 --steps 20,32 --batch 1 --dtype bf16,fp32 --runs 5 --warmup 2 --split
    step hart_xl256_b1 150 H --model xl --size 256 --steps 20,32 --batch 1 --tc 1,0 --runs 5 --warmup 1 --split --max-seconds 5
    step torch_l256_b1 80 T --model l --size 256 --steps 20,32 --batch 1 --dtype bf16,fp32 --runs 5 --warmup 2 --split
    step hart_l256_b1 120 H --model l --size 256 --steps 20,32 --batch 1 --tc 1,0 --runs 5 --warmup 1 --split --max-seconds 4
    step torch_xl512_b1 80 T --model xl --size 512 --steps 48 --batch 1 --dtype bf16,fp32 --runs 5 --warmup 2 --split
    step hart_xl512_b1 120 H --model xl --size 512 --steps 48 --batch 1 --tc 1,0 --runs 3 --warmup 1 --split --max-seconds 8
    # 2. B=64 (throughput); hart.c with tensor cores here, the portable GEMM at the end if time is left
    step torch_xl256_b64 100 T --model xl --size 256 --steps 20,32 --batch 64 --dtype bf16,fp32 --runs 3 --warmup 1 --max-seconds 8
    step hart_xl256_b64 150 H --model xl --size 256 --steps 20,32 --batch 64 --tc 1 --runs 3 --warmup 1 --max-seconds 15
    step torch_l256_b64 80 T --model l --size 256 --steps 20,32 --batch 64 --dtype bf16,fp32 --runs 3 --warmup 1 --max-seconds 6
    step hart_l256_b64 120 H --model l --size 256 --steps 20,32 --batch 64 --tc 1 --runs 3 --warmup 1 --max-seconds 10
    # 3. latency vs steps, XL-256, B=1 (20 and 32 steps are in step 1)
    step torch_xl256_steps 80 T --model xl --size 256 --steps 256,64 --batch 1 --dtype bf16,fp32 --runs 3 --warmup 1
    step hart_xl256_steps 120 H --model xl --size 256 --steps 256,64 --batch 1 --tc 1 --runs 3 --warmup 1 --max-seconds 12
    # 4. XL-512 at B=64 (the largest: 2x64 rows x 1025 KV slots x 36 layers). hart.c: tokens and decode
    # timed apart, the decode in 2 calls of 32 (64 images of 512 px exceed the OpenCL kernels' 2^31 elements)
    step torch_xl512_b64 100 T --model xl --size 512 --steps 48 --batch 64 --dtype bf16,fp32 --runs 2 --warmup 1 --max-seconds 10
    step hart_xl512_b64 200 H --model xl --size 512 --steps 48 --batch 64 --tc 1 --runs 2 --warmup 1 --max-seconds 20 --split-only --decode-chunk 32
    # 5. if time is left: tensor cores with f16 copies of the weights kept (HART_CL_TC_WEIGHT_CACHE=1,
    # instead of converting every f32 weight on every call), then hart.c's portable f32 GEMM at B=64
    # and for the steps sweep
    step hart_xl256_b1_wcache 100 HW --model xl --size 256 --steps 20,32 --batch 1 --tc 1 --runs 5 --warmup 1 --max-seconds 5
    step hart_xl256_b64_f32 120 H --model xl --size 256 --steps 20 --batch 64 --tc 0 --runs 2 --warmup 1 --max-seconds 15
    step hart_xl256_steps_f32 100 H --model xl --size 256 --steps 256,64 --batch 1 --tc 0 --runs 2 --warmup 1 --max-seconds 10
    ;;
*) echo "lpd_gpu_run: unknown plan '$plan' (full or smoke)"; exit 2 ;;
esac
grep -h "^RESULT" "$log" >"$out/results.txt"
echo "=== done in $(($(date +%s) - t0)) s; $(wc -l <"$out/results.txt") RESULT lines in $out/results.txt"
cut -c1-300 "$out/results.txt"
