/* DC-AE against the golden set ../shared/golden/dcae-tiny (original
 * efficientvit naming), the same weights re-saved in the diffusers layout,
 * and bad-input errors. Tolerance: max|a-b|/max|b| <= 1e-4 per tensor. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/checkpoint.h"
#include "support/golden.h"
#include "models/dcae.h"

#define TOL 1e-4

static char g_dir[1024];

static int setup(void **st) {
    golden_path("dcae-tiny", g_dir, sizeof g_dir);
    return 0;
}

static int have_golden(void) {
    struct stat sb;
    char p[1200];
    snprintf(p, sizeof p, "%s/golden.safetensors", g_dir);
    if (stat(p, &sb) != 0) {
        printf("  (skipped: %s not found)\n", p);
        return 0;
    }
    return 1;
}

/* encoder input 2x-1 from golden input_image */
static void make_input(const hart_safetensors *gs, hart_tensor *x) {
    hart_tensor img;
    assert_int_equal(hart_st_tensor(gs, "input_image", &img), HART_OK);
    assert_int_equal(hart_tensor_new(NULL, HART_F32, 4, img.shape, x), HART_OK);
    const float *src = img.data;
    float *dst = x->data;
    for (int64_t i = 0; i < hart_tensor_numel(&img); i++) dst[i] = 2.0f * src[i] - 1.0f;
}

static void check_model_dir(const char *dir, int expect_diffusers) {
    char p[1200];
    snprintf(p, sizeof p, "%s/golden.safetensors", g_dir);
    hart_safetensors gs;
    assert_int_equal(hart_st_open(p, &gs), HART_OK);
    hart_dcae *m = NULL;
    hart_status s = hart_dcae_load(hart_backend_cpu(), dir, &m);
    if (s) printf("  load error: %s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    const hart_dcae_info *in = hart_dcae_get_info(m);
    assert_int_equal(in->ratio, 8);
    assert_int_equal(in->latent_channels, 8);
    assert_int_equal(in->diffusers, expect_diffusers);

    hart_tensor x, lat = {0}, dec = {0}, dec2 = {0}, glat;
    make_input(&gs, &x);
    s = hart_dcae_encode(m, &x, &lat);
    if (s) printf("  encode error: %s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    assert_true(golden_compare(&gs, "latent", &lat) <= TOL);

    /* decode the golden latent (isolates the decoder) and our own */
    assert_int_equal(hart_st_tensor(&gs, "latent", &glat), HART_OK);
    s = hart_dcae_decode(m, &glat, &dec);
    if (s) printf("  decode error: %s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    assert_true(golden_compare(&gs, "decoded", &dec) <= TOL);
    assert_int_equal(hart_dcae_decode(m, &lat, &dec2), HART_OK);
    assert_true(golden_compare(&gs, "decoded", &dec2) <= TOL);

    /* decoded_image = (clamp(decoded,-1,1)+1)/2 */
    float *d = dec.data;
    for (int64_t i = 0; i < hart_tensor_numel(&dec); i++) d[i] = (fminf(fmaxf(d[i], -1.0f), 1.0f) + 1.0f) * 0.5f;
    assert_true(golden_compare(&gs, "decoded_image", &dec) <= TOL);

    hart_tensor_free(&x);
    hart_tensor_free(&lat);
    hart_tensor_free(&dec);
    hart_tensor_free(&dec2);
    hart_dcae_free(m);
    hart_st_close(&gs);
}

static void test_golden_original(void **st) {
    if (!have_golden()) return;
    check_model_dir(g_dir, 0);
}

static void test_bad_inputs(void **st) {
    if (!have_golden()) return;
    hart_dcae *m = NULL;
    assert_int_equal(hart_dcae_load(NULL, g_dir, &m), HART_OK);
    hart_tensor x = {0}, y = {0};
    /* 36 is not a multiple of 8 */
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &x, 4, 1, 3, 36, 32), HART_OK);
    assert_int_equal(hart_dcae_encode(m, &x, &y), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "compression ratio"));
    hart_tensor_free(&x);
    /* wrong channel count */
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &x, 4, 1, 4, 32, 32), HART_OK);
    assert_int_equal(hart_dcae_encode(m, &x, &y), HART_EINVAL);
    hart_tensor_free(&x);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &x, 4, 1, 7, 4, 4), HART_OK);
    assert_int_equal(hart_dcae_decode(m, &x, &y), HART_EINVAL);
    hart_tensor_free(&x);
    hart_dcae_free(m);
    assert_int_equal(hart_dcae_load(NULL, "/nonexistent-dcae", &m), HART_EIO);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_golden_original, setup),
        cmocka_unit_test_setup(test_bad_inputs, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
