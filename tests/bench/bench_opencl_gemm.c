/* OpenCL benchmark: GEMM GFLOP/s of the portable kernel, the NVIDIA
 * tensor-core kernel (when built) and CLBlast (loaded at run time when
 * installed) on the same device and buffers; fused attention time at
 * q=4096, k=9451, d=64. Usage: bench_opencl_gemm [size...]
 * (default 256..8192 on a GPU, 256 512 on a CPU device; $HART_DEVICE picks
 * the device, default "opencl"). */
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "backend/opencl/opencl.h"

typedef int (*sgemm_fn)(int layout, int ta, int tb, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                        size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem c,
                        size_t c_off, size_t ldc, cl_command_queue *q, cl_event *ev);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fill(float *x, size_t n, unsigned s) {
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((s >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
}

static double rel(const float *a, const float *b, size_t n) {
    double md = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > md || isnan(d)) md = isnan(d) ? INFINITY : d;
        if (fabs(b[i]) > mb) mb = fabs(b[i]);
    }
    return mb > 0 ? md / mb : md;
}

static hart_backend *g_be;
static cl_command_queue g_q;
static sgemm_fn g_sgemm;

/* seconds per call of one GEMM variant (0 = portable, 1 = tensor cores, 2 = CLBlast); -1 on failure */
static int g_lin; /* 1: op_linear (C = A·Bᵀ, the layout of nn.Linear weights) instead of op_matmul */
static double time_gemm(int variant, hart_tensor *c, hart_tensor *a, hart_tensor *b, int n) {
    int reps = n <= 1024 ? 20 : n <= 4096 ? 5 : 2;
    if (variant < 2) hart_opencl_set_tensor_cores(g_be, variant);
    double t0 = 0;
    for (int r = -1; r < reps; r++) {
        if (r == 0) { g_be->vt->sync(g_be); t0 = now(); }
        if (variant < 2) {
            if (g_lin ? op_linear(c, a, b, NULL) : op_matmul(c, a, b, 0, 0, 1.0f)) { fprintf(stderr, "%s\n", hart_errmsg()); return -1; }
        } else {
            cl_command_queue q = g_q;
            int e = g_sgemm(101, 111, g_lin ? 112 : 111, (size_t)n, (size_t)n, (size_t)n, 1.0f, a->dev, 0, (size_t)n, b->dev, 0,
                        (size_t)n, 0.0f, c->dev, 0, (size_t)n, &q, NULL);
            if (e) { fprintf(stderr, "CLBlastSgemm: status %d\n", e); return -1; }
        }
    }
    hart_status st = g_be->vt->sync(g_be);
    hart_opencl_set_tensor_cores(g_be, 0);
    if (st) { fprintf(stderr, "variant %d at %d: %s\n", variant, n, hart_errmsg()); return -1; }
    return (now() - t0) / reps;
}

