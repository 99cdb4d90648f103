/* OpenCL backend vs the reference backend: every op on random inputs of odd
 * sizes, device outputs poisoned with NaN before each run, tolerance
 * max|a-b|/max|b| <= 1e-4 (indices exact). Skips (passes with a message) when
 * no OpenCL device exists. */
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
#include "ops/ops.h"
#include "backend/opencl/opencl.h"
#include "support/golden.h"
#include "support/test_skip.h"

static hart_backend *g_cl;
static unsigned g_seed = 1234;
static double g_worst;

#define TOL 1e-4
/* GEMM-based ops through the NVIDIA tensor-core kernel ($HART_CL_TENSOR_CORES=1)
 * round operands to f16: they get a looser bound. */
#define TOL_TC 2e-3
/* attention on the tensor cores (flash_nv.cl): q, k, v and the softmax
 * weights rounded to f16 (2^-11 each) before their products */
#define TOL_TC_ATTN 1e-2
static double g_tol = TOL, g_gemm_tol = TOL, g_attn_tol = TOL;

typedef struct {
    hart_tensor h; /* host tensor on the reference backend */
    hart_tensor d; /* device copy */
} pair;

static void skip_if_none(void) {
    if (!g_cl) skip();
}

static pair mk(hart_dtype dt, int nd, int64_t a, int64_t b, int64_t c, int64_t e, float lo, float hi) {
    pair p;
    int64_t s[4] = {a, b, c, e};
    assert_int_equal(hart_tensor_new(NULL, dt, nd, s, &p.h), HART_OK);
    int64_t n = hart_tensor_numel(&p.h);
    float *tmp = malloc(sizeof(float) * (size_t)(n ? n : 1));
    fill_random(tmp, n, g_seed++, lo, hi);
    for (int64_t i = 0; i < n; i++) {
        if (dt == HART_F32) ((float *)p.h.data)[i] = tmp[i];
        else if (dt == HART_F16) ((uint16_t *)p.h.data)[i] = hart_f32_to_f16(tmp[i]);
        else if (dt == HART_BF16) ((uint16_t *)p.h.data)[i] = hart_f32_to_bf16(tmp[i]);
        else if (dt == HART_I64) ((int64_t *)p.h.data)[i] = (int64_t)tmp[i];
        else if (dt == HART_I32) ((int32_t *)p.h.data)[i] = (int32_t)tmp[i];
    }
    free(tmp);
    p.h.be = hart_backend_ref();
    assert_int_equal(hart_tensor_to(g_cl, &p.h, &p.d), HART_OK);
    return p;
}
static pair mkf(int nd, int64_t a, int64_t b, int64_t c, int64_t e) { return mk(HART_F32, nd, a, b, c, e, -1, 1); }

/* output: host zeros, device NaN-poisoned */
static pair out(hart_dtype dt, int nd, int64_t a, int64_t b, int64_t c, int64_t e) {
    pair p;
    int64_t s[4] = {a, b, c, e};
    assert_int_equal(hart_tensor_new(NULL, dt, nd, s, &p.h), HART_OK);
    p.h.be = hart_backend_ref();
    assert_int_equal(hart_tensor_new(g_cl, dt, nd, s, &p.d), HART_OK);
    size_t nb = hart_tensor_nbytes(&p.d);
    unsigned char *poison = malloc(nb ? nb : 1);
    memset(poison, 0xff, nb); /* NaN for f32/f16/bf16, -1 for integers */
    assert_int_equal(hart_tensor_write(&p.d, poison, nb), HART_OK);
    free(poison);
    return p;
}

static void drop(pair *p) {
    hart_tensor_free(&p->h);
    hart_tensor_free(&p->d);
}

/* compare device result with the host (reference) result */
static void check(pair *y, const char *what) {
    int64_t n = hart_tensor_numel(&y->h);
    if (y->h.dtype == HART_I64) {
        int64_t *got = malloc(8 * (size_t)(n ? n : 1));
        assert_int_equal(hart_tensor_read(&y->d, got, (size_t)n * 8), HART_OK);
        int bad = 0;
        for (int64_t i = 0; i < n; i++) bad += got[i] != ((int64_t *)y->h.data)[i];
        free(got);
        printf("  %-28s %lld mismatching indices\n", what, (long long)bad);
        assert_int_equal(bad, 0);
        return;
    }
    float *got = malloc(4 * (size_t)(n ? n : 1)), *want = malloc(4 * (size_t)(n ? n : 1));
    assert_int_equal(hart_tensor_read_f32(&y->d, got), HART_OK);
    assert_int_equal(hart_tensor_read_f32(&y->h, want), HART_OK);
    int nan = 0;
    for (int64_t i = 0; i < n; i++) nan += isnan(got[i]) != isnan(want[i]);
    double e = rel_err(got, want, n);
    printf("  %-28s rel err %.2e%s\n", what, e, nan ? " (NaN mismatch)" : "");
    if (e > g_worst) g_worst = e;
    free(got);
    free(want);
    assert_int_equal(nan, 0);
    assert_true(e <= g_tol);
}

#define BOTH(call_h, call_d)                                                                          \
    do {                                                                                               \
        assert_int_equal(call_h, HART_OK);                                                            \
        hart_status s_ = call_d;                                                                       \
        if (s_) fprintf(stderr, "error: %s\n", hart_errmsg());                                        \
        assert_int_equal(s_, HART_OK);                                                                \
    } while (0)

