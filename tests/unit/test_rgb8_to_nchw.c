/* hart_op_rgb8_to_nchw (8-bit RGB [N,H,W,3] -> floats [N,3,H,W] / 255) on
 * every backend (ref, ref64, cpu, and OpenCL when a device opens) against a
 * hand-written expectation: the index map written out here, every byte value
 * 0..255, the division correctly rounded (a few values checked against
 * constants derived with exact rational arithmetic: those a multiplication by
 * 1/255 gets wrong). Outputs are poisoned with NaN first, and views with
 * offsets check that nothing outside them is written. Bad arguments give
 * HART_EINVAL naming the op. */
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
#include "support/test_skip.h"

#define OP "hart_op_rgb8_to_nchw"

static hart_backend *g_cl;

/* byte i of a test image run: every value 0..255 appears (37 is odd, so i -> 37 i + 11 permutes
 * each block of 256 indices) */
static uint8_t byte_at(int64_t i) { return (uint8_t)((i * 37 + 11) % 256); }

/* Expected float of byte b: b / 255 rounded once to float32. The constants are
 * round(b / 255) worked out with exact fractions (Python's fractions module),
 * independent of any float division. */
static float expected(uint8_t b) {
    switch (b) {
    case 0: return 0.0f;
    case 1: return 0x1.010102p-8f;
    case 3: return 0x1.818182p-7f; /* b * (1.0f / 255) gives 0x1.818184p-7 */
    case 127: return 0x1.fdfdfep-2f; /* ... 0x1.fdfep-2 */
    case 128: return 0x1.010102p-1f;
    case 254: return 0x1.fdfdfep-1f; /* ... 0x1.fdfep-1 */
    case 255: return 1.0f;
    default: return (float)b / 255.0f; /* IEEE division: correctly rounded */
    }
}

/* Host tensor on backend `be` (NULL: plain host; ref: a host tensor tagged with
 * it; ref64 / OpenCL: a device copy). */
static void place(hart_backend *be, hart_tensor *host, hart_tensor *out) {
    if (be && be->storage.vt) {
        assert_int_equal(hart_tensor_to(be, host, out), HART_OK);
    } else {
        assert_int_equal(hart_tensor_to(NULL, host, out), HART_OK);
        out->be = be;
    }
}

/* x bytes [NB, H, W, 3] filled by byte_at; rows [r0, r0+n) converted into rows [r0, r0+n)
 * of y [NB, 3, H, W] (poisoned with NaN); every element checked: converted rows exactly,
 * the others still NaN. */
static void check_on(hart_backend *be, int64_t NB, int64_t r0, int64_t n, int64_t H, int64_t W) {
    hart_tensor xh, yh, x, y, xv, yv;
    assert_int_equal(hart_tensor_new4(NULL, HART_U8, &xh, 4, NB, H, W, 3), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &yh, 4, NB, 3, H, W), HART_OK);
    int64_t nx = hart_tensor_numel(&xh), ny = hart_tensor_numel(&yh);
    for (int64_t i = 0; i < nx; i++) ((uint8_t *)xh.data)[i] = byte_at(i);
    for (int64_t i = 0; i < ny; i++) ((float *)yh.data)[i] = NAN;
    place(be, &xh, &x);
    place(be, &yh, &y);
    assert_int_equal(hart_tensor_rows(&x, r0, n, &xv), HART_OK);
    assert_int_equal(hart_tensor_rows(&y, r0, n, &yv), HART_OK);
    assert_int_equal(hart_op_rgb8_to_nchw(&yv, &xv), HART_OK);
    if (be && be->vt->sync) assert_int_equal(be->vt->sync(be), HART_OK);

    float *got = malloc(sizeof(float) * (size_t)ny);
    assert_int_equal(hart_tensor_read_f32(&y, got), HART_OK);
    int64_t bad = 0;
    for (int64_t b = 0; b < NB; b++)
        for (int64_t c = 0; c < 3; c++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++) {
                    int64_t yi = ((b * 3 + c) * H + h) * W + w, xi = ((b * H + h) * W + w) * 3 + c;
                    float want = expected(byte_at(xi)), g = got[yi];
                    int ok = b >= r0 && b < r0 + n ? memcmp(&g, &want, sizeof g) == 0 : isnan(g);
                    if (!ok && bad++ < 5)
                        printf("  %s: [%lld,%lld,%lld,%lld] = %a, want %a (byte %d)\n", be ? be->name : "host",
                               (long long)b, (long long)c, (long long)h, (long long)w, g, want, byte_at(xi));
                }
    if (be == hart_backend_ref64()) { /* the float32 quotient there too (ToTensor's), not b / 255 in double */
        double *g64 = malloc(sizeof(double) * (size_t)ny);
        assert_int_equal(hart_tensor_read_f64(&y, g64), HART_OK);
        for (int64_t b = r0; b < r0 + n; b++)
            for (int64_t c = 0; c < 3; c++)
                for (int64_t p = 0; p < H * W; p++) {
                    double want = expected(byte_at((b * H * W + p) * 3 + c));
                    if (g64[(b * 3 + c) * H * W + p] != want && bad++ < 5) printf("  ref64: double differs\n");
                }
        free(g64);
    }
    assert_int_equal(bad, 0);
    free(got);
    hart_tensor_free(&x);
    hart_tensor_free(&y);
    hart_tensor_free(&xh);
    hart_tensor_free(&yh);
}

