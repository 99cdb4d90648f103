/* LlamaGen VQ: architecture from the tensor shapes, checked against an
 * optional config, and weight loading onto the backend. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pth.h"
#include "models/vq/vq_internal.h"

typedef struct {
    hart_vq *vq;
    hart_checkpoint ck;
} loader;

/* As F32, or a conv weight (is_w) in the backend's weight dtype (hart_weight_to). */
static hart_status fetch_as(loader *L, hart_tensor *dst, int ndim, const int64_t *shape, const char *name, int is_w) {
    hart_tensor host;
    HART_TRY(hart_ckpt_get(&L->ck, name, ndim, shape, &host));
    if (host.dtype != HART_F32 && host.dtype != HART_F16 && host.dtype != HART_BF16)
        return hart_fail(HART_EFORMAT, "%s: tensor '%s' has dtype %s (expected a float type)", L->ck.dir, name,
                         hart_dtype_name(host.dtype));
    int64_t n = hart_tensor_numel(&host);
    float *buf = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!buf) return hart_fail(HART_ENOMEM, "out of memory loading %s", name);
    hart_status s = hart_tensor_read_f32(&host, buf);
    hart_tensor f = hart_tensor_wrap(buf, HART_F32, ndim, shape);
    if (!s && is_w) s = hart_weight_to(L->vq->be, &f, dst);
    else if (!s) s = hart_tensor_new(L->vq->be, HART_F32, ndim, shape, dst);
    if (!s && !is_w) s = hart_tensor_write(dst, buf, sizeof(float) * (size_t)n);
    free(buf);
    return s;
}

static hart_status fetch(loader *L, hart_tensor *dst, int ndim, const int64_t *shape, const char *name) {
    return fetch_as(L, dst, ndim, shape, name, 0);
}

static hart_status conv(loader *L, vq_conv *c, int co, int ci, int k, const char *name) {
    char nm[300];
    c->k = k;
    snprintf(nm, sizeof nm, "%s.weight", name);
    HART_TRY(fetch_as(L, &c->w, 4, (int64_t[]){co, ci, k, k}, nm, 1));
    snprintf(nm, sizeof nm, "%s.bias", name);
    return fetch(L, &c->b, 1, (int64_t[]){co}, nm);
}

static hart_status gn(loader *L, vq_gn *g, int c, const char *name) {
    char nm[300];
    if (c % VQ_GN_GROUPS)
        return hart_fail(HART_EUNSUPPORTED, "%s: %d channels at '%s' are not divisible by GroupNorm's %d groups", L->ck.dir, c,
                         name, VQ_GN_GROUPS);
    snprintf(nm, sizeof nm, "%s.weight", name);
    HART_TRY(fetch(L, &g->g, 1, (int64_t[]){c}, nm));
    snprintf(nm, sizeof nm, "%s.bias", name);
    return fetch(L, &g->b, 1, (int64_t[]){c}, nm);
}

static hart_status res(loader *L, vq_res *r, int cin, int cout, const char *name) {
    char nm[300];
    r->has_nin = cin != cout;
    snprintf(nm, sizeof nm, "%s.norm1", name); HART_TRY(gn(L, &r->n1, cin, nm));
    snprintf(nm, sizeof nm, "%s.conv1", name); HART_TRY(conv(L, &r->c1, cout, cin, 3, nm));
    snprintf(nm, sizeof nm, "%s.norm2", name); HART_TRY(gn(L, &r->n2, cout, nm));
    snprintf(nm, sizeof nm, "%s.conv2", name); HART_TRY(conv(L, &r->c2, cout, cout, 3, nm));
    if (!r->has_nin) return HART_OK;
    snprintf(nm, sizeof nm, "%s.nin_shortcut", name);
    return conv(L, &r->nin, cout, cin, 1, nm);
}

static hart_status attn(loader *L, vq_attn *a, int c, const char *name) {
    char nm[300];
    a->c = c;
    snprintf(nm, sizeof nm, "%s.norm", name); HART_TRY(gn(L, &a->n, c, nm));
    snprintf(nm, sizeof nm, "%s.q", name); HART_TRY(conv(L, &a->q, c, c, 1, nm));
    snprintf(nm, sizeof nm, "%s.k", name); HART_TRY(conv(L, &a->k, c, c, 1, nm));
    snprintf(nm, sizeof nm, "%s.v", name); HART_TRY(conv(L, &a->v, c, c, 1, nm));
    snprintf(nm, sizeof nm, "%s.proj_out", name);
    return conv(L, &a->proj, c, c, 1, nm);
}