static void test_linear(void **st) {
    skip_if_none();
    g_tol = g_gemm_tol;
    hart_dtype dts[3] = {HART_F32, HART_F16, HART_BF16};
    /* M, K, N; the last is large enough for the 128x128-tile kernel */
    int64_t sizes[4][3] = {{1, 1, 1}, {17, 67, 33}, {130, 129, 70}, {1025, 67, 1031}};
    for (int t = 0; t < 3; t++)
        for (int z = 0; z < 4; z++) {
            int64_t M = sizes[z][0], K = sizes[z][1], N = sizes[z][2];
            pair x = mkf(3, 1, M, K, 0), w = mk(dts[t], 2, N, K, 0, 0, -1, 1), b = mk(dts[t], 1, N, 0, 0, 0, -1, 1);
            pair y = out(HART_F32, 3, 1, M, N, 0);
            int useb = (t + z) % 2 == 0;
            BOTH(hart_op_linear(&y.h, &x.h, &w.h, useb ? &b.h : NULL), hart_op_linear(&y.d, &x.d, &w.d, useb ? &b.d : NULL));
            char what[64];
            snprintf(what, sizeof what, "linear %s %lldx%lldx%lld%s", hart_dtype_name(dts[t]), (long long)M,
                     (long long)K, (long long)N, useb ? " +b" : "");
            check(&y, what);
            drop(&x); drop(&w); drop(&b); drop(&y);
        }
    /* a row view (dev_offset != 0) as input and output */
    pair x = mkf(2, 7, 19, 0, 0), w = mkf(2, 5, 19, 0, 0), y = out(HART_F32, 2, 7, 5, 0, 0);
    hart_tensor xv_h, xv_d, yv_h, yv_d;
    assert_int_equal(hart_tensor_rows(&x.h, 3, 3, &xv_h), HART_OK);
    assert_int_equal(hart_tensor_rows(&x.d, 3, 3, &xv_d), HART_OK);
    assert_int_equal(hart_tensor_rows(&y.h, 2, 3, &yv_h), HART_OK);
    assert_int_equal(hart_tensor_rows(&y.d, 2, 3, &yv_d), HART_OK);
    BOTH(hart_op_linear(&yv_h, &xv_h, &w.h, NULL), hart_op_linear(&yv_d, &xv_d, &w.d, NULL));
    pair yv = {yv_h, yv_d};
    check(&yv, "linear on row views");
    drop(&x); drop(&w); drop(&y);
}

/* Hopper wgmma GEMM (cl_wgmma.c), every variant forced in turn, against the
 * reference at sizes that are not multiples of any tile (edges zero-filled):
 * linear with f32/f16/bf16 weights and bias, a batched matmul with alpha.
 * Only NVIDIA sm_90 lists wgmma variants: elsewhere (PoCL) none may appear. */
static void test_wgmma(void **st) {
    skip_if_none();
    int nv = hart_opencl_set_hgemm_variant(g_cl, -1), nwg = 0;
    for (int v = 0; v < nv; v++) nwg += !strncmp(hart_opencl_hgemm_variant_name(v), "wg_", 3);
    if (!strstr(g_cl->name, "NVIDIA") && !strstr(g_cl->name, "H100") && !strstr(g_cl->name, "H200")) {
        printf("  no wgmma variant offered on %s: %d\n", g_cl->name, nwg);
        assert_int_equal(nwg, 0);
        return;
    }
    /* Hopper must offer them (built, and the build's self-check passed) */
    int hopper = strstr(g_cl->name, "H100") || strstr(g_cl->name, "H200") || strstr(g_cl->name, "H800") ||
                 strstr(g_cl->name, "H20");
    printf("  %d wgmma variants on %s\n", nwg, g_cl->name);
    if (hopper) assert_true(nwg > 0);
    if (!nwg) return;
    int tc_was = g_gemm_tol == TOL_TC;
    assert_int_equal(hart_opencl_set_tensor_cores(g_cl, 1), 1);
    g_tol = TOL_TC;
    hart_dtype dts[3] = {HART_F32, HART_F16, HART_BF16};
    int64_t sizes[3][3] = {{130, 72, 129}, {300, 264, 520}, {520, 136, 300}}; /* M, K, N */
    for (int v = 0; v < nv; v++) {
        const char *name = hart_opencl_hgemm_variant_name(v);
        if (strncmp(name, "wg_", 3)) continue;
        for (int t = 0; t < 3; t++) {
            int64_t M = sizes[t][0], K = sizes[t][1], N = sizes[t][2];
            pair x = mkf(3, 1, M, K, 0), w = mk(dts[t], 2, N, K, 0, 0, -1, 1), b = mk(dts[t], 1, N, 0, 0, 0, -1, 1);
            pair y = out(HART_F32, 3, 1, M, N, 0);
            hart_opencl_set_hgemm_variant(g_cl, v);
            BOTH(hart_op_linear(&y.h, &x.h, &w.h, &b.h), hart_op_linear(&y.d, &x.d, &w.d, &b.d));
            char what[96];
            snprintf(what, sizeof what, "%s linear %s %lldx%lldx%lld +b", name, hart_dtype_name(dts[t]), (long long)M,
                     (long long)K, (long long)N);
            check(&y, what);
            drop(&x); drop(&w); drop(&b); drop(&y);
        }
        pair a = mkf(4, 2, 3, 77, 40), bm = mkf(4, 2, 3, 40, 150), c = out(HART_F32, 4, 2, 3, 77, 150);
        hart_opencl_set_hgemm_variant(g_cl, v);
        BOTH(hart_op_matmul(&c.h, &a.h, &bm.h, 0, 0, 0.37f), hart_op_matmul(&c.d, &a.d, &bm.d, 0, 0, 0.37f));
        char what[96];
        snprintf(what, sizeof what, "%s matmul batch 6 alpha", name);
        check(&c, what);
        drop(&a); drop(&bm); drop(&c);
        /* conv2d, two groups: the GEMM's batch index z1 and a bias per output row */
        pair cx = mkf(4, 1, 16, 19, 21), cw = mk(HART_F16, 4, 72, 8, 3, 3, -1, 1), cb = mkf(1, 72, 0, 0, 0);
        pair cy = out(HART_F32, 4, 1, 72, 19, 21);
        hart_opencl_set_hgemm_variant(g_cl, v);
        BOTH(hart_op_conv2d(&cy.h, &cx.h, &cw.h, &cb.h, 1, 1, 2), hart_op_conv2d(&cy.d, &cx.d, &cw.d, &cb.d, 1, 1, 2));
        snprintf(what, sizeof what, "%s conv2d 3x3 g2 +b", name);
        check(&cy, what);
        drop(&cx); drop(&cw); drop(&cb); drop(&cy);
    }
    hart_opencl_set_hgemm_variant(g_cl, -1);
    hart_opencl_set_tensor_cores(g_cl, tc_was);
}

static void test_matmul(void **st) {
    skip_if_none();
    g_tol = g_gemm_tol;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bc = 0; bc < 2; bc++) {
                int64_t M = 17, K = 67, N = 3;
                pair a = ta ? mkf(4, 2, 3, K, M) : mkf(4, 2, 3, M, K);
                pair b = bc ? (tb ? mkf(2, N, K, 0, 0) : mkf(2, K, N, 0, 0)) : (tb ? mkf(4, 2, 3, N, K) : mkf(4, 2, 3, K, N));
                pair c = out(HART_F32, 4, 2, 3, M, N);
                BOTH(hart_op_matmul(&c.h, &a.h, &b.h, ta, tb, 0.37f), hart_op_matmul(&c.d, &a.d, &b.d, ta, tb, 0.37f));
                char what[64];
                snprintf(what, sizeof what, "matmul ta=%d tb=%d bcast=%d", ta, tb, bc);
                check(&c, what);
                drop(&a); drop(&b); drop(&c);
            }
}

