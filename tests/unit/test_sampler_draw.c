/* HART's random choices: the categorical draw (inverse CDF of one uniform;
 * interval convention at the boundaries), the keyed Philox uniforms it is fed
 * with (layout from core/rng.h recomputed here from the raw Philox block;
 * reproducibility and independence per (seed, image, site, step); image i
 * alone == image i in a batch), and the "more smooth" Gumbel-softmax path
 * (against a double-precision recomputation and the Gumbel-max property).
 * Expectations come from hand values or short independent computations. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/rng.h"
#include "models/hart/sampler.h"

#define NINF (-INFINITY)

/* Token i is chosen iff C(i-1) <= u < C(i) with C the cumulative
 * probabilities in index order (removed tokens have an empty interval). */
static void test_categorical_intervals(void **st) {
    (void)st;
    float l[4] = {0, 0, 0, 0}; /* 1/4 each: boundaries 0.25, 0.5, 0.75 are exact */
    assert_int_equal(hart_sample_categorical(l, 4, 0.0), 0);
    assert_int_equal(hart_sample_categorical(l, 4, nextafter(0.25, 0)), 0);
    assert_int_equal(hart_sample_categorical(l, 4, 0.25), 1); /* boundary belongs to the next token */
    assert_int_equal(hart_sample_categorical(l, 4, 0.5), 2);
    assert_int_equal(hart_sample_categorical(l, 4, nextafter(0.75, 0)), 2);
    assert_int_equal(hart_sample_categorical(l, 4, 0.75), 3);
    assert_int_equal(hart_sample_categorical(l, 4, 1.0 - 0x1p-24), 3); /* largest 24-bit uniform */
    /* removed tokens are skipped: {-inf, 0, -inf, 0, -inf} is 1/2, 1/2 on 1 and 3 */
    float m[5] = {NINF, 0, NINF, 0, NINF};
    assert_int_equal(hart_sample_categorical(m, 5, 0.0), 1);
    assert_int_equal(hart_sample_categorical(m, 5, nextafter(0.5, 0)), 1);
    assert_int_equal(hart_sample_categorical(m, 5, 0.5), 3);
    assert_int_equal(hart_sample_categorical(m, 5, 1.0 - 0x1p-24), 3);
    /* a single survivor is always chosen; far-apart logits do not overflow */
    float one[3] = {NINF, NINF, 1e30f};
    assert_int_equal(hart_sample_categorical(one, 3, 0.0), 2);
    assert_int_equal(hart_sample_categorical(one, 3, 0.999), 2);
    float big[2] = {-1e30f, 1e30f};
    assert_int_equal(hart_sample_categorical(big, 2, 0.0), 1);
    /* 0.1 0.2 0.3 0.4 with margins: u in [0, .1) -> 0, [.1, .3) -> 1, [.3, .6) -> 2, [.6, 1) -> 3 */
    float q[4] = {logf(1), logf(2), logf(3), logf(4)};
    const double us[8] = {0.05, 0.0999, 0.1001, 0.2999, 0.3001, 0.5999, 0.6001, 0.99};
    const int want[8] = {0, 0, 1, 1, 2, 2, 3, 3};
    for (int i = 0; i < 8; i++) assert_int_equal(hart_sample_categorical(q, 4, us[i]), want[i]);
}

/* The uniform of (seed, image, site, step, index) is word index%4 of the
 * Philox-4x32-10 block with key = seed, counter = (index/4, stream) and
 * stream = image << 32 | site << 16 | step, as 24 bits / 2^24 (core/rng.h). */
static double uniform_by_hand(uint64_t seed, uint32_t image, uint32_t site, uint32_t step, uint64_t index) {
    uint64_t stream = ((uint64_t)image << 32) | ((uint64_t)site << 16) | step, b = index / 4;
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
    uint32_t out[4];
    hart_philox4x32_10(ctr, key, out);
    return (double)(out[index % 4] >> 8) / 16777216.0;
}

