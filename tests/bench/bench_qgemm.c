/* Quantized GEMM benchmark (docs/quant.md), through the product's op path
 * (hart_op_linear on a quantized weight, hart_op_qgemm for the integer part):
 *   - linear 1024x4096x4096: f32 (OpenBLAS sgemm path; on CPU also sgemm
 *     called directly) vs W8A8, W4A8, W4A16 (quantization of x included);
 *   - int8 GEMM (int32 sums only) at 4096^3 and at HART's last-scale shapes
 *     (1024 px, guidance batch 2: 8192 rows), in TOPS;
 *   - W4A16 at small M (1, 2, 16 rows) vs f32 (and f16 weights), K = N = 4096;
 *   - on OpenCL: every int8 kernel variant, and the f16 tensor-core GEMM on
 *     f16 operands (hart_opencl_hgemm) as the baseline where it exists.
 * usage: bench_qgemm [--device SPEC] [--quick]   (best of a few runs each; device synced) */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_quant.h"
#include "backend/opencl/opencl.h"
#include "ops/ops.h"
#include "quant/quantize.h"
#include "support/golden.h"

static hart_backend *g_be;
static int g_cl;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "bench_qgemm: %s: %s\n", what, hart_errmsg());
    exit(1);
}

typedef hart_status (*run_fn)(void *ctx);

static double best_time(run_fn f, void *ctx, int reps, double budget) {
    double best = INFINITY, t0 = now();
    for (int i = 0; i < reps; i++) {
        double s = now();
        if (f(ctx) != HART_OK || (g_be->vt->sync && g_be->vt->sync(g_be) != HART_OK)) die("op");
        double e = now() - s;
        if (e < best) best = e;
        if (now() - t0 > budget && i >= 1) break;
    }
    return best;
}

static void line(const char *name, int64_t M, int64_t N, int64_t K, double t, const char *unit, double base) {
    char shape[64];
    snprintf(shape, sizeof shape, "M=%lld N=%lld K=%lld", (long long)M, (long long)N, (long long)K);
    printf("%-40s %-26s %10.3f ms %10.2f %s", name, shape, t * 1e3, 2.0 * M * N * K / t * 1e-9, unit);
    if (base > 0) printf("  x%.2f", base / t);
    printf("\n");
    fflush(stdout);
}

static hart_tensor dev_f32(int64_t M, int64_t K, unsigned seed, hart_dtype dt) {
    hart_tensor h, d;
    if (hart_tensor_new4(NULL, HART_F32, &h, 2, M, K, 0, 0)) die("alloc");
    fill_random(h.data, M * K, seed, -1.0f, 1.0f);
    if (dt != HART_F32) {
        hart_tensor c;
        if (hart_tensor_new4(NULL, dt, &c, 2, M, K, 0, 0)) die("alloc");
        for (int64_t i = 0; i < M * K; i++)
            ((uint16_t *)c.data)[i] = dt == HART_F16 ? hart_f32_to_f16(((float *)h.data)[i]) : hart_f32_to_bf16(((float *)h.data)[i]);
        hart_tensor_free(&h);
        h = c;
    }
    if (hart_tensor_to(g_be, &h, &d)) die("upload");
    hart_tensor_free(&h);
    return d;
}

static hart_tensor qshell(int64_t N, int64_t K, hart_qformat f, unsigned seed) {
    float *w = malloc(sizeof(float) * (size_t)(N * K));
    fill_random(w, N * K, seed, -0.1f, 0.1f);
    hart_qweight q, d;
    hart_tensor t;
    if (hart_quantize_rtn(w, N, K, f, HART_QGROUP, &q) || hart_qweight_to(g_be, &q, &d) || hart_qweight_attach(&d, &t)) die("quantize");
    hart_qweight_free(&q);
    free(w);
    return t;
}

