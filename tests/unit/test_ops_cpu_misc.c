/* CPU backend vs reference backend: norms, softmax, activations, binary
 * (same shape, scalar, row and general broadcasting, aliasing), scale, copy,
 * transpose, concat/slice/slice_assign, embedding, rope, interpolate,
 * pixel (un)shuffle, reduce. Odd sizes; outputs NaN-poisoned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "unit/ops_compare.h"

static void test_norms(void **st) {
    unsigned seed = 1000;
    /* group norm: x [N, C, ...] */
    static const int64_t gshape[][4] = {{2, 6, 5, 7}, {1, 3, 1, 1}, {2, 67, 17, 0}, {1, 12, 17, 3}};
    static const int gnd[] = {4, 4, 3, 4}, ggroups[][3] = {{1, 3, 6}, {1, 3, 3}, {1, 67, 67}, {2, 4, 12}};
    for (int c = 0; c < 4; c++)
        for (int gi = 0; gi < 3; gi++)
            for (int aff = 0; aff < 3; aff++) {
                const int64_t *s = gshape[c];
                hart_tensor x = rnd(HART_F32, gnd[c], s[0], s[1], s[2], s[3], seed++);
                if (aff == 2) fill_t(&x, seed++, 100.0f, 101.0f); /* large mean */
                hart_tensor g = rnd(aff == 1 ? HART_F16 : HART_F32, 1, s[1], 0, 0, 0, seed++);
                hart_tensor b = rnd(HART_F32, 1, s[1], 0, 0, 0, seed++);
                outpair o = outs(HART_F32, gnd[c], s[0], s[1], s[2], s[3]);
                CHECK_OK(hart_op_group_norm(&o.cpu, &x, aff ? &g : NULL, aff ? &b : NULL, ggroups[c][gi], 1e-5f));
                CHECK_OK(hart_op_group_norm(&o.ref, &x, aff ? &g : NULL, aff ? &b : NULL, ggroups[c][gi], 1e-5f));
                assert_true(cmp_f32("hart_op_group_norm", "", &o) <= OPS_TOL);
                outs_free(&o);
                hart_tensor_free(&x); hart_tensor_free(&g); hart_tensor_free(&b);
            }
    static const int64_t lshape[][3] = {{3, 17, 0}, {67, 1, 0}, {2, 3, 67}, {1, 1, 1}};
    static const int lnd[] = {2, 2, 3, 3};
    for (int c = 0; c < 4; c++)
        for (int aff = 0; aff < 4; aff++) {
            const int64_t *s = lshape[c];
            int64_t D = s[lnd[c] - 1];
            hart_tensor x = rnd(HART_F32, lnd[c], s[0], s[1], s[2], 0, seed++);
            if (aff == 3) fill_t(&x, seed++, 50.0f, 51.0f);
            hart_tensor g = rnd(aff == 2 ? HART_BF16 : HART_F32, 1, D, 0, 0, 0, seed++);
            hart_tensor b = rnd(HART_F32, 1, D, 0, 0, 0, seed++);
            const hart_tensor *gp = aff ? &g : NULL, *bp = aff == 1 || aff == 3 ? &b : NULL;
            outpair o = outs(HART_F32, lnd[c], s[0], s[1], s[2], 0);
            CHECK_OK(hart_op_layer_norm(&o.cpu, &x, gp, bp, 1e-6f));
            CHECK_OK(hart_op_layer_norm(&o.ref, &x, gp, bp, 1e-6f));
            assert_true(cmp_f32("hart_op_layer_norm", "", &o) <= OPS_TOL);
            outs_free(&o);
            o = outs(HART_F32, lnd[c], s[0], s[1], s[2], 0);
            CHECK_OK(hart_op_rms_norm(&o.cpu, &x, gp, 1e-6f));
            CHECK_OK(hart_op_rms_norm(&o.ref, &x, gp, 1e-6f));
            assert_true(cmp_f32("hart_op_rms_norm", "", &o) <= OPS_TOL);
            outs_free(&o);
            hart_tensor_free(&x); hart_tensor_free(&g); hart_tensor_free(&b);
        }
}

