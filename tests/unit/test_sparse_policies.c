/* The sparse-attention mask builders (models/hart/sparse_attn.h) against
 * naive constructions written from the definitions in docs/sparse.md:
 *   local: every (query token, key token) pair tested on its own in exact
 *          integer units, a block kept when any pair in it is;
 *   xattn: the full logit matrix in double, antidiagonal sums read off it,
 *          selection by repeated argmax;
 *   quest: page min/max and bounds in double, selection by repeated argmax,
 *          plus the bound really bounding every q·k of the page.
 * Full budgets keep every tile, and then hart_sparse_attention equals the
 * dense attention op bit for bit. Spec parsing: good and bad specs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "models/hart/sparse_attn.h"
#include "ops/ops.h"
#include "support/golden.h"

#define CHECK_OK(x) assert_int_equal((x), HART_OK)

/* HART 512 px (1,2,3,4,6,9,13,18,24,32), the tiny golden model (1,2,3,4,6,8). */
static const int PN512[] = {1, 2, 3, 4, 6, 9, 13, 18, 24, 32};
static const int PNTINY[] = {1, 2, 3, 4, 6, 8};

static hart_sparse_geom geom(const int *pn, int n, int T, int si, int block) {
    hart_sparse_geom g = {T, n, pn, si, block};
    return g;
}

/* scale of key j (0: text) and its index inside the scale */
static int key_scale(const hart_sparse_geom *g, int64_t j, int64_t *t) {
    if (j < g->ctx_tokens) { *t = j; return 0; }
    int64_t p = g->ctx_tokens;
    for (int s = 1; s <= g->si; s++) {
        int64_t n = (int64_t)g->patch_nums[s] * g->patch_nums[s];
        if (j < p + n) { *t = j - p; return s; }
        p += n;
    }
    fail();
    return -1;
}

static int64_t dist1(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo - x : (x > hi ? x - hi : 0); }

static void naive_local(const hart_sparse_geom *g, double R, uint8_t *m) {
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g), nkb = hart_sparse_nkb(g), bs = g->block;
    int64_t pn = g->patch_nums[g->si];
    memset(m, 0, (size_t)(hart_sparse_nqb(g) * nkb));
    for (int64_t i = 0; i < nq; i++)
        for (int64_t j = 0; j < nk; j++) {
            int64_t t;
            int s = key_scale(g, j, &t);
            int keep = s < HART_SPARSE_SINK_SCALES;
            if (!keep) {
                int64_t ps = g->patch_nums[s];
                int64_t dr = dist1((2 * (i / pn) + 1) * ps, 2 * (t / ps) * pn, 2 * (t / ps + 1) * pn);
                int64_t dc = dist1((2 * (i % pn) + 1) * ps, 2 * (t % ps) * pn, 2 * (t % ps + 1) * pn);
                keep = dr <= 2 * R * ps && dc <= 2 * R * ps;
            }
            if (keep) m[(i / bs) * nkb + j / bs] = 1;
        }
}

static void test_local_vs_naive(void **st) {
    (void)st;
    static const double Rs[] = {0, 0.5, 1, 1.5, 2, 3.5, 8};
    struct { const int *pn; int n, T, block; } models[] = {{PN512, 10, 300, 64}, {PN512, 10, 300, 16},
                                                           {PNTINY, 6, 8, 8}, {PNTINY, 6, 8, 5}};
    for (size_t mi = 0; mi < 4; mi++)
        for (int si = HART_SPARSE_SINK_SCALES; si < models[mi].n; si++)
            for (size_t ri = 0; ri < sizeof Rs / sizeof Rs[0]; ri++) {
                hart_sparse_geom g = geom(models[mi].pn, models[mi].n, models[mi].T, si, models[mi].block);
                size_t sz = (size_t)(hart_sparse_nqb(&g) * hart_sparse_nkb(&g));
                uint8_t *a = malloc(sz), *b = malloc(sz);
                hart_sparse_local(&g, Rs[ri], a);
                naive_local(&g, Rs[ri], b);
                if (memcmp(a, b, sz)) printf("local:%g scale %d block %d differs from the naive mask\n", Rs[ri], si, g.block);
                assert_memory_equal(a, b, sz);
                free(a);
                free(b);
            }
    /* density grows with R and a radius over the grid keeps everything */
    hart_sparse_geom g = geom(PN512, 10, 300, 9, 64);
    size_t sz = (size_t)(hart_sparse_nqb(&g) * hart_sparse_nkb(&g));
    uint8_t *m = malloc(sz);
    double last = 0;
    for (double R = 0; R <= 32; R += 1) {
        hart_sparse_local(&g, R, m);
        double d = hart_sparse_density(&g, m, 1, 1);
        assert_true(d >= last);
        last = d;
    }
    hart_sparse_local(&g, 32, m);
    for (size_t i = 0; i < sz; i++) assert_int_equal(m[i], 1);
    hart_sparse_local(&g, 1, m);
    double d1 = hart_sparse_density(&g, m, 1, 1);
    printf("local:1 at 512 px, last scale, 64-token blocks: density %.3f\n", d1);
    assert_true(d1 < 0.5);
    free(m);
}

