/* Philox-4x32-10: known answers, determinism, stream independence,
 * distributions (mean/variance/chi-square) and logits sampling with
 * temperature / top-k / top-p. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/rng.h"

/* Known-answer vectors of the Random123 distribution (file kat_vectors,
 * lines "philox4x32 10 CTR[4] KEY[2] -> OUT[4]"). */
static void test_philox_kat(void **s) {
    static const uint32_t v[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e,
         0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb,
         0x5001e420, 0x24126ea1},
    };
    for (int t = 0; t < 3; t++) {
        uint32_t out[4];
        hart_philox4x32_10(v[t], v[t] + 4, out);
        for (int i = 0; i < 4; i++) assert_int_equal(out[i], v[t][6 + i]);
    }
    /* the (seed, stream, index) mapping: seed -> key, index/4 -> ctr[0..1], stream -> ctr[2..3] */
    uint64_t seed = ((uint64_t)0x299f31d0 << 32) | 0xa4093822;
    uint64_t stream = ((uint64_t)0x03707344 << 32) | 0x13198a2e;
    uint64_t blk = ((uint64_t)0x05a308d3 << 32) | 0x243f6a88; /* index is 64-bit: block < 2^62 */
    const uint32_t ctr[4] = {0x243f6a88, 0x05a308d3, 0x13198a2e, 0x03707344};
    uint32_t want[4];
    hart_philox4x32_10(ctr, v[2] + 4, want);
    for (int i = 0; i < 4; i++) assert_int_equal(hart_rng_u32_at(seed, stream, blk * 4 + (uint64_t)i), want[i]);
    assert_int_equal(hart_rng_u32_at(0, 0, 2), 0xbc57ac4c);
}

static void test_determinism_and_offsets(void **s) {
    enum { N = 1001 };
    float a[N], b[N], c[N];
    hart_rng_fill_uniform(42, 7, 0, a, N);
    hart_rng_fill_uniform(42, 7, 0, b, N);
    assert_memory_equal(a, b, sizeof a);
    /* fill at an unaligned offset == the per-index function == a shifted fill */
    hart_rng_fill_uniform(42, 7, 3, c, N - 3);
    for (int i = 0; i < N - 3; i++) {
        assert_true(c[i] == a[i + 3]);
        assert_true(c[i] == hart_rng_uniform_at(42, 7, (uint64_t)i + 3));
    }
    hart_rng_fill_normal(42, 7, 0, a, N);
    hart_rng_fill_normal(42, 7, 5, c, N - 5);
    for (int i = 0; i < N - 5; i++) {
        assert_true(c[i] == a[i + 5]);
        assert_true(c[i] == hart_rng_normal_at(42, 7, (uint64_t)i + 5));
    }
    /* other seed / stream -> different numbers */
    hart_rng_fill_uniform(43, 7, 0, b, N);
    int same = 0;
    for (int i = 0; i < N; i++) same += a[i] == b[i];
    assert_true(same < 5);
    hart_rng_fill_uniform(42, 8, 0, b, N);
    hart_rng_fill_uniform(42, 7, 0, a, N);
    same = 0;
    for (int i = 0; i < N; i++) same += a[i] == b[i];
    assert_true(same < 5);
}

