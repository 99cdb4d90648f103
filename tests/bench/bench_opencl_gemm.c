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
#include "ops/ops.h"
#include "backend/opencl/opencl.h"
#include "core/tensor.h"

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
static int g_lin; /* 1: hart_op_linear (C = A·Bᵀ, the layout of nn.Linear weights) instead of hart_op_matmul */
static hart_tensor *g_a16, *g_b16; /* f16 copies of A and Bᵀ for the raw tensor-core kernel */
static double time_gemm(int variant, hart_tensor *c, hart_tensor *a, hart_tensor *b, int n) {
    int reps = n <= 1024 ? 20 : n <= 4096 ? 10 : 4;
    if (variant < 2) hart_opencl_set_tensor_cores(g_be, variant);
    double t0 = 0;
    for (int r = -1; r < reps; r++) {
        if (r == 0) { g_be->vt->sync(g_be); t0 = now(); }
        if (variant == 3) {
            if (hart_opencl_hgemm(g_be, c, g_a16, g_b16)) { fprintf(stderr, "%s\n", hart_errmsg()); return -1; }
        } else if (variant < 2) {
            if (g_lin ? hart_op_linear(c, a, b, NULL) : hart_op_matmul(c, a, b, 0, 0, 1.0f)) { fprintf(stderr, "%s\n", hart_errmsg()); return -1; }
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

/* Tensor-core GEMM on odd shapes against the portable f32 kernel, every
 * variant forced in turn (linear with f32/f16 weights, matmul with
 * transposes and a batch). Prints the worst relative error per variant. */
/* Returns the number of failed checks (the run must then fail). */
static int check_odd(void) {
    static const int shp[][3] = {{1, 1, 1}, {17, 67, 33}, {130, 129, 72}, {1025, 67, 1031}, {777, 1000, 1032},
                                 {4097, 300, 264}, {64, 64, 8}, {129, 257, 520}};
    int nvar = hart_opencl_set_hgemm_variant(g_be, -1), bad = 0;
    printf("tensor-core GEMM on odd shapes vs portable f32 (max rel err over %d shapes x 3 ops):\n",
           (int)(sizeof shp / sizeof shp[0]));
    for (int v = -1; v < nvar; v++) {
        double worst = 0;
        for (size_t si = 0; si < sizeof shp / sizeof shp[0]; si++) {
            int M = shp[si][0], N = shp[si][1], K = shp[si][2];
            for (int op = 0; op < 3; op++) {
                hart_tensor x, w, y, y2;
                int B = op == 2 ? 3 : 1;
                hart_dtype wdt = op == 1 ? HART_F16 : HART_F32;
                if (hart_tensor_new4(g_be, HART_F32, &x, 3, B, M, K, 0) ||
                    hart_tensor_new4(g_be, wdt, &w, 3, B, op == 2 ? K : N, op == 2 ? N : K, 0) ||
                    hart_tensor_new4(g_be, HART_F32, &y, 3, B, M, N, 0) || hart_tensor_new4(g_be, HART_F32, &y2, 3, B, M, N, 0)) {
                    printf("  allocation failed: %s\n", hart_errmsg());
                    return 1;
                }
                size_t nx = (size_t)B * M * K, nw = (size_t)B * N * K, ny = (size_t)B * M * N;
                float *hx = malloc(nx * 4), *hw = malloc(nw * 4), *r0 = malloc(ny * 4), *r1 = malloc(ny * 4);
                uint16_t *hw16 = malloc(nw * 2);
                fill(hx, nx, 7 + (unsigned)si);
                fill(hw, nw, 9 + (unsigned)si);
                for (size_t i = 0; i < nw; i++) hw16[i] = hart_f32_to_f16(hw[i]);
                hart_tensor_write(&x, hx, nx * 4);
                hart_tensor_write(&w, wdt == HART_F16 ? (void *)hw16 : (void *)hw, nw * (wdt == HART_F16 ? 2 : 4));
                hart_tensor x2 = x, w2 = w, yy = y, yy2 = y2; /* linear takes 2-D weights */
                if (op < 2) { w2.ndim = 2; w2.shape[0] = N; w2.shape[1] = K; }
                hart_status s = HART_OK;
                for (int t = 0; t < 2 && !s; t++) {
                    hart_opencl_set_tensor_cores(g_be, t);
                    hart_opencl_set_hgemm_variant(g_be, v);
                    hart_tensor *out = t ? &yy2 : &yy;
                    s = op < 2 ? hart_op_linear(out, &x2, &w2, NULL) : hart_op_matmul(out, &x2, &w2, 0, 0, 0.5f);
                }
                hart_opencl_set_tensor_cores(g_be, 0);
                hart_opencl_set_hgemm_variant(g_be, -1);
                if (s || hart_tensor_read(&y, r0, ny * 4) || hart_tensor_read(&y2, r1, ny * 4)) {
                    printf("  variant %s op %d %dx%dx%d failed: %s\n", hart_opencl_hgemm_variant_name(v), op, M, N, K, hart_errmsg());
                    bad = 1;
                } else {
                    double e = rel(r1, r0, ny);
                    if (e > worst || isnan(e)) worst = isnan(e) ? INFINITY : e;
                }
                free(hx); free(hw); free(r0); free(r1); free(hw16);
                hart_tensor_free(&x); hart_tensor_free(&w); hart_tensor_free(&y); hart_tensor_free(&y2);
            }
        }
        printf("  %-22s max rel err %.2e %s\n", hart_opencl_hgemm_variant_name(v), worst, worst <= 2e-3 ? "ok" : "FAIL");
        if (worst > 2e-3) bad = 1;
    }
    printf("odd-shape check: %s\n\n", bad ? "FAILED" : "passed");
    return bad;
}

/* $HART_BENCH_SHAPES="MxNxK,...": C[M,N] f32 = A[M,K] f16 * B[N,K]^T f16 through
 * hart_opencl_hgemm (the tensor-core path of linear/matmul) with the default
 * choice (wgmma on Hopper for large GEMMs), then every variant forced; and
 * hart_op_linear with f32 activations and f16 weights (default choice). Prints
 * TFLOP/s and each variant's relative error against the default's result. */
static int bench_shapes(const char *spec) {
    int bad = 0;
    printf("\nf16 GEMM shapes (TFLOP/s; C[M,N] = A[M,K] B[N,K]^T, f32 out):\n");
    for (const char *p = spec; p && *p;) {
        int M, N, K;
        if (sscanf(p, "%dx%dx%d", &M, &N, &K) != 3) { printf("bad shape list at '%s'\n", p); return 1; }
        p = strchr(p, ',');
        if (p) p++;
        hart_tensor a16, b16, c, x32;
        if (hart_tensor_new4(g_be, HART_F16, &a16, 2, M, K, 0, 0) || hart_tensor_new4(g_be, HART_F16, &b16, 2, N, K, 0, 0) ||
            hart_tensor_new4(g_be, HART_F32, &c, 2, M, N, 0, 0) || hart_tensor_new4(g_be, HART_F32, &x32, 2, M, K, 0, 0)) {
            printf("allocation failed: %s\n", hart_errmsg());
            return 1;
        }
        size_t na = (size_t)M * K, nb = (size_t)N * K, nc = (size_t)M * N;
        float *h = malloc((na > nb ? na : nb) * 4), *r0 = malloc(nc * 4), *r1 = malloc(nc * 4);
        uint16_t *h16 = malloc((na > nb ? na : nb) * 2);
        fill(h, na, 11);
        hart_tensor_write(&x32, h, na * 4);
        for (size_t i = 0; i < na; i++) h16[i] = hart_f32_to_f16(h[i]);
        hart_tensor_write(&a16, h16, na * 2);
        fill(h, nb, 12);
        for (size_t i = 0; i < nb; i++) h16[i] = hart_f32_to_f16(h[i]);
        hart_tensor_write(&b16, h16, nb * 2);
        double flop = 2.0 * M * N * (double)K;
        int nv = hart_opencl_set_hgemm_variant(g_be, -1);
        printf("%5dx%5dx%5d:", M, N, K);
        double best_mma = 0;
        const char *best_name = "-";
        for (int v = -1; v < nv; v++) {
            hart_opencl_set_hgemm_variant(g_be, v);
            int reps = 10;
            double t0 = 0;
            hart_status st = HART_OK;
            for (int r = -1; r < reps && !st; r++) {
                if (r == 0) { g_be->vt->sync(g_be); t0 = now(); }
                st = hart_opencl_hgemm(g_be, &c, &a16, &b16);
            }
            if (!st) st = g_be->vt->sync(g_be);
            double t = (now() - t0) / reps;
            if (st || hart_tensor_read(&c, v < 0 ? r0 : r1, nc * 4)) {
                printf(" %s FAILED (%s)", hart_opencl_hgemm_variant_name(v), hart_errmsg());
                bad++;
                continue;
            }
            double tf = flop / t * 1e-12, e = v < 0 ? 0 : rel(r1, r0, nc);
            if (v < 0) printf(" default %.0f", tf);
            else if (!strncmp(hart_opencl_hgemm_variant_name(v), "wg_", 3))
                printf(" | %s %.0f (err %.0e)", hart_opencl_hgemm_variant_name(v) + 9, tf, e);
            else if (tf > best_mma) { best_mma = tf; best_name = hart_opencl_hgemm_variant_name(v); }
            if (v >= 0 && !(e <= 2e-3)) { printf(" [%s rel err %.1e FAIL]", hart_opencl_hgemm_variant_name(v), e); bad++; }
        }
        hart_opencl_set_hgemm_variant(g_be, -1);
        printf(" | best mma.sync %.0f (%s)", best_mma, best_name + 9);
        /* the product's linear: f32 activations (converted on each call), f16 weights */
        hart_opencl_set_tensor_cores(g_be, 1);
        double t0 = 0;
        hart_status st = HART_OK;
        for (int r = -1; r < 10 && !st; r++) {
            if (r == 0) { g_be->vt->sync(g_be); t0 = now(); }
            st = hart_op_linear(&c, &x32, &b16, NULL);
        }
        if (!st) st = g_be->vt->sync(g_be);
        hart_opencl_set_tensor_cores(g_be, 0);
        if (st) { printf(" | linear FAILED (%s)\n", hart_errmsg()); bad++; }
        else printf(" | op_linear f32 x %.0f\n", flop / ((now() - t0) / 10) * 1e-12);
        fflush(stdout);
        free(h); free(r0); free(r1); free(h16);
        hart_tensor_free(&a16); hart_tensor_free(&b16); hart_tensor_free(&c); hart_tensor_free(&x32);
    }
    return bad;
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

    const char *pk = getenv("HART_BENCH_PEAK_TFLOPS");
    double peak = pk ? atof(pk) : 0;
    int failures = tc ? check_odd() : 0; /* any failed check fails the run */
    if (tc && getenv("HART_BENCH_SHAPES")) failures += bench_shapes(getenv("HART_BENCH_SHAPES"));
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
            printf("%6s %10s %12s %12s %10s %11s %11s %10s\n", "size", "portable", "tc(f32 op)", "tc(f16 in)",
                   "CLBlast", "tc rel err", "f16 rel err", "pt vs CLB");
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
            failures++;
            break;
        }
        hart_tensor_write(&a, ha, nn * 4);
        hart_tensor_write(&b, hb, nn * 4);
        double flop = 2.0 * n * n * (double)n;
        double tp = time_gemm(0, &c, &a, &b, n);
        if (tp < 0 || hart_tensor_read(&c, r0, nn * 4)) { printf("%6d portable GEMM failed: %s\n", n, hart_errmsg()); failures++; break; }
        double tt = -1, tb = -1, et = -1, eb = -1, th = -1, eh = -1;
        if (g_sgemm) { /* before the tensor-core kernel, so a fault there cannot hide CLBlast's figure */
            tb = time_gemm(2, &c, &a, &b, n);
            if (tb > 0 && !hart_tensor_read(&c, r1, nn * 4)) eb = rel(r0, r1, nn);
            if (eb >= 0 && !(eb <= 1e-4)) { printf("%6d portable vs CLBlast rel err %.2e > 1e-4: FAIL\n", n, eb); failures++; }
        }
        if (tc) {
            tt = time_gemm(1, &c, &a, &b, n);
            if (tt < 0 || hart_tensor_read(&c, r1, nn * 4)) { printf("%6d tensor-core GEMM failed: %s\n", n, hart_errmsg()); failures++; break; }
            et = rel(r1, r0, nn);
            if (!(et <= 2e-3)) { printf("%6d tensor-core GEMM rel err %.2e > 2e-3: FAIL\n", n, et); failures++; }
            /* raw kernel: A and Bᵀ already f16 in device memory (the layout of f16 nn.Linear weights) */
            hart_tensor a16, b16;
            uint16_t *h16 = malloc(nn * 2);
            if (h16 && !hart_tensor_new4(g_be, HART_F16, &a16, 2, n, n, 0, 0) &&
                !hart_tensor_new4(g_be, HART_F16, &b16, 2, n, n, 0, 0)) {
                for (size_t i = 0; i < nn; i++) h16[i] = hart_f32_to_f16(ha[i]);
                hart_tensor_write(&a16, h16, nn * 2);
                for (size_t i = 0; i < (size_t)n; i++) /* b16[j][k] = B[k][j] (matmul) or W[j][k] (linear) */
                    for (size_t k = 0; k < (size_t)n; k++) h16[i * n + k] = hart_f32_to_f16(g_lin ? hb[i * n + k] : hb[k * n + i]);
                hart_tensor_write(&b16, h16, nn * 2);
                g_a16 = &a16;
                g_b16 = &b16;
                th = time_gemm(3, &c, &a, &b, n);
                if (th > 0 && !hart_tensor_read(&c, r1, nn * 4)) eh = rel(r1, r0, nn);
                if (n >= 4096 && pass < ns) { /* every variant at the large sizes */
                    int nv = hart_opencl_set_hgemm_variant(g_be, -1);
                    for (int v = 0; v < nv; v++) {
                        hart_opencl_set_hgemm_variant(g_be, v);
                        double tv = time_gemm(3, &c, &a, &b, n);
                        double ev = tv > 0 && !hart_tensor_read(&c, r1, nn * 4) ? rel(r1, r0, nn) : -1;
                        printf("       f16 variant %-22s %8.0f GFLOP/s  rel err %.1e\n", hart_opencl_hgemm_variant_name(v),
                               tv > 0 ? flop / tv * 1e-9 : 0.0, ev);
                    }
                    hart_opencl_set_hgemm_variant(g_be, -1);
                }
                hart_tensor_free(&a16);
                hart_tensor_free(&b16);
            }
            free(h16);
        }
        char st[32] = "-", sb[32] = "-", se[32] = "-", sbe[32] = "-", sh[48] = "-", she[32] = "-";
        if (tt > 0) snprintf(st, sizeof st, "%.0f", flop / tt * 1e-9);
        if (th > 0 && peak > 0) snprintf(sh, sizeof sh, "%.0f(%.0f%%)", flop / th * 1e-9, flop / th * 1e-10 / peak);
        else if (th > 0) snprintf(sh, sizeof sh, "%.0f", flop / th * 1e-9);
        if (eh >= 0) snprintf(she, sizeof she, "%.1e", eh);
        if (tb > 0) snprintf(sb, sizeof sb, "%.0f", flop / tb * 1e-9);
        if (et >= 0) snprintf(se, sizeof se, "%.1e", et);
        if (eb >= 0) snprintf(sbe, sizeof sbe, "%.1e", eb);
        printf("%6d %10.0f %12s %12s %10s %11s %11s %10s\n", n, tp > 0 ? flop / tp * 1e-9 : 0.0, st, sh, sb, se, she, sbe);
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
            if (hart_op_attention(&ot, &qt, &kt, &vt, NULL, 0.125f)) { printf("attention failed: %s\n", hart_errmsg()); failures++; break; }
        }
        if (g_be->vt->sync(g_be)) { printf("attention failed: %s\n", hart_errmsg()); failures++; }
        double t = (now() - t0) / reps;
        printf("\nattention B=1 H=%d q=%d k=%d d=%d (no mask): %.2f ms, %.0f GFLOP/s\n", H, Lq, Lk, D, t * 1e3,
               4.0 * H * Lq * (double)Lk * D / t * 1e-9);
        hart_tensor_free(&qt); hart_tensor_free(&kt); hart_tensor_free(&vt); hart_tensor_free(&ot);
    }
    hart_backend_close(g_be);
    if (failures) {
        printf("bench_opencl_gemm: %d correctness check(s) FAILED\n", failures);
        return 1;
    }
    return 0;
}

/* The OpenCL runtimes (PoCL/LLVM, CLBlast) keep allocations for the life of
 * the process; not ours (this matters when linked with AddressSanitizer). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libLLVM\nleak:libclblast\nleak:libOpenCL\n"; }
