/* CPU backend vs reference backend: linear, matmul, conv2d, attention,
 * argmin_dist on odd sizes (1, 3, 17, 67: never multiples of any tile),
 * f16/bf16 weights, broadcasting, masks (incl. fully masked rows) and GQA.
 * Outputs are NaN-poisoned before every run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "backend/cpu/cpu_internal.h"
#include "unit/ops_compare.h"

static const hart_dtype WDT[3] = {HART_F32, HART_F16, HART_BF16};

static void test_linear(void **st) {
    static const int64_t Ms[] = {1, 3, 17, 67}, Ks[] = {1, 17, 67}, Ns[] = {1, 3, 67};
    unsigned seed = 1;
    for (int wd = 0; wd < 3; wd++)
        for (int mi = 0; mi < 4; mi++)
            for (int ki = 0; ki < 3; ki++)
                for (int ni = 0; ni < 3; ni++)
                    for (int bias = 0; bias < 2; bias++) {
                        int64_t M = Ms[mi], K = Ks[ki], N = Ns[ni];
                        int three_d = (mi + ni) % 2; /* x [2, M, K] half the time */
                        hart_tensor x = three_d ? rnd(HART_F32, 3, 2, M, K, 0, seed++) : rnd(HART_F32, 2, M, K, 0, 0, seed++);
                        hart_tensor w = rnd(WDT[wd], 2, N, K, 0, 0, seed++);
                        hart_tensor b = rnd(WDT[wd], 1, N, 0, 0, 0, seed++);
                        outpair o = three_d ? outs(HART_F32, 3, 2, M, N, 0) : outs(HART_F32, 2, M, N, 0, 0);
                        CHECK_OK(hart_op_linear(&o.cpu, &x, &w, bias ? &b : NULL));
                        CHECK_OK(hart_op_linear(&o.ref, &x, &w, bias ? &b : NULL));
                        assert_true(cmp_f32("hart_op_linear", hart_dtype_name(WDT[wd]), &o) <= OPS_TOL);
                        outs_free(&o);
                        hart_tensor_free(&x); hart_tensor_free(&w); hart_tensor_free(&b);
                    }
}

/* Degenerate sizes: K = 0 gives the bias (as torch does), N = 0 / M = 0 write nothing. */
static void test_linear_empty(void **st) {
    hart_tensor x = mk(HART_F32, 2, 3, 0, 0, 0), w = mk(HART_F32, 2, 5, 0, 0, 0), b = rnd(HART_F32, 1, 5, 0, 0, 0, 11);
    outpair o = outs(HART_F32, 2, 3, 5, 0, 0);
    CHECK_OK(hart_op_linear(&o.cpu, &x, &w, &b));
    CHECK_OK(hart_op_linear(&o.ref, &x, &w, &b));
    for (int i = 0; i < 15; i++) assert_true(((float *)o.cpu.data)[i] == ((float *)b.data)[i % 5]);
    assert_true(cmp_f32("hart_op_linear", "K=0", &o) == 0.0);
    outs_free(&o);
    hart_tensor x2 = rnd(HART_F32, 2, 3, 4, 0, 0, 12), w0 = mk(HART_F32, 2, 0, 4, 0, 0), y0 = mk(HART_F32, 2, 3, 0, 0, 0);
    CHECK_OK(hart_op_linear(&y0, &x2, &w0, NULL)); /* N = 0 */
    hart_tensor x0 = mk(HART_F32, 2, 0, 4, 0, 0), w4 = rnd(HART_F32, 2, 5, 4, 0, 0, 13), ye = mk(HART_F32, 2, 0, 5, 0, 0);
    CHECK_OK(hart_op_linear(&ye, &x0, &w4, NULL)); /* M = 0 */
    hart_tensor s = rnd(HART_F32, 0, 0, 0, 0, 0, 14), sy = mk(HART_F32, 0, 0, 0, 0, 0), sr = mk(HART_F32, 0, 0, 0, 0, 0);
    sr.be = hart_backend_ref();
    CHECK_OK(hart_op_transpose(&sy, &s, NULL)); /* 0-D tensors */
    CHECK_OK(hart_op_transpose(&sr, &s, NULL));
    assert_true(*(float *)sy.data == *(float *)s.data && *(float *)sr.data == *(float *)s.data);
    sr.be = NULL;
    hart_tensor *all[] = {&x, &w, &b, &x2, &w0, &y0, &x0, &w4, &ye, &s, &sy, &sr};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) hart_tensor_free(all[i]);
}

