/* Which shared phi convolution each scale uses (PhiPartiallyShared /
 * PhiNonShared: nearest of K ticks from numpy.linspace, first on ties).
 * Expected tables were printed by numpy 2.4 running the reference's formula
 * (np.argmin(np.abs(ticks - si / (S - 1)))), not by this code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "models/hart/autoencoder_internal.h"

typedef struct { int K, S, want[13]; } row;

static const row rows[] = {
    {2,2,{0,1}}, {2,3,{0,0,1}}, {2,6,{0,0,0,1,1,1}}, {2,10,{0,0,0,0,0,1,1,1,1,1}},
    {2,13,{0,0,0,0,0,0,0,1,1,1,1,1,1}}, {3,2,{0,2}}, {3,3,{0,1,2}}, {3,6,{0,0,1,1,2,2}},
    {3,10,{0,0,0,0,1,1,1,2,2,2}}, {3,13,{0,0,0,0,0,1,1,1,1,2,2,2,2}}, {4,2,{0,3}}, {4,3,{0,2,3}},
    {4,6,{0,0,1,2,3,3}}, {4,10,{0,0,1,1,1,2,2,3,3,3}}, {4,13,{0,0,0,1,1,1,2,2,2,2,3,3,3}},
    {5,2,{0,4}}, {5,3,{0,2,4}}, {5,6,{0,0,1,2,3,4}}, {5,10,{0,0,1,1,2,2,3,3,4,4}},
    {5,13,{0,0,0,1,1,2,2,2,3,3,4,4,4}}, {6,2,{0,5}}, {6,3,{0,2,5}}, {6,6,{0,1,2,3,4,5}},
    {6,10,{0,0,1,1,2,3,3,4,5,5}}, {6,13,{0,0,0,1,1,2,2,3,3,4,5,5,5}},
};

static void test_ticks(void **st) {
    (void)st;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int si = 0; si < rows[r].S; si++) {
            int got = hart_vae_phi_pick(rows[r].K, rows[r].K, si, rows[r].S);
            if (got != rows[r].want[si]) fail_msg("K=%d S=%d si=%d: got %d want %d", rows[r].K, rows[r].S, si, got, rows[r].want[si]);
        }
}

static void test_shared(void **st) {
    (void)st;
    for (int si = 0; si < 10; si++) assert_int_equal(hart_vae_phi_pick(1, 1, si, 10), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_ticks), cmocka_unit_test(test_shared)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