/* Dim d of tensor `name`, or -1 when absent. */
static int64_t dim_of(loader *L, const char *name, int d) {
    hart_tensor t;
    if (!hart_ckpt_has(&L->ck, name) || hart_ckpt_get(&L->ck, name, 0, NULL, &t) || d >= t.ndim) return -1;
    return t.shape[d];
}

static hart_status infer(loader *L, hart_vq_info *I) {
    char nm[200];
    const char *dir = L->ck.dir;
    I->ch = (int)dim_of(L, "encoder.conv_in.weight", 0);
    I->z_channels = (int)dim_of(L, "decoder.conv_in.weight", 1);
    I->codebook_size = (int)dim_of(L, "quantize.embedding.weight", 0);
    I->embed_dim = (int)dim_of(L, "quantize.embedding.weight", 1);
    if (I->ch <= 0 || I->z_channels <= 0 || I->codebook_size <= 0 || I->embed_dim <= 0)
        return hart_fail(HART_EMISMATCH, "%s: not a LlamaGen VQ checkpoint (needs encoder.conv_in, decoder.conv_in and "
                                         "quantize.embedding tensors)", dir);
    I->n_levels = 0;
    for (;; I->n_levels++) {
        snprintf(nm, sizeof nm, "encoder.conv_blocks.%d.res.0.conv1.weight", I->n_levels);
        int64_t co = dim_of(L, nm, 0);
        if (co < 0) break;
        if (I->n_levels == HART_VQ_MAX_LEVELS) return hart_fail(HART_EUNSUPPORTED, "%s: more than %d encoder levels", dir, HART_VQ_MAX_LEVELS);
        if (co % I->ch) return hart_fail(HART_EMISMATCH, "%s: %s has %lld channels, not a multiple of ch %d", dir, nm, (long long)co, I->ch);
        I->ch_mult[I->n_levels] = (int)(co / I->ch);
    }
    for (I->num_res_blocks = 0;; I->num_res_blocks++) {
        snprintf(nm, sizeof nm, "encoder.conv_blocks.0.res.%d.conv1.weight", I->num_res_blocks);
        if (dim_of(L, nm, 0) < 0) break;
    }
    if (!I->n_levels || !I->num_res_blocks || I->num_res_blocks > 7)
        return hart_fail(HART_EMISMATCH, "%s: cannot read the encoder levels (encoder.conv_blocks.*.res.*)", dir);
    /* the decoder's widths may differ (decoder_ch_mult); conv_blocks.0 is its deepest level */
    for (int i = 0; i < I->n_levels; i++) {
        snprintf(nm, sizeof nm, "decoder.conv_blocks.%d.res.0.conv1.weight", i);
        int64_t co = dim_of(L, nm, 0);
        if (co <= 0 || co % I->ch)
            return hart_fail(HART_EMISMATCH, "%s: %s missing or not a multiple of ch %d (the decoder needs %d levels like the encoder)",
                             dir, nm, I->ch, I->n_levels);
        I->dec_ch_mult[I->n_levels - 1 - i] = (int)(co / I->ch);
    }
    snprintf(nm, sizeof nm, "decoder.conv_blocks.%d.res.0.conv1.weight", I->n_levels);
    if (dim_of(L, nm, 0) >= 0) return hart_fail(HART_EMISMATCH, "%s: the decoder has more levels than the encoder", dir);
    I->downsample = 1 << (I->n_levels - 1);
    return HART_OK;
}

