/* Quantized ops (docs/quant.md): every kernel variant this machine can run
 * (CPU: portable C, AVX2, AVX-512 VNNI; OpenCL: portable, and on NVIDIA the
 * dp4a and mma.sync tiles and the tensor-core tile variants) against the naive reference backend at odd sizes.
 * Integer parts (qgemm, quant_rows on the CPU) must be bit-identical; float
 * outputs within 1e-5 (CPU) / 1e-4 (OpenCL) of max|ref|. Also: the
 * round-to-nearest quantizers' error bounds and int8 ranges, the AutoAWQ
 * layout (hand-derived word, round trip), and bad calls. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_quant.h"
#include "backend/opencl/opencl.h"
#include "ops/ops.h"
#include "core/checkpoint.h"
#include "core/safetensors.h"
#include "quant/qload.h"
#include "quant/quantize.h"
#include "support/golden.h"
#include "support/test_skip.h"

static hart_backend *g_cl;
static unsigned g_seed = 77;
static double g_worst_cpu, g_worst_cl;

/* the last three take the NVIDIA tensor-core tiles (K % 32 == 0): K not a
 * multiple of the 64-wide k step (1056, 96; 1056 also ends in a partial
 * group of 128), M and N below a tile and not multiples of one, several
 * block rows (200 > 128) */
static const int64_t g_sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {1, 67, 129}, {17, 13, 129}, {67, 70, 300},
                                      {5, 9, 1000}, {130, 67, 257}, {2, 130, 384}, {33, 130, 1056},
                                      {200, 257, 640}, {7, 300, 96}};
#define NSIZES ((int)(sizeof g_sizes / sizeof g_sizes[0]))

static float *rnd(int64_t n, float lo, float hi) {
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    fill_random(p, n, g_seed++, lo, hi);
    return p;
}

/* random weight with some large outliers per row (what smoothing is for) */
static void mk_weight(hart_qformat fmt, int64_t N, int64_t K, hart_qweight *w) {
    float *f = rnd(N * K, -0.5f, 0.5f);
    for (int64_t n = 0; n < N; n++) f[n * K + (n * 7) % K] *= 9.0f;
    assert_int_equal(hart_quantize_rtn(f, N, K, fmt, HART_QGROUP, w), HART_OK);
    free(f);
}

static hart_tensor mk_i8(int64_t M, int64_t K) {
    hart_tensor t;
    assert_int_equal(hart_tensor_new4(NULL, HART_I8, &t, 2, M, K, 0, 0), HART_OK);
    float *f = rnd(M * K, -127.49f, 127.49f);
    for (int64_t i = 0; i < M * K; i++) ((int8_t *)t.data)[i] = (int8_t)lrintf(f[i]);
    free(f);
    return t;
}

/* acc on backend be (NULL: via hart_op_qgemm on the host = CPU) vs the reference */
static void check_qgemm_on(hart_backend *be, const hart_qweight *w, const hart_tensor *a, const int32_t *want,
                           const char *what) {
    int64_t M = a->shape[0], N = w->N;
    hart_tensor acc, ad;
    hart_qweight wd;
    assert_int_equal(hart_tensor_new4(be, HART_I32, &acc, 2, M, N, 0, 0), HART_OK);
    int32_t *got = malloc(sizeof(int32_t) * (size_t)(M * N));
    memset(got, 0xa5, sizeof(int32_t) * (size_t)(M * N));
    assert_int_equal(hart_tensor_write(&acc, got, sizeof(int32_t) * (size_t)(M * N)), HART_OK);
    assert_int_equal(hart_tensor_to(be, a, &ad), HART_OK);
    assert_int_equal(hart_qweight_to(be, w, &wd), HART_OK);
    assert_int_equal(hart_op_qgemm(&acc, &ad, &wd), HART_OK);
    assert_int_equal(hart_tensor_read(&acc, got, sizeof(int32_t) * (size_t)(M * N)), HART_OK);
    for (int64_t i = 0; i < M * N; i++)
        if (got[i] != want[i]) fail_msg("%s %s M=%lld N=%lld K=%lld: acc[%lld] = %d, reference %d", what,
                                        hart_qformat_name(w->fmt), (long long)M, (long long)N, (long long)w->K,
                                        (long long)i, got[i], want[i]);
    free(got);
    hart_tensor_free(&acc);
    hart_tensor_free(&ad);
    hart_qweight_free(&wd);
}