static void test_stream_ids(void **s) {
    assert_true(hart_rng_stream(0, HART_RNG_SITE_TOKENS, 0) != hart_rng_stream(0, HART_RNG_SITE_DIFFUSION, 0));
    assert_true(hart_rng_stream(1, HART_RNG_SITE_TOKENS, 0) != hart_rng_stream(0, HART_RNG_SITE_TOKENS, 0));
    assert_true(hart_rng_stream(0, HART_RNG_SITE_TOKENS, 1) != hart_rng_stream(0, HART_RNG_SITE_TOKENS, 0));
    assert_true(hart_rng_stream(3, 2, 5) == (((uint64_t)3 << 32) | (2u << 16) | 5u));
    /* image 2 of a batch: the same numbers as image 2 rendered alone, because
     * its stream only depends on its own index */
    float batch[4][16], alone[16];
    for (int img = 0; img < 4; img++)
        hart_rng_fill_normal(99, hart_rng_stream((uint32_t)img, HART_RNG_SITE_DIFFUSION, 1), 0, batch[img], 16);
    hart_rng_fill_normal(99, hart_rng_stream(2, HART_RNG_SITE_DIFFUSION, 1), 0, alone, 16);
    assert_memory_equal(batch[2], alone, sizeof alone);
    assert_memory_not_equal(batch[1], alone, sizeof alone);
}

/* chi-square critical values at p = 0.001 (df 99: 148.2, df 49: 85.35). */
static void test_uniform_distribution(void **s) {
    enum { N = 1000000, BINS = 100 };
    float *x = malloc(sizeof(float) * N);
    assert_non_null(x);
    hart_rng_fill_uniform(12345, hart_rng_stream(0, HART_RNG_SITE_USER, 0), 0, x, N);
    double sum = 0, sq = 0, chi = 0;
    long cnt[BINS] = {0};
    for (int i = 0; i < N; i++) {
        assert_true(x[i] >= 0.0f && x[i] < 1.0f);
        sum += x[i];
        sq += (double)x[i] * x[i];
        cnt[(int)(x[i] * BINS)]++;
    }
    double mean = sum / N, var = sq / N - mean * mean;
    /* stderr of the mean: sqrt(1/12/N) = 2.9e-4; 5 sigma */
    assert_true(fabs(mean - 0.5) < 1.5e-3);
    assert_true(fabs(var - 1.0 / 12) < 1e-3);
    for (int b = 0; b < BINS; b++) chi += (cnt[b] - N / (double)BINS) * (cnt[b] - N / (double)BINS) / (N / (double)BINS);
    print_message("uniform: mean %.6f var %.6f chi2(99) %.1f\n", mean, var, chi);
    assert_true(chi < 148.2);
    free(x);
}

static void test_normal_distribution(void **s) {
    enum { N = 1000000, BINS = 50 };
    float *x = malloc(sizeof(float) * N);
    assert_non_null(x);
    hart_rng_fill_normal(777, hart_rng_stream(5, HART_RNG_SITE_DIFFUSION, 3), 0, x, N);
    double sum = 0, sq = 0, q4 = 0, chi = 0;
    long cnt[BINS] = {0};
    for (int i = 0; i < N; i++) {
        assert_true(isfinite(x[i]));
        sum += x[i];
        sq += (double)x[i] * x[i];
        q4 += (double)x[i] * x[i] * x[i] * x[i];
        /* bin by the normal CDF: equal-probability bins */
        double cdf = 0.5 * erfc(-x[i] / sqrt(2.0));
        int b = (int)(cdf * BINS);
        cnt[b < BINS ? b : BINS - 1]++;
    }
    double mean = sum / N, var = sq / N - mean * mean, kurt = q4 / N;
    assert_true(fabs(mean) < 5e-3);     /* 5 sigma = 5/sqrt(N) */
    assert_true(fabs(var - 1.0) < 8e-3); /* sd of var ~ sqrt(2/N) = 1.4e-3 */
    assert_true(fabs(kurt - 3.0) < 0.05);
    for (int b = 0; b < BINS; b++) chi += (cnt[b] - N / (double)BINS) * (cnt[b] - N / (double)BINS) / (N / (double)BINS);
    print_message("normal: mean %.6f var %.6f E[x^4] %.4f chi2(49) %.1f\n", mean, var, kurt, chi);
    assert_true(chi < 85.35);
    /* even/odd (cos/sin) halves are uncorrelated */
    double cxy = 0;
    for (int i = 0; i + 1 < N; i += 2) cxy += (double)x[i] * x[i + 1];
    assert_true(fabs(cxy / (N / 2)) < 1e-2);
    free(x);
}

