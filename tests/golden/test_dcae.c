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
#include "models/dcae_internal.h"
#include "models/dcae_run.h"

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

/* decode input: the first latent_channels channels of a (possibly doubled) latent */
static void first_channels(const hart_tensor *lat, int c, hart_tensor *out) {
    int64_t B = lat->shape[0], C = lat->shape[1], hw = lat->shape[2] * lat->shape[3];
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, out, 4, B, c, lat->shape[2], lat->shape[3]), HART_OK);
    for (int64_t b = 0; b < B; b++)
        memcpy((float *)out->data + b * c * hw, (const float *)lat->data + b * C * hw, sizeof(float) * (size_t)(c * hw));
}

/* model folder `dir`, golden tensors in `gold` (input_image, latent, decoded) */
static void check_model(const char *dir, const char *gold, int expect_diffusers, int ratio, int check_image) {
    hart_safetensors gs;
    assert_int_equal(hart_st_open(gold, &gs), HART_OK);
    hart_dcae *m = NULL;
    hart_status s = hart_dcae_load(hart_backend_cpu(), dir, &m);
    if (s) printf("  load error: %s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    const hart_dcae_info *in = hart_dcae_get_info(m);
    assert_int_equal(in->ratio, ratio);
    assert_int_equal(in->diffusers, expect_diffusers);

    hart_tensor x, lat = {0}, dec = {0}, dec2 = {0}, glat, glat_in, lat_in;
    make_input(&gs, &x);
    s = hart_dcae_encode(m, &x, &lat);
    if (s) printf("  encode error: %s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    assert_true(golden_compare(&gs, "latent", &lat) <= TOL);

    /* decode the golden latent (isolates the decoder) and our own */
    assert_int_equal(hart_st_tensor(&gs, "latent", &glat), HART_OK);
    first_channels(&glat, in->latent_channels, &glat_in);
    s = hart_dcae_decode(m, &glat_in, &dec);
    if (s) printf("  decode error: %s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    assert_true(golden_compare(&gs, "decoded", &dec) <= TOL);
    first_channels(&lat, in->latent_channels, &lat_in);
    assert_int_equal(hart_dcae_decode(m, &lat_in, &dec2), HART_OK);
    assert_true(golden_compare(&gs, "decoded", &dec2) <= TOL);

    if (check_image) { /* decoded_image = (clamp(decoded,-1,1)+1)/2 */
        float *d = dec.data;
        for (int64_t i = 0; i < hart_tensor_numel(&dec); i++) d[i] = (fminf(fmaxf(d[i], -1.0f), 1.0f) + 1.0f) * 0.5f;
        assert_true(golden_compare(&gs, "decoded_image", &dec) <= TOL);
    }
    hart_tensor_free(&x); hart_tensor_free(&lat); hart_tensor_free(&dec); hart_tensor_free(&dec2);
    hart_tensor_free(&glat_in); hart_tensor_free(&lat_in);
    hart_dcae_free(m);
    hart_st_close(&gs);
}

static void check_model_dir(const char *dir, int expect_diffusers) {
    char p[1200];
    snprintf(p, sizeof p, "%s/golden.safetensors", g_dir);
    check_model(dir, p, expect_diffusers, 8, 1);
}

/* extra sets made by tools/dcae_golden_gen.py with the original efficientvit modules */
static void test_extra_sana_style(void **st) {
    check_model("tests/data/dcae/dcae-sana-style", "tests/data/dcae/dcae-sana-style/golden.safetensors", 0, 8, 0);
    hart_dcae *m = NULL;
    assert_int_equal(hart_dcae_load(NULL, "tests/data/dcae/dcae-sana-style", &m), HART_OK);
    assert_true(hart_dcae_get_info(m)->has_scaling_factor);
    assert_float_equal(hart_dcae_get_info(m)->scaling_factor, 0.41407f, 1e-6);
    hart_dcae_free(m);
}

/* the same weights in the diffusers layout (tools/dcae_to_diffusers.py applies
 * diffusers' own conversion renaming) must give the same tensors */
static void test_diffusers_layout(void **st) {
    if (!have_golden()) return;
    char p[1200];
    snprintf(p, sizeof p, "%s/golden.safetensors", g_dir);
    check_model("tests/data/dcae/dcae-tiny-diffusers", p, 1, 8, 1);
    check_model("tests/data/dcae/dcae-sana-style-diffusers", "tests/data/dcae/dcae-sana-style/golden.safetensors", 1, 8, 0);
}

static void test_extra_odd_options(void **st) {
    check_model("tests/data/dcae/dcae-odd-options", "tests/data/dcae/dcae-odd-options/golden.safetensors", 0, 8, 0);
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

/* temp folder with a config file and a link to the golden weights */
static void make_dir(char *tmpl, const char *cfg_name, const char *cfg_text) {
    assert_non_null(mkdtemp(tmpl));
    char p[1400], w[2600];
    snprintf(p, sizeof p, "%s/%s", tmpl, cfg_name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(cfg_text, f);
    fclose(f);
    snprintf(p, sizeof p, "%s/model.safetensors", tmpl);
    if (g_dir[0] == '/') snprintf(w, sizeof w, "%s/model.safetensors", g_dir);
    else { char cwd[1024]; assert_non_null(getcwd(cwd, sizeof cwd)); snprintf(w, sizeof w, "%s/%s/model.safetensors", cwd, g_dir); }
    assert_int_equal(symlink(w, p), 0);
}

static void rm_dir(const char *d) {
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

static char *golden_cfg_text(void) {
    char p[1200];
    snprintf(p, sizeof p, "%s/dcae_config.json", g_dir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* config.json that only names the model: looked up in $HART_CONFIG_DIR */
static void test_name_lookup(void **st) {
    if (!have_golden()) return;
    char cfgdir[] = "/tmp/dcae_cfgXXXXXX", mdir[] = "/tmp/dcae_modelXXXXXX";
    assert_non_null(mkdtemp(cfgdir));
    char p[1200];
    snprintf(p, sizeof p, "%s/dc-ae-tiny-test.json", cfgdir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(golden_cfg_text(), f);
    fclose(f);
    make_dir(mdir, "config.json", "{\"model_name\": \"dc-ae-tiny-test\"}");
    setenv("HART_CONFIG_DIR", cfgdir, 1);
    assert_true(hart_dcae_detect(mdir));
    hart_dcae *m = NULL;
    hart_status s = hart_dcae_load(NULL, mdir, &m);
    if (s) printf("  %s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    assert_string_equal(hart_dcae_get_info(m)->name, "dc-ae-tiny-test");
    hart_dcae_free(m);
    rm_dir(mdir);
    /* unknown name: clear error naming it */
    char mdir2[] = "/tmp/dcae_modelXXXXXX";
    make_dir(mdir2, "config.json", "{\"model_name\": \"dc-ae-nonexistent\"}");
    assert_int_not_equal(hart_dcae_load(NULL, mdir2, &m), HART_OK);
    assert_non_null(strstr(hart_errmsg(), "dc-ae-nonexistent"));
    rm_dir(mdir2);
    rm_dir(cfgdir);
    unsetenv("HART_CONFIG_DIR");
}

static void expect_cfg_error(const char *from, const char *to, hart_status code, const char *msg) {
    char *text = strdup(golden_cfg_text());
    char *at = strstr(text, from);
    assert_non_null(at);
    size_t nl = strlen(text) - strlen(from) + strlen(to) + 1;
    char *mod = malloc(nl);
    snprintf(mod, nl, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    char d[] = "/tmp/dcae_badXXXXXX";
    make_dir(d, "dcae_config.json", mod);
    hart_dcae *m = NULL;
    hart_status s = hart_dcae_load(NULL, d, &m);
    printf("  (%s -> %s): %s\n", from, to, hart_errmsg());
    assert_int_equal(s, code);
    assert_non_null(strstr(hart_errmsg(), msg));
    rm_dir(d);
    free(text);
    free(mod);
}

static void test_config_errors(void **st) {
    if (!have_golden()) return;
    /* unknown block type */
    expect_cfg_error("\"EViT_GLU\",\n   \"EViT_GLU\"\n  ],\n  \"norm\": \"trms2d\"",
                     "\"EViT_GLU\",\n   \"FancyBlock\"\n  ],\n  \"norm\": \"trms2d\"", HART_EUNSUPPORTED, "FancyBlock");
    /* a depth that does not match the weights: missing tensor named */
    expect_cfg_error("\"depth_list\": [\n   0,\n   1,\n   1,\n   1\n  ]", "\"depth_list\": [0, 1, 2, 1]", HART_EMISMATCH,
                     "encoder.stages.2.op_list.1");
    /* fewer blocks than the weights: unused tensor named */
    expect_cfg_error("\"depth_list\": [\n   0,\n   1,\n   1,\n   1\n  ]", "\"depth_list\": [0, 1, 1, 0]", HART_EMISMATCH,
                     "not part of the configured architecture");
    /* widths that do not match: shape error names the tensor */
    expect_cfg_error("\"width_list\": [\n   16,\n   32,\n   64,\n   64\n  ]", "\"width_list\": [16, 32, 64, 128]",
                     HART_EMISMATCH, "has shape");
    expect_cfg_error("\"upsample_block_type\": \"ConvPixelShuffle\"", "\"upsample_block_type\": \"Bilinear\"",
                     HART_EUNSUPPORTED, "Bilinear");
}

/* every released description in configs/ parses to the expected shape */
static void test_release_configs(void **st) {
    const char *names[] = {"dc-ae-f32c32-in-1.0", "dc-ae-f32c32-mix-1.0", "dc-ae-f32c32-sana-1.0", "dc-ae-f64c128-in-1.0",
                           "dc-ae-f64c128-mix-1.0", "dc-ae-f128c512-in-1.0", "dc-ae-f128c512-mix-1.0"};
    const int lat[] = {32, 32, 32, 128, 128, 512, 512}, stages[] = {6, 6, 6, 7, 7, 8, 8};
    for (int i = 0; i < 7; i++) {
        char p[1200];
        assert_int_equal(hart_dcae_find_config(names[i], p, sizeof p), HART_OK);
        cJSON *j = NULL;
        assert_int_equal(hart_json_load(p, &j), HART_OK);
        dcae_cfg c;
        hart_status s = dcae_cfg_parse_original(j, p, &c);
        if (s) printf("  %s\n", hart_errmsg());
        assert_int_equal(s, HART_OK);
        assert_int_equal(c.latent_channels, lat[i]);
        assert_int_equal(c.enc.n_stages, stages[i]);
        assert_int_equal(c.dec.n_stages, stages[i]);
        assert_true(c.has_scaling_factor);
        cJSON_Delete(j);
    }
    char p[64];
    assert_int_equal(hart_dcae_find_config("../etc/passwd", p, sizeof p), HART_EINVAL);
}

static void test_tiled_decode(void **st) {
    if (!have_golden()) return;
    char p[1200];
    snprintf(p, sizeof p, "%s/golden.safetensors", g_dir);
    hart_safetensors gs;
    assert_int_equal(hart_st_open(p, &gs), HART_OK);
    hart_dcae *m = NULL;
    assert_int_equal(hart_dcae_load(NULL, g_dir, &m), HART_OK);
    hart_tensor glat, full = {0}, one = {0}, tiled = {0};
    assert_int_equal(hart_st_tensor(&gs, "latent", &glat), HART_OK);
    assert_int_equal(hart_dcae_decode(m, &glat, &full), HART_OK);
    /* one tile covering everything = plain decode */
    assert_int_equal(hart_dcae_decode_tiled(m, &glat, 4, 1, &one), HART_OK);
    assert_true(rel_err(one.data, full.data, hart_tensor_numel(&full)) == 0.0);
    /* 3x3 tiles of 2x2 latents, overlap 1: right shape, finite; an approximation
     * (the decoder's linear attention is global, so tiles see less context) */
    assert_int_equal(hart_dcae_decode_tiled(m, &glat, 2, 1, &tiled), HART_OK);
    assert_int_equal(tiled.ndim, 4);
    assert_int_equal(tiled.shape[2], 32);
    assert_int_equal(tiled.shape[3], 32);
    double e = rel_err(tiled.data, full.data, hart_tensor_numel(&full));
    printf("  tiled (2x2 latent tiles, overlap 1) vs full: rel err %.3g\n", e);
    assert_true(e < 1.0);
    assert_int_equal(hart_dcae_decode_tiled(m, &glat, 2, 2, &tiled), HART_EINVAL); /* overlap >= tile */
    hart_tensor_free(&full); hart_tensor_free(&one); hart_tensor_free(&tiled);
    hart_dcae_free(m);
    hart_st_close(&gs);
}

/* default tile: none for f32c32 at 1024^2, some for 2048^2 */
static void test_default_tile(void **st) {
    char p[1200];
    assert_int_equal(hart_dcae_find_config("dc-ae-f32c32-in-1.0", p, sizeof p), HART_OK);
    cJSON *j = NULL;
    assert_int_equal(hart_json_load(p, &j), HART_OK);
    hart_dcae m;
    memset(&m, 0, sizeof m);
    assert_int_equal(dcae_cfg_parse_original(j, p, &m.cfg), HART_OK);
    cJSON_Delete(j);
    assert_int_equal(hart_dcae_default_tile(&m, 32, 32), 0);
    int t = hart_dcae_default_tile(&m, 64, 64);
    printf("  f32c32 default tile at 2048^2: %d latent px\n", t);
    assert_true(t >= 8 && t < 64);
}

/* encode to a latent file, decode it back; reconstruct in one go */
static void test_files(void **st) {
    if (!have_golden()) return;
    char p[1200];
    snprintf(p, sizeof p, "%s/golden.safetensors", g_dir);
    hart_safetensors gs;
    assert_int_equal(hart_st_open(p, &gs), HART_OK);
    hart_dcae *m = NULL;
    assert_int_equal(hart_dcae_load(NULL, g_dir, &m), HART_OK);
    hart_tensor img, out = {0}, rec = {0};
    assert_int_equal(hart_st_tensor(&gs, "input_image", &img), HART_OK);
    char lp[] = "/tmp/dcae_latXXXXXX";
    int fd = mkstemp(lp);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(hart_dcae_encode_file(m, &img, 1, lp), HART_EINVAL); /* no scaling factor */
    assert_int_equal(hart_dcae_encode_file(m, &img, 0, lp), HART_OK);
    hart_safetensors ls;
    assert_int_equal(hart_st_open(lp, &ls), HART_OK);
    hart_tensor lat;
    assert_int_equal(hart_st_tensor(&ls, "latent", &lat), HART_OK);
    assert_true(golden_compare(&gs, "latent", &lat) <= TOL);
    hart_st_close(&ls);
    assert_int_equal(hart_dcae_decode_file(m, lp, NULL, -1, -1, &out), HART_OK);
    assert_true(golden_compare(&gs, "decoded_image", &out) <= TOL);
    assert_int_equal(hart_dcae_reconstruct(m, &img, 0, 0, &rec), HART_OK);
    assert_true(golden_compare(&gs, "decoded_image", &rec) <= TOL);
    assert_int_equal(hart_dcae_decode_file(m, "/nonexistent.safetensors", NULL, 0, 0, &out), HART_EIO);
    hart_tensor_free(&out); hart_tensor_free(&rec);
    unlink(lp);
    hart_dcae_free(m);
    hart_st_close(&gs);

    /* scaled latents (sana-style config has scaling_factor 0.41407) round-trip */
    const char *sd = "tests/data/dcae/dcae-sana-style";
    assert_int_equal(hart_st_open("tests/data/dcae/dcae-sana-style/golden.safetensors", &gs), HART_OK);
    assert_int_equal(hart_dcae_load(NULL, sd, &m), HART_OK);
    assert_int_equal(hart_st_tensor(&gs, "input_image", &img), HART_OK);
    fd = mkstemp(lp);
    close(fd);
    assert_int_equal(hart_dcae_encode_file(m, &img, 1, lp), HART_OK);
    assert_int_equal(hart_st_open(lp, &ls), HART_OK);
    assert_int_equal(hart_st_tensor(&ls, "latent", &lat), HART_OK);
    hart_tensor glat;
    assert_int_equal(hart_st_tensor(&gs, "latent", &glat), HART_OK);
    const float *a = lat.data, *b = glat.data;
    for (int64_t i = 0; i < hart_tensor_numel(&glat); i++) assert_float_equal(a[i], b[i] * 0.41407f, 1e-4 * (1 + fabsf(b[i])));
    hart_st_close(&ls);
    assert_int_equal(hart_dcae_decode_file(m, lp, NULL, 0, 0, &out), HART_OK);
    hart_tensor dec;
    assert_int_equal(hart_st_tensor(&gs, "decoded", &dec), HART_OK);
    float *o = out.data;
    const float *g = dec.data;
    double md = 0;
    for (int64_t i = 0; i < hart_tensor_numel(&out); i++) {
        double want = (fmin(fmax(g[i], -1.0), 1.0) + 1.0) / 2.0;
        md = fmax(md, fabs(o[i] - want));
    }
    printf("  scaled round trip: max abs err %.3g\n", md);
    assert_true(md <= 1e-4);
    /* image size not divisible by the compression ratio */
    hart_tensor bad = {0};
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &bad, 4, 1, 3, 20, 24), HART_OK);
    assert_int_equal(hart_dcae_encode_file(m, &bad, 0, lp), HART_EINVAL);
    assert_non_null(strstr(hart_errmsg(), "compression ratio"));
    hart_tensor_free(&bad);
    hart_tensor_free(&out);
    unlink(lp);
    hart_dcae_free(m);
    hart_st_close(&gs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_golden_original, setup),
        cmocka_unit_test_setup(test_bad_inputs, setup),
        cmocka_unit_test(test_extra_sana_style),
        cmocka_unit_test(test_extra_odd_options),
        cmocka_unit_test_setup(test_diffusers_layout, setup),
        cmocka_unit_test_setup(test_name_lookup, setup),
        cmocka_unit_test_setup(test_config_errors, setup),
        cmocka_unit_test(test_release_configs),
        cmocka_unit_test_setup(test_tiled_decode, setup),
        cmocka_unit_test(test_default_tile),
        cmocka_unit_test_setup(test_files, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
