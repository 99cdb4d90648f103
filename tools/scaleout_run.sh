#!/bin/sh
# Issue 17's scale-out measurements in ONE device call on a two-GPU NVIDIA machine (offline):
# `hart batch` images/s on one GPU and on both (--devices all) for HART at 1024 px (release
# config configs/hart-0.7b-1024px-llm.json) and LPD-XL at 256 px, the two-GPU folder checked
# against the one-GPU folder (same files byte for byte, same manifest, each image listed once),
# and `hart fid` throughput over 10,000 images on the GPU and on the CPU (all cores).
# All models have RANDOM weights written here by make_random_models (nothing of them travels):
# the same shapes and FLOPs as the releases (HART's text model: the Qwen2-1.5B shape with a
# 512-entry vocabulary; the FID Inception: the golden set's random weights, since the real
# pt_inception file is not available), so the figures are throughput, not image quality.
# From the repository root, with the folder of tools/scaleout_stage.sh carried:
#   sh tools/scaleout_run.sh [STAGE [PLAN]]      STAGE default build/scaleout-stage
#   PLAN full (default) | dry (no GPU: tiny models, CPU workers, 50 FID images; checks this script)
# Environment: SCALEOUT_BUDGET_S (default 540: no step starts after it), SCALEOUT_HART_N (32),
# SCALEOUT_HART_B (-b, 4), SCALEOUT_LPD_N (48), SCALEOUT_FID_N (10000), SCALEOUT_FID_B (-b, 64),
# SCALEOUT_FID_PROBE_GPU (1000) / _CPU (500): images of the probe whose rate decides whether all N fit,
# SCALEOUT_FID_DEV (the GPU FID device; default SCALEOUT_DEV1),
# SCALEOUT_DEV1 (one-device run; default the first GPU `hart info` lists), SCALEOUT_DEV2 (all).
# Each step has a timeout cut to the budget left; a failed step prints a FAILED line and the
# others still run. Output in $OUT (default /tmp/scaleout-out): scaleout.log (every step's
# full output, in order) and summary.txt (the table and the check lines, also printed last).
d=${1:-build/scaleout-stage}
plan=${2:-full}
out=${OUT:-/tmp/scaleout-out}
mkdir -p "$out"
budget=${SCALEOUT_BUDGET_S:-540}
t0=$(date +%s)
log=$out/scaleout.log
sum=$out/summary.txt
w=${SCALEOUT_WORK:-/tmp/scaleout-work} # models, images (gigabytes; not under $OUT)
steps=$w/steps
rm -rf "$w"
mkdir -p "$steps"
: >"$log"
: >"$sum"
d=$(cd "$d" 2>/dev/null && pwd) || { echo "scaleout_run: no folder ${1:-build/scaleout-stage} (run tools/scaleout_stage.sh)"; exit 1; }
H=$d/hart
G=$d/make_random_models
[ -x "$H" ] && [ -x "$G" ] || { echo "scaleout_run: $d/hart or $d/make_random_models missing (run tools/scaleout_stage.sh)"; exit 1; }

if [ "$plan" = full ]; then
    # NVIDIA OpenCL ICD (the CUDA image has the driver's libnvidia-opencl but no .icd file)
    if command -v nvidia-smi >/dev/null && ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
        mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 >/etc/OpenCL/vendors/nvidia.icd
    fi
    mkdir -p /tmp/hart-lib
    . "$d/stage_libs.sh"
    stage_unpack "$d"
    export LD_LIBRARY_PATH="$d/lib:/tmp/hart-lib:${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d/lib/ocl"
fi
export HART_CACHE_DIR="${HART_CACHE_DIR:-/tmp/hart-cache}"
PY=${PYTHON:-python3}
if [ "$plan" = dry ]; then
    hart_n=${SCALEOUT_HART_N:-8} hart_b=${SCALEOUT_HART_B:-2} lpd_n=${SCALEOUT_LPD_N:-6} fid_n=${SCALEOUT_FID_N:-8}
    fid_b=${SCALEOUT_FID_B:-4} probe_gpu=${SCALEOUT_FID_PROBE_GPU:-4} probe_cpu=${SCALEOUT_FID_PROBE_CPU:-4} dev1=${SCALEOUT_DEV1:-cpu} dev2=${SCALEOUT_DEV2:-cpu,cpu}
    fid_gpu=${SCALEOUT_FID_DEV:-cpu} # (PoCL runs the Inception at a few images per minute)
    hart_cfg=$d/data/hart-tiny-llm.json lpd_model=tiny lpd_px=128 lpd_steps="--group-sizes 1,2,3,5,7,9,11,12,14"
    tok_ch=32
