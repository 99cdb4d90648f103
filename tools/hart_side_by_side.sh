#!/bin/sh
# HART side by side on one NVIDIA GPU machine (offline), in one call: hart.c's own code
# path (bench_hart -> hart_t2i_generate on OpenCL; tensor cores on with
# HART_CL_TENSOR_CORES=1, and the default) and the ORIGINAL PyTorch HART
# (tools/hart_torch_bench.py, fp16 autocast as its latency_profile.py), random weights,
# both llm configs, text encoder excluded, decode to pixels included. From the
# repository root, with the folder of tools/hart_gpu_stage.sh carried:
#   sh tools/hart_side_by_side.sh [STAGE [PLAN]]        STAGE default build/hart-stage
#   PLAN  main  (default) 1024 px, B=1 and B=4, both configs, both implementations
#         release  1024 px, B=1 and B=4, the release config only (both implementations;
#               ~300 s: fits beside other work in one device call)
#         more  512 px rows, then the text encoder and DC-AE rows
#         all   main, then more, as far as the budget goes
#         smoke small shapes (~2 min): checks the staging, the kernel build and the shims
#         dry   no GPU needed: CPU backend and --device cpu, tiny shapes (checks this script)
# Environment: HART_SBS_BUDGET_S (default 540: the whole run stops starting steps after
# it; one device call allows 600 s), HART_SBS_RUNS (bench_hart timed runs at B=1,
# default 2), HART_SBS_OURS_ARGS (extra bench_hart arguments, e.g. a precision flag),
# HART_SBS_KERNELS (auto | standin: the original's CUDA extension, see
# hart_torch_bench.py), PYTHON (default python3).
# Every step has a timeout (cut to the budget left) and its own log; a failed or timed-out
# step costs only its own rows. Output in $OUT (default /tmp/hart-sbs):
#   sbs.log      every step's full output, in order
#   results.txt  the RESULT lines (both implementations)
#   table.md     tools/side_by_side_table.py's markdown table (ratio ours / original)
d=${1:-build/hart-stage}
plan=${2:-main}
out=${OUT:-/tmp/hart-sbs}
mkdir -p "$out"
budget=${HART_SBS_BUDGET_S:-540}
runs1=${HART_SBS_RUNS:-2}
t0=$(date +%s)
log=$out/sbs.log
steps=/tmp/hart-sbs-steps # one file per step (the device tool brings back at most 8 files from $OUT)
mkdir -p "$steps"
: >"$log"
[ -x "$d/bench_hart" ] || { echo "hart_side_by_side: $d/bench_hart missing (run tools/hart_gpu_stage.sh and carry $d)"; exit 1; }
[ -f "$d/hart-src/hart/modules/networks/basic_hart.py" ] || { echo "hart_side_by_side: $d/hart-src lacks the original's hart package"; exit 1; }
cfg_dir=configs
[ -f $cfg_dir/hart-0.7b-1024px-llm.json ] || cfg_dir=$d/configs
rel=$cfg_dir/hart-0.7b-1024px-llm.json
d16=$cfg_dir/hart-0.7b-1024px-llm-depth16-adaln.json

# NVIDIA OpenCL ICD (the CUDA image has the driver's libnvidia-opencl but no .icd file)
if command -v nvidia-smi >/dev/null && ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
    mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 >/etc/OpenCL/vendors/nvidia.icd
fi
mkdir -p /tmp/hart-lib
. "$(dirname "$0")/stage_libs.sh"
stage_unpack "$d"
export LD_LIBRARY_PATH="$d/lib:/tmp/hart-lib:${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d/lib/ocl"
export HART_CACHE_DIR="${HART_CACHE_DIR:-/tmp/hart-cache}" HART_CONFIG_DIR="${HART_CONFIG_DIR:-$PWD/configs}"
export PYTHONUNBUFFERED=1 PATH="$PATH:/usr/local/cuda/bin" # nvcc, for the original's extension
unset HART_CL_TENSOR_CORES # set per step
PY=${PYTHON:-python3}
kdir=/tmp/hart-fused-kernels
dev=opencl
[ "$plan" = dry ] && dev=cpu

