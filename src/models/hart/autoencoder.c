/* HART autoencoder: config parsing, weight loading (every shape derived from
 * config.json and checked), free. Forward passes live in autoencoder_net.c and the
 * quantizer in autoencoder_quant.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checkpoint.h"
#include "models/hart/autoencoder_internal.h"

typedef struct {
    hart_vae *v;
    hart_checkpoint *ck;
    const char *prefix; /* "vae." or "" */
} loader;

/* Copy a checkpoint tensor to the backend. Small vectors become F32; conv
 * weights (to_f32 = 0) get the backend's weight dtype (hart_weight_to). */
static hart_status fetch(loader *L, hart_tensor *dst, int to_f32, int ndim, const int64_t *shape,
                         const char *name) {
    char full[512];
    snprintf(full, sizeof full, "%s%s", L->prefix, name);
    hart_tensor host;
    HART_TRY(hart_ckpt_get(L->ck, full, ndim, shape, &host));
    if (host.dtype != HART_F32 && host.dtype != HART_F16 && host.dtype != HART_BF16)
        return hart_fail(HART_EFORMAT, "%s: tensor '%s' has dtype %s (expected a float type)", L->ck->dir, full,
                         hart_dtype_name(host.dtype));
    if (!to_f32 || host.dtype == HART_F32) { /* !to_f32: a conv weight, in the backend's weight dtype */
        hart_status s = to_f32 ? hart_tensor_to(L->v->be, &host, dst) : hart_weight_to(L->v->be, &host, dst);
        hart_ckpt_release(L->ck, &host);
        return s;
    }
    int64_t n = hart_tensor_numel(&host);
    float *buf = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!buf) return hart_fail(HART_ENOMEM, "out of memory loading %s", full);
    hart_status s = hart_tensor_read_f32(&host, buf);
    hart_ckpt_release(L->ck, &host);
    if (!s) s = hart_tensor_new(L->v->be, HART_F32, ndim, shape, dst);
    if (!s) s = hart_tensor_write(dst, buf, sizeof(float) * (size_t)n);
    free(buf);
    return s;
}

static hart_status load_conv(loader *L, vae_conv *c, int co, int ci, int k, const char *name) {
    char nm[400];
    c->k = k;
    snprintf(nm, sizeof nm, "%s.weight", name);
    HART_TRY(fetch(L, &c->w, 0, 4, (int64_t[]){co, ci, k, k}, nm));
    snprintf(nm, sizeof nm, "%s.bias", name);
    return fetch(L, &c->b, 1, 1, (int64_t[]){co}, nm);
}

static hart_status load_gn(loader *L, vae_gn *g, int c, const char *name) {
    char nm[400];
    if (c % VAE_GN_GROUPS)
        return hart_fail(HART_EUNSUPPORTED, "%s: %d channels at '%s' are not divisible by the %d groups of the reference's GroupNorm",
                         L->ck->dir, c, name, VAE_GN_GROUPS);
    snprintf(nm, sizeof nm, "%s.weight", name);
    HART_TRY(fetch(L, &g->g, 1, 1, (int64_t[]){c}, nm));
    snprintf(nm, sizeof nm, "%s.bias", name);
    return fetch(L, &g->b, 1, 1, (int64_t[]){c}, nm);
}

static hart_status load_res(loader *L, vae_res *r, int cin, int cout, const char *name) {
    char nm[400];
    r->cin = cin, r->cout = cout, r->has_nin = cin != cout;
    snprintf(nm, sizeof nm, "%s.norm1", name);
    HART_TRY(load_gn(L, &r->n1, cin, nm));
    snprintf(nm, sizeof nm, "%s.conv1", name);
    HART_TRY(load_conv(L, &r->c1, cout, cin, 3, nm));
    snprintf(nm, sizeof nm, "%s.norm2", name);
    HART_TRY(load_gn(L, &r->n2, cout, nm));
    snprintf(nm, sizeof nm, "%s.conv2", name);
    HART_TRY(load_conv(L, &r->c2, cout, cout, 3, nm));
    if (r->has_nin) {
        snprintf(nm, sizeof nm, "%s.nin_shortcut", name);
        HART_TRY(load_conv(L, &r->nin, cout, cin, 1, nm));
    }
    return HART_OK;
}