static void test_conv2d(void **st) {
    skip_if_none();
    g_tol = g_gemm_tol;
    struct { int N, Ci, H, W, Co, k, stride, pad, groups; hart_dtype wdt; int bias; } cs[] = {
        {2, 6, 13, 11, 8, 3, 1, 1, 1, HART_F32, 1}, {1, 6, 9, 7, 4, 3, 2, 0, 2, HART_F16, 0},
        {2, 5, 7, 3, 3, 1, 1, 0, 1, HART_BF16, 1}, {1, 6, 5, 5, 6, 3, 1, 1, 6, HART_F32, 1},
        {1, 3, 17, 17, 5, 4, 2, 1, 1, HART_F32, 0}, {1, 1, 1, 1, 1, 1, 1, 0, 1, HART_F32, 1},
        /* im2col rows (Ci·k·k) and per-group depths multiples of 8: the tensor-core path's f16
         * pixel-major im2col, one group and two */
        {2, 16, 19, 21, 24, 3, 1, 1, 1, HART_F32, 1}, {1, 16, 11, 9, 6, 3, 2, 1, 2, HART_F16, 1},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        int Ho = (cs[i].H + 2 * cs[i].pad - cs[i].k) / cs[i].stride + 1, Wo = (cs[i].W + 2 * cs[i].pad - cs[i].k) / cs[i].stride + 1;
        pair x = mkf(4, cs[i].N, cs[i].Ci, cs[i].H, cs[i].W);
        pair w = mk(cs[i].wdt, 4, cs[i].Co, cs[i].Ci / cs[i].groups, cs[i].k, cs[i].k, -1, 1);
        pair b = mkf(1, cs[i].Co, 0, 0, 0);
        pair y = out(HART_F32, 4, cs[i].N, cs[i].Co, Ho, Wo);
        BOTH(hart_op_conv2d(&y.h, &x.h, &w.h, cs[i].bias ? &b.h : NULL, cs[i].stride, cs[i].pad, cs[i].groups),
             hart_op_conv2d(&y.d, &x.d, &w.d, cs[i].bias ? &b.d : NULL, cs[i].stride, cs[i].pad, cs[i].groups));
        char what[64];
        snprintf(what, sizeof what, "conv2d case %zu (k%d s%d p%d g%d)", i, cs[i].k, cs[i].stride, cs[i].pad, cs[i].groups);
        check(&y, what);
        drop(&x); drop(&w); drop(&b); drop(&y);
    }
}

static float half_round(float v) { return hart_f16_to_f32(hart_f32_to_f16(v)); }

/* f16 precision mode's conv2d (with the tensor cores on an NVIDIA device: the
 * implicit-GEMM kernel, conv_nv.cl, every variant) against the oracle
 * round_half(conv(round_half(x), w, b)) on the reference backend: channels not
 * multiples of 8, odd sizes, the strides/paddings of the VQGAN, LlamaGen and
 * DC-AE convolutions. Tolerance TOL_TC: the sums differ in order, so an output
 * may land on the neighbouring half (2^-11 relative). */
static void test_conv2d_f16(void **st) {
    skip_if_none();
    g_tol = TOL_TC;
    assert_int_equal(hart_backend_set_precision(g_cl, HART_PREC_F16), HART_OK);
    struct { int N, Ci, H, W, Co, k, stride, pad; hart_dtype wdt; int bias; } cs[] = {
        {1, 13, 9, 11, 37, 3, 1, 1, HART_F16, 1},  {2, 6, 7, 5, 3, 3, 2, 0, HART_F16, 1},
        {1, 24, 15, 13, 17, 3, 2, 1, HART_F32, 0}, {2, 40, 33, 35, 150, 3, 1, 1, HART_BF16, 1},
        {1, 3, 17, 19, 8, 3, 1, 1, HART_F16, 0},   {1, 16, 12, 10, 9, 1, 2, 0, HART_F16, 1},
        {1, 8, 11, 11, 4, 4, 2, 1, HART_F16, 1},   {1, 130, 8, 8, 70, 3, 1, 1, HART_F16, 1},
    };
    const char *tc = getenv("HART_CL_TENSOR_CORES");
    int nvar = tc && atoi(tc) ? 4 : 1; /* conv_nv.cl's variants (cl_conv_nv.c) */
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        int Ho = (cs[i].H + 2 * cs[i].pad - cs[i].k) / cs[i].stride + 1, Wo = (cs[i].W + 2 * cs[i].pad - cs[i].k) / cs[i].stride + 1;
        pair x = mkf(4, cs[i].N, cs[i].Ci, cs[i].H, cs[i].W);
        pair w = mk(cs[i].wdt, 4, cs[i].Co, cs[i].Ci, cs[i].k, cs[i].k, -1, 1);
        pair b = mkf(1, cs[i].Co, 0, 0, 0);
        hart_tensor xr;
        assert_int_equal(hart_tensor_new(NULL, HART_F32, 4, x.h.shape, &xr), HART_OK);
        xr.be = hart_backend_ref();
        for (int64_t j = 0; j < hart_tensor_numel(&xr); j++) ((float *)xr.data)[j] = half_round(((float *)x.h.data)[j]);
        for (int v = 0; v < nvar; v++) {
            char vs[16];
            snprintf(vs, sizeof vs, "%d", v);
            if (nvar > 1) setenv("HART_CL_CONV_VARIANT", vs, 1);
            pair y = out(HART_F32, 4, cs[i].N, cs[i].Co, Ho, Wo);
            BOTH(hart_op_conv2d(&y.h, &xr, &w.h, cs[i].bias ? &b.h : NULL, cs[i].stride, cs[i].pad, 1),
                 hart_op_conv2d(&y.d, &x.d, &w.d, cs[i].bias ? &b.d : NULL, cs[i].stride, cs[i].pad, 1));
            for (int64_t j = 0; j < hart_tensor_numel(&y.h); j++) ((float *)y.h.data)[j] = half_round(((float *)y.h.data)[j]);
            char what[80];
            snprintf(what, sizeof what, "conv2d f16 case %zu v%d (Ci%d k%d s%d p%d)", i, nvar > 1 ? v : -1, cs[i].Ci,
                     cs[i].k, cs[i].stride, cs[i].pad);
            check(&y, what);
            drop(&y);
        }
        unsetenv("HART_CL_CONV_VARIANT");
        hart_tensor_free(&xr);
        drop(&x); drop(&w); drop(&b);
    }
    assert_int_equal(hart_backend_set_precision(g_cl, HART_PREC_F32), HART_OK); /* tensor cores as $HART_CL_TENSOR_CORES says */
}

