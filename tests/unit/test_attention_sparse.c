/* Block-sparse attention (op attention_sparse) on every backend against an
 * independent oracle: the float64 reference's DENSE attention with the
 * block mask written into the additive mask as -inf. Odd sizes, block sizes
 * that divide nothing, broadcast block masks, padding masks with -inf
 * columns, query blocks with every tile skipped (rows -> zeros), GQA.
 *
 * Tolerance from measurement (tests/support/golden_check.h): a backend's
 * sparse result may be GOLDEN_STRAY_MULTIPLE x max(stray, FLT_EPSILON) from
 * the oracle, stray = how far that backend's own dense attention with the
 * same combined mask is from the oracle. All tiles kept must equal the dense
 * op bit for bit (CPU with 64-row query blocks, reference, OpenCL). */
#include <float.h>
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
#include "ops/ops.h"
#include "support/golden.h"
#include "support/golden_check.h"
#include "support/test_skip.h"

#define CHECK_OK(x) assert_int_equal((x), HART_OK)

static hart_backend *g_cl;
static double g_worst_ratio;

typedef struct {
    int64_t B, H, Hkv, Lq, Lk, D;
    int bq, bk;
    int bb, bh;   /* block mask batch/head dims are B/H (1) or broadcast (0) */
    int padding;  /* additive mask [B,1,Lq,Lk] with -inf padding columns */
} acase;

static hart_tensor host(hart_dtype dt, int64_t a, int64_t b, int64_t c, int64_t d) {
    hart_tensor t;
    CHECK_OK(hart_tensor_new4(NULL, dt, &t, 4, a, b, c, d));
    return t;
}

/* copy of host tensor h for backend be (host tensors for ref and cpu) */
static hart_tensor on(hart_backend *be, const hart_tensor *h) {
    hart_tensor t;
    if (be == hart_backend_cpu() || be == hart_backend_ref()) {
        CHECK_OK(hart_tensor_to(NULL, h, &t));
        t.be = be == hart_backend_ref() ? be : NULL;
    } else {
        CHECK_OK(hart_tensor_to(be, h, &t));
    }
    return t;
}

static void drop(hart_tensor *t) {
    t->be = t->data && t->be == hart_backend_ref() ? NULL : t->be;
    hart_tensor_free(t);
}

/* out (host floats) = op on backend be; sparse: attention_sparse, else dense attention with mask m */
static void run(hart_backend *be, const hart_tensor *q, const hart_tensor *k, const hart_tensor *v,
                const hart_tensor *m, const hart_tensor *blocks, int bq, int bk, float scale, float *res) {
    hart_tensor qd = on(be, q), kd = on(be, k), vd = on(be, v), md = {0}, bd = {0}, od = on(be, q);
    if (m) md = on(be, m);
    if (blocks) bd = on(be, blocks);
    size_t n = (size_t)hart_tensor_numel(q);
    float *poison = malloc(sizeof(float) * n + 1);
    fill_nan(poison, (int64_t)n);
    CHECK_OK(hart_tensor_write(&od, poison, sizeof(float) * n));
    free(poison);
    if (blocks) CHECK_OK(hart_op_attention_sparse(&od, &qd, &kd, &vd, m ? &md : NULL, &bd, bq, bk, scale));
    else CHECK_OK(hart_op_attention(&od, &qd, &kd, &vd, m ? &md : NULL, scale));
    CHECK_OK(hart_tensor_read_f32(&od, res));
    drop(&qd); drop(&kd); drop(&vd); drop(&od);
    if (m) drop(&md);
    if (blocks) drop(&bd);
}