static void test_softmax(void **st) {
    static const int64_t R[] = {1, 3, 17, 67}, D[] = {1, 3, 17, 67, 1031};
    unsigned seed = 2000;
    for (int r = 0; r < 4; r++)
        for (int d = 0; d < 5; d++)
            for (int kind = 0; kind < 3; kind++) {
                hart_tensor x = rnd(HART_F32, 2, R[r], D[d], 0, 0, seed++);
                float *p = x.data;
                if (kind == 1) fill_t(&x, seed++, -80.0f, 80.0f); /* wide range */
                if (kind == 2) {                                   /* -inf entries, a fully masked row */
                    for (int64_t i = 0; i < R[r] * D[d]; i += 2) p[i] = -INFINITY;
                    for (int64_t i = 0; i < D[d]; i++) p[i] = -INFINITY;
                }
                outpair o = outs(HART_F32, 2, R[r], D[d], 0, 0);
                CHECK_OK(hart_op_softmax(&o.cpu, &x));
                CHECK_OK(hart_op_softmax(&o.ref, &x));
                assert_true(cmp_f32("hart_op_softmax", "", &o) <= OPS_TOL);
                if (kind == 2)
                    for (int64_t i = 0; i < D[d]; i++) assert_true(((float *)o.cpu.data)[i] == 0.0f);
                outs_free(&o);
                hart_tensor_free(&x);
            }
}

static void test_act_scale(void **st) {
    for (int a = 0; a < HART_ACT_COUNT; a++)
        for (int alias = 0; alias < 2; alias++) {
            hart_tensor x = mk(HART_F32, 3, 3, 67, 67, 0), x2 = mk(HART_F32, 3, 3, 67, 67, 0); /* 13467: parallel + tail */
            fill_t(&x, 3000 + a, -8.0f, 8.0f);
            memcpy(x2.data, x.data, hart_tensor_nbytes(&x));
            outpair o = outs(HART_F32, 3, 3, 67, 67, 0);
            if (alias) { /* y == x */
                hart_tensor xc = x, xr = x2;
                xr.be = hart_backend_ref();
                CHECK_OK(hart_op_act(&xc, &xc, (hart_act)a));
                CHECK_OK(hart_op_act(&xr, &xr, (hart_act)a));
                memcpy(o.cpu.data, x.data, hart_tensor_nbytes(&x));
                memcpy(o.ref.data, x2.data, hart_tensor_nbytes(&x));
            } else {
                CHECK_OK(hart_op_act(&o.cpu, &x, (hart_act)a));
                CHECK_OK(hart_op_act(&o.ref, &x, (hart_act)a));
            }
            assert_true(cmp_f32("hart_op_act", "", &o) <= OPS_TOL);
            outs_free(&o);
            hart_tensor_free(&x); hart_tensor_free(&x2);
        }
    hart_tensor x = rnd(HART_F32, 2, 67, 17, 0, 0, 3100);
    outpair o = outs(HART_F32, 2, 67, 17, 0, 0);
    CHECK_OK(hart_op_scale(&o.cpu, &x, 0.3f, -1.25f));
    CHECK_OK(hart_op_scale(&o.ref, &x, 0.3f, -1.25f));
    assert_true(cmp_f32("hart_op_scale", "", &o) <= OPS_TOL);
    outs_free(&o);
    hart_tensor_free(&x);
}

