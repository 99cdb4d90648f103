/* The generation loop's sampling ops on every backend (reference, ref64, CPU,
 * OpenCL where a device opens, PoCL here) against the host sampler
 * (models/hart/sampler.h, itself checked against hand values and independent
 * computations in test_sampler_filter / test_sampler_draw) on identical
 * logits and keys:
 * - topk_topp: bit-identical filtered rows; odd vocabularies (1 .. 4099),
 *   heavy ties at the top-k boundary, -inf entries, ±0, top-p boundaries that
 *   fall exactly on a cumulative sum; the kept set also checked by counting.
 * - multinomial: identical tokens from the keyed uniforms (seeds above 2^32,
 *   image indices, steps), on rows filtered as the pipeline filters them.
 * - cfg_mix: bit-identical to hart_cfg_mix.
 * - gumbel_softmax, randn, ddpm_step (continuous outputs): within 8x the
 *   float32 stray measured against the float64 oracle (ref64) on the same
 *   inputs; randn's draws are also checked against hart_gen_normal. */
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
#include "models/hart/sampler.h"
#include "ops/ops.h"
#include "support/test_skip.h"

#define NINF (-INFINITY)
#define MAXB 4

static hart_backend *g_be[MAXB];
static const char *g_name[MAXB];
static int g_n;

static uint32_t lcg(uint32_t *s) { return *s = *s * 1664525u + 1013904223u; }

/* host tensor -> backend be (the reference backend keeps host tensors) */
static hart_tensor up(hart_backend *be, const hart_tensor *h) {
    hart_tensor t;
    if (be == hart_backend_ref()) {
        assert_int_equal(hart_tensor_to(NULL, h, &t), HART_OK);
        t.be = be;
    } else
        assert_int_equal(hart_tensor_to(be == hart_backend_cpu() ? NULL : be, h, &t), HART_OK);
    return t;
}

static hart_tensor empty(hart_backend *be, hart_dtype dt, int nd, const int64_t *s) {
    hart_tensor t;
    int host = be == hart_backend_ref() || be == hart_backend_cpu();
    assert_int_equal(hart_tensor_new(host ? NULL : be, dt, nd, s, &t), HART_OK);
    if (be == hart_backend_ref()) t.be = be;
    return t;
}

static void down(const hart_tensor *t, void *dst) {
    hart_tensor h;
    assert_int_equal(hart_tensor_to(NULL, t, &h), HART_OK);
    memcpy(dst, h.data, hart_tensor_nbytes(&h));
    hart_tensor_free(&h);
}

/* a row with many ties: values from a small set, some -inf, ±0 */
static void tie_row(float *r, int V, uint32_t *s, int levels) {
    for (int i = 0; i < V; i++) {
        uint32_t u = lcg(s) >> 8;
        if (u % 23 == 0) r[i] = NINF;
        else if (u % 29 == 0) r[i] = (u & 1) ? -0.0f : 0.0f;
        else r[i] = (float)((int)(u % (uint32_t)levels) - levels / 2) * 0.37f;
    }
}

static void smooth_row(float *r, int V, uint32_t *s) {
    for (int i = 0; i < V; i++) r[i] = (float)((double)(lcg(s) >> 8) / 16777216.0 * 12.0 - 6.0);
}

/* Every backend's topk_topp on rows [R, V] equals the host filter bit for
 * bit (out of place and in place). */