static hart_status load_attn(loader *L, vae_attn *a, int c, const char *name) {
    char nm[400];
    a->c = c;
    snprintf(nm, sizeof nm, "%s.norm", name);
    HART_TRY(load_gn(L, &a->n, c, nm));
    snprintf(nm, sizeof nm, "%s.qkv", name);
    HART_TRY(load_conv(L, &a->qkv, 3 * c, c, 1, nm));
    snprintf(nm, sizeof nm, "%s.proj_out", name);
    return load_conv(L, &a->proj, c, c, 1, nm);
}

static hart_status alloc_level(vae_level *lv, int nblk, int nattn) {
    lv->nblk = nblk, lv->nattn = nattn;
    lv->blk = calloc((size_t)nblk, sizeof *lv->blk);
    lv->attn = calloc((size_t)(nattn ? nattn : 1), sizeof *lv->attn);
    if (!lv->blk || !lv->attn) return hart_fail(HART_ENOMEM, "out of memory");
    return HART_OK;
}

static hart_status load_encoder(loader *L) {
    hart_vae *v = L->v;
    vae_coder *e = &v->enc;
    char nm[400];
    int z = v->info.z_channels, nl = v->n_mult, ch = v->ch;
    e->nlv = nl;
    HART_TRY(load_conv(L, &e->conv_in, ch, 3, 3, "encoder.conv_in"));
    int block_in = ch;
    for (int i = 0; i < nl; i++) {
        vae_level *lv = &e->lv[i];
        int last = i == nl - 1;
        HART_TRY(alloc_level(lv, v->num_res_blocks, last ? v->num_res_blocks : 0));
        block_in = ch * (i == 0 ? 1 : v->ch_mult[i - 1]);
        int block_out = ch * v->ch_mult[i];
        for (int b = 0; b < lv->nblk; b++) {
            snprintf(nm, sizeof nm, "encoder.down.%d.block.%d", i, b);
            HART_TRY(load_res(L, &lv->blk[b], block_in, block_out, nm));
            block_in = block_out;
            if (last) {
                snprintf(nm, sizeof nm, "encoder.down.%d.attn.%d", i, b);
                HART_TRY(load_attn(L, &lv->attn[b], block_in, nm));
            }
        }
        if (!last) {
            lv->has_resample = 1;
            snprintf(nm, sizeof nm, "encoder.down.%d.downsample.conv", i);
            HART_TRY(load_conv(L, &lv->resample, block_in, block_in, 3, nm));
        }
    }
    HART_TRY(load_res(L, &e->mid1, block_in, block_in, "encoder.mid.block_1"));
    HART_TRY(load_attn(L, &e->mid_attn, block_in, "encoder.mid.attn_1"));
    HART_TRY(load_res(L, &e->mid2, block_in, block_in, "encoder.mid.block_2"));
    HART_TRY(load_gn(L, &e->norm_out, block_in, "encoder.norm_out"));
    return load_conv(L, &e->conv_out, z, block_in, 3, "encoder.conv_out");
}

static hart_status load_decoder(loader *L) {
    hart_vae *v = L->v;
    vae_coder *d = &v->dec;
    char nm[400];
    int z = v->info.z_channels, nl = v->n_mult, ch = v->ch;
    d->nlv = nl;
    int block_in = ch * v->ch_mult[nl - 1];
    HART_TRY(load_conv(L, &d->conv_in, block_in, z, 3, "decoder.conv_in"));
    HART_TRY(load_res(L, &d->mid1, block_in, block_in, "decoder.mid.block_1"));
    HART_TRY(load_attn(L, &d->mid_attn, block_in, "decoder.mid.attn_1"));
    HART_TRY(load_res(L, &d->mid2, block_in, block_in, "decoder.mid.block_2"));
    for (int i = nl - 1; i >= 0; i--) {
        vae_level *lv = &d->lv[i];
        int last = i == nl - 1;
        HART_TRY(alloc_level(lv, v->num_res_blocks + 1, last ? v->num_res_blocks + 1 : 0));
        int block_out = ch * v->ch_mult[i];
        for (int b = 0; b < lv->nblk; b++) {
            snprintf(nm, sizeof nm, "decoder.up.%d.block.%d", i, b);
            HART_TRY(load_res(L, &lv->blk[b], block_in, block_out, nm));
            block_in = block_out;
            if (last) {
                snprintf(nm, sizeof nm, "decoder.up.%d.attn.%d", i, b);
                HART_TRY(load_attn(L, &lv->attn[b], block_in, nm));
            }
        }
        if (i != 0) {
            lv->has_resample = 1;
            snprintf(nm, sizeof nm, "decoder.up.%d.upsample.conv", i);
            HART_TRY(load_conv(L, &lv->resample, block_in, block_in, 3, nm));
        }
    }
    HART_TRY(load_gn(L, &d->norm_out, block_in, "decoder.norm_out"));
    return load_conv(L, &d->conv_out, 3, block_in, 3, "decoder.conv_out");
}

