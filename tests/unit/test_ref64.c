/* The ref64 backend (reference ops in double): every op agrees with the
 * float reference within float32 rounding on odd-sized random inputs; it
 * really computes and keeps double (results float32 gets wrong, exact to
 * ~1e-15); reads, writes and views of every dtype round-trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "unit/ops_compare.h"

#define F64_TOL 2e-6 /* a few float32 ulps of the largest output */
#define MAX_IN 4

static hart_backend *r64(void) { return hart_backend_ref64(); }

/* One op applied to output y and inputs in[0..]; p holds its parameters. */
typedef hart_status (*op_fn)(hart_tensor *y, const hart_tensor *const *in, const int *p);

/* Run `fn` on the float reference (host inputs) and on ref64 (inputs
 * uploaded), then compare: F32 outputs within tol (0: bitwise equal after
 * rounding to float), others byte for byte. y0 gives the output's dtype and
 * shape and its initial contents (slice_assign, aliasing ops read it). */
static double run_pair(const char *op, op_fn fn, const int *p, const hart_tensor *y0, int n,
                       const hart_tensor *ins, double tol) {
    hart_tensor yr, y64, in64[MAX_IN];
    const hart_tensor *pr[MAX_IN], *p64[MAX_IN];
    CHECK_OK(hart_tensor_to(NULL, y0, &yr));
    CHECK_OK(hart_tensor_to(r64(), y0, &y64));
    for (int i = 0; i < n; i++) {
        CHECK_OK(hart_tensor_to(r64(), &ins[i], &in64[i]));
        pr[i] = &ins[i];
        p64[i] = &in64[i];
    }
    yr.be = hart_backend_ref();
    CHECK_OK(fn(&yr, pr, p));
    CHECK_OK(fn(&y64, p64, p));
    yr.be = NULL;
    size_t nb = hart_tensor_nbytes(&yr);
    void *got = malloc(nb + 1);
    CHECK_OK(hart_tensor_read(&y64, got, nb));
    double e = 0;
    if (yr.dtype == HART_F32 && tol > 0) e = rel_err(got, yr.data, hart_tensor_numel(&yr));
    else e = memcmp(got, yr.data, nb) ? INFINITY : 0.0;
    record(op, e);
    if (!(e <= tol)) printf("  FAIL %s (case %d): rel err %.3g\n", op, p ? p[0] : -1, e);
    free(got);
    hart_tensor_free(&yr);
    hart_tensor_free(&y64);
    for (int i = 0; i < n; i++) hart_tensor_free(&in64[i]);
    return e;
}

#define IN(i) (in[i])
static hart_status f_linear(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_linear(y, IN(0), IN(1), p[1] ? IN(2) : NULL);
}
static hart_status f_matmul(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_matmul(y, IN(0), IN(1), p[1], p[2], 0.7f);
}
static hart_status f_conv(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_conv2d(y, IN(0), IN(1), IN(2), p[1], p[2], p[3]);
}
static hart_status f_gn(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_group_norm(y, IN(0), IN(1), IN(2), 3, 1e-5f);
}
static hart_status f_ln(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_layer_norm(y, IN(0), IN(1), IN(2), 1e-6f);
}
static hart_status f_rms(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_rms_norm(y, IN(0), IN(1), 1e-6f);
}
static hart_status f_softmax(hart_tensor *y, const hart_tensor *const *in, const int *p) { return hart_op_softmax(y, IN(0)); }
static hart_status f_act(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_act(y, IN(0), (hart_act)p[1]);
}
static hart_status f_binary(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_binary(y, p[2] ? y : IN(0), IN(1), (hart_binop)p[1]);
}
static hart_status f_scale(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_scale(y, IN(0), 0.3f, -1.25f);
}
static hart_status f_copy(hart_tensor *y, const hart_tensor *const *in, const int *p) { return hart_op_copy(y, IN(0)); }
static hart_status f_transpose(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    static const int perm[] = {2, 0, 1};
    return hart_op_transpose(y, IN(0), perm);
}
static hart_status f_concat(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_concat(y, IN(0), IN(1), p[1]);
}
static hart_status f_slice(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_slice(y, IN(0), 1, 2);
}
static hart_status f_slice_assign(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_slice_assign(y, IN(0), 1, 1);
}
static hart_status f_embedding(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_embedding(y, IN(0), IN(1));
}
static hart_status f_attention(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_attention(y, IN(0), IN(1), IN(2), p[1] ? IN(3) : NULL, 0.37f);
}
static hart_status f_rope(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_rope(y, IN(0), IN(1), IN(2), p[1]);
}
static hart_status f_interp(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_interpolate(y, IN(0), (hart_interp)p[1]);
}
static hart_status f_pool(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_pool2d(y, IN(0), 3, p[2], p[2] == 1, (hart_pool)p[1]);
}
static hart_status f_shuffle(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return p[1] ? hart_op_pixel_shuffle(y, IN(0), 2) : hart_op_pixel_unshuffle(y, IN(0), 2);
}
static hart_status f_reduce(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_reduce(y, IN(0), p[2], (hart_reduce)p[1]);
}
static hart_status f_argmin(hart_tensor *y, const hart_tensor *const *in, const int *p) {
    return hart_op_argmin_dist(y, IN(0), IN(1));
}

