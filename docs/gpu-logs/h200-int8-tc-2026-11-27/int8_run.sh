#!/bin/sh
# device run for the int8 helper: correctness, GEMM speed, whole image per format
d=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp}
if ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
    mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 >/etc/OpenCL/vendors/nvidia.icd
fi
mkdir -p /tmp/hart-lib
. "$d/stage_libs.sh"
stage_unpack "$d"
export LD_LIBRARY_PATH="$d/lib:/tmp/hart-lib:${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d/lib/ocl"
export HART_CACHE_DIR=/tmp/hart-cache
T0=$(date +%s)
step() { echo "=== $1 ($(date -u +%H:%M:%S), +$(( $(date +%s) - T0 ))s)"; }
step info; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$out/info.txt"
step test_quant_ops
timeout ${T_TEST:-55} "$d/test_quant_ops" >"$out/quant_test.txt" 2>&1; echo "rc=$?" >>"$out/quant_test.txt"
grep -E "FAIL|PASSED|worst|rc=|tensor-core|acc\[" "$out/quant_test.txt" | head -20
step bench_qgemm
timeout ${T_QG:-40} "$d/bench_qgemm" --device opencl >"$out/quant_bench_gpu.txt" 2>&1; echo "rc=$?" >>"$out/quant_bench_gpu.txt"
grep -E "4096\^3|HART|rc=" "$out/quant_bench_gpu.txt" | grep -v "vs f16" | head -80 | cut -c1-110
step bench_hart
timeout ${T_HART:-60} "$d/bench_hart" --device opencl --size 1024 --layers 0 --warmup --quant ${QUANTS:-none,w8a8,w4a16,w4a8} >"$out/bench_hart_quant.txt" 2>&1
echo "rc=$?" >>"$out/bench_hart_quant.txt"
grep -E "RESULT|rc=|load|warm|written|rror" "$out/bench_hart_quant.txt"
step end