static void check_case(const acase *c, unsigned seed, int all_kept) {
    hart_tensor q = host(HART_F32, c->B, c->H, c->Lq, c->D), k = host(HART_F32, c->B, c->Hkv, c->Lk, c->D);
    hart_tensor v = host(HART_F32, c->B, c->Hkv, c->Lk, c->D);
    fill_random(q.data, hart_tensor_numel(&q), seed, -2, 2);
    fill_random(k.data, hart_tensor_numel(&k), seed + 1, -2, 2);
    fill_random(v.data, hart_tensor_numel(&v), seed + 2, -1, 1);
    int64_t nqb = (c->Lq + c->bq - 1) / c->bq, nkb = (c->Lk + c->bk - 1) / c->bk;
    int64_t Bb = c->bb ? c->B : 1, Hb = c->bh ? c->H : 1;
    hart_tensor bl = host(HART_U8, Bb, Hb, nqb, nkb);
    uint8_t *bp = bl.data;
    float *r = malloc(sizeof(float) * (size_t)(Bb * Hb * nqb * nkb) + 4);
    fill_random(r, Bb * Hb * nqb * nkb, seed + 3, 0, 1);
    for (int64_t i = 0; i < Bb * Hb * nqb * nkb; i++) bp[i] = all_kept || r[i] < 0.55f;
    if (!all_kept && nqb > 1) memset(bp + nkb, 0, (size_t)nkb); /* query block 1 of (0, 0): nothing kept */
    free(r);
    /* padding mask: random small biases, the last key of every other image and key 0 of image 0 are padding */
    hart_tensor pm = host(HART_F32, c->B, 1, c->Lq, c->Lk);
    fill_random(pm.data, hart_tensor_numel(&pm), seed + 4, -0.5f, 0.5f);
    float *pmv = pm.data;
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t i = 0; i < c->Lq; i++) {
            if (b % 2 == 1) pmv[(b * c->Lq + i) * c->Lk + c->Lk - 1] = -INFINITY;
            if (b == 0 && c->Lk > 1) pmv[(b * c->Lq + i) * c->Lk] = -INFINITY;
        }
    /* the oracle's mask: padding + block mask as -inf, [B, H, Lq, Lk] */
    hart_tensor om = host(HART_F32, c->B, c->H, c->Lq, c->Lk);
    float *omv = om.data;
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t h = 0; h < c->H; h++)
            for (int64_t i = 0; i < c->Lq; i++)
                for (int64_t j = 0; j < c->Lk; j++) {
                    int64_t bb = c->bb ? b : 0, bh = c->bh ? h : 0;
                    int keep = bp[((bb * Hb + bh) * nqb + i / c->bq) * nkb + j / c->bk];
                    float add = c->padding ? pmv[(b * c->Lq + i) * c->Lk + j] : 0.0f;
                    omv[((b * c->H + h) * c->Lq + i) * c->Lk + j] = keep ? add : -INFINITY;
                }
    size_t n = (size_t)hart_tensor_numel(&q);
    float *want = malloc(sizeof(float) * n + 4), *dense = malloc(sizeof(float) * n + 4),
          *got = malloc(sizeof(float) * n + 4);
    float scale = 1.0f / sqrtf((float)c->D);
    run(golden_oracle(), &q, &k, &v, &om, NULL, 0, 0, scale, want);
    hart_backend *bes[3] = {hart_backend_ref(), hart_backend_cpu(), g_cl};
    const char *names[3] = {"ref", "cpu", "opencl"};
    for (int i = 0; i < 3; i++) {
        if (!bes[i]) continue;
        run(bes[i], &q, &k, &v, &om, NULL, 0, 0, scale, dense);
        run(bes[i], &q, &k, &v, c->padding ? &pm : NULL, &bl, c->bq, c->bk, scale, got);
        double stray = rel_err(dense, want, (int64_t)n), e = rel_err(got, want, (int64_t)n);
        double lim = golden_limit(stray);
        for (size_t x = 0; x < n; x++) assert_false(isnan(got[x]));
        if (e / lim > g_worst_ratio) g_worst_ratio = e / lim;
        if (!(e <= lim))
            printf("  FAIL %s B%lld H%lld/%lld Lq%lld Lk%lld D%lld blocks %dx%d: rel %.3g > limit %.3g (dense stray %.3g)\n",
                   names[i], (long long)c->B, (long long)c->H, (long long)c->Hkv, (long long)c->Lq, (long long)c->Lk,
                   (long long)c->D, c->bq, c->bk, e, lim, stray);
        assert_true(e <= lim);
        if (!all_kept && nqb > 1) /* the fully skipped query block: zeros */
            for (int64_t x = c->bq * c->D; x < c->D * (c->Lq < 2 * c->bq ? c->Lq : 2 * c->bq); x++)
                assert_true(got[x] == 0.0f);
        /* all kept: the dense op's result, bit for bit (where the CPU runs it: with 64-row query blocks;
         * OpenCL hands head dims over 128 to the CPU) */
        int on_cpu = i == 1 || (i == 2 && c->D > 128);
        if (all_kept && (!on_cpu || c->bq == 64)) {
            run(bes[i], &q, &k, &v, c->padding ? &pm : NULL, NULL, 0, 0, scale, dense);
            if (memcmp(dense, got, sizeof(float) * n))
                printf("  FAIL %s D%lld blocks %dx%d: all tiles kept differs from dense attention\n", names[i],
                       (long long)c->D, c->bq, c->bk);
            assert_memory_equal(dense, got, sizeof(float) * n);
        }
    }
    free(want); free(dense); free(got);
    hart_tensor_free(&q); hart_tensor_free(&k); hart_tensor_free(&v); hart_tensor_free(&bl);
    hart_tensor_free(&pm); hart_tensor_free(&om);
}