static void free_all(hart_tensor *t, int n) {
    for (int i = 0; i < n; i++) hart_tensor_free(&t[i]);
}

static void test_linalg(void **st) {
    unsigned seed = 100;
    static const hart_dtype wdt[] = {HART_F32, HART_F16, HART_BF16};
    for (int k = 0; k < 3; k++)
        for (int bias = 0; bias < 2; bias++) {
            hart_tensor in[3] = {rnd(HART_F32, 3, 3, 5, 37, 0, seed++), rnd(wdt[k], 2, 29, 37, 0, 0, seed++),
                                 rnd(wdt[k], 1, 29, 0, 0, 0, seed++)};
            hart_tensor y = mk(HART_F32, 3, 3, 5, 29, 0);
            int p[] = {k, bias};
            assert_true(run_pair("hart_op_linear", f_linear, p, &y, 3, in, F64_TOL) <= F64_TOL);
            hart_tensor_free(&y);
            free_all(in, 3);
        }
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bc = 0; bc < 2; bc++) {
                hart_tensor in[2] = {ta ? rnd(HART_F32, 3, 3, 13, 17, 0, seed++) : rnd(HART_F32, 3, 3, 17, 13, 0, seed++),
                                     bc ? (tb ? rnd(HART_F32, 2, 11, 13, 0, 0, seed++) : rnd(HART_F32, 2, 13, 11, 0, 0, seed++))
                                        : (tb ? rnd(HART_F32, 3, 3, 11, 13, 0, seed++) : rnd(HART_F32, 3, 3, 13, 11, 0, seed++))};
                hart_tensor y = mk(HART_F32, 3, 3, 17, 11, 0);
                int p[] = {ta * 4 + tb * 2 + bc, ta, tb};
                assert_true(run_pair("hart_op_matmul", f_matmul, p, &y, 2, in, F64_TOL) <= F64_TOL);
                hart_tensor_free(&y);
                free_all(in, 2);
            }
    static const int cv[][4] = {{0, 1, 1, 1}, {1, 2, 1, 2}, {2, 1, 0, 6}, {3, 2, 2, 3}}; /* case, stride, pad, groups */
    for (int c = 0; c < 4; c++) {
        int s = cv[c][1], pad = cv[c][2], g = cv[c][3], kk = c == 2 ? 1 : 3;
        int64_t Ho = (9 + 2 * pad - kk) / s + 1, Wo = (11 + 2 * pad - kk) / s + 1;
        hart_tensor in[3] = {rnd(HART_F32, 4, 2, 6, 9, 11, seed++), rnd(c == 3 ? HART_F16 : HART_F32, 4, 12, 6 / g, kk, kk, seed++),
                             rnd(HART_F32, 1, 12, 0, 0, 0, seed++)};
        hart_tensor y = mk(HART_F32, 4, 2, 12, Ho, Wo);
        assert_true(run_pair("hart_op_conv2d", f_conv, cv[c], &y, 3, in, F64_TOL) <= F64_TOL);
        hart_tensor_free(&y);
        free_all(in, 3);
    }
}

