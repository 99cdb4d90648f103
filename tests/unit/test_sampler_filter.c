/* hart_filter_top_k_top_p on constructed logits: top-k and top-p boundaries
 * and ties with the reference's semantics (HART's sampling helper: top-k
 * removes the entries strictly below the k-th largest value, so values tied
 * with it stay; top-p sorts ascending and removes the entries whose
 * cumulative probability is <= 1 - p, never the largest). Expectations are
 * worked out by hand or by a short independent computation here (counting,
 * double-precision softmax), never by the code under test. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "models/hart/sampler.h"

#define NINF (-INFINITY)

static int is_removed(float x) { return isinf(x) && x < 0; }

static int count_kept(const float *l, int n) {
    int c = 0;
    for (int i = 0; i < n; i++) c += !is_removed(l[i]);
    return c;
}

/* small deterministic generator for the randomized cases (not the code under test) */
static uint32_t lcg(uint32_t *s) { return *s = *s * 1664525u + 1013904223u; }

static void test_topk_boundaries(void **st) {
    (void)st;
    const float base[5] = {0.5f, -1, 3, 2, -7};
    float l[5];
    /* k = 1: only the maximum */
    memcpy(l, base, sizeof l);
    assert_int_equal(hart_filter_top_k_top_p(l, 5, 1, 0), HART_OK);
    assert_int_equal(count_kept(l, 5), 1);
    assert_float_equal(l[2], 3, 0);
    /* k = V, k > V, k = 0 and k < 0: nothing removed, values untouched */
    const int ks[4] = {5, 6, 0, -3};
    for (int t = 0; t < 4; t++) {
        memcpy(l, base, sizeof l);
        assert_int_equal(hart_filter_top_k_top_p(l, 5, ks[t], 0), HART_OK);
        assert_memory_equal(l, base, sizeof l);
    }
    /* k = V - 1: exactly the minimum goes */
    memcpy(l, base, sizeof l);
    assert_int_equal(hart_filter_top_k_top_p(l, 5, 4, 0), HART_OK);
    assert_true(is_removed(l[4]));
    assert_int_equal(count_kept(l, 5), 4);
    /* V = 1 */
    float one = 4;
    assert_int_equal(hart_filter_top_k_top_p(&one, 1, 1, 0.5), HART_OK);
    assert_float_equal(one, 4, 0);
    assert_int_equal(hart_filter_top_k_top_p(&one, 0, 1, 0), HART_EINVAL);
}

static void test_topk_ties_at_kth(void **st) {
    (void)st;
    /* k-th largest (k = 2) is 3, shared by three entries: all of them stay
     * (4 kept for k = 2), as with torch's `logits < topk(k).amin()` mask */
    float l[6] = {5, 3, 1, 3, 3, 0};
    assert_int_equal(hart_filter_top_k_top_p(l, 6, 2, 0), HART_OK);
    const int keep[6] = {1, 1, 0, 1, 1, 0};
    for (int i = 0; i < 6; i++) assert_int_equal(!is_removed(l[i]), keep[i]);
    /* k = 1 with a tied maximum keeps both */
    float m[3] = {7, 1, 7};
    assert_int_equal(hart_filter_top_k_top_p(m, 3, 1, 0), HART_OK);
    assert_int_equal(count_kept(m, 3), 2);
    assert_true(is_removed(m[1]));
    /* all equal: nothing removed whatever k */
    float e[4] = {2, 2, 2, 2};
    assert_int_equal(hart_filter_top_k_top_p(e, 4, 1, 0), HART_OK);
    assert_int_equal(count_kept(e, 4), 4);
    /* fewer finite entries than k: the k-th largest is -inf, nothing else goes */
    float f[5] = {NINF, 1, NINF, 2, NINF};
    assert_int_equal(hart_filter_top_k_top_p(f, 5, 3, 0), HART_OK);
    assert_float_equal(f[1], 1, 0);
    assert_float_equal(f[3], 2, 0);
}

/* Random rows with many ties: an entry stays iff fewer than k entries are
 * strictly larger (equivalent to "not below the k-th largest"). */
static void test_topk_random_vs_counting(void **st) {
    (void)st;
    uint32_t s = 12345;
    float l[64], orig[64];
    for (int rep = 0; rep < 3000; rep++) {
        int V = 1 + (int)(lcg(&s) % 64), k = (int)(lcg(&s) % (uint32_t)(V + 3)) - 1;
        for (int i = 0; i < V; i++) {
            uint32_t r = lcg(&s) >> 16;
            orig[i] = r % 11 == 0 ? NINF : (float)((int)(r % 7) - 3) * 0.5f;
        }
        memcpy(l, orig, sizeof(float) * (size_t)V);
        assert_int_equal(hart_filter_top_k_top_p(l, V, k, 0), HART_OK);
        for (int i = 0; i < V; i++) {
            int greater = 0;
            for (int j = 0; j < V; j++) greater += orig[j] > orig[i];
            int kept = k <= 0 || greater < k;
            if (kept) assert_true(l[i] == orig[i]);
            else assert_true(is_removed(l[i]));
        }
    }
}