/* q [N,H,nq,D], k [N,Hkv,nk,D] random, with a few strong keys so scores differ */
static void qk(const hart_sparse_geom *g, int N, int H, int Hkv, int D, unsigned seed, float **q, float **k) {
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g);
    *q = malloc(sizeof(float) * (size_t)(N * H * nq * D));
    *k = malloc(sizeof(float) * (size_t)(N * Hkv * nk * D));
    fill_random(*q, N * H * nq * D, seed, -1, 1);
    fill_random(*k, N * Hkv * nk * D, seed + 1, -1, 1);
    for (int64_t j = 0; j < N * Hkv * nk; j += 37) /* a few keys with larger norms */
        for (int d = 0; d < D; d++) (*k)[j * D + d] *= 3;
}

static int argmax_unpicked(const double *s, const uint8_t *row, int64_t n) {
    int best = -1;
    for (int64_t b = 0; b < n; b++)
        if (!row[b] && (best < 0 || s[b] > s[best])) best = (int)b;
    return best;
}

static void naive_xattn(const hart_sparse_geom *g, double T, const float *q, const float *k, int N, int H, int Hkv,
                        int D, float scale, uint8_t *mask) {
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g), nqb = hart_sparse_nqb(g), nkb = hart_sparse_nkb(g);
    int bs = g->block, S = 8;
    while (S > 1 && bs % S) S /= 2;
    int64_t na = (nq + S - 1) / S, nb = (nk + S - 1) / S;
    double *L = malloc(sizeof(double) * (size_t)(nq * nk)), *A = malloc(sizeof(double) * (size_t)nb);
    double *sc = malloc(sizeof(double) * (size_t)(nqb * nkb));
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++) {
            const float *qh = q + ((size_t)n * H + h) * nq * D, *kh = k + ((size_t)n * Hkv + h / (H / Hkv)) * nk * D;
            for (int64_t i = 0; i < nq; i++)
                for (int64_t j = 0; j < nk; j++) {
                    double s = 0;
                    for (int d = 0; d < D; d++) s += (double)qh[i * D + d] * kh[j * D + d];
                    L[i * nk + j] = s * scale;
                }
            memset(sc, 0, sizeof(double) * (size_t)(nqb * nkb));
            for (int64_t a = 0; a < na; a++) {
                double mx = -INFINITY, sum = 0;
                for (int64_t b = 0; b < nb; b++) { /* antidiagonal of the S x S sub-block (a, b) */
                    double s = 0;
                    for (int u = 0; u < S; u++) {
                        int64_t i = a * S + u, j = b * S + S - 1 - u;
                        if (i < nq && j < nk) s += L[i * nk + j];
                    }
                    A[b] = s / S;
                    if (A[b] > mx) mx = A[b];
                }
                for (int64_t b = 0; b < nb; b++) sum += exp(A[b] - mx);
                for (int64_t b = 0; b < nb; b++) sc[(a * S / bs) * nkb + b * S / bs] += exp(A[b] - mx) / sum;
            }
            for (int64_t qb = 0; qb < nqb; qb++) {
                int64_t i0 = qb * bs, i1 = i0 + bs < nq ? i0 + bs : nq, rows = (i1 - i0 + S - 1) / S;
                double *s = sc + qb * nkb;
                uint8_t *row = mask + (((size_t)n * H + h) * nqb + qb) * nkb;
                memset(row, 0, (size_t)nkb);
                for (int64_t b = 0; b < nkb; b++) s[b] /= rows;
                if (T >= 1) { memset(row, 1, (size_t)nkb); continue; }
                for (int64_t j = 0; j < hart_sparse_nsink(g); j++) row[j / bs] = 1;
                for (int64_t i = i0; i < i1; i++) row[(nk - nq + i) / bs] = 1;
                double mass = 0;
                for (int64_t b = 0; b < nkb; b++) if (row[b]) mass += s[b];
                int b;
                while (mass < T && (b = argmax_unpicked(s, row, nkb)) >= 0) {
                    row[b] = 1;
                    mass += s[b];
                }
            }
        }
    free(L); free(A); free(sc);
}