static void ref_qgemm(const hart_qweight *w, const hart_tensor *a, int32_t *want) {
    hart_tensor acc = hart_tensor_wrap(want, HART_I32, 2, (int64_t[]){a->shape[0], w->N});
    assert_int_equal(hart_backend_ref()->vt->qgemm(hart_backend_ref(), &acc, a, w), HART_OK);
}

static void qgemm_all_variants(const hart_qweight *w, const hart_tensor *a) {
    int64_t M = a->shape[0], N = w->N;
    int32_t *want = malloc(sizeof(int32_t) * (size_t)(M * N));
    ref_qgemm(w, a, want);
    for (int isa = 0; isa < HART_CPU_QISA_COUNT; isa++) {
        if (!hart_cpu_qisa_force((hart_cpu_qisa)isa)) continue;
        char what[64];
        snprintf(what, sizeof what, "cpu/%s", hart_cpu_qisa_name((hart_cpu_qisa)isa));
        check_qgemm_on(NULL, w, a, want, what);
    }
    hart_cpu_qisa_force(HART_CPU_QISA_AUTO);
    if (g_cl) {
        int nv = hart_opencl_set_qgemm_variant(g_cl, -1);
        for (int v = 0; v < nv; v++) {
            hart_opencl_set_qgemm_variant(g_cl, v);
            char what[64];
            snprintf(what, sizeof what, "opencl/%s", hart_opencl_qgemm_variant_name(v));
            check_qgemm_on(g_cl, w, a, want, what);
        }
        hart_opencl_set_qgemm_variant(g_cl, -1);
    }
    free(want);
}

static void test_qgemm_exact(void **st) {
    hart_qformat fmts[2] = {HART_QF_W8A8, HART_QF_W4A8};
    for (int f = 0; f < 2; f++)
        for (int i = 0; i < NSIZES; i++) {
            int64_t M = g_sizes[i][0], N = g_sizes[i][1], K = g_sizes[i][2];
            hart_qweight w;
            mk_weight(fmts[f], N, K, &w);
            hart_tensor a = mk_i8(M, K);
            qgemm_all_variants(&w, &a);
            hart_tensor_free(&a);
            hart_qweight_free(&w);
        }
}

/* Extremes: every product ±127·127 with one sign, K = 4001 (sums near
 * ±6.5e7): no saturation in any kernel (AVX2's 16-bit pair sums included). */
static void test_qgemm_extremes(void **st) {
    int64_t M = 5, N = 6, K = 4001;
    hart_qweight w;
    assert_int_equal(hart_qweight_new(NULL, HART_QF_W8A8, N, K, 0, &w), HART_OK);
    hart_tensor a;
    assert_int_equal(hart_tensor_new4(NULL, HART_I8, &a, 2, M, K, 0, 0), HART_OK);
    for (int64_t n = 0; n < N; n++) {
        ((float *)w.scale.data)[n] = 1.0f;
        for (int64_t k = 0; k < K; k++) ((int8_t *)w.q.data)[n * K + k] = (int8_t)(n % 2 ? -127 : 127);
    }
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++) ((int8_t *)a.data)[m * K + k] = (int8_t)(m % 3 == 0 ? 127 : m % 3 == 1 ? -127 : (k % 2 ? 127 : -127));
    int32_t *want = malloc(sizeof(int32_t) * (size_t)(M * N));
    ref_qgemm(&w, &a, want);
    assert_int_equal(want[0], 127 * 127 * 4001); /* hand-derived */
    assert_int_equal(want[1], -127 * 127 * 4001);
    free(want);
    qgemm_all_variants(&w, &a);
    hart_tensor_free(&a);
    hart_qweight_free(&w);
}