else
    hart_n=${SCALEOUT_HART_N:-32} hart_b=${SCALEOUT_HART_B:-4} lpd_n=${SCALEOUT_LPD_N:-48} fid_n=${SCALEOUT_FID_N:-10000}
    fid_b=${SCALEOUT_FID_B:-64} probe_gpu=${SCALEOUT_FID_PROBE_GPU:-1000} probe_cpu=${SCALEOUT_FID_PROBE_CPU:-500} dev2=${SCALEOUT_DEV2:-all}
    dev1=${SCALEOUT_DEV1:-$("$H" info 2>/dev/null | sed -n 's/^ *device \(opencl:[0-9]*:[0-9]*\): .*\[GPU\].*/\1/p' | head -1)}
    dev1=${dev1:-opencl:0:0}
    fid_gpu=${SCALEOUT_FID_DEV:-$dev1} hart_cfg=$d/data/hart-0.7b-1024px-llm.json lpd_model=xl lpd_px=256 lpd_steps="" tok_ch=160
fi

left() { echo $((budget - ($(date +%s) - t0))); }
note() { echo "$*" | tee -a "$log" >>"$sum"; echo "$*"; }
# step NAME LIMIT_S command...: run with a timeout cut to the budget left; full output to
# $steps/NAME.txt and the log; returns the command's status (124: timed out, 125: skipped)
step() {
    sn=$1 slim=$2
    shift 2
    sl=$(left)
    if [ "$sl" -lt 15 ]; then
        note "FAILED $sn: SKIPPED (time budget of ${budget}s used up)"
        return 125
    fi
    [ "$slim" -gt "$sl" ] && slim=$sl
    echo "=== $sn (limit ${slim}s, $(date -u +%H:%M:%S) UTC, ${sl}s of the budget left)" | tee -a "$log"
    s0=$(date +%s.%N)
    timeout -k 5 "$slim" "$@" >"$steps/$sn.txt" 2>&1
    rc=$?
    secs=$(echo "$s0 $(date +%s.%N)" | awk '{printf "%.2f", $2 - $1}')
    cat "$steps/$sn.txt" >>"$log"
    tail -n 4 "$steps/$sn.txt" | cut -c1-300
    echo "  ($sn: exit $rc, ${secs}s)" | tee -a "$log"
    [ $rc = 124 ] || [ $rc = 137 ] && note "FAILED $sn: timed out after ${slim}s"
    [ $rc != 0 ] && [ $rc != 124 ] && [ $rc != 137 ] && note "FAILED $sn: exit status $rc ($(tail -n 1 "$steps/$sn.txt" | cut -c1-200))"
    return $rc
}
row() { note "| $1 | $2 | $3 | $4 | $5 | $6 |"; }
rate_of() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.3f", n / s; else print "-" }'; }
steady() { sed -n 's/^rate: \([0-9.]*\) images.*/\1/p' "$steps/$1.txt"; }

step info 30 sh -c "nvidia-smi --query-gpu=index,name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv 2>&1;
    echo cores: \$(nproc); $H info 2>&1 | grep -E 'device opencl|logical CPUs|BLAS:'; date -u"
grep -E "^[0-9]+, |cores:|device opencl" "$steps/info.txt" | sed 's/^/  /' >>"$sum"