static void test_xattn_vs_naive(void **st) {
    (void)st;
    static const double Ts[] = {0.3, 0.6, 0.9, 0.95, 1.0};
    struct { const int *pn; int n, T, block, D; } models[] = {{PN512, 8, 40, 16, 16}, {PNTINY, 6, 8, 8, 8},
                                                              {PNTINY, 6, 8, 6, 5}};
    unsigned seed = 900;
    for (size_t mi = 0; mi < 3; mi++)
        for (int si = 4; si < models[mi].n; si++)
            for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++, seed += 2) {
                hart_sparse_geom g = geom(models[mi].pn, models[mi].n, models[mi].T, si, models[mi].block);
                int N = 2, H = 2, Hkv = mi == 1 ? 1 : 2, D = models[mi].D;
                float *q, *k;
                qk(&g, N, H, Hkv, D, seed, &q, &k);
                size_t sz = (size_t)(N * H * hart_sparse_nqb(&g) * hart_sparse_nkb(&g));
                uint8_t *a = malloc(sz), *b = malloc(sz);
                float scale = 2.0f / sqrtf((float)D);
                CHECK_OK(hart_sparse_xattn(&g, Ts[ti], q, k, N, H, Hkv, D, scale, a));
                naive_xattn(&g, Ts[ti], q, k, N, H, Hkv, D, scale, b);
                if (memcmp(a, b, sz)) printf("xattn:%g scale %d block %d differs from the naive mask\n", Ts[ti], si, g.block);
                assert_memory_equal(a, b, sz);
                if (Ts[ti] >= 1)
                    for (size_t i = 0; i < sz; i++) assert_int_equal(a[i], 1);
                free(a); free(b); free(q); free(k);
            }
}

static void naive_quest(const hart_sparse_geom *g, int B, const float *q, const float *k, int N, int H, int Hkv, int D,
                        uint8_t *mask) {
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g), nqb = hart_sparse_nqb(g), nkb = hart_sparse_nkb(g);
    int64_t bs = g->block;
    double *bound = malloc(sizeof(double) * (size_t)nkb);
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++) {
            const float *qh = q + ((size_t)n * H + h) * nq * D, *kh = k + ((size_t)n * Hkv + h / (H / Hkv)) * nk * D;
            for (int64_t qb = 0; qb < nqb; qb++) {
                uint8_t *row = mask + (((size_t)n * H + h) * nqb + qb) * nkb;
                memset(row, 0, (size_t)nkb);
                uint8_t *sink = calloc((size_t)nkb, 1);
                for (int64_t j = 0; j < hart_sparse_nsink(g); j++) sink[j / bs] = 1;
                for (int64_t p = 0; p < nkb; p++) {
                    bound[p] = -INFINITY;
                    for (int64_t i = qb * bs; i < (qb + 1) * bs && i < nq; i++) {
                        double s = 0, real = -INFINITY;
                        for (int d = 0; d < D; d++) {
                            double lo = INFINITY, hi = -INFINITY;
                            for (int64_t j = p * bs; j < (p + 1) * bs && j < nk; j++) {
                                lo = fmin(lo, kh[j * D + d]);
                                hi = fmax(hi, kh[j * D + d]);
                            }
                            s += fmax(qh[i * D + d] * hi, qh[i * D + d] * lo);
                        }
                        for (int64_t j = p * bs; j < (p + 1) * bs && j < nk; j++) { /* it is an upper bound */
                            double dot = 0;
                            for (int d = 0; d < D; d++) dot += (double)qh[i * D + d] * kh[j * D + d];
                            real = fmax(real, dot);
                        }
                        assert_true(real <= s + 1e-9);
                        bound[p] = fmax(bound[p], s);
                    }
                }
                for (int c = 0, b; c < B && (b = argmax_unpicked(bound, sink, nkb)) >= 0; c++) {
                    row[b] = 1;
                    sink[b] = 2; /* taken */
                }
                for (int64_t p = 0; p < nkb; p++) row[p] |= sink[p] != 0;
                free(sink);
            }
        }
    free(bound);
}

