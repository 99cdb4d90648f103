/* HART tokenizer vs the golden run of the original PyTorch code
 * (every hart-* set): AR helpers (embed_indices, next_scale) over the
 * recorded generation, decoder, encoder, quantizer; plus error handling.
 * Every check runs on the float64 oracle and each backend of
 * $HART_TEST_DEVICES (default "cpu,opencl"): float tensors within their
 * measured limits (support/golden_check.h), indices exactly. Every size
 * comes from the set. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "support/golden.h"
#include "support/test_backends.h"
#include "support/golden_check.h"
#include "support/test_skip.h"
#include "models/hart/autoencoder.h"
#include "core/checkpoint.h"
#include "core/safetensors.h"

/* Float tensors are checked by golden_check (limits from a float64 run of
 * the same code, support/golden_check.h); the 16-bit weight paths against the
 * naive reference ops on the same rounded values, within the same kind of
 * measured limit (golden_limit of the float32 strays against the float64 run). */

static hart_safetensors g_st;
static test_backends TB;
static char g_sets[16][1024];
static int g_nsets;
/* the set, backend and tokenizer the current check runs on */
static const char *g_set;
static hart_vae *g_vae;
static hart_backend *g_be;

static int setup(void **state) {
    (void)state;
    g_nsets = golden_hart_sets(g_sets, 16);
    test_backends_open(&TB);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    test_backends_close(&TB);
    return 0;
}

/* Run `fn` once per golden HART set, with g_set and g_st (its golden file)
 * set for it. */
static void each_set(void (*fn)(void)) {
    if (!g_nsets) test_skip("no HART golden set found");
    for (int i = 0; i < g_nsets; i++) {
        char p[1200];
        g_set = g_sets[i];
        snprintf(p, sizeof p, "%s/golden.safetensors", g_set);
        assert_int_equal(hart_st_open(p, &g_st), HART_OK);
        fn();
        hart_st_close(&g_st);
    }
}

/* The check of the current EACH_BACKEND test (called by backends_of_set). */
static void (*g_check)(void);

/* Run g_check on every backend (g_be, g_vae set for it), then verify the
 * set's golden checks. */
static void backends_of_set(void) {
    for (int b = 0; b < TB.n; b++) {
        char p[1200];
        g_be = TB.be[b];
        snprintf(p, sizeof p, "%s/tokenizer", g_set);
        if (hart_vae_load(g_be, p, &g_vae)) fail_msg("load %s on %s: %s", p, TB.spec[b], hart_errmsg());
        printf("set %s, backend %s (%s):\n", g_set, TB.spec[b], g_be->name);
        golden_run_begin(g_be);
        g_check();
        hart_vae_free(g_vae);
        g_vae = NULL;
    }
    golden_verify();
}

