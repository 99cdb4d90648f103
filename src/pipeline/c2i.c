/* LPD class-to-image: steps, guidance, sampling, raster order, decoding. */
#include "pipeline/c2i.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

float hart_c2i_cfg_scale(double cfg, hart_cfg_schedule s, int k, int N) {
    if (s == HART_CFG_CONSTANT) return (float)cfg;
    /* 1 + (cfg - 1) * linspace(k0, k0 + g - 1, g) / N, every op in float32 */
    float t = (float)(cfg - 1.0) * (float)k;
    return 1.0f + t / (float)N;
}

static hart_status observe(const hart_c2i_params *p, const char *name, const hart_tensor *t) {
    return p->observe ? p->observe(p->observe_ctx, name, t) : HART_OK;
}

static hart_status observe_i64(const hart_c2i_params *p, const char *name, const int64_t *v, int nd, int64_t a,
                               int64_t b) {
    hart_tensor t = hart_tensor_wrap((void *)v, HART_I64, nd, (int64_t[]){a, b});
    return observe(p, name, &t);
}

/* tokens of step i [B, g] from the replay file */
static hart_status replay_tokens(const hart_c2i_params *p, int i, int g, int64_t *out) {
    char nm[64];
    snprintf(nm, sizeof nm, "lpd.step%d.tokens", i);
    hart_tensor t;
    HART_TRY(hart_st_tensor(p->replay, nm, &t));
    if (t.dtype != HART_I64 || t.ndim != 2 || t.shape[0] != p->B || t.shape[1] != g)
        return hart_fail(HART_EFORMAT, "replay: %s must be I64 [%d,%d]", nm, p->B, g);
    memcpy(out, t.data, sizeof(int64_t) * (size_t)p->B * g);
    return HART_OK;
}

static hart_status trace_setup(const hart_c2i_params *p, int N) {
    if (!p->observe) return HART_OK;
    HART_TRY(observe_i64(p, "lpd.order", p->orders, 2, p->B, N));
    HART_TRY(observe_i64(p, "lpd.labels", p->labels, 1, p->B, 0));
    int64_t *g = malloc(sizeof(int64_t) * (size_t)p->K);
    uint8_t *mask = malloc((size_t)(N + 1) * (N + 1));
    hart_status st = g && mask ? HART_OK : hart_fail(HART_ENOMEM, "out of memory");
    for (int i = 0; !st && i < p->K; i++) g[i] = p->group_sizes[i];
    if (!st) st = observe_i64(p, "lpd.group_sizes", g, 1, p->K, 0);
    if (!st) {
        hart_lpd_block_mask(p->group_sizes, p->K, mask);
        hart_tensor t = hart_tensor_wrap(mask, HART_U8, 2, (int64_t[]){N + 1, N + 1});
        st = observe(p, "lpd.attn_mask", &t);
    }
    free(g);
    free(mask);
    return st;
}

