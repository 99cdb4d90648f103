/* LPD: architecture from the tensor shapes, weight loading, free. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pth.h"
#include "models/lpd/lpd_internal.h"
#include "ops/ops.h"

static hart_status fetch(hart_lpd *m, hart_checkpoint *ck, hart_tensor *dst, int ndim, const int64_t *shape,
                         const char *fmt, int l) {
    char name[256];
    snprintf(name, sizeof name, fmt, l);
    hart_tensor host;
    HART_TRY(hart_ckpt_get(ck, name, ndim, shape, &host));
    if (host.dtype != HART_F32 && host.dtype != HART_F16 && host.dtype != HART_BF16)
        return hart_fail(HART_EFORMAT, "%s: tensor '%s' has dtype %s (expected a float type)", ck->dir, name, hart_dtype_name(host.dtype));
    if (ndim == 2) return hart_weight_to(m->be, &host, dst); /* matrices: linear weights */
    if (host.dtype != HART_F32) { /* vectors as F32 */
        int64_t n = hart_tensor_numel(&host);
        float *buf = malloc(sizeof(float) * (size_t)(n ? n : 1));
        if (!buf) return hart_fail(HART_ENOMEM, "out of memory loading %s", name);
        hart_status s = hart_tensor_read_f32(&host, buf);
        hart_tensor f = hart_tensor_wrap(buf, HART_F32, ndim, shape);
        if (!s) s = hart_tensor_to(m->be, &f, dst);
        free(buf);
        return s;
    }
    return hart_tensor_to(m->be, &host, dst);
}

/* A host F32 copy of tensor `name` of the given shape. */
static hart_status host_copy(hart_checkpoint *ck, const char *name, int ndim, const int64_t *shape, float **out) {
    hart_tensor t;
    HART_TRY(hart_ckpt_get(ck, name, ndim, shape, &t));
    *out = malloc(sizeof(float) * (size_t)hart_tensor_numel(&t));
    if (!*out) return hart_fail(HART_ENOMEM, "out of memory loading %s", name);
    return hart_tensor_read_f32(&t, *out);
}

static int64_t dim_of(hart_checkpoint *ck, const char *name, int d) {
    hart_tensor t;
    if (!hart_ckpt_has(ck, name) || hart_ckpt_get(ck, name, 0, NULL, &t) || d >= t.ndim) return -1;
    return t.shape[d];
}

static hart_status infer(hart_checkpoint *ck, const cJSON *cfg, hart_lpd_config *c) {
    const char *dir = ck->dir;
    c->D = (int)dim_of(ck, "pos_embed", 2);
    int64_t np = dim_of(ck, "pos_embed", 1);
    c->V = (int)dim_of(ck, "token_emb.weight", 0);
    c->n_classes = (int)dim_of(ck, "class_emb.weight", 0);
    c->mlp = (int)dim_of(ck, "blocks.0.mlp.fc1.weight", 0);
    if (c->D <= 0 || np < 2 || c->V <= 0 || c->n_classes <= 0 || c->mlp <= 0)
        return hart_fail(HART_EMISMATCH, "%s: not an LPD checkpoint (needs pos_embed, token_emb, class_emb and blocks.0.mlp)", dir);
    c->N = (int)(np - 1);
    c->grid = (int)lround(sqrt((double)c->N));
    if (c->grid * c->grid != c->N)
        return hart_fail(HART_EMISMATCH, "%s: pos_embed has %d token positions, not a square grid", dir, c->N);
    for (c->depth = 0;; c->depth++) {
        char nm[64];
        snprintf(nm, sizeof nm, "blocks.%d.norm1.weight", c->depth);
        if (!hart_ckpt_has(ck, nm)) break;
    }
    if (!c->depth) return hart_fail(HART_EMISMATCH, "%s: no transformer blocks (blocks.0.*)", dir);
    int64_t H = c->D % 64 ? 0 : c->D / 64;
    HART_TRY(hart_cfg_int_or(cfg, "decoder_num_heads", H, &H));
    HART_TRY(hart_cfg_int_or(cfg, "num_heads", H, &H));
    if (H <= 0 || c->D % H)
        return hart_fail(HART_EMISMATCH, "%s: width %d is not divisible into heads (set decoder_num_heads in the config)", dir, c->D);
    c->H = (int)H;
    c->hd = c->D / c->H;
    c->eps = 1e-6f;
    struct { const char *k; int v; } ints[] = {{"decoder_embed_dim", c->D}, {"decoder_depth", c->depth},
                                              {"vqgan_vocab_size", c->V}, {"class_num", c->n_classes},
                                              {"seq_len", c->N}, {"grid", c->grid}, {"mlp_hidden", c->mlp}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t v;
        HART_TRY(hart_cfg_int_or(cfg, ints[i].k, ints[i].v, &v));
        if (v != ints[i].v)
            return hart_fail(HART_EMISMATCH, "%s: config says %s = %lld but the tensors imply %d", dir, ints[i].k, (long long)v, ints[i].v);
    }
    return HART_OK;
}

