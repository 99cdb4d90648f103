#!/bin/sh
# `hart fid` against pytorch-fid (PyPI pytorch-fid 0.3.0, its own calculate_activation_statistics)
# on one NVIDIA GPU machine, offline, in one device call:
#   - N PNGs of 256x256 (tools/scaleout_pngs.py) and the FID Inception with the golden set's
#     random weights (make_random_models fid; the release file is not at hand), used by both;
#   - GPU: hart fid over all N (f16, the GPU default; after an untimed 64-image run that builds
#     the kernels), then pytorch-fid over the same N on cuda (its default: TF32 convolutions);
#     the FID between the two statistics; accuracy: over the first ACC_N images, the FID of
#     pytorch-fid TF32, hart fid f16 and hart fid f32 each against pytorch-fid in float32;
#     pytorch-fid TF32 vs float32 on the golden fid-tiny sets (tools/fid_golden_tf32.py);
#     hart fid -v on PROFILE_N images with HART_CL_PROFILE=1 (phase and per-kernel times);
#   - CPU (all cores): hart fid and pytorch-fid over the first CPU_N images.
# From the repository root, with build/scaleout-stage (tools/scaleout_stage.sh) and the
# pytorch-fid wheel (.whl/pytorch_fid-0.3.0-py3-none-any.whl) carried:
#   sh tools/fid_side_by_side.sh [STAGE]
# Environment: FID_SBS_N (10000), FID_SBS_B (64), FID_SBS_CPU_N (512), FID_SBS_PROFILE_N (1024),
# FID_SBS_BUDGET_S (540: no step starts after it), FID_SBS_DEV (the first GPU `hart info` lists),
# FID_SBS_ACC_N (2000), FID_SBS_STEPS (default: all of gpu torch_gpu cross acc_torch32 acc_torch_tf32
# acc_ours16 acc_ours32 golden_tf32 profile cpu torch_cpu).
# Output in $OUT: fid_sbs.log (every step's output) and summary.txt (the rows, printed last).
d=${1:-build/scaleout-stage}
out=${OUT:-/tmp/fid-sbs-out}
mkdir -p "$out"
budget=${FID_SBS_BUDGET_S:-540}
n=${FID_SBS_N:-10000} b=${FID_SBS_B:-64} cpu_n=${FID_SBS_CPU_N:-512} prof_n=${FID_SBS_PROFILE_N:-1024} acc_n=${FID_SBS_ACC_N:-2000}
steps=${FID_SBS_STEPS:-gpu torch_gpu cross acc_torch32 acc_torch_tf32 acc_ours16 acc_ours32 golden_tf32 profile cpu torch_cpu}
t0=$(date +%s)
log=$out/fid_sbs.log sum=$out/summary.txt
w=${FID_SBS_WORK:-/tmp/fid-sbs-work}
: >"$log"
: >"$sum"
d=$(cd "$d" 2>/dev/null && pwd) || { echo "fid_side_by_side: no folder ${1:-build/scaleout-stage} (run tools/scaleout_stage.sh)"; exit 1; }
H=$d/hart
if command -v nvidia-smi >/dev/null && ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
    mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 >/etc/OpenCL/vendors/nvidia.icd
fi
. "$d/stage_libs.sh"
stage_unpack "$d"
export LD_LIBRARY_PATH="$d/lib:/tmp/hart-lib:${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d/lib/ocl"
export HART_CACHE_DIR="${HART_CACHE_DIR:-/tmp/hart-cache}"
if ls .whl/pytorch_fid-*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/fid-site .whl/pytorch_fid-*.whl
    export PYTHONPATH=/tmp/fid-site${PYTHONPATH:+:$PYTHONPATH}
fi
dev=${FID_SBS_DEV:-$("$H" info 2>/dev/null | sed -n 's/^ *device \(opencl:[0-9]*:[0-9]*\): .*\[GPU\].*/\1/p' | head -1)}
dev=${dev:-opencl:0:0}
left() { echo $((budget - ($(date +%s) - t0))); }
note() { echo "$*" >>"$sum"; echo "$*" | tee -a "$log"; }
# run NAME LIMIT command...: output to $w/NAME.txt and the log, wall seconds in $secs
run() {
    rn=$1 rl=$2
    shift 2
    case " $steps " in *" $rn "*) ;; *) case $rn in prep_*|warm) ;; *) return 125 ;; esac ;; esac
    sl=$(left)
    [ "$sl" -lt 15 ] && { note "SKIPPED $rn (budget used up)"; return 125; }
    [ "$rl" -gt "$sl" ] && rl=$sl
    echo "=== $rn (limit ${rl}s, ${sl}s left): $*" | tee -a "$log"
    s0=$(date +%s.%N)
    timeout "$rl" "$@" >"$w/$rn.txt" 2>&1
    rc=$?
    secs=$(echo "$s0 $(date +%s.%N)" | awk '{printf "%.2f", $2 - $1}')
    cat "$w/$rn.txt" >>"$log"
    echo "--- $rn: rc $rc, ${secs}s" | tee -a "$log"
    [ $rc -eq 0 ] || note "FAILED $rn: rc $rc after ${secs}s"
    return $rc
}
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s }'; }
sub() { # a folder of links to the first $1 images
    mkdir -p "$w/first-$1"
    ls "$w/img" | head -n "$1" | while read -r f; do ln -sf "$w/img/$f" "$w/first-$1/$f"; done
    echo "$w/first-$1"
}

