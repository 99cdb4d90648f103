/* op block_mask (quest and xattn block masks) on OpenCL against the host
 * builder (the CPU reference, ref_block_mask.c, itself checked against
 * double-precision naive constructions in test_sparse_policies.c). The
 * scores are fixed-point integers, so the criterion is tolerance-free: the
 * device's mask must equal the host's byte for byte, at odd sizes (query and
 * key counts no block divides, block sizes 1, 3, 5, 6, 8, 12, 16, 64, head
 * dims 1 .. 130, GQA, no sinks, sinks ending mid-block) and on inputs full of
 * exact ties (constant keys, constant q and k, duplicated pages), where the
 * order (score descending, block ascending) alone decides; there the kept
 * blocks are also checked against that order derived by hand. Plus: full
 * budgets keep everything, the sparse attention call gives the same
 * density on both backends, bad operands are EINVAL. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "backend/backend.h"
#include "backend/opencl/opencl.h"
#include "models/hart/sparse_attn.h"
#include "ops/ops.h"
#include "support/golden.h"
#include "support/test_skip.h"

#define CHECK_OK(x) assert_int_equal((x), HART_OK)

static hart_backend *g_cl;

typedef struct {
    int64_t N, H, Hkv, nq, nk, D;
    int block;
    int64_t nsink;
} mcase;

/* q/k fill patterns */
enum { FILL_RANDOM, FILL_CONST_K, FILL_CONST_QK, FILL_DUP_PAGES, FILL_LARGE, FILL_HUGE };

static void fill(const mcase *c, int pattern, unsigned seed, float *q, float *k) {
    int64_t nqe = c->N * c->H * c->nq * c->D, nke = c->N * c->Hkv * c->nk * c->D;
    fill_random(q, nqe, seed, -1.5f, 1.5f);
    fill_random(k, nke, seed + 7, -1.5f, 1.5f);
    if (pattern == FILL_RANDOM)
        for (int64_t j = 0; j < c->N * c->Hkv * c->nk; j += 29) /* a few strong keys */
            for (int64_t d = 0; d < c->D; d++) k[j * c->D + d] *= 4;
    if (pattern == FILL_CONST_K || pattern == FILL_CONST_QK)
        for (int64_t i = 0; i < nke; i++) k[i] = 0.375f;
    if (pattern == FILL_CONST_QK)
        for (int64_t i = 0; i < nqe; i++) q[i] = -0.625f;
    /* the host's exact-double SIMD sums need |q|·|k| small enough (ref_block_mask.c); these take
     * its int64 loop instead: large (sums past 2^53), huge (products past the 2^26 clamp) */
    if (pattern == FILL_LARGE || pattern == FILL_HUGE)
        for (int64_t i = 0; i < nqe; i++) q[i] *= pattern == FILL_LARGE ? 2e7f : 2e5f;
    if (pattern == FILL_HUGE)
        for (int64_t i = 0; i < nke; i++) k[i] *= 1e3f;
    if (pattern == FILL_DUP_PAGES) /* every key block a copy of the first */
        for (int64_t g = 0; g < c->N * c->Hkv; g++)
            for (int64_t j = c->block; j < c->nk; j++)
                memcpy(k + (g * c->nk + j) * c->D, k + (g * c->nk + j % c->block) * c->D, sizeof(float) * (size_t)c->D);
}

/* the op on the host (CPU reference) and on OpenCL; 1 when the masks match */
static int run_both(const mcase *c, const hart_block_mask_spec *s, const float *q, const float *k, uint8_t *host,
                    uint8_t *dev) {
    int64_t nqb = (c->nq + s->block - 1) / s->block, nkb = (c->nk + s->block - 1) / s->block;
    int64_t qs[4] = {c->N, c->H, c->nq, c->D}, ks[4] = {c->N, c->Hkv, c->nk, c->D}, ms[4] = {c->N, c->H, nqb, nkb};
    hart_tensor qh = hart_tensor_wrap((void *)q, HART_F32, 4, qs), kh = hart_tensor_wrap((void *)k, HART_F32, 4, ks);
    hart_tensor mh = hart_tensor_wrap(host, HART_U8, 4, ms);
    size_t n = (size_t)(c->N * c->H * nqb * nkb);
    memset(host, 0xAB, n);
    CHECK_OK(hart_op_block_mask(&mh, &qh, &kh, s));
    for (size_t i = 0; i < n; i++) assert_true(host[i] <= 1);
    if (!g_cl) return 1;
    hart_tensor qd, kd, md;
    CHECK_OK(hart_tensor_to(g_cl, &qh, &qd));
    CHECK_OK(hart_tensor_to(g_cl, &kh, &kd));
    CHECK_OK(hart_tensor_new(g_cl, HART_U8, 4, ms, &md));
    CHECK_OK(hart_op_block_mask(&md, &qd, &kd, s));
    memset(dev, 0xCD, n);
    CHECK_OK(hart_tensor_read(&md, dev, n));
    hart_tensor_free(&qd); hart_tensor_free(&kd); hart_tensor_free(&md);
    return !memcmp(host, dev, n);
}

