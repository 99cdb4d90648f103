/* OpenCL backend: device pick, context/queue, storage with a buffer pool,
 * kernel launch, the vtable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_internal.h"
#include "backend/opencl/opencl.h"

#define POOL_MAX_BYTES ((size_t)2 << 30) /* keep at most 2 GiB of released buffers */

/* ---- storage ---------------------------------------------------------- */

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
    if (!m) return hart_fail(HART_ENOMEM, "OpenCL buffer of %zu bytes on %s: %s", sz, be->name, clb_errname(err));
    *dev = m;
    return HART_OK;
}

static void cl_release(hart_backend *be, void *dev);

/* Tensors are promised zeroed (hart_tensor_new), like calloc on the host;
 * models rely on it for accumulators and padded borders. The fill is queued,
 * so it costs one cheap kernel, not a host round trip. Scratch stays raw. */
static hart_status cl_alloc(hart_backend *be, size_t n, void **dev) {
    HART_TRY(cl_alloc_raw(be, n, dev));
    const cl_uchar zero = 0;
    size_t sz = n ? n : 1;
    cl_int e = clEnqueueFillBuffer(clb_of(be)->q, (cl_mem)*dev, &zero, 1, 0, sz, 0, NULL, NULL);
    if (e) {
        cl_release(be, *dev);
        return hart_fail(HART_EDEVICE, "OpenCL zero fill of %zu bytes on %s: %s", sz, be->name, clb_errname(e));
    }
    return HART_OK;
}

static void cl_release(hart_backend *be, void *dev) {
    clb *b = clb_of(be);
    cl_mem m = dev;
    clb_wcache_drop(b, m);
    size_t sz = 0;
    clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof sz, &sz, NULL);
    if (b->npool < CLB_POOL_SLOTS && b->pooled_bytes + sz <= POOL_MAX_BYTES) {
        b->pool[b->npool].mem = m;
        b->pool[b->npool++].size = sz;
        b->pooled_bytes += sz;
        return;
    }
    clReleaseMemObject(m);
}

hart_status clb_scratch(hart_backend *be, size_t n, cl_mem *out) {
    void *d;
    HART_TRY(cl_alloc_raw(be, n, &d));
    *out = d;
    return HART_OK;
}
void clb_scratch_free(hart_backend *be, cl_mem m) { cl_release(be, m); }

static hart_status cl_write(hart_backend *be, void *dev, size_t off, const void *src, size_t n) {
    if (!n) return HART_OK;
    clb_wcache_drop(clb_of(be), dev);
    cl_int e = clEnqueueWriteBuffer(clb_of(be)->q, dev, CL_TRUE, off, n, src, 0, NULL, NULL);
    if (e) return hart_fail(HART_EDEVICE, "OpenCL write of %zu bytes: %s", n, clb_errname(e));
    return HART_OK;
}

static hart_status cl_read(hart_backend *be, const void *dev, size_t off, void *dst, size_t n) {
    if (!n) return HART_OK;
    cl_int e = clEnqueueReadBuffer(clb_of(be)->q, (cl_mem)dev, CL_TRUE, off, n, dst, 0, NULL, NULL);
    if (e) return hart_fail(HART_EDEVICE, "OpenCL read of %zu bytes: %s", n, clb_errname(e));
    return HART_OK;
}

static hart_status cl_sync(hart_backend *be) {
    cl_int e = clFinish(clb_of(be)->q);
    if (e) return hart_fail(HART_EDEVICE, "OpenCL finish: %s", clb_errname(e));
    return HART_OK;
}

/* ---- HART_CL_PROFILE: per-kernel device time, printed when the backend
 * closes (or at exit for a backend that is never closed) ---- */
static clb *g_prof_b;
static void prof_dump_b(clb *b) {
        double tot = 0;
        for (int i = 0; i < b->nkern; i++) tot += b->kern[i].prof_s;
        fprintf(stderr, "hart: OpenCL kernel time by kernel (HART_CL_PROFILE), total %.3f s:\n", tot);
        for (int n = 0; n < b->nkern; n++) { /* largest first, selection by repeated scan */
            int best = -1;
            for (int i = 0; i < b->nkern; i++)
                if (b->kern[i].prof_n >= 0 && (best < 0 || b->kern[i].prof_s > b->kern[best].prof_s)) best = i;
            if (best < 0 || b->kern[best].prof_n <= 0) break;
            fprintf(stderr, "  %-32s %9.3f ms %7ld launches %8.1f us avg\n", b->kern[best].name,
                    b->kern[best].prof_s * 1e3, b->kern[best].prof_n,
                    b->kern[best].prof_s * 1e6 / (double)b->kern[best].prof_n);
            b->kern[best].prof_n = -1;
        }

    if (g_prof_b == b) g_prof_b = NULL;
}
static void prof_dump_atexit(void) {
    if (g_prof_b) prof_dump_b(g_prof_b);
}