# ---- models and images, written here (random weights; the image set for FID in parallel) ----
step pngs 120 "$PY" "$d/scaleout_pngs.py" "$w/fid-img" "$fid_n" 256 &
png_pid=$!
step lpd_model 120 "$G" lpd "$w/lpd" --model "$lpd_model" --size "$lpd_px" &
lpd_pid=$!
step fid_model 30 "$G" fid "$w/inception.safetensors" "$d/data/weights.txt"
step hart_model 150 "$G" hart "$w/hart" --config "$hart_cfg" --text-tokenizer "$d/data/tokenizer.json" --tok-ch "$tok_ch"
wait "$lpd_pid" "$png_pid"

# ---- batch: one device, then two, each after a warm-up run that fills the kernel cache ----
note ""
note "| what | devices | images | wall s (start-up incl.) | images/s (wall) | images/s (steady) |"
note "|---|---|---|---|---|---|"

# HART 1024 px: N prompts (one image each), -b B
i=0
: >"$w/prompts.txt"
while [ $i -lt "$hart_n" ]; do echo "a photo of object number $i on a wooden table, studio light" >>"$w/prompts.txt"; i=$((i + 1)); done
head -n "$hart_b" "$w/prompts.txt" >"$w/prompts-warm.txt" # the warm-up: one group
bench_batch_hart() {
    step hart_warmup 150 "$H" batch "$w/prompts-warm.txt" -m "$w/hart" -b "$hart_b" --devices "$dev1" -o "$w/hart-warm"
    for run in one two; do
        [ $run = one ] && devs=$dev1 || devs=$dev2
        nw=$(workers "$devs")
        if step "hart_$run" 240 "$H" batch "$w/prompts.txt" -m "$w/hart" -b "$hart_b" --devices "$devs" -o "$w/hart-$run"; then
            wall=$secs
            step "hart_${run}_rate" 30 "$PY" "$d/scaleout_check.py" rate "$w/hart-$run" "$hart_n" $((hart_b * nw))
            row "HART $(px_of hart) px batch -b $hart_b" "$devs ($nw)" "$hart_n" "${wall:--}" "$(rate_of "$hart_n" "${wall:-0}")" "$(steady "hart_${run}_rate")"
        fi
    done
    compare hart "$hart_n"
}
# LPD 256 px: classes 0..N/2-1, 2 images each (batch renders LPD images one at a time)
bench_batch_lpd() {
    L="-m $w/lpd/lpd.safetensors --vq $w/lpd/vq.safetensors $lpd_steps --seed 0"
    # shellcheck disable=SC2086 # $L and $lpd_steps are word lists on purpose
    step lpd_warmup 150 "$H" batch $L --classes 0 -n 1 --devices "$dev1" -o "$w/lpd-warm"
    for run in one two; do
        [ $run = one ] && devs=$dev1 || devs=$dev2
        nw=$(workers "$devs")
        # shellcheck disable=SC2086
        if step "lpd_$run" 200 "$H" batch $L --classes "0-$((lpd_n / 2 - 1))" -n 2 --devices "$devs" -o "$w/lpd-$run"; then
            wall=$secs
            step "lpd_${run}_rate" 30 "$PY" "$d/scaleout_check.py" rate "$w/lpd-$run" "$lpd_n" "$nw"
            row "LPD-$lpd_model $lpd_px px batch" "$devs ($nw)" "$lpd_n" "${wall:--}" "$(rate_of "$lpd_n" "${wall:-0}")" "$(steady "lpd_${run}_rate")"
        fi
    done
    compare lpd "$lpd_n"
}
# workers SPEC: how many worker processes --devices SPEC starts
workers() {
    if [ "$1" = all ]; then
        n=$("$H" info 2>/dev/null | grep -c '^ *device opencl:.*\[GPU\]')
        [ "$n" -gt 0 ] || n=$("$H" info 2>/dev/null | grep -c '^ *device opencl:')
        echo "$n"
    else echo "$1" | tr ',' '\n' | grep -c .; fi
}
px_of() { [ "$plan" = dry ] && echo 128 || echo 1024; }
compare() {
    kind=$1 n=$2
    if step "${kind}_same" 120 "$PY" "$d/scaleout_check.py" same "$w/$kind-one" "$w/$kind-two" "$n"; then
        note "OK $kind: the two-device folder equals the one-device folder"
    fi
    sed -n 's/^same: /  /p' "$steps/${kind}_same.txt" | tee -a "$sum"
    step "${kind}_merge" 60 "$H" batch --merge "$w/$kind-two" --verify -o "$w/$kind-merged.jsonl" &&
        note "OK $kind: hart batch --merge --verify: $(grep -v '^ *$' "$steps/${kind}_merge.txt" | tail -n 1 | cut -c1-160)"
}

