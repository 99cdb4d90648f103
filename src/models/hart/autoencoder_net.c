/* HART autoencoder encoder / decoder forward passes, built from ops only:
 * resnet blocks (GroupNorm(32) -> SiLU -> conv3x3, twice, + shortcut),
 * single-head self-attention at the lowest resolution, stride-2 conv
 * downsampling after right/bottom zero padding, nearest 2x upsampling + conv. */
#include <math.h>
#include <stdlib.h>

#include "models/hart/autoencoder_internal.h"
#include "ops/ops.h"

int hart_vae_on_backend(const hart_vae *v, const hart_tensor *t) {
    if (!v->be->storage.vt) return t->data != NULL; /* CPU backend: host tensors */
    return t->data == NULL && t->be == v->be;
}

hart_status hart_vae_store(hart_vae *v, hart_tensor *dst, const hart_tensor *src) {
    if (hart_vae_on_backend(v, dst)) return hart_op_copy(dst, src);
    size_t n = hart_tensor_nbytes(src);
    void *buf = malloc(n ? n : 1);
    if (!buf) return hart_fail(HART_ENOMEM, "out of memory");
    hart_status s = hart_tensor_read(src, buf, n);
    if (!s) s = hart_tensor_write(dst, buf, n);
    free(buf);
    return s;
}

hart_status hart_vae_conv_fwd(hart_vae *v, const vae_conv *cv, const hart_tensor *x, int stride, int pad,
                              hart_tensor *y) {
    return hart_vqgan_conv_fwd(v->be, "vae", cv, x, stride, pad, y);
}

/* y = silu(groupnorm(x)) (or just the norm when silu == 0) */
static hart_status norm_act(hart_vae *v, const vae_gn *g, const hart_tensor *x, int silu, hart_tensor *y) {
    return hart_vqgan_norm(v->be, g, x, silu, y);
}

static hart_status resblock(hart_vae *v, const vae_res *r, const hart_tensor *x, hart_tensor *y) {
    return hart_vqgan_resblock(v->be, "vae", &r->n1, &r->c1, &r->n2, &r->c2, r->has_nin ? &r->nin : NULL, x, y);
}

/* x + proj_out(attention(q, k, v)) with q, k, v from one 1x1 conv of norm(x) */
static hart_status attnblock(hart_vae *v, const vae_attn *at, const hart_tensor *x, hart_tensor *y) {
    int64_t B = x->shape[0], C = at->c, H = x->shape[2], W = x->shape[3], L = H * W;
    hart_tensor n = {0}, qkv = {0}, t = {0}, q = {0}, k = {0}, val = {0}, o = {0};
    hart_status s;
    HART_TRY_GOTO(s, norm_act(v, &at->n, x, 0, &n));
    HART_TRY_GOTO(s, hart_vae_conv_fwd(v, &at->qkv, &n, 1, 0, &qkv));
    hart_tensor_free(&n);
    hart_tensor qv;
    HART_TRY_GOTO(s, hart_tensor_reshape(&qkv, 4, (int64_t[]){B, 3, C, L}, &qv));
    HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &t, 4, B, 3, L, C));
    HART_TRY_GOTO(s, hart_op_transpose(&t, &qv, (int[]){0, 1, 3, 2}));
    hart_tensor_free(&qkv);
    HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &q, 4, B, 1, L, C));
    HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &k, 4, B, 1, L, C));
    HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &val, 4, B, 1, L, C));
    HART_TRY_GOTO(s, hart_op_slice(&q, &t, 1, 0));
    HART_TRY_GOTO(s, hart_op_slice(&k, &t, 1, 1));
    HART_TRY_GOTO(s, hart_op_slice(&val, &t, 1, 2));
    hart_tensor_free(&t);
    HART_TRY_GOTO(s, hart_tensor_new4(v->be, HART_F32, &o, 4, B, 1, L, C));
    HART_TRY_GOTO(s, hart_op_attention(&o, &q, &k, &val, NULL, (float)pow((double)C, -0.5)));
    hart_tensor_free(&q); hart_tensor_free(&k); hart_tensor_free(&val);
    s = hart_vqgan_attn_out(v->be, "vae", &at->proj, &o, x, y);
done:
    hart_tensor_free(&n); hart_tensor_free(&qkv); hart_tensor_free(&t); hart_tensor_free(&q);
    hart_tensor_free(&k); hart_tensor_free(&val); hart_tensor_free(&o);
    return s;
}

static hart_status downsample(hart_vae *v, const vae_conv *cv, const hart_tensor *x, hart_tensor *y) {
    return hart_vqgan_downsample(v->be, "vae", cv, x, y);
}

static hart_status upsample(hart_vae *v, const vae_conv *cv, const hart_tensor *x, hart_tensor *y) {
    return hart_vqgan_upsample(v->be, "vae", cv, x, y);
}