static void cl_destroy(hart_backend *be) {
    clb *b = clb_of(be);
    if (b) {
        if (b->q) clFinish(b->q);
        if (b->prof) prof_dump_b(b);
        clb_wcache_free(b);
        for (int i = 0; i < b->npool; i++) clReleaseMemObject(b->pool[i].mem);
        for (int i = 0; i < b->nkern; i++) clReleaseKernel(b->kern[i].k);
        if (b->flag) clReleaseMemObject(b->flag);
        if (b->prog) clReleaseProgram(b->prog);
        if (b->prog_nv) clReleaseProgram(b->prog_nv);
        if (b->q) clReleaseCommandQueue(b->q);
        if (b->ctx) clReleaseContext(b->ctx);
        free(b);
    }
    free(be);
}

/* ---- kernel launch ---------------------------------------------------- */

/* *ki: the kernel's index in b->kern (-1 when the table is full) */
static hart_status get_kernel(clb *b, const char *name, cl_kernel *k, int *ki) {
    *ki = -1;
    for (int i = 0; i < b->nkern; i++)
        if (!strcmp(b->kern[i].name, name)) { *k = b->kern[i].k; *ki = i; return HART_OK; }
    cl_int err;
    cl_program prog = strncmp(name, "nv_", 3) ? b->prog : b->prog_nv;
    if (!prog) return hart_fail(HART_EDEVICE, "OpenCL kernel %s: its program is not built on this device", name);
    cl_kernel kk = clCreateKernel(prog, name, &err);
    if (!kk) return hart_fail(HART_EDEVICE, "OpenCL kernel %s: %s", name, clb_errname(err));
    if (b->nkern < CLB_MAX_KERNELS) {
        snprintf(b->kern[b->nkern].name, sizeof b->kern[b->nkern].name, "%s", name);
        b->kern[b->nkern].prof_s = 0;
        b->kern[b->nkern].prof_n = 0;
        *ki = b->nkern;
        b->kern[b->nkern++].k = kk;
    }
    *k = kk;
    return HART_OK;
}

hart_status clb_run(clb *b, const char *name, int dims, const size_t *gws, const size_t *lws,
                    const karg *args, int nargs) {
    cl_kernel k = NULL;
    int ki = -1;
    HART_TRY(get_kernel(b, name, &k, &ki));
    /* a cached weight's buffer passed to any kernel but the GEMM ones may be
     * written by it: forget its f16 copy (conservative) */
    if (b->nwc && strncmp(name, "nv_", 3) && strncmp(name, "gemm_", 5))
        for (int i = 0; i < nargs; i++)
            if (!args[i].local && args[i].size == sizeof(cl_mem)) clb_wcache_drop(b, args[i].v.m);
    for (int i = 0; i < nargs; i++) {
        cl_int e = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].local ? NULL : (const void *)&args[i].v);
        if (e) return hart_fail(HART_EDEVICE, "OpenCL kernel %s: argument %d: %s", name, i, clb_errname(e));
    }
    size_t g[3];
    for (int d = 0; d < dims; d++) {
        g[d] = gws[d];
        if (!g[d]) return HART_OK; /* empty launch */
        if (lws) g[d] = round_up(g[d], lws[d]);
    }
    cl_event ev = NULL;
    cl_int e = clEnqueueNDRangeKernel(b->q, k, (cl_uint)dims, NULL, g, lws, 0, NULL, b->prof ? &ev : NULL);
    if (e) return hart_fail(HART_EDEVICE, "OpenCL launch of kernel %s: %s", name, clb_errname(e));
    if (ev) { /* profiling (serializes): device time per kernel name */
        cl_ulong t0 = 0, t1 = 0;
        if (!clWaitForEvents(1, &ev) && ki >= 0 &&
            !clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) &&
            !clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL)) {
            b->kern[ki].prof_s += (double)(t1 - t0) * 1e-9;
            b->kern[ki].prof_n++;
        }
        clReleaseEvent(ev);
    }
    if (getenv("HART_CL_SYNC")) { /* debugging: surface asynchronous faults at their kernel */
        e = clFinish(b->q);
        if (e) return hart_fail(HART_EDEVICE, "OpenCL kernel %s failed: %s", name, clb_errname(e));
    }
    return HART_OK;
}

