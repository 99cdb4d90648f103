. build/fuse-stage/setup.sh
nvidia-smi --query-gpu=name,driver_version --format=csv >"$O/gpu.txt" 2>&1
date -u >>"$O/gpu.txt"
timeout 40 $d/test_fused_ops >"$O/test_fused_ops.txt" 2>&1; echo "rc=$?" >>"$O/test_fused_ops.txt"
B="--device opencl --size 1024 --layers 0 --warmup --runs 3 --config configs/hart-0.7b-1024px-llm.json"
timeout $(left 92) $d/bench_hart $B >"$O/after_release.txt" 2>&1; echo "rc=$?" >>"$O/after_release.txt"
timeout $(left 143) $d/bench_hart_base $B >"$O/before_release.txt" 2>&1; echo "rc=$?" >>"$O/before_release.txt"
tail -3 "$O"/*.txt