static void check_all_shapes(hart_backend *be) {
    check_on(be, 1, 0, 1, 1, 1);   /* a single pixel */
    check_on(be, 3, 0, 3, 7, 13);  /* n > 1, odd sizes, all 256 byte values */
    check_on(be, 4, 1, 2, 5, 3);   /* rows 1..2 of 4: offsets in x and y, rows 0 and 3 untouched */
    check_on(be, 2, 0, 2, 33, 70); /* more than one work-group, CPU rows in parallel */
}

static void test_ref(void **st) { check_all_shapes(hart_backend_ref()); }
static void test_ref64(void **st) { check_all_shapes(hart_backend_ref64()); }
static void test_cpu(void **st) {
    check_all_shapes(NULL);
    check_all_shapes(hart_backend_cpu());
    check_on(hart_backend_cpu(), 5, 0, 5, 64, 65); /* above the CPU backend's threading threshold */
}
static void test_opencl(void **st) {
    if (!g_cl) { test_skip("no OpenCL device"); return; }
    check_all_shapes(g_cl);
    check_on(g_cl, 5, 0, 5, 64, 65);
}

static void test_empty(void **st) {
    hart_tensor x, y;
    assert_int_equal(hart_tensor_new4(NULL, HART_U8, &x, 4, 0, 4, 5, 3), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &y, 4, 0, 3, 4, 5), HART_OK);
    assert_int_equal(hart_op_rgb8_to_nchw(&y, &x), HART_OK);
    hart_tensor_free(&x);
    hart_tensor_free(&y);
}

#define EXPECT_EINVAL(expr)                                                                   \
    do {                                                                                      \
        hart_clear_error();                                                                   \
        assert_int_equal((expr), HART_EINVAL);                                                \
        if (!strstr(hart_errmsg(), OP)) printf("message: %s\n", hart_errmsg());               \
        assert_non_null(strstr(hart_errmsg(), OP));                                           \
    } while (0)

static void test_errors(void **st) {
    hart_tensor x, y, xf, y8, yh, x4, ysw, yn, x3, yc;
    assert_int_equal(hart_tensor_new4(NULL, HART_U8, &x, 4, 2, 4, 5, 3), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &y, 4, 2, 3, 4, 5), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &xf, 4, 2, 4, 5, 3), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_U8, &y8, 4, 2, 3, 4, 5), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F16, &yh, 4, 2, 3, 4, 5), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_U8, &x4, 4, 2, 4, 5, 4), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &ysw, 4, 2, 3, 5, 4), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &yn, 4, 1, 3, 4, 5), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_U8, &x3, 3, 4, 5, 3, 0), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &yc, 4, 2, 4, 4, 5), HART_OK);
    EXPECT_EINVAL(hart_op_rgb8_to_nchw(&y, &xf));  /* x not U8 */
    EXPECT_EINVAL(hart_op_rgb8_to_nchw(&y8, &x));  /* y not F32 */
    EXPECT_EINVAL(hart_op_rgb8_to_nchw(&yh, &x));  /* y F16 */
    EXPECT_EINVAL(hart_op_rgb8_to_nchw(&y, &x4));  /* 4 channels */
    EXPECT_EINVAL(hart_op_rgb8_to_nchw(&ysw, &x)); /* H and W swapped */
    EXPECT_EINVAL(hart_op_rgb8_to_nchw(&yn, &x));  /* N differs */
    EXPECT_EINVAL(hart_op_rgb8_to_nchw(&y, &x3));  /* x not 4-D */
    EXPECT_EINVAL(hart_op_rgb8_to_nchw(&yc, &x));  /* y has 4 channels */
    if (g_cl) { /* x on the host, y on the device */
        hart_tensor yd;
        assert_int_equal(hart_tensor_new4(g_cl, HART_F32, &yd, 4, 2, 3, 4, 5), HART_OK);
        EXPECT_EINVAL(hart_op_rgb8_to_nchw(&yd, &x));
        hart_tensor_free(&yd);
    }
    hart_tensor *all[] = {&x, &y, &xf, &y8, &yh, &x4, &ysw, &yn, &x3, &yc};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) hart_tensor_free(all[i]);
}

int main(void) {
    char why[512];
    if (hart_opencl_list(stdout) == 0) {
        test_skip_part("test_rgb8_to_nchw: no OpenCL platform/device on this machine; OpenCL not tested");
    } else if (hart_backend_open("opencl", &g_cl, why, sizeof why) != HART_OK) {
        test_skip_part("test_rgb8_to_nchw: no usable OpenCL device (%s)", hart_errmsg());
        g_cl = NULL;
    } else {
        printf("OpenCL: %s\n", why);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ref),   cmocka_unit_test(test_ref64),  cmocka_unit_test(test_cpu),
        cmocka_unit_test(test_opencl), cmocka_unit_test(test_empty), cmocka_unit_test(test_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    hart_backend_close(g_cl);
    return rc;
}

/* PoCL keeps some allocations for the life of the process; they are not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libOpenCL\n"; }