static void test_norms(void **st) {
    skip_if_none();
    g_tol = TOL;
    pair x = mk(HART_F32, 4, 2, 6, 5, 7, -2, 3), g = mkf(1, 6, 0, 0, 0), b = mk(HART_BF16, 1, 6, 0, 0, 0, -1, 1);
    pair y = out(HART_F32, 4, 2, 6, 5, 7);
    BOTH(hart_op_group_norm(&y.h, &x.h, &g.h, &b.h, 3, 1e-5f), hart_op_group_norm(&y.d, &x.d, &g.d, &b.d, 3, 1e-5f));
    check(&y, "group_norm g3 +affine");
    BOTH(hart_op_group_norm(&y.h, &x.h, NULL, NULL, 6, 1e-6f), hart_op_group_norm(&y.d, &x.d, NULL, NULL, 6, 1e-6f));
    check(&y, "group_norm g6");
    drop(&x); drop(&g); drop(&b); drop(&y);
    /* rows of 3 x 150 x 151 = 67950 elements: the split reduction (chunks of 16384, the last partial),
     * values off zero so that the chunk means differ from the row mean */
    pair xl = mk(HART_F32, 4, 2, 6, 150, 151, 3, 8), gl = mkf(1, 6, 0, 0, 0), bl = mkf(1, 6, 0, 0, 0);
    pair yl = out(HART_F32, 4, 2, 6, 150, 151);
    BOTH(hart_op_group_norm(&yl.h, &xl.h, &gl.h, &bl.h, 2, 1e-6f), hart_op_group_norm(&yl.d, &xl.d, &gl.d, &bl.d, 2, 1e-6f));
    check(&yl, "group_norm g2 split rows");
    drop(&xl); drop(&gl); drop(&bl); drop(&yl);
    pair x2 = mk(HART_F32, 3, 3, 17, 300, 0, -2, 3), g2 = mk(HART_F16, 1, 300, 0, 0, 0, 0, 2), b2 = mkf(1, 300, 0, 0, 0);
    pair y2 = out(HART_F32, 3, 3, 17, 300, 0);
    BOTH(hart_op_layer_norm(&y2.h, &x2.h, &g2.h, &b2.h, 1e-6f), hart_op_layer_norm(&y2.d, &x2.d, &g2.d, &b2.d, 1e-6f));
    check(&y2, "layer_norm D=300");
    BOTH(hart_op_layer_norm(&y2.h, &x2.h, NULL, NULL, 1e-6f), hart_op_layer_norm(&y2.d, &x2.d, NULL, NULL, 1e-6f));
    check(&y2, "layer_norm no affine");
    BOTH(hart_op_rms_norm(&y2.h, &x2.h, &g2.h, 1e-6f), hart_op_rms_norm(&y2.d, &x2.d, &g2.d, 1e-6f));
    check(&y2, "rms_norm D=300");
    drop(&x2); drop(&g2); drop(&b2); drop(&y2);
}

static void test_softmax(void **st) {
    skip_if_none();
    pair x = mk(HART_F32, 2, 5, 67, 0, 0, -8, 8), y = out(HART_F32, 2, 5, 67, 0, 0);
    float *xd = x.h.data;
    for (int i = 0; i < 67; i++) xd[67 + i] = -INFINITY; /* fully masked row -> zeros */
    for (int i = 0; i < 30; i++) xd[134 + i] = -INFINITY;
    assert_int_equal(hart_tensor_write(&x.d, xd, hart_tensor_nbytes(&x.h)), HART_OK);
    BOTH(hart_op_softmax(&y.h, &x.h), hart_op_softmax(&y.d, &x.d));
    check(&y, "softmax (with -inf rows)");
    drop(&x); drop(&y);
}

static void test_elementwise(void **st) {
    skip_if_none();
    pair x = mk(HART_F32, 3, 3, 17, 5, 0, -4, 4), y = out(HART_F32, 3, 3, 17, 5, 0);
    static const char *names[] = {"none", "relu", "silu", "gelu_tanh", "gelu_erf", "sigmoid"};
    for (int a = 0; a < HART_ACT_COUNT; a++) {
        BOTH(hart_op_act(&y.h, &x.h, a), hart_op_act(&y.d, &x.d, a));
        char what[64];
        snprintf(what, sizeof what, "act %s", names[a]);
        check(&y, what);
    }
    BOTH(hart_op_scale(&y.h, &x.h, -1.5f, 0.25f), hart_op_scale(&y.d, &x.d, -1.5f, 0.25f));
    check(&y, "scale");
    drop(&x); drop(&y);
    pair a = mkf(3, 3, 1, 5, 0), b = mk(HART_F32, 4, 2, 1, 4, 1, 0.5f, 2), z = out(HART_F32, 4, 2, 3, 4, 5);
    static const char *ops[] = {"add", "sub", "mul", "div"};
    for (int o = 0; o < HART_BIN_COUNT; o++) {
        BOTH(hart_op_binary(&z.h, &a.h, &b.h, o), hart_op_binary(&z.d, &a.d, &b.d, o));
        char what[64];
        snprintf(what, sizeof what, "binary %s broadcast", ops[o]);
        check(&z, what);
    }
    pair s = mkf(1, 1, 0, 0, 0);
    /* y aliases a */
    BOTH(hart_op_binary(&z.h, &z.h, &s.h, HART_BIN_MUL), hart_op_binary(&z.d, &z.d, &s.d, HART_BIN_MUL));
    check(&z, "binary in place, scalar");
    drop(&a); drop(&b); drop(&z); drop(&s);
}