typedef struct { hart_tensor *y, *x, *w; } lin_ctx;
static hart_status run_lin(void *c) { lin_ctx *l = c; return hart_op_linear(l->y, l->x, l->w, NULL); }
typedef struct { hart_tensor *acc, *a; const hart_qweight *w; } qg_ctx;
static hart_status run_qg(void *c) { qg_ctx *q = c; return hart_op_qgemm(q->acc, q->a, q->w); }
typedef struct { int64_t M, N, K; const float *a, *b; float *c; } sg_ctx;
static hart_status run_sg(void *c) {
    sg_ctx *s = c;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)s->M, (int)s->N, (int)s->K, 1.0f, s->a, (int)s->K, s->b,
                (int)s->K, 0.0f, s->c, (int)s->N);
    return HART_OK;
}
typedef struct { hart_tensor *c, *a, *b; } hg_ctx;
static hart_status run_hg(void *c) { hg_ctx *h = c; return hart_opencl_hgemm(g_be, h->c, h->a, h->b); }

/* f16 tensor-core baseline (OpenCL NVIDIA): seconds, or 0 when unavailable */
static double f16_tc(int64_t M, int64_t N, int64_t K, int reps) {
    if (!g_cl) return 0;
    hart_tensor a = dev_f32(M, K, 5, HART_F16), b = dev_f32(N, K, 6, HART_F16), c;
    if (hart_tensor_new4(g_be, HART_F32, &c, 2, M, N, 0, 0)) die("alloc");
    double t = 0;
    hg_ctx h = {&c, &a, &b};
    if (hart_opencl_hgemm(g_be, &c, &a, &b) == HART_OK) {
        t = best_time(run_hg, &h, reps, 2.0);
        line("f16 tensor-core GEMM (hart_opencl_hgemm)", M, N, K, t, "GFLOP/s", 0);
    } else hart_clear_error();
    hart_tensor_free(&a); hart_tensor_free(&b); hart_tensor_free(&c);
    return t;
}

static void linear_case(int64_t M, int64_t N, int64_t K, int reps) {
    hart_tensor x = dev_f32(M, K, 1, HART_F32), w = dev_f32(N, K, 2, HART_F32), y;
    if (hart_tensor_new4(g_be, HART_F32, &y, 2, M, N, 0, 0)) die("alloc");
    lin_ctx l = {&y, &x, &w};
    double base = best_time(run_lin, &l, reps, 3.0);
    line("hart_op_linear f32", M, N, K, base, "GFLOP/s", 0);
    if (!g_cl) {
        sg_ctx s = {M, N, K, x.data, w.data, y.data};
        openblas_set_num_threads(omp_get_max_threads());
        line("sgemm (OpenBLAS direct, own threads)", M, N, K, best_time(run_sg, &s, reps, 3.0), "GFLOP/s", base);
        openblas_set_num_threads(1);
    }
    double tc = f16_tc(M, N, K, reps);
    const char *names[] = {NULL, "hart_op_linear w8a8 (x quantized too)", "hart_op_linear w4a16", "hart_op_linear w4a8 (x quantized too)"};
    for (int f = HART_QF_W8A8; f < HART_QF_COUNT; f++) {
        hart_tensor qw = qshell(N, K, (hart_qformat)f, 3);
        l.w = &qw;
        double t = best_time(run_lin, &l, reps, 3.0);
        line(names[f], M, N, K, t, "GOP/s", base);
        if (tc > 0) printf("%-40s vs f16 tensor cores x%.2f\n", "", tc / t);
        hart_tensor_free(&qw);
    }
    hart_tensor_free(&x); hart_tensor_free(&w); hart_tensor_free(&y);
}