static void softmax_ref(const float *l, int V, float T, double *p) {
    double mx = -INFINITY, z = 0;
    for (int i = 0; i < V; i++) if (l[i] / T > mx) mx = l[i] / T;
    for (int i = 0; i < V; i++) z += p[i] = exp(l[i] / T - mx);
    for (int i = 0; i < V; i++) p[i] /= z;
}

static void test_sample_frequencies(void **s) {
    /* empirical frequencies match softmax(l / T); chi-square df 4 at p=0.001: 18.47 */
    const float l[5] = {1.0f, 0.0f, 2.0f, -1.0f, 0.5f};
    const float temps[2] = {1.0f, 0.7f};
    for (int t = 0; t < 2; t++) {
        enum { N = 200000 };
        double p[5];
        softmax_ref(l, 5, temps[t], p);
        hart_sample_cfg cfg = {0, 0.0f, temps[t]};
        long cnt[5] = {0};
        for (int i = 0; i < N; i++) {
            int k;
            assert_int_equal(hart_sample_logits(l, 5, &cfg, hart_rng_uniform_at(1, 2, (uint64_t)i), NULL, &k), HART_OK);
            assert_true(k >= 0 && k < 5);
            cnt[k]++;
        }
        double chi = 0;
        for (int k = 0; k < 5; k++) chi += (cnt[k] - N * p[k]) * (cnt[k] - N * p[k]) / (N * p[k]);
        print_message("sample T=%.1f chi2(4) %.2f\n", (double)temps[t], chi);
        assert_true(chi < 18.47);
    }
}

static void test_sample_topk_topp(void **s) {
    const float l[8] = {0.1f, 3.0f, -2.0f, 2.0f, 2.5f, 0.0f, 1.0f, -INFINITY};
    /* softmax order: 1 (3.0) > 4 (2.5) > 3 (2.0) > 6 > 0 > 5 > 2 > 7 */
    float scratch[16];
    int seen[8] = {0};
    hart_sample_cfg k3 = {3, 0.0f, 1.0f};
    for (int i = 0; i < 5000; i++) {
        int k;
        assert_int_equal(hart_sample_logits(l, 8, &k3, (float)i / 5000.0f, scratch, &k), HART_OK);
        seen[k]++;
    }
    assert_true(seen[1] > 0 && seen[4] > 0 && seen[3] > 0);
    assert_int_equal(seen[0] + seen[2] + seen[5] + seen[6] + seen[7], 0);
    /* the walk is in index order over kept tokens: u just below 1 gives the
     * last kept index (4), u = 0 the first (1) */
    int k;
    assert_int_equal(hart_sample_logits(l, 8, &k3, 0.0f, scratch, &k), HART_OK);
    assert_int_equal(k, 1);
    assert_int_equal(hart_sample_logits(l, 8, &k3, 0.99999f, scratch, &k), HART_OK);
    assert_int_equal(k, 4);
    /* exact probabilities under top-k 3: u splits at p1, p1+p3 in index order 1,3,4 */
    double e1 = exp(3.0), e3 = exp(2.0), e4 = exp(2.5), z = e1 + e3 + e4;
    assert_int_equal(hart_sample_logits(l, 8, &k3, (float)(e1 / z - 1e-4), scratch, &k), HART_OK);
    assert_int_equal(k, 1);
    assert_int_equal(hart_sample_logits(l, 8, &k3, (float)(e1 / z + 1e-4), scratch, &k), HART_OK);
    assert_int_equal(k, 3);
    assert_int_equal(hart_sample_logits(l, 8, &k3, (float)((e1 + e3) / z + 1e-4), scratch, &k), HART_OK);
    assert_int_equal(k, 4);

    /* top-p: probs (full softmax) p1 = .48, p4 = .29, p3 = .18 ...; p = 0.5 needs {1, 4};
     * p = 0.4 needs only {1} */
    double p[8];
    softmax_ref(l, 8, 1.0f, p);
    assert_true(p[1] < 0.5 && p[1] + p[4] > 0.5 && p[1] > 0.4);
    hart_sample_cfg p5 = {0, 0.5f, 1.0f}, p4 = {0, 0.4f, 1.0f};
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(hart_sample_logits(l, 8, &p5, (float)i / 2000.0f, scratch, &k), HART_OK);
        seen[k]++;
    }
    assert_true(seen[1] > 0 && seen[4] > 0);
    assert_int_equal(2000 - seen[1] - seen[4], 0);
    /* within {1,4}: frequency of 1 = e1 / (e1 + e4) */
    assert_true(fabs(seen[1] / 2000.0 - e1 / (e1 + e4)) < 2e-3);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(hart_sample_logits(l, 8, &p4, (float)i / 100.0f, scratch, &k), HART_OK);
        assert_int_equal(k, 1);
    }
    /* top-k and top-p combined: top-k 2 then p 0.99 keeps {1, 4} */
    hart_sample_cfg kp = {2, 0.99f, 1.0f};
    for (int i = 0; i < 100; i++) {
        assert_int_equal(hart_sample_logits(l, 8, &kp, (float)i / 100.0f, scratch, &k), HART_OK);
        assert_true(k == 1 || k == 4);
    }
}

