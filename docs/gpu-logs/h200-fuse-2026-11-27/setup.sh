# sourced by the fuse device runs: NVIDIA ICD, staged libraries, kernel cache
d=build/fuse-stage
if ! grep -qs nvidia /etc/OpenCL/vendors/*.icd 2>/dev/null; then
  mkdir -p /etc/OpenCL/vendors && echo libnvidia-opencl.so.1 >/etc/OpenCL/vendors/nvidia.icd
fi
mkdir -p /tmp/fl
for z in $d/lib/*.xz; do
  f=/tmp/fl/$(basename "$z" .xz)
  [ -f "$f" ] || python3 -c "import lzma,sys;open(sys.argv[2],'wb').write(lzma.open(sys.argv[1]).read())" "$z" "$f"
done
export LD_LIBRARY_PATH="$d/lib:/tmp/fl:$d/lib/ocl" HART_CACHE_DIR=/tmp/hc
O=${OUT:-/tmp/o}; mkdir -p "$O"
t0=$(date +%s)
left() { echo $(( $1 - ($(date +%s) - t0) )); }