static void test_quest_vs_naive(void **st) {
    (void)st;
    static const int Bs[] = {1, 2, 5, 1000};
    struct { const int *pn; int n, T, block, D; } models[] = {{PN512, 8, 40, 16, 16}, {PNTINY, 6, 8, 8, 8},
                                                              {PNTINY, 6, 8, 7, 3}};
    unsigned seed = 1900;
    for (size_t mi = 0; mi < 3; mi++)
        for (int si = 4; si < models[mi].n; si++)
            for (size_t bi = 0; bi < sizeof Bs / sizeof Bs[0]; bi++, seed += 2) {
                hart_sparse_geom g = geom(models[mi].pn, models[mi].n, models[mi].T, si, models[mi].block);
                int N = 2, H = 2, Hkv = mi == 2 ? 1 : 2, D = models[mi].D;
                float *q, *k;
                qk(&g, N, H, Hkv, D, seed, &q, &k);
                size_t sz = (size_t)(N * H * hart_sparse_nqb(&g) * hart_sparse_nkb(&g));
                uint8_t *a = malloc(sz), *b = malloc(sz);
                CHECK_OK(hart_sparse_quest(&g, Bs[bi], q, k, N, H, Hkv, D, a));
                naive_quest(&g, Bs[bi], q, k, N, H, Hkv, D, b);
                if (memcmp(a, b, sz)) printf("quest:%d scale %d block %d differs from the naive mask\n", Bs[bi], si, g.block);
                assert_memory_equal(a, b, sz);
                if (Bs[bi] >= 1000)
                    for (size_t i = 0; i < sz; i++) assert_int_equal(a[i], 1);
                free(a); free(b); free(q); free(k);
            }
}

/* q, k, v (random, seeded) and two outputs for scale g's attention, on the host */
typedef struct { hart_tensor q, k, v, o1, o2; } attn_io;
static void attn_io_new(const hart_sparse_geom *g, int N, int H, int D, unsigned seed, attn_io *t) {
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g);
    CHECK_OK(hart_tensor_new4(NULL, HART_F32, &t->q, 4, N, H, nq, D));
    CHECK_OK(hart_tensor_new4(NULL, HART_F32, &t->k, 4, N, H, nk, D));
    CHECK_OK(hart_tensor_new4(NULL, HART_F32, &t->v, 4, N, H, nk, D));
    CHECK_OK(hart_tensor_new4(NULL, HART_F32, &t->o1, 4, N, H, nq, D));
    CHECK_OK(hart_tensor_new4(NULL, HART_F32, &t->o2, 4, N, H, nq, D));
    fill_random(t->q.data, hart_tensor_numel(&t->q), seed, -1, 1);
    fill_random(t->k.data, hart_tensor_numel(&t->k), seed + 1, -1, 1);
    fill_random(t->v.data, hart_tensor_numel(&t->v), seed + 2, -1, 1);
}
static void attn_io_free(attn_io *t) {
    hart_tensor_free(&t->q); hart_tensor_free(&t->k); hart_tensor_free(&t->v);
    hart_tensor_free(&t->o1); hart_tensor_free(&t->o2);
}

/* full budgets through the transformer's call: the dense op's bits */
static void test_full_budget_is_dense(void **st) {
    (void)st;
    static const char *const specs[] = {"local:100", "xattn:1", "quest:100000"};
    hart_sparse_geom g = geom(PN512, 10, 300, 7, 64);
    attn_io t;
    attn_io_new(&g, 2, 3, 32, 31, &t);
    hart_tensor q = t.q, k = t.k, v = t.v, o1 = t.o1, o2 = t.o2;
    CHECK_OK(hart_op_attention(&o1, &q, &k, &v, NULL, 0.125f));
    for (size_t i = 0; i < 3; i++) {
        hart_sparse_cfg c;
        hart_sparse_default(&c);
        CHECK_OK(hart_sparse_parse(specs[i], &c));
        double dens = 0;
        fill_nan(o2.data, hart_tensor_numel(&o2));
        CHECK_OK(hart_sparse_attention(&c, &g, &o2, &q, &k, &v, 0.125f, NULL, &dens));
        assert_true(dens == 1.0);
        assert_memory_equal(o1.data, o2.data, hart_tensor_nbytes(&o1));
    }
    attn_io_free(&t);
}

/* The local-mask cache: a cached call gives the uncached call's output bit for
 * bit, reuses the scale's mask (same buffer) while the policy and geometry
 * stay, and rebuilds it when R or the scale's layout changes. */
