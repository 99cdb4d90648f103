/* PNG/JPEG I/O: round trips, metadata, bad paths and formats, truncated and
 * corrupt files, tensor conversion (and the golden PNGs' rounding rule). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/safetensors.h"
#include "io/image.h"
#include "support/golden.h"
#include "support/test_skip.h"

static char tmpdir[256];

static int setup(void **s) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hart_test_image_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}
static int teardown(void **s) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}
static const char *tp(const char *name) {
    static char buf[4][400];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void make_pattern(hart_image *img, int w, int h) {
    assert_int_equal(hart_image_new(w, h, img), HART_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(x * 7 + y);
            p[1] = (uint8_t)(y * 13);
            p[2] = (uint8_t)((x ^ y) * 5);
        }
}

static void test_png_roundtrip_and_metadata(void **s) {
    hart_image a, b;
    make_pattern(&a, 37, 23);
    const hart_image_text kv[] = {{"prompt", "a red fox, snow"},
                                  {"seed", "42"},
                                  {"model", "hart-0.7b-1024px"},
                                  {"size", "1024x1024"},
                                  {"steps", "8"},
                                  {"cfg", "4.5"}};
    char *params = hart_image_params_text(kv, 6);
    assert_non_null(params);
    assert_string_equal(params, "prompt: a red fox, snow\nseed: 42\nmodel: hart-0.7b-1024px\nsize: 1024x1024\n"
                                "steps: 8\ncfg: 4.5");
    const hart_image_text meta[] = {{"parameters", params}, {"Software", "hart.c"}, {"utf8", "caf\xc3\xa9 \xe2\x9c\x93"}};
    assert_int_equal(hart_image_write(tp("a.png"), &a, meta, 3, 0), HART_OK);
    assert_int_equal(hart_image_read(tp("a.png"), &b), HART_OK);
    assert_int_equal(b.width, 37);
    assert_int_equal(b.height, 23);
    assert_memory_equal(a.rgb, b.rgb, 37 * 23 * 3);
    assert_non_null(hart_image_get_text(&b, "parameters"));
    assert_string_equal(hart_image_get_text(&b, "parameters"), params);
    assert_string_equal(hart_image_get_text(&b, "Software"), "hart.c");
    assert_string_equal(hart_image_get_text(&b, "utf8"), "caf\xc3\xa9 \xe2\x9c\x93");
    assert_null(hart_image_get_text(&b, "absent"));
    /* no temp file left behind */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q tmp", tmpdir);
    assert_int_not_equal(system(cmd), 0);
    free(params);
    hart_image_free(&a);
    hart_image_free(&b);
}

static void test_params_escaping(void **s) {
    const hart_image_text kv[] = {{"prompt", "line1\nline2 \\ end"}, {"seed", NULL}};
    char *p = hart_image_params_text(kv, 2);
    assert_string_equal(p, "prompt: line1\\nline2 \\\\ end\nseed: ");
    free(p);
}

static void test_jpeg_roundtrip(void **s) {
    hart_image a, b;
    /* smooth image: JPEG error stays small */
    assert_int_equal(hart_image_new(64, 48, &a), HART_OK);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *p = a.rgb + ((size_t)y * 64 + x) * 3;
            p[0] = (uint8_t)(x * 3 + 20); p[1] = (uint8_t)(y * 4 + 10); p[2] = 128;
        }
    const hart_image_text meta[] = {{"parameters", "prompt: x\nseed: 1"}};
    assert_int_equal(hart_image_write(tp("a.JPG"), &a, meta, 1, 95), HART_OK);
    assert_int_equal(hart_image_read(tp("a.JPG"), &b), HART_OK);
    assert_int_equal(b.width, 64);
    assert_int_equal(b.height, 48);
    double se = 0;
    int maxd = 0;
    for (int i = 0; i < 64 * 48 * 3; i++) {
        int d = abs((int)a.rgb[i] - (int)b.rgb[i]);
        se += d * d;
        if (d > maxd) maxd = d;
    }
    double psnr = 10 * log10(255.0 * 255.0 / (se / (64 * 48 * 3)));
    print_message("jpeg q95: PSNR %.1f dB, max diff %d\n", psnr, maxd);
    assert_true(psnr > 38.0);
    assert_string_equal(hart_image_get_text(&b, "parameters"), "prompt: x\nseed: 1");
    hart_image_free(&b);
    assert_int_equal(hart_image_write(tp("b.jpeg"), &a, NULL, 0, 0), HART_OK);
    assert_int_equal(hart_image_read(tp("b.jpeg"), &b), HART_OK);
    assert_int_equal(b.n_text, 0);
    hart_image_free(&a);
    hart_image_free(&b);
}