hart_status hart_vae_encode(hart_vae *v, const hart_tensor *img, hart_tensor *f) {
    if (!v || !img || !f) return hart_fail(HART_EINVAL, "hart_vae_encode: NULL argument");
    char a[96], b[96];
    int ds = v->info.downsample, z = v->info.z_channels;
    if (img->ndim != 4 || img->shape[1] != 3 || img->dtype != HART_F32 || img->shape[0] < 1 || img->shape[2] < 1 ||
        img->shape[3] < 1)
        return hart_fail(HART_EINVAL, "hart_vae_encode: image must be F32 [B,3,H,W] (got %s)", hart_shape_str(img, a, sizeof a));
    if (img->shape[2] % ds || img->shape[3] % ds)
        return hart_fail(HART_EINVAL, "hart_vae_encode: image size %lldx%lld is not a multiple of the tokenizer's downsampling factor %d",
                         (long long)img->shape[3], (long long)img->shape[2], ds);
    int64_t B = img->shape[0], hh = img->shape[2] / ds, ww = img->shape[3] / ds;
    if (f->ndim != 4 || f->dtype != HART_F32 || f->shape[0] != B || f->shape[1] != z || f->shape[2] != hh || f->shape[3] != ww)
        return hart_fail(HART_EINVAL, "hart_vae_encode: output f must be F32 [%lld,%d,%lld,%lld] (got %s for image %s)",
                         (long long)B, z, (long long)hh, (long long)ww, hart_shape_str(f, a, sizeof a), hart_shape_str(img, b, sizeof b));
    const vae_coder *e = &v->enc;
    hart_tensor h = {0}, in = {0};
    hart_status s;
    const hart_tensor *x = img;
    if (!hart_vae_on_backend(v, img)) { /* bring the image to the backend */
        HART_TRY_GOTO(s, hart_tensor_to(v->be, img, &in));
        x = &in;
    }
    HART_TRY_GOTO(s, hart_vae_conv_fwd(v, &e->conv_in, x, 1, 1, &h));
    hart_tensor_free(&in);
    for (int i = 0; i < e->nlv; i++) {
        const vae_level *lv = &e->lv[i];
        for (int bi = 0; bi < lv->nblk; bi++) {
            HART_TENSOR_STEP(resblock(v, &lv->blk[bi], &h, &nx_));
            if (lv->nattn) HART_TENSOR_STEP(attnblock(v, &lv->attn[bi], &h, &nx_));
        }
        if (lv->has_resample) HART_TENSOR_STEP(downsample(v, &lv->resample, &h, &nx_));
    }
    HART_TENSOR_STEP(resblock(v, &e->mid1, &h, &nx_));
    HART_TENSOR_STEP(attnblock(v, &e->mid_attn, &h, &nx_));
    HART_TENSOR_STEP(resblock(v, &e->mid2, &h, &nx_));
    HART_TENSOR_STEP(norm_act(v, &e->norm_out, &h, 1, &nx_));
    HART_TENSOR_STEP(hart_vae_conv_fwd(v, &e->conv_out, &h, 1, 1, &nx_));
    HART_TENSOR_STEP(hart_vae_conv_fwd(v, &v->quant_conv, &h, 1, v->quant_ks / 2, &nx_));
    s = hart_vae_store(v, f, &h);
done:
    hart_tensor_free(&in);
    hart_tensor_free(&h);
    return s;
}