static void test_norm_act(void **st) {
    unsigned seed = 200;
    for (int big = 0; big < 2; big++) {
        hart_tensor in[3] = {rnd(HART_F32, 4, 2, 6, 5, 7, seed++), rnd(HART_F32, 1, 6, 0, 0, 0, seed++),
                             rnd(HART_BF16, 1, 6, 0, 0, 0, seed++)};
        if (big) fill_t(&in[0], seed++, 100.0f, 101.0f);
        hart_tensor y = mk(HART_F32, 4, 2, 6, 5, 7);
        int p[] = {big};
        assert_true(run_pair("hart_op_group_norm", f_gn, p, &y, 3, in, F64_TOL) <= F64_TOL);
        hart_tensor_free(&y);
        free_all(in, 3);
        hart_tensor l[3] = {rnd(HART_F32, 3, 3, 5, 67, 0, seed++), rnd(HART_F32, 1, 67, 0, 0, 0, seed++),
                            rnd(HART_F16, 1, 67, 0, 0, 0, seed++)};
        if (big) fill_t(&l[0], seed++, 50.0f, 51.0f);
        y = mk(HART_F32, 3, 3, 5, 67, 0);
        assert_true(run_pair("hart_op_layer_norm", f_ln, p, &y, 3, l, F64_TOL) <= F64_TOL);
        assert_true(run_pair("hart_op_rms_norm", f_rms, p, &y, 2, l, F64_TOL) <= F64_TOL);
        fill_t(&l[0], seed++, -30.0f, 30.0f);
        assert_true(run_pair("hart_op_softmax", f_softmax, p, &y, 1, l, F64_TOL) <= F64_TOL);
        for (int a = 0; a < HART_ACT_COUNT; a++) {
            int pa[] = {a, a};
            assert_true(run_pair("hart_op_act", f_act, pa, &y, 1, l, F64_TOL) <= F64_TOL);
        }
        assert_true(run_pair("hart_op_scale", f_scale, p, &y, 1, l, F64_TOL) <= F64_TOL);
        hart_tensor_free(&y);
        free_all(l, 3);
    }
}

static void test_binary_copy(void **st) {
    unsigned seed = 300;
    static const int64_t bs[][3] = {{3, 5, 7}, {1, 1, 1}, {5, 1, 0}, {1, 7, 0}};
    static const int bnd[] = {3, 1, 2, 2};
    for (int c = 0; c < 4; c++)
        for (int op = 0; op < HART_BIN_COUNT; op++)
            for (int alias = 0; alias < 2; alias++) {
                hart_tensor in[2] = {rnd(HART_F32, 3, 3, 5, 7, 0, seed++), rnd(HART_F32, bnd[c], bs[c][0], bs[c][1], bs[c][2], 0, seed++)};
                fill_t(&in[1], seed++, 0.5f, 1.5f); /* no division by ~0 */
                hart_tensor y = alias ? rnd(HART_F32, 3, 3, 5, 7, 0, seed++) : mk(HART_F32, 3, 3, 5, 7, 0);
                int p[] = {c * 8 + op * 2 + alias, op, alias};
                assert_true(run_pair("hart_op_binary", f_binary, p, &y, 2, in, F64_TOL) <= F64_TOL);
                hart_tensor_free(&y);
                free_all(in, 2);
            }
    static const hart_dtype dts[] = {HART_F32, HART_F16, HART_BF16};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            hart_tensor x = rnd(dts[a], 2, 7, 9, 0, 0, seed++);
            hart_tensor y = mk(dts[b], 2, 7, 9, 0, 0);
            int p[] = {a * 3 + b};
            assert_true(run_pair("hart_op_copy", f_copy, p, &y, 1, &x, 0) == 0);
            hart_tensor_free(&x);
            hart_tensor_free(&y);
        }
}

