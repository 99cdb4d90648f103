/* The fused block ops (op_list.h: norm_mod, swiglu, qkv_heads) against the
 * unfused op sequences they replace, on the CPU backend, the reference
 * backend and OpenCL (PoCL here; skipped when no device): the same values,
 * bit for bit, since each fused kernel does the same float operations per
 * element. In f16 precision mode an F16 output equals the f32 result copied
 * (rounded) into half, and linear with an F16 x equals linear with the same
 * values in f32. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend/backend.h"
#include "backend/opencl/opencl.h"
#include "ops/ops.h"
#include "support/golden.h"
#include "support/test_skip.h"

static hart_backend *g_cl;
static unsigned g_seed = 77;

static void ok(hart_status s) {
    if (s != HART_OK) fail_msg("%s", hart_errmsg());
}

/* a tensor on be (ref: host data marked as the reference's), random in [-2, 2] or zero */
static hart_tensor mk(hart_backend *be, hart_dtype dt, int nd, int64_t a, int64_t b, int64_t c, int64_t d, int rnd) {
    hart_tensor h, t;
    ok(hart_tensor_new4(NULL, HART_F32, &h, nd, a, b, c, d));
    if (rnd) fill_random(h.data, hart_tensor_numel(&h), g_seed++, -2, 2);
    if (be == hart_backend_ref() && dt == HART_F32) {
        h.be = be;
        return h;
    }
    if (rnd) { /* random inputs are F32 */
        assert_int_equal(dt, HART_F32);
        ok(hart_tensor_to(be, &h, &t));
    } else {
        ok(hart_tensor_new4(be, dt, &t, nd, a, b, c, d));
    }
    hart_tensor_free(&h);
    return t;
}

static float *values(const hart_tensor *t) {
    int64_t n = hart_tensor_numel(t);
    float *v = malloc(sizeof(float) * (size_t)(n ? n : 1));
    ok(hart_tensor_read_f32(t, v));
    return v;
}

static void same(const hart_tensor *a, const hart_tensor *b, const char *what, const char *be) {
    int64_t n = hart_tensor_numel(a);
    assert_int_equal(n, hart_tensor_numel(b));
    float *x = values(a), *y = values(b);
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&x[i], &y[i], sizeof(float)))
            fail_msg("%s on %s: element %lld fused %.9g, unfused %.9g", what, be, (long long)i, (double)x[i], (double)y[i]);
    free(x);
    free(y);
}

static void free_all(hart_tensor **ts, int n) {
    for (int i = 0; i < n; i++) hart_tensor_free(ts[i]);
}

static void norm_mod_case(hart_backend *be, hart_dtype ydt, int rms, int mod) {
    int64_t B = 2, L = 5, D = 300;
    hart_tensor x = mk(be, HART_F32, 3, B, L, D, 0, 1), g = mk(be, HART_F32, 1, D, 0, 0, 0, 1);
    hart_tensor bt = mk(be, HART_F32, 1, D, 0, 0, 0, 1);
    const hart_tensor *beta = rms ? NULL : &bt; /* layer norm with its affine bias (the diffusion head's) */
    hart_tensor s = mk(be, HART_F32, 3, B, 1, D, 0, 1), sh = mk(be, HART_F32, 3, B, 1, D, 0, 1);
    hart_tensor y = mk(be, ydt, 3, B, L, D, 0, 0), u = mk(be, HART_F32, 3, B, L, D, 0, 0), uy = mk(be, ydt, 3, B, L, D, 0, 0);
    ok(hart_op_norm_mod(&y, &x, &g, beta, mod ? &s : NULL, mod ? &sh : NULL, 1e-6f, rms));
    ok(rms ? hart_op_rms_norm(&u, &x, &g, 1e-6f) : hart_op_layer_norm(&u, &x, &g, beta, 1e-6f));
    if (mod) {
        ok(hart_op_binary(&u, &u, &s, HART_BIN_MUL));
        ok(hart_op_binary(&u, &u, &sh, HART_BIN_ADD));
    }
    ok(hart_op_copy(&uy, &u)); /* F16: rounded as the GEMM rounds its operand */
    char what[64];
    snprintf(what, sizeof what, "norm_mod %s%s -> %s", rms ? "rms" : "layer", mod ? " + modulation" : "",
             hart_dtype_name(ydt));
    same(&y, &uy, what, be->name);
    hart_tensor *ts[] = {&x, &g, &bt, &s, &sh, &y, &u, &uy};
    free_all(ts, 8);
}

