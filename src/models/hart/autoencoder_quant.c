/* HART hybrid quantizer: multi-scale residual VQ (area-downsampled residual,
 * nearest codebook entry, bicubic upsampling back to the full latent, the
 * shared phi convolutions blended by quant_resi), the continuous residual,
 * and the autoregressive helpers the transformer calls per scale. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/hart/autoencoder_internal.h"
#include "ops/ops.h"

/* y = x·(1-r) + phi_conv(x)·r, or a copy of x when the scale's phi is the identity */
hart_status hart_vae_phi_apply(hart_vae *v, int si, const hart_tensor *x, hart_tensor *y) {
    hart_status s;
    hart_tensor c = {0};
    HART_TRY_GOTO(s, hart_tensor_new(v->be, HART_F32, x->ndim, x->shape, y));
    int p = v->phi_of_scale[si];
    if (p < 0) { HART_TRY_GOTO(s, hart_op_copy(y, x)); return HART_OK; }
    const vae_conv *cv = &v->phi[p];
    HART_TRY_GOTO(s, hart_vae_conv_fwd(v, cv, x, 1, cv->k / 2, &c));
    HART_TRY_GOTO(s, hart_op_scale(y, x, 1.0f - v->resi_ratio, 0.0f));
    HART_TRY_GOTO(s, hart_op_scale(&c, &c, v->resi_ratio, 0.0f));
    HART_TRY_GOTO(s, hart_op_binary(y, y, &c, HART_BIN_ADD));
    hart_tensor_free(&c);
    return HART_OK;
done:
    hart_tensor_free(&c);
    hart_tensor_free(y);
    return s;
}

/* Nearest codebook entry of each row z[i, :C], as the reference computes it:
 * d = (|z|² + |e|²) - 2·z·e in float32 (addmm), first minimum; or with
 * using_znorm the largest cosine similarity. */
static void nearest(const hart_vae *v, const float *z, int64_t N, int64_t *out) {
    int C = v->info.z_channels, V = v->info.vocab_size;
    const float *E = v->cb_host;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < N; i++) {
        const float *zi = z + i * C;
        int64_t best = 0;
        if (!v->znorm) {
            double zz = 0;
            for (int c = 0; c < C; c++) zz += (double)(zi[c] * zi[c]);
            float zzf = (float)zz, bd = INFINITY;
            for (int e = 0; e < V; e++) {
                const float *ev = E + (size_t)e * C;
                double dot = 0;
                for (int c = 0; c < C; c++) dot += (double)zi[c] * ev[c];
                float base = zzf + v->cb_sq[e];
                float d = base - 2.0f * (float)dot;
                if (d < bd || e == 0) { bd = d; best = e; }
            }
        } else {
            double zn = 0, bs = -INFINITY;
            for (int c = 0; c < C; c++) zn += (double)zi[c] * zi[c];
            zn = fmax(sqrt(zn), 1e-12);
            for (int e = 0; e < V; e++) {
                const float *ev = E + (size_t)e * C;
                double en = 0, dot = 0;
                for (int c = 0; c < C; c++) en += (double)ev[c] * ev[c], dot += (double)zi[c] * ev[c];
                double sim = dot / zn / fmax(sqrt(en), 1e-12);
                if (sim > bs || e == 0) { bs = sim; best = e; }
            }
        }
        out[i] = best;
    }
}

/* Bring a tensor to v's backend if needed (tmp holds the copy). */
static hart_status to_be(hart_vae *v, const hart_tensor *t, hart_tensor *tmp, const hart_tensor **use) {
    if (hart_vae_on_backend(v, t)) { *use = t; return HART_OK; }
    HART_TRY(hart_tensor_to(v->be, t, tmp));
    *use = tmp;
    return HART_OK;
}