static void write_bytes(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

static void test_bad_paths_and_formats(void **s) {
    hart_image a, b;
    make_pattern(&a, 8, 8);
    assert_int_equal(hart_image_write(tp("x.bmp"), &a, NULL, 0, 0), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "unknown image format"));
    assert_int_equal(hart_image_write(tp("noext"), &a, NULL, 0, 0), HART_EINVAL);
    assert_int_equal(hart_image_write(tp(".png"), &a, NULL, 0, 0), HART_EINVAL); /* hidden file, no extension */
    assert_int_equal(hart_image_write("/nonexistent-dir/x.png", &a, NULL, 0, 0), HART_EIO);
    assert_non_null(strstr(hart_errmsg(), "/nonexistent-dir/x.png"));
    assert_int_equal(hart_image_write(tp("q.jpg"), &a, NULL, 0, 101), HART_EINVAL);
    const hart_image_text badkey[] = {{"", "v"}};
    assert_int_equal(hart_image_write(tp("k.png"), &a, badkey, 1, 0), HART_EINVAL);
    const hart_image_text badkey2[] = {{"tab\tkey", "v"}};
    assert_int_equal(hart_image_write(tp("k.png"), &a, badkey2, 1, 0), HART_EINVAL);
    assert_int_equal(access(tp("k.png"), F_OK), -1);

    assert_int_equal(hart_image_read(tp("missing.png"), &b), HART_EIO);
    assert_non_null(strstr(hart_errmsg(), "missing.png"));
    assert_int_equal(hart_image_read(tmpdir, &b), HART_EIO); /* a directory */
    write_bytes(tp("empty.png"), "", 0);
    assert_int_equal(hart_image_read(tp("empty.png"), &b), HART_EFORMAT);
    write_bytes(tp("text.png"), "hello, not an image\n", 20);
    assert_int_equal(hart_image_read(tp("text.png"), &b), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "not a PNG or JPEG"));
    hart_image_free(&a);
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc(*n);
    assert_int_equal(fread(d, 1, *n, f), *n);
    fclose(f);
    return d;
}

static void test_truncated_and_corrupt(void **s) {
    hart_image a, b;
    make_pattern(&a, 40, 30);
    const char *names[2] = {"t.png", "t.jpg"};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(hart_image_write(tp(names[k]), &a, NULL, 0, 0), HART_OK);
        size_t n;
        unsigned char *d = slurp(tp(names[k]), &n);
        /* every truncation point: an error, never a crash or a silent image */
        size_t step = n / 40 ? n / 40 : 1;
        for (size_t cut = 1; cut < n - 1; cut += step) {
            write_bytes(tp("cut"), d, cut);
            hart_status st = hart_image_read(tp("cut"), &b);
            assert_int_equal(st, HART_EFORMAT);
            assert_null(b.rgb);
        }
        write_bytes(tp("cut"), d, n - 1 - k); /* PNG without the last IEND byte; JPEG without EOI */
        assert_int_equal(hart_image_read(tp("cut"), &b), HART_EFORMAT);
        assert_non_null(strstr(hart_errmsg(), "truncated or corrupt"));
        /* flip bytes in the middle of the data: error (PNG CRC / zlib) or, for
         * JPEG, maybe a decodable image - but never a crash */
        for (size_t i = n / 3; i < n / 3 + 16 && i < n; i++) d[i] ^= 0x5a;
        write_bytes(tp("bad"), d, n);
        hart_status st = hart_image_read(tp("bad"), &b);
        if (k == 0) assert_int_equal(st, HART_EFORMAT);
        if (st == HART_OK) hart_image_free(&b);
        free(d);
    }
    hart_image_free(&a);
}

/* Found by fuzz_image: a 116-byte PNG whose iTXt chunk claims 2 GB made
 * libpng allocate and clear 2 GB before noticing the file ends. */