static void test_copy_convert(void **st) {
    skip_if_none();
    hart_dtype dts[3] = {HART_F32, HART_F16, HART_BF16};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            pair x = mk(dts[i], 2, 7, 13, 0, 0, -100, 100), y = out(dts[j], 2, 7, 13, 0, 0);
            BOTH(hart_op_copy(&y.h, &x.h), hart_op_copy(&y.d, &x.d));
            /* conversions must be bit-exact: compare raw bytes */
            size_t nb = hart_tensor_nbytes(&y.h);
            unsigned char *got = malloc(nb);
            assert_int_equal(hart_tensor_read(&y.d, got, nb), HART_OK);
            printf("  copy %s -> %s: %s\n", hart_dtype_name(dts[i]), hart_dtype_name(dts[j]),
                   memcmp(got, y.h.data, nb) ? "DIFFERS" : "bit-exact");
            assert_memory_equal(got, y.h.data, nb);
            free(got);
            drop(&x); drop(&y);
        }
}

static void test_shape_ops(void **st) {
    skip_if_none();
    pair x = mkf(4, 2, 3, 5, 7);
    int perms[3][4] = {{0, 2, 1, 3}, {3, 1, 0, 2}, {0, 1, 3, 2}};
    for (int p = 0; p < 3; p++) {
        pair y = out(HART_F32, 4, x.h.shape[perms[p][0]], x.h.shape[perms[p][1]], x.h.shape[perms[p][2]], x.h.shape[perms[p][3]]);
        BOTH(hart_op_transpose(&y.h, &x.h, perms[p]), hart_op_transpose(&y.d, &x.d, perms[p]));
        check(&y, "transpose 4-D");
        drop(&y);
    }
    pair ids = mk(HART_I64, 2, 3, 5, 0, 0, 0, 1000), idt = out(HART_I64, 2, 5, 3, 0, 0);
    int p2[2] = {1, 0};
    BOTH(hart_op_transpose(&idt.h, &ids.h, p2), hart_op_transpose(&idt.d, &ids.d, p2));
    check(&idt, "transpose I64");
    drop(&ids); drop(&idt);
    for (int dim = 0; dim < 4; dim++) {
        int64_t s[4] = {2, 3, 5, 7}, sb[4] = {2, 3, 5, 7}, sy[4] = {2, 3, 5, 7};
        sb[dim] = 1 + dim;
        sy[dim] = s[dim] + sb[dim];
        pair b = mkf(4, sb[0], sb[1], sb[2], sb[3]), y = out(HART_F32, 4, sy[0], sy[1], sy[2], sy[3]);
        BOTH(hart_op_concat(&y.h, &x.h, &b.h, dim), hart_op_concat(&y.d, &x.d, &b.d, dim));
        check(&y, "concat");
        int64_t sl[4] = {2, 3, 5, 7};
        sl[dim] = s[dim] - 1;
        pair z = out(HART_F32, 4, sl[0], sl[1], sl[2], sl[3]);
        BOTH(hart_op_slice(&z.h, &y.h, dim, 1), hart_op_slice(&z.d, &y.d, dim, 1));
        check(&z, "slice");
        BOTH(hart_op_slice_assign(&y.h, &b.h, dim, 1), hart_op_slice_assign(&y.d, &b.d, dim, 1));
        check(&y, "slice_assign");
        drop(&b); drop(&y); drop(&z);
    }
    drop(&x);
}

static void test_embedding(void **st) {
    skip_if_none();
    pair t = mk(HART_BF16, 2, 37, 19, 0, 0, -1, 1);
    pair i64 = mk(HART_I64, 2, 3, 5, 0, 0, 0, 36.99f), i32 = mk(HART_I32, 1, 11, 0, 0, 0, 0, 36.99f);
    pair y = out(HART_F32, 3, 3, 5, 19, 0), y2 = out(HART_F32, 2, 11, 19, 0, 0);
    BOTH(hart_op_embedding(&y.h, &t.h, &i64.h), hart_op_embedding(&y.d, &t.d, &i64.d));
    check(&y, "embedding I64 bf16 table");
    BOTH(hart_op_embedding(&y2.h, &t.h, &i32.h), hart_op_embedding(&y2.d, &t.d, &i32.d));
    check(&y2, "embedding I32");
    int32_t bad[11] = {0, 1, 2, 37, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(hart_tensor_write(&i32.d, bad, sizeof bad), HART_OK);
    assert_int_equal(hart_op_embedding(&y2.d, &t.d, &i32.d), HART_EINVAL);
    printf("  embedding bad id -> %s\n", hart_errmsg());
    drop(&t); drop(&i64); drop(&i32); drop(&y); drop(&y2);
}

static void test_attention(void **st) {
    skip_if_none();
    struct { int B, H, Hkv, Lq, Lk, D, mask; } cs[] = {
        {2, 4, 2, 17, 67, 64, 2}, {1, 3, 3, 1, 1, 40, 0}, {1, 2, 1, 70, 33, 128, 1}, {1, 2, 2, 5, 9, 160, 1},
        {2, 2, 1, 3, 100, 16, 2},
        /* head dims over the fused kernel's limit: composed on the device (q·kᵀ, softmax, ·v), in
         * chunks of query rows when B·H = 1 (chunk size made tiny below: 13 rows of 77 keys);
         * grouped heads go to the host fallback */
        {1, 1, 1, 300, 77, 256, 1}, {1, 2, 1, 5, 9, 160, 0},
        /* several query blocks and key tiles, partial last ones (the tensor-core kernel's 64 x 64
         * and 64 x 32 tiles) */
        {1, 3, 3, 130, 300, 64, 1}, {2, 2, 2, 65, 129, 128, 0}, {1, 4, 1, 64, 64, 64, 2},
        /* 128-row work-groups over many double-buffered K/V tiles, partial last ones, GQA */
        {1, 4, 2, 300, 1000, 64, 0}, {2, 2, 1, 129, 517, 128, 2}, {1, 2, 2, 257, 9, 64, 1},
    };
    setenv("HART_ATTN_CHUNK_BYTES", "4096", 1);
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        pair q = mkf(4, cs[i].B, cs[i].H, cs[i].Lq, cs[i].D), k = mkf(4, cs[i].B, cs[i].Hkv, cs[i].Lk, cs[i].D);
        pair v = mkf(4, cs[i].B, cs[i].Hkv, cs[i].Lk, cs[i].D), o = out(HART_F32, 4, cs[i].B, cs[i].H, cs[i].Lq, cs[i].D);
        pair m = mk(HART_F32, 4, cs[i].mask == 2 ? cs[i].B : 1, cs[i].mask == 2 ? cs[i].H : 1, cs[i].Lq, cs[i].Lk, -2, 2);
        if (cs[i].mask) { /* exclude some keys; fully mask query row 0 */
            float *md = m.h.data;
            int64_t n = hart_tensor_numel(&m.h);
            for (int64_t j = 0; j < n; j++)
                if ((j * 7) % 5 == 0 || j % (cs[i].Lq * cs[i].Lk) < cs[i].Lk) md[j] = -INFINITY;
            assert_int_equal(hart_tensor_write(&m.d, md, hart_tensor_nbytes(&m.h)), HART_OK);
        }
        float sc = 1.0f / sqrtf((float)cs[i].D);
        BOTH(hart_op_attention(&o.h, &q.h, &k.h, &v.h, cs[i].mask ? &m.h : NULL, sc),
             hart_op_attention(&o.d, &q.d, &k.d, &v.d, cs[i].mask ? &m.d : NULL, sc));
        char what[64];
        snprintf(what, sizeof what, "attention H%d/%d Lq%d Lk%d D%d m%d", cs[i].H, cs[i].Hkv, cs[i].Lq, cs[i].Lk, cs[i].D, cs[i].mask);
        g_tol = g_attn_tol;
        check(&o, what);
        g_tol = TOL;
        drop(&q); drop(&k); drop(&v); drop(&o); drop(&m);
    }
    unsetenv("HART_ATTN_CHUNK_BYTES");
}

