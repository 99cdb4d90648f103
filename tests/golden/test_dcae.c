/* DC-AE against every golden dcae-* set (original efficientvit naming), the
 * extra sets in tests/data/dcae, the same weights re-saved in the diffusers
 * layout, and bad-input errors. Each tensor within its measured limit
 * (support/golden_check.h: a float64 run of the same code first). The golden
 * sets (and tiled decoding) run on every backend of $HART_TEST_DEVICES
 * (default "cpu,opencl"). Tiled decoding is checked against the plain decode
 * of each tile. */
#include <float.h>
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
#include "support/test_backends.h"
#include "support/golden_check.h"
#include "support/test_skip.h"
#include "models/dcae/dcae.h"
#include "models/dcae/dcae_internal.h"
#include "models/dcae/dcae_run.h"

static char g_dir[1024];
static char g_sets[16][1024];
static int g_nsets;

/* backends under test */
static test_backends g_tb;
#define g_nbe (g_tb.n)
#define g_be (g_tb.be)
#define g_bename (g_tb.spec)

static int group_setup(void **st) {
    test_backends_open(&g_tb);
    g_nsets = golden_sets("dcae-", "golden.safetensors", g_sets, 16);
    return 0;
}

static int group_teardown(void **st) {
    test_backends_close(&g_tb);
    return 0;
}

static int setup(void **st) {
    golden_path("dcae-tiny", g_dir, sizeof g_dir);
    return 0;
}

/* Skips (a failure under CI) when the dcae-tiny set is missing. */
static void need_golden(void) {
    struct stat sb;
    char p[1200];
    snprintf(p, sizeof p, "%s/golden.safetensors", g_dir);
    if (stat(p, &sb) != 0) test_skip("%s not found", p);
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
    hart_tensor h; /* host copy (lat may live on a device) */
    assert_int_equal(hart_tensor_to(NULL, lat, &h), HART_OK);
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, out, 4, B, c, lat->shape[2], lat->shape[3]), HART_OK);
    for (int64_t b = 0; b < B; b++)
        memcpy((float *)out->data + b * c * hw, (const float *)h.data + b * C * hw, sizeof(float) * (size_t)(c * hw));
    hart_tensor_free(&h);
}