static void test_sample_edge_cases(void **s) {
    int k;
    const float ties[6] = {1, 5, 5, 2, 5, 0};
    hart_sample_cfg greedy = {0, 0.0f, 0.0f}, k1 = {1, 0.0f, 1.0f};
    assert_int_equal(hart_sample_logits(ties, 6, &greedy, 0.7f, NULL, &k), HART_OK);
    assert_int_equal(k, 1); /* lowest index among maxima */
    /* top-k 1 keeps every value tied with the largest */
    int seen[6] = {0};
    for (int i = 0; i < 300; i++) {
        assert_int_equal(hart_sample_logits(ties, 6, &k1, (float)i / 300.0f, NULL, &k), HART_OK);
        seen[k]++;
    }
    assert_int_equal(seen[1], 100);
    assert_int_equal(seen[2], 100);
    assert_int_equal(seen[4], 100);
    /* NaN logits are never picked; all -inf/NaN is an error; bad u and V */
    const float withnan[3] = {NAN, 0.0f, NAN};
    hart_sample_cfg plain = {0, 0.0f, 1.0f};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(hart_sample_logits(withnan, 3, &plain, i / 10.0f, NULL, &k), HART_OK);
        assert_int_equal(k, 1);
    }
    const float dead[2] = {-INFINITY, NAN};
    assert_int_equal(hart_sample_logits(dead, 2, &plain, 0.5f, NULL, &k), HART_EINVAL);
    assert_int_equal(hart_sample_logits(ties, 6, &plain, 1.0f, NULL, &k), HART_EINVAL);
    assert_int_equal(hart_sample_logits(ties, 6, &plain, NAN, NULL, &k), HART_EINVAL);
    assert_int_equal(hart_sample_logits(ties, 0, &plain, 0.5f, NULL, &k), HART_EINVAL);
    /* huge logits do not overflow */
    const float big[3] = {1e30f, 1e30f, -1e30f};
    assert_int_equal(hart_sample_logits(big, 3, &plain, 0.75f, NULL, &k), HART_OK);
    assert_int_equal(k, 1);
}