hart_status hart_vae_embed_indices(hart_vae *v, const hart_tensor *idx, hart_tensor *h) {
    if (!v || !idx || !h) return hart_fail(HART_EINVAL, "hart_vae_embed_indices: NULL argument");
    char a[96], b[96];
    int z = v->info.z_channels;
    if (idx->ndim != 2 || (idx->dtype != HART_I64 && idx->dtype != HART_I32) || idx->shape[0] < 1 || idx->shape[1] < 1)
        return hart_fail(HART_EINVAL, "hart_vae_embed_indices: idx must be I64 [B, pn²] (got %s %s)",
                         hart_dtype_name(idx->dtype), hart_shape_str(idx, a, sizeof a));
    int64_t B = idx->shape[0], L = idx->shape[1];
    if (h->ndim != 4 || h->dtype != HART_F32 || h->shape[0] != B || h->shape[1] != z || h->shape[2] * h->shape[3] != L ||
        h->shape[2] != h->shape[3])
        return hart_fail(HART_EINVAL, "hart_vae_embed_indices: h must be F32 [%lld,%d,pn,pn] with pn² = %lld (got %s)",
                         (long long)B, z, (long long)L, hart_shape_str(h, b, sizeof b));
    hart_tensor ic = {0}, e = {0}, t = {0};
    const hart_tensor *iu;
    hart_status s;
    HART_TRY_GOTO(s, to_be(v, idx, &ic, &iu));
    HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &e, 3, B, L, z, 0));
    HART_TRY_GOTO(s, hart_op_embedding(&e, &v->codebook, iu));
    HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &t, 3, B, z, L, 0));
    HART_TRY_GOTO(s, hart_op_transpose(&t, &e, (int[]){0, 2, 1}));
    hart_tensor tv;
    HART_TRY_GOTO(s, hart_tensor_reshape(&t, 4, h->shape, &tv));
    s = hart_vae_store(v, h, &tv);
done:
    if (s) hart_fail_ctx(s, "hart_vae_embed_indices");
    hart_tensor_free(&ic);
    hart_tensor_free(&e);
    hart_tensor_free(&t);
    return s;
}

static int is_map(const hart_tensor *t, int64_t B, int z, int64_t hw) {
    return t && t->ndim == 4 && t->dtype == HART_F32 && t->shape[0] == B && t->shape[1] == z && t->shape[2] == hw &&
           t->shape[3] == hw;
}

hart_status hart_vae_next_scale(hart_vae *v, int si, hart_tensor *f_hat, const hart_tensor *h, hart_tensor *next_input) {
    if (!v || !f_hat || !h) return hart_fail(HART_EINVAL, "hart_vae_next_scale: NULL argument");
    const hart_vae_info *I = &v->info;
    char a[96], b[96];
    if (si < 0 || si >= I->n_scales)
        return hart_fail(HART_EINVAL, "hart_vae_next_scale: scale %d outside 0..%d", si, I->n_scales - 1);
    int64_t B = f_hat->shape[0], HW = I->latent_hw, pn = I->patch_nums[si];
    int last = si == I->n_scales - 1;
    if (!is_map(f_hat, B, I->z_channels, HW) || B < 1)
        return hart_fail(HART_EINVAL, "hart_vae_next_scale: f_hat must be F32 [B,%d,%lld,%lld] (got %s)", I->z_channels,
                         (long long)HW, (long long)HW, hart_shape_str(f_hat, a, sizeof a));
    if (!hart_vae_on_backend(v, f_hat))
        return hart_fail(HART_EINVAL, "hart_vae_next_scale: f_hat must live on the tokenizer's backend (%s)", v->be->name);
    if (!is_map(h, B, I->z_channels, pn))
        return hart_fail(HART_EINVAL, "hart_vae_next_scale: h of scale %d must be F32 [%lld,%d,%lld,%lld] (got %s)", si,
                         (long long)B, I->z_channels, (long long)pn, (long long)pn, hart_shape_str(h, b, sizeof b));
    int64_t pn2 = last ? HW : I->patch_nums[si + 1];
    if (!last && !next_input)
        return hart_fail(HART_EINVAL, "hart_vae_next_scale: next_input is required before the last scale (scale %d)", si);
    if (next_input && !is_map(next_input, B, I->z_channels, pn2))
        return hart_fail(HART_EINVAL, "hart_vae_next_scale: next_input of scale %d must be F32 [%lld,%d,%lld,%lld] (got %s)", si,
                         (long long)B, I->z_channels, (long long)pn2, (long long)pn2, hart_shape_str(next_input, b, sizeof b));
    hart_tensor hc = {0}, up = {0}, ph = {0}, nx = {0};
    const hart_tensor *hu;
    hart_status s;
    HART_TRY_GOTO(s, to_be(v, h, &hc, &hu));
    if (last && v->hybrid) { /* hybrid: the last scale's tokens (+ continuous residual) are added as they are */
        HART_TRY_GOTO(s, hart_op_binary(f_hat, f_hat, hu, HART_BIN_ADD));
    } else {
        HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &up, 4, B, I->z_channels, HW, HW));
        HART_TRY_GOTO(s, hart_op_interpolate(&up, hu, HART_INTERP_BICUBIC));
        HART_TRY_GOTO(s, hart_vae_phi_apply(v, si, &up, &ph));
        HART_TRY_GOTO(s, hart_op_binary(f_hat, f_hat, &ph, HART_BIN_ADD));
    }
    if (next_input) {
        if (last) {
            HART_TRY_GOTO(s, hart_vae_store(v, next_input, f_hat));
        } else {
            HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &nx, 4, B, I->z_channels, pn2, pn2));
            HART_TRY_GOTO(s, hart_op_interpolate(&nx, f_hat, HART_INTERP_AREA));
            HART_TRY_GOTO(s, hart_vae_store(v, next_input, &nx));
        }
    }