static void check_filter(const float *x, int R, int V, int k, double p, const char *what) {
    size_t n = (size_t)R * V;
    float *want = malloc(sizeof(float) * n), *got = malloc(sizeof(float) * n);
    memcpy(want, x, sizeof(float) * n);
    for (int r = 0; r < R; r++) assert_int_equal(hart_filter_top_k_top_p(want + (size_t)r * V, V, k, p), HART_OK);
    hart_tensor h = hart_tensor_wrap((void *)x, HART_F32, 2, (int64_t[]){R, V});
    for (int b = 0; b < g_n; b++)
        for (int inplace = 0; inplace < 2; inplace++) {
            hart_tensor xd = up(g_be[b], &h), yd = inplace ? xd : empty(g_be[b], HART_F32, 2, h.shape);
            assert_int_equal(hart_op_topk_topp(&yd, &xd, k, p), HART_OK);
            down(&yd, got);
            if (memcmp(got, want, sizeof(float) * n)) {
                for (size_t i = 0; i < n; i++)
                    if (memcmp(&got[i], &want[i], sizeof(float)))
                        fail_msg("%s: topk_topp %s (V %d k %d p %g%s): element %zu (row %zu) %g, host %g", g_name[b],
                                 what, V, k, p, inplace ? ", in place" : "", i, i / (size_t)V, got[i], want[i]);
            }
            if (!inplace) hart_tensor_free(&yd);
            hart_tensor_free(&xd);
        }
    free(want);
    free(got);
}

static void test_topk_ties_and_odd_sizes(void **st) {
    (void)st;
    const int Vs[] = {1, 3, 17, 257, 600, 1031, 4099};
    uint32_t s = 99;
    for (size_t vi = 0; vi < sizeof Vs / sizeof Vs[0]; vi++) {
        int V = Vs[vi], R = V > 1000 ? 3 : 7;
        float *x = malloc(sizeof(float) * (size_t)R * V);
        for (int r = 0; r < R; r++) tie_row(x + (size_t)r * V, V, &s, r % 2 ? 5 : 40);
        const int ks[] = {0, 1, 2, V / 3 + 1, V - 1, V, V + 5};
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) check_filter(x, R, V, ks[ki], 0, "ties");
        /* the kept set by counting: an entry stays iff fewer than k are larger */
        int k = V / 3 + 1;
        float *y = malloc(sizeof(float) * (size_t)V);
        memcpy(y, x, sizeof(float) * (size_t)V);
        assert_int_equal(hart_filter_top_k_top_p(y, V, k, 0), HART_OK);
        for (int i = 0; i < V; i++) {
            if (x[i] == NINF) continue; /* removed or kept, it stays -inf */
            int greater = 0;
            for (int j = 0; j < V; j++) greater += x[j] > x[i];
            assert_int_equal(y[i] != NINF, k >= V || greater < k);
        }
        free(y);
        free(x);
    }
}

static void test_topp_boundaries(void **st) {
    (void)st;
    /* equal logits: weights exactly 2^40 each, so the cumulative sums hit
     * LIM exactly at p = 1/2, 1/4, 3/4 (the entry on the boundary goes) */
    float eq[8];
    for (int i = 0; i < 8; i++) eq[i] = 1.5f;
    const double ps[] = {0.5, 0.25, 0.75, 0.125, 1e-9, 0.999999};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) check_filter(eq, 1, 8, 0, ps[i], "equal logits");
    /* smooth and tied rows, top-p alone and after top-k, odd sizes */
    uint32_t s = 5;
    const int Vs[] = {2, 5, 63, 600, 1031};
    for (size_t vi = 0; vi < sizeof Vs / sizeof Vs[0]; vi++) {
        int V = Vs[vi], R = 5;
        float *x = malloc(sizeof(float) * (size_t)R * V);
        for (int r = 0; r < R; r++) {
            if (r % 2) tie_row(x + (size_t)r * V, V, &s, 9);
            else smooth_row(x + (size_t)r * V, V, &s);
        }
        const double pp[] = {0.05, 0.5, 0.9, 0.99};
        for (size_t pi = 0; pi < sizeof pp / sizeof pp[0]; pi++) {
            check_filter(x, R, V, 0, pp[pi], "top-p");
            check_filter(x, R, V, V / 2 + 1, pp[pi], "top-k then top-p");
        }
        free(x);
    }
}

