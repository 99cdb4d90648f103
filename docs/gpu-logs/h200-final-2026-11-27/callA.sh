# lead's call A: tensor-core correctness of the merged kernels, then the release side by side
d=build/hart-stage
. $d/stage_libs.sh; stage_unpack $d
mkdir -p /etc/OpenCL/vendors; grep -qs nvidia /etc/OpenCL/vendors/*.icd || echo libnvidia-opencl.so.1 >/etc/OpenCL/vendors/nvidia.icd
export LD_LIBRARY_PATH="$d/lib:/tmp/hart-lib:$d/lib/ocl" HART_CACHE_DIR=/tmp/hart-cache
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
t0=$(date +%s)
HART_CL_VERBOSE=1 HART_CL_TENSOR_CORES=1 timeout 150 $d/test_opencl_ops >$OUT/tctest.txt 2>&1; echo "tctest rc $? in $(( $(date +%s)-t0 )) s"
grep -E "^\[  (FAILED|PASSED|  OK  )|FAILED|tensor cores|wgmma|rel err|build" $OUT/tctest.txt | grep -v "^\[       OK" | head -40
env_extra=
grep -q "FAILED  \] test_conv2d_f16" $OUT/tctest.txt && env_extra="$env_extra HART_CL_NO_IMPLICIT_CONV=1"
grep -q "FAILED  \] test_wgmma" $OUT/tctest.txt && env_extra="$env_extra HART_CL_WGMMA=0"
echo "env for the benchmarks:$env_extra"
[ -n "$env_extra" ] && export $env_extra
HART_SBS_BUDGET_S=${BUDGET:-270} OUT=$OUT sh tools/hart_side_by_side.sh $d release 2>&1 | tail -60