static hart_status load_block(hart_lpd *m, hart_checkpoint *ck, lpd_block *b, int l) {
    int64_t D = m->cfg.D, M = m->cfg.mlp;
    hart_tensor qkv, view;
    char nm[96];
    HART_TRY(fetch(m, ck, &b->n1w, 1, (int64_t[]){D}, "blocks.%d.norm1.weight", l));
    HART_TRY(fetch(m, ck, &b->n1b, 1, (int64_t[]){D}, "blocks.%d.norm1.bias", l));
    snprintf(nm, sizeof nm, "blocks.%d.attn.qkv.weight", l);
    HART_TRY(hart_ckpt_get(ck, nm, 2, (int64_t[]){3 * D, D}, &qkv));
    hart_tensor *w3[3] = {&b->wq, &b->wk, &b->wv}, *b3[3] = {&b->bq, &b->bk, &b->bv};
    for (int k = 0; k < 3; k++) { /* rows [q; k; v] */
        HART_TRY(hart_tensor_rows(&qkv, k * D, D, &view));
        HART_TRY(hart_weight_to(m->be, &view, w3[k]));
    }
    hart_tensor bias = {0};
    HART_TRY(fetch(m, ck, &bias, 1, (int64_t[]){3 * D}, "blocks.%d.attn.qkv.bias", l));
    hart_status s = HART_OK;
    for (int k = 0; k < 3 && !s; k++) {
        s = hart_tensor_new(m->be, HART_F32, 1, (int64_t[]){D}, b3[k]);
        if (!s) s = hart_op_slice(b3[k], &bias, 0, k * D);
    }
    hart_tensor_free(&bias);
    HART_TRY(s);
    HART_TRY(fetch(m, ck, &b->projw, 2, (int64_t[]){D, D}, "blocks.%d.attn.proj.weight", l));
    HART_TRY(fetch(m, ck, &b->projb, 1, (int64_t[]){D}, "blocks.%d.attn.proj.bias", l));
    HART_TRY(fetch(m, ck, &b->n2w, 1, (int64_t[]){D}, "blocks.%d.norm2.weight", l));
    HART_TRY(fetch(m, ck, &b->n2b, 1, (int64_t[]){D}, "blocks.%d.norm2.bias", l));
    HART_TRY(fetch(m, ck, &b->fc1w, 2, (int64_t[]){M, D}, "blocks.%d.mlp.fc1.weight", l));
    HART_TRY(fetch(m, ck, &b->fc1b, 1, (int64_t[]){M}, "blocks.%d.mlp.fc1.bias", l));
    HART_TRY(fetch(m, ck, &b->fc2w, 2, (int64_t[]){D, M}, "blocks.%d.mlp.fc2.weight", l));
    return fetch(m, ck, &b->fc2b, 1, (int64_t[]){D}, "blocks.%d.mlp.fc2.bias", l);
}

