#!/bin/sh
# Run staged OpenCL binaries (tools/gpu_stage.sh) on an NVIDIA GPU machine.
#   sh DIR/gpu_run.sh DIR step...   steps: info bench[:sizes,...] ptx test tctest wgmma flash blockmask decoders quant tune models golden precision cache
# Logs go to $OUT (if set) as well as stdout.
d=$1
shift
out=${OUT:-/tmp}
if ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
    mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 >/etc/OpenCL/vendors/nvidia.icd
fi
mkdir -p /tmp/hart-lib
. "$(dirname "$0")/stage_libs.sh"
stage_unpack "$d"
export LD_LIBRARY_PATH="$d/lib:/tmp/hart-lib:${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d/lib/ocl"
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
    quant)
        # quantized GEMM (docs/quant.md): every int8 kernel variant bit-exact (portable, dp4a, mma),
        # then the benchmark (int8 vs the f16 tensor-core GEMM, W4A16 at small M); the host CPU's
        # int8 kernels (VNNI where the CPU has it) with the same test and the CPU benchmark
        timeout 300 "$d/test_quant_ops" 2>&1 | tee "$out/quant_test.txt" | grep -E "kernel|variant|OK|FAIL|PASS|worst" ;
        timeout 400 "$d/bench_qgemm" --device opencl 2>&1 | tee "$out/quant_bench_gpu.txt" ;
        timeout 300 "$d/bench_qgemm" --device cpu --quick 2>&1 | tee "$out/quant_bench_cpu.txt" ;;
    wgmma)
        # Hopper wgmma GEMM (src/backend/opencl/cl_wgmma*.c): host checks, the device test with
        # tensor cores, and the f16 GEMM at 4096^3 and HART's release shapes (M x N x K)
        [ -x "$d/test_wgmma_ptx" ] && timeout 30 "$d/test_wgmma_ptx" 2>&1 | tail -3
        HART_CL_VERBOSE=1 HART_CL_TENSOR_CORES=1 timeout 120 "$d/test_opencl_ops" 2>&1 | tee "$out/test_wgmma.txt" |
            grep -E "wg_hgemm|wgmma|FAIL|PASSED" | tail -40
        HART_CL_VERBOSE=1 HART_BENCH_SHAPES=${WG_SHAPES:-4096x4096x4096,4096x4608x1536,4096x1536x1536,4096x8192x1536,4096x1536x4096,8192x8192x8192} \
            timeout 150 "$d/bench_opencl_gemm" 4096 2>&1 | tee "$out/bench_wgmma.txt" | grep -v "^  variant" ;;
    tctest)
        HART_CL_TENSOR_CORES=1 timeout 300 "$d/test_opencl_ops" 2>&1 | tee "$out/test_tc.txt" | grep -E "rel err [0-9.e-]+|OK|FAIL|PASS" | tail -40 ;;
    flash)
        # tensor-core flash attention (docs/opencl.md "Flash attention"): dense and block-sparse
        # against the reference, then the last-scale benchmark (stage bench_sparse_attn as an extra binary)
        HART_CL_TENSOR_CORES=1 timeout 200 "$d/test_attention_sparse" 2>&1 | tee "$out/flash_sparse_test.txt" | grep -E "FAIL|PASSED|FAILED|worst|tensor" ;
        for s in 512 1024; do
            [ -x "$d/bench_sparse_attn" ] && HART_CL_TENSOR_CORES=1 timeout 60 "$d/bench_sparse_attn" --size $s --precision f16 --policies none --reps 5
        done 2>&1 | tee "$out/flash_dense.txt" ;
        [ -x "$d/bench_sparse_attn" ] && HART_CL_TENSOR_CORES=1 timeout 200 "$d/bench_sparse_attn" --size 1024 --precision f16 \
            --policies local:1,local:2,xattn:0.9,quest:8 --reps 3 2>&1 | tee "$out/flash_sparse.txt" ;;
    blockmask)
        # quest/xattn block masks made on the GPU (op block_mask, docs/sparse.md "Masks on the device"):
        # byte-equal to the host's, then their cost at the last 1024 px scales ("mask ms")
        timeout 200 "$d/test_block_mask" 2>&1 | tee "$out/block_mask_test.txt" | grep -E "pattern|FAIL|PASSED|FAILED" ;
        [ -x "$d/bench_sparse_attn" ] && HART_CL_TENSOR_CORES=1 timeout 200 "$d/bench_sparse_attn" --size 1024 --precision f16 \
            --policies quest:8,xattn:0.9 --reps 3 2>&1 | tee "$out/block_mask_bench.txt" ;;
    decoders)
        # convolutional decoders in f16 mode (the GPU default), implicit-GEMM convolutions
        # (conv_nv.cl) against the im2col + GEMM path (HART_CL_NO_IMPLICIT_CONV=1), same binary
        # and machine; then the per-kernel profile; needs bench_vae/bench_lpd/bench_dcae staged
        # (tools/gpu_stage.sh DIR build/tests/bench/bench_vae build/tests/bench/bench_lpd build/tests/bench/bench_dcae)
        for impl in im2col implicit; do
            nc=; [ $impl = im2col ] && nc=1
            echo "--- $impl"
            [ -x "$d/bench_vae" ] && HART_CL_NO_IMPLICIT_CONV=$nc timeout 60 "$d/bench_vae" --device "$HART_DEVICE" --size 1024 --runs 3
            [ -x "$d/bench_lpd" ] && HART_CL_NO_IMPLICIT_CONV=$nc timeout 60 "$d/bench_lpd" --device "$HART_DEVICE" --model tiny \
                --size 256 --vq-ch 128 --vq-z 256 --split-only --batch 1,64 --runs 3 | grep -E "RESULT|decode"
            [ -x "$d/bench_dcae" ] && HART_CL_NO_IMPLICIT_CONV=$nc timeout 90 "$d/bench_dcae" --device "$HART_DEVICE" --size 1024 --no-hart
        done 2>&1 | tee "$out/decoders.txt"
        [ -x "$d/bench_vae" ] && HART_CL_PROFILE=1 timeout 60 "$d/bench_vae" --device "$HART_DEVICE" --size 1024 2>&1 | tee "$out/decoders_profile.txt" | grep -A16 "kernel time" ;;
    tune)
        [ -x "$d/test_opencl_tune" ] && timeout 120 "$d/test_opencl_tune" 2>&1 | tail -5 ;;
    models)
        # model-level benchmarks staged as extra binaries (release shapes, random weights);
        # run from the repository root (configs/); every bench syncs the device before stopping its clock
        for b in hart512 hart1024 hart1024-b4 hart512-adaln16 hart1024-adaln16 vae dcae qwen2; do
            echo "--- $b (HART_CL_TENSOR_CORES=${HART_CL_TENSOR_CORES:-unset})"
            case $b in
            hart512 | hart1024) # the release architecture (depth 24, disable_aln)
                [ -x "$d/bench_hart" ] && timeout 300 "$d/bench_hart" --device "$HART_DEVICE" --size "${b#hart}" --layers 0 --warmup ;;
            hart1024-b4) # 4 images in one batch (the time per image is printed too)
                [ -x "$d/bench_hart" ] && timeout 300 "$d/bench_hart" --device "$HART_DEVICE" --size 1024 --batch 4 --layers 0 --warmup ;;
            hart512-adaln16 | hart1024-adaln16) # the depth-16 per-block AdaLN variant
                s=${b#hart}
                [ -x "$d/bench_hart" ] && timeout 300 "$d/bench_hart" --device "$HART_DEVICE" --size "${s%-adaln16}" --layers 0 \
                    --warmup --config configs/hart-0.7b-1024px-llm-depth16-adaln.json ;;
            vae) [ -x "$d/bench_vae" ] && HART_BENCH_VAE_SIZES=512,1024 timeout 240 "$d/bench_vae" ;;
            dcae) [ -x "$d/bench_dcae" ] && timeout 240 "$d/bench_dcae" --config dc-ae-f32c32-in-1.0 --size 512 --size 1024 --device "$HART_DEVICE" ;;
            qwen2) [ -x "$d/bench_qwen2" ] && timeout 240 "$d/bench_qwen2" --device "$HART_DEVICE" --layers 28 ;;
            esac 2>&1 | tee -a "$out/models.txt"
        done ;;
    golden)
        # golden tests on the OpenCL device only (HART_CL_TENSOR_CORES passes through);
        # some write traces under build/ (relative to the repo root)
        mkdir -p build
        for t in "$d"/test_*; do
            case $t in *test_opencl_ops | *test_quant_ops) continue ;; esac
            echo "--- $(basename "$t") (HART_CL_TENSOR_CORES=${HART_CL_TENSOR_CORES:-unset})"
            HART_GOLDEN="$d/golden" HART_TEST_DEVICES=opencl timeout 120 "$t" 2>&1 | grep -E "rel err|differ|PASSED|FAILED|backend" | tee -a "$out/golden.txt" | tail -40
        done ;;
    precision)
        # f16 mode against the golden sets (docs/precision.md): the unit test, then the CLI
        # acceptance script (needs DIR/hart: stage with `tools/gpu_stage.sh DIR bin/hart`, and
        # GOLDEN=tests/data/golden for the sets; python3 for the image/tensor comparisons)
        [ -x "$d/test_precision" ] && timeout 120 "$d/test_precision" 2>&1 | tee -a "$out/precision.txt" | tail -20
        [ -x "$d/hart" ] && HART_BIN="$d/hart" HART_GOLDEN="$d/golden" timeout 600 sh "$d/cli/test_precision.sh" 2>&1 |
            tee -a "$out/precision.txt" | tail -40 ;;
    cache)
        ls -la "$HART_CACHE_DIR"; cp "$HART_CACHE_DIR"/tune-*.txt "$out/" 2>/dev/null; cat "$HART_CACHE_DIR"/tune-*.txt ;;
    *)
        echo "unknown step $step" ;;
    esac
done