/* numpy.linspace(start, stop, num) as numpy computes it. */
static void linspace(double start, double stop, int num, double *out) {
    if (num == 1) { out[0] = start; return; }
    double step = (stop - start) / (num - 1);
    for (int i = 0; i < num; i++) out[i] = (double)i * step + start;
    out[num - 1] = stop;
}

int hart_vae_phi_pick(int K, int share, int si, int S) {
    if (share == 1 || K <= 1) return 0;
    double ticks[64];
    if (K > 64) K = 64;
    if (K == 4) linspace(1.0 / 3 / K, 1 - 1.0 / 3 / K, K, ticks);
    else linspace(1.0 / 2 / K, 1 - 1.0 / 2 / K, K, ticks);
    double at = (double)si / (double)(S - 1);
    int best = 0;
    for (int i = 1; i < K; i++)
        if (fabs(ticks[i] - at) < fabs(ticks[best] - at)) best = i;
    return best;
}

static hart_status load_quantizer(loader *L, const cJSON *cfg) {
    hart_vae *v = L->v;
    int z = v->info.z_channels, V = v->info.vocab_size, S = v->info.n_scales;
    double qr;
    int64_t share, dflt_cnt;
    HART_TRY(hart_cfg_num_or(cfg, "quant_resi", 0.5, &qr));
    HART_TRY(hart_cfg_int_or(cfg, "share_quant_resi", 4, &share));
    HART_TRY(hart_cfg_int_or(cfg, "default_qresi_counts", 0, &dflt_cnt));
    if (share < 0 || share > 64 || dflt_cnt < 0 || dflt_cnt > 64)
        return hart_fail(HART_EUNSUPPORTED, "%s/config.json: share_quant_resi %lld / default_qresi_counts %lld out of range",
                         L->ck->dir, (long long)share, (long long)dflt_cnt);

    HART_TRY(fetch(L, &v->codebook, 1, 2, (int64_t[]){V, z}, "quantize.embedding.weight"));
    v->cb_host = malloc(sizeof(float) * (size_t)V * (size_t)z);
    v->cb_sq = malloc(sizeof(float) * (size_t)V);
    if (!v->cb_host || !v->cb_sq) return hart_fail(HART_ENOMEM, "out of memory (codebook)");
    HART_TRY(hart_tensor_read(&v->codebook, v->cb_host, sizeof(float) * (size_t)V * (size_t)z));
    for (int i = 0; i < V; i++) {
        double s = 0;
        for (int c = 0; c < z; c++) {
            float e = v->cb_host[(size_t)i * z + c];
            s += (double)(e * e);
        }
        v->cb_sq[i] = (float)s;
    }

    v->resi_ratio = (float)fabs(qr);
    int K = share == 0 ? (int)(dflt_cnt ? dflt_cnt : S) : share == 1 ? 1 : (int)share;
    if (fabs(qr) <= 1e-6) { /* every phi is the identity: no weights */
        v->n_phi = 0;
        for (int si = 0; si < S; si++) v->phi_of_scale[si] = -1;
        return HART_OK;
    }
    v->n_phi = K;
    v->phi = calloc((size_t)K, sizeof *v->phi);
    if (!v->phi) return hart_fail(HART_ENOMEM, "out of memory");
    for (int i = 0; i < K; i++) {
        char nm[128];
        if (share == 0) snprintf(nm, sizeof nm, "quantize.quant_resi.%d", i);
        else if (share == 1) snprintf(nm, sizeof nm, "quantize.quant_resi.qresi");
        else snprintf(nm, sizeof nm, "quantize.quant_resi.qresi_ls.%d", i);
        HART_TRY(load_conv(L, &v->phi[i], z, z, 3, nm));
    }
    for (int si = 0; si < S; si++) v->phi_of_scale[si] = hart_vae_phi_pick(K, (int)share, si, S);
    return HART_OK;
}