static void test_binary(void **st) {
    typedef struct { int ynd, and_, bnd; int64_t y[4], a[4], b[4]; } bc;
    static const bc cs[] = {
        {2, 2, 2, {17, 67}, {17, 67}, {17, 67}},             /* same shape */
        {2, 2, 1, {17, 67}, {17, 67}, {1}},                  /* scalar */
        {3, 3, 1, {3, 17, 67}, {3, 17, 67}, {67}},           /* row */
        {3, 3, 2, {3, 17, 67}, {3, 17, 67}, {1, 67}},        /* row with leading 1 */
        {3, 2, 3, {3, 17, 67}, {17, 67}, {3, 17, 67}},       /* a broadcast */
        {2, 2, 2, {17, 67}, {17, 1}, {1, 67}},               /* outer product */
        {4, 4, 3, {2, 3, 5, 7}, {2, 3, 5, 7}, {3, 1, 7}},    /* general */
        {4, 4, 4, {2, 3, 5, 7}, {2, 1, 5, 1}, {1, 3, 1, 7}}, /* general, both broadcast */
        {4, 4, 4, {2, 3, 5, 7}, {2, 3, 5, 7}, {2, 3, 5, 1}}, /* column broadcast */
        {1, 1, 1, {1}, {1}, {1}},
    };
    unsigned seed = 4000;
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++)
        for (int op = 0; op < HART_BIN_COUNT; op++)
            for (int alias = 0; alias < 2; alias++) {
                const bc *p = &cs[c];
                int same_a = p->and_ == p->ynd;
                for (int d = 0; d < p->ynd && same_a; d++) same_a = p->a[d] == p->y[d];
                if (alias && !same_a) continue;
                hart_tensor a = rnd(HART_F32, p->and_, p->a[0], p->a[1], p->a[2], p->a[3], seed++);
                hart_tensor b = mk(HART_F32, p->bnd, p->b[0], p->b[1], p->b[2], p->b[3]);
                fill_t(&b, seed++, 0.5f, 2.0f); /* away from 0 for division */
                outpair o = outs(HART_F32, p->ynd, p->y[0], p->y[1], p->y[2], p->y[3]);
                if (alias) { /* y aliases a */
                    memcpy(o.cpu.data, a.data, hart_tensor_nbytes(&a));
                    memcpy(o.ref.data, a.data, hart_tensor_nbytes(&a));
                    CHECK_OK(hart_op_binary(&o.cpu, &o.cpu, &b, (hart_binop)op));
                    CHECK_OK(hart_op_binary(&o.ref, &o.ref, &b, (hart_binop)op));
                } else {
                    CHECK_OK(hart_op_binary(&o.cpu, &a, &b, (hart_binop)op));
                    CHECK_OK(hart_op_binary(&o.ref, &a, &b, (hart_binop)op));
                }
                char what[32];
                snprintf(what, sizeof what, "case %zu op %d", c, op);
                assert_true(cmp_f32("hart_op_binary", what, &o) <= OPS_TOL);
                outs_free(&o);
                /* swapped operands exercise the "a broadcast" paths */
                if (!alias) {
                    hart_tensor bb = rnd(HART_F32, p->bnd, p->b[0], p->b[1], p->b[2], p->b[3], seed++);
                    hart_tensor aa = mk(HART_F32, p->and_, p->a[0], p->a[1], p->a[2], p->a[3]);
                    fill_t(&aa, seed++, 0.5f, 2.0f);
                    o = outs(HART_F32, p->ynd, p->y[0], p->y[1], p->y[2], p->y[3]);
                    CHECK_OK(hart_op_binary(&o.cpu, &bb, &aa, (hart_binop)op));
                    CHECK_OK(hart_op_binary(&o.ref, &bb, &aa, (hart_binop)op));
                    assert_true(cmp_f32("hart_op_binary", what, &o) <= OPS_TOL);
                    outs_free(&o);
                    hart_tensor_free(&aa); hart_tensor_free(&bb);
                }
                hart_tensor_free(&a); hart_tensor_free(&b);
            }
}

static void fill_bytes(hart_tensor *t, unsigned seed) {
    unsigned char *p = t->data;
    for (size_t i = 0; i < hart_tensor_nbytes(t); i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (unsigned char)(seed >> 16);
    }
}