/* ---- host fallback ---------------------------------------------------- */

hart_status clb_host_fallback(hart_backend *be, const char *op, hart_tensor *y, int n, const hart_tensor **in,
                              hart_status (*fn)(hart_tensor *y, const hart_tensor **in, void *ctx), void *ctx) {
    hart_tensor h[6], yh;
    const hart_tensor *hp[6];
    memset(h, 0, sizeof h);
    memset(&yh, 0, sizeof yh);
    hart_status s = HART_OK;
    for (int i = 0; i < n && !s; i++) {
        hp[i] = NULL;
        if (in[i]) { s = hart_tensor_to(NULL, in[i], &h[i]); hp[i] = &h[i]; }
    }
    if (!s) s = hart_tensor_to(NULL, y, &yh);
    if (!s) s = fn(&yh, hp, ctx);
    if (!s) s = hart_tensor_write(y, yh.data, hart_tensor_nbytes(&yh));
    for (int i = 0; i < n; i++) hart_tensor_free(&h[i]);
    hart_tensor_free(&yh);
    if (s) return hart_fail_ctx(s, "%s (host path)", op);
    return s;
}

/* ---- the vtable --------------------------------------------------------- */

static const hart_storage_vt cl_storage = {
    .alloc = cl_alloc, .release = cl_release, .write = cl_write, .read = cl_read,
};

static const hart_backend_vt cl_vt = {
    .sync = cl_sync, .destroy = cl_destroy,
    .linear = clo_linear, .matmul = clo_matmul, .conv2d = clo_conv2d,
    .group_norm = clo_group_norm, .layer_norm = clo_layer_norm, .rms_norm = clo_rms_norm,
    .softmax = clo_softmax, .act = clo_act, .binary = clo_binary, .scale = clo_scale, .copy = clo_copy,
    .transpose = clo_transpose, .concat = clo_concat, .slice = clo_slice, .slice_assign = clo_slice_assign,
    .embedding = clo_embedding, .attention = clo_attention, .rope = clo_rope, .interpolate = clo_interpolate,
    .pixel_shuffle = clo_pixel_shuffle, .pixel_unshuffle = clo_pixel_unshuffle, .reduce = clo_reduce,
    .argmin_dist = clo_argmin_dist,
};

int hart_opencl_set_tensor_cores(hart_backend *be, int on) {
    if (!be || be->kind != HART_BACKEND_OPENCL) return 0;
    clb *b = clb_of(be);
    b->tc = on && b->prog_nv != NULL;
    return b->tc;
}

hart_status hart_opencl_native(hart_backend *be, void **ctx, void **queue, void **device) {
    if (!be || be->kind != HART_BACKEND_OPENCL) return hart_fail(HART_EINVAL, "not an OpenCL backend");
    clb *b = clb_of(be);
    if (ctx) *ctx = b->ctx;
    if (queue) *queue = b->q;
    if (device) *device = b->dev;
    return HART_OK;
}

/* ---- device selection --------------------------------------------------- */

#define MAXP 16
#define MAXD 16

static int platforms(cl_platform_id *p) {
    cl_uint np = 0;
    if (clGetPlatformIDs(MAXP, p, &np) != CL_SUCCESS) return 0;
    return (int)np;
}

static int devices(cl_platform_id p, cl_device_id *d) {
    cl_uint nd = 0;
    if (clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, MAXD, d, &nd) != CL_SUCCESS) return 0;
    return (int)nd;
}

static const char *type_name(cl_device_type t) {
    return (t & CL_DEVICE_TYPE_GPU) ? "GPU" : (t & CL_DEVICE_TYPE_CPU) ? "CPU" : (t & CL_DEVICE_TYPE_ACCELERATOR) ? "accelerator" : "other";
}

int hart_opencl_has_gpu(void) {
    cl_platform_id p[MAXP];
    int np = platforms(p);
    for (int i = 0; i < np; i++) {
        cl_device_id d[MAXD];
        int nd = devices(p[i], d);
        for (int j = 0; j < nd; j++) {
            cl_device_type t = 0;
            clGetDeviceInfo(d[j], CL_DEVICE_TYPE, sizeof t, &t, NULL);
            if (t & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) return 1;
        }
    }
    return 0;
}

