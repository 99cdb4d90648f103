/* Contact sheet (io/grid.h): layout sizes, image placement and the digit
 * labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "io/grid.h"

static void fill(hart_image *im, int w, int h, uint8_t v) {
    assert_int_equal(hart_image_new(w, h, im), HART_OK);
    memset(im->rgb, v, (size_t)w * h * 3);
}

static const uint8_t *px(const hart_image *im, int x, int y) { return im->rgb + ((size_t)y * im->width + x) * 3; }

static void test_sizes(void **s) {
    int w, h;
    const char *l1[] = {"7"};
    hart_grid_size(1, 32, 32, l1, &w, &h);
    assert_int_equal(w, 32);
    assert_int_equal(h, 39);
    const char *l3[] = {"7", "8", "9"};
    hart_grid_size(3, 32, 32, l3, &w, &h); /* 2 x 2 cells */
    assert_int_equal(w, 64);
    assert_int_equal(h, 78);
    const char *l5[] = {"1", "2", "3", "4", "5"};
    hart_grid_size(5, 128, 64, l5, &w, &h); /* 3 x 2 cells, font scale 2 */
    assert_int_equal(w, 384);
    assert_int_equal(h, 2 * (64 + 14));
    const char *wide[] = {"1234567890123"}; /* 13 digits: 51 px + 2 > 32 */
    hart_grid_size(1, 32, 32, wide, &w, &h);
    assert_int_equal(w, 53);
}

static void test_layout_and_label(void **s) {
    hart_image ims[3], out;
    fill(&ims[0], 32, 32, 10);
    fill(&ims[1], 32, 32, 20);
    fill(&ims[2], 32, 32, 30);
    const char *labels[] = {"1", "8", "0"};
    assert_int_equal(hart_grid_make(ims, labels, 3, &out), HART_OK);
    assert_int_equal(out.width, 64);
    assert_int_equal(out.height, 78);
    assert_int_equal(px(&out, 0, 0)[0], 10);
    assert_int_equal(px(&out, 40, 5)[0], 20);
    assert_int_equal(px(&out, 5, 45)[0], 30);
    assert_int_equal(px(&out, 40, 45)[0], 255); /* unused cell: white */
    /* label "8" of image 1: 3x5 glyph centred under it (x 32+14 .. 32+16, y 33..37), all set on row 0 */
    int n_black = 0;
    for (int y = 32; y < 39; y++)
        for (int x = 32; x < 64; x++) n_black += px(&out, x, y)[0] == 0;
    assert_int_equal(n_black, 13); /* "8": 3 + 2 + 3 + 2 + 3 pixels */
    assert_int_equal(px(&out, 46, 33)[1], 0);
    hart_image_free(&out);
    for (int i = 0; i < 3; i++) hart_image_free(&ims[i]);
}

static void test_errors(void **s) {
    hart_image ims[2], out;
    fill(&ims[0], 8, 8, 0);
    fill(&ims[1], 8, 4, 0);
    assert_int_not_equal(hart_grid_make(ims, NULL, 2, &out), HART_OK);
    assert_int_not_equal(hart_grid_make(ims, NULL, 0, &out), HART_OK);
    assert_int_equal(hart_grid_make(ims, NULL, 1, &out), HART_OK); /* no labels */
    assert_int_equal(out.height, 15);
    hart_image_free(&out);
    hart_image_free(&ims[0]);
    hart_image_free(&ims[1]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_layout_and_label),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
