/* LPD and the LlamaGen VQ against the golden runs of the original PyTorch
 * code (every lpd-* set): generation replaying the recorded tokens (each
 * step's input, both guidance halves, the guidance scales, the guided
 * logits, the image; with guidance off, the conditional logits) and the VQ round trip (latent, indices, decoded
 * image). Float tensors are checked on the float64 oracle and each backend
 * of $HART_TEST_DEVICES within their measured limits (support/golden_check.h);
 * indices and masks exactly; the images' 8-bit forms within one level of
 * the set's PNGs. Every size and setting comes from the set. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/checkpoint.h"
#include "core/pth.h"
#include "io/image.h"
#include "models/lpd/lpd.h"
#include "models/vq/vq.h"
#include "pipeline/c2i.h"
#include "support/golden.h"
#include "support/golden_check.h"
#include "support/test_backends.h"
#include "support/test_skip.h"
#include "ops/ops.h"

static test_backends TB;
static char g_sets[16][1024];
static int g_nsets;
static hart_safetensors g_st;
static const char *g_set;
static cJSON *g_cfg, *g_json;

static int setup(void **state) {
    g_nsets = golden_sets("lpd-", "golden.safetensors", g_sets, 16);
    test_backends_open(&TB);
    return 0;
}

static int teardown(void **state) {
    test_backends_close(&TB);
    return 0;
}

static hart_tensor gold(const char *name) {
    hart_tensor t;
    if (hart_st_tensor(&g_st, name, &t)) fail_msg("golden tensor %s missing", name);
    return t;
}

/* settings.<key> of golden.json as a number; dflt when absent (NAN: required) */
static double setting(const char *key, double dflt) {
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(g_json, "settings"), key);
    if (!cJSON_IsNumber(v) && isnan(dflt)) fail_msg("%s/golden.json: settings.%s missing", g_set, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int linear_schedule(void) {
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(g_json, "settings"), "cfg_schedule");
    return !cJSON_IsString(v) || !strcmp(v->valuestring, "linear");
}

/* 8-bit image b of t [B,3,H,W] (any backend) as round_half_even(clip(x·255))
 * vs the PNG `file` of the set: max level difference. */
static int png_diff(const hart_tensor *t, int b, const char *file) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", g_set, file);
    hart_image im;
    if (hart_image_read(p, &im)) fail_msg("%s: %s", p, hart_errmsg());
    int64_t H = t->shape[2], W = t->shape[3], n = hart_tensor_numel(t);
    assert_int_equal(im.width, W);
    assert_int_equal(im.height, H);
    float *x = malloc(sizeof(float) * (size_t)n);
    assert_int_equal(hart_tensor_read_f32(t, x), HART_OK);
    int worst = 0;
    for (int c = 0; c < 3; c++)
        for (int64_t y = 0; y < H; y++)
            for (int64_t xx = 0; xx < W; xx++) {
                double v = x[(((size_t)b * 3 + c) * H + y) * W + xx] * 255.0;
                v = v < 0 ? 0 : v > 255 ? 255 : v;
                int q = (int)nearbyint(v), ref = im.rgb[((size_t)y * W + xx) * 3 + c];
                if (abs(q - ref) > worst) worst = abs(q - ref);
            }
    free(x);
    hart_image_free(&im);
    return worst;
}

/* every traced tensor against the golden one of the same name */
static hart_status check_traced(void *ctx, const char *name, const hart_tensor *t) {
    int *n = ctx;
    hart_tensor g = gold(name);
    if (t->dtype == HART_F32) {
        golden_check(&g_st, name, t);
    } else {
        assert_int_equal(t->dtype, g.dtype);
        assert_true(hart_tensor_same_shape(t, &g));
        if (memcmp(t->data, g.data, hart_tensor_nbytes(t))) fail_msg("%s differs from the golden values", name);
        printf("  %s: equal\n", name);
    }
    (*n)++;
    return HART_OK;
}

/* guidance off: what the sampler gets is the conditional half of the
 * golden run (the rows of a batch are independent) */
static hart_status check_unguided(void *ctx, const char *name, const hart_tensor *t) {
    int i;
    char tail[32], gname[64];
    if (sscanf(name, "lpd.step%d.%31s", &i, tail) == 2 && !strcmp(tail, "logits_cfg")) {
        snprintf(gname, sizeof gname, "lpd.step%d.logits_cond", i);
        golden_check(&g_st, gname, t);
        (*(int *)ctx)++;
    }
    return HART_OK;
}

