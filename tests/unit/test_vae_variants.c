/* The HART tokenizer on configurations other than the golden one (random
 * weights): every phi-sharing mode, identity phi, var and var_hybrid,
 * unprefixed keys, ignored extra keys, 1..3 levels, quant_conv_ks 1,
 * num_res_blocks 1. Checks loading, shapes, and properties that must hold:
 * scale-0 and last-scale indices equal a brute-force nearest search (exact
 * distances) on the area mean / the residual, the residual equals f minus the
 * AR chain embed_indices + next_scale, decode stays in [-1, 1]. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "models/hart/autoencoder.h"
#include "support/golden.h"
#include "support/vae_random.h"

static hart_tensor newt(hart_dtype dt, int nd, int64_t a, int64_t b, int64_t c, int64_t d) {
    hart_tensor t;
    assert_int_equal(hart_tensor_new4(NULL, dt, &t, nd, a, b, c, d), HART_OK);
    return t;
}

/* index of the codebook row nearest to x (exact squared distance, double) */
static int64_t brute_nearest(const float *cb, int V, int C, const double *x) {
    int64_t best = 0;
    double bd = INFINITY;
    for (int v = 0; v < V; v++) {
        double d = 0;
        for (int c = 0; c < C; c++) d += (x[c] - cb[v * C + c]) * (x[c] - cb[v * C + c]);
        if (d < bd) bd = d, best = v;
    }
    return best;
}