static void test_shape(void **st) {
    unsigned seed = 400;
    static const hart_dtype dts[] = {HART_F32, HART_F16, HART_I64, HART_I32, HART_U8};
    for (int d = 0; d < 5; d++) {
        hart_tensor x = mk(dts[d], 3, 3, 5, 7, 0), b = mk(dts[d], 3, 3, 4, 7, 0);
        unsigned char *px = (unsigned char *)x.data, *pb = (unsigned char *)b.data;
        if (dts[d] == HART_F32 || dts[d] == HART_F16) {
            fill_t(&x, seed++, -1, 1);
            fill_t(&b, seed++, -1, 1);
        } else {
            for (size_t i = 0; i < hart_tensor_nbytes(&x); i++) px[i] = (unsigned char)(i * 37 + d);
            for (size_t i = 0; i < hart_tensor_nbytes(&b); i++) pb[i] = (unsigned char)(i * 11 + d);
        }
        int p[] = {d, 1};
        hart_tensor y = mk(dts[d], 3, 7, 3, 5, 0);
        assert_true(run_pair("hart_op_transpose", f_transpose, p, &y, 1, &x, 0) == 0);
        hart_tensor_free(&y);
        hart_tensor in[2] = {x, b};
        y = mk(dts[d], 3, 3, 9, 7, 0);
        assert_true(run_pair("hart_op_concat", f_concat, p, &y, 2, in, 0) == 0);
        hart_tensor_free(&y);
        y = mk(dts[d], 3, 3, 2, 7, 0);
        assert_true(run_pair("hart_op_slice", f_slice, p, &y, 1, &x, 0) == 0);
        hart_tensor_free(&y);
        y = mk(dts[d], 3, 3, 5, 7, 0);
        memcpy(y.data, x.data, hart_tensor_nbytes(&x));
        hart_tensor small = mk(dts[d], 3, 3, 3, 7, 0);
        assert_true(run_pair("hart_op_slice_assign", f_slice_assign, p, &y, 1, &small, 0) == 0);
        hart_tensor_free(&small);
        hart_tensor_free(&y);
        hart_tensor_free(&x);
        hart_tensor_free(&b);
    }
    for (int i32 = 0; i32 < 2; i32++) {
        hart_tensor in[2] = {rnd(i32 ? HART_BF16 : HART_F32, 2, 11, 13, 0, 0, seed++), mk(i32 ? HART_I32 : HART_I64, 2, 3, 5, 0, 0)};
        for (int i = 0; i < 15; i++) {
            if (i32) ((int32_t *)in[1].data)[i] = (i * 7) % 11;
            else ((int64_t *)in[1].data)[i] = (i * 5) % 11;
        }
        hart_tensor y = mk(HART_F32, 3, 3, 5, 13, 0);
        int p[] = {i32};
        assert_true(run_pair("hart_op_embedding", f_embedding, p, &y, 2, in, 0) == 0);
        hart_tensor_free(&y);
        free_all(in, 2);
    }
    for (int r = 0; r < 2; r++) {
        hart_tensor x = rnd(HART_F32, 4, 2, 12, 5, 7, seed++);
        hart_tensor y = r ? mk(HART_F32, 4, 2, 3, 10, 14) : mk(HART_F32, 4, 2, 48, 3, 4);
        if (!r) { hart_tensor_free(&x); x = rnd(HART_F32, 4, 2, 12, 6, 8, seed++); }
        int p[] = {r, r};
        assert_true(run_pair("hart_op_pixel_shuffle", f_shuffle, p, &y, 1, &x, 0) == 0);
        hart_tensor_free(&x);
        hart_tensor_free(&y);
    }
}