/* keys I64 [B,2]: seeds above 2^32 and nonzero image indices */
static void make_keys(int64_t *k, int B) {
    for (int b = 0; b < B; b++) {
        k[2 * b] = (int64_t)(0x1234567890ull + 977ull * (uint64_t)b);
        k[2 * b + 1] = 3 + 5 * b;
    }
}

static void test_multinomial_same_tokens(void **st) {
    (void)st;
    const int Vs[] = {1, 7, 300, 1031, 4099};
    uint32_t s = 31;
    for (size_t vi = 0; vi < sizeof Vs / sizeof Vs[0]; vi++) {
        int V = Vs[vi], B = 2, L = V > 1000 ? 9 : 33, step = (int)vi + 2;
        size_t n = (size_t)B * L * V;
        float *x = malloc(sizeof(float) * n);
        for (size_t r = 0; r < (size_t)B * L; r++) {
            if (r % 3 == 0) tie_row(x + r * V, V, &s, 6);
            else smooth_row(x + r * V, V, &s);
            /* as the pipeline does: filtered first (top-k 600 / 300, some top-p) */
            assert_int_equal(hart_filter_top_k_top_p(x + r * V, V, r % 2 ? 600 : 300, r % 4 == 1 ? 0.8 : 0), HART_OK);
        }
        int64_t keys[2 * 2], want[2 * 33], got[2 * 33];
        make_keys(keys, B);
        for (int b = 0; b < B; b++)
            for (int j = 0; j < L; j++)
                want[b * L + j] = hart_sample_categorical(x + ((size_t)b * L + j) * V, V,
                                                          hart_gen_uniform((uint64_t)keys[2 * b], (uint32_t)keys[2 * b + 1],
                                                                           HART_SITE_TOKENS, (uint32_t)step, (uint64_t)j));
        hart_tensor xh = hart_tensor_wrap(x, HART_F32, 3, (int64_t[]){B, L, V});
        hart_tensor kh = hart_tensor_wrap(keys, HART_I64, 2, (int64_t[]){B, 2});
        for (int b = 0; b < g_n; b++) {
            hart_tensor xd = up(g_be[b], &xh), kd = up(g_be[b], &kh), id = empty(g_be[b], HART_I64, 2, (int64_t[]){B, L});
            assert_int_equal(hart_op_multinomial(&id, &xd, &kd, HART_SITE_TOKENS, step), HART_OK);
            down(&id, got);
            for (int i = 0; i < B * L; i++)
                if (got[i] != want[i]) fail_msg("%s: multinomial V %d row %d: token %lld, host %lld", g_name[b], V, i,
                                                (long long)got[i], (long long)want[i]);
            hart_tensor_free(&xd); hart_tensor_free(&kd); hart_tensor_free(&id);
        }
        free(x);
    }
}

static void test_cfg_mix_bitwise(void **st) {
    (void)st;
    int B = 3, n = 1031;
    float *x = malloc(sizeof(float) * 2 * B * n), *want = malloc(sizeof(float) * B * n), *got = malloc(sizeof(float) * B * n);
    uint32_t s = 7;
    smooth_row(x, 2 * B * n, &s);
    const double ts[] = {0, 0.45, 4.5 * 7 / 9, 3.0000001};
    for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
        for (int b = 0; b < B; b++)
            hart_cfg_mix(want + (size_t)b * n, x + (size_t)b * n, x + (size_t)(b + B) * n, n, ts[ti]);
        hart_tensor xh = hart_tensor_wrap(x, HART_F32, 2, (int64_t[]){2 * B, n});
        for (int b = 0; b < g_n; b++) {
            if (g_be[b] == hart_backend_ref64()) continue; /* mixes in double by design */
            hart_tensor xd = up(g_be[b], &xh), yd = empty(g_be[b], HART_F32, 2, (int64_t[]){B, n});
            assert_int_equal(hart_op_cfg_mix(&yd, &xd, ts[ti]), HART_OK);
            down(&yd, got);
            if (memcmp(got, want, sizeof(float) * B * n)) fail_msg("%s: cfg_mix t %g differs from hart_cfg_mix", g_name[b], ts[ti]);
            hart_tensor_free(&xd); hart_tensor_free(&yd);
        }
    }
    free(x); free(want); free(got);
}