static void test_local_cache(void **st) {
    (void)st;
    hart_sparse_geom g = geom(PN512, 10, 300, 8, 64);
    attn_io t;
    attn_io_new(&g, 2, 3, 32, 41, &t);
    hart_tensor q = t.q, k = t.k, v = t.v, o1 = t.o1, o2 = t.o2;
    hart_sparse_cfg c;
    hart_sparse_default(&c);
    CHECK_OK(hart_sparse_parse("local:1", &c));
    hart_sparse_cache cache;
    memset(&cache, 0, sizeof cache);
    double d0 = 0, d1 = 0, d2 = 0;
    CHECK_OK(hart_sparse_attention(&c, &g, &o1, &q, &k, &v, 0.125f, NULL, &d0));
    CHECK_OK(hart_sparse_attention(&c, &g, &o2, &q, &k, &v, 0.125f, &cache, &d1));
    assert_memory_equal(o1.data, o2.data, hart_tensor_nbytes(&o1));
    const void *first = cache.blocks[g.si].data;
    assert_non_null(first);
    assert_true(d0 < 1.0 && d1 == d0);
    fill_nan(o2.data, hart_tensor_numel(&o2));
    CHECK_OK(hart_sparse_attention(&c, &g, &o2, &q, &k, &v, 0.125f, &cache, &d2)); /* from the cache */
    assert_ptr_equal(cache.blocks[g.si].data, first);
    assert_true(d2 == d0);
    assert_memory_equal(o1.data, o2.data, hart_tensor_nbytes(&o1));
    /* another radius: rebuilt, and equal to its uncached result */
    CHECK_OK(hart_sparse_parse("local:0", &c));
    CHECK_OK(hart_sparse_attention(&c, &g, &o1, &q, &k, &v, 0.125f, NULL, &d0));
    CHECK_OK(hart_sparse_attention(&c, &g, &o2, &q, &k, &v, 0.125f, &cache, &d1));
    assert_true(d1 == d0 && cache.param[g.si] == 0.0);
    assert_memory_equal(o1.data, o2.data, hart_tensor_nbytes(&o1));
    hart_sparse_cache_free(&cache);
    assert_null(cache.blocks[g.si].data);
    attn_io_free(&t);
}

static void test_spec_parse(void **st) {
    (void)st;
    hart_sparse_cfg c;
    hart_sparse_default(&c);
    assert_int_equal(c.kind, HART_SPARSE_NONE);
    assert_int_equal(c.block, 64);
    CHECK_OK(hart_sparse_parse("local:2", &c));
    assert_int_equal(c.kind, HART_SPARSE_LOCAL);
    assert_true(c.param == 2);
    CHECK_OK(hart_sparse_parse("local:0.5", &c));
    assert_true(c.param == 0.5);
    CHECK_OK(hart_sparse_parse("xattn:0.9", &c));
    assert_int_equal(c.kind, HART_SPARSE_XATTN);
    CHECK_OK(hart_sparse_parse("quest:8", &c));
    assert_int_equal(c.kind, HART_SPARSE_QUEST);
    char buf[64];
    hart_sparse_format(&c, buf, sizeof buf);
    assert_string_equal(buf, "quest:8");
    CHECK_OK(hart_sparse_parse("none", &c));
    assert_int_equal(c.kind, HART_SPARSE_NONE);
    static const char *const bad[] = {"", "local", "local:", "local:-1", "local:x", "local:1e400", "local:nan",
                                      "xattn:0", "xattn:1.5", "xattn:-0.1", "quest:0", "quest:2.5", "quest:3x",
                                      "dense", "LOCAL:1", "local:1 ", "xattn:0.9:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(hart_sparse_parse(bad[i], &c), HART_EINVAL);
        assert_non_null(strstr(hart_errmsg(), "sparse attention"));
    }
    /* the default scales: the last three */
    hart_sparse_default(&c);
    CHECK_OK(hart_sparse_parse("local:1", &c));
    assert_false(hart_sparse_active(&c, 6, 10));
    assert_true(hart_sparse_active(&c, 7, 10));
    assert_true(hart_sparse_active(&c, 9, 10));
    c.from_scale = 2;
    assert_false(hart_sparse_active(&c, 1, 10));
    assert_true(hart_sparse_active(&c, 2, 10));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_parse),     cmocka_unit_test(test_local_vs_naive),
        cmocka_unit_test(test_xattn_vs_naive), cmocka_unit_test(test_quest_vs_naive),
        cmocka_unit_test(test_full_budget_is_dense), cmocka_unit_test(test_local_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