static void test_png_huge_chunk(void **s) {
    static const unsigned char png[] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
        0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x00, 0x00, 0x00, 0x84, 0x52, 0xe7,
        0x5e, 0x00, 0x00, 0x00, 0x0c, 0x50, 0x4c, 0x54, 0x45, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00,
        0xff, 0x00, 0x00, 0x00, 0xff, 0x9b, 0xc0, 0x13, 0xdc, 0x7e, 0x00, 0x00, 0x0d, 0x69, 0x54, 0x58,
        0x74, 0x6b, 0x65, 0x79, 0x00, 0x00, 0x00, 0x00, 0x00, 0x63, 0x61, 0x66, 0xc3, 0xa9, 0xf7, 0x2c,
        0x15, 0x5d, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x90, 0xff, 0xd8,
        0xff, 0x1d, 0x00, 0x1c, 0x8e, 0xf4, 0xf5, 0x21, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
        0xae, 0x42, 0x60, 0x82,
    };
    hart_image b;
    assert_int_equal(hart_image_read_mem(png, sizeof png, "huge-chunk.png", &b), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "huge-chunk.png: truncated or corrupt PNG"));
    assert_null(b.rgb);
    /* same with a 1.7 GB zTXt chunk, which libpng's chunk cap let through */
    static const unsigned char ztxt[] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x10, 0x00, 0x00, 0x00, 0x00, 0x07, 0x4d, 0x8e,
        0xbb, 0x67, 0x41, 0x4d, 0x41, 0x7a, 0x54, 0x58, 0x74, 0x6b, 0x00, 0x00, 0x78, 0x31, 0xa9, 0xca,
        0x2c, 0x28, 0x48, 0x4d, 0x51, 0x28, 0x4b, 0xcc, 0x29, 0x4d, 0x2c, 0x00, 0x1f, 0xa0, 0x04, 0xca,
        0x10, 0xb7, 0xf7, 0xf7, 0x00, 0x00, 0x00, 0x12, 0x67, 0x41, 0x4d, 0x41, 0x63, 0x60, 0x60, 0xfc,
        0xff, 0x8f, 0xa1, 0x81, 0x41, 0xc8, 0x04, 0x65, 0x65, 0x65, 0x65, 0x65, 0x65, 0x65, 0x65, 0x65,
        0x65, 0x65, 0x65, 0x65, 0x65, 0x65, 0x65, 0x65, 0x65, 0x44, 0xae, 0x0a, 0x05, 0xff,
    };
    assert_int_equal(hart_image_read_mem(ztxt, sizeof ztxt, "ztxt.png", &b), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "ztxt.png: truncated or corrupt PNG (chunk of 1732332865 bytes at offset 33"));
    assert_null(b.rgb);
}

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put_be(unsigned char *p, uint32_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
}

/* Found by fuzz_image: a few hundred bytes of JPEG (or PNG) header claiming
 * a huge image made the decoder allocate gigabytes and run for seconds
 * before noticing the data is missing. Sides within HART_IMAGE_MAX_SIDE but
 * more than HART_IMAGE_MAX_PIXELS in total are now refused up front. */
static void test_pixel_limit(void **s) {
    hart_image a, b;
    make_pattern(&a, 16, 16);
    const char *names[2] = {"big.png", "big.jpg"};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(hart_image_write(tp(names[k]), &a, NULL, 0, 90), HART_OK);
        size_t n;
        unsigned char *d = slurp(tp(names[k]), &n);
        if (k == 0) { /* IHDR width/height at 16/20, CRC over type + data at 29 */
            put_be(d + 16, 9000, 4);
            put_be(d + 20, 9000, 4);
            put_be(d + 29, crc32_of(d + 12, 17), 4);
        } else { /* SOF0/SOF2: FF C0|C2, length, precision, height, width */
            size_t i = 2;
            while (i + 9 < n && !(d[i] == 0xff && (d[i + 1] == 0xc0 || d[i + 1] == 0xc2))) i++;
            assert_true(i + 9 < n);
            put_be(d + i + 5, 9000, 2);
            put_be(d + i + 7, 9000, 2);
        }
        assert_int_equal(hart_image_read_mem(d, n, names[k], &b), HART_EFORMAT);
        assert_non_null(strstr(hart_errmsg(), "image size 9000x9000 is outside the limits"));
        assert_null(b.rgb);
        free(d);
    }
    hart_image_free(&a);
}