int main(int argc, char **argv) {
    char why[600];
    const char *spec = getenv("HART_DEVICE");
    if (hart_backend_open(spec && *spec ? spec : "opencl", &g_be, why, sizeof why) || g_be->kind != HART_BACKEND_OPENCL) {
        printf("bench_opencl_gemm: skipped, no OpenCL device (%s)\n", hart_errmsg());
        return 0;
    }
    void *ctx, *q, *dev;
    hart_opencl_native(g_be, &ctx, &q, &dev);
    g_q = q;
    cl_device_type type = 0;
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    int gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
    printf("device: %s\n", why);
    void *lib = dlopen("libclblast.so.1", RTLD_NOW);
    if (!lib) lib = dlopen("libclblast.so", RTLD_NOW);
    if (lib) g_sgemm = (sgemm_fn)(uintptr_t)dlsym(lib, "CLBlastSgemm");
    printf("CLBlast: %s\n", g_sgemm ? "loaded" : "not found (install libclblast-dev for the comparison)");
    int tc = !getenv("HART_BENCH_NO_TC") && hart_opencl_set_tensor_cores(g_be, 1);
    hart_opencl_set_tensor_cores(g_be, 0);

    int sizes[16], ns = 0;
    for (int i = 1; i < argc && ns < 16; i++) sizes[ns++] = atoi(argv[i]);
    if (!ns) {
        int full[] = {256, 512, 1024, 2048, 4096, 8192}, small[] = {256, 512};
        int *s = gpu ? full : small, cnt = gpu ? 6 : 2;
        for (int i = 0; i < cnt; i++) sizes[ns++] = s[i];
    }
    for (int pass = 0; pass < 2 * ns; pass++) {
        int si = pass % ns, n = sizes[si];
        g_lin = pass >= ns;
        if (pass == 0 || pass == ns) {
            printf(g_lin ? "\nop_linear Y[M,N] = X[M,K] W[N,K]^T, f32, M=N=K, GFLOP/s\n"
                         : "\nop_matmul C[M,N] = A[M,K] B[K,N], f32 in/out, M=N=K, GFLOP/s\n");
            printf("%6s %12s %14s %10s %16s %16s\n", "size", "portable", "tensor-core", "CLBlast", "tc rel err", "portable vs CLBlast");
        }
        if (n < 1) continue;
        size_t nn = (size_t)n * n;
        float *ha = malloc(nn * 4), *hb = malloc(nn * 4), *r0 = malloc(nn * 4), *r1 = malloc(nn * 4);
        fill(ha, nn, 1);
        fill(hb, nn, 2);
        hart_tensor a, b, c;
        if (hart_tensor_new4(g_be, HART_F32, &a, 2, n, n, 0, 0) || hart_tensor_new4(g_be, HART_F32, &b, 2, n, n, 0, 0) ||
            hart_tensor_new4(g_be, HART_F32, &c, 2, n, n, 0, 0)) {
            printf("%6d allocation failed: %s\n", n, hart_errmsg());
            break;
        }
        hart_tensor_write(&a, ha, nn * 4);
        hart_tensor_write(&b, hb, nn * 4);
        double flop = 2.0 * n * n * (double)n;
        double tp = time_gemm(0, &c, &a, &b, n);
        if (tp < 0 || hart_tensor_read(&c, r0, nn * 4)) { printf("%6d portable GEMM failed: %s\n", n, hart_errmsg()); break; }
        double tt = -1, tb = -1, et = -1, eb = -1;
        if (g_sgemm) { /* before the tensor-core kernel, so a fault there cannot hide CLBlast's figure */
            tb = time_gemm(2, &c, &a, &b, n);
            if (tb > 0 && !hart_tensor_read(&c, r1, nn * 4)) eb = rel(r0, r1, nn);
        }
        if (tc) {
            tt = time_gemm(1, &c, &a, &b, n);
            if (tt < 0 || hart_tensor_read(&c, r1, nn * 4)) { printf("%6d tensor-core GEMM failed: %s\n", n, hart_errmsg()); break; }
            et = rel(r1, r0, nn);
        }
        char st[32] = "-", sb[32] = "-", se[32] = "-", sbe[32] = "-";
        if (tt > 0) snprintf(st, sizeof st, "%.0f", flop / tt * 1e-9);
        if (tb > 0) snprintf(sb, sizeof sb, "%.0f", flop / tb * 1e-9);
        if (et >= 0) snprintf(se, sizeof se, "%.1e", et);
        if (eb >= 0) snprintf(sbe, sizeof sbe, "%.1e", eb);
        printf("%6d %12.0f %14s %10s %16s %16s\n", n, tp > 0 ? flop / tp * 1e-9 : 0.0, st, sb, se, sbe);
        fflush(stdout);
        hart_tensor_free(&a); hart_tensor_free(&b); hart_tensor_free(&c);
        free(ha); free(hb); free(r0); free(r1);
    }

    /* attention: q [1, H, 4096, 64], k/v [1, H, 9451, 64] (CPU devices: a smaller case) */
    int H = gpu ? 24 : 1, Lq = gpu ? 4096 : 256, Lk = gpu ? 9451 : 591, D = 64;
    hart_tensor qt, kt, vt, ot;
    if (!hart_tensor_new4(g_be, HART_F32, &qt, 4, 1, H, Lq, D) && !hart_tensor_new4(g_be, HART_F32, &kt, 4, 1, H, Lk, D) &&
        !hart_tensor_new4(g_be, HART_F32, &vt, 4, 1, H, Lk, D) && !hart_tensor_new4(g_be, HART_F32, &ot, 4, 1, H, Lq, D)) {
        size_t nq = (size_t)H * Lq * D, nk = (size_t)H * Lk * D;
        float *h = malloc(nk * 4);
        fill(h, nq, 3); hart_tensor_write(&qt, h, nq * 4);
        fill(h, nk, 4); hart_tensor_write(&kt, h, nk * 4);
        fill(h, nk, 5); hart_tensor_write(&vt, h, nk * 4);
        free(h);
        int reps = 3;
        double t0 = 0;
        for (int r = -1; r < reps; r++) {
            if (r == 0) { g_be->vt->sync(g_be); t0 = now(); }
            if (op_attention(&ot, &qt, &kt, &vt, NULL, 0.125f)) { printf("attention failed: %s\n", hart_errmsg()); break; }
        }
        if (g_be->vt->sync(g_be)) printf("attention failed: %s\n", hart_errmsg());
        double t = (now() - t0) / reps;
        printf("\nattention B=1 H=%d q=%d k=%d d=%d (no mask): %.2f ms, %.0f GFLOP/s\n", H, Lq, Lk, D, t * 1e3,
               4.0 * H * Lq * (double)Lk * D / t * 1e-9);
        hart_tensor_free(&qt); hart_tensor_free(&kt); hart_tensor_free(&vt); hart_tensor_free(&ot);
    }
    hart_backend_close(g_be);
    return 0;
}

/* The OpenCL runtimes (PoCL/LLVM, CLBlast) keep allocations for the life of
 * the process; not ours (this matters when linked with AddressSanitizer). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libLLVM\nleak:libclblast\nleak:libOpenCL\n"; }