done:
    if (s) hart_fail_ctx(s, "hart_vae_next_scale(%d)", si);
    hart_tensor_free(&hc);
    hart_tensor_free(&up);
    hart_tensor_free(&ph);
    hart_tensor_free(&nx);
    return s;
}

/* host [B,C,n] (NCHW) -> rows [B*n, C] */
static void nchw_to_rows(const float *x, int64_t B, int C, int64_t n, float *rows) {
    for (int64_t b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int64_t p = 0; p < n; p++) rows[(b * n + p) * C + c] = x[(b * C + c) * n + p];
}

hart_status hart_vae_quantize(hart_vae *v, const hart_tensor *f, hart_tensor *idx, hart_tensor *residual,
                              hart_tensor *f_hat_discrete) {
    if (!v || !f || !idx) return hart_fail(HART_EINVAL, "hart_vae_quantize: NULL argument");
    const hart_vae_info *I = &v->info;
    int C = I->z_channels, S = I->n_scales;
    int64_t HW = I->latent_hw, B = f->shape[0];
    char a[96];
    if (!is_map(f, B, C, HW) || B < 1)
        return hart_fail(HART_EINVAL, "hart_vae_quantize: f must be F32 [B,%d,%lld,%lld] (the last of v_patch_nums) (got %s)", C,
                         (long long)HW, (long long)HW, hart_shape_str(f, a, sizeof a));
    for (int k = 0; k < S; k++) {
        int64_t pn = I->patch_nums[k];
        if (idx[k].dtype != HART_I64 || idx[k].ndim != 2 || idx[k].shape[0] != B || idx[k].shape[1] != pn * pn)
            return hart_fail(HART_EINVAL, "hart_vae_quantize: idx[%d] must be I64 [%lld,%lld] (got %s %s)", k, (long long)B,
                             (long long)(pn * pn), hart_dtype_name(idx[k].dtype), hart_shape_str(&idx[k], a, sizeof a));
    }
    if (residual && (residual->dtype != HART_F32 || residual->ndim != 3 || residual->shape[0] != B ||
                     residual->shape[1] != HW * HW || residual->shape[2] != C))
        return hart_fail(HART_EINVAL, "hart_vae_quantize: residual must be F32 [%lld,%lld,%d] (got %s)", (long long)B,
                         (long long)(HW * HW), C, hart_shape_str(residual, a, sizeof a));
    if (f_hat_discrete && !is_map(f_hat_discrete, B, C, HW))
        return hart_fail(HART_EINVAL, "hart_vae_quantize: f_hat_discrete must be F32 [%lld,%d,%lld,%lld] (got %s)", (long long)B,
                         C, (long long)HW, (long long)HW, hart_shape_str(f_hat_discrete, a, sizeof a));

    hart_tensor rest = {0}, fhat = {0}, small = {0}, hs = {0}, up = {0}, ph = {0}, rt = {0};
    float *zb = NULL, *rows = NULL, *hb = NULL;
    int64_t *ib = NULL;
    const hart_tensor *fu;
    hart_tensor fc = {0};
    hart_status s;
    size_t full = (size_t)(B * C * HW * HW);
    zb = malloc(sizeof(float) * full);
    rows = malloc(sizeof(float) * full);
    hb = malloc(sizeof(float) * full);
    ib = malloc(sizeof(int64_t) * (size_t)(B * HW * HW));
    if (!zb || !rows || !hb || !ib) { s = hart_fail(HART_ENOMEM, "out of memory"); goto done; }
    HART_TRY_GOTO(s, to_be(v, f, &fc, &fu));
    HART_TRY_GOTO(s, hart_tensor_new(v->be, HART_F32, 4, f->shape, &rest));
    HART_TRY_GOTO(s, hart_op_copy(&rest, fu));
    HART_TRY_GOTO(s, hart_tensor_new(v->be, HART_F32, 4, f->shape, &fhat));
    for (int si = 0; si < S; si++) {
        int64_t pn = I->patch_nums[si], n = pn * pn;
        int lastk = si == S - 1;
        /* the residual seen at this scale: area-downsampled (not at the last scale) */
        const hart_tensor *zin = &rest;
        if (!lastk) {
            HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &small, 4, B, C, pn, pn));
            HART_TRY_GOTO(s, hart_op_interpolate(&small, &rest, HART_INTERP_AREA));
            zin = &small;
        }
        HART_TRY_GOTO(s, hart_tensor_read(zin, zb, sizeof(float) * (size_t)(B * C * n)));
        nchw_to_rows(zb, B, C, n, rows);
        nearest(v, rows, B * n, ib);
        HART_TRY_GOTO(s, hart_tensor_write(&idx[si], ib, sizeof(int64_t) * (size_t)(B * n)));
        /* codebook vectors as [B,C,pn,pn] */
        for (int64_t b = 0; b < B; b++)
            for (int c = 0; c < C; c++)
                for (int64_t p = 0; p < n; p++) hb[(b * C + c) * n + p] = v->cb_host[(size_t)ib[b * n + p] * C + c];
        HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &hs, 4, B, C, pn, pn));
        HART_TRY_GOTO(s, hart_tensor_write(&hs, hb, sizeof(float) * (size_t)(B * C * n)));
        if (!lastk) {
            HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &up, 4, B, C, HW, HW));
            HART_TRY_GOTO(s, hart_op_interpolate(&up, &hs, HART_INTERP_BICUBIC));
            HART_TRY_GOTO(s, hart_vae_phi_apply(v, si, &up, &ph));
            HART_TRY_GOTO(s, hart_op_binary(&fhat, &fhat, &ph, HART_BIN_ADD));
            HART_TRY_GOTO(s, hart_op_binary(&rest, &rest, &ph, HART_BIN_SUB));
            hart_tensor_free(&up);
            hart_tensor_free(&ph);
            hart_tensor_free(&small);
        } else {
            if (residual) { /* f minus every scale but the last, one row per token */
                hart_tensor rv;
                HART_TRY_GOTO(s, hart_tensor_reshape(&rest, 3, (int64_t[]){B, C, n}, &rv));
                HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &rt, 3, B, n, C, 0));
                HART_TRY_GOTO(s, hart_op_transpose(&rt, &rv, (int[]){0, 2, 1}));
                HART_TRY_GOTO(s, hart_vae_store(v, residual, &rt));
            }
            if (f_hat_discrete) { /* the to_fhat path: phi of the last scale applied too */
                HART_TRY_GOTO(s, hart_vae_phi_apply(v, si, &hs, &ph));
                HART_TRY_GOTO(s, hart_op_binary(&fhat, &fhat, &ph, HART_BIN_ADD));
                HART_TRY_GOTO(s, hart_vae_store(v, f_hat_discrete, &fhat));
            }
        }
        hart_tensor_free(&hs);
    }
done:
    if (s) hart_fail_ctx(s, "hart_vae_quantize");
    free(zb); free(rows); free(hb); free(ib);
    hart_tensor_free(&fc); hart_tensor_free(&rest); hart_tensor_free(&fhat); hart_tensor_free(&small);
    hart_tensor_free(&hs); hart_tensor_free(&up); hart_tensor_free(&ph); hart_tensor_free(&rt);
    return s;
}