left() { echo $((budget - ($(date +%s) - t0))); }
# step NAME LIMIT_S KIND args...: KIND tc | default (bench_hart with/without tensor cores),
# torch (hart_torch_bench.py), cmd (a command line as it stands)
step() {
    name=$1 lim=$2 kind=$3
    shift 3
    l=$(left)
    if [ "$l" -lt 25 ]; then
        echo "=== $name: SKIPPED (time budget of ${budget}s used up)" | tee -a "$log"
        return 0
    fi
    [ "$lim" -gt "$l" ] && lim=$l
    echo "=== $name (limit ${lim}s, $(date -u +%H:%M:%S) UTC, ${l}s of the budget left)" | tee -a "$log"
    # shellcheck disable=SC2086 # HART_SBS_OURS_ARGS is split into words on purpose
    case $kind in
    tc) set -- env HART_CL_TENSOR_CORES=1 "$d/bench_hart" --device "$dev" --layers 0 --warmup "$@" $HART_SBS_OURS_ARGS ;;
    default) set -- "$d/bench_hart" --device "$dev" --layers 0 --warmup "$@" $HART_SBS_OURS_ARGS ;;
    tcx) set -- env HART_CL_TENSOR_CORES=1 "$@" ;;
    torch) set -- "$PY" "$d/hart_torch_bench.py" --src "$d/hart-src" --kernels "${HART_SBS_KERNELS:-auto}" \
        --kernel-dir "$kdir" "$@" ;;
    cmd) ;;
    esac
    timeout -k 5 "$lim" "$@" >"$steps/$name.txt" 2>&1
    rc=$?
    cat "$steps/$name.txt" >>"$log"
    grep -E "^(RESULT|bench_hart:|hart_torch_bench:|qwen2|dcae|DC-AE|  whole batch|  split|measured|full model)|FAILED|Traceback|rror" \
        "$steps/$name.txt" | cut -c1-400
    if [ $rc = 124 ] || [ $rc = 137 ]; then echo "  (timed out after ${lim}s; rows printed before are complete)" | tee -a "$log"
    elif [ $rc != 0 ]; then echo "  (exit status $rc)" | tee -a "$log"; fi
    return 0
}

# the original's CUDA extension, compiled in the background while the first hart.c rows run
# (a CPU job next to a GPU benchmark: niced); the torch steps wait for it
kernel_build_start() {
    [ "${HART_SBS_KERNELS:-auto}" = standin ] && return 0
    [ -f "$kdir/STATUS" ] && return 0
    command -v nvcc >/dev/null || { mkdir -p "$kdir"; echo "failed: no nvcc" >"$kdir/STATUS"; return 0; }
    echo "=== kernel_build (background, limit 300s, $(date -u +%H:%M:%S) UTC)" | tee -a "$log"
    (timeout -k 5 300 nice "$PY" "$d/hart_torch_bench.py" --build-kernels --src "$d/hart-src" --kernel-dir "$kdir" \
        >"$steps/kernel_build.txt" 2>&1) &
    kpid=$!
}
kernel_build_wait() {
    [ -n "$kpid" ] || return 0
    echo "=== waiting for the kernel build ($(date -u +%H:%M:%S) UTC)" | tee -a "$log"
    wait "$kpid"
    kpid=
    [ -f "$kdir/STATUS" ] || { mkdir -p "$kdir"; echo "failed: timed out or killed" >"$kdir/STATUS"; }
    cat "$steps/kernel_build.txt" >>"$log" 2>/dev/null
    echo "  kernel build: $(cat "$kdir/STATUS")" | tee -a "$log"
}

[ "$plan" = dry ] || step info 60 cmd sh -c "nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit --format=csv;
    $PY -c 'import torch, transformers; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, torch.cuda.get_device_name(0), \"transformers\", transformers.__version__)';
    $PY -c 'import diffusers; print(\"diffusers\", diffusers.__version__)' 2>&1 | tail -1;
    nvcc --version 2>&1 | tail -1; nproc; date -u"
[ "$plan" = dry ] || kernel_build_start

kernel_build_running() { [ -n "$kpid" ] && kill -0 "$kpid" 2>/dev/null; }