/* top-k threshold (quickselect) against sorting, random logits with many ties */
static void test_topk_matches_sort(void **s) {
    enum { V = 257 };
    float l[V], sorted[V], scratch[2 * V];
    for (int trial = 0; trial < 200; trial++) {
        for (int i = 0; i < V; i++) l[i] = (float)(int)(hart_rng_uniform_at(5, (uint64_t)trial, (uint64_t)i) * 20);
        memcpy(sorted, l, sizeof l);
        for (int i = 1; i < V; i++) /* insertion sort, descending */
            for (int j = i; j > 0 && sorted[j] > sorted[j - 1]; j--) {
                float t = sorted[j]; sorted[j] = sorted[j - 1]; sorted[j - 1] = t;
            }
        int topk = 1 + trial % 60;
        float thr = sorted[topk - 1];
        hart_sample_cfg c = {topk, 0.0f, 1.0f};
        for (int u = 0; u < 20; u++) {
            int k;
            assert_int_equal(hart_sample_logits(l, V, &c, u / 20.0f, scratch, &k), HART_OK);
            assert_true(l[k] >= thr);
        }
        /* u just below 1 lands on the last kept index: the largest index with l >= thr */
        int lastk = -1, k;
        for (int i = 0; i < V; i++) if (l[i] >= thr) lastk = i;
        assert_int_equal(hart_sample_logits(l, V, &c, 0.9999999f, scratch, &k), HART_OK);
        assert_int_equal(k, lastk);
    }
}

static void test_sample_rows(void **s) {
    enum { R = 64, V = 33 };
    float l[R * V];
    int64_t a[R], b[R];
    hart_rng_fill_normal(3, 4, 0, l, R * V);
    hart_sample_cfg c = {10, 0.9f, 1.0f};
    assert_int_equal(hart_sample_rows(l, R, V, &c, 11, hart_rng_stream(0, HART_RNG_SITE_TOKENS, 2), 0, a), HART_OK);
    for (int r = 0; r < R; r++) {
        int k;
        float u = hart_rng_uniform_at(11, hart_rng_stream(0, HART_RNG_SITE_TOKENS, 2), (uint64_t)r);
        assert_int_equal(hart_sample_logits(l + r * V, V, &c, u, NULL, &k), HART_OK);
        assert_int_equal(a[r], k);
    }
    /* rows 10.. sampled alone (offset 10) match */
    assert_int_equal(hart_sample_rows(l + 10 * V, R - 10, V, &c, 11, hart_rng_stream(0, HART_RNG_SITE_TOKENS, 2), 10, b),
                     HART_OK);
    for (int r = 10; r < R; r++) assert_int_equal(a[r], b[r - 10]);
}

static void test_fill_tensor(void **s) {
    hart_tensor t;
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &t, 2, 3, 5, 0, 0), HART_OK);
    assert_int_equal(hart_rng_normal_tensor(&t, 9, 8, 7), HART_OK);
    for (int i = 0; i < 15; i++) assert_true(((float *)t.data)[i] == hart_rng_normal_at(9, 8, 7 + (uint64_t)i));
    assert_int_equal(hart_rng_uniform_tensor(&t, 9, 8, 0), HART_OK);
    for (int i = 0; i < 15; i++) assert_true(((float *)t.data)[i] == hart_rng_uniform_at(9, 8, (uint64_t)i));
    hart_tensor_free(&t);
    assert_int_equal(hart_tensor_new4(NULL, HART_I64, &t, 1, 4, 0, 0, 0), HART_OK);
    assert_int_equal(hart_rng_normal_tensor(&t, 1, 1, 0), HART_EINVAL);
    hart_tensor_free(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_philox_kat),           cmocka_unit_test(test_determinism_and_offsets),
        cmocka_unit_test(test_stream_ids),           cmocka_unit_test(test_uniform_distribution),
        cmocka_unit_test(test_normal_distribution),  cmocka_unit_test(test_sample_frequencies),
        cmocka_unit_test(test_sample_topk_topp),     cmocka_unit_test(test_sample_edge_cases),
        cmocka_unit_test(test_topk_matches_sort),    cmocka_unit_test(test_sample_rows),
        cmocka_unit_test(test_fill_tensor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