hart_status hart_c2i_generate(hart_lpd *m, hart_vq *vq, const hart_c2i_params *p, int64_t *tokens_out,
                              hart_tensor *image) {
    const hart_lpd_config *c = hart_lpd_get_config(m);
    hart_backend *be = NULL;
    int B = p->B, N = c->N, V = c->V, guided = p->cfg != 1.0, R = guided ? 2 * B : B;
    int64_t *gen = malloc(sizeof(int64_t) * (size_t)B * N), *raster = malloc(sizeof(int64_t) * (size_t)B * N);
    int64_t *tok = malloc(sizeof(int64_t) * (size_t)B * N), *prev = malloc(sizeof(int64_t) * (size_t)B * N);
    float *lg = NULL, *sc = NULL;
    hart_tensor logits = {0}, x = {0}, mix = {0}, scale = {0}, cond, uncond, dec = {0};
    hart_status st = HART_OK;
    char nm[96];
    if (image) memset(image, 0, sizeof *image);
    if (!gen || !raster || !tok || !prev) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "out of memory"));
    HART_TRY_GOTO(st, hart_lpd_begin(m, B, p->labels, p->orders, p->group_sizes, p->K, guided));
    be = hart_lpd_backend(m);
    HART_TRY_GOTO(st, trace_setup(p, N));
    int done_tokens = 0;
    for (int i = 0; i < p->K; i++) {
        int g = p->group_sizes[i], gp = i ? p->group_sizes[i - 1] : 1, n = gp + g;
        HART_TRY_GOTO(st, hart_tensor_new4(be, HART_F32, &logits, 3, R, g, V, 0));
        if (p->observe) HART_TRY_GOTO(st, hart_tensor_new4(be, HART_F32, &x, 3, R, n, c->D, 0));
        HART_TRY_GOTO(st, hart_lpd_step(m, i, i ? prev : NULL, p->observe ? &x : NULL, &logits));
        snprintf(nm, sizeof nm, "lpd.step%d.x", i);
        if (p->observe) HART_TRY_GOTO(st, observe(p, nm, &x));
        sc = malloc(sizeof(float) * (size_t)g);
        if (!sc) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "out of memory"));
        for (int j = 0; j < g; j++) sc[j] = hart_c2i_cfg_scale(p->cfg, p->schedule, done_tokens + j, N);
        const hart_tensor *final = &logits;
        if (guided) {
            HART_TRY_GOTO(st, hart_tensor_rows(&logits, 0, B, &cond));
            HART_TRY_GOTO(st, hart_tensor_rows(&logits, B, B, &uncond));
            snprintf(nm, sizeof nm, "lpd.step%d.logits_cond", i);
            HART_TRY_GOTO(st, observe(p, nm, &cond));
            snprintf(nm, sizeof nm, "lpd.step%d.logits_uncond", i);
            HART_TRY_GOTO(st, observe(p, nm, &uncond));
            /* uncond + scale · (cond − uncond), as the reference orders it */
            HART_TRY_GOTO(st, hart_tensor_new4(be, HART_F32, &mix, 3, B, g, V, 0));
            HART_TRY_GOTO(st, hart_tensor_new4(be, HART_F32, &scale, 3, 1, g, 1, 0));
            HART_TRY_GOTO(st, hart_tensor_write(&scale, sc, sizeof(float) * (size_t)g));
            HART_TRY_GOTO(st, hart_op_binary(&mix, &cond, &uncond, HART_BIN_SUB));
            HART_TRY_GOTO(st, hart_op_binary(&mix, &mix, &scale, HART_BIN_MUL));
            HART_TRY_GOTO(st, hart_op_binary(&mix, &uncond, &mix, HART_BIN_ADD));
            final = &mix;
        }
        hart_tensor sct = hart_tensor_wrap(sc, HART_F32, 1, (int64_t[]){g});
        snprintf(nm, sizeof nm, "lpd.step%d.cfg_scale", i);
        HART_TRY_GOTO(st, observe(p, nm, &sct));
        snprintf(nm, sizeof nm, "lpd.step%d.logits_cfg", i);
        HART_TRY_GOTO(st, observe(p, nm, final));
        if (p->replay) {
            HART_TRY_GOTO(st, replay_tokens(p, i, g, prev));
        } else {
            lg = malloc(sizeof(float) * (size_t)B * g * V);
            if (!lg) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "out of memory"));
            HART_TRY_GOTO(st, hart_tensor_read_f32(final, lg));
            for (int b = 0; b < B; b++)
                HART_TRY_GOTO(st, hart_sample_rows(lg + (size_t)b * g * V, g, V, &p->sample, p->seed,
                                    hart_rng_stream(p->first_image + (uint32_t)b, HART_RNG_SITE_TOKENS, (uint32_t)i), 0,
                                    prev + (size_t)b * g));
            free(lg);
            lg = NULL;
        }
        for (int j = 0; j < B * g; j++)
            if (prev[j] < 0 || prev[j] >= V) HART_TRY_GOTO(st, hart_fail(HART_EFORMAT, "step %d: token %lld outside the vocabulary of %d", i, (long long)prev[j], V));
        snprintf(nm, sizeof nm, "lpd.step%d.tokens", i);
        HART_TRY_GOTO(st, observe_i64(p, nm, prev, 2, B, g));
        for (int b = 0; b < B; b++)
            memcpy(gen + (size_t)b * N + done_tokens, prev + (size_t)b * g, sizeof(int64_t) * (size_t)g);
        done_tokens += g;
        free(sc);
        sc = NULL;
        hart_tensor_free(&logits);
        hart_tensor_free(&x);
        hart_tensor_free(&mix);
        hart_tensor_free(&scale);
    }
    for (int b = 0; b < B; b++)
        for (int k = 0; k < N; k++) raster[(size_t)b * N + p->orders[(size_t)b * N + k]] = gen[(size_t)b * N + k];
    HART_TRY_GOTO(st, observe_i64(p, "lpd.tokens_genorder", gen, 2, B, N));
    HART_TRY_GOTO(st, observe_i64(p, "lpd.tokens", raster, 2, B, N));
    if (tokens_out) memcpy(tokens_out, raster, sizeof(int64_t) * (size_t)B * N);
    if (image && vq) {
        const hart_vq_info *vi = hart_vq_get_info(vq);
        if (vi->codebook_size != V)
            HART_TRY_GOTO(st, hart_fail(HART_EMISMATCH, "the VQ codebook has %d entries but the LPD vocabulary is %d", vi->codebook_size, V));
        int64_t hw = (int64_t)c->grid * vi->downsample;
        hart_tensor idx = hart_tensor_wrap(raster, HART_I64, 2, (int64_t[]){B, N});
        HART_TRY_GOTO(st, hart_tensor_new4(hart_vq_backend(vq), HART_F32, &dec, 4, B, 3, hw, hw));
        HART_TRY_GOTO(st, hart_vq_decode_codes(vq, &idx, c->grid, c->grid, &dec));
        HART_TRY_GOTO(st, hart_op_scale(&dec, &dec, 0.5f, 0.5f));
        HART_TRY_GOTO(st, observe(p, "lpd.image", &dec));
        *image = dec;
        dec = (hart_tensor){0};
    }
done:
    free(gen); free(raster); free(tok); free(prev); free(lg); free(sc);
    hart_tensor_free(&logits); hart_tensor_free(&x); hart_tensor_free(&mix); hart_tensor_free(&scale);
    hart_tensor_free(&dec);
    return st;
}
