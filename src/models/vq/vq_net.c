/* LlamaGen VQ forward passes from ops: ResnetBlock, AttnBlock (single head
 * over h·w positions, scale c^-0.5), Downsample (pad right/bottom by one,
 * 3x3 stride-2 conv), Upsample (nearest x2, 3x3 conv), and the codebook
 * lookups. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/vq/vq_internal.h"
#include "ops/ops.h"

static int on_backend(const hart_vq *vq, const hart_tensor *t) {
    if (!vq->be->storage.vt) return t->data != NULL;
    return t->data == NULL && t->be == vq->be;
}

/* dst (any backend) = src (on vq's backend) */
static hart_status store(hart_vq *vq, hart_tensor *dst, const hart_tensor *src) {
    if (on_backend(vq, dst)) return hart_op_copy(dst, src);
    size_t n = hart_tensor_numel(src);
    double *buf = malloc(sizeof(double) * (n ? n : 1));
    if (!buf) return hart_fail(HART_ENOMEM, "out of memory");
    hart_status s = hart_tensor_read_f64(src, buf);
    if (!s) s = hart_tensor_write_f64(dst, buf);
    free(buf);
    return s;
}

static hart_status conv(hart_vq *vq, const vq_conv *c, const hart_tensor *x, int stride, int pad, hart_tensor *y) {
    return hart_vqgan_conv_fwd(vq->be, "vq", c, x, stride, pad, y);
}

/* swish(groupnorm(x)), or the norm alone */
static hart_status norm(hart_vq *vq, const vq_gn *g, const hart_tensor *x, int swish, hart_tensor *y) {
    return hart_vqgan_norm(vq->be, g, x, swish, y);
}

static hart_status resblock(hart_vq *vq, const vq_res *r, const hart_tensor *x, hart_tensor *y) {
    return hart_vqgan_resblock(vq->be, "vq", &r->n1, &r->c1, &r->n2, &r->c2, r->has_nin ? &r->nin : NULL, x, y);
}

/* [B,C,H,W] -> [B,1,H·W,C] */
static hart_status to_seq(hart_vq *vq, const hart_tensor *x, hart_tensor *y) {
    int64_t B = x->shape[0], C = x->shape[1], L = x->shape[2] * x->shape[3];
    hart_tensor v;
    HART_TRY(hart_tensor_reshape(x, 4, (int64_t[]){B, 1, C, L}, &v));
    HART_TRY(hart_tensor_new4(vq->be, HART_F32, y, 4, B, 1, L, C));
    hart_status s = hart_op_transpose(y, &v, (int[]){0, 1, 3, 2});
    if (s) hart_tensor_free(y);
    return s;
}

static hart_status attnblock(hart_vq *vq, const vq_attn *at, const hart_tensor *x, hart_tensor *y) {
    int64_t B = x->shape[0], C = at->c, H = x->shape[2], W = x->shape[3], L = H * W;
    hart_tensor n = {0}, q = {0}, k = {0}, v = {0}, qs = {0}, ks = {0}, vs = {0}, o = {0};
    hart_status s;
    HART_TRY_GOTO(s, norm(vq, &at->n, x, 0, &n));
    HART_TRY_GOTO(s, conv(vq, &at->q, &n, 1, 0, &q));
    HART_TRY_GOTO(s, conv(vq, &at->k, &n, 1, 0, &k));
    HART_TRY_GOTO(s, conv(vq, &at->v, &n, 1, 0, &v));
    HART_TRY_GOTO(s, to_seq(vq, &q, &qs));
    HART_TRY_GOTO(s, to_seq(vq, &k, &ks));
    HART_TRY_GOTO(s, to_seq(vq, &v, &vs));
    HART_TRY_GOTO(s, hart_tensor_new4(vq->be, HART_F32, &o, 4, B, 1, L, C));
    HART_TRY_GOTO(s, hart_op_attention(&o, &qs, &ks, &vs, NULL, (float)pow((double)C, -0.5)));
    s = hart_vqgan_attn_out(vq->be, "vq", &at->proj, &o, x, y);
done: {
    hart_tensor *ts[] = {&n, &q, &k, &v, &qs, &ks, &vs, &o};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) hart_tensor_free(ts[i]);
}
    return s;
}

static hart_status downsample(hart_vq *vq, const vq_conv *c, const hart_tensor *x, hart_tensor *y) {
    return hart_vqgan_downsample(vq->be, "vq", c, x, y);
}