static void test_quant_rows(void **st) {
    int64_t shapes[][2] = {{1, 1}, {3, 7}, {17, 300}, {4, 1000}};
    for (int i = 0; i < 4; i++) {
        int64_t M = shapes[i][0], K = shapes[i][1];
        float *x = rnd(M * K, -3.0f, 3.0f);
        if (M > 2) for (int64_t k = 0; k < K; k++) x[2 * K + k] = 0.0f; /* a zero row */
        hart_tensor xh = hart_tensor_wrap(x, HART_F32, 2, (int64_t[]){M, K});
        hart_tensor qr, sr;
        assert_int_equal(hart_tensor_new4(NULL, HART_I8, &qr, 2, M, K, 0, 0), HART_OK);
        assert_int_equal(hart_tensor_new4(NULL, HART_F32, &sr, 1, M, 0, 0, 0), HART_OK);
        assert_int_equal(hart_backend_ref()->vt->quant_rows(hart_backend_ref(), &qr, &sr, &xh), HART_OK);
        hart_backend *bes[2] = {hart_backend_cpu(), g_cl};
        for (int b = 0; b < 2; b++) {
            if (!bes[b]) continue;
            hart_tensor xd, q, s;
            assert_int_equal(hart_tensor_to(bes[b], &xh, &xd), HART_OK);
            assert_int_equal(hart_tensor_new4(bes[b], HART_I8, &q, 2, M, K, 0, 0), HART_OK);
            assert_int_equal(hart_tensor_new4(bes[b], HART_F32, &s, 1, M, 0, 0, 0), HART_OK);
            assert_int_equal(hart_op_quant_rows(&q, &s, &xd), HART_OK);
            int8_t *qg = malloc((size_t)(M * K));
            float *sg = malloc(sizeof(float) * (size_t)M);
            assert_int_equal(hart_tensor_read(&q, qg, (size_t)(M * K)), HART_OK);
            assert_int_equal(hart_tensor_read(&s, sg, sizeof(float) * (size_t)M), HART_OK);
            /* CPU: identical; OpenCL may round 127/max differently by an ulp (division is not
             * correctly rounded there): at most one step off, scales within 1 ulp */
            int tol = b == 0 ? 0 : 1;
            for (int64_t m = 0; m < M; m++) {
                float sw = ((float *)sr.data)[m];
                if (b == 0) assert_true(sg[m] == sw);
                else assert_true(fabsf(sg[m] - sw) <= 1.2e-7f * sw);
                assert_true(m != 2 || M <= 2 || sw == 0.0f);
            }
            for (int64_t j = 0; j < M * K; j++)
                if (abs(qg[j] - ((int8_t *)qr.data)[j]) > tol || qg[j] < -127)
                    fail_msg("quant_rows on %s: q[%lld] = %d, reference %d", bes[b]->name, (long long)j, qg[j],
                             ((int8_t *)qr.data)[j]);
            free(qg); free(sg);
            hart_tensor_free(&xd); hart_tensor_free(&q); hart_tensor_free(&s);
        }
        hart_tensor_free(&qr); hart_tensor_free(&sr);
        free(x);
    }
}

static double q_rel_err(const float *a, const float *b, int64_t n) {
    double d = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        m = fmax(m, fabs((double)b[i]));
    }
    return m > 0 ? d / m : d;
}

static void qlinear_on(hart_backend *be, const hart_qweight *w, const hart_tensor *x, const hart_tensor *b,
                       const float *want, double tol, double *worst, const char *what) {
    int64_t M = x->shape[0], N = w->N;
    hart_tensor xd, bd = {0}, y, shell;
    hart_qweight wd;
    assert_int_equal(hart_tensor_to(be, x, &xd), HART_OK);
    if (b) assert_int_equal(hart_tensor_to(be, b, &bd), HART_OK);
    assert_int_equal(hart_qweight_to(be, w, &wd), HART_OK);
    assert_int_equal(hart_qweight_attach(&wd, &shell), HART_OK); /* through hart_op_linear, as models call it */
    assert_int_equal(hart_tensor_new4(be, HART_F32, &y, 2, M, N, 0, 0), HART_OK);
    float *got = malloc(sizeof(float) * (size_t)(M * N));
    for (int64_t i = 0; i < M * N; i++) got[i] = NAN;
    assert_int_equal(hart_tensor_write(&y, got, sizeof(float) * (size_t)(M * N)), HART_OK);
    assert_int_equal(hart_op_linear(&y, &xd, &shell, b ? &bd : NULL), HART_OK);
    assert_int_equal(hart_tensor_read(&y, got, sizeof(float) * (size_t)(M * N)), HART_OK);
    double e = q_rel_err(got, want, M * N);
    for (int64_t i = 0; i < M * N; i++) assert_false(isnan(got[i]));
    if (e > *worst) *worst = e;
    if (e > tol) fail_msg("%s qlinear %s M=%lld N=%lld K=%lld: rel err %.3e > %.0e", what, hart_qformat_name(w->fmt),
                          (long long)M, (long long)N, (long long)w->K, e, tol);
    free(got);
    hart_tensor_free(&xd); hart_tensor_free(&bd); hart_tensor_free(&y); hart_tensor_free(&shell);
}