static const mcase CASES[] = {
    {1, 1, 1, 1, 1, 1, 1, 0},        {1, 2, 1, 7, 19, 3, 1, 4},      {2, 3, 3, 13, 37, 5, 5, 6},
    {1, 4, 2, 30, 61, 16, 6, 11},    {2, 2, 1, 36, 100, 33, 8, 40},  {1, 3, 1, 49, 129, 64, 12, 13},
    {2, 2, 2, 64, 175, 130, 16, 8},  {1, 2, 2, 100, 300, 64, 64, 77}, {1, 1, 1, 81, 81, 7, 3, 0},
    {2, 2, 1, 144, 444, 24, 16, 44},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

static void check_all(int pattern, unsigned seed0) {
    static const int budgets[] = {1, 2, 3, 7, 100000};
    static const double Ts[] = {0.1, 0.5, 0.9, 0.97, 1.0};
    int mismatches = 0, checks = 0, sparse = 0;
    for (size_t ci = 0; ci < NCASES; ci++) {
        const mcase *c = &CASES[ci];
        int64_t nqe = c->N * c->H * c->nq * c->D, nke = c->N * c->Hkv * c->nk * c->D;
        int64_t nqb = (c->nq + c->block - 1) / c->block, nkb = (c->nk + c->block - 1) / c->block;
        size_t n = (size_t)(c->N * c->H * nqb * nkb);
        float *q = malloc(sizeof(float) * (size_t)nqe), *k = malloc(sizeof(float) * (size_t)nke);
        uint8_t *host = malloc(n), *dev = malloc(n);
        fill(c, pattern, seed0 + (unsigned)ci * 17, q, k);
        for (int pol = 0; pol < 2; pol++)
            for (int v = 0; v < 5; v++) {
                hart_block_mask_spec s = {.kind = pol ? HART_BLOCK_MASK_XATTN : HART_BLOCK_MASK_QUEST,
                                          .block = c->block, .nsink = c->nsink, .budget = budgets[v],
                                          .threshold = Ts[v], .scale = 1.0f / sqrtf((float)c->D)};
                int same = run_both(c, &s, q, k, host, dev);
                checks++;
                if (!same) {
                    mismatches++;
                    printf("mismatch: pattern %d case %zu %s:%g\n", pattern, ci, pol ? "xattn" : "quest",
                           pol ? Ts[v] : budgets[v]);
                }
                if ((pol && Ts[v] >= 1) || (!pol && budgets[v] >= 100000))
                    for (size_t i = 0; i < n; i++) assert_int_equal(host[i], 1);
                size_t kept = 0;
                for (size_t i = 0; i < n; i++) kept += host[i];
                sparse += kept < n; /* masks that skip something */
            }
        free(q); free(k); free(host); free(dev);
    }
    printf("pattern %d: %d masks compared%s (%d skip some tiles), %d differ\n", pattern, checks,
           g_cl ? " host vs OpenCL" : " (host only)", sparse, mismatches);
    assert_int_equal(mismatches, 0);
    assert_true(sparse >= checks / 2);
}

static void test_random_inputs(void **st) {
    (void)st;
    check_all(FILL_RANDOM, 100);
}

static void test_large_inputs(void **st) {
    (void)st;
    check_all(FILL_LARGE, 900);
    check_all(FILL_HUGE, 1100);
}

static void test_tied_inputs(void **st) {
    (void)st;
    check_all(FILL_CONST_K, 300);
    check_all(FILL_CONST_QK, 500);
    check_all(FILL_DUP_PAGES, 700);
}

/* Hand-derived masks under exact ties. Constant keys: every page has the
 * same bound for a query, so quest keeps the sinks and then the B lowest
 * non-sink pages. Constant q and k: every logit is equal, so each strided
 * row spreads its weight evenly over the strided columns; a key block's
 * score is proportional to its columns: all full blocks tie and the last
 * (partial) block scores less. xattn keeps sinks, diagonal, then full blocks
 * in ascending order until the mass reaches T, then (if ever) the last. */
static void test_ties_by_hand(void **st) {
    (void)st;
    mcase c = {1, 2, 1, 40, 200, 8, 8, 12}; /* nqb 5, nkb 25, sink pages 0-1, last key block has 200 % 8 = 0 -> full */
    int64_t nqb = 5, nkb = 25, first = 2;
    float *q = malloc(sizeof(float) * 2 * 40 * 8), *k = malloc(sizeof(float) * 200 * 8);
    uint8_t host[2 * 5 * 25], dev[2 * 5 * 25];
    fill(&c, FILL_CONST_K, 11, q, k);
    hart_block_mask_spec s = {.kind = HART_BLOCK_MASK_QUEST, .block = 8, .nsink = 12, .budget = 3};
    assert_true(run_both(&c, &s, q, k, host, dev));
    for (int64_t r = 0; r < 2 * nqb; r++)
        for (int64_t p = 0; p < nkb; p++) assert_int_equal(host[r * nkb + p], p < first + 3);
    fill(&c, FILL_CONST_QK, 13, q, k);
    s = (hart_block_mask_spec){.kind = HART_BLOCK_MASK_XATTN, .block = 8, .nsink = 12, .threshold = 0.5,
                               .scale = 0.3f};
    assert_true(run_both(&c, &s, q, k, host, dev));
    /* 25 equal blocks, each 1/25 of a row's mass (floored in Q30): T = 0.5 needs 13 blocks,
     * sinks 0-1 and the diagonal block (queries at keys 160.. -> block 20 + qb) are 3 of them */
    for (int64_t r = 0; r < 2 * nqb; r++) {
        int64_t qb = r % nqb, diag = 20 + qb, kept = 0;
        for (int64_t p = 0; p < nkb; p++) {
            int64_t want = p < first || p == diag;
            if (!want) want = p < 12 - (diag < 12); /* the lowest non-forced blocks: 10 of them */
            if (host[r * nkb + p] != want) printf("row %lld block %lld: %d, want %lld\n", (long long)r, (long long)p, host[r * nkb + p], (long long)want);
            assert_int_equal(host[r * nkb + p], want);
            kept += host[r * nkb + p];
        }
        assert_int_equal(kept, 13);
    }
    free(q); free(k);
}

/* fix() truncates each product toward zero at 2^-24: three pages of 4 keys
 * whose keys are all 1.25, 1.5 and 1.0 units of 2^-24, one query of ones
 * (D = 8: two 4-wide SIMD steps on the host). Every term truncates to 1, so
 * all bounds are 8 units and the tie keeps page 0 at B = 1; exact or rounded
 * products would rank page 1 first. Negative q the same way (q·min). */
static void test_fix_truncates(void **st) {
    (void)st;
    mcase c = {1, 1, 1, 1, 12, 8, 4, 0};
    float q[8], k[12 * 8];
    uint8_t host[3], dev[3];
    static const float unit[3] = {1.25f, 1.5f, 1.0f};
    for (int sign = 1; sign >= -1; sign -= 2) {
        for (int d = 0; d < 8; d++) q[d] = (float)sign;
        for (int j = 0; j < 12; j++)
            for (int d = 0; d < 8; d++) k[j * 8 + d] = (float)sign * unit[j / 4] * 0x1p-24f;
        hart_block_mask_spec s = {.kind = HART_BLOCK_MASK_QUEST, .block = 4, .nsink = 0, .budget = 1};
        assert_true(run_both(&c, &s, q, k, host, dev));
        assert_int_equal(host[0], 1);
        assert_int_equal(host[1], 0);
        assert_int_equal(host[2], 0);
        s.budget = 2; /* the next in the tie order: page 1 */
        assert_true(run_both(&c, &s, q, k, host, dev));
        assert_int_equal(host[0] + host[1] + host[2], 2);
        assert_int_equal(host[2], 0);
    }
}

/* hart_sparse_attention with xattn/quest: the mask is made by the op on the
 * output's backend; both backends report the same density */
static void test_sparse_call_density(void **st) {
    (void)st;
    if (!g_cl) {
        test_skip("no OpenCL device");
        return;
    }
    static const int pn[] = {1, 2, 3, 4, 6, 9};
    hart_sparse_geom g = {10, 6, pn, 5, 16};
    int64_t nq = hart_sparse_nq(&g), nk = hart_sparse_nk(&g);
    int N = 2, H = 2, D = 16;
    float *q = malloc(sizeof(float) * (size_t)(N * H * nq * D)), *k = malloc(sizeof(float) * (size_t)(N * H * nk * D));
    fill_random(q, N * H * nq * D, 21, -1, 1);
    fill_random(k, N * H * nk * D, 22, -1, 1);
    hart_tensor qh = hart_tensor_wrap(q, HART_F32, 4, (int64_t[]){N, H, nq, D});
    hart_tensor kh = hart_tensor_wrap(k, HART_F32, 4, (int64_t[]){N, H, nk, D});
    hart_tensor qd, kd, oh, od;
    CHECK_OK(hart_tensor_to(g_cl, &qh, &qd));
    CHECK_OK(hart_tensor_to(g_cl, &kh, &kd));
    CHECK_OK(hart_tensor_new(NULL, HART_F32, 4, qh.shape, &oh));
    CHECK_OK(hart_tensor_new(g_cl, HART_F32, 4, qh.shape, &od));
    static const char *const specs[] = {"quest:2", "xattn:0.6"};
    for (int i = 0; i < 2; i++) {
        hart_sparse_cfg c;
        hart_sparse_default(&c);
        c.block = 16;
        CHECK_OK(hart_sparse_parse(specs[i], &c));
        double dh = -1, dd = -1;
        CHECK_OK(hart_sparse_attention(&c, &g, &oh, &qh, &kh, &kh, 0.25f, NULL, &dh));
        CHECK_OK(hart_sparse_attention(&c, &g, &od, &qd, &kd, &kd, 0.25f, NULL, &dd));
        CHECK_OK(hart_sparse_attention(&c, &g, &od, &qd, &kd, &kd, 0.25f, NULL, NULL)); /* no density: no read */
        printf("%s: density host %.6f, OpenCL %.6f\n", specs[i], dh, dd);
        assert_true(dh > 0 && dh < 1);
        assert_true(dh == dd);
    }
    hart_tensor_free(&qd); hart_tensor_free(&kd); hart_tensor_free(&oh); hart_tensor_free(&od);
    free(q); free(k);
}

static void test_bad_operands(void **st) {
    (void)st;
    hart_tensor q, k, m, wrong, kbig;
    CHECK_OK(hart_tensor_new(NULL, HART_F32, 4, (int64_t[]){1, 2, 10, 4}, &q));
    CHECK_OK(hart_tensor_new(NULL, HART_F32, 4, (int64_t[]){1, 1, 20, 4}, &k));
    CHECK_OK(hart_tensor_new(NULL, HART_U8, 4, (int64_t[]){1, 2, 3, 5}, &m));
    CHECK_OK(hart_tensor_new(NULL, HART_U8, 4, (int64_t[]){1, 1, 3, 5}, &wrong));
    CHECK_OK(hart_tensor_new(NULL, HART_F32, 4, (int64_t[]){1, 1, 5, 4}, &kbig));
    hart_block_mask_spec s = {.kind = HART_BLOCK_MASK_QUEST, .block = 4, .nsink = 3, .budget = 2};
    CHECK_OK(hart_op_block_mask(&m, &q, &k, &s));
    assert_int_equal(hart_op_block_mask(&wrong, &q, &k, &s), HART_EINVAL);
    assert_int_equal(hart_op_block_mask(&m, &q, &kbig, &s), HART_EINVAL); /* more queries than keys */
    s.budget = 0;
    assert_int_equal(hart_op_block_mask(&m, &q, &k, &s), HART_EINVAL);
    s = (hart_block_mask_spec){.kind = HART_BLOCK_MASK_XATTN, .block = 4, .threshold = 1.5};
    assert_int_equal(hart_op_block_mask(&m, &q, &k, &s), HART_EINVAL);
    s.threshold = 0.5;
    s.nsink = 21;
    assert_int_equal(hart_op_block_mask(&m, &q, &k, &s), HART_EINVAL);
    s.nsink = 0;
    s.block = 0;
    assert_int_equal(hart_op_block_mask(&m, &q, &k, &s), HART_EINVAL);
    s.block = 4;
    s.kind = 7;
    assert_int_equal(hart_op_block_mask(&m, &q, &k, &s), HART_EINVAL);
    assert_int_equal(hart_op_block_mask(&m, &q, &k, NULL), HART_EINVAL);
    hart_tensor_free(&q); hart_tensor_free(&k); hart_tensor_free(&m); hart_tensor_free(&wrong); hart_tensor_free(&kbig);
}

int main(void) {
    char why[512];
    if (hart_opencl_list(stdout) == 0) {
        test_skip_part("test_block_mask: no OpenCL device; only the host builder is run");
    } else if (hart_backend_open("opencl", &g_cl, why, sizeof why) != HART_OK) {
        test_skip_part("test_block_mask: no usable OpenCL device (%s)", hart_errmsg());
        g_cl = NULL;
    } else {
        printf("OpenCL: %s\n", why);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_inputs),     cmocka_unit_test(test_large_inputs),
        cmocka_unit_test(test_tied_inputs),
        cmocka_unit_test(test_ties_by_hand),      cmocka_unit_test(test_fix_truncates),
        cmocka_unit_test(test_sparse_call_density),
        cmocka_unit_test(test_bad_operands),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    hart_backend_close(g_cl);
    return rc;
}

/* PoCL keeps some allocations for the life of the process; they are not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libOpenCL\nleak:pocl\n"; }