bench_batch_hart
bench_batch_lpd

# ---- hart fid on each device: a probe on the first images (on the GPU also the kernel build),
# then all of them if the probe's rate says they fit in the budget left ----
sub() { # sub K: a folder of links to the first K images
    mkdir -p "$w/fid-$1"
    ls "$w/fid-img" | head -n "$1" | while read -r f; do ln -sf "$w/fid-img/$f" "$w/fid-$1/$f"; done
    echo "$w/fid-$1"
}
# fid_dev NAME DEVICE LABEL PROBE_N WARM_N [--row-probe]: WARM_N > 0: an untimed run first (kernel build)
fid_dev() {
    name=$1 dev=$2 label=$3 k=$(($4 < fid_n ? $4 : fid_n)) wn=$(($5 < fid_n ? $5 : fid_n)) rp=$6
    # shellcheck disable=SC2086 # $F is a word list on purpose
    [ "$wn" -gt 0 ] && { step "${name}_warmup" 150 "$H" fid $F -d "$dev" --save-stats "$w/${name}_warm.npz" "$(sub "$wn")" || return 0; }
    # shellcheck disable=SC2086 # $F is a word list on purpose
    step "${name}_probe" 150 "$H" fid $F -d "$dev" --save-stats "$w/${name}_probe.npz" "$(sub "$k")" || return 0
    psecs=$secs
    if [ "$k" -ge "$fid_n" ]; then # the probe was the whole set
        cp "$w/${name}_probe.npz" "$w/$name.npz"
        row "hart fid --save-stats (-b $fid_b)" "$label" "$fid_n" "$psecs" "$(rate_of "$fid_n" "$psecs")" "-"
        return 0
    fi
    [ "$rp" = --row-probe ] && row "hart fid --save-stats (-b $fid_b), probe" "$label" "$k" "$psecs" "$(rate_of "$k" "$psecs")" "-"
    need=$(awk -v p="$psecs" -v n="$fid_n" -v k="$k" 'BEGIN { printf "%d", p * n / k * 1.2 + 10 }')
    if [ "$need" -ge "$(left)" ]; then
        note "FAILED $name: $fid_n images need about ${need}s by the probe, $(left)s left: the probe row is the figure"
        [ "$rp" = --row-probe ] || row "hart fid --save-stats (-b $fid_b), probe" "$label" "$k" "$psecs" "$(rate_of "$k" "$psecs")" "-"
        return 0
    fi
    # shellcheck disable=SC2086
    step "$name" "$need" "$H" fid $F -d "$dev" --save-stats "$w/$name.npz" "$w/fid-img" &&
        row "hart fid --save-stats (-b $fid_b)" "$label" "$fid_n" "$secs" "$(rate_of "$fid_n" "$secs")" "-"
}
F="-m $w/inception.safetensors -b $fid_b -q"
fid_dev fid_gpu "$fid_gpu" "$fid_gpu" "$probe_gpu" 64
fid_dev fid_cpu cpu "cpu ($(nproc) cores)" "$probe_cpu" 0 --row-probe
if [ -f "$w/fid_gpu.npz" ] && [ -f "$w/fid_cpu.npz" ]; then
    step fid_gpu_vs_cpu 60 "$H" fid "$w/fid_gpu.npz" "$w/fid_cpu.npz" &&
        note "OK fid: FID between the GPU and the CPU statistics of the same $fid_n images: $(grep FID "$steps/fid_gpu_vs_cpu.txt")"
fi

note ""
note "(wall: the whole command, start-up included: fork, model load, kernels from the warm cache; steady: file"
note " times after every worker's first group, tools/scaleout_check.py; fid: the whole command, $((fid_n)) PNGs of 256x256)"
echo "=== summary ($(($(date +%s) - t0))s used)"
cat "$sum"