/* The converted-weight cache must notice new contents at the same address. */
static void test_linear_weight_cache(void **st) {
    for (int wd = 1; wd < 3; wd++) {
        hart_tensor x = rnd(HART_F32, 2, 5, 67, 0, 0, 7), w = rnd(WDT[wd], 2, 17, 67, 0, 0, 8);
        for (int round = 0; round < 3; round++) {
            if (round == 2) fill_t(&w, 99, -2.0f, 2.0f); /* same pointer, new data */
            outpair o = outs(HART_F32, 2, 5, 17, 0, 0);
            CHECK_OK(hart_op_linear(&o.cpu, &x, &w, NULL));
            CHECK_OK(hart_op_linear(&o.ref, &x, &w, NULL));
            assert_true(cmp_f32("hart_op_linear", "cache", &o) <= OPS_TOL);
            outs_free(&o);
        }
        hart_tensor_free(&x); hart_tensor_free(&w);
    }
}

static void test_matmul(void **st) {
    static const int64_t S[] = {1, 3, 17, 67};
    unsigned seed = 100;
    for (int bd = 0; bd < 4; bd++) /* batch dims: none, [3], [2,3], [5] with b broadcast */
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int si = 0; si < 4; si++) {
                    int64_t M = S[si], K = S[(si + 1 + ta) % 4], N = S[(si + 2 + tb) % 4];
                    int nd = bd == 0 ? 2 : bd == 2 ? 4 : 3;
                    int64_t lead[2] = {bd == 2 ? 2 : bd == 3 ? 5 : 3, 3};
                    int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
                    hart_tensor a, b;
                    outpair o;
                    if (nd == 2) {
                        a = rnd(HART_F32, 2, ar, ac, 0, 0, seed++);
                        b = rnd(HART_F32, 2, br, bc, 0, 0, seed++);
                        o = outs(HART_F32, 2, M, N, 0, 0);
                    } else if (nd == 3) {
                        a = rnd(HART_F32, 3, lead[0], ar, ac, 0, seed++);
                        b = bd == 3 ? rnd(HART_F32, 2, br, bc, 0, 0, seed++) : rnd(HART_F32, 3, lead[0], br, bc, 0, seed++);
                        o = outs(HART_F32, 3, lead[0], M, N, 0);
                    } else {
                        a = rnd(HART_F32, 4, lead[0], lead[1], ar, ac, seed++);
                        b = rnd(HART_F32, 4, lead[0], lead[1], br, bc, seed++);
                        o = outs(HART_F32, 4, lead[0], lead[1], M, N);
                    }
                    float alpha = si % 2 ? 0.37f : 1.0f;
                    CHECK_OK(hart_op_matmul(&o.cpu, &a, &b, ta, tb, alpha));
                    CHECK_OK(hart_op_matmul(&o.ref, &a, &b, ta, tb, alpha));
                    assert_true(cmp_f32("hart_op_matmul", "", &o) <= OPS_TOL);
                    outs_free(&o);
                    hart_tensor_free(&a); hart_tensor_free(&b);
                }
}

/* Products big enough for hart_cpu_sgemm to split them over threads, by columns
 * (N >= M) and by rows (tall), with every transpose combination. */