static void test_qlinear(void **st) {
    for (int f = HART_QF_W8A8; f < HART_QF_COUNT; f++)
        for (int i = 0; i < NSIZES; i++) {
            int64_t M = g_sizes[i][0], N = g_sizes[i][1], K = g_sizes[i][2];
            hart_qweight w;
            mk_weight((hart_qformat)f, N, K, &w);
            float *xf = rnd(M * K, -2.0f, 2.0f), *bf = rnd(N, -1.0f, 1.0f);
            hart_tensor x = hart_tensor_wrap(xf, HART_F32, 2, (int64_t[]){M, K});
            hart_tensor b = hart_tensor_wrap(bf, HART_F32, 1, &N);
            float *want = malloc(sizeof(float) * (size_t)(M * N));
            hart_tensor yw = hart_tensor_wrap(want, HART_F32, 2, (int64_t[]){M, N});
            const hart_tensor *bp = i % 2 ? &b : NULL;
            assert_int_equal(hart_backend_ref()->vt->qlinear(hart_backend_ref(), &yw, &x, &w, bp), HART_OK);
            for (int isa = 0; isa < HART_CPU_QISA_COUNT; isa++) {
                if (!hart_cpu_qisa_force((hart_cpu_qisa)isa)) continue;
                qlinear_on(hart_backend_cpu(), &w, &x, bp, want, 1e-5, &g_worst_cpu, hart_cpu_qisa_name((hart_cpu_qisa)isa));
            }
            hart_cpu_qisa_force(HART_CPU_QISA_AUTO);
            if (g_cl) {
                int nv = hart_opencl_set_qgemm_variant(g_cl, -1);
                for (int v = 0; v < nv; v++) {
                    hart_opencl_set_qgemm_variant(g_cl, v);
                    qlinear_on(g_cl, &w, &x, bp, want, 1e-4, &g_worst_cl, hart_opencl_qgemm_variant_name(v));
                }
                hart_opencl_set_qgemm_variant(g_cl, -1);
                /* W4A16 at M > 16 takes the tiled kernel, at M <= 16 the GEMV one: both sizes are in the list */
            }
            free(want); free(xf); free(bf);
            hart_qweight_free(&w);
        }
}

/* W4A16 at M > 16 in tensor-core mode (NVIDIA): the weight dequantized to
 * f16 and the f16 tensor-core GEMM (x rounded to f16, f32 accumulation).
 * Hand-derived bound per output against the exact sum over the f32
 * dequantized weight, S = sum_k |x_k·w_k|, u = 2^-11 (f16 rounding of x and
 * of w, each relative u for normals), f32 accumulation and dequantization
 * ((K + 2)·2^-24·S), f16 subnormals of x (absolute 2^-25 each:
 * 2^-25·sum_k |w_k|), the bias add (2^-24·|y|):
 *   |got - exact| <= (2u + u^2 + (K + 2)·2^-24)·S + 2^-25·sum|w| + 2^-24·|y|. */
