/* HART tokenizer vs the golden run of the original PyTorch code
 * (hart-tiny-a): AR helpers (embed_indices, next_scale) over the recorded
 * generation, decoder, encoder, quantizer; plus error handling. Every
 * check runs on each backend of $HART_TEST_DEVICES (default "cpu,opencl";
 * one that does not open is skipped with the reason printed): float tensors
 * within max|a-b|/max|b| <= 1e-4, indices exactly. */
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
#include "models/vae_hart.h"
#include "core/checkpoint.h"
#include "core/safetensors.h"

#define TOL 1e-4

static hart_safetensors g_st;
static test_backends TB;
static hart_vae *g_vaes[TEST_MAX_BACKENDS];
/* the backend the current check runs on */
static hart_vae *g_vae;
static hart_backend *g_be;
static int g_loaded;
static const char *g_skip = "golden data not found";

static int setup(void **state) {
    (void)state;
    char p[1024];
    if (!golden_available()) return 0;
    if (hart_st_open(golden_path("hart-tiny-a/golden.safetensors", p, sizeof p), &g_st)) return -1;
    test_backends_open(&TB);
    if (!TB.n) { g_skip = "no backend of $HART_TEST_DEVICES opened"; return 0; }
    for (int b = 0; b < TB.n; b++)
        if (hart_vae_load(TB.be[b], golden_path("hart-tiny-a/tokenizer", p, sizeof p), &g_vaes[b])) {
            printf("load failed on %s: %s\n", TB.spec[b], hart_errmsg());
            return -1;
        }
    g_loaded = 1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (int b = 0; b < TB.n; b++) hart_vae_free(g_vaes[b]);
    if (g_st.map) hart_st_close(&g_st);
    test_backends_close(&TB);
    return 0;
}

/* Run check `fn` once per backend (g_be / g_vae set for it). */
static void each_backend(void (*fn)(void)) {
    if (!g_loaded) { printf("%s: skipped\n", g_skip); skip(); }
    for (int b = 0; b < TB.n; b++) {
        g_be = TB.be[b];
        g_vae = g_vaes[b];
        printf("backend %s (%s):\n", TB.spec[b], g_be->name);
        fn();
    }
}