static void test_rope(void **st) {
    skip_if_none();
    for (int il = 0; il < 2; il++)
        for (int cb = 0; cb < 2; cb++) {
            pair x = mkf(4, 2, 3, 7, 10), c = mkf(3, cb ? 2 : 1, 7, 5, 0), s = mkf(3, cb ? 2 : 1, 7, 5, 0);
            pair y = out(HART_F32, 4, 2, 3, 7, 10);
            BOTH(hart_op_rope(&y.h, &x.h, &c.h, &s.h, il), hart_op_rope(&y.d, &x.d, &c.d, &s.d, il));
            check(&y, il ? "rope interleaved" : "rope rotate-half");
            BOTH(hart_op_rope(&x.h, &x.h, &c.h, &s.h, il), hart_op_rope(&x.d, &x.d, &c.d, &s.d, il));
            check(&x, "rope in place");
            drop(&x); drop(&c); drop(&s); drop(&y);
        }
}

/* rope_rows (a table entry per element): on the host it equals rope
 * rotate-half when both halves of the tables are equal (an independent
 * path); on the device it equals the reference, in place too. */
static void test_rope_rows(void **st) {
    int64_t B = 2, H = 3, L = 7, D = 10;
    hart_tensor x, c, s, cf, sf, y1, y2;
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &x, 4, B, H, L, D), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &c, 3, B, L, D / 2, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &s, 3, B, L, D / 2, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &cf, 3, B, L, D, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &sf, 3, B, L, D, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &y1, 4, B, H, L, D), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &y2, 4, B, H, L, D), HART_OK);
    fill_random(x.data, B * H * L * D, 901, -1, 1);
    fill_random(c.data, B * L * D / 2, 902, -1, 1);
    fill_random(s.data, B * L * D / 2, 903, -1, 1);
    for (int64_t r = 0; r < B * L; r++)
        for (int64_t j = 0; j < D; j++) {
            ((float *)cf.data)[r * D + j] = ((float *)c.data)[r * D / 2 + j % (D / 2)];
            ((float *)sf.data)[r * D + j] = ((float *)s.data)[r * D / 2 + j % (D / 2)];
        }
    assert_int_equal(hart_op_rope(&y1, &x, &c, &s, 0), HART_OK);
    assert_int_equal(hart_op_rope_rows(&y2, &x, &cf, &sf), HART_OK);
    for (int64_t i = 0; i < B * H * L * D; i++)
        assert_true(fabsf(((float *)y1.data)[i] - ((float *)y2.data)[i]) <= 1e-6f);
    hart_tensor *ts[] = {&x, &c, &s, &cf, &sf, &y1, &y2};
    for (size_t i = 0; i < 7; i++) hart_tensor_free(ts[i]);
    (void)st;
    skip_if_none();
    pair xd = mkf(4, 2, 3, 7, 10), cd = mkf(3, 2, 7, 10, 0), sd = mkf(3, 2, 7, 10, 0);
    pair yd = out(HART_F32, 4, 2, 3, 7, 10);
    BOTH(hart_op_rope_rows(&yd.h, &xd.h, &cd.h, &sd.h), hart_op_rope_rows(&yd.d, &xd.d, &cd.d, &sd.d));
    check(&yd, "rope_rows");
    BOTH(hart_op_rope_rows(&xd.h, &xd.h, &cd.h, &sd.h), hart_op_rope_rows(&xd.d, &xd.d, &cd.d, &sd.d));
    check(&xd, "rope_rows in place");
    drop(&xd); drop(&cd); drop(&sd); drop(&yd);
}

static void test_clamp(void **st) {
    skip_if_none();
    pair x = mk(HART_F32, 2, 5, 37, 0, 0, -3, 3), y = out(HART_F32, 2, 5, 37, 0, 0);
    BOTH(hart_op_clamp(&y.h, &x.h, -1.0f, 1.0f), hart_op_clamp(&y.d, &x.d, -1.0f, 1.0f));
    check(&y, "clamp");
    const float *v = y.h.data;
    for (int i = 0; i < 5 * 37; i++) assert_true(v[i] >= -1.0f && v[i] <= 1.0f);
    drop(&x); drop(&y);
}

static void test_pool2d(void **st) {
    skip_if_none();
    static const int sz[][5] = {{35, 35, 3, 1, 1}, {147, 147, 3, 2, 0}, {5, 7, 3, 2, 0}, {9, 6, 2, 2, 1}};
    for (int m = 0; m < HART_POOL_COUNT; m++)
        for (int z = 0; z < 4; z++) {
            int k = sz[z][2], s = sz[z][3], p = sz[z][4];
            pair x = mkf(4, 2, 3, sz[z][0], sz[z][1]);
            pair y = out(HART_F32, 4, 2, 3, (sz[z][0] + 2 * p - k) / s + 1, (sz[z][1] + 2 * p - k) / s + 1);
            BOTH(hart_op_pool2d(&y.h, &x.h, k, s, p, (hart_pool)m), hart_op_pool2d(&y.d, &x.d, k, s, p, (hart_pool)m));
            char what[64];
            snprintf(what, sizeof what, "pool2d %s %dx%d k%d s%d p%d", m ? "avg" : "max", sz[z][0], sz[z][1], k, s, p);
            check(&y, what);
            drop(&x); drop(&y);
        }
}