static void test_w4a16_tensor_cores(void **st) {
    if (!g_cl || !hart_opencl_set_tensor_cores(g_cl, 1)) {
        printf("w4a16 tensor-core path: no NVIDIA tensor cores here, not tested\n");
        return;
    }
    double worst = 0, u = ldexp(1.0, -11);
    int beyond = 0;
    for (int i = 0; i < NSIZES; i++) {
        int64_t M = g_sizes[i][0], N = g_sizes[i][1], K = g_sizes[i][2];
        if (M <= 16) continue; /* the GEMV kernel, tested in test_qlinear */
        hart_qweight w;
        mk_weight(HART_QF_W4A16, N, K, &w);
        float *xf = rnd(M * K, -2.0f, 2.0f), *bf = rnd(N, -1.0f, 1.0f), *wf = malloc(sizeof(float) * (size_t)(N * K));
        hart_qweight_dequant(&w, wf);
        hart_tensor x = hart_tensor_wrap(xf, HART_F32, 2, (int64_t[]){M, K});
        hart_tensor b = hart_tensor_wrap(bf, HART_F32, 1, &N);
        hart_tensor xd, bd, y, shell;
        hart_qweight wd;
        assert_int_equal(hart_tensor_to(g_cl, &x, &xd), HART_OK);
        assert_int_equal(hart_tensor_to(g_cl, &b, &bd), HART_OK);
        assert_int_equal(hart_qweight_to(g_cl, &w, &wd), HART_OK);
        assert_int_equal(hart_qweight_attach(&wd, &shell), HART_OK);
        assert_int_equal(hart_tensor_new4(g_cl, HART_F32, &y, 2, M, N, 0, 0), HART_OK);
        float *got = malloc(sizeof(float) * (size_t)(M * N));
        assert_int_equal(hart_op_linear(&y, &xd, &shell, &bd), HART_OK);
        assert_int_equal(hart_tensor_read(&y, got, sizeof(float) * (size_t)(M * N)), HART_OK);
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double ex = bf[n], S = 0, W1 = 0;
                for (int64_t k = 0; k < K; k++) {
                    double p = (double)xf[m * K + k] * wf[n * K + k];
                    ex += p;
                    S += fabs(p);
                    W1 += fabs(wf[n * K + k]);
                }
                double tol = (2 * u + u * u + (K + 2) * ldexp(1.0, -24)) * S + ldexp(W1, -25) + ldexp(fabs(ex), -24);
                double e = fabs(got[m * N + n] - ex);
                if (!(e <= tol)) fail_msg("w4a16 tensor cores M=%lld N=%lld K=%lld: y[%lld][%lld] = %.9g, exact %.9g, "
                                          "bound %.3g", (long long)M, (long long)N, (long long)K, (long long)m,
                                          (long long)n, got[m * N + n], ex, tol);
                if (e / tol > worst) worst = e / tol;
                beyond += e > (K + 2) * ldexp(S, -24) + ldexp(fabs(ex), -24);
            }
        free(got); free(xf); free(bf); free(wf);
        hart_tensor_free(&xd); hart_tensor_free(&bd); hart_tensor_free(&y); hart_tensor_free(&shell);
        hart_qweight_free(&wd); hart_qweight_free(&w);
    }
    hart_opencl_set_tensor_cores(g_cl, 0);
    printf("w4a16 tensor-core path: worst error / bound %.3f; %d outputs beyond an f32 kernel's error bound\n", worst,
           beyond);
    assert_true(beyond > 0); /* the f16 path ran: an all-f32 kernel stays within (K + 2)·2^-24·S + 2^-24·|y| */
}

/* Round-to-nearest: dequantized weights within half a step of the original,
 * int8 values in range. */