/* max |a - b| over max |b| */
static double rel_err(const float *a, const float *b, size_t n) {
    double m = 0, e = 0;
    for (size_t i = 0; i < n; i++) {
        m = fmax(m, fabs((double)b[i]));
        e = fmax(e, fabs((double)a[i] - (double)b[i]));
    }
    return m > 0 ? e / m : e;
}

typedef hart_status (*cont_op)(hart_backend *be, const hart_tensor *in, int nin, hart_tensor *y);

/* run op on every backend; each float32 backend within 8x (at least 1e-6)
 * of the worst float32 backend's stray... measured against ref64 */
static void check_continuous(const char *name, cont_op f, const hart_tensor *in, int nin, int nd, const int64_t *ys) {
    hart_tensor y64h;
    {
        hart_backend *be = hart_backend_ref64();
        hart_tensor d[4], y = empty(be, HART_F32, nd, ys);
        for (int i = 0; i < nin; i++) d[i] = up(be, &in[i]);
        assert_int_equal(f(be, d, nin, &y), HART_OK);
        assert_int_equal(hart_tensor_to(NULL, &y, &y64h), HART_OK);
        for (int i = 0; i < nin; i++) hart_tensor_free(&d[i]);
        hart_tensor_free(&y);
    }
    size_t n = (size_t)hart_tensor_numel(&y64h);
    double ref_stray = -1;
    float *got = malloc(sizeof(float) * n);
    for (int b = 0; b < g_n; b++) {
        if (g_be[b] == hart_backend_ref64()) continue;
        hart_tensor d[4], y = empty(g_be[b], HART_F32, nd, ys);
        for (int i = 0; i < nin; i++) d[i] = up(g_be[b], &in[i]);
        assert_int_equal(f(g_be[b], d, nin, &y), HART_OK);
        down(&y, got);
        double e = rel_err(got, y64h.data, n);
        if (g_be[b] == hart_backend_ref()) ref_stray = e; /* the float32 reference: the measured stray */
        double lim = 8 * fmax(ref_stray, 1e-7);
        printf("  %s on %s: %.2e vs float64 (limit %.2e)\n", name, g_name[b], e, lim);
        assert_true(ref_stray >= 0 && e <= lim);
        for (int i = 0; i < nin; i++) hart_tensor_free(&d[i]);
        hart_tensor_free(&y);
    }
    free(got);
    hart_tensor_free(&y64h);
}

static hart_status f_gumbel(hart_backend *be, const hart_tensor *in, int nin, hart_tensor *y) {
    return hart_op_gumbel_softmax(y, &in[0], &in[1], 1.4f, 0.2f, HART_SITE_SMOOTH, 3);
}
static hart_status f_randn(hart_backend *be, const hart_tensor *in, int nin, hart_tensor *y) {
    return hart_op_randn(y, &in[0], HART_SITE_DIFF, 4);
}
static const hart_ddpm_coef k_ddpm = {1, 2.5f, 1.5f, -7.1f, -2.3f, 1.02f, 0.21f, 0.43f, 0.55f, 1.0f, 0.9f};
static hart_status f_ddpm(hart_backend *be, const hart_tensor *in, int nin, hart_tensor *y) {
    HART_TRY(hart_op_copy(y, &in[0]));
    return hart_op_ddpm_step(y, &in[1], &in[2], &k_ddpm);
}

