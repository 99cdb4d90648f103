# lead's call C: GEMM (wgmma vs mma.sync), flash attention dense/sparse, decoder im2col vs implicit, release side by side again
d=build/hart-stage
. $d/stage_libs.sh; stage_unpack $d
mkdir -p /etc/OpenCL/vendors; grep -qs nvidia /etc/OpenCL/vendors/*.icd || echo libnvidia-opencl.so.1 >/etc/OpenCL/vendors/nvidia.icd
export LD_LIBRARY_PATH="$d/lib:/tmp/hart-lib:$d/lib/ocl" HART_CACHE_DIR=/tmp/hart-cache HART_BENCH_PEAK_TFLOPS=989.4
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
echo "=== gemm"; HART_CL_VERBOSE=1 HART_BENCH_SHAPES=4096x4096x4096,4096x4608x1536,4096x1536x1536,4096x8192x1536,4096x1536x4096 timeout 110 $d/bench_opencl_gemm 4096 >$OUT/gemm.txt 2>&1; grep -v "^  variant" $OUT/gemm.txt | tail -40
echo "=== flash"; for s in 512 1024; do HART_CL_TENSOR_CORES=1 timeout 60 $d/bench_sparse_attn --device opencl --size $s --precision f16 --policies none --reps 5; done >$OUT/flash.txt 2>&1
HART_CL_TENSOR_CORES=1 timeout 100 $d/bench_sparse_attn --device opencl --size 1024 --precision f16 --policies local:1,local:2,xattn:0.9,quest:8 --reps 3 >>$OUT/flash.txt 2>&1; tail -40 $OUT/flash.txt
echo "=== decoder"; for nc in 1 ""; do echo "--- HART_CL_NO_IMPLICIT_CONV=$nc"; HART_CL_NO_IMPLICIT_CONV=$nc timeout 60 $d/bench_vae --device opencl --size 1024 --runs 3 --batch 1; done >$OUT/decoder.txt 2>&1; grep -v "^$" $OUT/decoder.txt | tail -16
echo "=== sbs"; HART_SBS_BUDGET_S=170 sh tools/hart_side_by_side.sh $d release 2>&1 | grep -E "^\| hart|RESULT|===" | tail -14