static hart_status upsample(hart_vq *vq, const vq_conv *c, const hart_tensor *x, hart_tensor *y) {
    return hart_vqgan_upsample(vq->be, "vq", c, x, y);
}


static hart_status level(hart_vq *vq, const vq_level *lv, int down, hart_tensor *hp) {
    hart_tensor h = *hp;
    hart_status s = HART_OK;
    for (int b = 0; b < lv->nres; b++) {
        HART_TENSOR_STEP(resblock(vq, &lv->res[b], &h, &nx_));
        if (lv->has_attn) HART_TENSOR_STEP(attnblock(vq, &lv->attn[b], &h, &nx_));
    }
    if (lv->has_resample) {
        if (down) HART_TENSOR_STEP(downsample(vq, &lv->resample, &h, &nx_));
        else HART_TENSOR_STEP(upsample(vq, &lv->resample, &h, &nx_));
    }
done:
    *hp = h;
    return s;
}

hart_status hart_vq_encode(hart_vq *vq, const hart_tensor *img, hart_tensor *latent) {
    const hart_vq_info *I = &vq->info;
    int ds = I->downsample;
    if (img->ndim != 4 || img->dtype != HART_F32 || img->shape[1] != 3 || img->shape[0] < 1 || img->shape[2] < ds ||
        img->shape[3] < ds || img->shape[2] % ds || img->shape[3] % ds)
        return hart_fail(HART_EINVAL, "vq encode: image must be F32 [B,3,H,W] with H and W multiples of %d", ds);
    int64_t B = img->shape[0], lh = img->shape[2] / ds, lw = img->shape[3] / ds;
    if (latent->ndim != 4 || latent->shape[0] != B || latent->shape[1] != I->embed_dim || latent->shape[2] != lh || latent->shape[3] != lw)
        return hart_fail(HART_EINVAL, "vq encode: latent must be [%lld,%d,%lld,%lld]", (long long)B, I->embed_dim, (long long)lh, (long long)lw);
    const vq_coder *e = &vq->enc;
    hart_tensor in = {0}, h = {0};
    hart_status s;
    const hart_tensor *x = img;
    if (!on_backend(vq, img)) {
        HART_TRY_GOTO(s, hart_tensor_to(vq->be, img, &in));
        x = &in;
    }
    HART_TRY_GOTO(s, conv(vq, &e->conv_in, x, 1, 1, &h));
    for (int i = 0; i < I->n_levels; i++) HART_TRY_GOTO(s, level(vq, &e->lv[i], 1, &h));
    HART_TENSOR_STEP(resblock(vq, &e->mid1, &h, &nx_));
    HART_TENSOR_STEP(attnblock(vq, &e->mid_attn, &h, &nx_));
    HART_TENSOR_STEP(resblock(vq, &e->mid2, &h, &nx_));
    HART_TENSOR_STEP(norm(vq, &e->norm_out, &h, 1, &nx_));
    HART_TENSOR_STEP(conv(vq, &e->conv_out, &h, 1, 1, &nx_));
    HART_TENSOR_STEP(conv(vq, &vq->quant_conv, &h, 1, 0, &nx_));
    s = store(vq, latent, &h);
done:
    hart_tensor_free(&in);
    hart_tensor_free(&h);
    return s;
}

