/* The OpenCL backend: device selection, listing. Models never see cl_mem;
 * they use ops (ops/ops.h) on tensors whose backend is the one opened here. */
#ifndef HART_OPENCL_H
#define HART_OPENCL_H

#include <stdio.h>

#include "backend/backend.h"

/* Open platform `plat`, device `dev` (-1 = pick: first GPU of any platform,
 * else the first device). `why` (may be NULL) receives the reason. */
hart_status hart_opencl_open(int plat, int dev, hart_backend **out, char *why, size_t why_n);
/* 1 if some platform has a GPU or accelerator device ("auto" only takes
 * OpenCL then: on CPU-only OpenCL runtimes such as PoCL the native CPU
 * backend is faster). */
int hart_opencl_has_gpu(void);
/* Print every platform/device ("opencl:P:D name (type, CUs, memory)") to f.
 * Returns the number of devices found (0 when there is no OpenCL runtime). */
int hart_opencl_list(FILE *f);
/* NVIDIA only: route hart_op_linear/hart_op_matmul (and conv2d's GEMM) through the
 * tensor-core kernel (f16 operands, f32 accumulation; ~1e-3 relative error,
 * so off by default; $HART_CL_TENSOR_CORES=1 turns it on at open). Returns
 * whether it is now on (0 when the device has no such kernel). */
int hart_opencl_set_tensor_cores(hart_backend *be, int on);
/* The backend's cl_context, cl_command_queue and cl_device_id (benchmarks,
 * interop with other OpenCL libraries). */
hart_status hart_opencl_native(hart_backend *be, void **ctx, void **queue, void **device);

/* GEMM autotuner statistics: classes tuned by this backend, classes read
 * from the cache file, cache files rejected as corrupt; and that file's path
 * ("" when there is no disk cache). See docs/opencl.md ($HART_CL_TUNE). */
void hart_opencl_tune_stats(hart_backend *be, int *tuned, int *cached, int *rejected);
const char *hart_opencl_tune_path(hart_backend *be);
/* Tensor-core GEMM on f16 operands (NVIDIA; benchmarks): c[M,N] (F32) =
 * a[M,K] (F16) * b[N,K]^T (F16), with the tuned variant, or variant v
 * (index into the kernel table, see cl_ops_linalg.c) when
 * hart_opencl_set_hgemm_variant(be, v) was called (-1 = tuned again).
 * HART_EUNSUPPORTED when the device has no tensor-core kernels. */
hart_status hart_opencl_hgemm(hart_backend *be, hart_tensor *c, const hart_tensor *a, const hart_tensor *b);
int hart_opencl_set_hgemm_variant(hart_backend *be, int v); /* returns the number of variants */
const char *hart_opencl_hgemm_variant_name(int v);

/* Host waits so far: blocking reads (device to host, the embedding op's
 * error-flag check included), blocking writes and queue syncs (hart_backend_wait).
 * The tests use them to check that the generation loop never waits. */
void hart_opencl_wait_stats(hart_backend *be, long *reads, long *writes, long *syncs);
/* Int8 GEMM of the quantized linear (docs/quant.md): variant 0 portable
 * (qgemm_i8), on NVIDIA sm_80+ also 1 dp4a and 2 mma.sync s8 tiles. Force v
 * (-1: chosen per call); returns how many variants this device has. */
int hart_opencl_set_qgemm_variant(hart_backend *be, int v);
const char *hart_opencl_qgemm_variant_name(int v);

#endif