static void test_rtn_bounds(void **st) {
    int64_t N = 9, K = 300;
    float *f = rnd(N * K, -1.0f, 1.0f), *d = malloc(sizeof(float) * (size_t)(N * K));
    f[5] = 40.0f; /* an outlier */
    for (int it = 0; it < 2 * (HART_QF_COUNT - 1); it++) { /* every format at groups of 128 and 32 (hart quantize --group-size) */
        int fmt = HART_QF_W8A8 + it % (HART_QF_COUNT - 1), group = it < HART_QF_COUNT - 1 ? HART_QGROUP : 32;
        hart_qweight w;
        assert_int_equal(hart_quantize_rtn(f, N, K, (hart_qformat)fmt, group, &w), HART_OK);
        if (fmt != HART_QF_W8A8) assert_int_equal(w.ngroups, (K + group - 1) / group);
        hart_qweight_dequant(&w, d);
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++) {
                double step;
                if (fmt == HART_QF_W8A8) step = ((float *)w.scale.data)[n];
                else if (fmt == HART_QF_W4A16) step = ((float *)w.scale.data)[n * w.ngroups + k / w.group];
                else { /* two roundings: ±119 levels, then the group's integer step */
                    step = ((float *)w.scale.data)[n] * (1.0 + ((uint8_t *)w.gscale.data)[n * w.ngroups + k / w.group]);
                    int v = hart_qweight_int8_at(&w, n, k);
                    assert_true(v >= -127 && v <= 127);
                    assert_true(((uint8_t *)w.gscale.data)[n * w.ngroups + k / w.group] <= 16);
                }
                if (fabs((double)d[n * K + k] - f[n * K + k]) > 0.5 * step * (1 + 1e-5) + 1e-7)
                    fail_msg("%s rtn: w[%lld,%lld] = %g dequantized to %g (step %g)", hart_qformat_name((hart_qformat)fmt),
                             (long long)n, (long long)k, f[n * K + k], d[n * K + k], step);
            }
        if (fmt == HART_QF_W8A8) assert_int_equal(((int8_t *)w.q.data)[5], 127); /* the outlier maps to the top */
        hart_qweight_free(&w);
    }
    f[7] = INFINITY;
    hart_qweight w;
    assert_int_equal(hart_quantize_rtn(f, N, K, HART_QF_W8A8, 0, &w), HART_EINVAL);
    free(f); free(d);
}

static void test_awq_layout(void **st) {
    int64_t N = 16, K = 256;
    hart_qweight w;
    assert_int_equal(hart_qweight_new(NULL, HART_QF_W4A16, N, K, 128, &w), HART_OK);
    for (int64_t n = 0; n < N; n++) {
        for (int64_t k = 0; k < K; k++) {
            int q = (int)((n + 3 * k) % 16);
            uint8_t *b = (uint8_t *)w.q.data + n * (K / 2) + k / 2;
            *b = (uint8_t)(k % 2 ? (*b & 15) | (q << 4) : (*b & 0xf0) | q);
        }
        for (int g = 0; g < 2; g++) {
            ((uint8_t *)w.zero.data)[n * 2 + g] = (uint8_t)((n + g) % 16);
            ((float *)w.scale.data)[n * 2 + g] = 0.25f * (float)(n + 1) + (float)g;
        }
    }
    int32_t *qw = malloc(sizeof(int32_t) * (size_t)(K * N / 8)), *qz = malloc(sizeof(int32_t) * 2 * N / 8);
    uint16_t *sc = malloc(sizeof(uint16_t) * 2 * (size_t)N);
    assert_int_equal(hart_awq_pack(&w, qw, qz, sc), HART_OK);
    /* k = 0: columns 0..7 hold q = 0..7; nibble i holds column order[i] = 0,2,4,6,1,3,5,7 */
    assert_int_equal((uint32_t)qw[0], 0x75316420u);
    assert_int_equal((uint32_t)qz[0], 0x75316420u); /* zeros of group 0 are n % 16 too */
    assert_int_equal(sc[1], hart_f32_to_f16(0.5f));  /* scales [K/G, N]: group 0, column 1 */
    hart_qweight back;
    assert_int_equal(hart_awq_unpack(qw, qz, sc, N, K, 128, &back), HART_OK);
    assert_memory_equal(back.q.data, w.q.data, hart_tensor_nbytes(&w.q));
    assert_memory_equal(back.zero.data, w.zero.data, hart_tensor_nbytes(&w.zero));
    assert_memory_equal(back.scale.data, w.scale.data, hart_tensor_nbytes(&w.scale));
    hart_qweight_free(&back);
    assert_int_equal(hart_awq_unpack(qw, qz, sc, 12, K, 128, &back), HART_EUNSUPPORTED); /* N % 8 */
    free(qw); free(qz); free(sc);
    hart_qweight_free(&w);
}

/* Checkpoint files: a weight in the AutoAWQ layout (with an insmooth, as
 * `hart quantize --calib` writes AWQ layers) and one in this port's W4A8
 * layout load back to the same packed values and smoothing; damaged ones are errors. */