/* model folder `dir`, golden tensors in `gold` (input_image, latent, decoded) */
static void check_model_on(hart_backend *be, const char *dir, const char *gold, int expect_diffusers, int ratio,
                           int check_image) {
    hart_safetensors gs;
    assert_int_equal(hart_st_open(gold, &gs), HART_OK);
    hart_dcae *m = NULL;
    printf("  %s on %s\n", dir, be->name);
    golden_run_begin(be);
    hart_status s = hart_dcae_load(be, dir, &m);
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
    golden_check(&gs, "latent", &lat);

    /* decode the golden latent (isolates the decoder) and our own */
    assert_int_equal(hart_st_tensor(&gs, "latent", &glat), HART_OK);
    first_channels(&glat, in->latent_channels, &glat_in);
    s = hart_dcae_decode(m, &glat_in, &dec);
    if (s) printf("  decode error: %s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    golden_check(&gs, "decoded", &dec);
    first_channels(&lat, in->latent_channels, &lat_in);
    assert_int_equal(hart_dcae_decode(m, &lat_in, &dec2), HART_OK);
    golden_check(&gs, "decoded", &dec2);

    if (check_image) { /* decoded_image = (clamp(decoded,-1,1)+1)/2 */
        hart_tensor h;
        assert_int_equal(hart_tensor_to(NULL, &dec, &h), HART_OK);
        float *d = h.data;
        for (int64_t i = 0; i < hart_tensor_numel(&h); i++) d[i] = (fminf(fmaxf(d[i], -1.0f), 1.0f) + 1.0f) * 0.5f;
        golden_check(&gs, "decoded_image", &h);
        hart_tensor_free(&h);
    }
    hart_tensor_free(&x); hart_tensor_free(&lat); hart_tensor_free(&dec); hart_tensor_free(&dec2);
    hart_tensor_free(&glat_in); hart_tensor_free(&lat_in);
    hart_dcae_free(m);
    hart_st_close(&gs);
}

/* on the float64 oracle and the CPU only (layout / loading checks) */
static void check_model(const char *dir, const char *gold, int expect_diffusers, int ratio, int check_image) {
    check_model_on(golden_oracle(), dir, gold, expect_diffusers, ratio, check_image);
    check_model_on(hart_backend_cpu(), dir, gold, expect_diffusers, ratio, check_image);
    golden_verify();
}

/* on every backend under test (the float64 oracle first) */
static void check_model_all(const char *dir, const char *gold, int expect_diffusers, int ratio, int check_image) {
    for (int i = 0; i < g_nbe; i++) check_model_on(g_be[i], dir, gold, expect_diffusers, ratio, check_image);
    golden_verify();
}

/* extra sets made by tools/dcae_golden_gen.py with the original efficientvit modules */
static void test_extra_sana_style(void **st) {
    check_model_all("tests/data/dcae/dcae-sana-style", "tests/data/dcae/dcae-sana-style/golden.safetensors", 0, 8, 0);
    hart_dcae *m = NULL;
    assert_int_equal(hart_dcae_load(NULL, "tests/data/dcae/dcae-sana-style", &m), HART_OK);
    assert_true(hart_dcae_get_info(m)->has_scaling_factor);
    assert_float_equal(hart_dcae_get_info(m)->scaling_factor, 0.41407f, 1e-6);
    hart_dcae_free(m);
}

/* the same weights in the diffusers layout (tools/dcae_to_diffusers.py applies
 * diffusers' own conversion renaming) must give the same tensors */
static void test_diffusers_layout(void **st) {
    need_golden();
    char p[1200];
    snprintf(p, sizeof p, "%s/golden.safetensors", g_dir);
    check_model("tests/data/dcae/dcae-tiny-diffusers", p, 1, 8, 1);
    check_model("tests/data/dcae/dcae-sana-style-diffusers", "tests/data/dcae/dcae-sana-style/golden.safetensors", 1, 8, 0);
}

static void test_extra_odd_options(void **st) {
    check_model_all("tests/data/dcae/dcae-odd-options", "tests/data/dcae/dcae-odd-options/golden.safetensors", 0, 8, 0);
}

static void test_golden_original(void **st) {
    if (!g_nsets) test_skip("no dcae-* golden set found");
    for (int i = 0; i < g_nsets; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/golden.safetensors", g_sets[i]);
        hart_dcae *m = NULL;
        assert_int_equal(hart_dcae_load(NULL, g_sets[i], &m), HART_OK);
        int ratio = hart_dcae_get_info(m)->ratio;
        hart_dcae_free(m);
        hart_safetensors gs;
        assert_int_equal(hart_st_open(p, &gs), HART_OK);
        int has_image = hart_st_find(&gs, "decoded_image") != NULL;
        hart_st_close(&gs);
        check_model_all(g_sets[i], p, 0, ratio, has_image);
    }
}

static void test_bad_inputs(void **st) {
    need_golden();
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
    need_golden();
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
    need_golden();
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
        hart_status s = hart_dcae_cfg_parse_original(j, p, &c);
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

static void host_copy(const hart_tensor *t, hart_tensor *h) { assert_int_equal(hart_tensor_to(NULL, t, h), HART_OK); }

/* The plain decode (host copy) of latent rows [y0, y0+th) x cols [x0, x0+tw). */
static void decode_region(hart_dcae *m, const hart_tensor *lat, int64_t y0, int64_t x0, int64_t th, int64_t tw,
                          hart_tensor *out) {
    int64_t B = lat->shape[0], C = lat->shape[1], h = lat->shape[2], w = lat->shape[3];
    hart_tensor sub, dec = {0};
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &sub, 4, B, C, th, tw), HART_OK);
    const float *src = lat->data;
    float *dst = sub.data;
    for (int64_t bc = 0; bc < B * C; bc++)
        for (int64_t y = 0; y < th; y++)
            memcpy(dst + (bc * th + y) * tw, src + (bc * h + y0 + y) * w + x0, sizeof(float) * (size_t)tw);
    assert_int_equal(hart_dcae_decode(m, &sub, &dec), HART_OK);
    host_copy(&dec, out);
    hart_tensor_free(&dec);
    hart_tensor_free(&sub);
}

/* Tile starts along an axis of n latent px, as documented for
 * hart_dcae_decode_tiled: every tile - overlap px, the last one moved back
 * so that it ends at the edge. */
static int axis_starts(int64_t n, int tile, int overlap, int64_t *st) {
    int c = 0;
    for (int64_t p = 0;; p += tile - overlap) {
        if (p + tile >= n) { st[c++] = n > tile ? n - tile : 0; break; }
        st[c++] = p;
    }
    return c;
}

/* Tiled decode of the golden latent with (tile, overlap) on model m: every
 * output pixel must be a blend of the plain decodes of the tiles that cover
 * it (with overlap 0: exactly the one tile's value). Returns the worst
 * distance to the nearest covering tile, relative to max |image|. */