static void test_resample(void **st) {
    skip_if_none();
    static const char *names[] = {"nearest", "bilinear", "bicubic", "area"};
    int64_t sz[4][4] = {{5, 7, 13, 3}, {16, 16, 32, 32}, {17, 9, 4, 3}, {1, 1, 3, 5}};
    for (int m = 0; m < HART_INTERP_COUNT; m++)
        for (int z = 0; z < 4; z++) {
            if (m == HART_INTERP_AREA && (sz[z][2] > sz[z][0] || sz[z][3] > sz[z][1])) continue;
            pair x = mkf(4, 2, 3, sz[z][0], sz[z][1]), y = out(HART_F32, 4, 2, 3, sz[z][2], sz[z][3]);
            BOTH(hart_op_interpolate(&y.h, &x.h, m), hart_op_interpolate(&y.d, &x.d, m));
            char what[64];
            snprintf(what, sizeof what, "interp %s %lldx%lld->%lldx%lld", names[m], (long long)sz[z][0],
                     (long long)sz[z][1], (long long)sz[z][2], (long long)sz[z][3]);
            check(&y, what);
            drop(&x); drop(&y);
        }
    pair x = mkf(4, 2, 12, 3, 5), y = out(HART_F32, 4, 2, 3, 6, 10), z = out(HART_F32, 4, 2, 12, 3, 5);
    BOTH(hart_op_pixel_shuffle(&y.h, &x.h, 2), hart_op_pixel_shuffle(&y.d, &x.d, 2));
    check(&y, "pixel_shuffle r2");
    BOTH(hart_op_pixel_unshuffle(&z.h, &y.h, 2), hart_op_pixel_unshuffle(&z.d, &y.d, 2));
    check(&z, "pixel_unshuffle r2");
    drop(&x); drop(&y); drop(&z);
}

static void test_reduce_argmin(void **st) {
    skip_if_none();
    pair x = mkf(3, 3, 17, 5, 0);
    for (int dim = 0; dim < 3; dim++)
        for (int r = 0; r < HART_RED_COUNT; r++) {
            int64_t s[3] = {3, 17, 5};
            s[dim] = 1;
            pair y = out(HART_F32, 3, s[0], s[1], s[2], 0);
            BOTH(hart_op_reduce(&y.h, &x.h, dim, r), hart_op_reduce(&y.d, &x.d, dim, r));
            check(&y, "reduce");
            drop(&y);
        }
    drop(&x);
    pair xs = mkf(2, 67, 8, 0, 0), cb = mkf(2, 300, 8, 0, 0), cb16 = mk(HART_F16, 2, 300, 8, 0, 0, -1, 1);
    pair idx = out(HART_I64, 1, 67, 0, 0, 0);
    BOTH(hart_op_argmin_dist(&idx.h, &xs.h, &cb.h), hart_op_argmin_dist(&idx.d, &xs.d, &cb.d));
    check(&idx, "argmin_dist f32 codebook");
    BOTH(hart_op_argmin_dist(&idx.h, &xs.h, &cb16.h), hart_op_argmin_dist(&idx.d, &xs.d, &cb16.d));
    check(&idx, "argmin_dist f16 codebook");
    drop(&xs); drop(&cb); drop(&cb16); drop(&idx);
}

static void test_open_specs(void **st) {
    char why[512];
    hart_backend *be = NULL;
    assert_int_equal(hart_backend_open("cpu", &be, why, sizeof why), HART_OK);
    assert_ptr_equal(be, hart_backend_cpu());
    assert_int_equal(hart_backend_open("gpu", &be, why, sizeof why), HART_EINVAL);
    printf("  bad spec -> %s\n", hart_errmsg());
    assert_int_equal(hart_backend_open("opencl:x", &be, why, sizeof why), HART_EINVAL);
    assert_int_equal(hart_backend_open("opencl:0:0:0", &be, why, sizeof why), HART_EINVAL);
    assert_int_equal(hart_backend_open("auto", &be, why, sizeof why), HART_OK);
    printf("  auto -> %s\n", why);
    hart_backend_close(be);
    if (!g_cl) skip();
    assert_int_not_equal(hart_backend_open("opencl:99", &be, why, sizeof why), HART_OK);
    printf("  opencl:99 -> %s\n", hart_errmsg());
    assert_int_equal(hart_backend_open("opencl:0:0", &be, why, sizeof why), HART_OK);
    printf("  opencl:0:0 -> %s\n", why);
    hart_backend_close(be);
}

/* the binary cache: a second open loads it; a corrupt entry is rebuilt */
/* New tensors are zeroed (hart_tensor_new's promise). Regions of at least
 * $HART_CL_ZERO_KERNEL_MIN bytes (default 1 GiB) are zeroed by the zero_fill
 * kernel instead of clEnqueueFillBuffer, which hangs or fails on NVIDIA for
 * 2^31 bytes or more (HART's 1024 px decode at batch 4 stopped there). Small
 * part, every device: a backend with the threshold at 1 byte, odd sizes, each
 * buffer dirtied (0xff), released to the pool and handed out again. Large
 * part, GPUs only (2 GiB of host memory on a CPU device): a 2^31 + 4096 byte
 * tensor, dirtied at rows around the 2^31 boundary, released and allocated
 * again; its rows read back as zeros (the driver's fill would hang here). */
static int rows_zero(const hart_tensor *t, int64_t r, int64_t w) {
    hart_tensor v;
    unsigned char *buf = malloc((size_t)w);
    int ok = buf && !hart_tensor_rows(t, r, 1, &v) && !hart_tensor_read(&v, buf, (size_t)w);
    for (int64_t i = 0; ok && i < w; i++) ok = buf[i] == 0;
    free(buf);
    return ok;
}

static void dirty_rows(hart_tensor *t, const int64_t *rows, int nr, int64_t w) {
    unsigned char *ff = malloc((size_t)w);
    assert_non_null(ff);
    memset(ff, 0xff, (size_t)w);
    for (int i = 0; i < nr; i++) {
        hart_tensor v;
        assert_int_equal(hart_tensor_rows(t, rows[i], 1, &v), HART_OK);
        assert_int_equal(hart_tensor_write(&v, ff, (size_t)w), HART_OK);
    }
    free(ff);
}