static void swiglu_case(hart_backend *be, hart_dtype ydt, int64_t H) {
    int64_t B = 2, L = 3;
    hart_tensor x = mk(be, HART_F32, 3, B, L, 2 * H, 0, 1), y = mk(be, ydt, 3, B, L, H, 0, 0);
    hart_tensor gt = mk(be, HART_F32, 3, B, L, H, 0, 0), up = mk(be, HART_F32, 3, B, L, H, 0, 0);
    hart_tensor uy = mk(be, ydt, 3, B, L, H, 0, 0);
    ok(hart_op_swiglu(&y, &x));
    ok(hart_op_slice(&gt, &x, 2, 0));
    ok(hart_op_slice(&up, &x, 2, H));
    ok(hart_op_act(&gt, &gt, HART_ACT_SILU));
    ok(hart_op_binary(&gt, &gt, &up, HART_BIN_MUL));
    ok(hart_op_copy(&uy, &gt));
    char what[64];
    snprintf(what, sizeof what, "swiglu H=%lld -> %s", (long long)H, hart_dtype_name(ydt));
    same(&y, &uy, what, be->name);
    hart_tensor *ts[] = {&x, &y, &gt, &up, &uy};
    free_all(ts, 5);
}

/* qkv_heads against slice + transpose [B,L,H,D] -> [B,H,L,D] + rope_rows */
static void qkv_case(hart_backend *be, int rot) {
    int64_t B = 2, L = 7, H = 3, D = 10, C = H * D;
    hart_tensor x = mk(be, HART_F32, 3, B, L, 3 * C, 0, 1), y = mk(be, HART_F32, 4, 3 * B, H, L, D, 0);
    hart_tensor c = mk(be, HART_F32, 3, B, L, D, 0, 1), s = mk(be, HART_F32, 3, B, L, D, 0, 1);
    ok(hart_op_qkv_heads(&y, &x, rot ? &c : NULL, rot ? &s : NULL));
    int perm[4] = {0, 2, 1, 3};
    for (int part = 0; part < 3; part++) {
        hart_tensor p = mk(be, HART_F32, 3, B, L, C, 0, 0), t = mk(be, HART_F32, 4, B, H, L, D, 0), view, got;
        ok(hart_op_slice(&p, &x, 2, part * C));
        ok(hart_tensor_reshape(&p, 4, (int64_t[]){B, L, H, D}, &view));
        ok(hart_op_transpose(&t, &view, perm));
        if (rot && part < 2) ok(hart_op_rope_rows(&t, &t, &c, &s));
        ok(hart_tensor_rows(&y, part * B, B, &got));
        char what[64];
        snprintf(what, sizeof what, "qkv_heads part %d%s", part, rot ? " rotated" : "");
        same(&got, &t, what, be->name);
        hart_tensor_free(&p);
        hart_tensor_free(&t);
    }
    hart_tensor *ts[] = {&x, &y, &c, &s};
    free_all(ts, 4);
}

/* f16 mode: linear with an F16 x equals linear with those values in f32 */
static void linear_half_x_case(hart_backend *be) {
    int64_t M = 9, K = 40, N = 24;
    hart_tensor xf = mk(be, HART_F32, 2, M, K, 0, 0, 1), xh = mk(be, HART_F16, 2, M, K, 0, 0, 0);
    hart_tensor w = mk(be, HART_F32, 2, N, K, 0, 0, 1), b = mk(be, HART_F32, 1, N, 0, 0, 0, 1);
    hart_tensor y1 = mk(be, HART_F32, 2, M, N, 0, 0, 0), y2 = mk(be, HART_F32, 2, M, N, 0, 0, 0);
    ok(hart_op_copy(&xh, &xf));
    ok(hart_op_copy(&xf, &xh)); /* xf holds the half values */
    ok(hart_op_linear(&y1, &xh, &w, &b));
    ok(hart_op_linear(&y2, &xf, &w, &b));
    same(&y1, &y2, "linear with an F16 x", be->name);
    hart_tensor *ts[] = {&xf, &xh, &w, &b, &y1, &y2};
    free_all(ts, 6);
}