static void test_continuous_ops(void **st) {
    (void)st;
    uint32_t s = 17;
    /* Gumbel-softmax on filtered rows [2, 5, 603] */
    int B = 2, L = 5, V = 603;
    float *x = malloc(sizeof(float) * B * L * V);
    for (int r = 0; r < B * L; r++) {
        smooth_row(x + (size_t)r * V, V, &s);
        assert_int_equal(hart_filter_top_k_top_p(x + (size_t)r * V, V, 200, 0), HART_OK);
    }
    int64_t keys[8];
    make_keys(keys, 4);
    hart_tensor in[3];
    in[0] = hart_tensor_wrap(x, HART_F32, 3, (int64_t[]){B, L, V});
    in[1] = hart_tensor_wrap(keys, HART_I64, 2, (int64_t[]){B, 2});
    check_continuous("gumbel_softmax", f_gumbel, in, 2, 3, (int64_t[]){B, L, V});
    free(x);
    /* randn [2, 3, 7, 5], also against hart_gen_normal element by element */
    in[0] = hart_tensor_wrap(keys, HART_I64, 2, (int64_t[]){3, 2});
    check_continuous("randn", f_randn, in, 1, 4, (int64_t[]){2, 3, 7, 5});
    {
        hart_tensor y = empty(hart_backend_cpu(), HART_F32, 4, (int64_t[]){2, 3, 7, 5});
        assert_int_equal(hart_op_randn(&y, &in[0], HART_SITE_DIFF, 4), HART_OK);
        const float *v = y.data;
        for (int h = 0; h < 2; h++)
            for (int b = 0; b < 3; b++)
                for (int t = 0; t < 7; t++)
                    for (int c = 0; c < 5; c++)
                        assert_true(v[((h * 3 + b) * 7 + t) * 5 + c] ==
                                    hart_gen_normal((uint64_t)keys[2 * b], (uint32_t)keys[2 * b + 1], HART_SITE_DIFF, 4,
                                                    (uint64_t)(h * 35 + t * 5 + c)));
        hart_tensor_free(&y);
    }
    /* ddpm_step, guided, n = 6 rows of C = 13 */
    int n = 6, C = 13;
    float *xs = malloc(sizeof(float) * n * C), *mo = malloc(sizeof(float) * n * 2 * C), *nz = malloc(sizeof(float) * n * C);
    smooth_row(xs, n * C, &s);
    smooth_row(mo, n * 2 * C, &s);
    smooth_row(nz, n * C, &s);
    for (int i = 0; i < n * 2 * C; i++) mo[i] /= 6;
    in[0] = hart_tensor_wrap(xs, HART_F32, 2, (int64_t[]){n, C});
    in[1] = hart_tensor_wrap(mo, HART_F32, 2, (int64_t[]){n, 2 * C});
    in[2] = hart_tensor_wrap(nz, HART_F32, 2, (int64_t[]){n, C});
    check_continuous("ddpm_step", f_ddpm, in, 3, 2, (int64_t[]){n, C});
    free(xs); free(mo); free(nz);
}

int main(void) {
    g_be[g_n] = hart_backend_ref(); g_name[g_n++] = "ref";
    g_be[g_n] = hart_backend_ref64(); g_name[g_n++] = "ref64";
    g_be[g_n] = hart_backend_cpu(); g_name[g_n++] = "cpu";
    char why[512];
    hart_backend *cl = NULL;
    if (hart_opencl_list(stdout) == 0)
        test_skip_part("test_sampler_device: no OpenCL platform/device; the OpenCL sampler is not tested");
    else if (hart_backend_open("opencl", &cl, why, sizeof why) != HART_OK)
        test_skip_part("test_sampler_device: no usable OpenCL device (%s)", hart_errmsg());
    else {
        printf("testing %s\n", why);
        g_be[g_n] = cl; g_name[g_n++] = "opencl";
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topk_ties_and_odd_sizes), cmocka_unit_test(test_topp_boundaries),
        cmocka_unit_test(test_multinomial_same_tokens), cmocka_unit_test(test_cfg_mix_bitwise),
        cmocka_unit_test(test_continuous_ops),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    hart_backend_close(cl);
    return rc;
}

/* PoCL keeps some allocations for the life of the process; they are not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libOpenCL\n"; }