static void test_matmul_split(void **st) {
    static const int64_t mnk[][3] = {{200, 40, 130}, {40, 200, 130}, {300, 67, 67}};
    unsigned seed = 200;
    for (int c = 0; c < 3; c++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int64_t M = mnk[c][0], N = mnk[c][1], K = mnk[c][2];
                hart_tensor a = ta ? rnd(HART_F32, 2, K, M, 0, 0, seed++) : rnd(HART_F32, 2, M, K, 0, 0, seed++);
                hart_tensor b = tb ? rnd(HART_F32, 2, N, K, 0, 0, seed++) : rnd(HART_F32, 2, K, N, 0, 0, seed++);
                outpair o = outs(HART_F32, 2, M, N, 0, 0);
                CHECK_OK(hart_op_matmul(&o.cpu, &a, &b, ta, tb, 0.5f));
                CHECK_OK(hart_op_matmul(&o.ref, &a, &b, ta, tb, 0.5f));
                assert_true(cmp_f32("hart_op_matmul", "split", &o) <= OPS_TOL);
                outs_free(&o);
                if (!ta && !tb) { /* the same product as a linear layer: w = bᵀ */
                    hart_tensor w = rnd(HART_BF16, 2, N, K, 0, 0, seed++);
                    o = outs(HART_F32, 2, M, N, 0, 0);
                    CHECK_OK(hart_op_linear(&o.cpu, &a, &w, NULL));
                    CHECK_OK(hart_op_linear(&o.ref, &a, &w, NULL));
                    assert_true(cmp_f32("hart_op_linear", "split", &o) <= OPS_TOL);
                    outs_free(&o);
                    hart_tensor_free(&w);
                }
                hart_tensor_free(&a); hart_tensor_free(&b);
            }
}

typedef struct {
    int64_t N, Ci, H, W, Co, k;
    int stride, pad, groups;
} conv_case;

static void test_conv2d(void **st) {
    static const conv_case cs[] = {
        {2, 3, 17, 17, 17, 1, 1, 0, 1},  /* 1x1 as GEMM */
        {1, 17, 5, 7, 3, 1, 2, 0, 1},    /* 1x1 stride 2: im2col path */
        {2, 3, 17, 13, 5, 3, 1, 1, 1},   /* 3x3 same */
        {1, 5, 17, 17, 3, 3, 2, 1, 1},   /* 3x3 stride 2 */
        {1, 3, 7, 9, 2, 5, 1, 2, 1},     /* 5x5 */
        {2, 6, 9, 11, 4, 3, 1, 1, 2},    /* 2 groups */
        {1, 6, 9, 11, 6, 1, 1, 0, 3},    /* grouped 1x1 */
        {2, 17, 13, 11, 17, 3, 1, 1, 17}, /* depthwise */
        {1, 3, 8, 8, 6, 3, 2, 1, 3},     /* one input channel per group, 2 outputs each */
        {1, 1, 1, 1, 3, 1, 1, 0, 1},     /* 1x1 image */
        {1, 2, 3, 3, 1, 3, 1, 0, 1},     /* output 1x1 */
        {1, 64, 130, 67, 3, 3, 1, 1, 1}, /* several im2col bands */
    };
    unsigned seed = 300;
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++)
        for (int wd = 0; wd < 3; wd++)
            for (int bias = 0; bias < 2; bias++) {
                if (c == 11 && (wd || !bias)) continue; /* the big case once */
                const conv_case *p = &cs[c];
                int64_t Ho = (p->H + 2 * p->pad - p->k) / p->stride + 1, Wo = (p->W + 2 * p->pad - p->k) / p->stride + 1;
                hart_tensor x = rnd(HART_F32, 4, p->N, p->Ci, p->H, p->W, seed++);
                hart_tensor w = rnd(WDT[wd], 4, p->Co, p->Ci / p->groups, p->k, p->k, seed++);
                hart_tensor b = rnd(WDT[wd], 1, p->Co, 0, 0, 0, seed++);
                outpair o = outs(HART_F32, 4, p->N, p->Co, Ho, Wo);
                CHECK_OK(hart_op_conv2d(&o.cpu, &x, &w, bias ? &b : NULL, p->stride, p->pad, p->groups));
                CHECK_OK(hart_op_conv2d(&o.ref, &x, &w, bias ? &b : NULL, p->stride, p->pad, p->groups));
                char what[64];
                snprintf(what, sizeof what, "case %zu %s", c, hart_dtype_name(WDT[wd]));
                assert_true(cmp_f32("hart_op_conv2d", what, &o) <= OPS_TOL);
                outs_free(&o);
                hart_tensor_free(&x); hart_tensor_free(&w); hart_tensor_free(&b);
            }
}

/* oneDNN's blocked copy of a conv weight is kept per weight: a second call
 * must reuse it, new contents at the same address must replace it, another
 * image size may add a layout; every result must match the reference. */