#define EACH_BACKEND(name)                                  \
    static void name##_on(void);                            \
    static void name(void **st) { (void)st; each_backend(name##_on); } \
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

EACH_BACKEND(test_info) {
    const hart_vae_info *I = hart_vae_get_info(g_vae);
    assert_int_equal(I->z_channels, 8);
    assert_int_equal(I->vocab_size, 1024);
    assert_int_equal(I->n_scales, 6);
    assert_int_equal(I->latent_hw, 8);
    assert_int_equal(I->downsample, 4);
    int pn[6] = {1, 2, 3, 4, 6, 8};
    for (int i = 0; i < 6; i++) assert_int_equal(I->patch_nums[i], pn[i]);
}

/* The generation loop's tokenizer side, replaying the recorded indices. */
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
        assert_true(golden_compare(&g_st, nm, &h) <= TOL);
        assert_int_equal(hart_vae_next_scale(g_vae, k, &f_hat, &h, &nx), HART_OK);
        snprintf(nm, sizeof nm, "gen.si%d.f_hat", k);
        assert_true(golden_compare(&g_st, nm, &f_hat) <= TOL);
        snprintf(nm, sizeof nm, "gen.si%d.next_input", k);
        assert_true(golden_compare(&g_st, nm, &nx) <= TOL);
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
    assert_true(golden_compare(&g_st, "gen.final_f_hat", &f_hat) <= TOL);

    /* decode the generated latent */
    hart_tensor img = newf(4, B, 3, HW * I->downsample, HW * I->downsample);
    hart_tensor fin = gold("gen.final_f_hat");
    assert_int_equal(hart_vae_decode(g_vae, &fin, &img), HART_OK);
    float *ip = img.data;
    for (int64_t i = 0; i < hart_tensor_numel(&img); i++) ip[i] = (ip[i] + 1) * 0.5f;
    assert_true(golden_compare(&g_st, "gen.image", &img) <= TOL);
    hart_tensor_free(&img);
    hart_tensor_free(&h);
    hart_tensor_free(&f_hat);
}

EACH_BACKEND(test_decode) {
    hart_tensor f = gold("vae.enc.f");
    hart_tensor img = newf(4, 1, 3, 32, 32);
    assert_int_equal(hart_vae_decode(g_vae, &f, &img), HART_OK);
    float *ip = img.data;
    for (int64_t i = 0; i < hart_tensor_numel(&img); i++) ip[i] = (ip[i] + 1) * 0.5f;
    assert_true(golden_compare(&g_st, "vae.dec.image_from_f", &img) <= TOL);
    hart_tensor_free(&img);
}

EACH_BACKEND(test_encode) {
    hart_tensor x = gold("vae.input_image");
    hart_tensor in = newf(4, 1, 3, 32, 32), f = newf(4, 1, 8, 8, 8);
    for (int64_t i = 0; i < hart_tensor_numel(&x); i++) ((float *)in.data)[i] = 2 * ((const float *)x.data)[i] - 1;
    assert_int_equal(hart_vae_encode(g_vae, &in, &f), HART_OK);
    assert_true(golden_compare(&g_st, "vae.enc.f", &f) <= TOL);
    /* the whole chain image -> indices: quantizing OUR latent (not the
     * golden one) must give exactly the recorded indices */
    const hart_vae_info *I = hart_vae_get_info(g_vae);
    hart_tensor idx[HART_MAX_SCALES];
    for (int k = 0; k < I->n_scales; k++)
        assert_int_equal(hart_tensor_new4(NULL, HART_I64, &idx[k], 2, 1, I->patch_nums[k] * I->patch_nums[k], 0, 0), HART_OK);
    hart_tensor res = newf(3, 1, 64, 8, 0), fh = newf(4, 1, 8, 8, 8);
    printf("  (quantizing the encoder's own latent)\n");
    assert_int_equal(hart_vae_quantize(g_vae, &f, idx, &res, &fh), HART_OK);
    for (int k = 0; k < I->n_scales; k++) {
        char nm[64];
        snprintf(nm, sizeof nm, "vae.enc.idx.%d", k);
        assert_int_equal(golden_compare_idx(&g_st, nm, &idx[k]), 0);
        hart_tensor_free(&idx[k]);
    }
    assert_true(golden_compare(&g_st, "vae.enc.residual", &res) <= TOL);
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
    hart_tensor res = newf(3, 1, 64, 8, 0), fh = newf(4, 1, 8, 8, 8);
    assert_int_equal(hart_vae_quantize(g_vae, &f, idx, &res, &fh), HART_OK);
    for (int k = 0; k < I->n_scales; k++) {
        char nm[64];
        snprintf(nm, sizeof nm, "vae.enc.idx.%d", k);
        assert_int_equal(golden_compare_idx(&g_st, nm, &idx[k]), 0);
        hart_tensor_free(&idx[k]);
    }
    assert_true(golden_compare(&g_st, "vae.enc.residual", &res) <= TOL);
    assert_true(golden_compare(&g_st, "vae.enc.f_hat_discrete", &fh) <= TOL);
    hart_tensor_free(&res);
    hart_tensor_free(&fh);
}

EACH_BACKEND(test_bad_args) {
    hart_tensor f_hat, h = newf(4, 1, 8, 2, 2), nx = newf(4, 1, 8, 2, 2);
    /* f_hat on the tokenizer's backend, so each call fails for the reason named */
    assert_int_equal(hart_tensor_new4(g_be, HART_F32, &f_hat, 4, 1, 8, 8, 8), HART_OK);
    /* wrong h size for scale 0, bad scale, missing next_input, wrong next size */
    assert_int_equal(hart_vae_next_scale(g_vae, 0, &f_hat, &h, &nx), HART_EINVAL);
    assert_int_equal(hart_vae_next_scale(g_vae, 6, &f_hat, &h, &nx), HART_EINVAL);
    assert_int_equal(hart_vae_next_scale(g_vae, 1, &f_hat, &h, NULL), HART_EINVAL);
    assert_int_equal(hart_vae_next_scale(g_vae, 1, &f_hat, &h, &nx), HART_EINVAL);
    printf("  message: %s\n", hart_errmsg());
    /* out-of-range index */
    int64_t bad[4] = {0, 1, 1024, 3};
    hart_tensor bi = hart_tensor_wrap(bad, HART_I64, 2, (int64_t[]){1, 4});
    assert_int_not_equal(hart_vae_embed_indices(g_vae, &bi, &h), HART_OK);
    /* image size not a multiple of the downsampling */
    hart_tensor img = newf(4, 1, 3, 30, 32), f = newf(4, 1, 8, 8, 8);
    assert_int_equal(hart_vae_encode(g_vae, &img, &f), HART_EINVAL);
    /* decode into a wrong-size image */
    hart_tensor img2 = newf(4, 1, 3, 16, 16);
    assert_int_equal(hart_vae_decode(g_vae, &f_hat, &img2), HART_EINVAL);
    hart_tensor_free(&f_hat); hart_tensor_free(&h); hart_tensor_free(&nx);
    hart_tensor_free(&img); hart_tensor_free(&f); hart_tensor_free(&img2);
}

/* A config that disagrees with the weights must fail and name the tensor. */
EACH_BACKEND(test_config_mismatch) {
    char dir[] = "/tmp/hart_vae_testXXXXXX", p[1024], q[1200], src[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(q, sizeof q, "%s/model.safetensors", dir);
    assert_non_null(realpath(golden_path("hart-tiny-a/tokenizer/model.safetensors", src, sizeof src), p));
    assert_int_equal(symlink(p, q), 0);
    snprintf(q, sizeof q, "%s/config.json", dir);
    FILE *fp = fopen(q, "w");
    assert_non_null(fp);
    fputs("{\"model_type\":\"hart_autoencoder_with_disc\",\"ch\":32,\"ch_mult\":[1,2,2],\"z_channels\":16,"
          "\"vocab_size\":1024,\"v_patch_nums\":[1,2,3,4,6,8],\"quantizer_type\":\"var_hybrid\"}", fp);
    fclose(fp);
    hart_vae *v = NULL;
    assert_int_equal(hart_vae_load(g_be, dir, &v), HART_EMISMATCH);
    printf("  message: %s\n", hart_errmsg());
    assert_non_null(strstr(hart_errmsg(), "vae.encoder.conv_out.weight"));
    /* an unsupported value */
    fp = fopen(q, "w");
    fputs("{\"model_type\":\"hart_autoencoder_with_disc\",\"ch\":32,\"ch_mult\":[1,2,2],\"z_channels\":8,"
          "\"vocab_size\":1024,\"v_patch_nums\":[1,2,3,4,6,8],\"quantizer_type\":\"fsq\"}", fp);
    fclose(fp);
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
    golden_write_rounded_copy("hart-tiny-a/tokenizer", dir, 4, dt, upcast, 0);
}

/* encode (2·input−1) and decode vae.enc.f with the tokenizer in `dir` on `be` */
static void enc_dec(const char *dir, hart_backend *be, hart_tensor *f, hart_tensor *img) {
    hart_vae *v = NULL;
    hart_status s = hart_vae_load(be, dir, &v);
    if (s) fprintf(stderr, "%s\n", hart_errmsg());
    assert_int_equal(s, HART_OK);
    hart_tensor x = gold("vae.input_image"), in = newf(4, 1, 3, 32, 32);
    for (int64_t i = 0; i < hart_tensor_numel(&x); i++) ((float *)in.data)[i] = 2 * ((const float *)x.data)[i] - 1;
    assert_int_equal(hart_vae_encode(v, &in, f), HART_OK);
    hart_tensor gf = gold("vae.enc.f");
    assert_int_equal(hart_vae_decode(v, &gf, img), HART_OK);
    hart_tensor_free(&in);
    hart_vae_free(v);
}

/* The conv weights' 16-bit paths (op_conv2d with bf16/f16 weights) on each
 * backend, against the naive reference ops on the same rounded values in f32. */
static void test_half_weights(void **st) {
    (void)st;
    if (!g_loaded) { printf("%s: skipped\n", g_skip); skip(); }
    const hart_dtype dts[2] = {HART_BF16, HART_F16};
    for (int k = 0; k < 2; k++) {
        char t1[] = "/tmp/hart_vae_half_XXXXXX", t2[] = "/tmp/hart_vae_up_XXXXXX";
        assert_non_null(mkdtemp(t1));
        assert_non_null(mkdtemp(t2));
        write_rounded_copy(t1, dts[k], 0);
        write_rounded_copy(t2, dts[k], 1);
        hart_tensor wf = newf(4, 1, 8, 8, 8), wi = newf(4, 1, 3, 32, 32);
        enc_dec(t2, hart_backend_ref(), &wf, &wi);
        for (int b = 0; b < TB.n; b++) {
            hart_tensor f = newf(4, 1, 8, 8, 8), img = newf(4, 1, 3, 32, 32);
            enc_dec(t1, TB.be[b], &f, &img);
            double ef = rel_err(f.data, wf.data, hart_tensor_numel(&f));
            double ei = rel_err(img.data, wi.data, hart_tensor_numel(&img));
            printf("backend %s: %s conv weights vs reference ops on the same values in f32: encoder %.3g, decoder %.3g\n",
                   TB.spec[b], hart_dtype_name(dts[k]), ef, ei);
            assert_true(ef <= TOL);
            assert_true(ei <= TOL);
            hart_tensor_free(&f);
            hart_tensor_free(&img);
        }
        /* the rounding is visible at the tolerance (decode output in [-1,1]
         * vs the golden image in [0,1]: compare on the encoder latent) */
        hart_tensor gfl = gold("vae.enc.f");
        double dg = rel_err(wf.data, gfl.data, hart_tensor_numel(&wf));
        printf("  (%s rounding moves the encoder latent by %.3g from the f32 golden)\n", hart_dtype_name(dts[k]), dg);
        assert_true(dg > 2 * TOL);
        hart_tensor_free(&wf);
        hart_tensor_free(&wi);
        char cmd[200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", t1, t2);
        assert_int_equal(system(cmd), 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info),          cmocka_unit_test(test_ar_helpers), cmocka_unit_test(test_decode),
        cmocka_unit_test(test_encode),        cmocka_unit_test(test_quantize),   cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_config_mismatch), cmocka_unit_test(test_half_weights),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