static hart_status parse_config(hart_vae *v, const hart_checkpoint *ck) {
    const cJSON *cfg = ck->config;
    const char *dir = ck->dir;
    const char *mt, *qt;
    HART_TRY(hart_cfg_str_or(cfg, "model_type", NULL, &mt));
    if (mt && strcmp(mt, "hart_autoencoder") && strcmp(mt, "hart_autoencoder_with_disc"))
        return hart_fail(HART_EUNSUPPORTED, "%s/config.json: model_type '%s' is not a HART autoencoder "
                         "(expected hart_autoencoder or hart_autoencoder_with_disc)", dir, mt);
    int64_t ch, z, V, nrb, qks, arr[HART_MAX_SCALES + 1];
    int n;
    HART_TRY(hart_cfg_int(cfg, "ch", &ch));
    HART_TRY(hart_cfg_int(cfg, "z_channels", &z));
    HART_TRY(hart_cfg_int(cfg, "vocab_size", &V));
    HART_TRY(hart_cfg_int_or(cfg, "num_res_blocks", 2, &nrb));
    HART_TRY(hart_cfg_int_or(cfg, "quant_conv_ks", 3, &qks));
    if (ch < 1 || ch > 65536 || z < 1 || z > 65536 || V < 1 || V > (1 << 24) || nrb < 1 || nrb > 64)
        return hart_fail(HART_EUNSUPPORTED, "%s/config.json: ch %lld, z_channels %lld, vocab_size %lld, num_res_blocks %lld: "
                         "out of the supported range", dir, (long long)ch, (long long)z, (long long)V, (long long)nrb);
    if (qks < 1 || qks > 15 || qks % 2 == 0)
        return hart_fail(HART_EUNSUPPORTED, "%s/config.json: quant_conv_ks %lld must be odd (1..15)", dir, (long long)qks);
    HART_TRY(hart_cfg_int_array(cfg, "ch_mult", arr, VAE_MAX_LEVELS, &n));
    if (n < 1) return hart_fail(HART_EUNSUPPORTED, "%s/config.json: ch_mult is empty", dir);
    for (int i = 0; i < n; i++) {
        if (arr[i] < 1 || arr[i] * ch > 65536)
            return hart_fail(HART_EUNSUPPORTED, "%s/config.json: ch_mult[%d] = %lld is not supported", dir, i, (long long)arr[i]);
        v->ch_mult[i] = (int)arr[i];
    }
    v->n_mult = n;
    for (int i = -1; i < n; i++) { /* every GroupNorm(32) width: ch and ch·ch_mult[i] */
        int64_t w = ch * (i < 0 ? 1 : v->ch_mult[i]);
        if (w % VAE_GN_GROUPS)
            return hart_fail(HART_EUNSUPPORTED, "%s/config.json: width %lld (ch %lld x %s) is not divisible by the %d groups of the "
                             "reference's GroupNorm", dir, (long long)w, (long long)ch, i < 0 ? "1" : "ch_mult", VAE_GN_GROUPS);
    }
    HART_TRY(hart_cfg_int_array(cfg, "v_patch_nums", arr, HART_MAX_SCALES, &n));
    if (n < 2) return hart_fail(HART_EUNSUPPORTED, "%s/config.json: v_patch_nums needs at least 2 scales (has %d)", dir, n);
    for (int i = 0; i < n; i++) {
        if (arr[i] < 1 || arr[i] > 4096)
            return hart_fail(HART_EUNSUPPORTED, "%s/config.json: v_patch_nums[%d] = %lld is not supported", dir, i, (long long)arr[i]);
        v->info.patch_nums[i] = (int)arr[i];
    }
    for (int i = 0; i < n - 1; i++)
        if (arr[i] > arr[n - 1])
            return hart_fail(HART_EUNSUPPORTED, "%s/config.json: v_patch_nums[%d] = %lld exceeds the last scale %lld",
                             dir, i, (long long)arr[i], (long long)arr[n - 1]);
    v->info.n_scales = n;
    v->info.latent_hw = (int)arr[n - 1];
    v->info.z_channels = (int)z;
    v->info.vocab_size = (int)V;
    v->info.downsample = 1 << (v->n_mult - 1);
    v->ch = (int)ch;
    v->num_res_blocks = (int)nrb;
    v->quant_ks = (int)qks;
    HART_TRY(hart_cfg_str_or(cfg, "quantizer_type", "var", &qt));
    if (!strcmp(qt, "var_hybrid")) v->hybrid = 1;
    else if (!strcmp(qt, "var")) v->hybrid = 0;
    else return hart_fail(HART_EUNSUPPORTED, "%s/config.json: quantizer_type '%s' is not supported (var_hybrid or var)", dir, qt);
    HART_TRY(hart_cfg_bool_or(cfg, "using_znorm", 0, &v->znorm));
    return HART_OK;
}