static void test_conv2d_weight_cache(void **st) {
    for (int wd = 0; wd < 2; wd++) {
        hart_tensor w = rnd(WDT[wd], 4, 24, 16, 3, 3, 500 + wd), b = rnd(HART_F32, 1, 24, 0, 0, 0, 502);
        int n0 = hart_cpu_dnnl_cached_weights(), n1 = -1;
        for (int round = 0; round < 4; round++) {
            int64_t S = round == 3 ? 11 : 9;
            if (round == 2) fill_t(&w, 503, -2.0f, 2.0f); /* same pointer, new data */
            hart_tensor x = rnd(HART_F32, 4, 2, 16, S, S, 504 + round);
            outpair o = outs(HART_F32, 4, 2, 24, S, S);
            CHECK_OK(hart_op_conv2d(&o.cpu, &x, &w, &b, 1, 1, 1));
            CHECK_OK(hart_op_conv2d(&o.ref, &x, &w, &b, 1, 1, 1));
            assert_true(cmp_f32("hart_op_conv2d", "weight cache", &o) <= OPS_TOL);
            outs_free(&o);
            hart_tensor_free(&x);
            if (round == 0) n1 = hart_cpu_dnnl_cached_weights();
            else if (round < 3) assert_int_equal(hart_cpu_dnnl_cached_weights(), n1); /* reused / stale one replaced */
        }
        assert_true(n1 == n0 || n1 == n0 + 1); /* + 1 where oneDNN is installed */
        hart_tensor_free(&w); hart_tensor_free(&b);
    }
}

/* mask kinds: 0 none, 1 causal [1,1,Lq,Lk] with row 0 fully masked,
 * 2 random additive [B,1,Lq,Lk], 3 [B,H,Lq,Lk] with -inf sprinkled and a fully masked row */
static void make_mask(hart_tensor *m, int kind, unsigned seed) {
    int64_t n = hart_tensor_numel(m), Lq = m->shape[2], Lk = m->shape[3];
    float *p = m->data;
    if (kind == 1) {
        for (int64_t r = 0; r < n / Lk; r++)
            for (int64_t j = 0; j < Lk; j++) {
                int64_t i = r % Lq;
                p[r * Lk + j] = (i == 0 || j > i) ? -INFINITY : 0.0f;
            }
    } else {
        fill_random(p, n, seed, -2.0f, 2.0f);
        if (kind == 3) {
            for (int64_t i = 0; i < n; i += 3) p[i] = -INFINITY;
            for (int64_t j = 0; j < Lk; j++) p[(n / Lk - 1) * Lk + j] = -INFINITY; /* last row of last (b,h) */
        }
    }
}

static void test_attention(void **st) {
    typedef struct { int64_t B, H, Hkv, Lq, Lk, D; } ac;
    static const ac cs[] = {
        {1, 1, 1, 1, 1, 1},   {2, 4, 4, 3, 17, 16}, {2, 4, 2, 17, 67, 3}, {1, 6, 1, 67, 130, 64},
        {1, 1, 1, 64, 700, 64}, /* one task: each product split over threads */
        {2, 2, 1, 1, 67, 64},  /* decode-like */
        {1, 3, 3, 130, 3, 8},
    };
    unsigned seed = 500;
    for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++)
        for (int mk_ = 0; mk_ < 4; mk_++) {
            const ac *p = &cs[c];
            hart_tensor q = rnd(HART_F32, 4, p->B, p->H, p->Lq, p->D, seed++);
            hart_tensor k = rnd(HART_F32, 4, p->B, p->Hkv, p->Lk, p->D, seed++);
            hart_tensor v = rnd(HART_F32, 4, p->B, p->Hkv, p->Lk, p->D, seed++);
            hart_tensor m = mk(HART_F32, 4, mk_ == 1 ? 1 : p->B, mk_ == 3 ? p->H : 1, p->Lq, p->Lk);
            make_mask(&m, mk_, seed++);
            outpair o = outs(HART_F32, 4, p->B, p->H, p->Lq, p->D);
            float scale = 1.0f / sqrtf((float)p->D);
            CHECK_OK(hart_op_attention(&o.cpu, &q, &k, &v, mk_ ? &m : NULL, scale));
            CHECK_OK(hart_op_attention(&o.ref, &q, &k, &v, mk_ ? &m : NULL, scale));
            char what[64];
            snprintf(what, sizeof what, "case %zu mask %d", c, mk_);
            assert_true(cmp_f32("hart_op_attention", what, &o) <= OPS_TOL);
            if (mk_ == 1) { /* query row 0 fully masked in every (b, h): zeros */
                for (int64_t bh = 0; bh < p->B * p->H; bh++)
                    for (int64_t d = 0; d < p->D; d++) assert_true(((float *)o.cpu.data)[bh * p->Lq * p->D + d] == 0.0f);
            }
            if (mk_ == 3) {
                int64_t n = hart_tensor_numel(&o.cpu);
                for (int64_t d = 0; d < p->D; d++) assert_true(((float *)o.cpu.data)[n - p->D + d] == 0.0f);
            }
            outs_free(&o);
            hart_tensor_free(&q); hart_tensor_free(&k); hart_tensor_free(&v); hart_tensor_free(&m);
        }
}

