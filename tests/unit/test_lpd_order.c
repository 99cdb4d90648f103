/* LPD orders: every order is a permutation and follows its step schedule;
 * the locality-aware order's proximity picks score at least the threshold,
 * keep out of each other's repulsion box, and are maximal (a free cell that
 * scores enough and is outside every pick's box would have been taken);
 * the same seed gives the same order; the schedules of
 * configs/lpd-group-sizes.json; order files. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/rng.h"
#include "models/lpd/lpd_order.h"

static void assert_perm(const int64_t *o, int N) {
    char *seen = calloc((size_t)N, 1);
    for (int i = 0; i < N; i++) {
        assert_true(o[i] >= 0 && o[i] < N);
        assert_false(seen[o[i]]);
        seen[o[i]] = 1;
    }
    free(seen);
}

/* proximity score of `cell` against the first `done` cells of the order */
static double score(const int64_t *o, int done, int cell, int grid) {
    double s = 0;
    for (int k = 0; k < done; k++) {
        int dr = abs(cell / grid - (int)o[k] / grid), dc = abs(cell % grid - (int)o[k] % grid);
        if (dr <= 1 && dc <= 1) s += 1.0 / sqrt((double)(dr * dr + dc * dc));
    }
    return s;
}

static int in_box(int a, int b, int grid, double rep) {
    return abs(a / grid - b / grid) <= rep && abs(a % grid - b % grid) <= rep;
}

static void check_lpd_order(const int *g, int K, int grid, double prox, double rep, uint64_t seed) {
    int N = grid * grid;
    int64_t *o = malloc(sizeof(int64_t) * (size_t)N), *o2 = malloc(sizeof(int64_t) * (size_t)N);
    int *np = malloc(sizeof(int) * (size_t)K);
    uint64_t stream = hart_rng_stream(0, HART_LPD_RNG_SITE_ORDER, 0);
    assert_int_equal(hart_lpd_order_lpd(g, K, grid, prox, rep, seed, stream, o, np), HART_OK);
    assert_perm(o, N);
    int done = 1, proximity_picks = 0;
    char *used = calloc((size_t)N, 1);
    used[o[0]] = 1;
    for (int i = 1; i < K; i++) {
        assert_true(np[i] >= 0 && np[i] <= g[i]);
        proximity_picks += np[i];
        for (int a = 0; a < np[i]; a++) {
            int ca = (int)o[done + a];
            assert_true(score(o, done, ca, grid) >= prox);
            for (int b = 0; b < a; b++) assert_false(in_box(ca, (int)o[done + b], grid, rep));
        }
        if (np[i] < g[i]) /* maximal: nothing else qualified */
            for (int cell = 0; cell < N; cell++) {
                if (used[cell] || score(o, done, cell, grid) < prox) continue;
                int blocked = 0;
                for (int a = 0; a < np[i]; a++) blocked |= in_box(cell, (int)o[done + a], grid, rep);
                assert_true(blocked);
            }
        for (int a = 0; a < g[i]; a++) used[o[done + a]] = 1;
        done += g[i];
    }
    assert_int_equal(done, N);
    assert_true(proximity_picks > 0);
    /* same seed, same order; another seed, another order */
    assert_int_equal(hart_lpd_order_lpd(g, K, grid, prox, rep, seed, stream, o2, NULL), HART_OK);
    assert_memory_equal(o, o2, sizeof(int64_t) * (size_t)N);
    assert_int_equal(hart_lpd_order_lpd(g, K, grid, prox, rep, seed + 1, stream, o2, NULL), HART_OK);
    assert_memory_not_equal(o, o2, sizeof(int64_t) * (size_t)N);
    free(o); free(o2); free(np); free(used);
}

static void test_lpd_orders(void **s) {
    int tiny[] = {1, 2, 3, 4, 6, 8, 10, 12, 18}; /* the golden set's schedule, 8x8 */
    for (uint64_t seed = 0; seed < 20; seed++) check_lpd_order(tiny, 9, 8, 1.0, 2.0, seed);
    int g[4096], K;
    struct { int px, steps; } sch[] = {{256, 20}, {256, 32}, {256, 8}, {512, 48}, {256, 256}};
    for (size_t k = 0; k < sizeof sch / sizeof sch[0]; k++) {
        assert_int_equal(hart_lpd_schedule(sch[k].px, sch[k].steps, g, 4096, &K), HART_OK);
        assert_int_equal(K, sch[k].steps);
        int grid = sch[k].px / 16, sum = 0;
        for (int i = 0; i < K; i++) sum += g[i];
        assert_int_equal(sum, grid * grid);
        for (uint64_t seed = 0; seed < 3; seed++) check_lpd_order(g, K, grid, 1.0, 1.0, seed);
        printf("  %d px, %d steps: ok\n", sch[k].px, sch[k].steps);
    }
    assert_int_not_equal(hart_lpd_schedule(256, 21, g, 4096, &K), HART_OK);
    printf("  %s\n", hart_errmsg());
    int bad[] = {2, 62};
    int64_t o[64];
    assert_int_not_equal(hart_lpd_order_lpd(bad, 2, 8, 1, 1, 0, 0, o, NULL), HART_OK);
    int shortg[] = {1, 2};
    assert_int_not_equal(hart_lpd_order_lpd(shortg, 2, 8, 1, 1, 0, 0, o, NULL), HART_OK);
}

static void test_random_and_files(void **s) {
    int64_t a[256], b[256];
    hart_lpd_order_random(256, 5, 7, a);
    assert_perm(a, 256);
    hart_lpd_order_random(256, 5, 7, b);
    assert_memory_equal(a, b, sizeof a);
    hart_lpd_order_random(256, 5, 8, b);
    assert_memory_not_equal(a, b, sizeof a);
    int64_t o[2 * 64];
    assert_int_equal(hart_lpd_orders_load("tests/data/golden/lpd-tiny-a/orders.json", 64, 0, 2, o), HART_OK);
    assert_perm(o, 64);
    assert_perm(o + 64, 64);
    assert_int_equal(o[0], 46);
    assert_int_not_equal(hart_lpd_orders_load("tests/data/golden/lpd-tiny-a/orders.json", 64, 1, 2, o), HART_OK);
    printf("  %s\n", hart_errmsg());
    assert_int_not_equal(hart_lpd_orders_load("tests/data/golden/lpd-tiny-a/orders.json", 256, 0, 1, o), HART_OK);
    printf("  %s\n", hart_errmsg());
    FILE *f = fopen("/tmp/hart_lpd_bad_order.json", "w");
    fputs("[[0, 1, 1, 3]]", f);
    fclose(f);
    assert_int_not_equal(hart_lpd_orders_load("/tmp/hart_lpd_bad_order.json", 4, 0, 1, o), HART_OK);
    printf("  %s\n", hart_errmsg());
    remove("/tmp/hart_lpd_bad_order.json");
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lpd_orders), cmocka_unit_test(test_random_and_files)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