static void test_tensor_conversion(void **s) {
    /* rounding: half to even, clamp, NaN -> 0 */
    float v[2 * 3 * 1 * 4] = {0.0f, 1.0f, 0.5f, -0.2f,                    /* img0 R */
                              0.5f / 255, 1.5f / 255, 2.5f / 255, 1.7f, /* img0 G */
                              NAN, 0.25f, 0.999f, 0.002f,               /* img0 B */
                              0.1f, 0.2f, 0.3f, 0.4f, 0, 0, 0, 0, 1, 1, 1, 1};
    int64_t shape[4] = {2, 3, 1, 4};
    hart_tensor t = hart_tensor_wrap(v, HART_F32, 4, shape);
    hart_image img;
    assert_int_equal(hart_image_from_tensor(&t, 0, &img), HART_OK);
    assert_int_equal(img.width, 4);
    assert_int_equal(img.height, 1);
    const uint8_t want[12] = {0, 0, 0, 255, 2, 64, 128, 2, 255, 0, 255, 1};
    for (int i = 0; i < 12; i++) assert_int_equal(img.rgb[i], want[i]);
    hart_image_free(&img);
    assert_int_equal(hart_image_from_tensor(&t, 1, &img), HART_OK);
    assert_int_equal(img.rgb[0], 26); /* 0.1*255 = 25.5 (float 25.500002) -> 26 */
    assert_int_equal(img.rgb[2], 255);
    hart_tensor back;
    assert_int_equal(hart_image_to_tensor(&img, &back), HART_OK);
    assert_int_equal(back.ndim, 4);
    assert_int_equal(back.shape[0], 1);
    assert_int_equal(back.shape[1], 3);
    assert_int_equal(back.shape[2], 1);
    assert_int_equal(back.shape[3], 4);
    assert_float_equal(((float *)back.data)[0], 26 / 255.0f, 0);
    assert_float_equal(((float *)back.data)[8], 1.0f, 0);
    hart_tensor_free(&back);
    hart_image_free(&img);
    assert_int_equal(hart_image_from_tensor(&t, 2, &img), HART_EINVAL);
    assert_int_equal(hart_image_from_tensor(&t, -1, &img), HART_EINVAL);
    int64_t bad[3] = {4, 2, 3};
    hart_tensor tb = hart_tensor_wrap(v, HART_F32, 3, bad);
    assert_int_equal(hart_image_from_tensor(&tb, 0, &img), HART_EINVAL);
    tb = hart_tensor_wrap(v, HART_I32, 4, shape);
    assert_int_equal(hart_image_from_tensor(&tb, 0, &img), HART_EINVAL);
}

/* The golden 8-bit PNGs were made from the float tensors: our conversion
 * must reproduce them exactly, and reading them back gives the input. */
static void test_golden_pngs(void **s) {
    if (!golden_available()) test_skip("golden data not found");
    char p[512];
    hart_safetensors st;
    assert_int_equal(hart_st_open(golden_path("hart-tiny-a/golden.safetensors", p, sizeof p), &st), HART_OK);
    const struct { const char *tensor, *png; int index; } cases[] = {
        {"gen.image", "hart-tiny-a/gen_image_0.png", 0},
        {"gen.image", "hart-tiny-a/gen_image_1.png", 1},
        {"vae.input_image", "hart-tiny-a/input.png", 0},
        {"vae.dec.image_from_f", "hart-tiny-a/vae_decoded.png", 0},
    };
    for (int c = 0; c < 4; c++) {
        hart_tensor t;
        hart_image mine, theirs;
        assert_int_equal(hart_st_tensor(&st, cases[c].tensor, &t), HART_OK);
        assert_int_equal(hart_image_from_tensor(&t, cases[c].index, &mine), HART_OK);
        assert_int_equal(hart_image_read(golden_path(cases[c].png, p, sizeof p), &theirs), HART_OK);
        assert_int_equal(mine.width, theirs.width);
        assert_int_equal(mine.height, theirs.height);
        int diff = 0;
        for (int i = 0; i < mine.width * mine.height * 3; i++) diff += mine.rgb[i] != theirs.rgb[i];
        print_message("%s[%d] vs %s: %d of %d bytes differ\n", cases[c].tensor, cases[c].index, cases[c].png, diff,
                      mine.width * mine.height * 3);
        assert_int_equal(diff, 0);
        if (c == 2) { /* input.png holds exact 8-bit values: reading back gives the tensor */
            hart_tensor back;
            float *g = malloc(sizeof(float) * (size_t)hart_tensor_numel(&t));
            assert_int_equal(hart_tensor_read_f32(&t, g), HART_OK);
            assert_int_equal(hart_image_to_tensor(&theirs, &back), HART_OK);
            assert_int_equal(hart_tensor_numel(&back), hart_tensor_numel(&t));
            for (int64_t i = 0; i < hart_tensor_numel(&t); i++) assert_float_equal(((float *)back.data)[i], g[i], 1e-7);
            hart_tensor_free(&back);
            free(g);
        }
        hart_image_free(&mine);
        hart_image_free(&theirs);
    }
    hart_st_close(&st);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_roundtrip_and_metadata),
        cmocka_unit_test(test_params_escaping),
        cmocka_unit_test(test_jpeg_roundtrip),
        cmocka_unit_test(test_bad_paths_and_formats),
        cmocka_unit_test(test_truncated_and_corrupt),
        cmocka_unit_test(test_png_huge_chunk),
        cmocka_unit_test(test_pixel_limit),
        cmocka_unit_test(test_tensor_conversion),
        cmocka_unit_test(test_golden_pngs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