hart_status hart_vae_decode(hart_vae *v, const hart_tensor *fh, hart_tensor *img) {
    if (!v || !fh || !img) return hart_fail(HART_EINVAL, "hart_vae_decode: NULL argument");
    char a[96], b[96];
    int ds = v->info.downsample, z = v->info.z_channels;
    if (fh->ndim != 4 || fh->dtype != HART_F32 || fh->shape[1] != z || fh->shape[0] < 1 || fh->shape[2] < 1 || fh->shape[3] < 1)
        return hart_fail(HART_EINVAL, "hart_vae_decode: f_hat must be F32 [B,%d,h,w] (got %s)", z, hart_shape_str(fh, a, sizeof a));
    if (img->ndim != 4 || img->dtype != HART_F32 || img->shape[0] != fh->shape[0] || img->shape[1] != 3 ||
        img->shape[2] != fh->shape[2] * ds || img->shape[3] != fh->shape[3] * ds)
        return hart_fail(HART_EINVAL, "hart_vae_decode: image must be F32 [%lld,3,%lld,%lld] (got %s for f_hat %s)",
                         (long long)fh->shape[0], (long long)(fh->shape[2] * ds), (long long)(fh->shape[3] * ds),
                         hart_shape_str(img, a, sizeof a), hart_shape_str(fh, b, sizeof b));
    const vae_coder *d = &v->dec;
    hart_tensor h = {0}, in = {0};
    hart_status s;
    const hart_tensor *x = fh;
    if (!hart_vae_on_backend(v, fh)) {
        HART_TRY_GOTO(s, hart_tensor_to(v->be, fh, &in));
        x = &in;
    }
    HART_TRY_GOTO(s, hart_vae_conv_fwd(v, &v->post_quant_conv, x, 1, v->quant_ks / 2, &h));
    hart_tensor_free(&in);
    HART_TENSOR_STEP(hart_vae_conv_fwd(v, &d->conv_in, &h, 1, 1, &nx_));
    HART_TENSOR_STEP(resblock(v, &d->mid1, &h, &nx_));
    HART_TENSOR_STEP(attnblock(v, &d->mid_attn, &h, &nx_));
    HART_TENSOR_STEP(resblock(v, &d->mid2, &h, &nx_));
    for (int i = d->nlv - 1; i >= 0; i--) {
        const vae_level *lv = &d->lv[i];
        for (int bi = 0; bi < lv->nblk; bi++) {
            HART_TENSOR_STEP(resblock(v, &lv->blk[bi], &h, &nx_));
            if (lv->nattn) HART_TENSOR_STEP(attnblock(v, &lv->attn[bi], &h, &nx_));
        }
        if (lv->has_resample) HART_TENSOR_STEP(upsample(v, &lv->resample, &h, &nx_));
    }
    HART_TENSOR_STEP(norm_act(v, &d->norm_out, &h, 1, &nx_));
    HART_TENSOR_STEP(hart_vae_conv_fwd(v, &d->conv_out, &h, 1, 1, &nx_));
    /* clamp to [-1, 1], on the backend (the image stays there until the caller reads it) */
    if (hart_vae_on_backend(v, img)) s = hart_op_clamp(img, &h, -1.0f, 1.0f);
    else if (!(s = hart_op_clamp(&h, &h, -1.0f, 1.0f))) s = hart_vae_store(v, img, &h);
done:
    hart_tensor_free(&in);
    hart_tensor_free(&h);
    return s;
}

/* ---- operation counts (for benchmarks) ---- */
static double conv_flops(const vae_conv *c, int64_t ho, int64_t wo) {
    return 2.0 * (double)c->w.shape[0] * (double)c->w.shape[1] * (double)(c->k * c->k) * (double)(ho * wo);
}
static double res_flops(const vae_res *r, int64_t h, int64_t w) {
    return conv_flops(&r->c1, h, w) + conv_flops(&r->c2, h, w) + (r->has_nin ? conv_flops(&r->nin, h, w) : 0);
}
static double attn_flops(const vae_attn *a, int64_t h, int64_t w) {
    double L = (double)(h * w);
    return conv_flops(&a->qkv, h, w) + conv_flops(&a->proj, h, w) + 4.0 * L * L * a->c;
}

double hart_vae_decode_flops(const hart_vae *v, int64_t h, int64_t w) {
    const vae_coder *d = &v->dec;
    double f = conv_flops(&v->post_quant_conv, h, w) + conv_flops(&d->conv_in, h, w);
    f += res_flops(&d->mid1, h, w) + attn_flops(&d->mid_attn, h, w) + res_flops(&d->mid2, h, w);
    for (int i = d->nlv - 1; i >= 0; i--) {
        const vae_level *lv = &d->lv[i];
        for (int b = 0; b < lv->nblk; b++) {
            f += res_flops(&lv->blk[b], h, w);
            if (lv->nattn) f += attn_flops(&lv->attn[b], h, w);
        }
        if (lv->has_resample) { h *= 2; w *= 2; f += conv_flops(&lv->resample, h, w); }
    }
    return f + conv_flops(&d->conv_out, h, w);
}

double hart_vae_encode_flops(const hart_vae *v, int64_t h, int64_t w) {
    const vae_coder *e = &v->enc;
    int64_t H = h * v->info.downsample, W = w * v->info.downsample;
    double f = conv_flops(&e->conv_in, H, W);
    for (int i = 0; i < e->nlv; i++) {
        const vae_level *lv = &e->lv[i];
        for (int b = 0; b < lv->nblk; b++) {
            f += res_flops(&lv->blk[b], H, W);
            if (lv->nattn) f += attn_flops(&lv->attn[b], H, W);
        }
        if (lv->has_resample) { H /= 2; W /= 2; f += conv_flops(&lv->resample, H, W); }
    }
    f += res_flops(&e->mid1, H, W) + attn_flops(&e->mid_attn, H, W) + res_flops(&e->mid2, H, W);
    return f + conv_flops(&e->conv_out, H, W) + conv_flops(&v->quant_conv, H, W);
}