static void run_generation(hart_backend *be, const char *spec) {
    char p[1200];
    hart_lpd *m;
    hart_vq *vq;
    snprintf(p, sizeof p, "%s/lpd.pth", g_set);
    if (hart_lpd_load(be, p, cJSON_GetObjectItem(g_cfg, "lpd"), &m)) fail_msg("%s on %s: %s", p, spec, hart_errmsg());
    snprintf(p, sizeof p, "%s/vq.pt", g_set);
    if (hart_vq_load(be, p, cJSON_GetObjectItem(g_cfg, "vq"), &vq)) fail_msg("%s on %s: %s", p, spec, hart_errmsg());
    hart_tensor labels = gold("lpd.labels"), order = gold("lpd.order"), gs = gold("lpd.group_sizes");
    int K = (int)gs.shape[0];
    int *g = malloc(sizeof(int) * (size_t)K);
    for (int i = 0; i < K; i++) g[i] = (int)((int64_t *)gs.data)[i];
    const hart_lpd_config *c = hart_lpd_get_config(m);
    assert_int_equal(order.shape[1], c->N);
    hart_c2i_params prm = {
        .B = (int)labels.shape[0], .labels = labels.data, .orders = order.data, .group_sizes = g, .K = K,
        .cfg = setting("cfg", NAN),
        .schedule = linear_schedule() ? HART_CFG_LINEAR : HART_CFG_CONSTANT,
        .sample = {.temperature = (float)setting("temperature", 1), .top_k = (int)setting("top_k", 0),
                   .top_p = (float)setting("top_p", 1)},
        .replay = &g_st};
    int traced = 0;
    prm.observe = check_traced;
    prm.observe_ctx = &traced;
    hart_tensor img;
    if (hart_c2i_generate(m, vq, &prm, NULL, &img)) fail_msg("generate on %s: %s", spec, hart_errmsg());
    assert_int_equal(traced, 4 + 6 * K + 3);
    for (int b = 0; b < prm.B; b++) {
        char f[64];
        snprintf(f, sizeof f, "gen_image_%d.png", b);
        int d = png_diff(&img, b, f);
        printf("  %s: max 8-bit difference %d\n", f, d);
        assert_true(d <= 1);
    }
    hart_tensor_free(&img);
    int unguided = 0;
    prm.cfg = 1.0;
    prm.observe = check_unguided;
    prm.observe_ctx = &unguided;
    if (hart_c2i_generate(m, vq, &prm, NULL, NULL)) fail_msg("generate without guidance on %s: %s", spec, hart_errmsg());
    assert_int_equal(unguided, K);
    /* VQ round trip */
    hart_tensor in = gold("vq.input"), x, lat, idx, dec;
    hart_tensor lat_g = gold("vq.enc.latent");
    assert_int_equal(hart_tensor_new(be, HART_F32, in.ndim, in.shape, &x), HART_OK);
    double *buf = malloc(sizeof(double) * (size_t)hart_tensor_numel(&in));
    for (int64_t i = 0; i < hart_tensor_numel(&in); i++) buf[i] = (((float *)in.data)[i] - 0.5f) / 0.5f;
    assert_int_equal(hart_tensor_write_f64(&x, buf), HART_OK);
    free(buf);
    assert_int_equal(hart_tensor_new(be, HART_F32, lat_g.ndim, lat_g.shape, &lat), HART_OK);
    if (hart_vq_encode(vq, &x, &lat)) fail_msg("vq encode: %s", hart_errmsg());
    golden_check(&g_st, "vq.enc.latent", &lat);
    hart_tensor idx_g = gold("vq.enc.idx");
    assert_int_equal(hart_tensor_new(NULL, HART_I64, 2, idx_g.shape, &idx), HART_OK);
    assert_int_equal(hart_vq_quantize(vq, &lat, &idx), HART_OK);
    int64_t diff = golden_compare_idx(&g_st, "vq.enc.idx", &idx);
    assert_int_equal(diff, 0);
    hart_tensor dec_g = gold("vq.dec.image");
    assert_int_equal(hart_tensor_new(be, HART_F32, 4, dec_g.shape, &dec), HART_OK);
    assert_int_equal(hart_vq_decode_codes(vq, &idx, (int)lat_g.shape[2], (int)lat_g.shape[3], &dec), HART_OK);
    assert_int_equal(hart_op_scale(&dec, &dec, 0.5f, 0.5f), HART_OK);
    golden_check(&g_st, "vq.dec.image", &dec);
    int d = png_diff(&dec, 0, "vq_decoded.png");
    printf("  vq_decoded.png: max 8-bit difference %d\n", d);
    assert_true(d <= 1);
    hart_tensor_free(&x); hart_tensor_free(&lat); hart_tensor_free(&idx); hart_tensor_free(&dec);
    free(g);
    hart_vq_free(vq);
    hart_lpd_free(m);
}