static double check_tiling(hart_dcae *m, const hart_tensor *glat, int tile, int overlap) {
    int64_t h = glat->shape[2], w = glat->shape[3];
    hart_tensor tiled = {0}, ht;
    assert_int_equal(hart_dcae_decode_tiled(m, glat, tile, overlap, &tiled), HART_OK);
    host_copy(&tiled, &ht);
    hart_tensor_free(&tiled);
    int r = hart_dcae_get_info(m)->ratio;
    assert_int_equal(ht.shape[2], h * r);
    assert_int_equal(ht.shape[3], w * r);
    int64_t ys[256], xs[256];
    int ny = axis_starts(h, tile, overlap, ys), nx = axis_starts(w, tile, overlap, xs);
    const int64_t BO = ht.shape[0] * ht.shape[1], H = ht.shape[2], W = ht.shape[3];
    const int64_t th = h < tile ? h : tile, tw = w < tile ? w : tile;
    /* per pixel: min and max over the covering tiles' values */
    float *lo = malloc(sizeof(float) * (size_t)(BO * H * W)), *hi = malloc(sizeof(float) * (size_t)(BO * H * W));
    assert_true(lo && hi);
    for (int64_t i = 0; i < BO * H * W; i++) { lo[i] = INFINITY; hi[i] = -INFINITY; }
    for (int iy = 0; iy < ny; iy++)
        for (int ix = 0; ix < nx; ix++) {
            hart_tensor d;
            decode_region(m, glat, ys[iy], xs[ix], th, tw, &d);
            const float *v = d.data;
            for (int64_t c = 0; c < BO; c++)
                for (int64_t y = 0; y < th * r; y++)
                    for (int64_t x = 0; x < tw * r; x++) {
                        int64_t gi = (c * H + ys[iy] * r + y) * W + xs[ix] * r + x;
                        float t = v[(c * th * r + y) * tw * r + x];
                        lo[gi] = fminf(lo[gi], t);
                        hi[gi] = fmaxf(hi[gi], t);
                    }
            hart_tensor_free(&d);
        }
    const float *o = ht.data;
    double worst = 0, mx = 0;
    for (int64_t i = 0; i < BO * H * W; i++) {
        assert_true(isfinite(o[i]) && lo[i] <= hi[i]); /* every pixel covered */
        double out = o[i] < lo[i] ? lo[i] - o[i] : o[i] > hi[i] ? o[i] - hi[i] : 0;
        worst = fmax(worst, out);
        mx = fmax(mx, fabs(o[i]));
    }
    free(lo);
    free(hi);
    hart_tensor_free(&ht);
    return mx > 0 ? worst / mx : worst;
}

static void test_tiled_decode(void **st) {
    if (!g_nsets) test_skip("no dcae-* golden set found");
    for (int si = 0; si < g_nsets; si++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/golden.safetensors", g_sets[si]);
        hart_safetensors gs;
        assert_int_equal(hart_st_open(p, &gs), HART_OK);
        hart_tensor glat, glat_in;
        assert_int_equal(hart_st_tensor(&gs, "latent", &glat), HART_OK);
        for (int bi = 0; bi < g_nbe; bi++) {
            printf("  set %s, backend %s\n", g_sets[si], g_be[bi]->name);
            golden_run_begin(g_be[bi]);
            hart_dcae *m = NULL;
            assert_int_equal(hart_dcae_load(g_be[bi], g_sets[si], &m), HART_OK);
            first_channels(&glat, hart_dcae_get_info(m)->latent_channels, &glat_in);
            const int64_t h = glat_in.shape[2], w = glat_in.shape[3];
            hart_tensor full = {0}, one = {0}, hf, ho;
            assert_int_equal(hart_dcae_decode(m, &glat_in, &full), HART_OK);
            golden_check(&gs, "decoded", &full);
            /* one tile covering everything = plain decode, bit for bit */
            assert_int_equal(hart_dcae_decode_tiled(m, &glat_in, (int)(h > w ? h : w), 1, &one), HART_OK);
            host_copy(&full, &hf);
            host_copy(&one, &ho);
            assert_memory_equal(ho.data, hf.data, hart_tensor_nbytes(&hf));
            /* tiles that split both axes: the largest tile < min(h, w) that divides both */
            int64_t lim = h < w ? h : w;
            int tile = 1;
            for (int t = 1; t < lim; t++)
                if (h % t == 0 && w % t == 0) tile = t;
            /* overlap 0: each pixel is its tile's plain decode (rounding aside) */
            double e0 = check_tiling(m, &glat_in, tile, 0);
            printf("  tiles of %d latent px, overlap 0: %.3g from the tiles' own decodes\n", tile, e0);
            assert_true(e0 <= 4 * FLT_EPSILON);
            if (tile >= 2) { /* overlap: blends of the covering tiles only */
                double e1 = check_tiling(m, &glat_in, tile, 1);
                printf("  tiles of %d latent px, overlap 1: %.3g outside the covering tiles' range\n", tile, e1);
                assert_true(e1 <= 4 * FLT_EPSILON);
            }
            assert_int_equal(hart_dcae_decode_tiled(m, &glat_in, 2, 2, &one), HART_EINVAL); /* overlap >= tile */
            hart_tensor_free(&full); hart_tensor_free(&one);
            hart_tensor_free(&hf); hart_tensor_free(&ho); hart_tensor_free(&glat_in);
            hart_dcae_free(m);
        }
        golden_verify();
        hart_st_close(&gs);
    }
}