static void test_attention_rope_resample(void **st) {
    unsigned seed = 500;
    for (int m = 0; m < 3; m++) {
        hart_tensor in[4] = {rnd(HART_F32, 4, 2, 6, 5, 9, seed++), rnd(HART_F32, 4, 2, 3, 7, 9, seed++),
                             rnd(HART_F32, 4, 2, 3, 7, 9, seed++), rnd(HART_F32, 4, 1, m == 2 ? 6 : 1, 5, 7, seed++)};
        if (m == 2) ((float *)in[3].data)[3] = -INFINITY;
        hart_tensor y = mk(HART_F32, 4, 2, 6, 5, 9);
        int p[] = {m, m > 0};
        assert_true(run_pair("hart_op_attention", f_attention, p, &y, 4, in, F64_TOL) <= F64_TOL);
        hart_tensor_free(&y);
        free_all(in, 4);
    }
    for (int il = 0; il < 2; il++) {
        hart_tensor in[3] = {rnd(HART_F32, 4, 2, 3, 5, 10, seed++), rnd(HART_F32, 3, 2, 5, 5, 0, seed++),
                             rnd(HART_F32, 3, 2, 5, 5, 0, seed++)};
        hart_tensor y = mk(HART_F32, 4, 2, 3, 5, 10);
        int p[] = {il, il};
        assert_true(run_pair("hart_op_rope", f_rope, p, &y, 3, in, F64_TOL) <= F64_TOL);
        hart_tensor_free(&y);
        free_all(in, 3);
    }
    for (int mode = 0; mode < HART_INTERP_COUNT; mode++)
        for (int up = 0; up < 2; up++) {
            hart_tensor x = rnd(HART_F32, 4, 2, 3, 5, 7, seed++);
            hart_tensor y = up ? mk(HART_F32, 4, 2, 3, 9, 11) : mk(HART_F32, 4, 2, 3, 3, 2);
            int p[] = {mode, mode};
            assert_true(run_pair("hart_op_interpolate", f_interp, p, &y, 1, &x, F64_TOL) <= F64_TOL);
            hart_tensor_free(&x);
            hart_tensor_free(&y);
        }
    for (int mode = 0; mode < HART_POOL_COUNT; mode++)
        for (int stride = 1; stride <= 2; stride++) { /* 3x3: stride 1 pad 1, stride 2 pad 0 */
            hart_tensor x = rnd(HART_F32, 4, 2, 3, 7, 8, seed++);
            hart_tensor y = stride == 1 ? mk(HART_F32, 4, 2, 3, 7, 8) : mk(HART_F32, 4, 2, 3, 3, 3);
            int p[] = {mode, mode, stride};
            assert_true(run_pair("hart_op_pool2d", f_pool, p, &y, 1, &x, F64_TOL) <= F64_TOL);
            hart_tensor_free(&x);
            hart_tensor_free(&y);
        }
    for (int r = 0; r < HART_RED_COUNT; r++)
        for (int dim = 0; dim < 3; dim++) {
            hart_tensor x = rnd(HART_F32, 3, 3, 5, 7, 0, seed++);
            hart_tensor y = mk(HART_F32, 3, dim == 0 ? 1 : 3, dim == 1 ? 1 : 5, dim == 2 ? 1 : 7, 0);
            int p[] = {r * 3 + dim, r, dim};
            assert_true(run_pair("hart_op_reduce", f_reduce, p, &y, 1, &x, F64_TOL) <= F64_TOL);
            hart_tensor_free(&x);
            hart_tensor_free(&y);
        }
    hart_tensor in[2] = {rnd(HART_F32, 2, 13, 5, 0, 0, seed++), rnd(HART_F16, 2, 37, 5, 0, 0, seed++)};
    hart_tensor idx = mk(HART_I64, 1, 13, 0, 0, 0);
    int p[] = {0};
    assert_true(run_pair("hart_op_argmin_dist", f_argmin, p, &idx, 2, in, 0) == 0);
    hart_tensor_free(&idx);
    free_all(in, 2);
}

/* Results that float32 cannot hold, and chains of ops whose intermediates
 * float32 would round: ref64 gets them to ~1e-15. */