static hart_status check_cfg(const char *dir, const cJSON *cfg, const hart_vq_info *I) {
    if (!cfg) return HART_OK;
    struct { const char *k; int v; } ints[] = {{"ch", I->ch}, {"num_res_blocks", I->num_res_blocks},
                                              {"z_channels", I->z_channels}, {"codebook_size", I->codebook_size},
                                              {"codebook_embed_dim", I->embed_dim}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t v;
        HART_TRY(hart_cfg_int_or(cfg, ints[i].k, ints[i].v, &v));
        if (v != ints[i].v)
            return hart_fail(HART_EMISMATCH, "%s: config says %s = %lld but the tensors imply %d", dir, ints[i].k, (long long)v, ints[i].v);
    }
    const char *keys[] = {"ch_mult", "encoder_ch_mult", "decoder_ch_mult"};
    for (int k = 0; k < 3; k++) {
        const int *have = k == 2 ? I->dec_ch_mult : I->ch_mult;
        int64_t m[HART_VQ_MAX_LEVELS + 1];
        int n;
        if (!cJSON_GetObjectItemCaseSensitive(cfg, keys[k])) continue;
        HART_TRY(hart_cfg_int_array(cfg, keys[k], m, HART_VQ_MAX_LEVELS + 1, &n));
        int same = n == I->n_levels;
        for (int i = 0; same && i < n; i++) same = m[i] == have[i];
        if (!same) return hart_fail(HART_EMISMATCH, "%s: config %s does not match the %s's levels", dir, keys[k], k == 2 ? "decoder" : "encoder");
    }
    return HART_OK;
}

static hart_status load_all(loader *L) {
    hart_vq *vq = L->vq;
    const hart_vq_info *I = &vq->info;
    char nm[300];
    int ch = I->ch, nl = I->n_levels, nrb = I->num_res_blocks, z = I->z_channels;
    /* encoder */
    vq_coder *e = &vq->enc;
    HART_TRY(conv(L, &e->conv_in, ch, 3, 3, "encoder.conv_in"));
    int in = ch;
    for (int i = 0; i < nl; i++) {
        vq_level *lv = &e->lv[i];
        int out = ch * I->ch_mult[i];
        lv->nres = nrb;
        lv->has_attn = i == nl - 1;
        lv->has_resample = i != nl - 1;
        for (int b = 0; b < nrb; b++) {
            snprintf(nm, sizeof nm, "encoder.conv_blocks.%d.res.%d", i, b);
            HART_TRY(res(L, &lv->res[b], in, out, nm));
            in = out;
            if (lv->has_attn) {
                snprintf(nm, sizeof nm, "encoder.conv_blocks.%d.attn.%d", i, b);
                HART_TRY(attn(L, &lv->attn[b], in, nm));
            }
        }
        if (lv->has_resample) {
            snprintf(nm, sizeof nm, "encoder.conv_blocks.%d.downsample.conv", i);
            HART_TRY(conv(L, &lv->resample, in, in, 3, nm));
        }
    }
    HART_TRY(res(L, &e->mid1, in, in, "encoder.mid.0"));
    HART_TRY(attn(L, &e->mid_attn, in, "encoder.mid.1"));
    HART_TRY(res(L, &e->mid2, in, in, "encoder.mid.2"));
    HART_TRY(gn(L, &e->norm_out, in, "encoder.norm_out"));
    HART_TRY(conv(L, &e->conv_out, z, in, 3, "encoder.conv_out"));
    /* decoder: conv_blocks.0 is the deepest level */
    vq_coder *d = &vq->dec;
    in = ch * I->dec_ch_mult[nl - 1];
    HART_TRY(conv(L, &d->conv_in, in, z, 3, "decoder.conv_in"));
    HART_TRY(res(L, &d->mid1, in, in, "decoder.mid.0"));
    HART_TRY(attn(L, &d->mid_attn, in, "decoder.mid.1"));
    HART_TRY(res(L, &d->mid2, in, in, "decoder.mid.2"));
    for (int i = 0; i < nl; i++) {
        vq_level *lv = &d->lv[i];
        int out = ch * I->dec_ch_mult[nl - 1 - i];
        lv->nres = nrb + 1;
        lv->has_attn = i == 0;
        lv->has_resample = i != nl - 1;
        for (int b = 0; b < nrb + 1; b++) {
            snprintf(nm, sizeof nm, "decoder.conv_blocks.%d.res.%d", i, b);
            HART_TRY(res(L, &lv->res[b], in, out, nm));
            in = out;
            if (lv->has_attn) {
                snprintf(nm, sizeof nm, "decoder.conv_blocks.%d.attn.%d", i, b);
                HART_TRY(attn(L, &lv->attn[b], in, nm));
            }
        }
        if (lv->has_resample) {
            snprintf(nm, sizeof nm, "decoder.conv_blocks.%d.upsample.conv", i);
            HART_TRY(conv(L, &lv->resample, in, in, 3, nm));
        }
    }
    HART_TRY(gn(L, &d->norm_out, in, "decoder.norm_out"));
    HART_TRY(conv(L, &d->conv_out, 3, in, 3, "decoder.conv_out"));
    HART_TRY(conv(L, &vq->quant_conv, I->embed_dim, z, 1, "quant_conv"));
    HART_TRY(conv(L, &vq->post_quant_conv, z, I->embed_dim, 1, "post_quant_conv"));
    /* codebook rows / max(|row|, 1e-12), as F.normalize */
    int64_t K = I->codebook_size, E = I->embed_dim;
    hart_tensor cb;
    HART_TRY(hart_ckpt_get(&L->ck, "quantize.embedding.weight", 2, (int64_t[]){K, E}, &cb));
    float *raw = malloc(sizeof(float) * (size_t)(K * E));
    vq->cb_host = malloc(sizeof(double) * (size_t)(K * E));
    if (!raw || !vq->cb_host) { free(raw); return hart_fail(HART_ENOMEM, "out of memory"); }
    hart_status s = hart_tensor_read_f32(&cb, raw);
    for (int64_t k = 0; k < K && !s; k++) {
        double ss = 0;
        for (int64_t j = 0; j < E; j++) ss += (double)raw[k * E + j] * raw[k * E + j];
        double nrm = sqrt(ss) > 1e-12 ? sqrt(ss) : 1e-12;
        for (int64_t j = 0; j < E; j++) vq->cb_host[k * E + j] = raw[k * E + j] / nrm;
    }
    free(raw);
    if (!s) s = hart_tensor_new(vq->be, HART_F32, 2, (int64_t[]){K, E}, &vq->codebook);
    if (!s) s = hart_tensor_write_f64(&vq->codebook, vq->cb_host);
    return s;
}