static void test_golden(void **state) {
    if (!g_nsets) test_skip("no lpd-* golden set found");
    for (int s = 0; s < g_nsets; s++) {
        char p[1200];
        g_set = g_sets[s];
        snprintf(p, sizeof p, "%s/golden.safetensors", g_set);
        assert_int_equal(hart_st_open(p, &g_st), HART_OK);
        snprintf(p, sizeof p, "%s/config.json", g_set);
        assert_int_equal(hart_json_load(p, &g_cfg), HART_OK);
        snprintf(p, sizeof p, "%s/golden.json", g_set);
        assert_int_equal(hart_json_load(p, &g_json), HART_OK);
        for (int b = 0; b < TB.n; b++) {
            printf("set %s, backend %s:\n", g_set, TB.spec[b]);
            golden_run_begin(TB.be[b]);
            run_generation(TB.be[b], TB.spec[b]);
        }
        golden_verify();
        cJSON_Delete(g_cfg);
        cJSON_Delete(g_json);
        hart_st_close(&g_st);
    }
}

/* Checkpoint files that are not what they claim: clear errors. */
static void test_bad_files(void **state) {
    hart_lpd *m;
    hart_vq *vq;
    hart_backend *be = TB.be[0];
    char p[1200];
    assert_int_not_equal(hart_lpd_load(be, "/nonexistent/lpd.pth", NULL, &m), HART_OK);
    if (!g_nsets) test_skip("no lpd-* golden set found");
    snprintf(p, sizeof p, "%s/vq.pt", g_sets[0]);
    assert_int_not_equal(hart_lpd_load(be, p, NULL, &m), HART_OK); /* a VQ is no LPD */
    printf("  %s\n", hart_errmsg());
    assert_non_null(strstr(hart_errmsg(), "not an LPD checkpoint"));
    snprintf(p, sizeof p, "%s/lpd.pth", g_sets[0]);
    assert_int_not_equal(hart_vq_load(be, p, NULL, &vq), HART_OK);
    printf("  %s\n", hart_errmsg());
    cJSON *cfg = cJSON_Parse("{\"decoder_depth\": 99}");
    assert_int_not_equal(hart_lpd_load(be, p, cfg, &m), HART_OK);
    printf("  %s\n", hart_errmsg());
    assert_non_null(strstr(hart_errmsg(), "decoder_depth"));
    cJSON_Delete(cfg);
}

/* A safetensors copy of the release-format checkpoint loads too and gives
 * bit-identical logits (same tensors, same code). */
static void test_safetensors_copy(void **state) {
    if (!g_nsets) test_skip("no lpd-* golden set found");
    char p[1200], copy[] = "/tmp/hart_lpd_copy_XXXXXX";
    int fd = mkstemp(copy);
    assert_true(fd >= 0);
    close(fd);
    snprintf(p, sizeof p, "%s/lpd.pth", g_sets[0]);
    hart_checkpoint ck;
    assert_int_equal(hart_ckpt_open_file(p, &ck), HART_OK);
    hart_st_writer *w = hart_st_writer_new();
    for (int i = 0; i < ck.files[0].n_entries; i++) {
        hart_tensor t;
        assert_int_equal(hart_st_tensor(&ck.files[0], ck.files[0].entries[i].name, &t), HART_OK);
        assert_int_equal(hart_st_writer_add(w, ck.files[0].entries[i].name, &t), HART_OK);
    }
    assert_int_equal(hart_st_writer_save(w, copy), HART_OK);
    hart_st_writer_free(w);
    hart_ckpt_close(&ck);
    hart_lpd *m[2];
    hart_tensor lg[2];
    const char *paths[2] = {p, copy};
    for (int k = 0; k < 2; k++) {
        if (hart_lpd_load(NULL, paths[k], NULL, &m[k])) fail_msg("%s: %s", paths[k], hart_errmsg());
        const hart_lpd_config *c = hart_lpd_get_config(m[k]);
        int64_t label = 1, *order = malloc(sizeof(int64_t) * (size_t)c->N);
        int g[2] = {1, c->N - 1};
        for (int i = 0; i < c->N; i++) order[i] = c->N - 1 - i; /* any permutation */
        assert_int_equal(hart_lpd_begin(m[k], 1, &label, order, g, 2, 1), HART_OK);
        assert_int_equal(hart_tensor_new4(NULL, HART_F32, &lg[k], 3, 2, 1, c->V, 0), HART_OK);
        assert_int_equal(hart_lpd_step(m[k], 0, NULL, NULL, &lg[k]), HART_OK);
        free(order);
    }
    assert_memory_equal(lg[0].data, lg[1].data, hart_tensor_nbytes(&lg[0]));
    for (int k = 0; k < 2; k++) { hart_tensor_free(&lg[k]); hart_lpd_free(m[k]); }
    remove(copy);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_golden), cmocka_unit_test(test_bad_files),
                                       cmocka_unit_test(test_safetensors_copy)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