static void test_really_double(void **st) {
    /* 1 + 2^-30 + 2^-40: exact in double, 1.0f in float */
    float xs[3] = {1, 1, 1}, ws[3] = {1, 0x1p-30f, 0x1p-40f};
    int64_t s13[2] = {1, 3}, s31[2] = {1, 1};
    hart_tensor xh = hart_tensor_wrap(xs, HART_F32, 2, s13), wh = hart_tensor_wrap(ws, HART_F32, 2, s13);
    hart_tensor x, w, y, yf;
    CHECK_OK(hart_tensor_to(r64(), &xh, &x));
    CHECK_OK(hart_tensor_to(r64(), &wh, &w));
    CHECK_OK(hart_tensor_new(r64(), HART_F32, 2, s31, &y));
    CHECK_OK(hart_op_linear(&y, &x, &w, NULL));
    double d;
    float f;
    CHECK_OK(hart_tensor_read_f64(&y, &d));
    CHECK_OK(hart_tensor_read_f32(&y, &f));
    assert_true(d == 1.0 + 0x1p-30 + 0x1p-40);
    assert_true(f == 1.0f);
    hart_tensor_free(&x); hart_tensor_free(&w); hart_tensor_free(&y);

    /* 24 rounds of x / 3 then x * 3 over many values: float32 drifts by
     * ~1e-7, double by ~1e-15 */
    enum { N = 1001, ROUNDS = 24 };
    float *v = malloc(sizeof(float) * N);
    fill_random(v, N, 7, 0.5f, 2.0f);
    float three = 3;
    int64_t sn[1] = {N}, s1[1] = {1};
    hart_tensor vh = hart_tensor_wrap(v, HART_F32, 1, sn), th = hart_tensor_wrap(&three, HART_F32, 1, s1), t;
    CHECK_OK(hart_tensor_to(r64(), &vh, &x));
    CHECK_OK(hart_tensor_to(r64(), &th, &t));
    CHECK_OK(hart_tensor_to(NULL, &vh, &yf));
    hart_tensor tf = hart_tensor_wrap(&three, HART_F32, 1, s1);
    yf.be = hart_backend_ref();
    for (int r = 0; r < ROUNDS; r++) {
        CHECK_OK(hart_op_binary(&x, &x, &t, HART_BIN_DIV));
        CHECK_OK(hart_op_binary(&x, &x, &t, HART_BIN_MUL));
        CHECK_OK(hart_op_binary(&yf, &yf, &tf, HART_BIN_DIV));
        CHECK_OK(hart_op_binary(&yf, &yf, &tf, HART_BIN_MUL));
    }
    yf.be = NULL;
    double *got = malloc(sizeof(double) * N), e64 = 0, e32 = 0;
    CHECK_OK(hart_tensor_read_f64(&x, got));
    for (int i = 0; i < N; i++) {
        e64 = fmax(e64, fabs(got[i] - v[i]) / 2.0);
        e32 = fmax(e32, fabs(((float *)yf.data)[i] - (double)v[i]) / 2.0);
    }
    printf("  (x/3)*3 x%d: rel err float ref %.3g, ref64 %.3g\n", ROUNDS, e32, e64);
    assert_true(e64 < 1e-14);
    assert_true(e32 > 1e-8);

    /* mean over N values of 1/3 (exact in double up to ~1e-16): reduce of a division */
    hart_tensor m;
    CHECK_OK(hart_tensor_new(r64(), HART_F32, 1, s1, &m));
    hart_tensor ones;
    CHECK_OK(hart_tensor_new(r64(), HART_F32, 1, sn, &ones));
    CHECK_OK(hart_op_scale(&ones, &ones, 0, 1));
    CHECK_OK(hart_op_binary(&ones, &ones, &t, HART_BIN_DIV));
    CHECK_OK(hart_op_reduce(&m, &ones, 0, HART_RED_SUM));
    CHECK_OK(hart_tensor_read_f64(&m, &d));
    printf("  sum of %d thirds: ref64 rel err %.3g\n", N, fabs(d - N / 3.0) / (N / 3.0));
    assert_true(fabs(d - N / 3.0) / (N / 3.0) < 1e-14);
    hart_tensor_free(&m); hart_tensor_free(&ones);
    hart_tensor_free(&x); hart_tensor_free(&t); hart_tensor_free(&yf);
    free(got);
    free(v);
}

