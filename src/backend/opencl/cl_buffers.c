/* OpenCL storage: device buffers from a pool of released ones, host
 * writes and reads, scratch buffers, and the tensor-core weight cache that a
 * write or release invalidates. The bottom of the OpenCL backend: it calls
 * no other file of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_internal.h"
#include "backend/opencl/opencl.h"

static hart_status cl_alloc_raw(hart_backend *be, size_t n, void **dev) {
    clb *b = clb_of(be);
    /* best fit among pooled buffers of size in [n, 2n] */
    int best = -1;
    for (int i = 0; i < b->npool; i++)
        if (b->pool[i].size >= n && b->pool[i].size <= 2 * n + 256 && (best < 0 || b->pool[i].size < b->pool[best].size))
            best = i;
    if (best >= 0) {
        *dev = b->pool[best].mem;
        b->pooled_bytes -= b->pool[best].size;
        b->pool[best] = b->pool[--b->npool];
        return HART_OK;
    }
    size_t sz = round_up(n ? n : 1, 256);
    cl_int err;
    cl_mem m = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, sz, NULL, &err);
    if (!m && b->npool) { /* free the pool and retry */
        for (int i = 0; i < b->npool; i++) clReleaseMemObject(b->pool[i].mem);
        b->npool = 0;
        b->pooled_bytes = 0;
        m = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, sz, NULL, &err);
    }
    if (!m) return hart_fail(HART_ENOMEM, "OpenCL buffer of %zu bytes on %s: %s", sz, be->name, hart_cl_errname(err));
    *dev = m;
    return HART_OK;
}

static void cl_release(hart_backend *be, void *dev);

/* Zero the first n bytes of m. NVIDIA's clEnqueueFillBuffer hangs or fails
 * for a region of 2^31 bytes or more (pyopencl issue 395: Pascal hangs, Volta
 * errors later; HART's 1024 px decode at batch 4, whose activations are
 * 2.7 GB, never finished on an H200), so large regions (b->zero_k_min bytes and
 * up, default 1 GiB; $HART_CL_ZERO_KERNEL_MIN lowers it for the tests) are
 * zeroed by kernels/shape.cl's zero_fill, 16 bytes per work-item with a 64-bit
 * index. Its kernel object is made here from the portable program and
 * enqueued directly (not through hart_cl_run: this file stays the bottom of
 * the backend), so HART_CL_PROFILE does not count it, as it does not count
 * the driver's fill. Every buffer is created with its size rounded up to 256
 * bytes, so the rounding of n up to 16 stays inside it. */
static hart_status zero_bytes(hart_backend *be, cl_mem m, size_t n) {
    clb *b = clb_of(be);
    cl_int e;
    if (n < b->zero_k_min) {
        const cl_uchar zero = 0;
        e = clEnqueueFillBuffer(b->q, m, &zero, 1, 0, n, 0, NULL, NULL);
        if (e) return hart_fail(HART_EDEVICE, "OpenCL zero fill of %zu bytes on %s: %s", n, be->name, hart_cl_errname(e));
        return HART_OK;
    }
    if (!b->zero_k) {
        b->zero_k = clCreateKernel(b->prog, "zero_fill", &e);
        if (!b->zero_k) return hart_fail(HART_EDEVICE, "OpenCL kernel zero_fill: %s", hart_cl_errname(e));
    }
    cl_ulong n16 = (n + 15) / 16;
    size_t lws = 256, gws = round_up((size_t)n16, lws);
    e = clSetKernelArg(b->zero_k, 0, sizeof m, &m);
    if (!e) e = clSetKernelArg(b->zero_k, 1, sizeof n16, &n16);
    if (!e) e = clEnqueueNDRangeKernel(b->q, b->zero_k, 1, NULL, &gws, &lws, 0, NULL, NULL);
    if (e) return hart_fail(HART_EDEVICE, "OpenCL zeroing of %zu bytes on %s: %s", n, be->name, hart_cl_errname(e));
    return HART_OK;
}

/* Tensors are promised zeroed (hart_tensor_new), like calloc on the host;
 * models rely on it for accumulators and padded borders. The fill is queued,
 * so it costs one cheap command, not a host round trip. Scratch stays raw. */
static hart_status cl_alloc(hart_backend *be, size_t n, void **dev) {
    HART_TRY(cl_alloc_raw(be, n, dev));
    hart_status s = zero_bytes(be, (cl_mem)*dev, n ? n : 1);
    if (s) cl_release(be, *dev);
    return s;
}

static void cl_release(hart_backend *be, void *dev) {
    clb *b = clb_of(be);
    cl_mem m = dev;
    hart_cl_wcache_drop(b, m);
    size_t sz = 0;
    clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof sz, &sz, NULL);
    if (b->npool < CLB_POOL_SLOTS && b->pooled_bytes + sz <= b->pool_max) {
        b->pool[b->npool].mem = m;
        b->pool[b->npool++].size = sz;
        b->pooled_bytes += sz;
        return;
    }
    clReleaseMemObject(m);
}

hart_status hart_cl_scratch(hart_backend *be, size_t n, cl_mem *out) {
    void *d;
    HART_TRY(cl_alloc_raw(be, n, &d));
    *out = d;
    return HART_OK;
}
void hart_cl_scratch_free(hart_backend *be, cl_mem m) { cl_release(be, m); }

static hart_status cl_write(hart_backend *be, void *dev, size_t off, const void *src, size_t n) {
    if (!n) return HART_OK;
    hart_cl_wcache_drop(clb_of(be), dev);
    clb_of(be)->n_write++;
    cl_int e = clEnqueueWriteBuffer(clb_of(be)->q, dev, CL_TRUE, off, n, src, 0, NULL, NULL);
    if (e) return hart_fail(HART_EDEVICE, "OpenCL write of %zu bytes: %s", n, hart_cl_errname(e));
    return HART_OK;
}

static hart_status cl_read(hart_backend *be, const void *dev, size_t off, void *dst, size_t n) {
    if (!n) return HART_OK;
    clb_of(be)->n_read++;
    cl_int e = clEnqueueReadBuffer(clb_of(be)->q, (cl_mem)dev, CL_TRUE, off, n, dst, 0, NULL, NULL);
    if (e) return hart_fail(HART_EDEVICE, "OpenCL read of %zu bytes: %s", n, hart_cl_errname(e));
    return HART_OK;
}

/* ---- tensor-core weight cache ($HART_CL_TC_WEIGHT_CACHE=1): the f16
 * copy of a linear layer's weight is kept, keyed by buffer, offset, shape,
 * dtype and strides, instead of being converted on every call. An entry is
 * dropped when its buffer is written from the host, released, is the output
 * of a GEMM or is passed to any other kernel (see hart_cl_run). ---- */
void hart_cl_wcache_drop(clb *b, cl_mem m) {
    for (int i = 0; i < b->nwc;)
        if (b->wc[i].src == m) {
            clReleaseMemObject(b->wc[i].f16);
            b->wc[i] = b->wc[--b->nwc];
        } else
            i++;
}

void hart_cl_wcache_free(clb *b) {
    for (int i = 0; i < b->nwc; i++) clReleaseMemObject(b->wc[i].f16);
    free(b->wc);
    b->wc = NULL;
    b->nwc = b->cwc = 0;
}

const hart_storage_vt hart_cl_storage = {
    .alloc = cl_alloc, .alloc_uninit = cl_alloc_raw, .release = cl_release, .write = cl_write, .read = cl_read,
};
