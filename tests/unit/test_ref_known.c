/* Known-answer checks of the reference ops (hand-computed values), so the
 * oracle itself is anchored. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "backend/backend.h"
#include "ops/ops.h"

static hart_tensor T(float *d, int nd, int64_t a, int64_t b, int64_t c, int64_t e) {
    int64_t s[4] = {a, b, c, e};
    hart_tensor t = hart_tensor_wrap(d, HART_F32, nd, s);
    t.be = hart_backend_ref();
    return t;
}

static void test_linear(void **st) {
    float x[2] = {1, 2}, w[6] = {1, 0, 0, 1, 1, 1}, b[3] = {0.5f, 0, -1}, y[3];
    hart_tensor tx = T(x, 2, 1, 2, 0, 0), tw = T(w, 2, 3, 2, 0, 0), tb = T(b, 1, 3, 0, 0, 0), ty = T(y, 2, 1, 3, 0, 0);
    assert_int_equal(hart_op_linear(&ty, &tx, &tw, &tb), HART_OK);
    assert_float_equal(y[0], 1.5f, 1e-6); assert_float_equal(y[1], 2.0f, 1e-6); assert_float_equal(y[2], 2.0f, 1e-6);
}

static void test_softmax_masked_row(void **st) {
    float x[4] = {0, logf(3.0f), -INFINITY, -INFINITY}, y[4];
    hart_tensor tx = T(x, 2, 2, 2, 0, 0), ty = T(y, 2, 2, 2, 0, 0);
    assert_int_equal(hart_op_softmax(&ty, &tx), HART_OK);
    assert_float_equal(y[0], 0.25f, 1e-6); assert_float_equal(y[1], 0.75f, 1e-6);
    assert_float_equal(y[2], 0.0f, 0); assert_float_equal(y[3], 0.0f, 0);
}

static void test_area_and_nearest(void **st) {
    float x[16], y[4], z[16];
    for (int i = 0; i < 16; i++) x[i] = (float)i;
    hart_tensor tx = T(x, 4, 1, 1, 4, 4), ty = T(y, 4, 1, 1, 2, 2), tz = T(z, 4, 1, 1, 4, 4);
    assert_int_equal(hart_op_interpolate(&ty, &tx, HART_INTERP_AREA), HART_OK);
    assert_float_equal(y[0], 2.5f, 1e-6); assert_float_equal(y[3], 12.5f, 1e-6);
    assert_int_equal(hart_op_interpolate(&tz, &ty, HART_INTERP_NEAREST), HART_OK);
    assert_float_equal(z[5], 2.5f, 0); assert_float_equal(z[15], 12.5f, 0);
}

static void test_bicubic_constant(void **st) { /* a constant image stays constant */
    float x[9], y[49];
    for (int i = 0; i < 9; i++) x[i] = 3.0f;
    hart_tensor tx = T(x, 4, 1, 1, 3, 3), ty = T(y, 4, 1, 1, 7, 7);
    assert_int_equal(hart_op_interpolate(&ty, &tx, HART_INTERP_BICUBIC), HART_OK);
    for (int i = 0; i < 49; i++) assert_float_equal(y[i], 3.0f, 1e-5);
}

/* 3x3 pooling of 0..15 on a 4x4 grid, by hand. */
static void test_pool2d(void **st) {
    float x[16], y[16];
    for (int i = 0; i < 16; i++) x[i] = (float)i;
    hart_tensor tx = T(x, 4, 1, 1, 4, 4), ty = T(y, 4, 1, 1, 4, 4), t2 = T(y, 4, 1, 1, 1, 1);
    /* stride 1, pad 1, average without the padding: corner (0,1,4,5)/4, edge (0,1,2,4,5,6)/6, inner 3x3/9 */
    assert_int_equal(hart_op_pool2d(&ty, &tx, 3, 1, 1, HART_POOL_AVG), HART_OK);
    assert_float_equal(y[0], 2.5f, 1e-6); assert_float_equal(y[1], 3.0f, 1e-6); assert_float_equal(y[5], 5.0f, 1e-6);
    assert_float_equal(y[15], 12.5f, 1e-6);
    /* max, padding never wins: -x */
    for (int i = 0; i < 16; i++) x[i] = -(float)i;
    assert_int_equal(hart_op_pool2d(&ty, &tx, 3, 1, 1, HART_POOL_MAX), HART_OK);
    assert_float_equal(y[0], 0.0f, 0); assert_float_equal(y[15], -10.0f, 0); assert_float_equal(y[5], 0.0f, 0);
    /* stride 2, no padding: one 3x3 window at the origin: max of -{0,1,2,4,5,6,8,9,10} */
    assert_int_equal(hart_op_pool2d(&t2, &tx, 3, 2, 0, HART_POOL_MAX), HART_OK);
    assert_float_equal(y[0], 0.0f, 0);
    assert_int_equal(hart_op_pool2d(&t2, &tx, 3, 2, 0, HART_POOL_AVG), HART_OK);
    assert_float_equal(y[0], -5.0f, 1e-6);
    assert_int_equal(hart_op_pool2d(&ty, &tx, 3, 2, 0, HART_POOL_MAX), HART_EINVAL); /* wrong output size */
    assert_int_equal(hart_op_pool2d(&ty, &tx, 3, 1, 2, HART_POOL_MAX), HART_EINVAL); /* pad > k/2 */
}

static void test_shape_errors(void **st) {
    float x[6], y[6];
    hart_tensor tx = T(x, 2, 2, 3, 0, 0), ty = T(y, 2, 3, 2, 0, 0);
    assert_int_equal(hart_op_softmax(&ty, &tx), HART_EINVAL);
    int perm[2] = {1, 1};
    assert_int_equal(hart_op_transpose(&ty, &tx, perm), HART_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear), cmocka_unit_test(test_softmax_masked_row),
        cmocka_unit_test(test_area_and_nearest), cmocka_unit_test(test_bicubic_constant),
        cmocka_unit_test(test_pool2d), cmocka_unit_test(test_shape_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