/* Writes, reads, row views and reshapes of each dtype on ref64. */
static void test_storage(void **st) {
    static const hart_dtype dts[] = {HART_F32, HART_F16, HART_BF16, HART_I64, HART_I32, HART_U8, HART_I8};
    for (int k = 0; k < 7; k++) {
        hart_dtype dt = dts[k];
        hart_tensor h = mk(dt, 2, 5, 3, 0, 0), t, v, r;
        if (dt == HART_F32 || dt == HART_F16 || dt == HART_BF16) fill_t(&h, 900 + k, -3, 3);
        else for (size_t i = 0; i < hart_tensor_nbytes(&h); i++) ((unsigned char *)h.data)[i] = (unsigned char)(i * 29 + k);
        size_t nb = hart_tensor_nbytes(&h), rowb = nb / 5;
        unsigned char *back = malloc(nb);
        CHECK_OK(hart_tensor_to(r64(), &h, &t));
        CHECK_OK(hart_tensor_read(&t, back, nb));
        assert_memory_equal(back, h.data, nb);
        CHECK_OK(hart_tensor_rows(&t, 2, 2, &v)); /* read a view */
        CHECK_OK(hart_tensor_read(&v, back, 2 * rowb));
        assert_memory_equal(back, (char *)h.data + 2 * rowb, 2 * rowb);
        int64_t s16[1] = {6};
        CHECK_OK(hart_tensor_reshape(&v, 1, s16, &r));
        CHECK_OK(hart_tensor_read(&r, back, 2 * rowb));
        assert_memory_equal(back, (char *)h.data + 2 * rowb, 2 * rowb);
        CHECK_OK(hart_tensor_rows(&t, 4, 1, &v)); /* write through a view */
        CHECK_OK(hart_tensor_write(&v, h.data, rowb));
        CHECK_OK(hart_tensor_read(&t, back, nb));
        assert_memory_equal(back, h.data, 4 * rowb);
        assert_memory_equal(back + 4 * rowb, h.data, rowb);
        if (dt == HART_F32 || dt == HART_F16 || dt == HART_BF16) {
            double d[15];
            float f[15];
            CHECK_OK(hart_tensor_rows(&t, 1, 1, &v)); /* f64 write/read through a view keeps every bit */
            double third[3] = {1 / 3.0, -2 / 3.0, 1e-300};
            CHECK_OK(hart_tensor_write_f64(&v, third));
            CHECK_OK(hart_tensor_read_f64(&t, d));
            assert_true(d[3] == third[0] && d[4] == third[1] && d[5] == third[2]);
            hart_tensor c; /* ref64 -> ref64 copies keep doubles, to the host rounds */
            CHECK_OK(hart_tensor_to(r64(), &t, &c));
            CHECK_OK(hart_tensor_read_f64(&c, d));
            assert_true(d[3] == third[0]);
            hart_tensor_free(&c);
            CHECK_OK(hart_tensor_to(NULL, &t, &c));
            CHECK_OK(hart_tensor_read_f32(&c, f));
            assert_true(f[3] == (dt == HART_F32 ? (float)third[0] : dt == HART_F16 ? hart_f16_to_f32(hart_f32_to_f16((float)third[0])) : hart_bf16_to_f32(hart_f32_to_bf16((float)third[0]))));
            hart_tensor_free(&c);
            CHECK_OK(hart_tensor_read_f64(&h, d)); /* host: widened float */
            CHECK_OK(hart_tensor_read_f32(&h, f));
            for (int i = 0; i < 15; i++) assert_true(d[i] == (double)f[i]);
        } else {
            double d[15];
            assert_int_not_equal(hart_tensor_read_f64(&t, d), HART_OK);
            hart_clear_error();
        }
        free(back);
        hart_tensor_free(&t);
        hart_tensor_free(&h);
    }
    /* an op writing into a row view (dev_offset != 0) */
    hart_tensor a = rnd(HART_F32, 2, 4, 5, 0, 0, 77), t, v;
    float out[20];
    CHECK_OK(hart_tensor_to(r64(), &a, &t));
    CHECK_OK(hart_tensor_rows(&t, 1, 2, &v));
    CHECK_OK(hart_op_scale(&v, &v, 2, 1));
    CHECK_OK(hart_tensor_read_f32(&t, out));
    for (int i = 0; i < 20; i++) {
        float x = ((float *)a.data)[i];
        assert_true(out[i] == (i >= 5 && i < 15 ? (float)(2.0 * x + 1.0) : x));
    }
    hart_tensor q;
    int64_t s[1] = {8};
    assert_int_not_equal(hart_tensor_new(r64(), HART_Q4, 1, s, &q), HART_OK);
    hart_clear_error();
    hart_tensor_free(&t);
    hart_tensor_free(&a);
}

static void test_open(void **st) {
    hart_backend *be = NULL;
    char why[256];
    CHECK_OK(hart_backend_open("ref64", &be, why, sizeof why));
    assert_ptr_equal(be, hart_backend_ref64());
    printf("  %s\n", why);
    hart_backend_close(be);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open),          cmocka_unit_test(test_storage),
        cmocka_unit_test(test_really_double), cmocka_unit_test(test_linalg),
        cmocka_unit_test(test_norm_act),      cmocka_unit_test(test_binary_copy),
        cmocka_unit_test(test_shape),         cmocka_unit_test(test_attention_rope_resample),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    printf("  max rel err ref64 vs float reference (tolerance %.0e):\n", F64_TOL);
    for (int i = 0; i < 32 && g_stats[i].op; i++)
        printf("    %-18s %4d cases  max rel err %.3g\n", g_stats[i].op, g_stats[i].cases, g_stats[i].worst);
    return rc;
}
