/* Floating-point operation count of a DC-AE network, from the layer shapes
 * (2 per multiply-add of every conv and attention matmul; elementwise ops,
 * norms and shuffles are not counted). Used by the benchmarks. */
#include "models/dcae/dcae_internal.h"

static double conv_flops(const dcae_conv *c, int64_t *h, int64_t *w) {
    int64_t ho = (*h + 2 * c->pad - c->k) / c->stride + 1, wo = (*w + 2 * c->pad - c->k) / c->stride + 1;
    *h = ho;
    *w = wo;
    return 2.0 * c->cout * (double)(c->cin / c->groups) * c->k * c->k * (double)ho * (double)wo;
}

/* conv at the given size, size unchanged for the caller */
static double conv_at(const dcae_conv *c, int64_t h, int64_t w) { return conv_flops(c, &h, &w); }

static double sampler_flops(const dcae_sampler *s, int64_t *h, int64_t *w) {
    double f;
    switch (s->kind) {
    case DS_CONV_UNSHUF:
        f = conv_flops(&s->conv, h, w);
        *h /= 2; *w /= 2;
        return f;
    case DS_CONV_SHUF:
        f = conv_flops(&s->conv, h, w);
        *h *= 2; *w *= 2;
        return f;
    case DS_INTERP_CONV:
        *h *= 2; *w *= 2;
        return conv_flops(&s->conv, h, w);
    default:
        return conv_flops(&s->conv, h, w);
    }
}

static double block_flops(const dcae_block *b, int64_t h, int64_t w) {
    if (b->type == DB_RES) return conv_at(&b->c1, h, w) + conv_at(&b->c2, h, w);
    double hw = (double)h * (double)w, d = b->dim;
    double f = conv_at(&b->qkv, h, w);
    for (int i = 0; i < b->n_scales; i++) f += conv_at(&b->agg_dw[i], h, w) + conv_at(&b->agg_pw[i], h, w);
    double heads = (double)b->heads * (1 + b->n_scales);
    if (hw > d) f += heads * 2.0 * (2.0 * (d + 1) * d * hw); /* vpad·kᵀ, then ·q */
    else f += heads * 2.0 * (2.0 * d * hw * hw);              /* kᵀq, then v·A */
    f += conv_at(&b->proj, h, w) + conv_at(&b->inv, h, w) + conv_at(&b->dw, h, w) + conv_at(&b->pw, h, w);
    return f;
}

double hart_dcae_net_flops(const dcae_net *n, int64_t h, int64_t w) {
    double f = 0;
    for (int i = 0; i < n->n; i++) {
        const dcae_layer *l = &n->layers[i];
        if (l->is_block) f += block_flops(&l->blk, h, w);
        else f += sampler_flops(&l->smp, &h, &w);
    }
    return f;
}

double hart_dcae_encode_flops(const hart_dcae *m, int img_h, int img_w) { return hart_dcae_net_flops(&m->enc, img_h, img_w); }

double hart_dcae_decode_flops(const hart_dcae *m, int lat_h, int lat_w) { return hart_dcae_net_flops(&m->dec, lat_h, lat_w); }