static void test_uniform_layout_and_draw(void **st) {
    (void)st;
    const uint64_t seeds[3] = {0, 42, 0x123456789abcdefull};
    for (int si = 0; si < 3; si++)
        for (uint32_t img = 0; img < 3; img++)
            for (uint32_t step = 0; step < 12; step += 5)
                for (uint64_t j = 0; j < 9; j++) {
                    double u = hart_gen_uniform(seeds[si], img, HART_SITE_TOKENS, step, j);
                    assert_true(u == uniform_by_hand(seeds[si], img, HART_SITE_TOKENS, step, j));
                    assert_true(hart_gen_uniform(seeds[si], img, HART_SITE_SMOOTH, step, j) ==
                                uniform_by_hand(seeds[si], img, HART_SITE_SMOOTH, step, j));
                }
    /* the draw picks the token whose cumulative interval holds the keyed uniform */
    float l[5] = {logf(0.05f), logf(0.25f), NINF, logf(0.4f), logf(0.3f)};
    const double cum[5] = {0.05, 0.30, 0.30, 0.70, 1.0};
    for (uint64_t j = 0; j < 200; j++) {
        double u = uniform_by_hand(9, 1, HART_SITE_TOKENS, 2, j);
        int want = 0;
        while (want < 4 && !(u < cum[want])) want++;
        if (fabs(u - 0.05) < 1e-6 || fabs(u - 0.3) < 1e-6 || fabs(u - 0.7) < 1e-6) continue;
        assert_int_equal(hart_sample_categorical(l, 5, hart_gen_uniform(9, 1, HART_SITE_TOKENS, 2, j)), want);
    }
}

/* Frequencies of draws over the keyed stream match the probabilities
 * (within 5 standard deviations). */
static void test_draw_frequencies(void **st) {
    (void)st;
    float l[4] = {logf(0.1f), logf(0.2f), logf(0.3f), logf(0.4f)};
    const double p[4] = {0.1, 0.2, 0.3, 0.4};
    int cnt[4] = {0};
    const int n = 40000;
    for (int j = 0; j < n; j++) cnt[hart_sample_categorical(l, 4, hart_gen_uniform(3, 0, HART_SITE_TOKENS, 0, (uint64_t)j))]++;
    for (int i = 0; i < 4; i++) assert_true(fabs(cnt[i] - n * p[i]) < 5 * sqrt(n * p[i] * (1 - p[i])));
}

/* Image i's draws are a function of its own index only: rendering images
 * 5..7 as a batch (image_index 5, b = 0..2) gives image 6 the draws it gets
 * alone (image_index 6, b = 0), in any order of evaluation; streams of
 * different images, sites, steps and seeds are uncorrelated. */
static void test_streams_batch_and_independence(void **st) {
    (void)st;
    const uint32_t base = 5;
    const int L = 64;
    double alone[64], batch[3][64];
    for (int j = L - 1; j >= 0; j--) alone[j] = hart_gen_uniform(11, 6 + 0, HART_SITE_TOKENS, 4, (uint64_t)j);
    for (uint32_t b = 0; b < 3; b++)
        for (int j = 0; j < L; j++) batch[b][j] = hart_gen_uniform(11, base + b, HART_SITE_TOKENS, 4, (uint64_t)j);
    assert_memory_equal(alone, batch[1], sizeof alone);
    assert_true(memcmp(batch[0], batch[1], sizeof alone) != 0);
    /* correlation of paired draws between streams that differ in one key part */
    const int n = 20000;
    struct { uint64_t seed; uint32_t img, site, step; } k[5] = {
        {1, 0, HART_SITE_TOKENS, 3}, {1, 1, HART_SITE_TOKENS, 3}, {1, 0, HART_SITE_SMOOTH, 3},
        {1, 0, HART_SITE_TOKENS, 4}, {2, 0, HART_SITE_TOKENS, 3}};
    for (int o = 1; o < 5; o++) {
        double sa = 0, sb = 0, sab = 0, saa = 0, sbb = 0;
        int same = 0;
        for (int j = 0; j < n; j++) {
            double a = hart_gen_uniform(k[0].seed, k[0].img, k[0].site, k[0].step, (uint64_t)j);
            double b = hart_gen_uniform(k[o].seed, k[o].img, k[o].site, k[o].step, (uint64_t)j);
            sa += a; sb += b; sab += a * b; saa += a * a; sbb += b * b;
            same += a == b;
        }
        double cov = sab / n - (sa / n) * (sb / n);
        double r = cov / sqrt((saa / n - (sa / n) * (sa / n)) * (sbb / n - (sb / n) * (sb / n)));
        assert_true(fabs(r) < 0.04); /* 5.6 sigma for n = 20000 */
        assert_true(same < 10);
    }
}

