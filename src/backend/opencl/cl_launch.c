/* OpenCL kernel launch (kernels created on first use, by name) and the
 * per-kernel device time of HART_CL_PROFILE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_internal.h"
#include "backend/opencl/opencl.h"

/* *ki: the kernel's index in b->kern */
static hart_status get_kernel(clb *b, const char *name, cl_kernel *k, int *ki) {
    *ki = -1;
    for (int i = 0; i < b->nkern; i++)
        if (!strcmp(b->kern[i].name, name)) { *k = b->kern[i].k; *ki = i; return HART_OK; }
    cl_int err;
    cl_program prog = !strncmp(name, "nv_", 3) ? b->prog_nv : !strncmp(name, "wg_", 3) ? b->prog_wg : b->prog;
    if (!prog) return hart_fail(HART_EDEVICE, "OpenCL kernel %s: its program is not built on this device", name);
    cl_kernel kk = clCreateKernel(prog, name, &err);
    if (!kk) return hart_fail(HART_EDEVICE, "OpenCL kernel %s: %s", name, hart_cl_errname(err));
    if (b->nkern == b->kern_cap) {
        int cap = b->kern_cap ? 2 * b->kern_cap : 64;
        struct clb_kern *g = realloc(b->kern, (size_t)cap * sizeof *g);
        if (!g) { clReleaseKernel(kk); return hart_fail(HART_ENOMEM, "out of memory (kernel table)"); }
        b->kern = g;
        b->kern_cap = cap;
    }
    {
        snprintf(b->kern[b->nkern].name, sizeof b->kern[b->nkern].name, "%s", name);
        b->kern[b->nkern].prof_s = 0;
        b->kern[b->nkern].prof_n = 0;
        *ki = b->nkern;
        b->kern[b->nkern++].k = kk;
    }
    *k = kk;
    return HART_OK;
}

hart_status hart_cl_run(clb *b, const char *name, int dims, const size_t *gws, const size_t *lws,
                    const karg *args, int nargs) {
    cl_kernel k = NULL;
    int ki = -1;
    HART_TRY(get_kernel(b, name, &k, &ki));
    /* a cached weight's buffer passed to any kernel but the GEMM ones may be
     * written by it: forget its f16 copy (conservative) */
    if (b->nwc && strncmp(name, "nv_", 3) && strncmp(name, "wg_", 3) && strncmp(name, "gemm_", 5))
        for (int i = 0; i < nargs; i++)
            if (!args[i].local && args[i].size == sizeof(cl_mem)) hart_cl_wcache_drop(b, args[i].v.m);
    for (int i = 0; i < nargs; i++) {
        cl_int e = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].local ? NULL : (const void *)&args[i].v);
        if (e) return hart_fail(HART_EDEVICE, "OpenCL kernel %s: argument %d: %s", name, i, hart_cl_errname(e));
    }
    size_t g[3];
    for (int d = 0; d < dims; d++) {
        g[d] = gws[d];
        if (!g[d]) return HART_OK; /* empty launch */
        if (lws) g[d] = round_up(g[d], lws[d]);
    }
    cl_event ev = NULL;
    cl_int e = clEnqueueNDRangeKernel(b->q, k, (cl_uint)dims, NULL, g, lws, 0, NULL, b->prof ? &ev : NULL);
    if (e) return hart_fail(HART_EDEVICE, "OpenCL launch of kernel %s: %s", name, hart_cl_errname(e));
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
        if (e) return hart_fail(HART_EDEVICE, "OpenCL kernel %s failed: %s", name, hart_cl_errname(e));
    }
    return HART_OK;
}

/* HART_CL_PROFILE: per-kernel device time, printed when the backend closes
 * (or at exit for a backend that is never closed). */
static clb *g_prof_b;
void hart_cl_prof_dump(clb *b) {
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
    if (g_prof_b) hart_cl_prof_dump(g_prof_b);
}

void hart_cl_prof_watch(clb *b) {
    static int registered;
    if (!registered) registered = atexit(prof_dump_atexit) == 0;
    g_prof_b = b;
}