static void run_f32(hart_backend *be) {
    for (int rms = 0; rms < 2; rms++)
        for (int mod = 0; mod < 2; mod++) norm_mod_case(be, HART_F32, rms, mod);
    swiglu_case(be, HART_F32, 64);
    swiglu_case(be, HART_F32, 37);
    qkv_case(be, 1);
    qkv_case(be, 0);
}

static void run_f16(hart_backend *be) {
    ok(hart_backend_set_precision(be, HART_PREC_F16));
    for (int rms = 0; rms < 2; rms++) norm_mod_case(be, HART_F16, rms, 1);
    swiglu_case(be, HART_F16, 64);
    linear_half_x_case(be);
    ok(hart_backend_set_precision(be, HART_PREC_F32));
}

static void test_cpu(void **st) {
    (void)st;
    run_f32(hart_backend_cpu());
    run_f16(hart_backend_cpu());
}

static void test_ref(void **st) {
    (void)st;
    run_f32(hart_backend_ref());
}

static void test_opencl(void **st) {
    (void)st;
    if (!g_cl) skip();
    run_f32(g_cl);
    run_f16(g_cl);
}

/* bad operands are errors, not crashes */
static void test_bad_operands(void **st) {
    (void)st;
    hart_backend *be = hart_backend_cpu();
    hart_tensor x = mk(be, HART_F32, 3, 2, 3, 8, 0, 1), y = mk(be, HART_F32, 3, 2, 3, 5, 0, 0);
    hart_tensor yh = mk(be, HART_F16, 3, 2, 3, 4, 0, 0), s = mk(be, HART_F32, 3, 2, 1, 8, 0, 1);
    hart_tensor q = mk(be, HART_F32, 4, 6, 1, 3, 8, 0);
    assert_int_equal(hart_op_swiglu(&y, &x), HART_EINVAL);          /* 8 != 2 * 5 */
    assert_int_equal(hart_op_swiglu(&yh, &x), HART_EINVAL);         /* F16 out of f16 mode */
    assert_int_equal(hart_op_norm_mod(&y, &x, NULL, NULL, NULL, NULL, 1e-6f, 1), HART_EINVAL); /* shapes */
    hart_tensor y8 = mk(be, HART_F32, 3, 2, 3, 8, 0, 0), b8 = mk(be, HART_F32, 1, 8, 0, 0, 0, 1);
    assert_int_equal(hart_op_norm_mod(&y8, &x, NULL, NULL, &s, NULL, 1e-6f, 1), HART_EINVAL); /* s1p without shift */
    assert_int_equal(hart_op_norm_mod(&y8, &x, NULL, &b8, NULL, NULL, 1e-6f, 1), HART_EINVAL); /* beta with RMSNorm */
    hart_tensor_free(&b8);
    assert_int_equal(hart_op_qkv_heads(&q, &x, NULL, NULL), HART_EINVAL); /* 8 != 3 * 1 * 8 */
    hart_tensor *ts[] = {&x, &y, &yh, &s, &q, &y8};
    free_all(ts, 6);
}

int main(void) {
    char why[512];
    if (hart_opencl_list(stdout) == 0) {
        test_skip_part("test_fused_ops: no OpenCL platform/device; the OpenCL kernels are not tested");
    } else if (hart_backend_open("opencl", &g_cl, why, sizeof why) != HART_OK) {
        test_skip_part("test_fused_ops: no usable OpenCL device (%s)", hart_errmsg());
        g_cl = NULL;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu), cmocka_unit_test(test_ref), cmocka_unit_test(test_opencl),
        cmocka_unit_test(test_bad_operands),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    hart_backend_close(g_cl);
    return rc;
}

/* PoCL keeps some allocations for the life of the process; they are not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libOpenCL\n"; }