static void test_transpose(void **st) {
    typedef struct { int nd; int64_t s[4]; int perm[4]; } tc;
    static const tc cs[] = {
        {2, {17, 67}, {1, 0}},          {3, {3, 17, 5}, {0, 2, 1}},       {3, {3, 17, 5}, {2, 0, 1}},
        {4, {2, 3, 17, 5}, {0, 2, 1, 3}}, {4, {2, 3, 17, 5}, {0, 2, 3, 1}}, {4, {2, 3, 17, 5}, {3, 2, 1, 0}},
        {4, {1, 1, 1, 1}, {3, 2, 1, 0}},  {1, {67}, {0}},
    };
    static const hart_dtype dts[] = {HART_F32, HART_F16, HART_I64, HART_U8};
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++)
        for (int di = 0; di < 4; di++) {
            const tc *p = &cs[c];
            int64_t ys[4] = {1, 1, 1, 1};
            for (int d = 0; d < p->nd; d++) ys[d] = p->s[p->perm[d]];
            hart_tensor x = mk(dts[di], p->nd, p->s[0], p->s[1], p->s[2], p->s[3]);
            fill_bytes(&x, (unsigned)(c * 10 + di));
            outpair o = outs(dts[di], p->nd, ys[0], ys[1], ys[2], ys[3]);
            CHECK_OK(hart_op_transpose(&o.cpu, &x, p->perm));
            CHECK_OK(hart_op_transpose(&o.ref, &x, p->perm));
            assert_true(cmp_bytes("hart_op_transpose", hart_dtype_name(dts[di]), &o));
            outs_free(&o);
            hart_tensor_free(&x);
        }
}

/* Ops without a dedicated CPU kernel still go through the CPU backend's table. */
static void test_copy_concat_slice_embedding(void **st) {
    static const hart_dtype fl[] = {HART_F32, HART_F16, HART_BF16};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            hart_tensor x = rnd(fl[i], 2, 17, 3, 0, 0, 5000 + i * 3 + j);
            outpair o = outs(fl[j], 3, 3, 17, 1, 0);
            CHECK_OK(hart_op_copy(&o.cpu, &x));
            CHECK_OK(hart_op_copy(&o.ref, &x));
            assert_true(cmp_bytes("hart_op_copy", "", &o));
            outs_free(&o);
            hart_tensor_free(&x);
        }
    for (int dim = 0; dim < 3; dim++) {
        int64_t sa[3] = {3, 17, 5}, sb[3] = {3, 17, 5}, sy[3] = {3, 17, 5};
        sb[dim] = 2;
        sy[dim] = sa[dim] + 2;
        hart_tensor a = rnd(HART_F32, 3, sa[0], sa[1], sa[2], 0, 5100 + dim), b = rnd(HART_F32, 3, sb[0], sb[1], sb[2], 0, 5200 + dim);
        outpair o = outs(HART_F32, 3, sy[0], sy[1], sy[2], 0);
        CHECK_OK(hart_op_concat(&o.cpu, &a, &b, dim));
        CHECK_OK(hart_op_concat(&o.ref, &a, &b, dim));
        assert_true(cmp_bytes("hart_op_concat", "", &o));
        outpair s = outs(HART_F32, 3, sb[0], sb[1], sb[2], 0);
        CHECK_OK(hart_op_slice(&s.cpu, &o.cpu, dim, sa[dim]));
        CHECK_OK(hart_op_slice(&s.ref, &o.ref, dim, sa[dim]));
        assert_true(cmp_bytes("hart_op_slice", "", &s));
        assert_memory_equal(s.cpu.data, b.data, hart_tensor_nbytes(&b));
        CHECK_OK(hart_op_slice_assign(&o.cpu, &b, dim, 1));
        CHECK_OK(hart_op_slice_assign(&o.ref, &b, dim, 1));
        assert_true(cmp_bytes("hart_op_slice_assign", "", &o));
        outs_free(&s);
        outs_free(&o);
        hart_tensor_free(&a); hart_tensor_free(&b);
    }
    for (int i = 0; i < 3; i++)
        for (int it = 0; it < 2; it++) {
            hart_tensor tab = rnd(fl[i], 2, 67, 17, 0, 0, 5300 + i);
            hart_tensor ids = mk(it ? HART_I32 : HART_I64, 2, 3, 5, 0, 0);
            for (int k = 0; k < 15; k++) {
                if (it) ((int32_t *)ids.data)[k] = (k * 13) % 67;
                else ((int64_t *)ids.data)[k] = (k * 29) % 67;
            }
            outpair o = outs(HART_F32, 3, 3, 5, 17, 0);
            CHECK_OK(hart_op_embedding(&o.cpu, &tab, &ids));
            CHECK_OK(hart_op_embedding(&o.ref, &tab, &ids));
            assert_true(cmp_bytes("hart_op_embedding", "", &o));
            outs_free(&o);
            hart_tensor_free(&tab); hart_tensor_free(&ids);
        }
}