/* Gumbel-softmax against a double recomputation of
 * softmax((l·scale − log(−log(1 − u))) / tau), -inf logits -> 0. */
static void test_gumbel_softmax_values(void **st) {
    (void)st;
    float l[6] = {0.3f, -1, NINF, 2, 0, 1.5f}, pr[6];
    double u[6];
    for (int i = 0; i < 6; i++) u[i] = hart_gen_uniform(5, 2, HART_SITE_SMOOTH, 1, (uint64_t)i);
    const float scales[2] = {1.0f, 2.5f}, taus[3] = {1.0f, 0.27f, 0.05f};
    for (int a = 0; a < 2; a++)
        for (int t = 0; t < 3; t++) {
            hart_gumbel_softmax(pr, l, 6, scales[a], taus[t], u);
            double x[6], mx = -INFINITY, z = 0, sum = 0;
            for (int i = 0; i < 6; i++) {
                x[i] = isinf(l[i]) ? -INFINITY : ((double)l[i] * scales[a] - log(-log(1 - u[i]))) / taus[t];
                if (x[i] > mx) mx = x[i];
            }
            for (int i = 0; i < 6; i++) z += isinf(x[i]) ? 0 : exp(x[i] - mx);
            for (int i = 0; i < 6; i++) {
                double want = isinf(x[i]) ? 0 : exp(x[i] - mx) / z;
                assert_float_equal(pr[i], want, 2e-5);
                sum += pr[i];
            }
            assert_true(pr[2] == 0);
            assert_float_equal(sum, 1, 1e-5);
        }
}

/* Gumbel-max: with tau -> 0 the smooth path is one-hot at the argmax of
 * l + g, and that argmax is distributed as softmax(l); a sign error in the
 * noise would skew the frequencies. */
static void test_gumbel_max_frequencies(void **st) {
    (void)st;
    float l[3] = {logf(0.2f), logf(0.5f), logf(0.3f)}, pr[3];
    const double p[3] = {0.2, 0.5, 0.3};
    int cnt[3] = {0}, onehot = 0;
    const int n = 20000;
    double u[3];
    for (int j = 0; j < n; j++) {
        for (int v = 0; v < 3; v++) u[v] = hart_gen_uniform(8, 0, HART_SITE_SMOOTH, 0, (uint64_t)j * 3 + v);
        hart_gumbel_softmax(pr, l, 3, 1.0f, 1e-3f, u);
        int best = 0;
        for (int v = 1; v < 3; v++) if (pr[v] > pr[best]) best = v;
        onehot += pr[best] > 0.99f;
        cnt[best]++;
    }
    assert_true(onehot > n * 95 / 100);
    for (int i = 0; i < 3; i++) assert_true(fabs(cnt[i] - n * p[i]) < 5 * sqrt(n * p[i] * (1 - p[i])));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_categorical_intervals),  cmocka_unit_test(test_uniform_layout_and_draw),
        cmocka_unit_test(test_draw_frequencies),       cmocka_unit_test(test_streams_batch_and_independence),
        cmocka_unit_test(test_gumbel_softmax_values),  cmocka_unit_test(test_gumbel_max_frequencies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