static void argmin_case(const char *what, hart_tensor *x, hart_tensor *cb) {
    int64_t N = x->shape[0];
    outpair o = outs(HART_I64, 1, N, 0, 0, 0);
    CHECK_OK(hart_op_argmin_dist(&o.cpu, x, cb));
    CHECK_OK(hart_op_argmin_dist(&o.ref, x, cb));
    assert_true(cmp_bytes("hart_op_argmin_dist", what, &o));
    outs_free(&o);
}

static void test_argmin_dist(void **st) {
    static const int64_t Ns[] = {1, 67, 300}, Ds[] = {1, 3, 17, 32}, Vs[] = {1, 17, 67, 1024};
    unsigned seed = 700;
    for (int ni = 0; ni < 3; ni++)
        for (int di = 0; di < 4; di++)
            for (int vi = 0; vi < 4; vi++) {
                hart_dtype dt = WDT[(ni + di + vi) % 3];
                hart_tensor x = rnd(HART_F32, 2, Ns[ni], Ds[di], 0, 0, seed++);
                hart_tensor cb = rnd(dt, 2, Vs[vi], Ds[di], 0, 0, seed++);
                argmin_case("random", &x, &cb);
                hart_tensor_free(&x); hart_tensor_free(&cb);
            }
    /* Ties and exact hits: duplicated codewords, x equal to codewords. */
    {
        int64_t V = 67, D = 17, N = 67;
        hart_tensor cb = rnd(HART_F32, 2, V, D, 0, 0, seed++), x = mk(HART_F32, 2, N, D, 0, 0);
        float *c = cb.data, *xp = x.data;
        for (int64_t v = 40; v < V; v++) memcpy(c + v * D, c + (v - 40) * D, (size_t)D * 4); /* duplicates */
        for (int64_t i = 0; i < N; i++) memcpy(xp + i * D, c + ((i * 7) % V) * D, (size_t)D * 4);
        argmin_case("ties", &x, &cb);
        /* midpoints between two codewords: exactly equidistant in real arithmetic */
        for (int64_t i = 0; i < N; i++)
            for (int64_t d = 0; d < D; d++) xp[i * D + d] = 0.5f * (c[(i % V) * D + d] + c[((i + 1) % V) * D + d]);
        argmin_case("midpoints", &x, &cb);
        hart_tensor_free(&x); hart_tensor_free(&cb);
    }
    /* Large common offset: ||e||² - 2x·e cancels badly; the exact re-check must decide. */
    {
        int64_t V = 256, D = 32, N = 128;
        hart_tensor cb = mk(HART_F32, 2, V, D, 0, 0), x = mk(HART_F32, 2, N, D, 0, 0);
        fill_random(cb.data, V * D, seed++, 100.0f, 100.001f);
        fill_random(x.data, N * D, seed++, 100.0f, 100.001f);
        argmin_case("offset", &x, &cb);
        hart_tensor_free(&x); hart_tensor_free(&cb);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),    cmocka_unit_test(test_linear_empty), cmocka_unit_test(test_linear_weight_cache),
        cmocka_unit_test(test_matmul),    cmocka_unit_test(test_matmul_split), cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_conv2d_weight_cache),
        cmocka_unit_test(test_attention), cmocka_unit_test(test_argmin_dist),
    };
    printf("CPU backend: %s\n", hart_backend_cpu()->name);
    return cmocka_run_group_tests(tests, NULL, print_stats);
}
