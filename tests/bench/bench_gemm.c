/* `make bench`: GEMM throughput of OpenBLAS sgemm called directly vs our
 * hart_op_linear (f32, f16, bf16 weights) vs the naive reference, plus conv2d 3x3
 * at a VAE-like shape, attention at a HART-like shape and the codebook
 * search, a small-M linear, softmax and tanh-GELU, each against the reference
 * backend. One line per case: best time of a few runs, throughput (GFLOP/s;
 * Melem/s for softmax and GELU) and the speed ratio to the case's baseline. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <omp.h>
#include <unistd.h>

#include "backend/backend.h"
#include "ops/ops.h"
#include "support/golden.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef hart_status (*run_fn)(void *ctx);

/* Best wall time of up to `reps` runs, stopping early after `budget` seconds. */
static double best_time(run_fn f, void *ctx, int reps, double budget) {
    double best = INFINITY, t0 = now();
    for (int i = 0; i < reps; i++) {
        double s = now();
        if (f(ctx) != HART_OK) {
            fprintf(stderr, "bench: op failed: %s\n", hart_errmsg());
            exit(1);
        }
        double e = now() - s;
        if (e < best) best = e;
        if (now() - t0 > budget && i >= 1) break;
    }
    return best;
}

static void line_u(const char *name, const char *shape, double secs, double giga, const char *unit, double base_secs) {
    printf("%-34s %-22s %10.3f ms %9.2f %s", name, shape, secs * 1e3, giga / secs * 1e-9, unit);
    if (base_secs > 0) printf("  x%.2f", base_secs / secs);
    printf("\n");
    fflush(stdout);
}

static void line(const char *name, const char *shape, double secs, double flop, double base_secs) {
    line_u(name, shape, secs, flop, "GFLOP/s", base_secs);
}

static hart_tensor tens(hart_backend *be, hart_dtype dt, int nd, int64_t a, int64_t b, int64_t c, int64_t d, unsigned seed) {
    hart_tensor t;
    if (hart_tensor_new4(NULL, dt, &t, nd, a, b, c, d) != HART_OK) {
        fprintf(stderr, "bench: %s\n", hart_errmsg());
        exit(1);
    }
    int64_t n = hart_tensor_numel(&t);
    float *tmp = malloc(sizeof(float) * (size_t)n);
    fill_random(tmp, n, seed, -1.0f, 1.0f);
    for (int64_t i = 0; i < n; i++) {
        if (dt == HART_F32) ((float *)t.data)[i] = tmp[i];
        else if (dt == HART_F16) ((uint16_t *)t.data)[i] = hart_f32_to_f16(tmp[i]);
        else ((uint16_t *)t.data)[i] = hart_f32_to_bf16(tmp[i]);
    }
    free(tmp);
    t.be = be;
    return t;
}

/* ---- GEMM ---- */
typedef struct {
    hart_tensor *x, *w, *y;
    int n;
} lin_ctx;

static hart_status run_sgemm(void *c) {
    lin_ctx *l = c;
    int n = l->n;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, l->x->data, n, l->w->data, n, 0.0f, l->y->data, n);
    return HART_OK;
}
static hart_status run_linear(void *c) {
    lin_ctx *l = c;
    return hart_op_linear(l->y, l->x, l->w, NULL);
}

static void bench_gemm(int n, int with_ref) {
    char shape[64];
    snprintf(shape, sizeof shape, "M=N=K=%d", n);
    double flop = 2.0 * n * n * n;
    hart_tensor x = tens(NULL, HART_F32, 2, n, n, 0, 0, 1), w = tens(NULL, HART_F32, 2, n, n, 0, 0, 2);
    hart_tensor y = tens(NULL, HART_F32, 2, n, n, 0, 0, 3);
    hart_tensor w16 = tens(NULL, HART_F16, 2, n, n, 0, 0, 4), wb16 = tens(NULL, HART_BF16, 2, n, n, 0, 0, 5);
    lin_ctx c = {&x, &w, &y, n};
    int reps = n >= 2048 ? 3 : 10;
    /* baseline: OpenBLAS with its own thread pool, as a plain C program would
     * call it; then back to the backend's setting (1 BLAS thread, OpenMP
     * splits), and a pause so OpenBLAS's spinning threads go to sleep. */
    openblas_set_num_threads(omp_get_max_threads());
    double tb = best_time(run_sgemm, &c, reps, 2.0);
    openblas_set_num_threads(1);
    usleep(300000);
    line("sgemm (OpenBLAS direct, own threads)", shape, tb, flop, 0);
    line("hart_op_linear f32", shape, best_time(run_linear, &c, reps, 2.0), flop, tb);
    c.w = &w16;
    line("hart_op_linear f16 (1st call, converts)", shape, best_time(run_linear, &c, 1, 0), flop, tb);
    line("hart_op_linear f16 (cached weight)", shape, best_time(run_linear, &c, reps, 2.0), flop, tb);
    c.w = &wb16;
    best_time(run_linear, &c, 1, 0);
    line("hart_op_linear bf16 (cached weight)", shape, best_time(run_linear, &c, reps, 2.0), flop, tb);
    if (with_ref) {
        c.w = &w;
        hart_tensor yr = y;
        yr.be = hart_backend_ref();
        c.y = &yr;
        line("reference (naive, double acc)", shape, best_time(run_linear, &c, 1, 0), flop, tb);
    }
    hart_tensor_free(&x); hart_tensor_free(&w); hart_tensor_free(&y); hart_tensor_free(&w16); hart_tensor_free(&wb16);
}