static void test_rope(void **st) {
    static const int64_t sh[][4] = {{1, 1, 1, 2}, {2, 3, 17, 6}, {2, 4, 67, 64}};
    unsigned seed = 6000;
    for (int c = 0; c < 3; c++)
        for (int il = 0; il < 2; il++)
            for (int bc = 0; bc < 2; bc++)
                for (int alias = 0; alias < 2; alias++) {
                    const int64_t *s = sh[c];
                    hart_tensor x = rnd(HART_F32, 4, s[0], s[1], s[2], s[3], seed++);
                    hart_tensor co = rnd(HART_F32, 3, bc ? s[0] : 1, s[2], s[3] / 2, 0, seed++);
                    hart_tensor si = rnd(HART_F32, 3, bc ? s[0] : 1, s[2], s[3] / 2, 0, seed++);
                    outpair o = outs(HART_F32, 4, s[0], s[1], s[2], s[3]);
                    if (alias) {
                        memcpy(o.cpu.data, x.data, hart_tensor_nbytes(&x));
                        memcpy(o.ref.data, x.data, hart_tensor_nbytes(&x));
                        CHECK_OK(hart_op_rope(&o.cpu, &o.cpu, &co, &si, il));
                        CHECK_OK(hart_op_rope(&o.ref, &o.ref, &co, &si, il));
                    } else {
                        CHECK_OK(hart_op_rope(&o.cpu, &x, &co, &si, il));
                        CHECK_OK(hart_op_rope(&o.ref, &x, &co, &si, il));
                    }
                    assert_true(cmp_f32("hart_op_rope", "", &o) <= OPS_TOL);
                    outs_free(&o);
                    hart_tensor_free(&x); hart_tensor_free(&co); hart_tensor_free(&si);
                }
}

static void test_interpolate(void **st) {
    static const int64_t sz[][4] = {{5, 7, 17, 3}, {17, 17, 3, 5}, {1, 1, 3, 3}, {4, 4, 8, 8}, {8, 8, 4, 4},
                                    {3, 5, 3, 5},  {67, 3, 17, 1}, {6, 9, 4, 6}};
    unsigned seed = 7000;
    for (size_t c = 0; c < sizeof sz / sizeof sz[0]; c++)
        for (int m = 0; m < HART_INTERP_COUNT; m++) {
            const int64_t *s = sz[c];
            hart_tensor x = rnd(HART_F32, 4, 2, 3, s[0], s[1], seed++);
            outpair o = outs(HART_F32, 4, 2, 3, s[2], s[3]);
            CHECK_OK(hart_op_interpolate(&o.cpu, &x, (hart_interp)m));
            CHECK_OK(hart_op_interpolate(&o.ref, &x, (hart_interp)m));
            char what[32];
            snprintf(what, sizeof what, "case %zu mode %d", c, m);
            assert_true(cmp_f32("hart_op_interpolate", what, &o) <= OPS_TOL);
            outs_free(&o);
            hart_tensor_free(&x);
        }
}