/* default tile: none for f32c32 at 1024^2, some for 2048^2 */
static void test_default_tile(void **st) {
    char p[1200];
    assert_int_equal(hart_dcae_find_config("dc-ae-f32c32-in-1.0", p, sizeof p), HART_OK);
    cJSON *j = NULL;
    assert_int_equal(hart_json_load(p, &j), HART_OK);
    hart_dcae m;
    memset(&m, 0, sizeof m);
    assert_int_equal(hart_dcae_cfg_parse_original(j, p, &m.cfg), HART_OK);
    cJSON_Delete(j);
    assert_int_equal(hart_dcae_default_tile(&m, 32, 32), 0);
    int t = hart_dcae_default_tile(&m, 64, 64);
    printf("  f32c32 default tile at 2048^2: %d latent px\n", t);
    assert_true(t >= 8 && t < 64);
}

/* encode to a latent file, decode it back; reconstruct in one go */
static void test_files(void **st) {
    need_golden();
    golden_run_begin(hart_backend_cpu()); /* float64 values: test_golden_original's */
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
    golden_check(&gs, "latent", &lat);
    hart_st_close(&ls);
    assert_int_equal(hart_dcae_decode_file(m, lp, NULL, -1, -1, &out), HART_OK);
    golden_check(&gs, "decoded_image", &out);
    assert_int_equal(hart_dcae_reconstruct(m, &img, 0, 0, &rec), HART_OK);
    golden_check(&gs, "decoded_image", &rec);
    assert_int_equal(hart_dcae_decode_file(m, "/nonexistent.safetensors", NULL, 0, 0, &out), HART_EIO);
    hart_tensor_free(&out);
    assert_int_equal(hart_dcae_decode_file(m, lp, "nope", 0, 0, &out), HART_EFORMAT);
    assert_non_null(strstr(hart_errmsg(), "nope"));
    assert_int_equal(hart_dcae_decode_file(m, lp, "latent", 0, 0, &out), HART_OK);
    golden_check(&gs, "decoded_image", &out);
    golden_verify();
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

    /* a double latent (2x4 channels) file decodes its first half, as reconstruct does */
    assert_int_equal(hart_st_open("tests/data/dcae/dcae-odd-options/golden.safetensors", &gs), HART_OK);
    assert_int_equal(hart_dcae_load(NULL, "tests/data/dcae/dcae-odd-options", &m), HART_OK);
    assert_int_equal(hart_st_tensor(&gs, "input_image", &img), HART_OK);
    fd = mkstemp(lp);
    close(fd);
    assert_int_equal(hart_dcae_encode_file(m, &img, 0, lp), HART_OK);
    assert_int_equal(hart_dcae_decode_file(m, lp, NULL, 0, 0, &out), HART_OK);
    assert_int_equal(hart_dcae_reconstruct(m, &img, 0, 0, &rec), HART_OK);
    assert_true(rel_err(out.data, rec.data, hart_tensor_numel(&rec)) == 0.0);
    hart_tensor_free(&out); hart_tensor_free(&rec);
    unlink(lp);
    hart_dcae_free(m);
    hart_st_close(&gs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_original),
        cmocka_unit_test_setup(test_bad_inputs, setup),
        cmocka_unit_test(test_extra_sana_style),
        cmocka_unit_test(test_extra_odd_options),
        cmocka_unit_test_setup(test_diffusers_layout, setup),
        cmocka_unit_test_setup(test_name_lookup, setup),
        cmocka_unit_test_setup(test_config_errors, setup),
        cmocka_unit_test(test_release_configs),
        cmocka_unit_test(test_tiled_decode),
        cmocka_unit_test(test_default_tile),
        cmocka_unit_test_setup(test_files, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