static void test_zero_fill(void **st) {
    skip_if_none();
    char why[512];
    hart_backend *be = NULL;
    setenv("HART_CL_ZERO_KERNEL_MIN", "1", 1);
    hart_status s = hart_backend_open("opencl", &be, why, sizeof why);
    unsetenv("HART_CL_ZERO_KERNEL_MIN");
    assert_int_equal(s, HART_OK);
    const int64_t sizes[] = {1, 15, 16, 17, 4099, 1000003};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int64_t n = sizes[k], r0 = 0;
        hart_tensor t = {0};
        assert_int_equal(hart_tensor_new4(be, HART_U8, &t, 2, 1, n, 0, 0), HART_OK);
        assert_true(rows_zero(&t, 0, n)); /* fresh buffer */
        dirty_rows(&t, &r0, 1, n);
        void *dev = t.dev;
        hart_tensor_free(&t);
        assert_int_equal(hart_tensor_new4(be, HART_U8, &t, 2, 1, n, 0, 0), HART_OK);
        assert_ptr_equal(t.dev, dev); /* the dirty buffer again, from the pool */
        assert_true(rows_zero(&t, 0, n));
        hart_tensor_free(&t);
    }
    hart_backend_close(be);
    if (!g_cl->gpu) {
        printf("zero fill of 2^31+ bytes: not run on a CPU OpenCL device (2 GiB of host memory)\n");
        return;
    }
    const int64_t W = 4096, R = ((int64_t)1 << 31) / W + 1; /* 2^31 + 4096 bytes */
    const int64_t rows[] = {0, R / 2, R - 2, R - 1};    /* R - 2 ends at 2^31, R - 1 lies past it */
    hart_tensor t = {0};
    s = hart_tensor_new4(g_cl, HART_U8, &t, 2, R, W, 0, 0);
    if (s == HART_ENOMEM) {
        printf("zero fill of 2^31+ bytes: not run (%s)\n", hart_errmsg());
        hart_clear_error();
        return;
    }
    assert_int_equal(s, HART_OK);
    dirty_rows(&t, rows, 4, W);
    hart_tensor_free(&t);
    assert_int_equal(hart_tensor_new4(g_cl, HART_U8, &t, 2, R, W, 0, 0), HART_OK);
    for (int i = 0; i < 4; i++) assert_true(rows_zero(&t, rows[i], W));
    hart_tensor_free(&t);
}

static void test_kernel_cache(void **st) {
    skip_if_none();
    char dir[] = "/tmp/hart-clcache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("HART_CACHE_DIR", dir, 1);
    char why[512];
    hart_backend *be;
    assert_int_equal(hart_backend_open("opencl:0:0", &be, why, sizeof why), HART_OK);
    assert_non_null(strstr(why, "compiled"));
    hart_backend_close(be);
    assert_int_equal(hart_backend_open("opencl:0:0", &be, why, sizeof why), HART_OK);
    printf("  second open: %s\n", why);
    assert_non_null(strstr(why, "from cache"));
    hart_backend_close(be);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "for f in %s/*.bin; do printf 'garbage' | dd of=$f bs=1 seek=40 conv=notrunc 2>/dev/null; done", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(hart_backend_open("opencl:0:0", &be, why, sizeof why), HART_OK);
    printf("  after corruption: %s\n", why);
    assert_non_null(strstr(why, "compiled"));
    /* the rebuilt backend works */
    pair x = mkf(2, 3, 4, 0, 0);
    hart_tensor d, yd;
    assert_int_equal(hart_tensor_to(be, &x.h, &d), HART_OK);
    assert_int_equal(hart_tensor_new4(be, HART_F32, &yd, 2, 3, 4, 0, 0), HART_OK);
    assert_int_equal(hart_op_scale(&yd, &d, 2.0f, 0.0f), HART_OK);
    float got[12];
    assert_int_equal(hart_tensor_read(&yd, got, sizeof got), HART_OK);
    for (int i = 0; i < 12; i++) assert_float_equal(got[i], 2.0f * ((float *)x.h.data)[i], 0);
    hart_tensor_free(&d);
    hart_tensor_free(&yd);
    drop(&x);
    hart_backend_close(be);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    unsetenv("HART_CACHE_DIR");
}

int main(void) {
    char why[512];
    if (hart_opencl_list(stdout) == 0) {
        test_skip_part("test_opencl_ops: no OpenCL platform/device on this machine; OpenCL ops not tested");
        g_cl = NULL;
    } else if (hart_backend_open("opencl", &g_cl, why, sizeof why) != HART_OK) {
        test_skip_part("test_opencl_ops: no usable OpenCL device (%s)", hart_errmsg());
        g_cl = NULL;
    } else {
        printf("testing %s\n", why);
        const char *tc = getenv("HART_CL_TENSOR_CORES");
        if (tc && atoi(tc) && hart_opencl_set_tensor_cores(g_cl, 1)) {
            g_gemm_tol = TOL_TC;
            g_attn_tol = TOL_TC_ATTN;
            printf("tensor cores ON: linear/matmul/conv2d checked at %.0e, attention at %.0e\n", TOL_TC, TOL_TC_ATTN);
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),      cmocka_unit_test(test_wgmma),        cmocka_unit_test(test_matmul),       cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_conv2d_f16),
        cmocka_unit_test(test_norms),       cmocka_unit_test(test_softmax),      cmocka_unit_test(test_elementwise),
        cmocka_unit_test(test_copy_convert), cmocka_unit_test(test_shape_ops),   cmocka_unit_test(test_embedding),
        cmocka_unit_test(test_attention),   cmocka_unit_test(test_rope),         cmocka_unit_test(test_rope_rows),    cmocka_unit_test(test_clamp),
        cmocka_unit_test(test_resample),    cmocka_unit_test(test_pool2d),
        cmocka_unit_test(test_reduce_argmin), cmocka_unit_test(test_open_specs), cmocka_unit_test(test_kernel_cache),
        cmocka_unit_test(test_zero_fill),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (g_cl) printf("worst relative error over all float checks: %.2e (tolerance %.0e)\n", g_worst, TOL);
    hart_backend_close(g_cl);
    return rc;
}

/* PoCL keeps some allocations for the life of the process; they are not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libOpenCL\n"; }
