#!/bin/sh
# Run staged OpenCL binaries (tools/gpu_stage.sh) on an NVIDIA GPU machine.
#   sh DIR/gpu_run.sh DIR step...   steps: info bench[:sizes,...] ptx test tctest tune cache
# Logs go to $OUT (if set) as well as stdout.
d=$1
shift
out=${OUT:-/tmp}
if ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
    mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 >/etc/OpenCL/vendors/nvidia.icd
fi
export LD_LIBRARY_PATH="$d/lib:${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d/lib/ocl"
export HART_CACHE_DIR=${HART_CACHE_DIR:-/tmp/hart-cache} HART_BENCH_PEAK_TFLOPS=${HART_BENCH_PEAK_TFLOPS:-989.4}
export HART_DEVICE=${HART_DEVICE:-opencl}
for step in "$@"; do
    echo "=== $step ($(date -u +%H:%M:%S))"
    case $step in
    info)
        ldd "$d/bench_opencl_gemm" | grep -E "not found|OpenCL|blas"
        nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw,power.limit --format=csv
        date -u ;;
    bench*)
        sizes=$(echo "$step" | sed -n 's/^bench://p' | tr , ' ')
        # shellcheck disable=SC2086
        timeout 300 "$d/bench_opencl_gemm" $sizes 2>&1 | tee -a "$out/bench.txt" ;;
    ptx)
        for f in "$HART_CACHE_DIR"/cl-*.bin; do
            if grep -q nv_hgemm "$f"; then
                tail -c +25 "$f" | tr -d '\000' | sed "s/, texmode_independent//; /^\.metadata_section/,\$d" >/tmp/hg.ptx
                cp /tmp/hg.ptx "$out/hgemm.ptx"
                [ -x /usr/local/cuda/bin/ptxas ] && /usr/local/cuda/bin/ptxas -arch=sm_90 -v /tmp/hg.ptx -o /tmp/hg.cubin 2>&1 | grep -E "Compiling|registers|spill|error" | tee "$out/ptxas.txt"
            fi
        done ;;
    test)
        timeout 300 "$d/test_opencl_ops" 2>&1 | tee "$out/test_portable.txt" | tail -5 ;;
    tctest)
        HART_CL_TENSOR_CORES=1 timeout 300 "$d/test_opencl_ops" 2>&1 | tee "$out/test_tc.txt" | grep -E "rel err [0-9.e-]+|OK|FAIL|PASS" | tail -40 ;;
    tune)
        [ -x "$d/test_opencl_tune" ] && timeout 120 "$d/test_opencl_tune" 2>&1 | tail -5 ;;
    cache)
        ls -la "$HART_CACHE_DIR"; cp "$HART_CACHE_DIR"/tune-*.txt "$out/" 2>/dev/null; cat "$HART_CACHE_DIR"/tune-*.txt ;;
    *)
        echo "unknown step $step" ;;
    esac
done