rm -rf "$w"
mkdir -p "$w"
note "fid side by side, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1), $(nproc) CPU cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)), device $dev"
note "hart info: $("$H" info 2>/dev/null | grep -E 'BLAS core' | tr -s ' ' | tr '\n' ';')"
run prep_pngs 200 python3 "$d/scaleout_pngs.py" "$w/img" "$n" 256 || exit 1
run prep_model 60 "$d/make_random_models" fid "$w/inc.safetensors" "$d/data/weights.txt" || exit 1
F="-m $w/inc.safetensors -b $b"
TB="python3 tools/pytorch_fid_bench.py $w/inc.safetensors"
fidof() { "$H" fid "$1" "$2" 2>/dev/null | sed -n 's/^FID: //p'; }
# speed: hart fid (f16, the GPU default) and pytorch-fid (its default: TF32 convolutions) over all N
run warm 240 "$H" fid $F -d "$dev" -q --save-stats "$w/warm.npz" "$(sub 64)"
run gpu 400 "$H" fid $F -d "$dev" -v --save-stats "$w/ours_gpu.npz" "$w/img" &&
    note "hart fid -b $b, $dev (f16): $n images, $secs s whole command = $(rate "$n" "$secs") images/s; $(grep 'images/s' "$w/gpu.txt")"
run torch_gpu 300 $TB "$w/img" "$w/torch_gpu.npz" --device cuda --batch "$b" &&
    note "pytorch-fid -b $b, cuda (TF32 convolutions, its default): $(grep '^pytorch-fid' "$w/torch_gpu.txt"); whole process $secs s"
[ -f "$w/ours_gpu.npz" ] && [ -f "$w/torch_gpu.npz" ] && run cross 60 "$H" fid "$w/ours_gpu.npz" "$w/torch_gpu.npz" &&
    note "FID(hart fid f16, pytorch-fid TF32) over the same $n images = $(sed -n 's/^FID: //p' "$w/cross.txt")"
# numerical noise: the same ACC_N images in every mode, each FID against pytorch-fid in float32
S=$(sub "$acc_n")
run acc_torch32 200 $TB "$S" "$w/t32.npz" --device cuda --batch "$b" --no-tf32 &&
    run acc_torch_tf32 200 $TB "$S" "$w/ttf.npz" --device cuda --batch "$b" &&
    run acc_ours16 200 "$H" fid $F -d "$dev" -q --save-stats "$w/o16.npz" "$S" &&
    run acc_ours32 300 "$H" fid $F -d "$dev" --precision f32 -v --save-stats "$w/o32.npz" "$S" &&
    note "accuracy over $acc_n images, FID against pytorch-fid float32 (cuda, TF32 off): pytorch-fid TF32 $(fidof "$w/ttf.npz" "$w/t32.npz"), hart fid f16 $(fidof "$w/o16.npz" "$w/t32.npz"), hart fid f32 $(fidof "$w/o32.npz" "$w/t32.npz"); (f32 run: $(grep 'images/s' "$w/acc_ours32.txt"))"
run golden_tf32 120 python3 tools/fid_golden_tf32.py "$w/inc.safetensors" "$H" && cat "$w/golden_tf32.txt" >>"$sum"
HART_CL_PROFILE=1 run profile 120 "$H" fid $F -d "$dev" -v --save-stats "$w/prof.npz" "$(sub "$prof_n")" &&
    note "profile ($prof_n images, f16, HART_CL_PROFILE=1): $(grep 'images/s' "$w/profile.txt")" &&
    grep -A14 'kernel time by kernel' "$w/profile.txt" >>"$sum"
run cpu 200 "$H" fid $F -d cpu -v --save-stats "$w/ours_cpu.npz" "$(sub "$cpu_n")" &&
    note "hart fid -b $b, cpu: $cpu_n images, $secs s = $(rate "$cpu_n" "$secs") images/s; $(grep 'images/s' "$w/cpu.txt")"
run torch_cpu 200 $TB "$(sub "$cpu_n")" "$w/torch_cpu.npz" --device cpu --batch "$b" &&
    note "pytorch-fid -b $b, cpu: $(grep '^pytorch-fid' "$w/torch_cpu.txt")"
echo "===== summary"
cat "$sum"