/* Small-M linear (the first HART stages, batch-2 CFG): memory-bound on the weight. */
typedef struct {
    hart_tensor *x, *w, *y;
} lin2_ctx;
static hart_status run_linear2(void *c) {
    lin2_ctx *l = c;
    return hart_op_linear(l->y, l->x, l->w, NULL);
}

static void bench_small_m(int M, int K, int N) {
    char shape[64];
    snprintf(shape, sizeof shape, "M=%d K=%d N=%d", M, K, N);
    double flop = 2.0 * M * (double)K * N;
    hart_tensor x = tens(NULL, HART_F32, 2, M, K, 0, 0, 40), w = tens(NULL, HART_F32, 2, N, K, 0, 0, 41);
    hart_tensor w16 = tens(NULL, HART_F16, 2, N, K, 0, 0, 42), y = tens(NULL, HART_F32, 2, M, N, 0, 0, 43);
    lin2_ctx c = {&x, &w, &y};
    double t = best_time(run_linear2, &c, 20, 1.0);
    hart_tensor yr = y;
    yr.be = hart_backend_ref();
    lin2_ctx cr = {&x, &w, &yr};
    double tr = best_time(run_linear2, &cr, 1, 0);
    line("hart_op_linear reference", shape, tr, flop, 0);
    line("hart_op_linear f32", shape, t, flop, tr);
    c.w = &w16;
    line("hart_op_linear f16 (cached weight)", shape, best_time(run_linear2, &c, 20, 1.0), flop, tr);
    hart_tensor_free(&x); hart_tensor_free(&w); hart_tensor_free(&w16); hart_tensor_free(&y);
}

/* Softmax and tanh-GELU (the vector-exp kernels) on 4M elements. */
typedef struct {
    hart_tensor *x, *y;
    int which;
} ew_ctx;
static hart_status run_ew(void *c) {
    ew_ctx *e = c;
    return e->which ? hart_op_act(e->y, e->x, HART_ACT_GELU_TANH) : hart_op_softmax(e->y, e->x);
}

static void bench_elementwise(void) {
    hart_tensor x = tens(NULL, HART_F32, 2, 2048, 2048, 0, 0, 50), y = tens(NULL, HART_F32, 2, 2048, 2048, 0, 0, 51);
    const char *names[2][2] = {{"softmax reference", "softmax cpu"}, {"gelu_tanh reference", "gelu_tanh cpu"}};
    for (int which = 0; which < 2; which++) {
        hart_tensor yr = y;
        yr.be = hart_backend_ref();
        ew_ctx c = {&x, &y, which}, cr = {&x, &yr, which};
        double tr = best_time(run_ew, &cr, 1, 0), t = best_time(run_ew, &c, 10, 1.0);
        line_u(names[which][0], "2048x2048", tr, 4194304.0 * 1e3, "Melem/s", 0);
        line_u(names[which][1], "2048x2048", t, 4194304.0 * 1e3, "Melem/s", tr);
    }
    hart_tensor_free(&x); hart_tensor_free(&y);
}

/* ---- conv2d ---- */
typedef struct {
    hart_tensor *x, *w, *b, *y;
} conv_ctx;
static hart_status run_conv(void *c) {
    conv_ctx *k = c;
    return hart_op_conv2d(k->y, k->x, k->w, k->b, 1, 1, 1);
}