#define EACH_BACKEND(name)                                                             \
    static void name##_on(void);                                                       \
    static void name(void **st) { (void)st; g_check = name##_on; each_set(backends_of_set); } \
    static void name##_on(void)

static hart_tensor gold(const char *fmt, ...) {
    char name[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    hart_tensor t;
    if (hart_st_tensor(&g_st, name, &t)) fail_msg("golden tensor %s missing", name);
    return t;
}

static hart_tensor newf(int nd, int64_t a, int64_t b, int64_t c, int64_t d) {
    hart_tensor t;
    assert_int_equal(hart_tensor_new4(NULL, HART_F32, &t, nd, a, b, c, d), HART_OK);
    fill_nan(t.data, hart_tensor_numel(&t));
    return t;
}

/* A NaN-filled host tensor shaped like golden tensor `name`. */
static hart_tensor newf_like(const char *name) {
    hart_tensor g = gold("%s", name), t;
    assert_int_equal(hart_tensor_new(NULL, HART_F32, g.ndim, g.shape, &t), HART_OK);
    fill_nan(t.data, hart_tensor_numel(&t));
    return t;
}

/* The set's tokenizer config (caller frees). */
static cJSON *set_config(void) {
    char p[1200];
    cJSON *c = NULL;
    snprintf(p, sizeof p, "%s/tokenizer/config.json", g_set);
    assert_int_equal(hart_json_load(p, &c), HART_OK);
    return c;
}

/* What the tokenizer reports equals its config and the golden shapes. */
EACH_BACKEND(test_info) {
    const hart_vae_info *I = hart_vae_get_info(g_vae);
    cJSON *c = set_config();
    assert_int_equal(I->z_channels, cJSON_GetObjectItem(c, "z_channels")->valueint);
    assert_int_equal(I->vocab_size, cJSON_GetObjectItem(c, "vocab_size")->valueint);
    cJSON *pn = cJSON_GetObjectItem(c, "v_patch_nums");
    assert_int_equal(I->n_scales, cJSON_GetArraySize(pn));
    for (int i = 0; i < I->n_scales; i++) assert_int_equal(I->patch_nums[i], cJSON_GetArrayItem(pn, i)->valueint);
    cJSON_Delete(c);
    hart_tensor f = gold("vae.enc.f"), img = gold("vae.input_image");
    assert_int_equal(I->latent_hw, f.shape[2]);
    assert_int_equal(I->downsample, img.shape[2] / f.shape[2]);
}

EACH_BACKEND(test_ar_helpers) {
    const hart_vae_info *I = hart_vae_get_info(g_vae);
    int S = I->n_scales, z = I->z_channels, HW = I->latent_hw;
    hart_tensor idx0 = gold("gen.si0.idx");
    int64_t B = idx0.shape[0];
    hart_tensor f_hat;
    assert_int_equal(hart_tensor_new4(g_be, HART_F32, &f_hat, 4, B, z, HW, HW), HART_OK); /* zeros, on the backend */
    for (int k = 0; k < S - 1; k++) {
        int pn = I->patch_nums[k], pn2 = I->patch_nums[k + 1];
        hart_tensor idx = gold("gen.si%d.idx", k);
        hart_tensor h = newf(4, B, z, pn, pn), nx = newf(4, B, z, pn2, pn2);
        char nm[64];
        assert_int_equal(hart_vae_embed_indices(g_vae, &idx, &h), HART_OK);
        snprintf(nm, sizeof nm, "gen.si%d.h", k);
        golden_check(&g_st, nm, &h);
        assert_int_equal(hart_vae_next_scale(g_vae, k, &f_hat, &h, &nx), HART_OK);
        snprintf(nm, sizeof nm, "gen.si%d.f_hat", k);
        golden_check(&g_st, nm, &f_hat);
        snprintf(nm, sizeof nm, "gen.si%d.next_input", k);
        golden_check(&g_st, nm, &nx);
        hart_tensor_free(&h);
        hart_tensor_free(&nx);
    }
    /* last scale: codebook vectors + the diffusion head's output (first B·L rows) */
    int L = HW * HW;
    hart_tensor idx = gold("gen.si%d.idx", S - 1), diff = gold("gen.diff.out");
    hart_tensor h = newf(4, B, z, HW, HW);
    assert_int_equal(hart_vae_embed_indices(g_vae, &idx, &h), HART_OK);
    float *hp = h.data;
    const float *dp = diff.data;
    for (int64_t b = 0; b < B; b++)
        for (int t = 0; t < L; t++)
            for (int c = 0; c < z; c++) hp[(b * z + c) * L + t] += dp[(b * L + t) * z + c];
    assert_int_equal(hart_vae_next_scale(g_vae, S - 1, &f_hat, &h, NULL), HART_OK);
    golden_check(&g_st, "gen.final_f_hat", &f_hat);

    /* decode the generated latent */
    hart_tensor img = newf_like("gen.image");
    hart_tensor fin = gold("gen.final_f_hat");
    assert_int_equal(hart_vae_decode(g_vae, &fin, &img), HART_OK);
    float *ip = img.data;
    for (int64_t i = 0; i < hart_tensor_numel(&img); i++) ip[i] = (ip[i] + 1) * 0.5f;
    golden_check(&g_st, "gen.image", &img);
    hart_tensor_free(&img);
    hart_tensor_free(&h);
    hart_tensor_free(&f_hat);
}

EACH_BACKEND(test_decode) {
    hart_tensor f = gold("vae.enc.f");
    hart_tensor img = newf_like("vae.dec.image_from_f");
    assert_int_equal(hart_vae_decode(g_vae, &f, &img), HART_OK);
    float *ip = img.data;
    for (int64_t i = 0; i < hart_tensor_numel(&img); i++) ip[i] = (ip[i] + 1) * 0.5f;
    golden_check(&g_st, "vae.dec.image_from_f", &img);
    hart_tensor_free(&img);
}

EACH_BACKEND(test_encode) {
    hart_tensor x = gold("vae.input_image");
    hart_tensor in = newf_like("vae.input_image"), f = newf_like("vae.enc.f");
    for (int64_t i = 0; i < hart_tensor_numel(&x); i++) ((float *)in.data)[i] = 2 * ((const float *)x.data)[i] - 1;
    assert_int_equal(hart_vae_encode(g_vae, &in, &f), HART_OK);
    golden_check(&g_st, "vae.enc.f", &f);
    /* the whole chain image -> indices: quantizing OUR latent (not the
     * golden one) must give exactly the recorded indices */
    const hart_vae_info *I = hart_vae_get_info(g_vae);
    hart_tensor idx[HART_MAX_SCALES];
    for (int k = 0; k < I->n_scales; k++)
        assert_int_equal(hart_tensor_new4(NULL, HART_I64, &idx[k], 2, 1, I->patch_nums[k] * I->patch_nums[k], 0, 0), HART_OK);
    hart_tensor res = newf_like("vae.enc.residual"), fh = newf_like("vae.enc.f_hat_discrete");
    printf("  (quantizing the encoder's own latent)\n");
    assert_int_equal(hart_vae_quantize(g_vae, &f, idx, &res, &fh), HART_OK);
    for (int k = 0; k < I->n_scales; k++) {
        char nm[64];
        snprintf(nm, sizeof nm, "vae.enc.idx.%d", k);
        assert_int_equal(golden_compare_idx(&g_st, nm, &idx[k]), 0);
        hart_tensor_free(&idx[k]);
    }
    golden_check(&g_st, "vae.enc.residual", &res);
    hart_tensor_free(&res);
    hart_tensor_free(&fh);
    hart_tensor_free(&in);
    hart_tensor_free(&f);
}

EACH_BACKEND(test_quantize) {
    const hart_vae_info *I = hart_vae_get_info(g_vae);
    hart_tensor f = gold("vae.enc.f");
    hart_tensor idx[HART_MAX_SCALES];
    for (int k = 0; k < I->n_scales; k++)
        assert_int_equal(hart_tensor_new4(NULL, HART_I64, &idx[k], 2, 1, I->patch_nums[k] * I->patch_nums[k], 0, 0), HART_OK);
    hart_tensor res = newf_like("vae.enc.residual"), fh = newf_like("vae.enc.f_hat_discrete");
    assert_int_equal(hart_vae_quantize(g_vae, &f, idx, &res, &fh), HART_OK);
    for (int k = 0; k < I->n_scales; k++) {
        char nm[64];
        snprintf(nm, sizeof nm, "vae.enc.idx.%d", k);
        assert_int_equal(golden_compare_idx(&g_st, nm, &idx[k]), 0);
        hart_tensor_free(&idx[k]);
    }
    golden_check(&g_st, "vae.enc.residual", &res);
    golden_check(&g_st, "vae.enc.f_hat_discrete", &fh);
    hart_tensor_free(&res);
    hart_tensor_free(&fh);
}

EACH_BACKEND(test_bad_args) {
    const hart_vae_info *I = hart_vae_get_info(g_vae);
    const int z = I->z_channels, HW = I->latent_hw, ds = I->downsample, S = I->n_scales;
    const int p1 = I->patch_nums[1];
    hart_tensor f_hat, h = newf(4, 1, z, p1, p1), nx = newf(4, 1, z, p1, p1);
    /* f_hat on the tokenizer's backend, so each call fails for the reason named */
    assert_int_equal(hart_tensor_new4(g_be, HART_F32, &f_hat, 4, 1, z, HW, HW), HART_OK);
    /* wrong h size for scale 0, bad scale, missing next_input, wrong next size */
    assert_int_equal(hart_vae_next_scale(g_vae, 0, &f_hat, &h, &nx), HART_EINVAL);
    assert_int_equal(hart_vae_next_scale(g_vae, S, &f_hat, &h, &nx), HART_EINVAL);
    assert_int_equal(hart_vae_next_scale(g_vae, 1, &f_hat, &h, NULL), HART_EINVAL);
    assert_int_equal(hart_vae_next_scale(g_vae, 1, &f_hat, &h, &nx), HART_EINVAL);
    printf("  message: %s\n", hart_errmsg());
    /* out-of-range index */
    int64_t bad[4] = {0, 1, I->vocab_size, 3};
    hart_tensor bi = hart_tensor_wrap(bad, HART_I64, 2, (int64_t[]){1, 4});
    assert_int_not_equal(hart_vae_embed_indices(g_vae, &bi, &h), HART_OK);
    /* image size not a multiple of the downsampling */
    hart_tensor img = newf(4, 1, 3, HW * ds - 2, HW * ds), f = newf(4, 1, z, HW, HW);
    assert_int_equal(hart_vae_encode(g_vae, &img, &f), HART_EINVAL);
    /* decode into a wrong-size image */
    hart_tensor img2 = newf(4, 1, 3, HW * ds / 2, HW * ds / 2);
    assert_int_equal(hart_vae_decode(g_vae, &f_hat, &img2), HART_EINVAL);
    hart_tensor_free(&f_hat); hart_tensor_free(&h); hart_tensor_free(&nx);
    hart_tensor_free(&img); hart_tensor_free(&f); hart_tensor_free(&img2);
}

/* Write the set's tokenizer config with `key` set to `value` (a number or
 * string) into `path`. */
static void write_config_with(const char *path, const char *key, cJSON *value) {
    cJSON *c = set_config();
    cJSON_ReplaceItemInObject(c, key, value);
    golden_write_json(path, c);
    cJSON_Delete(c);
}

/* A config that disagrees with the weights must fail and name the tensor. */
EACH_BACKEND(test_config_mismatch) {
    char dir[] = "/tmp/hart_vae_testXXXXXX", p[1024], q[1200], src[1200];
    assert_non_null(mkdtemp(dir));
    snprintf(q, sizeof q, "%s/model.safetensors", dir);
    snprintf(src, sizeof src, "%s/tokenizer/model.safetensors", g_set);
    assert_non_null(realpath(src, p));
    assert_int_equal(symlink(p, q), 0);
    snprintf(q, sizeof q, "%s/config.json", dir);
    write_config_with(q, "z_channels", cJSON_CreateNumber(2 * hart_vae_get_info(g_vae)->z_channels));
    hart_vae *v = NULL;
    assert_int_equal(hart_vae_load(g_be, dir, &v), HART_EMISMATCH);
    printf("  message: %s\n", hart_errmsg());
    assert_non_null(strstr(hart_errmsg(), "vae.encoder.conv_out.weight"));
    /* an unsupported value */
    write_config_with(q, "quantizer_type", cJSON_CreateString("fsq"));
    assert_int_equal(hart_vae_load(g_be, dir, &v), HART_EUNSUPPORTED);
    printf("  message: %s\n", hart_errmsg());
    assert_null(v);
    unlink(q);
    snprintf(q, sizeof q, "%s/model.safetensors", dir);
    unlink(q);
    rmdir(dir);
}

/* Copy of the golden tokenizer with its conv weights rounded to `dt` (see
 * golden_write_rounded_copy). */
static void write_rounded_copy(const char *dir, hart_dtype dt, int upcast) {
    char rel[1100];
    snprintf(rel, sizeof rel, "%s/tokenizer", strrchr(g_set, '/') + 1);
    golden_write_rounded_copy(rel, dir, 4, dt, upcast, 0);
}

/* encode (2·input−1) and decode vae.enc.f with the tokenizer in `dir` on `be` */
static void enc_dec(const char *dir, hart_backend *be, hart_tensor *f, hart_tensor *img) {
    hart_vae *v = NULL;
    hart_status s = hart_vae_load(be, dir, &v);
    if (s) fprintf(stderr, "%s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    hart_tensor x = gold("vae.input_image"), in = newf_like("vae.input_image");
    for (int64_t i = 0; i < hart_tensor_numel(&x); i++) ((float *)in.data)[i] = 2 * ((const float *)x.data)[i] - 1;
    assert_int_equal(hart_vae_encode(v, &in, f), HART_OK);
    hart_tensor gf = gold("vae.enc.f");
    assert_int_equal(hart_vae_decode(v, &gf, img), HART_OK);
    hart_tensor_free(&in);
    hart_vae_free(v);
}

/* The conv weights' 16-bit paths (hart_op_conv2d with bf16/f16 weights) on each
 * backend, against the naive reference ops on the same rounded values in f32. */
static void half_weights_on_set(void) {
    const hart_dtype dts[2] = {HART_BF16, HART_F16};
    for (int k = 0; k < 2; k++) {
        char t1[] = "/tmp/hart_vae_half_XXXXXX", t2[] = "/tmp/hart_vae_up_XXXXXX";
        assert_non_null(mkdtemp(t1));
        assert_non_null(mkdtemp(t2));
        write_rounded_copy(t1, dts[k], 0);
        write_rounded_copy(t2, dts[k], 1);
        /* wf, wi: the float reference ops on the same rounded values stored as f32;
         * f[b], img[b]: every backend on the 16-bit file (b = 0: the float64 oracle,
         * exact on the rounded weights). Limits from the measured float32 strays. */
        hart_tensor wf = newf_like("vae.enc.f"), wi = newf_like("vae.dec.image_from_f");
        hart_tensor f[TEST_MAX_BACKENDS], img[TEST_MAX_BACKENDS];
        assert_true(TB.be[0] == golden_oracle());
        enc_dec(t2, hart_backend_ref(), &wf, &wi);
        const int64_t nf = hart_tensor_numel(&wf), ni = hart_tensor_numel(&wi);
        double sf = 0, si = 0;
        for (int b = 0; b < TB.n; b++) {
            f[b] = newf_like("vae.enc.f");
            img[b] = newf_like("vae.dec.image_from_f");
            enc_dec(t1, TB.be[b], &f[b], &img[b]);
            const float *of = f[0].data, *oi = img[0].data;
            sf = fmax(sf, rel_err(b ? f[b].data : wf.data, of, nf));
            si = fmax(si, rel_err(b ? img[b].data : wi.data, oi, ni));
        }
        const double lf = golden_limit(sf), li = golden_limit(si);
        for (int b = 0; b < TB.n; b++) {
            double ef = rel_err(f[b].data, wf.data, nf), ei = rel_err(img[b].data, wi.data, ni);
            printf("backend %s: %s conv weights vs reference ops on the same values in f32: encoder %.3g (limit %.3g), "
                   "decoder %.3g (limit %.3g)\n", TB.spec[b], hart_dtype_name(dts[k]), ef, lf, ei, li);
            assert_true(ef <= lf);
            assert_true(ei <= li);
        }
        for (int b = 0; b < TB.n; b++) {
            hart_tensor_free(&f[b]);
            hart_tensor_free(&img[b]);
        }
        /* the rounding is visible at that limit (decode output in [-1,1]
         * vs the golden image in [0,1]: compare on the encoder latent) */
        hart_tensor gfl = gold("vae.enc.f");
        double dg = rel_err(wf.data, gfl.data, nf);
        printf("  (%s rounding moves the encoder latent by %.3g from the f32 golden)\n", hart_dtype_name(dts[k]), dg);
        assert_true(dg > 2 * lf);
        hart_tensor_free(&wf);
        hart_tensor_free(&wi);
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", t1, t2);
        assert_int_equal(system(cmd), 0);
    }
}

static void test_half_weights(void **st) {
    (void)st;
    each_set(half_weights_on_set);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info),          cmocka_unit_test(test_ar_helpers), cmocka_unit_test(test_decode),
        cmocka_unit_test(test_encode),        cmocka_unit_test(test_quantize),   cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_config_mismatch), cmocka_unit_test(test_half_weights),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