hart_status hart_vae_load(hart_backend *be, const char *dir, hart_vae **out) {
    *out = NULL;
    if (!dir) return hart_fail(HART_EINVAL, "hart_vae_load: no tokenizer folder given");
    hart_vae *v = calloc(1, sizeof *v);
    if (!v) return hart_fail(HART_ENOMEM, "out of memory");
    v->be = be ? be : hart_backend_cpu();
    hart_checkpoint ck;
    memset(&ck, 0, sizeof ck);
    hart_status s = hart_ckpt_open(dir, "config.json", NULL, &ck);
    if (s) { free(v); return s; }
    loader L = {v, &ck, hart_ckpt_has(&ck, "vae.quant_conv.weight") ? "vae." : ""};
    s = parse_config(v, &ck);
    if (!s) s = load_encoder(&L);
    if (!s) s = load_decoder(&L);
    if (!s) s = load_conv(&L, &v->quant_conv, v->info.z_channels, v->info.z_channels, v->quant_ks, "quant_conv");
    if (!s) s = load_conv(&L, &v->post_quant_conv, v->info.z_channels, v->info.z_channels, v->quant_ks, "post_quant_conv");
    if (!s) s = load_quantizer(&L, ck.config);
    hart_ckpt_close(&ck);
    if (s) {
        hart_vae_free(v);
        return hart_fail_ctx(s, "loading HART autoencoder from %s", dir);
    }
    *out = v;
    return HART_OK;
}

static void free_conv(vae_conv *c) { hart_tensor_free(&c->w); hart_tensor_free(&c->b); }
static void free_gn(vae_gn *g) { hart_tensor_free(&g->g); hart_tensor_free(&g->b); }
static void free_res(vae_res *r) {
    free_gn(&r->n1); free_gn(&r->n2); free_conv(&r->c1); free_conv(&r->c2); free_conv(&r->nin);
}
static void free_attn(vae_attn *a) { free_gn(&a->n); free_conv(&a->qkv); free_conv(&a->proj); }
static void free_coder(vae_coder *c) {
    free_conv(&c->conv_in); free_conv(&c->conv_out);
    for (int i = 0; i < c->nlv; i++) {
        vae_level *lv = &c->lv[i];
        if (lv->blk) for (int b = 0; b < lv->nblk; b++) free_res(&lv->blk[b]);
        if (lv->attn) for (int b = 0; b < lv->nattn; b++) free_attn(&lv->attn[b]);
        free(lv->blk); free(lv->attn);
        free_conv(&lv->resample);
    }
    free_res(&c->mid1); free_res(&c->mid2); free_attn(&c->mid_attn); free_gn(&c->norm_out);
}

void hart_vae_free(hart_vae *v) {
    if (!v) return;
    free_coder(&v->enc);
    free_coder(&v->dec);
    free_conv(&v->quant_conv);
    free_conv(&v->post_quant_conv);
    hart_tensor_free(&v->codebook);
    free(v->cb_host);
    free(v->cb_sq);
    if (v->phi) for (int i = 0; i < v->n_phi; i++) free_conv(&v->phi[i]);
    free(v->phi);
    free(v);
}

const hart_vae_info *hart_vae_get_info(const hart_vae *v) { return v ? &v->info : NULL; }