static const acase CASES[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0},       {2, 4, 2, 17, 67, 3, 5, 7, 1, 1, 1},
    {1, 3, 3, 67, 130, 64, 64, 64, 0, 1, 1}, {2, 2, 1, 130, 300, 40, 64, 32, 1, 0, 1},
    {1, 2, 2, 70, 129, 16, 13, 17, 1, 1, 0}, {2, 3, 3, 33, 19, 128, 8, 8, 0, 0, 1},
    {1, 1, 1, 129, 200, 64, 64, 100, 0, 0, 1}, {1, 2, 2, 64, 70, 130, 16, 16, 1, 1, 1}, /* D 130: OpenCL runs it on the CPU */
    /* the tensor-core kernel's shapes (HART_CL_TENSOR_CORES=1): 64-key tiles (D 64) listed per 64- or
     * 128-row work-group, over 32 tiles (two rounds of the kept-tile compaction), blocks that straddle
     * tiles (mixed tiles), D 128 with 32-key tiles, GQA */
    {2, 3, 3, 300, 700, 64, 64, 64, 1, 1, 1}, {1, 2, 2, 130, 2200, 64, 64, 64, 0, 1, 0},
    {1, 2, 2, 100, 260, 64, 16, 24, 1, 1, 1}, {2, 2, 1, 130, 300, 128, 64, 32, 1, 0, 1},
};

static void test_sparse_vs_oracle(void **st) {
    (void)st;
    unsigned seed = 4100;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++, seed += 10) check_case(&CASES[i], seed, 0);
}

static void test_all_kept_is_dense(void **st) {
    (void)st;
    unsigned seed = 5100;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++, seed += 10) check_case(&CASES[i], seed, 1);
}

static void test_bad_operands(void **st) {
    (void)st;
    hart_tensor q = host(HART_F32, 1, 2, 10, 8), k = host(HART_F32, 1, 2, 20, 8), o = host(HART_F32, 1, 2, 10, 8);
    hart_tensor good = host(HART_U8, 1, 1, 2, 3), wrong = host(HART_U8, 1, 1, 2, 2), f = host(HART_F32, 1, 1, 2, 3);
    memset(good.data, 1, 6);
    CHECK_OK(hart_op_attention_sparse(&o, &q, &k, &k, NULL, &good, 8, 8, 1.0f));
    assert_int_equal(hart_op_attention_sparse(&o, &q, &k, &k, NULL, &wrong, 8, 8, 1.0f), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "block mask must be"));
    assert_int_equal(hart_op_attention_sparse(&o, &q, &k, &k, NULL, &f, 8, 8, 1.0f), HART_EINVAL);
    assert_int_equal(hart_op_attention_sparse(&o, &q, &k, &k, NULL, NULL, 8, 8, 1.0f), HART_EINVAL);
    assert_int_equal(hart_op_attention_sparse(&o, &q, &k, &k, NULL, &good, 0, 8, 1.0f), HART_EINVAL);
    hart_tensor_free(&q); hart_tensor_free(&k); hart_tensor_free(&o);
    hart_tensor_free(&good); hart_tensor_free(&wrong); hart_tensor_free(&f);
}

int main(void) {
    char why[512];
    if (hart_opencl_list(stdout) == 0) {
        test_skip_part("test_attention_sparse: no OpenCL device; the OpenCL kernel is not tested");
    } else if (hart_backend_open("opencl", &g_cl, why, sizeof why) != HART_OK) {
        test_skip_part("test_attention_sparse: no usable OpenCL device (%s)", hart_errmsg());
        g_cl = NULL;
    } else {
        /* the portable kernel serves both ops; with $HART_CL_TENSOR_CORES=1 (NVIDIA) both take the
         * tensor-core flash kernel (flash_nv.cl), whose dense and all-kept results must agree bit for bit */
        const char *tc = getenv("HART_CL_TENSOR_CORES");
        if (hart_opencl_set_tensor_cores(g_cl, tc && atoi(tc)))
            printf("tensor cores ON: attention and attention_sparse on flash_nv.cl\n");
        printf("OpenCL: %s\n", why);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sparse_vs_oracle),
        cmocka_unit_test(test_all_kept_is_dense),
        cmocka_unit_test(test_bad_operands),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    printf("worst error / limit over all checks: %.3f\n", g_worst_ratio);
    hart_backend_close(g_cl);
    return rc;
}

/* PoCL keeps some allocations for the life of the process; they are not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libOpenCL\nleak:pocl\n"; }