static void test_pool2d(void **st) {
    static const int sz[][5] = {{35, 35, 3, 1, 1}, {17, 17, 3, 1, 1}, {147, 147, 3, 2, 0}, {8, 8, 3, 1, 1},
                                {5, 7, 3, 2, 0},   {3, 3, 3, 1, 1},   {9, 6, 2, 2, 1}};
    unsigned seed = 7500;
    for (size_t c = 0; c < sizeof sz / sizeof sz[0]; c++)
        for (int m = 0; m < HART_POOL_COUNT; m++) {
            int k = sz[c][2], s = sz[c][3], p = sz[c][4];
            hart_tensor x = rnd(HART_F32, 4, 2, 3, sz[c][0], sz[c][1], seed++);
            outpair o = outs(HART_F32, 4, 2, 3, (sz[c][0] + 2 * p - k) / s + 1, (sz[c][1] + 2 * p - k) / s + 1);
            CHECK_OK(hart_op_pool2d(&o.cpu, &x, k, s, p, (hart_pool)m));
            CHECK_OK(hart_op_pool2d(&o.ref, &x, k, s, p, (hart_pool)m));
            char what[32];
            snprintf(what, sizeof what, "case %zu mode %d", c, m);
            assert_true(cmp_f32("hart_op_pool2d", what, &o) <= OPS_TOL);
            outs_free(&o);
            hart_tensor_free(&x);
        }
}

static void test_shuffle_reduce(void **st) {
    for (int r = 1; r <= 3; r++) {
        hart_tensor x = rnd(HART_F32, 4, 2, 3 * r * r, 5, 7, 8000 + r);
        outpair o = outs(HART_F32, 4, 2, 3, 5 * r, 7 * r);
        CHECK_OK(hart_op_pixel_shuffle(&o.cpu, &x, r));
        CHECK_OK(hart_op_pixel_shuffle(&o.ref, &x, r));
        assert_true(cmp_bytes("hart_op_pixel_shuffle", "", &o));
        outpair u = outs(HART_F32, 4, 2, 3 * r * r, 5, 7);
        CHECK_OK(hart_op_pixel_unshuffle(&u.cpu, &o.cpu, r));
        CHECK_OK(hart_op_pixel_unshuffle(&u.ref, &o.ref, r));
        assert_true(cmp_bytes("hart_op_pixel_unshuffle", "", &u));
        assert_memory_equal(u.cpu.data, x.data, hart_tensor_nbytes(&x)); /* round trip */
        outs_free(&o); outs_free(&u);
        hart_tensor_free(&x);
    }
    int64_t s[4] = {3, 17, 5, 300};
    for (int dim = 0; dim < 4; dim++)
        for (int r = 0; r < HART_RED_COUNT; r++) {
            hart_tensor x = rnd(HART_F32, 4, s[0], s[1], s[2], s[3], 8100 + dim * 4 + r);
            int64_t ys[4] = {s[0], s[1], s[2], s[3]};
            ys[dim] = 1;
            outpair o = outs(HART_F32, 4, ys[0], ys[1], ys[2], ys[3]);
            CHECK_OK(hart_op_reduce(&o.cpu, &x, dim, (hart_reduce)r));
            CHECK_OK(hart_op_reduce(&o.ref, &x, dim, (hart_reduce)r));
            assert_true(cmp_f32("hart_op_reduce", "", &o) <= OPS_TOL);
            outs_free(&o);
            hart_tensor_free(&x);
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_norms),     cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_act_scale), cmocka_unit_test(test_binary),
        cmocka_unit_test(test_transpose), cmocka_unit_test(test_copy_concat_slice_embedding),
        cmocka_unit_test(test_rope),      cmocka_unit_test(test_interpolate), cmocka_unit_test(test_pool2d),
        cmocka_unit_test(test_shuffle_reduce),
    };
    return cmocka_run_group_tests(tests, NULL, print_stats);
}