hart_status hart_vq_quantize(hart_vq *vq, const hart_tensor *latent, hart_tensor *idx) {
    const hart_vq_info *I = &vq->info;
    int64_t E = I->embed_dim, K = I->codebook_size;
    if (latent->ndim != 4 || latent->shape[1] != E)
        return hart_fail(HART_EINVAL, "vq quantize: latent must be [B,%lld,h,w]", (long long)E);
    int64_t B = latent->shape[0], L = latent->shape[2] * latent->shape[3];
    if (idx->ndim != 2 || idx->dtype != HART_I64 || idx->shape[0] != B || idx->shape[1] != L)
        return hart_fail(HART_EINVAL, "vq quantize: idx must be I64 [%lld,%lld]", (long long)B, (long long)L);
    double *z = malloc(sizeof(double) * (size_t)(B * E * L));
    int64_t *out = malloc(sizeof(int64_t) * (size_t)(B * L));
    hart_status s = z && out ? hart_tensor_read_f64(latent, z) : hart_fail(HART_ENOMEM, "out of memory");
    for (int64_t b = 0; b < B && !s; b++)
        for (int64_t p = 0; p < L; p++) {
            double v[64], ss = 0;
            int64_t e8 = E < 64 ? E : 64;
            for (int64_t j = 0; j < e8; j++) { v[j] = z[(b * E + j) * L + p]; ss += v[j] * v[j]; }
            double nrm = sqrt(ss) > 1e-12 ? sqrt(ss) : 1e-12, zz = 0;
            for (int64_t j = 0; j < e8; j++) { v[j] /= nrm; zz += v[j] * v[j]; }
            double best = INFINITY;
            int64_t bi = 0;
            for (int64_t k = 0; k < K; k++) {
                const double *c = vq->cb_host + k * E;
                double cc = 0, zc = 0;
                for (int64_t j = 0; j < e8; j++) { cc += c[j] * c[j]; zc += v[j] * c[j]; }
                double d = zz + cc - 2 * zc;
                if (d < best) { best = d; bi = k; }
            }
            out[b * L + p] = bi;
        }
    if (!s && E > 64) s = hart_fail(HART_EUNSUPPORTED, "vq quantize: codebook width %lld > 64", (long long)E);
    if (!s) s = hart_tensor_write(idx, out, sizeof(int64_t) * (size_t)(B * L));
    free(z);
    free(out);
    return s;
}

hart_status hart_vq_decode_codes(hart_vq *vq, const hart_tensor *idx, int hh, int ww, hart_tensor *img) {
    const hart_vq_info *I = &vq->info;
    int64_t E = I->embed_dim, ds = I->downsample;
    if (idx->ndim != 2 || (idx->dtype != HART_I64 && idx->dtype != HART_I32) || idx->shape[1] != (int64_t)hh * ww || hh < 1 || ww < 1)
        return hart_fail(HART_EINVAL, "vq decode: codes must be I64 [B,%d]", hh * ww);
    int64_t B = idx->shape[0], L = (int64_t)hh * ww;
    if (img->ndim != 4 || img->shape[0] != B || img->shape[1] != 3 || img->shape[2] != hh * ds || img->shape[3] != ww * ds)
        return hart_fail(HART_EINVAL, "vq decode: image must be [%lld,3,%lld,%lld]", (long long)B, (long long)(hh * ds), (long long)(ww * ds));
    const vq_coder *d = &vq->dec;
    hart_tensor ids = {0}, emb = {0}, q = {0}, h = {0}, ev;
    hart_status s;
    HART_TRY_GOTO(s, hart_tensor_to(vq->be, idx, &ids));
    HART_TRY_GOTO(s, hart_tensor_new4(vq->be, HART_F32, &emb, 2, B * L, E, 0, 0));
    HART_TRY_GOTO(s, hart_op_embedding(&emb, &vq->codebook, &ids));
    HART_TRY_GOTO(s, hart_tensor_reshape(&emb, 4, (int64_t[]){B, L, E, 1}, &ev));
    HART_TRY_GOTO(s, hart_tensor_reshape(&ev, 3, (int64_t[]){B, L, E}, &ev));
    HART_TRY_GOTO(s, hart_tensor_new4(vq->be, HART_F32, &q, 3, B, E, L, 0));
    HART_TRY_GOTO(s, hart_op_transpose(&q, &ev, (int[]){0, 2, 1}));
    HART_TRY_GOTO(s, hart_tensor_reshape(&q, 4, (int64_t[]){B, E, hh, ww}, &ev));
    HART_TRY_GOTO(s, conv(vq, &vq->post_quant_conv, &ev, 1, 0, &h));
    HART_TENSOR_STEP(conv(vq, &d->conv_in, &h, 1, 1, &nx_));
    HART_TENSOR_STEP(resblock(vq, &d->mid1, &h, &nx_));
    HART_TENSOR_STEP(attnblock(vq, &d->mid_attn, &h, &nx_));
    HART_TENSOR_STEP(resblock(vq, &d->mid2, &h, &nx_));
    for (int i = 0; i < I->n_levels; i++) HART_TRY_GOTO(s, level(vq, &d->lv[i], 0, &h));
    HART_TENSOR_STEP(norm(vq, &d->norm_out, &h, 1, &nx_));
    HART_TENSOR_STEP(conv(vq, &d->conv_out, &h, 1, 1, &nx_));
    s = store(vq, img, &h);
done:
    hart_tensor_free(&ids);
    hart_tensor_free(&emb);
    hart_tensor_free(&q);
    hart_tensor_free(&h);
    return s;
}