static void write_ckpt(const char *dir, hart_st_writer *w) {
    char p[512];
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("{}\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    assert_int_equal(hart_st_writer_save(w, p), HART_OK);
    hart_st_writer_free(w);
}

static void test_checkpoint_layouts(void **st) {
    char dir[] = "/tmp/hart_qckpt_XXXXXX";
    assert_non_null(mkdtemp(dir));
    int64_t N = 16, K = 256, G = 2;
    hart_qweight a, b;
    mk_weight(HART_QF_W4A16, N, K, &a);
    mk_weight(HART_QF_W4A8, N, K, &b);
    int32_t *qw = malloc(sizeof(int32_t) * (size_t)(K * N / 8)), *qz = malloc(sizeof(int32_t) * (size_t)(G * N / 8));
    uint16_t *sc = malloc(sizeof(uint16_t) * (size_t)(G * N));
    assert_int_equal(hart_awq_pack(&a, qw, qz, sc), HART_OK);
    float insm[256];
    for (int k = 0; k < K; k++) insm[k] = 0.5f + (float)k / 64.0f;
    for (int bad = 0; bad < 4; bad++) {
        hart_st_writer *w = hart_st_writer_new();
        if (bad == 3) insm[7] = NAN;
        assert_int_equal(hart_st_writer_add_raw(w, "l.insmooth", HART_F32, 1, (int64_t[]){K}, insm), HART_OK);
        assert_int_equal(hart_st_writer_add_raw(w, "l.qweight", HART_I32, 2, (int64_t[]){K, N / 8}, qw), HART_OK);
        assert_int_equal(hart_st_writer_add_raw(w, "l.qzeros", HART_I32, 2, (int64_t[]){bad == 1 ? 1 : G, N / 8}, qz), HART_OK);
        assert_int_equal(hart_st_writer_add_raw(w, "l.scales", HART_F16, 2, (int64_t[]){G, N}, sc), HART_OK);
        assert_int_equal(hart_st_writer_add(w, "m.qweight", &b.q), HART_OK);
        assert_int_equal(hart_st_writer_add(w, "m.wscale", &b.scale), HART_OK);
        assert_int_equal(hart_st_writer_add(w, "m.wzero", &b.zero), HART_OK);
        if (bad == 2) ((uint8_t *)b.gscale.data)[3] = 0; /* group scale 0: not a valid W4A8 weight */
        assert_int_equal(hart_st_writer_add(w, "m.wgscale", &b.gscale), HART_OK);
        write_ckpt(dir, w);
        hart_checkpoint ck;
        assert_int_equal(hart_ckpt_open(dir, "config.json", NULL, &ck), HART_OK);
        hart_tensor la, lb;
        hart_status sa = hart_ckpt_get_linear(&ck, NULL, "l.weight", N, K, 0, &la);
        hart_status sb = hart_ckpt_get_linear(&ck, NULL, "m.weight", N, K, 0, &lb);
        if (bad == 0) {
            assert_int_equal(sa, HART_OK);
            assert_int_equal(sb, HART_OK);
            assert_int_equal(la.quant->fmt, HART_QF_W4A16);
            assert_int_equal(lb.quant->fmt, HART_QF_W4A8);
            assert_memory_equal(la.quant->q.data, a.q.data, hart_tensor_nbytes(&a.q));
            assert_memory_equal(la.quant->zero.data, a.zero.data, hart_tensor_nbytes(&a.zero));
            assert_memory_equal(la.quant->scale.data, a.scale.data, hart_tensor_nbytes(&a.scale)); /* f16-exact scales */
            assert_int_equal(la.quant->insmooth.ndim, 1);
            assert_memory_equal(la.quant->insmooth.data, insm, sizeof(float) * (size_t)K);
            assert_int_equal(lb.quant->insmooth.ndim, 0);
            assert_memory_equal(lb.quant->q.data, b.q.data, hart_tensor_nbytes(&b.q));
            assert_memory_equal(lb.quant->gscale.data, b.gscale.data, hart_tensor_nbytes(&b.gscale));
            hart_tensor_free(&la);
            hart_tensor_free(&lb);
        } else if (bad == 1) {
            assert_int_equal(sa, HART_EMISMATCH); /* qzeros shape */
            hart_tensor_free(&lb);
        } else if (bad == 2) {
            assert_int_equal(sb, HART_EFORMAT);
            assert_non_null(strstr(hart_errmsg(), "m.qweight"));
            hart_tensor_free(&la);
        } else {
            assert_int_equal(sa, HART_EFORMAT); /* a non-finite AutoAWQ insmooth (m still has bad == 2's group scale) */
            if (!sb) hart_tensor_free(&lb);
        }
        hart_ckpt_close(&ck);
    }
    char p[600];
    snprintf(p, sizeof p, "%s/config.json", dir); unlink(p);
    snprintf(p, sizeof p, "%s/model.safetensors", dir); unlink(p);
    rmdir(dir);
    free(qw); free(qz); free(sc);
    hart_qweight_free(&a); hart_qweight_free(&b);
}

static void test_bad_calls(void **st) {
    hart_qweight w;
    mk_weight(HART_QF_W8A8, 4, 10, &w);
    hart_tensor shell, x, y, acc, a;
    assert_int_equal(hart_qweight_attach(&w, &shell), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &x, 2, 3, 11, 0, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &y, 2, 3, 4, 0, 0), HART_OK);
    assert_int_equal(hart_op_linear(&y, &x, &shell, NULL), HART_EINVAL); /* K mismatch */
    hart_tensor_free(&x);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &x, 2, 3, 10, 0, 0), HART_OK);
    hart_tensor_free(&y);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &y, 2, 3, 5, 0, 0), HART_OK);
    assert_int_equal(hart_op_linear(&y, &x, &shell, NULL), HART_EINVAL); /* N mismatch */
    assert_int_equal(hart_tensor_new4(NULL, HART_I32, &acc, 2, 3, 4, 0, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &a, 2, 3, 10, 0, 0), HART_OK);
    assert_int_equal(hart_op_qgemm(&acc, &a, shell.quant), HART_EINVAL); /* a must be I8 */
    hart_qweight w16;
    mk_weight(HART_QF_W4A16, 4, 10, &w16);
    hart_tensor_free(&a);
    assert_int_equal(hart_tensor_new4(NULL, HART_I8, &a, 2, 3, 10, 0, 0), HART_OK);
    assert_int_equal(hart_op_qgemm(&acc, &a, &w16), HART_EINVAL); /* w4a16 has no integer part */
    hart_qformat f;
    assert_int_equal(hart_qformat_parse("w3a5", &f), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "w8a8, w4a16 or w4a8"));
    assert_int_equal(hart_qformat_parse("w4a8", &f), HART_OK);
    assert_int_equal(f, HART_QF_W4A8);
    hart_qweight_free(&w16);
    hart_tensor_free(&shell); hart_tensor_free(&x); hart_tensor_free(&y); hart_tensor_free(&acc); hart_tensor_free(&a);
}