static void bench_conv(int C, int HW, int with_ref) {
    char shape[64];
    snprintf(shape, sizeof shape, "%dch %dx%d 3x3", C, HW, HW);
    double flop = 2.0 * C * C * 9.0 * HW * HW;
    hart_tensor x = tens(NULL, HART_F32, 4, 1, C, HW, HW, 10), w = tens(NULL, HART_F32, 4, C, C, 3, 3, 11);
    hart_tensor b = tens(NULL, HART_F32, 1, C, 0, 0, 0, 12), y = tens(NULL, HART_F32, 4, 1, C, HW, HW, 13);
    conv_ctx k = {&x, &w, &b, &y};
    double t = best_time(run_conv, &k, 5, 2.0);
    double tr = 0;
    if (with_ref) {
        hart_tensor yr = y;
        yr.be = hart_backend_ref();
        conv_ctx kr = {&x, &w, &b, &yr};
        tr = best_time(run_conv, &kr, 1, 0);
        line("conv2d reference", shape, tr, flop, 0);
    }
    line("conv2d cpu (im2col + sgemm)", shape, t, flop, tr);
    hart_tensor_free(&x); hart_tensor_free(&w); hart_tensor_free(&b); hart_tensor_free(&y);
}

/* ---- attention ---- */
typedef struct {
    hart_tensor *q, *k, *v, *o;
} attn_ctx;
static hart_status run_attn(void *c) {
    attn_ctx *a = c;
    return hart_op_attention(a->o, a->q, a->k, a->v, NULL, 0.125f);
}

static void bench_attention(int H, int Lq, int Lk, int D) {
    char shape[64];
    snprintf(shape, sizeof shape, "H=%d q=%d k=%d d=%d", H, Lq, Lk, D);
    double flop = 4.0 * H * Lq * (double)Lk * D;
    hart_tensor q = tens(NULL, HART_F32, 4, 1, H, Lq, D, 20), k = tens(NULL, HART_F32, 4, 1, H, Lk, D, 21);
    hart_tensor v = tens(NULL, HART_F32, 4, 1, H, Lk, D, 22), o = tens(NULL, HART_F32, 4, 1, H, Lq, D, 23);
    attn_ctx a = {&q, &k, &v, &o};
    double t = best_time(run_attn, &a, 5, 2.0);
    hart_tensor orf = o;
    orf.be = hart_backend_ref();
    attn_ctx ar = {&q, &k, &v, &orf};
    double tr = best_time(run_attn, &ar, 1, 0);
    line("attention reference", shape, tr, flop, 0);
    line("attention cpu (sgemm per block)", shape, t, flop, tr);
    hart_tensor_free(&q); hart_tensor_free(&k); hart_tensor_free(&v); hart_tensor_free(&o);
}

/* ---- codebook search ---- */
typedef struct {
    hart_tensor *idx, *x, *cb;
} am_ctx;
static hart_status run_am(void *c) {
    am_ctx *a = c;
    return hart_op_argmin_dist(a->idx, a->x, a->cb);
}

static void bench_argmin(int N, int V, int D) {
    char shape[64];
    snprintf(shape, sizeof shape, "N=%d V=%d D=%d", N, V, D);
    double flop = 2.0 * N * (double)V * D;
    hart_tensor x = tens(NULL, HART_F32, 2, N, D, 0, 0, 30), cb = tens(NULL, HART_F32, 2, V, D, 0, 0, 31), idx;
    hart_tensor_new4(NULL, HART_I64, &idx, 1, N, 0, 0, 0);
    am_ctx a = {&idx, &x, &cb};
    double t = best_time(run_am, &a, 5, 2.0);
    hart_tensor ir = idx;
    ir.be = hart_backend_ref();
    am_ctx ar = {&ir, &x, &cb};
    double tr = best_time(run_am, &ar, 1, 0);
    line("argmin_dist reference", shape, tr, flop, 0);
    line("argmin_dist cpu (sgemm + exact check)", shape, t, flop, tr);
    hart_tensor_free(&x); hart_tensor_free(&cb); hart_tensor_free(&idx);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    printf("backend: %s\n", hart_backend_cpu()->name);
    printf("%-34s %-22s %13s %17s  ratio (baseline: sgemm / reference)\n", "case", "shape", "best time", "throughput");
    bench_gemm(256, 1);
    bench_gemm(512, 1);
    bench_gemm(1024, 0);
    if (!quick) bench_gemm(2048, 0);
    bench_small_m(2, 1024, 4096);
    bench_conv(64, 64, 1);
    if (!quick) bench_conv(128, 128, 0);
    bench_attention(2, 1024, 2048, 64);
    bench_argmin(1024, 4096, 32);
    bench_elementwise();
    return 0;
}