int hart_opencl_list(FILE *f) {
    cl_platform_id p[MAXP];
    int np = platforms(p), total = 0;
    if (!np) { fprintf(f, "opencl: no platforms (no OpenCL runtime/ICD installed)\n"); return 0; }
    for (int i = 0; i < np; i++) {
        char pn[256] = "";
        clGetPlatformInfo(p[i], CL_PLATFORM_NAME, sizeof pn, pn, NULL);
        pn[sizeof pn - 1] = 0;
        cl_device_id d[MAXD];
        int nd = devices(p[i], d);
        fprintf(f, "opencl:%d %s (%d device%s)\n", i, pn, nd, nd == 1 ? "" : "s");
        for (int j = 0; j < nd; j++) {
            char dn[256] = "", drv[128] = "";
            cl_device_type t = 0;
            cl_uint cu = 0;
            cl_ulong mem = 0;
            clGetDeviceInfo(d[j], CL_DEVICE_NAME, sizeof dn, dn, NULL);
            clGetDeviceInfo(d[j], CL_DRIVER_VERSION, sizeof drv, drv, NULL);
            clGetDeviceInfo(d[j], CL_DEVICE_TYPE, sizeof t, &t, NULL);
            clGetDeviceInfo(d[j], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
            clGetDeviceInfo(d[j], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
            dn[sizeof dn - 1] = 0;
            drv[sizeof drv - 1] = 0;
            fprintf(f, "  opencl:%d:%d %s (%s, %u compute units, %.1f GiB, driver %s)\n", i, j, dn, type_name(t), cu,
                    (double)mem / (1 << 30), drv);
            total++;
        }
    }
    return total;
}

hart_status hart_opencl_open(int plat, int dev, hart_backend **out, char *why, size_t why_n) {
    cl_platform_id p[MAXP];
    int np = platforms(p);
    if (!np) return hart_fail(HART_EDEVICE, "opencl: no OpenCL platform found (is an ICD installed under /etc/OpenCL/vendors?)");
    int pi = -1, di = -1;
    const char *reason = "requested";
    if (plat >= 0) {
        if (plat >= np) return hart_fail(HART_EINVAL, "opencl:%d: only %d platform(s) (see `hart info`)", plat, np);
        cl_device_id d[MAXD];
        int nd = devices(p[plat], d);
        if (dev >= nd) return hart_fail(HART_EINVAL, "opencl:%d:%d: platform %d has %d device(s)", plat, dev, plat, nd);
        if (!nd) return hart_fail(HART_EDEVICE, "opencl:%d: platform has no devices", plat);
        pi = plat;
        if (dev >= 0) di = dev;
        else {
            di = 0;
            reason = "first device of the requested platform";
            for (int j = 0; j < nd; j++) {
                cl_device_type t = 0;
                clGetDeviceInfo(d[j], CL_DEVICE_TYPE, sizeof t, &t, NULL);
                if (t & CL_DEVICE_TYPE_GPU) { di = j; reason = "first GPU of the requested platform"; break; }
            }
        }
    } else {
        for (int i = 0; i < np && pi < 0; i++) {
            cl_device_id d[MAXD];
            int nd = devices(p[i], d);
            for (int j = 0; j < nd; j++) {
                cl_device_type t = 0;
                clGetDeviceInfo(d[j], CL_DEVICE_TYPE, sizeof t, &t, NULL);
                if (t & CL_DEVICE_TYPE_GPU) { pi = i; di = j; reason = "first GPU found"; break; }
            }
        }
        for (int i = 0; i < np && pi < 0; i++) {
            cl_device_id d[MAXD];
            if (devices(p[i], d) > 0) { pi = i; di = 0; reason = "no GPU; first OpenCL device found"; }
        }
        if (pi < 0) return hart_fail(HART_EDEVICE, "opencl: %d platform(s) but no devices", np);
    }
    cl_device_id d[MAXD];
    devices(p[pi], d);

    hart_backend *be = calloc(1, sizeof *be);
    clb *b = calloc(1, sizeof *b);
    if (!be || !b) { free(be); free(b); return hart_fail(HART_ENOMEM, "out of memory"); }
    be->storage.vt = &cl_storage;
    be->vt = &cl_vt;
    be->kind = HART_BACKEND_OPENCL;
    be->impl = b;
    b->plat = p[pi];
    b->dev = d[di];
    char dn[200] = "", vendor[128] = "";
    clGetDeviceInfo(b->dev, CL_DEVICE_NAME, sizeof dn, dn, NULL);
    clGetDeviceInfo(b->dev, CL_DEVICE_VENDOR, sizeof vendor, vendor, NULL);
    dn[sizeof dn - 1] = vendor[sizeof vendor - 1] = 0;
    snprintf(be->name, sizeof be->name, "opencl:%d:%d %.90s", pi % 100, di % 100, dn);
    b->nvidia = strstr(vendor, "NVIDIA") != NULL && !getenv("HART_CL_PORTABLE");
    clGetDeviceInfo(b->dev, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof b->max_wg, &b->max_wg, NULL);
    cl_uint cus = 1;
    clGetDeviceInfo(b->dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
    b->cus = (int)cus;
    cl_device_type dtype = 0;
    clGetDeviceInfo(b->dev, CL_DEVICE_TYPE, sizeof dtype, &dtype, NULL);
    b->is_gpu = (dtype & CL_DEVICE_TYPE_GPU) != 0;
    cl_int err;
    b->ctx = clCreateContext(NULL, 1, &b->dev, NULL, NULL, &err);
    if (!b->ctx) { cl_destroy(be); return hart_fail(HART_EDEVICE, "opencl: clCreateContext on %s: %s", dn, clb_errname(err)); }
    b->prof = getenv("HART_CL_PROFILE") && atoi(getenv("HART_CL_PROFILE"));
    if (b->prof) {
        static int registered;
        if (!registered) registered = atexit(prof_dump_atexit) == 0;
        g_prof_b = b;
    }
    b->q = clCreateCommandQueue(b->ctx, b->dev, b->prof ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    if (!b->q) { cl_destroy(be); return hart_fail(HART_EDEVICE, "opencl: clCreateCommandQueue on %s: %s", dn, clb_errname(err)); }
    b->flag = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, 16, NULL, &err);
    if (!b->flag) { cl_destroy(be); return hart_fail(HART_EDEVICE, "opencl: buffer on %s: %s", dn, clb_errname(err)); }
    char info[1200] = "", tcinfo[400] = "";
    hart_status s = clb_build_program(b, 0, &b->prog, info, sizeof info);
    if (s) { cl_destroy(be); return hart_fail_ctx(s, "opencl on %s", dn); }
    if (b->nvidia) {
        cl_uint ma = 0, mi = 0;
        clGetDeviceInfo(b->dev, 0x4000 /* CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV */, sizeof ma, &ma, NULL);
        clGetDeviceInfo(b->dev, 0x4001 /* CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV */, sizeof mi, &mi, NULL);
        b->cc_major = (int)ma;
        b->cc_minor = (int)mi;
        if (ma >= 8) {
            char ti[300];
            if (clb_build_program(b, 1, &b->prog_nv, ti, sizeof ti) == HART_OK)
                snprintf(tcinfo, sizeof tcinfo, "; tensor-core GEMM sm_%u%u built (%s)%s", ma, mi, ti,
                         getenv("HART_CL_TENSOR_CORES") && atoi(getenv("HART_CL_TENSOR_CORES")) ? ", ON" : ", off unless $HART_CL_TENSOR_CORES=1");
            else {
                snprintf(tcinfo, sizeof tcinfo, "; tensor-core GEMM unavailable: %.250s", hart_errmsg());
                if (getenv("HART_CL_VERBOSE")) fprintf(stderr, "hart: tensor-core program: %s\n", hart_errmsg());
            }
            hart_clear_error();
        } else
            snprintf(tcinfo, sizeof tcinfo, "; no tensor-core GEMM (compute capability %u.%u < 8.0)", ma, mi);
    }
    b->tc = b->prog_nv && getenv("HART_CL_TENSOR_CORES") && atoi(getenv("HART_CL_TENSOR_CORES"));
    b->hg_force = getenv("HART_CL_HGEMM_VARIANT") ? atoi(getenv("HART_CL_HGEMM_VARIANT")) : -1;
    b->wc_on = getenv("HART_CL_TC_WEIGHT_CACHE") && atoi(getenv("HART_CL_TC_WEIGHT_CACHE"));
    clb_tune_init(b);
    if (b->max_wg < 256) {
        cl_destroy(be);
        return hart_fail(HART_EUNSUPPORTED, "opencl: %s allows only %zu work-items per group (need 256)", dn, b->max_wg);
    }
    if (why)
        snprintf(why, why_n, "%s (%s, vendor %s; %s%s)", be->name, reason, vendor, info, tcinfo);
    *out = be;
    return HART_OK;
}