static void int8_case(const char *what, int64_t M, int64_t N, int64_t K, int reps) {
    hart_tensor a, ah, acc;
    if (hart_tensor_new4(NULL, HART_I8, &ah, 2, M, K, 0, 0)) die("alloc");
    for (int64_t i = 0; i < M * K; i++) ((int8_t *)ah.data)[i] = (int8_t)((i * 7919) % 255 - 127);
    if (hart_tensor_to(g_be, &ah, &a) || hart_tensor_new4(g_be, HART_I32, &acc, 2, M, N, 0, 0)) die("alloc");
    hart_tensor_free(&ah);
    double tc = f16_tc(M, N, K, reps);
    for (int f = HART_QF_W8A8; f <= HART_QF_W4A8; f += 2) {
        hart_tensor qw = qshell(N, K, (hart_qformat)f, 4);
        qg_ctx q = {&acc, &a, qw.quant};
        int nv = g_cl ? hart_opencl_set_qgemm_variant(g_be, -1) : 1;
        for (int v = 0; v < nv; v++) {
            if (g_cl) hart_opencl_set_qgemm_variant(g_be, v);
            double t = best_time(run_qg, &q, reps, 3.0);
            char name[96];
            snprintf(name, sizeof name, "int8 GEMM %s %s%s%s", hart_qformat_name((hart_qformat)f), what, g_cl ? " " : "",
                     g_cl ? hart_opencl_qgemm_variant_name(v) : "");
            line(name, M, N, K, t, "GOP/s", 0);
            if (tc > 0) printf("%-40s vs f16 tensor cores x%.2f\n", "", tc / t);
        }
        if (g_cl) hart_opencl_set_qgemm_variant(g_be, -1);
        hart_tensor_free(&qw);
    }
    hart_tensor_free(&a); hart_tensor_free(&acc);
}

static void small_m_case(int64_t M, int64_t N, int64_t K, int reps) {
    hart_tensor x = dev_f32(M, K, 1, HART_F32), w = dev_f32(N, K, 2, HART_F32), w16 = dev_f32(N, K, 2, HART_F16), y;
    if (hart_tensor_new4(g_be, HART_F32, &y, 2, M, N, 0, 0)) die("alloc");
    lin_ctx l = {&y, &x, &w};
    double base = best_time(run_lin, &l, reps, 2.0);
    line("hart_op_linear f32 (small M)", M, N, K, base, "GFLOP/s", 0);
    l.w = &w16;
    line("hart_op_linear f16 weights", M, N, K, best_time(run_lin, &l, reps, 2.0), "GFLOP/s", base);
    hart_tensor qw = qshell(N, K, HART_QF_W4A16, 3);
    l.w = &qw;
    line("hart_op_linear w4a16", M, N, K, best_time(run_lin, &l, reps, 2.0), "GFLOP/s", base);
    hart_tensor_free(&qw); hart_tensor_free(&x); hart_tensor_free(&w); hart_tensor_free(&w16); hart_tensor_free(&y);
}

int main(int argc, char **argv) {
    const char *dev = "cpu";
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) dev = argv[++i];
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else { fprintf(stderr, "usage: bench_qgemm [--device SPEC] [--quick]\n"); return 2; }
    }
    char why[512];
    if (hart_backend_open(dev, &g_be, why, sizeof why)) die("device");
    g_cl = g_be->kind == HART_BACKEND_OPENCL;
    printf("device: %s\n", why[0] ? why : g_be->name);
    if (!g_cl) printf("cpu int8 kernel: %s\n", hart_cpu_qisa_name(hart_cpu_qisa_current()));
    int reps = quick ? 2 : 5;
    linear_case(1024, 4096, 4096, reps);
    if (!quick) int8_case("4096^3", 4096, 4096, 4096, reps);
    /* HART 0.7B (C 1536, MLP 4096), last scale of a 1024 px image with guidance: 2 x 4096 rows */
    int64_t rows = quick ? 1024 : 8192;
    int8_case("HART qkv", rows, 4608, 1536, reps);
    int8_case("HART proj", rows, 1536, 1536, reps);
    int8_case("HART gate/up", rows, 4096, 1536, reps);
    int8_case("HART down", rows, 1536, 4096, reps);
    for (int m = 1; m <= 16; m *= (m == 2 ? 8 : 2)) small_m_case(m, 4096, 4096, reps * 4);
    hart_backend_close(g_be);
    return 0;
}
