/* PSNR / SSIM known answers (values worked out by hand from the formulas). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "io/metrics.h"

static void test_psnr(void **st) {
    (void)st;
    uint8_t a[300], b[300];
    for (int i = 0; i < 300; i++) a[i] = (uint8_t)(i % 200), b[i] = a[i];
    assert_true(isinf(hart_psnr_u8(a, b, 300)));
    for (int i = 0; i < 300; i++) b[i] = (uint8_t)(a[i] + 1);
    assert_float_equal(hart_psnr_u8(a, b, 300), 20 * log10(255.0), 1e-9); /* MSE 1 -> 48.13 dB */
    for (int i = 0; i < 300; i++) b[i] = (uint8_t)(i % 2 ? a[i] + 2 : a[i]);
    assert_float_equal(hart_psnr_u8(a, b, 300), 10 * log10(255.0 * 255.0 / 2.0), 1e-9); /* MSE 2 */
}

static void test_ssim(void **st) {
    (void)st;
    int w = 24, h = 20;
    uint8_t *a = malloc((size_t)w * h * 3), *b = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++) a[i] = (uint8_t)((i * 37) % 251), b[i] = a[i];
    assert_float_equal(hart_ssim_rgb8(a, b, w, h), 1.0, 1e-12);
    /* two constant images: variances 0, SSIM = (2·μa·μb + C1) / (μa² + μb² + C1) */
    for (int i = 0; i < w * h * 3; i++) a[i] = 100, b[i] = 120;
    double C1 = (0.01 * 255) * (0.01 * 255);
    double want = (2.0 * 100 * 120 + C1) / (100.0 * 100 + 120.0 * 120 + C1);
    assert_float_equal(hart_ssim_rgb8(a, b, w, h), want, 1e-9);
    /* a tiny image (window shrinks) still gives 1 for identical inputs */
    assert_float_equal(hart_ssim_rgb8(a, a, 5, 4), 1.0, 1e-12);
    /* noise lowers SSIM */
    for (int i = 0; i < w * h * 3; i++) a[i] = (uint8_t)((i * 37) % 251), b[i] = (uint8_t)(a[i] ^ ((i * 7) & 31));
    double s = hart_ssim_rgb8(a, b, w, h);
    assert_true(s < 1.0 && s > -1.0);
    free(a);
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_psnr), cmocka_unit_test(test_ssim)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