static void test_topp_boundaries(void **st) {
    (void)st;
    /* four equal logits: probabilities exactly 1/4, ascending cumulative
     * sums 1/4, 1/2, 3/4, 1 (exact in float). p = 0.5: cum <= 0.5 goes, so
     * exactly two stay and their mass is exactly p. */
    float l[4] = {0, 0, 0, 0};
    assert_int_equal(hart_filter_top_k_top_p(l, 4, 0, 0.5), HART_OK);
    assert_int_equal(count_kept(l, 4), 2);
    float m[4] = {0, 0, 0, 0};
    assert_int_equal(hart_filter_top_k_top_p(m, 4, 0, 0.75), HART_OK); /* 1 - p = 1/4 */
    assert_int_equal(count_kept(m, 4), 3);
    float n[4] = {0, 0, 0, 0};
    assert_int_equal(hart_filter_top_k_top_p(n, 4, 0, 0.25), HART_OK); /* 1 - p = 3/4 */
    assert_int_equal(count_kept(n, 4), 1);
    /* p -> 0 keeps only the argmax, even when it is not dominant */
    float a[5] = {1, 1.2f, 0.9f, 1.1f, 1.19f};
    assert_int_equal(hart_filter_top_k_top_p(a, 5, 0, 1e-7), HART_OK);
    assert_int_equal(count_kept(a, 5), 1);
    assert_false(is_removed(a[1]));
    /* p = 1 (and p = 0, p > 1): off, nothing removed even for tiny probabilities */
    const double ps[3] = {1.0, 0.0, 1.5};
    for (int t = 0; t < 3; t++) {
        float b[3] = {0, -200, 50}, want[3] = {0, -200, 50};
        assert_int_equal(hart_filter_top_k_top_p(b, 3, 0, ps[t]), HART_OK);
        assert_memory_equal(b, want, sizeof b);
    }
    /* probabilities 0.1 0.2 0.3 0.4 with margins around the boundary:
     * p = 0.65 -> 1-p = 0.35: cum 0.1, 0.3 go, 0.6 stays -> {0.3, 0.4} */
    float c[4] = {logf(0.3f), logf(0.1f), logf(0.4f), logf(0.2f)};
    assert_int_equal(hart_filter_top_k_top_p(c, 4, 0, 0.65), HART_OK);
    assert_true(is_removed(c[1]) && is_removed(c[3]));
    assert_false(is_removed(c[0]) || is_removed(c[2]));
}

static void test_topk_then_topp(void **st) {
    (void)st;
    /* six equal logits, k = 4: all six are tied with the 4th, all stay */
    float l[6] = {0, 0, 0, 0, 0, 0};
    assert_int_equal(hart_filter_top_k_top_p(l, 6, 4, 0), HART_OK);
    assert_int_equal(count_kept(l, 6), 6); /* all tied with the 4th: all kept */
    /* top-k first; top-p then sees the renormalised survivors */
    float m[6] = {0, 0.001f, 0.002f, 0.003f, -5, -6};
    assert_int_equal(hart_filter_top_k_top_p(m, 6, 4, 0.5), HART_OK);
    /* survivors 0, .001, .002, .003 nearly 1/4 each: ascending cum ~0.2497,
     * ~0.4997 (<= 0.5, removed), ~0.75 -> indices 2 and 3 remain */
    assert_int_equal(count_kept(m, 6), 2);
    assert_false(is_removed(m[2]) || is_removed(m[3]));
}

/* Random rows of distinct values: expected kept set from a double-precision
 * softmax and cumulative sum here, skipping rows where a cumulative sum lies
 * within 1e-4 of 1 - p (float rounding could go either way there). */
static void test_topp_random_vs_double(void **st) {
    (void)st;
    uint32_t s = 777;
    float l[40];
    double v[40];
    int checked = 0;
    for (int rep = 0; rep < 2000; rep++) {
        int V = 2 + (int)(lcg(&s) % 39);
        double p = 0.02 + 0.96 * (double)(lcg(&s) >> 8) / 16777216.0;
        for (int i = 0; i < V; i++) v[i] = (double)(int)(lcg(&s) >> 20) / 512.0 - 4.0 + 1e-6 * i; /* distinct */
        int order[40];
        for (int i = 0; i < V; i++) order[i] = i;
        for (int i = 1; i < V; i++) /* insertion sort ascending */
            for (int j = i; j > 0 && v[order[j - 1]] > v[order[j]]; j--) { int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t; }
        double mx = v[order[V - 1]], z = 0;
        for (int i = 0; i < V; i++) z += exp(v[i] - mx);
        int keep[40], near = 0;
        double cum = 0;
        for (int r = 0; r < V; r++) {
            cum += exp(v[order[r]] - mx) / z;
            keep[order[r]] = r == V - 1 || cum > 1 - p;
            near |= fabs(cum - (1 - p)) < 1e-4;
        }
        if (near) continue;
        for (int i = 0; i < V; i++) l[i] = (float)v[i];
        assert_int_equal(hart_filter_top_k_top_p(l, V, 0, p), HART_OK);
        for (int i = 0; i < V; i++) assert_int_equal(!is_removed(l[i]), keep[i]);
        checked++;
    }
    assert_true(checked > 1500);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topk_boundaries),       cmocka_unit_test(test_topk_ties_at_kth),
        cmocka_unit_test(test_topk_random_vs_counting), cmocka_unit_test(test_topp_boundaries),
        cmocka_unit_test(test_topk_then_topp),        cmocka_unit_test(test_topp_random_vs_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
