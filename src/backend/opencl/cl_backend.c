/* OpenCL backend: device pick, context/queue, the vtable. Storage and the
 * buffer pool live in cl_buffers.c, kernel launch in cl_launch.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_internal.h"
#include "backend/opencl/opencl.h"

static hart_status cl_sync(hart_backend *be) {
    clb *b = clb_of(be);
    b->n_sync++;
    cl_int e = clFinish(b->q);
    if (e) return hart_fail(HART_EDEVICE, "OpenCL finish: %s", hart_cl_errname(e));
    if (b->prof >= 2) { /* kernel time between two syncs (a timed stage, e.g. bench_hart's) */
        double tot = 0;
        long n = 0;
        for (int i = 0; i < b->nkern; i++) tot += b->kern[i].prof_s, n += b->kern[i].prof_n;
        fprintf(stderr, "hart: sync: %.3f ms of kernel time in %ld launches since the last sync\n",
                (tot - b->prof_mark_s) * 1e3, n - b->prof_mark_n);
        b->prof_mark_s = tot;
        b->prof_mark_n = n;
    }
    return HART_OK;
}

static void cl_destroy(hart_backend *be) {
    clb *b = clb_of(be);
    if (b) {
        if (b->q) clFinish(b->q);
        if (b->prof) hart_cl_prof_dump(b);
        hart_cl_wcache_free(b);
        for (int i = 0; i < b->npool; i++) clReleaseMemObject(b->pool[i].mem);
        for (int i = 0; i < b->nkern; i++) clReleaseKernel(b->kern[i].k);
        free(b->kern);
        if (b->zero_k) clReleaseKernel(b->zero_k);
        if (b->flag) clReleaseMemObject(b->flag);
        if (b->ones) clReleaseMemObject(b->ones);
        if (b->prog) clReleaseProgram(b->prog);
        if (b->prog_nv) clReleaseProgram(b->prog_nv);
        if (b->prog_wg) clReleaseProgram(b->prog_wg);
        if (b->q) clReleaseCommandQueue(b->q);
        if (b->ctx) clReleaseContext(b->ctx);
        free(b);
    }
    free(be);
}

/* ---- the vtable --------------------------------------------------------- */


/* f16 precision mode: the tensor-core GEMM converts its operands with RNE */
static int cl_gemm_rounds_to_half(hart_backend *be) { return clb_of(be)->tc; }
/* ... and their outputs (hgemm epilogue, round_out in the GEMM args) */
static int cl_gemm_rounds_output(hart_backend *be) { return clb_of(be)->tc && be->precision == HART_PREC_F16; }
/* the tensor-core flash attention (head dims 64 and 128) converts q, k, v to half */
static int cl_attention_rounds(hart_backend *be, const hart_tensor *q) {
    return clb_of(be)->tc && q->ndim == 4 && (q->shape[3] == 64 || q->shape[3] == 128);
}

/* norm_mod/swiglu store half and the GEMMs read an F16 x (the tensor cores'
 * operand in place; the portable kernel widens it on load) */
static int cl_half_activations(hart_backend *be) { (void)be; return 1; }

static const hart_backend_vt cl_vt = {
    .sync = cl_sync, .destroy = cl_destroy, .supports = hart_cl_supports,
    HART_OP_LIST(HART_BE_ENTRY, hart_cl_)
    .round_half = hart_cl_round_half, .gemm_rounds_to_half = cl_gemm_rounds_to_half,
    .gemm_rounds_output = cl_gemm_rounds_output, .attention_rounds_to_half = cl_attention_rounds,
    .half_activations = cl_half_activations,
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
    be->storage.vt = &hart_cl_storage;
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
    be->gpu = b->is_gpu;
    cl_int err;
    b->ctx = clCreateContext(NULL, 1, &b->dev, NULL, NULL, &err);
    if (!b->ctx) { cl_destroy(be); return hart_fail(HART_EDEVICE, "opencl: clCreateContext on %s: %s", dn, hart_cl_errname(err)); }
    b->prof = getenv("HART_CL_PROFILE") ? atoi(getenv("HART_CL_PROFILE")) : 0;
    if (b->prof) hart_cl_prof_watch(b);
    b->q = clCreateCommandQueue(b->ctx, b->dev, b->prof ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    if (!b->q) { cl_destroy(be); return hart_fail(HART_EDEVICE, "opencl: clCreateCommandQueue on %s: %s", dn, hart_cl_errname(err)); }
    b->flag = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, 16, NULL, &err);
    if (!b->flag) { cl_destroy(be); return hart_fail(HART_EDEVICE, "opencl: buffer on %s: %s", dn, hart_cl_errname(err)); }
    unsigned char ones[16];
    memset(ones, 1, sizeof ones);
    b->ones = clCreateBuffer(b->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof ones, ones, &err);
    if (!b->ones) { cl_destroy(be); return hart_fail(HART_EDEVICE, "opencl: buffer on %s: %s", dn, hart_cl_errname(err)); }
    char info[1200] = "", tcinfo[400] = "";
    hart_status s = hart_cl_build_program(b, 0, &b->prog, info, sizeof info);
    if (s) { cl_destroy(be); return hart_fail_ctx(s, "opencl on %s", dn); }
    if (b->nvidia) {
        cl_uint ma = 0, mi = 0;
        clGetDeviceInfo(b->dev, 0x4000 /* CL_DEVICE_COMPUTE_CAPABILITY_MAJOR_NV */, sizeof ma, &ma, NULL);
        clGetDeviceInfo(b->dev, 0x4001 /* CL_DEVICE_COMPUTE_CAPABILITY_MINOR_NV */, sizeof mi, &mi, NULL);
        b->cc_major = (int)ma;
        b->cc_minor = (int)mi;
        if (ma >= 8) {
            char ti[300];
            if (hart_cl_build_program(b, 1, &b->prog_nv, ti, sizeof ti) == HART_OK)
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
    /* Released buffers kept for reuse: a quarter of the device's memory (at
     * least 2 GiB). A 1024 px image's KV cache alone is 5.7 GB at B=1 and
     * 23 GB at B=4 (48 tensors); a smaller pool re-created most of it, with
     * its zero fill, for every image. $HART_CL_POOL_MB overrides. */
    cl_ulong gmem = 0;
    clGetDeviceInfo(b->dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL);
    const char *pm = getenv("HART_CL_POOL_MB");
    b->pool_max = pm && atoll(pm) >= 0 ? (size_t)atoll(pm) << 20 : (size_t)(gmem / 4);
    if (!pm && b->pool_max < ((size_t)2 << 30)) b->pool_max = (size_t)2 << 30;
    const char *zk = getenv("HART_CL_ZERO_KERNEL_MIN"); /* cl_buffers.c: zero_bytes */
    b->zero_k_min = zk && atoll(zk) > 0 ? (size_t)atoll(zk) : (size_t)1 << 30;
    hart_cl_tune_init(b);
    if (b->max_wg < 256) {
        cl_destroy(be);
        return hart_fail(HART_EUNSUPPORTED, "opencl: %s allows only %zu work-items per group (need 256)", dn, b->max_wg);
    }
    if (why)
        snprintf(why, why_n, "%s (%s, vendor %s; %s%s)", be->name, reason, vendor, info, tcinfo);
    *out = be;
    return HART_OK;
}

void hart_opencl_wait_stats(hart_backend *be, long *reads, long *writes, long *syncs) {
    clb *b = clb_of(be);
    *reads = b->n_read;
    *writes = b->n_write;
    *syncs = b->n_sync;
}