main_rows() {
    # 1. hart.c, tensor cores, B=1 (the kernel build runs beside these; B=4 too while it lasts)
    step ours_tc_rel_1024_b1 120 tc --config "$rel" --size 1024 --batch 1 --runs "$runs1"
    step ours_tc_d16_1024_b1 120 tc --config "$d16" --size 1024 --batch 1 --runs "$runs1"
    b4=0
    if kernel_build_running; then
        step ours_tc_rel_1024_b4 150 tc --config "$rel" --size 1024 --batch 4 --runs 1
        step ours_tc_d16_1024_b4 150 tc --config "$d16" --size 1024 --batch 4 --runs 1
        b4=1
    fi
    # 2. the original, 1024 px, B=1 and 4, both configs, with the stage split
    kernel_build_wait
    step torch_1024 200 torch --config "$rel,$d16" --size 1024 --batch 1,4 --runs 5 --warmup 2 --split \
        --split-runs 3 --max-seconds 8
    # 3. hart.c, tensor cores, B=4 (if not run yet); then the default (portable f32 GEMM)
    if [ $b4 = 0 ]; then
        step ours_tc_rel_1024_b4 150 tc --config "$rel" --size 1024 --batch 4 --runs 1
        step ours_tc_d16_1024_b4 150 tc --config "$d16" --size 1024 --batch 4 --runs 1
    fi
    step ours_def_rel_1024_b1 120 default --config "$rel" --size 1024 --batch 1 --runs 1
    step ours_def_d16_1024_b1 120 default --config "$d16" --size 1024 --batch 1 --runs 1
    step ours_def_rel_1024_b4 150 default --config "$rel" --size 1024 --batch 4 --runs 1
    step ours_def_d16_1024_b4 150 default --config "$d16" --size 1024 --batch 4 --runs 1
}
more_rows() {
    step ours_tc_rel_512 120 tc --config "$rel" --size 512 --batch 1 --runs "$runs1"
    step ours_tc_d16_512 120 tc --config "$d16" --size 512 --batch 1 --runs "$runs1"
    kernel_build_running && step ours_tc_rel_512_b4 120 tc --config "$rel" --size 512 --batch 4 --runs 1 && b4_512=1
    kernel_build_wait
    step torch_512 150 torch --config "$rel,$d16" --size 512 --batch 1,4 --runs 5 --warmup 2 --split --split-runs 3 \
        --max-seconds 5
    [ -n "$b4_512" ] || step ours_tc_rel_512_b4 120 tc --config "$rel" --size 512 --batch 4 --runs 1
    step ours_tc_d16_512_b4 120 tc --config "$d16" --size 512 --batch 4 --runs 1
    # text encoder and DC-AE: the PyTorch counterparts (if transformers / diffusers are there), then ours
    step torch_extra 120 torch --no-hart --extra qwen2,dcae --runs 5
    [ -x "$d/bench_qwen2" ] && step ours_qwen2_tc 120 tcx "$d/bench_qwen2" --device opencl --layers 28 --batch 2 --reps 3
    [ -x "$d/bench_dcae" ] && step ours_dcae_tc 120 tcx "$d/bench_dcae" --device opencl --size 1024 --no-hart
    step ours_def_rel_512 100 default --config "$rel" --size 512 --batch 1 --runs 1
    step ours_def_d16_512 100 default --config "$d16" --size 512 --batch 1 --runs 1
    [ -x "$d/bench_qwen2" ] && step ours_qwen2_def 120 cmd "$d/bench_qwen2" --device opencl --layers 28 --batch 2 --reps 3
    [ -x "$d/bench_dcae" ] && step ours_dcae_def 120 cmd "$d/bench_dcae" --device opencl --size 1024 --no-hart
    return 0
}

release_rows() {
    step ours_tc_rel_1024_b1 120 tc --config "$rel" --size 1024 --batch 1 --runs "$runs1"
    step ours_tc_rel_1024_b4 120 tc --config "$rel" --size 1024 --batch 4 --runs 1
    kernel_build_wait
    step torch_1024 150 torch --config "$rel" --size 1024 --batch 1,4 --runs 5 --warmup 2 --split \
        --split-runs 3 --max-seconds 8
    step ours_tc_d16_1024_b1 100 tc --config "$d16" --size 1024 --batch 1 --runs "$runs1"
}

case $plan in
main) main_rows ;;
release) release_rows ;;
more) more_rows ;;
all) main_rows; more_rows ;;
smoke)
    kernel_build_wait
    step smoke_torch 150 torch --config "$rel,$d16" --tiny --size 64 --batch 1,2 --runs 2 --warmup 1 --split --split-runs 1 \
        --extra qwen2 --dtype fp16
    step smoke_torch_full 150 torch --config "$rel" --size 512 --batch 1 --runs 2 --warmup 1 --split --split-runs 1
    step smoke_ours_tc 120 tc --small --size 256 --batch 2 --runs 1
    step smoke_ours_512 150 tc --config "$rel" --size 512 --batch 1 --runs 1
    ;;
dry)
    step dry_torch 600 torch --device cpu --tiny --config "$rel,$d16" --size 64 --batch 1,2 --runs 1 --warmup 1 --split \
        --split-runs 1 --dtype fp32 --extra qwen2
    step dry_ours_tc 300 tc --small --size 256 --batch 1 --runs 1
    step dry_ours_def 300 default --small --size 256 --batch 2 --runs 1
    ;;
*) echo "hart_side_by_side: unknown plan '$plan' (main, more, all, smoke or dry)"; exit 2 ;;
esac
[ -n "$kpid" ] && kill "$kpid" 2>/dev/null
grep -h "^RESULT" "$log" >"$out/results.txt"
script_dir=$(dirname "$0")
tbl=$script_dir/side_by_side_table.py
[ -f "$tbl" ] || tbl=$d/side_by_side_table.py
$PY "$tbl" "$log" >"$out/table.md" 2>&1 && cat "$out/table.md"
echo "=== done in $(($(date +%s) - t0)) s; $(wc -l <"$out/results.txt") RESULT lines in $out/results.txt"
