/* Sampling helpers: guidance ramp and mix, top-k / top-p filtering,
 * categorical draw, Gumbel smoothing, keyed random draws (hand-computed
 * expectations). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "models/hart/diffusion_head.h"
#include "models/hart/sampler.h"

static void test_cfg_ramp_and_mix(void **st) {
    (void)st;
    assert_float_equal(hart_cfg_ramp(4.5, 0, 6), 0.0, 0);
    assert_float_equal(hart_cfg_ramp(4.5, 2, 6), 4.5 * 2 / 5, 1e-12);
    assert_float_equal(hart_cfg_ramp(4.5, 4, 6), 3.6, 1e-12);
    assert_float_equal(hart_cfg_ramp(4.5, 5, 6), 3.6, 1e-12); /* last scale reuses S-2 */
    float c[2] = {1, 2}, u[2] = {3, -1}, o[2];
    hart_cfg_mix(o, c, u, 2, 0.5);
    assert_float_equal(o[0], 1.5f * 1 - 0.5f * 3, 1e-6);
    assert_float_equal(o[1], 1.5f * 2 + 0.5f, 1e-6);
}

static void test_topk_schedule(void **st) {
    (void)st;
    assert_int_equal(hart_topk_for_scale(0, 0, 4096), 600);
    assert_int_equal(hart_topk_for_scale(6, 0, 4096), 600);
    assert_int_equal(hart_topk_for_scale(7, 0, 4096), 300);
    assert_int_equal(hart_topk_for_scale(3, 50, 4096), 50);
    assert_int_equal(hart_topk_for_scale(3, 0, 100), 100);
}

static void test_topk_ties(void **st) {
    (void)st;
    float l[4] = {1, 3, 3, 2};
    assert_int_equal(hart_filter_top_k_top_p(l, 4, 2, 0), HART_OK);
    assert_true(isinf(l[0]) && l[0] < 0);
    assert_float_equal(l[1], 3, 0);
    assert_float_equal(l[2], 3, 0);
    assert_true(isinf(l[3]));
    float m[5] = {5, 1, 4, 2, 3};
    assert_int_equal(hart_filter_top_k_top_p(m, 5, 3, 0), HART_OK);
    assert_float_equal(m[0], 5, 0);
    assert_true(isinf(m[1]));
    assert_float_equal(m[2], 4, 0);
    assert_true(isinf(m[3]));
    assert_float_equal(m[4], 3, 0);
}

static void test_topp(void **st) {
    (void)st;
    float l[4] = {logf(0.1f), logf(0.2f), logf(0.3f), logf(0.4f)};
    assert_int_equal(hart_filter_top_k_top_p(l, 4, 0, 0.5), HART_OK);
    assert_true(isinf(l[0]) && isinf(l[1]));
    assert_false(isinf(l[2]) || isinf(l[3]));
    float m[3] = {0, 0, 10}; /* the largest is always kept */
    assert_int_equal(hart_filter_top_k_top_p(m, 3, 0, 1e-9), HART_OK);
    assert_true(isinf(m[0]) && isinf(m[1]));
    assert_float_equal(m[2], 10, 0);
}

static void test_bad_logits(void **st) {
    (void)st;
    float l[3] = {0, NAN, 1};
    assert_int_equal(hart_filter_top_k_top_p(l, 3, 2, 0), HART_EINVAL);
}

static void test_categorical(void **st) {
    (void)st;
    float l[3] = {logf(0.25f), -INFINITY, logf(0.75f)};
    assert_int_equal(hart_sample_categorical(l, 3, 0.2), 0);
    assert_int_equal(hart_sample_categorical(l, 3, 0.3), 2);
    assert_int_equal(hart_sample_categorical(l, 3, 0.999999), 2);
    float only[2] = {-INFINITY, 0};
    assert_int_equal(hart_sample_categorical(only, 2, 0.0), 1);
}