static hart_status load_all(hart_lpd *m, hart_checkpoint *ck) {
    const hart_lpd_config *c = &m->cfg;
    int64_t D = c->D;
    HART_TRY(host_copy(ck, "class_emb.weight", 2, (int64_t[]){c->n_classes, D}, &m->class_emb));
    HART_TRY(host_copy(ck, "token_emb.weight", 2, (int64_t[]){c->V, D}, &m->token_emb));
    HART_TRY(host_copy(ck, "fake_latent", 2, (int64_t[]){1, D}, &m->fake_latent));
    HART_TRY(host_copy(ck, "mask_token", 3, (int64_t[]){1, 1, D}, &m->mask_token));
    HART_TRY(host_copy(ck, "pos_embed", 3, (int64_t[]){1, c->N + 1, D}, &m->pos_embed));
    HART_TRY(fetch(m, ck, &m->lnzw, 1, (int64_t[]){D}, "z_proj_ln.weight", 0));
    HART_TRY(fetch(m, ck, &m->lnzb, 1, (int64_t[]){D}, "z_proj_ln.bias", 0));
    HART_TRY(fetch(m, ck, &m->normw, 1, (int64_t[]){D}, "norm.weight", 0));
    HART_TRY(fetch(m, ck, &m->normb, 1, (int64_t[]){D}, "norm.bias", 0));
    HART_TRY(fetch(m, ck, &m->headw, 2, (int64_t[]){c->V, D}, "head.weight", 0));
    if (hart_ckpt_has(ck, "head.bias"))
        return hart_fail(HART_EUNSUPPORTED, "%s: head.bias present (the LPD head has no bias)", ck->dir);
    m->blocks = calloc((size_t)c->depth, sizeof *m->blocks);
    if (!m->blocks) return hart_fail(HART_ENOMEM, "out of memory");
    for (int l = 0; l < c->depth; l++) HART_TRY(load_block(m, ck, &m->blocks[l], l));
    return HART_OK;
}

hart_status hart_lpd_load(hart_backend *be, const char *path, const cJSON *cfg, hart_lpd **out) {
    *out = NULL;
    hart_lpd *m = calloc(1, sizeof *m);
    if (!m) return hart_fail(HART_ENOMEM, "out of memory");
    m->be = be;
    hart_checkpoint ck;
    hart_status s = hart_ckpt_open_file(path, &ck);
    if (s) { free(m); return s; }
    s = infer(&ck, cfg, &m->cfg);
    if (!s) s = load_all(m, &ck);
    hart_ckpt_close(&ck);
    if (s) { hart_lpd_free(m); return s; }
    *out = m;
    return HART_OK;
}

const hart_lpd_config *hart_lpd_get_config(const hart_lpd *m) { return &m->cfg; }
hart_backend *hart_lpd_backend(const hart_lpd *m) { return m->be; }

void hart_lpd_free(hart_lpd *m) {
    if (!m) return;
    for (int l = 0; m->blocks && l < m->cfg.depth; l++) {
        lpd_block *b = &m->blocks[l];
        hart_tensor *ts[] = {&b->n1w, &b->n1b, &b->wq, &b->wk, &b->wv, &b->bq, &b->bk, &b->bv, &b->projw, &b->projb,
                             &b->n2w, &b->n2b, &b->fc1w, &b->fc1b, &b->fc2w, &b->fc2b, &b->kc, &b->vc};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) hart_tensor_free(ts[i]);
    }
    free(m->blocks);
    hart_tensor *ts[] = {&m->lnzw, &m->lnzb, &m->normw, &m->normb, &m->headw};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) hart_tensor_free(ts[i]);
    free(m->class_emb); free(m->token_emb); free(m->fake_latent); free(m->mask_token); free(m->pos_embed);
    free(m->labels); free(m->orders); free(m->g); free(m->cs);
    free(m);
}
