/* Front-end validation on the CPU backend: bad shapes / dtypes / arguments
 * give HART_EINVAL with a message naming the op, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "unit/ops_compare.h"

#define EXPECT_EINVAL(expr, opname)                                                     \
    do {                                                                                \
        hart_clear_error();                                                             \
        assert_int_equal((expr), HART_EINVAL);                                          \
        if (!strstr(hart_errmsg(), opname)) fprintf(stderr, "message: %s\n", hart_errmsg()); \
        assert_non_null(strstr(hart_errmsg(), opname));                                \
    } while (0)

static void test_errors(void **st) {
    hart_tensor x = rnd(HART_F32, 2, 3, 17, 0, 0, 1), w = rnd(HART_F32, 2, 5, 16, 0, 0, 2), y = mk(HART_F32, 2, 3, 5, 0, 0);
    hart_tensor b4 = rnd(HART_F32, 1, 4, 0, 0, 0, 3), wok = rnd(HART_F32, 2, 5, 17, 0, 0, 4);
    EXPECT_EINVAL(hart_op_linear(&y, &x, &w, NULL), "hart_op_linear");          /* K mismatch */
    EXPECT_EINVAL(hart_op_linear(&y, &x, &wok, &b4), "hart_op_linear");         /* bias length */
    hart_tensor xi = mk(HART_I64, 2, 3, 17, 0, 0);
    EXPECT_EINVAL(hart_op_linear(&y, &xi, &wok, NULL), "hart_op_linear");       /* x dtype */

    hart_tensor a = rnd(HART_F32, 3, 2, 3, 4, 0, 5), bm = rnd(HART_F32, 3, 2, 5, 6, 0, 6), c = mk(HART_F32, 3, 2, 3, 6, 0);
    EXPECT_EINVAL(hart_op_matmul(&c, &a, &bm, 0, 0, 1.0f), "hart_op_matmul");   /* inner dims */
    hart_tensor bm3 = rnd(HART_F32, 3, 3, 4, 6, 0, 7);
    EXPECT_EINVAL(hart_op_matmul(&c, &a, &bm3, 0, 0, 1.0f), "hart_op_matmul");  /* batch dims */

    hart_tensor cx = rnd(HART_F32, 4, 1, 6, 5, 5, 8), cw = rnd(HART_F32, 4, 4, 3, 3, 3, 9), cy = mk(HART_F32, 4, 1, 4, 5, 5);
    EXPECT_EINVAL(hart_op_conv2d(&cy, &cx, &cw, NULL, 1, 1, 4), "hart_op_conv2d"); /* groups do not divide Ci */
    EXPECT_EINVAL(hart_op_conv2d(&cy, &cx, &cw, NULL, 1, 0, 2), "hart_op_conv2d"); /* wrong output size */
    EXPECT_EINVAL(hart_op_conv2d(&cy, &cx, &cw, NULL, 0, 1, 2), "hart_op_conv2d"); /* stride 0 */

    hart_tensor gx = rnd(HART_F32, 4, 1, 6, 2, 2, 10), gy = mk(HART_F32, 4, 1, 6, 2, 2), g5 = rnd(HART_F32, 1, 5, 0, 0, 0, 11);
    EXPECT_EINVAL(hart_op_group_norm(&gy, &gx, NULL, NULL, 4, 1e-5f), "hart_op_group_norm");
    EXPECT_EINVAL(hart_op_layer_norm(&gy, &gx, &g5, NULL, 1e-5f), "hart_op_layer_norm");
    EXPECT_EINVAL(hart_op_rms_norm(&gy, &gx, &g5, 1e-5f), "hart_op_rms_norm");
    hart_tensor sy = mk(HART_F32, 2, 17, 3, 0, 0);
    EXPECT_EINVAL(hart_op_softmax(&sy, &x), "hart_op_softmax");
    EXPECT_EINVAL(hart_op_act(&sy, &x, HART_ACT_COUNT), "hart_op_act");
    EXPECT_EINVAL(hart_op_act(&y, &x, HART_ACT_RELU), "hart_op_act");

    hart_tensor ba = rnd(HART_F32, 2, 3, 4, 0, 0, 12), bb = rnd(HART_F32, 2, 3, 5, 0, 0, 13), by = mk(HART_F32, 2, 3, 4, 0, 0);
    EXPECT_EINVAL(hart_op_binary(&by, &ba, &bb, HART_BIN_ADD), "hart_op_binary");
    hart_tensor bbig = rnd(HART_F32, 3, 2, 3, 4, 0, 14);
    EXPECT_EINVAL(hart_op_binary(&by, &bbig, &ba, HART_BIN_ADD), "hart_op_binary");
    EXPECT_EINVAL(hart_op_binary(&by, &ba, &ba, HART_BIN_COUNT), "hart_op_binary");

    int bad_perm[2] = {0, 0}, perm[2] = {1, 0};
    hart_tensor ty = mk(HART_F32, 2, 3, 17, 0, 0);
    EXPECT_EINVAL(hart_op_transpose(&ty, &x, bad_perm), "hart_op_transpose");
    EXPECT_EINVAL(hart_op_transpose(&ty, &x, perm), "hart_op_transpose"); /* shape not permuted */

    hart_tensor cy2 = mk(HART_F32, 2, 3, 30, 0, 0);
    EXPECT_EINVAL(hart_op_concat(&cy2, &x, &x, 1), "hart_op_concat");
    hart_tensor sl = mk(HART_F32, 2, 3, 10, 0, 0);
    EXPECT_EINVAL(hart_op_slice(&sl, &x, 1, 8), "hart_op_slice");
    EXPECT_EINVAL(hart_op_slice_assign(&x, &sl, 1, 8), "hart_op_slice_assign");
    EXPECT_EINVAL(hart_op_slice(&sl, &x, 5, 0), "hart_op_slice");

    hart_tensor tab = rnd(HART_F32, 2, 7, 4, 0, 0, 15), ids = mk(HART_I64, 1, 2, 0, 0, 0), ey = mk(HART_F32, 2, 2, 4, 0, 0);
    ((int64_t *)ids.data)[0] = 3;
    ((int64_t *)ids.data)[1] = 7; /* out of range */
    EXPECT_EINVAL(hart_op_embedding(&ey, &tab, &ids), "embedding");
    ((int64_t *)ids.data)[1] = -1;
    EXPECT_EINVAL(hart_op_embedding(&ey, &tab, &ids), "embedding");
    hart_tensor fids = mk(HART_F32, 1, 2, 0, 0, 0);
    EXPECT_EINVAL(hart_op_embedding(&ey, &tab, &fids), "hart_op_embedding");

    hart_tensor q = rnd(HART_F32, 4, 1, 4, 3, 8, 16), k3 = rnd(HART_F32, 4, 1, 3, 5, 8, 17), k2 = rnd(HART_F32, 4, 1, 2, 5, 8, 18);
    hart_tensor v2 = rnd(HART_F32, 4, 1, 2, 5, 8, 19), o = mk(HART_F32, 4, 1, 4, 3, 8), m = mk(HART_F32, 4, 1, 1, 3, 4);
    hart_tensor kd = rnd(HART_F32, 4, 1, 2, 5, 7, 20);
    EXPECT_EINVAL(hart_op_attention(&o, &q, &k3, &k3, NULL, 1.0f), "hart_op_attention"); /* 4 heads vs 3 */
    EXPECT_EINVAL(hart_op_attention(&o, &q, &k2, &v2, &m, 1.0f), "hart_op_attention");   /* mask Lk */
    EXPECT_EINVAL(hart_op_attention(&o, &q, &kd, &kd, NULL, 1.0f), "hart_op_attention"); /* head dim */
    EXPECT_EINVAL(hart_op_attention(&o, &q, &k2, &kd, NULL, 1.0f), "hart_op_attention"); /* k, v differ */

    hart_tensor rx = rnd(HART_F32, 4, 1, 2, 3, 5, 21), ry = mk(HART_F32, 4, 1, 2, 3, 5), rc = rnd(HART_F32, 3, 1, 3, 2, 0, 22);
    EXPECT_EINVAL(hart_op_rope(&ry, &rx, &rc, &rc, 0), "hart_op_rope"); /* odd D */
    hart_tensor rx2 = rnd(HART_F32, 4, 1, 2, 3, 4, 23), ry2 = mk(HART_F32, 4, 1, 2, 3, 4), rc2 = rnd(HART_F32, 3, 1, 4, 2, 0, 24);
    EXPECT_EINVAL(hart_op_rope(&ry2, &rx2, &rc2, &rc2, 0), "hart_op_rope"); /* cos length */

    hart_tensor ix = rnd(HART_F32, 4, 1, 2, 3, 3, 25), iy = mk(HART_F32, 4, 1, 3, 6, 6), iy2 = mk(HART_F32, 4, 1, 2, 6, 6);
    EXPECT_EINVAL(hart_op_interpolate(&iy, &ix, HART_INTERP_BILINEAR), "hart_op_interpolate");
    EXPECT_EINVAL(hart_op_interpolate(&iy2, &ix, HART_INTERP_COUNT), "hart_op_interpolate");
    hart_tensor py = mk(HART_F32, 4, 1, 1, 6, 6);
    EXPECT_EINVAL(hart_op_pixel_shuffle(&py, &ix, 2), "hart_op_pixel_shuffle"); /* 2 channels, r=2 */
    EXPECT_EINVAL(hart_op_pixel_unshuffle(&ix, &py, 3), "hart_op_pixel_unshuffle");

    hart_tensor ry3 = mk(HART_F32, 2, 3, 2, 0, 0);
    EXPECT_EINVAL(hart_op_reduce(&ry3, &x, 1, HART_RED_SUM), "hart_op_reduce");
    EXPECT_EINVAL(hart_op_reduce(&ry3, &x, 2, HART_RED_SUM), "hart_op_reduce");

    hart_tensor idx = mk(HART_I64, 1, 3, 0, 0, 0), idx32 = mk(HART_I32, 1, 3, 0, 0, 0), cb = rnd(HART_F32, 2, 9, 16, 0, 0, 26);
    EXPECT_EINVAL(hart_op_argmin_dist(&idx, &x, &cb), "hart_op_argmin_dist"); /* D 17 vs 16 */
    EXPECT_EINVAL(hart_op_argmin_dist(&idx32, &x, &wok), "hart_op_argmin_dist");
    hart_tensor cy3 = mk(HART_F16, 2, 3, 5, 0, 0), ci = mk(HART_I32, 2, 3, 17, 0, 0);
    EXPECT_EINVAL(hart_op_copy(&cy3, &x), "hart_op_copy");   /* numel */
    EXPECT_EINVAL(hart_op_copy(&ci, &x), "hart_op_copy");    /* F32 -> I32 */
    EXPECT_EINVAL(hart_op_scale(&y, &x, 1.0f, 0.0f), "hart_op_scale");

    hart_tensor *all[] = {&x, &w, &y, &b4, &wok, &xi, &a, &bm, &c, &bm3, &cx, &cw, &cy, &gx, &gy, &g5, &sy, &ba, &bb, &by,
                          &bbig, &ty, &cy2, &sl, &tab, &ids, &ey, &fids, &q, &k3, &k2, &v2, &o, &m, &kd, &rx, &ry, &rc,
                          &rx2, &ry2, &rc2, &ix, &iy, &iy2, &py, &ry3, &idx, &idx32, &cb, &cy3, &ci};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) hart_tensor_free(all[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