static void test_gumbel_equal_noise(void **st) {
    (void)st;
    /* equal uniforms: the Gumbel terms cancel, probs = softmax(logits*scale/tau) */
    float l[3] = {0, 1, -INFINITY}, p[3];
    double u[3] = {0.5, 0.5, 0.5};
    hart_gumbel_softmax(p, l, 3, 2.0f, 0.5f, u);
    double e = exp(4.0);
    assert_float_equal(p[0], 1 / (1 + e), 1e-6);
    assert_float_equal(p[1], e / (1 + e), 1e-6);
    assert_float_equal(p[2], 0, 0);
}

static void test_rng_keyed(void **st) {
    (void)st;
    assert_true(hart_gen_uniform(7, 0, HART_SITE_TOKENS, 3, 11) == hart_gen_uniform(7, 0, HART_SITE_TOKENS, 3, 11));
    assert_true(hart_gen_uniform(7, 0, HART_SITE_TOKENS, 3, 11) != hart_gen_uniform(7, 1, HART_SITE_TOKENS, 3, 11));
    assert_true(hart_gen_uniform(7, 0, HART_SITE_TOKENS, 3, 11) != hart_gen_uniform(7, 0, HART_SITE_DIFF, 3, 11));
    assert_true(hart_gen_uniform(7, 0, HART_SITE_TOKENS, 3, 11) != hart_gen_uniform(8, 0, HART_SITE_TOKENS, 3, 11));
    double s = 0, s2 = 0, m = 0;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        double u = hart_gen_uniform(1, 2, HART_SITE_TOKENS, 0, (uint64_t)i);
        assert_true(u >= 0 && u < 1);
        m += u;
        double z = hart_gen_normal(1, 2, HART_SITE_DIFF, 1, (uint64_t)i);
        s += z;
        s2 += z * z;
    }
    assert_float_equal(m / n, 0.5, 0.01);
    assert_float_equal(s / n, 0.0, 0.03);
    assert_float_equal(s2 / n, 1.0, 0.03);
}

static void test_respacing(void **st) {
    (void)st;
    int t[1000], n;
    assert_int_equal(hart_diff_respace("ddim10", t, 1000, &n), HART_OK);
    assert_int_equal(n, 10);
    for (int i = 0; i < 10; i++) assert_int_equal(t[i], 100 * i);
    /* two sections of 500: strides 499/9 and 499/4 (249.5 rounds to 250: half to even) */
    int want[15] = {0, 55, 111, 166, 222, 277, 333, 388, 444, 499, 500, 625, 750, 874, 999};
    assert_int_equal(hart_diff_respace("10,5", t, 1000, &n), HART_OK);
    assert_int_equal(n, 15);
    for (int i = 0; i < 15; i++) assert_int_equal(t[i], want[i]);
    assert_int_equal(hart_diff_respace("8", t, 1000, &n), HART_OK);
    assert_int_equal(n, 8);
    assert_int_equal(t[0], 0);
    assert_int_equal(t[7], 999);
    assert_int_equal(hart_diff_respace("abc", t, 1000, &n), HART_EFORMAT);
    assert_int_equal(hart_diff_respace("2000", t, 1000, &n), HART_EFORMAT);
    assert_int_equal(hart_diff_respace("ddim999", t, 1000, &n), HART_EFORMAT);
}

/* The frequency table is exp(-ln(10000)·i/128) within one ulp everywhere. */
static void test_time_freqs(void **st) {
    (void)st;
    const float *f = hart_diff_time_freqs();
    int exact = 0;
    for (int i = 0; i < 128; i++) {
        float e = expf((float)(-log(10000.0)) * (float)i / 128.0f);
        assert_true(f[i] == e || f[i] == nextafterf(e, 2.0f) || f[i] == nextafterf(e, 0.0f));
        exact += f[i] == e;
    }
    assert_true(exact >= 120);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cfg_ramp_and_mix), cmocka_unit_test(test_topk_schedule),
        cmocka_unit_test(test_topk_ties),        cmocka_unit_test(test_topp),
        cmocka_unit_test(test_bad_logits),       cmocka_unit_test(test_categorical),
        cmocka_unit_test(test_gumbel_equal_noise), cmocka_unit_test(test_rng_keyed),
        cmocka_unit_test(test_respacing),   cmocka_unit_test(test_time_freqs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