int main(void) {
    char why[512];
    for (int i = 0; i < HART_CPU_QISA_COUNT; i++)
        printf("cpu int8 kernel %-12s %s\n", hart_cpu_qisa_name((hart_cpu_qisa)i),
               hart_cpu_qisa_available((hart_cpu_qisa)i) ? "tested" : "not available on this CPU (not tested here)");
    if (hart_opencl_list(stdout) == 0) {
        test_skip_part("test_quant_ops: no OpenCL device; OpenCL quantized kernels not tested");
    } else if (hart_backend_open("opencl", &g_cl, why, sizeof why) != HART_OK) {
        test_skip_part("test_quant_ops: no usable OpenCL device (%s)", hart_errmsg());
        g_cl = NULL;
    } else {
        int nv = hart_opencl_set_qgemm_variant(g_cl, -1);
        printf("testing %s: %d int8 GEMM variant%s\n", why, nv, nv == 1 ? "" : "s");
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qgemm_exact), cmocka_unit_test(test_qgemm_extremes), cmocka_unit_test(test_quant_rows),
        cmocka_unit_test(test_qlinear),     cmocka_unit_test(test_rtn_bounds),     cmocka_unit_test(test_awq_layout),
        cmocka_unit_test(test_checkpoint_layouts), cmocka_unit_test(test_bad_calls),
        cmocka_unit_test(test_w4a16_tensor_cores),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    printf("qlinear worst relative error vs the reference: cpu %.2e, opencl %.2e\n", g_worst_cpu, g_worst_cl);
    hart_backend_close(g_cl);
    return rc;
}

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libOpenCL\n"; }