hart_status hart_vq_load(hart_backend *be, const char *path, const cJSON *cfg, hart_vq **out) {
    *out = NULL;
    hart_vq *vq = calloc(1, sizeof *vq);
    if (!vq) return hart_fail(HART_ENOMEM, "out of memory");
    vq->be = be;
    loader L = {.vq = vq};
    hart_status s = hart_ckpt_open_file(path, &L.ck);
    if (!s) s = infer(&L, &vq->info);
    if (!s) s = check_cfg(path, cfg, &vq->info);
    if (!s) s = load_all(&L);
    hart_ckpt_close(&L.ck);
    if (s) { hart_vq_free(vq); return s; }
    *out = vq;
    return HART_OK;
}

const hart_vq_info *hart_vq_get_info(const hart_vq *vq) { return &vq->info; }
hart_backend *hart_vq_backend(const hart_vq *vq) { return vq->be; }

static void free_conv(vq_conv *c) { hart_tensor_free(&c->w); hart_tensor_free(&c->b); }
static void free_gn(vq_gn *g) { hart_tensor_free(&g->g); hart_tensor_free(&g->b); }
static void free_res(vq_res *r) { free_gn(&r->n1); free_gn(&r->n2); free_conv(&r->c1); free_conv(&r->c2); free_conv(&r->nin); }
static void free_attn(vq_attn *a) { free_gn(&a->n); free_conv(&a->q); free_conv(&a->k); free_conv(&a->v); free_conv(&a->proj); }
static void free_coder(vq_coder *c) {
    free_conv(&c->conv_in); free_conv(&c->conv_out);
    for (int i = 0; i < HART_VQ_MAX_LEVELS; i++) {
        for (int b = 0; b < 8; b++) { free_res(&c->lv[i].res[b]); free_attn(&c->lv[i].attn[b]); }
        free_conv(&c->lv[i].resample);
    }
    free_res(&c->mid1); free_res(&c->mid2); free_attn(&c->mid_attn); free_gn(&c->norm_out);
}

void hart_vq_free(hart_vq *vq) {
    if (!vq) return;
    free_coder(&vq->enc);
    free_coder(&vq->dec);
    free_conv(&vq->quant_conv);
    free_conv(&vq->post_quant_conv);
    hart_tensor_free(&vq->codebook);
    free(vq->cb_host);
    free(vq);
}