static void run_variant(const vae_random_cfg *c, int side) {
    char dir[] = "/tmp/hart_vae_varXXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(vae_random_write(dir, c), 0);
    hart_vae *v = NULL;
    if (hart_vae_load(hart_backend_cpu(), dir, &v)) fail_msg("load: %s", hart_errmsg());
    const hart_vae_info *I = hart_vae_get_info(v);
    int S = I->n_scales, z = I->z_channels, HW = I->latent_hw, B = 2;
    assert_int_equal(z, c->z);
    assert_int_equal(I->downsample, 1 << (c->n_mult - 1));
    assert_int_equal(HW * I->downsample, side);

    hart_tensor img = newt(HART_F32, 4, B, 3, side, side), f = newt(HART_F32, 4, B, z, HW, HW);
    fill_random(img.data, hart_tensor_numel(&img), c->seed + 11, -1, 1);
    assert_int_equal(hart_vae_encode(v, &img, &f), HART_OK);
    hart_tensor idx[HART_MAX_SCALES];
    for (int k = 0; k < S; k++) idx[k] = newt(HART_I64, 2, B, (int64_t)I->patch_nums[k] * I->patch_nums[k], 0, 0);
    hart_tensor res = newt(HART_F32, 3, B, (int64_t)HW * HW, z, 0), fhd = newt(HART_F32, 4, B, z, HW, HW);
    assert_int_equal(hart_vae_quantize(v, &f, idx, &res, &fhd), HART_OK);

    /* codebook straight from the file */
    int V = I->vocab_size;
    char path[1200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    hart_safetensors st;
    assert_int_equal(hart_st_open(path, &st), HART_OK);
    hart_tensor cbt;
    assert_int_equal(hart_st_tensor(&st, c->no_prefix ? "quantize.embedding.weight" : "vae.quantize.embedding.weight", &cbt),
                     HART_OK);
    const float *cb = cbt.data;
    const float *F = f.data;
    double x[64];
    int64_t n = (int64_t)HW * HW;
    /* scale 0 (pn = 1 in every variant here): nearest entry to the spatial mean */
    assert_int_equal(I->patch_nums[0], 1);
    for (int b = 0; b < B; b++) {
        for (int ch = 0; ch < z; ch++) {
            double m = 0;
            for (int64_t p = 0; p < n; p++) m += F[((int64_t)b * z + ch) * n + p];
            x[ch] = m / (double)n;
        }
        assert_int_equal(((int64_t *)idx[0].data)[b], brute_nearest(cb, V, z, x));
    }
    /* last scale: nearest entry of each residual row */
    const float *R = res.data;
    for (int64_t r = 0; r < B * n; r++) {
        for (int ch = 0; ch < z; ch++) x[ch] = R[r * z + ch];
        assert_int_equal(((int64_t *)idx[S - 1].data)[r], brute_nearest(cb, V, z, x));
    }
    /* the AR chain over the first S-1 scales: f - f_hat == residual */
    hart_tensor fh = newt(HART_F32, 4, B, z, HW, HW);
    for (int k = 0; k < S; k++) {
        int pn = I->patch_nums[k];
        hart_tensor h = newt(HART_F32, 4, B, z, pn, pn);
        assert_int_equal(hart_vae_embed_indices(v, &idx[k], &h), HART_OK);
        for (int64_t i = 0; i < B * pn * pn; i++) { /* h is the codebook row of each index */
            int64_t b = i / (pn * pn), p = i % (pn * pn), e = ((int64_t *)idx[k].data)[i];
            for (int ch = 0; ch < z; ch++)
                assert_float_equal(((float *)h.data)[(b * z + ch) * pn * pn + p], cb[e * z + ch], 0);
        }
        if (k < S - 1) {
            int pn2 = I->patch_nums[k + 1];
            hart_tensor nx = newt(HART_F32, 4, B, z, pn2, pn2);
            assert_int_equal(hart_vae_next_scale(v, k, &fh, &h, &nx), HART_OK);
            hart_tensor_free(&nx);
            if (k == S - 2) {
                float *d = malloc(sizeof(float) * (size_t)(B * n * z));
                for (int b = 0; b < B; b++)
                    for (int ch = 0; ch < z; ch++)
                        for (int64_t p = 0; p < n; p++)
                            d[((int64_t)b * n + p) * z + ch] = F[((int64_t)b * z + ch) * n + p] - ((float *)fh.data)[((int64_t)b * z + ch) * n + p];
                double e = rel_err(d, R, B * n * z);
                printf("  residual vs f - chain: rel err %.3g\n", e);
                assert_true(e <= 1e-5);
                free(d);
            }
        } else {
            hart_tensor before = newt(HART_F32, 4, B, z, HW, HW);
            memcpy(before.data, fh.data, hart_tensor_nbytes(&fh));
            assert_int_equal(hart_vae_next_scale(v, k, &fh, &h, NULL), HART_OK);
            if (c->hybrid) { /* last scale added as is */
                for (int64_t i = 0; i < hart_tensor_numel(&fh); i++)
                    assert_float_equal(((float *)fh.data)[i], ((float *)before.data)[i] + ((float *)h.data)[i], 1e-6);
            } else { /* var: the same path as the quantizer's discrete f_hat */
                double e = rel_err(fh.data, fhd.data, hart_tensor_numel(&fh));
                printf("  var: chain vs f_hat_discrete rel err %.3g\n", e);
                assert_true(e <= 1e-5);
            }
            hart_tensor_free(&before);
        }
        hart_tensor_free(&h);
    }
    hart_tensor_free(&fh);
    hart_st_close(&st);
    /* decode */
    hart_tensor out = newt(HART_F32, 4, B, 3, side, side);
    assert_int_equal(hart_vae_decode(v, &fhd, &out), HART_OK);
    for (int64_t i = 0; i < hart_tensor_numel(&out); i++) {
        float o = ((float *)out.data)[i];
        assert_true(o >= -1.0f && o <= 1.0f);
    }
    hart_tensor_free(&out);
    hart_tensor_free(&img); hart_tensor_free(&f); hart_tensor_free(&res); hart_tensor_free(&fhd);
    for (int k = 0; k < S; k++) hart_tensor_free(&idx[k]);
    hart_vae_free(v);
    vae_random_remove(dir);
}

static void test_two_levels_hybrid_extra_keys(void **st) {
    (void)st;
    vae_random_cfg c = {.ch = 32, .n_mult = 2, .ch_mult = {1, 2}, .z = 4, .vocab = 64, .n_scales = 3, .pn = {1, 2, 4},
                        .quant_resi = 0.5, .share = 4, .qks = 3, .hybrid = 1, .extra_keys = 1, .seed = 3};
    run_variant(&c, 8);
}

static void test_nonshared_var_unprefixed_ks1(void **st) {
    (void)st;
    vae_random_cfg c = {.ch = 32, .n_mult = 3, .ch_mult = {1, 1, 2}, .z = 6, .vocab = 100, .n_scales = 3, .pn = {1, 3, 5},
                        .quant_resi = 0.5, .share = 0, .qks = 1, .hybrid = 0, .no_prefix = 1, .seed = 5};
    run_variant(&c, 20);
}

static void test_shared_negative_ratio_one_level(void **st) {
    (void)st;
    vae_random_cfg c = {.ch = 32, .n_mult = 1, .ch_mult = {2}, .z = 4, .vocab = 50, .n_scales = 2, .pn = {1, 3},
                        .quant_resi = -0.3, .share = 1, .qks = 3, .nrb = 1, .hybrid = 1, .seed = 7};
    run_variant(&c, 3);
}

static void test_identity_phi_and_default_counts(void **st) {
    (void)st;
    vae_random_cfg c = {.ch = 32, .n_mult = 2, .ch_mult = {1, 1}, .z = 8, .vocab = 128, .n_scales = 5, .pn = {1, 2, 3, 4, 6},
                        .quant_resi = 0.0, .share = 6, .qks = 3, .hybrid = 1, .seed = 9};
    run_variant(&c, 12);
    vae_random_cfg d = {.ch = 32, .n_mult = 2, .ch_mult = {1, 1}, .z = 5, .vocab = 40, .n_scales = 4, .pn = {1, 2, 3, 4},
                        .quant_resi = 0.7, .share = 0, .dflt_cnt = 2, .qks = 3, .hybrid = 0, .seed = 13};
    run_variant(&d, 8);
}

/* Weights stored as F16 give the same results as F32 weights holding the
 * same (F16-rounded) values. */
static void test_f16_weights(void **st) {
    (void)st;
    vae_random_cfg c = {.ch = 32, .n_mult = 2, .ch_mult = {1, 2}, .z = 4, .vocab = 64, .n_scales = 3, .pn = {1, 2, 4},
                        .quant_resi = 0.5, .share = 4, .qks = 3, .hybrid = 1, .seed = 21};
    float *out[2];
    for (int m = 0; m < 2; m++) {
        char dir[] = "/tmp/hart_vae_f16XXXXXX";
        assert_non_null(mkdtemp(dir));
        c.f16 = m + 1;
        assert_int_equal(vae_random_write(dir, &c), 0);
        hart_vae *v = NULL;
        if (hart_vae_load(hart_backend_cpu(), dir, &v)) fail_msg("load: %s", hart_errmsg());
        hart_tensor img = newt(HART_F32, 4, 1, 3, 8, 8), f = newt(HART_F32, 4, 1, 4, 4, 4), y = newt(HART_F32, 4, 1, 3, 8, 8);
        fill_random(img.data, 192, 5, -1, 1);
        assert_int_equal(hart_vae_encode(v, &img, &f), HART_OK);
        assert_int_equal(hart_vae_decode(v, &f, &y), HART_OK);
        out[m] = malloc(sizeof(float) * 192);
        memcpy(out[m], y.data, sizeof(float) * 192);
        hart_tensor_free(&img); hart_tensor_free(&f); hart_tensor_free(&y);
        hart_vae_free(v);
        vae_random_remove(dir);
    }
    double e = rel_err(out[0], out[1], 192);
    printf("  f16-stored vs f32-stored weights: rel err %.3g\n", e);
    assert_true(e <= 1e-5);
    free(out[0]);
    free(out[1]);
}

static void expect_reject(const char *cfg_json, hart_status want, const char *needle) {
    char dir[] = "/tmp/hart_vae_badXXXXXX";
    assert_non_null(mkdtemp(dir));
    vae_random_cfg c = {.ch = 32, .n_mult = 2, .ch_mult = {1, 2}, .z = 4, .vocab = 16, .n_scales = 3, .pn = {1, 2, 4},
                        .quant_resi = 0.5, .share = 4, .qks = 3, .hybrid = 1, .seed = 3};
    assert_int_equal(vae_random_write(dir, &c), 0);
    char p[1200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = fopen(p, "w");
    fputs(cfg_json, f);
    fclose(f);
    hart_vae *v = NULL;
    hart_status s = hart_vae_load(hart_backend_cpu(), dir, &v);
    printf("  %s\n", hart_errmsg());
    assert_int_equal(s, want);
    assert_null(v);
    assert_non_null(strstr(hart_errmsg(), needle));
    vae_random_remove(dir);
}

static void test_rejects(void **st) {
    (void)st;
    const char *base = "\"model_type\":\"hart_autoencoder_with_disc\",\"z_channels\":4,\"vocab_size\":16";
    char b[512];
    snprintf(b, sizeof b, "{%s,\"ch\":48,\"ch_mult\":[1,2],\"v_patch_nums\":[1,2,4]}", base);
    expect_reject(b, HART_EUNSUPPORTED, "divisible");
    snprintf(b, sizeof b, "{%s,\"ch\":32,\"ch_mult\":[1,2],\"v_patch_nums\":[4]}", base);
    expect_reject(b, HART_EUNSUPPORTED, "v_patch_nums");
    snprintf(b, sizeof b, "{%s,\"ch\":32,\"ch_mult\":[1,2],\"v_patch_nums\":[1,8,4]}", base);
    expect_reject(b, HART_EUNSUPPORTED, "v_patch_nums[1]");
    snprintf(b, sizeof b, "{%s,\"ch\":32,\"ch_mult\":[1,2],\"v_patch_nums\":[1,2,4],\"quant_conv_ks\":2}", base);
    expect_reject(b, HART_EUNSUPPORTED, "quant_conv_ks");
    snprintf(b, sizeof b, "{%s,\"ch\":32,\"ch_mult\":[1,2,2],\"v_patch_nums\":[1,2,4]}", base);
    expect_reject(b, HART_EMISMATCH, "encoder.down.1.downsample.conv.weight");
    snprintf(b, sizeof b, "{%s,\"ch\":32,\"ch_mult\":[1,2],\"v_patch_nums\":[1,2,4],\"share_quant_resi\":1}", base);
    expect_reject(b, HART_EMISMATCH, "quantize.quant_resi.qresi.weight");
    expect_reject("{\"model_type\":\"dc_ae\"}", HART_EUNSUPPORTED, "model_type");
    expect_reject("[1,2]", HART_EFORMAT, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_levels_hybrid_extra_keys), cmocka_unit_test(test_nonshared_var_unprefixed_ks1),
        cmocka_unit_test(test_shared_negative_ratio_one_level), cmocka_unit_test(test_identity_phi_and_default_counts),
        cmocka_unit_test(test_f16_weights),    cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
