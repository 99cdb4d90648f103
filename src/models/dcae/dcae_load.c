/* DC-AE weights: builds the flat layer program of the encoder and decoder
 * from the architecture and loads every tensor (original efficientvit naming
 * or diffusers AutoencoderDC naming), checking names and shapes. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/dcae/dcae_internal.h"

typedef struct {
    hart_backend *be;
    const hart_checkpoint *ck; /* NULL: random weights (benchmarks) */
    uint64_t rng;
    int dif;
    char **used;
    int n_used, cap;
} ld_t;

static const char *ckdir(const ld_t *L) { return L->ck ? L->ck->dir : "(random weights)"; }

static hart_status mark_used(ld_t *L, const char *name) {
    if (L->n_used == L->cap) {
        int nc = L->cap ? 2 * L->cap : 256;
        char **nu = realloc(L->used, sizeof(char *) * (size_t)nc);
        if (!nu) return hart_fail(HART_ENOMEM, "out of memory");
        L->used = nu;
        L->cap = nc;
    }
    L->used[L->n_used] = strdup(name);
    if (!L->used[L->n_used]) return hart_fail(HART_ENOMEM, "out of memory");
    L->n_used++;
    return HART_OK;
}

/* tensor `name` with shape -> new f32 host buffer */
/* deterministic random weights: U(-a, a) with a = 1/sqrt(fan-in) for
 * weights, norm scales near 1, small biases, positive variances */
static hart_status ld_random(ld_t *L, const char *name, int ndim, const int64_t *shape, float **out) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    float *buf = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!buf) return hart_fail(HART_ENOMEM, "out of memory creating '%s'", name);
    int64_t fan = ndim > 1 ? n / shape[0] : 1;
    size_t len = strlen(name);
    int is_var = len >= 11 && !strcmp(name + len - 11, "running_var");
    int is_w1 = ndim == 1 && len >= 6 && !strcmp(name + len - 6, "weight");
    float a = ndim > 1 ? 1.0f / sqrtf((float)fan) : 0.1f;
    for (int64_t i = 0; i < n; i++) {
        L->rng = L->rng * 6364136223846793005ull + 1442695040888963407ull;
        float u = (float)((L->rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
        buf[i] = is_var ? 1.0f + 0.5f * fabsf(u) : is_w1 ? 1.0f + 0.1f * u : a * u;
    }
    *out = buf;
    return HART_OK;
}

static hart_status ld_host(ld_t *L, const char *name, int ndim, const int64_t *shape, float **out) {
    if (!L->ck) return ld_random(L, name, ndim, shape, out);
    hart_tensor t;
    HART_TRY(hart_ckpt_get(L->ck, name, ndim, shape, &t));
    if (t.dtype != HART_F32 && t.dtype != HART_F16 && t.dtype != HART_BF16)
        return hart_fail(HART_EFORMAT, "%s: tensor '%s' has dtype %s (expected a float type)", ckdir(L), name,
                         hart_dtype_name(t.dtype));
    int64_t n = hart_tensor_numel(&t);
    float *buf = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!buf) return hart_fail(HART_ENOMEM, "out of memory loading '%s'", name);
    hart_status s = hart_tensor_read_f32(&t, buf);
    hart_ckpt_release(L->ck, &t);
    if (!s) s = mark_used(L, name);
    if (s) { free(buf); return s; }
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(buf[i])) {
            free(buf);
            return hart_fail(HART_EFORMAT, "%s: tensor '%s' holds a non-finite value at %lld", ckdir(L), name, (long long)i);
        }
    *out = buf;
    return HART_OK;
}

static hart_status upload(ld_t *L, float *host, int ndim, const int64_t *shape, hart_tensor *out) {
    hart_tensor h = hart_tensor_wrap(host, HART_F32, ndim, shape);
    hart_status s = hart_tensor_to(L->be, &h, out);
    free(host);
    return s;
}

/* A convolution weight, in the backend's weight dtype (hart_weight_to). */
static hart_status upload_w(ld_t *L, float *host, int ndim, const int64_t *shape, hart_tensor *out) {
    hart_tensor h = hart_tensor_wrap(host, HART_F32, ndim, shape);
    hart_status s = hart_weight_to(L->be, &h, out);
    free(host);
    return s;
}

static hart_status ld_get(ld_t *L, const char *name, int ndim, const int64_t *shape, hart_tensor *out) {
    float *h;
    HART_TRY(ld_host(L, name, ndim, shape, &h));
    return upload(L, h, ndim, shape, out);
}

static const char *cat(char *buf, size_t n, const char *a, const char *b) {
    snprintf(buf, n, "%s%s", a, b);
    return buf;
}

/* conv weights under prefix (prefix + "weight"/"bias"). lin2d: diffusers
 * stores this 1x1 conv as a Linear [cout, cin]. */
static hart_status ld_conv(ld_t *L, dcae_conv *c, int cin, int cout, int k, int stride, int groups, int has_b,
                           const char *oprefix, const char *dprefix, int lin2d) {
    memset(c, 0, sizeof *c);
    c->cin = cin; c->cout = cout; c->k = k; c->stride = stride; c->groups = groups; c->has_b = has_b;
    c->pad = k / 2;
    if (groups < 1 || cin % groups || cout % groups)
        return hart_fail(HART_EMISMATCH, "%s: conv %sweight: %d groups do not divide %d -> %d channels", ckdir(L),
                         L->dif ? dprefix : oprefix, groups, cin, cout);
    const char *pre = L->dif ? dprefix : oprefix;
    char nm[512];
    int64_t ws[4] = {cout, cin / groups, k, k};
    if (L->dif && lin2d) {
        float *h;
        HART_TRY(ld_host(L, cat(nm, sizeof nm, pre, "weight"), 2, (int64_t[]){cout, cin}, &h));
        HART_TRY(upload_w(L, h, 4, ws, &c->w));
    } else {
        float *h;
        HART_TRY(ld_host(L, cat(nm, sizeof nm, pre, "weight"), 4, ws, &h));
        HART_TRY(upload_w(L, h, 4, ws, &c->w));
    }
    if (has_b) HART_TRY(ld_get(L, cat(nm, sizeof nm, pre, "bias"), 1, (int64_t[]){cout}, &c->b));
    return HART_OK;
}

static hart_status ld_norm(ld_t *L, dcae_norm *n, dcae_norm_t kind, int c, const char *oprefix, const char *dprefix) {
    memset(n, 0, sizeof *n);
    n->kind = kind; n->c = c; n->eps = 1e-5f;
    if (kind == DN_NONE) return HART_OK;
    const char *pre = L->dif ? dprefix : oprefix;
    char nm[512];
    int64_t s1[1] = {c};
    if (kind == DN_BN2D) {
        float *w, *b, *m, *v;
        HART_TRY(ld_host(L, cat(nm, sizeof nm, pre, "weight"), 1, s1, &w));
        hart_status s = ld_host(L, cat(nm, sizeof nm, pre, "bias"), 1, s1, &b);
        if (s) { free(w); return s; }
        s = ld_host(L, cat(nm, sizeof nm, pre, "running_mean"), 1, s1, &m);
        if (s) { free(w); free(b); return s; }
        s = ld_host(L, cat(nm, sizeof nm, pre, "running_var"), 1, s1, &v);
        if (s) { free(w); free(b); free(m); return s; }
        for (int i = 0; i < c; i++) { /* y = (x - m) / sqrt(v + eps) * w + b = x * sc + sh */
            float sc = w[i] / sqrtf(v[i] + n->eps);
            w[i] = sc;
            b[i] = b[i] - m[i] * sc;
        }
        free(m); free(v);
        int64_t s3[3] = {c, 1, 1};
        s = upload(L, w, 3, s3, &n->w);
        if (s) { free(b); return s; }
        return upload(L, b, 3, s3, &n->b);
    }
    HART_TRY(ld_get(L, cat(nm, sizeof nm, pre, "weight"), 1, s1, &n->w));
    return ld_get(L, cat(nm, sizeof nm, pre, "bias"), 1, s1, &n->b);
}

static hart_status net_push(dcae_net *n, dcae_layer **out) {
    dcae_layer *nl = realloc(n->layers, sizeof(dcae_layer) * (size_t)(n->n + 1));
    if (!nl) return hart_fail(HART_ENOMEM, "out of memory");
    n->layers = nl;
    memset(&nl[n->n], 0, sizeof nl[0]);
    *out = &nl[n->n++];
    return HART_OK;
}

static hart_status ld_res(ld_t *L, dcae_block *b, int c, dcae_norm_t norm, dcae_act_t act, const char *op,
                          const char *dp) {
    char o[512], d[512];
    b->type = DB_RES; b->c = c; b->act = act;
    snprintf(o, sizeof o, "%smain.conv1.conv.", op); snprintf(d, sizeof d, "%sconv1.", dp);
    HART_TRY(ld_conv(L, &b->c1, c, c, 3, 1, 1, 1, o, d, 0));
    snprintf(o, sizeof o, "%smain.conv2.conv.", op); snprintf(d, sizeof d, "%sconv2.", dp);
    HART_TRY(ld_conv(L, &b->c2, c, c, 3, 1, 1, 0, o, d, 0));
    snprintf(o, sizeof o, "%smain.conv2.norm.", op); snprintf(d, sizeof d, "%snorm.", dp);
    return ld_norm(L, &b->n2, norm, c, o, d);
}

static hart_status ld_evit(ld_t *L, dcae_block *b, int c, dcae_norm_t norm, dcae_act_t act, int head_dim, int ns,
                           const int *scales, const char *op, const char *dp) {
    char o[512], d[512];
    b->type = DB_EVIT; b->c = c; b->act = act;
    b->dim = head_dim;
    b->heads = c / head_dim;
    b->n_scales = ns;
    if (b->heads < 1)
        return hart_fail(HART_EMISMATCH, "%s: EfficientViT block %s has %d channels, fewer than the head dim %d", ckdir(L),
                         L->dif ? dp : op, c, head_dim);
    int T = b->heads * head_dim;
    if (L->dif) { /* to_q/to_k/to_v Linear [T, C] -> qkv conv [3T, C, 1, 1] */
        float *part[3];
        const char *nms[3] = {"to_q", "to_k", "to_v"};
        for (int i = 0; i < 3; i++) {
            snprintf(d, sizeof d, "%sattn.%s.weight", dp, nms[i]);
            hart_status s = ld_host(L, d, 2, (int64_t[]){T, c}, &part[i]);
            if (s) { for (int j = 0; j < i; j++) free(part[j]); return s; }
        }
        float *all = malloc(sizeof(float) * 3 * (size_t)T * (size_t)c);
        if (all)
            for (int i = 0; i < 3; i++) memcpy(all + (size_t)i * T * c, part[i], sizeof(float) * (size_t)T * c);
        for (int i = 0; i < 3; i++) free(part[i]);
        if (!all) return hart_fail(HART_ENOMEM, "out of memory");
        memset(&b->qkv, 0, sizeof b->qkv);
        b->qkv.cin = c; b->qkv.cout = 3 * T; b->qkv.k = 1; b->qkv.stride = 1; b->qkv.groups = 1;
        HART_TRY(upload_w(L, all, 4, (int64_t[]){3 * T, c, 1, 1}, &b->qkv.w));
    } else {
        snprintf(o, sizeof o, "%scontext_module.main.qkv.conv.", op);
        HART_TRY(ld_conv(L, &b->qkv, c, 3 * T, 1, 1, 1, 0, o, "", 0));
    }
    for (int i = 0; i < ns; i++) {
        snprintf(o, sizeof o, "%scontext_module.main.aggreg.%d.0.", op, i);
        snprintf(d, sizeof d, "%sattn.to_qkv_multiscale.%d.proj_in.", dp, i);
        HART_TRY(ld_conv(L, &b->agg_dw[i], 3 * T, 3 * T, scales[i], 1, 3 * T, 0, o, d, 0));
        snprintf(o, sizeof o, "%scontext_module.main.aggreg.%d.1.", op, i);
        snprintf(d, sizeof d, "%sattn.to_qkv_multiscale.%d.proj_out.", dp, i);
        HART_TRY(ld_conv(L, &b->agg_pw[i], 3 * T, 3 * T, 1, 1, 3 * b->heads, 0, o, d, 0));
    }
    snprintf(o, sizeof o, "%scontext_module.main.proj.conv.", op); snprintf(d, sizeof d, "%sattn.to_out.", dp);
    HART_TRY(ld_conv(L, &b->proj, T * (1 + ns), c, 1, 1, 1, 0, o, d, 1));
    snprintf(o, sizeof o, "%scontext_module.main.proj.norm.", op); snprintf(d, sizeof d, "%sattn.norm_out.", dp);
    HART_TRY(ld_norm(L, &b->proj_norm, norm, c, o, d));
    int M = 4 * c; /* expand_ratio 4 */
    if (L->dif) b->act = DA_SILU; /* diffusers' GLUMBConv: SiLU and RMS norm always */
    snprintf(o, sizeof o, "%slocal_module.main.inverted_conv.conv.", op); snprintf(d, sizeof d, "%sconv_out.conv_inverted.", dp);
    HART_TRY(ld_conv(L, &b->inv, c, 2 * M, 1, 1, 1, 1, o, d, 0));
    snprintf(o, sizeof o, "%slocal_module.main.depth_conv.conv.", op); snprintf(d, sizeof d, "%sconv_out.conv_depth.", dp);
    HART_TRY(ld_conv(L, &b->dw, 2 * M, 2 * M, 3, 1, 2 * M, 1, o, d, 0));
    snprintf(o, sizeof o, "%slocal_module.main.point_conv.conv.", op); snprintf(d, sizeof d, "%sconv_out.conv_point.", dp);
    HART_TRY(ld_conv(L, &b->pw, M, c, 1, 1, 1, 0, o, d, 0));
    snprintf(o, sizeof o, "%slocal_module.main.point_conv.norm.", op); snprintf(d, sizeof d, "%sconv_out.norm.", dp);
    return ld_norm(L, &b->pw_norm, L->dif ? DN_TRMS2D : norm, c, o, d);
}

/* a resampling/projection conv; conv weight at oprefix/dprefix + "weight" */
static hart_status ld_sampler(ld_t *L, dcae_sampler *s, dcae_samp_t kind, int cin, int cout, dcae_shortcut_t sc,
                              int factor, const char *op, const char *dp) {
    s->kind = kind; s->cin = cin; s->cout = cout; s->shortcut = sc; s->factor = factor;
    const char *where = L->dif ? dp : op;
    if (kind == DS_CONV_UNSHUF && cout % 4)
        return hart_fail(HART_EMISMATCH, "%s: %s: ConvPixelUnshuffle output %d is not a multiple of 4", ckdir(L), where, cout);
    if (sc == DSC_AVG && (cin * factor * factor) % cout)
        return hart_fail(HART_EMISMATCH, "%s: %s: averaging shortcut needs %d·%d² divisible by %d", ckdir(L), where, cin, factor, cout);
    if (sc == DSC_DUP && (cout * factor * factor) % cin)
        return hart_fail(HART_EMISMATCH, "%s: %s: duplicating shortcut needs %d·%d² divisible by %d", ckdir(L), where, cout, factor, cin);
    int co = kind == DS_CONV_UNSHUF ? cout / 4 : kind == DS_CONV_SHUF ? cout * 4 : cout;
    return ld_conv(L, &s->conv, cin, co, 3, kind == DS_CONV_S2 ? 2 : 1, 1, 1, op, dp, 0);
}

static const char *conv_sub(dcae_samp_t k) { return (k == DS_CONV || k == DS_CONV_S2) ? "conv." : "conv.conv."; }

static hart_status check_width(ld_t *L, const char *side, int s, int have, int want) {
    if (have != want)
        return hart_fail(HART_EMISMATCH, "%s: %s stage %d receives %d channels but its blocks have width %d "
                         "(inconsistent width_list / match_channel)", ckdir(L), side, s, have, want);
    return HART_OK;
}

static hart_status build_encoder(ld_t *L, const dcae_side_cfg *c, dcae_net *net) {
    dcae_layer *ly;
    char o[512], d[512];
    int n = c->n_stages, ch;
    HART_TRY(net_push(net, &ly));
    if (c->depth[0] > 0) {
        ch = c->width[0];
        HART_TRY(ld_sampler(L, &ly->smp, DS_CONV, c->in_channels, ch, DSC_NONE, 1, "encoder.project_in.conv.",
                            "encoder.conv_in."));
    } else {
        ch = c->width[1];
        snprintf(o, sizeof o, "encoder.project_in.%s", conv_sub(c->sample));
        HART_TRY(ld_sampler(L, &ly->smp, c->sample, c->in_channels, ch, DSC_NONE, 2, o, "encoder.conv_in.conv."));
    }
    for (int s = 0; s < n; s++) {
        if (c->depth[s] > 0) HART_TRY(check_width(L, "encoder", s, ch, c->width[s]));
        for (int k = 0; k < c->depth[s]; k++) {
            HART_TRY(net_push(net, &ly));
            ly->is_block = 1;
            snprintf(o, sizeof o, "encoder.stages.%d.op_list.%d.", s, k);
            snprintf(d, sizeof d, "encoder.down_blocks.%d.%d.", s, k);
            if (c->block[s][k] == DB_RES) HART_TRY(ld_res(L, &ly->blk, ch, c->norm[s], c->act[s], o, d));
            else HART_TRY(ld_evit(L, &ly->blk, ch, c->norm[s], c->act[s], c->head_dim, c->n_scales[s][k], c->scales[s][k], o, d));
        }
        if (s < n - 1 && c->depth[s] > 0) {
            int co = c->match_channel ? c->width[s + 1] : c->width[s];
            HART_TRY(net_push(net, &ly));
            snprintf(o, sizeof o, "encoder.stages.%d.op_list.%d.%s%s", s, c->depth[s],
                     c->sample_shortcut ? "main." : "", conv_sub(c->sample));
            snprintf(d, sizeof d, "encoder.down_blocks.%d.%d.conv.", s, c->depth[s]);
            HART_TRY(ld_sampler(L, &ly->smp, c->sample, ch, co, c->sample_shortcut, 2, o, d));
            ch = co;
        }
    }
    HART_TRY(net_push(net, &ly));
    int lat = c->double_latent ? 2 * c->latent_channels : c->latent_channels;
    char base[128];
    snprintf(base, sizeof base, "encoder.project_out.%sop_list.", c->io_shortcut ? "main." : "");
    int idx = 0;
    snprintf(o, sizeof o, "%s%d.", base, idx);
    HART_TRY(ld_norm(L, &ly->smp.pre_norm, c->out_norm, ch, o, "encoder.norm_out."));
    if (c->out_norm) idx++;
    ly->smp.pre_act = c->out_act;
    if (c->out_act) idx++;
    snprintf(o, sizeof o, "%s%d.conv.", base, idx);
    return ld_sampler(L, &ly->smp, DS_CONV, ch, lat, c->io_shortcut, 1, o, "encoder.conv_out.");
}

static hart_status build_decoder(ld_t *L, const dcae_side_cfg *c, dcae_net *net) {
    dcae_layer *ly;
    char o[512], d[512];
    int n = c->n_stages, ch = c->width[n - 1];
    HART_TRY(net_push(net, &ly));
    snprintf(o, sizeof o, "decoder.project_in.%sconv.", c->io_shortcut ? "main." : "");
    HART_TRY(ld_sampler(L, &ly->smp, DS_CONV, c->latent_channels, ch, c->io_shortcut, 1, o, "decoder.conv_in."));
    for (int s = n - 1; s >= 0; s--) {
        int idx = 0;
        if (s < n - 1 && c->depth[s] > 0) {
            int co = c->match_channel ? c->width[s] : c->width[s + 1];
            HART_TRY(net_push(net, &ly));
            snprintf(o, sizeof o, "decoder.stages.%d.op_list.0.%sconv.conv.", s, c->sample_shortcut ? "main." : "");
            snprintf(d, sizeof d, "decoder.up_blocks.%d.0.conv.", s);
            HART_TRY(ld_sampler(L, &ly->smp, c->sample, ch, co, c->sample_shortcut, 2, o, d));
            ch = co;
            idx = 1;
        }
        if (c->depth[s] > 0) HART_TRY(check_width(L, "decoder", s, ch, c->width[s]));
        for (int k = 0; k < c->depth[s]; k++) {
            HART_TRY(net_push(net, &ly));
            ly->is_block = 1;
            snprintf(o, sizeof o, "decoder.stages.%d.op_list.%d.", s, idx + k);
            snprintf(d, sizeof d, "decoder.up_blocks.%d.%d.", s, idx + k);
            if (c->block[s][k] == DB_RES) HART_TRY(ld_res(L, &ly->blk, ch, c->norm[s], c->act[s], o, d));
            else HART_TRY(ld_evit(L, &ly->blk, ch, c->norm[s], c->act[s], c->head_dim, c->n_scales[s][k], c->scales[s][k], o, d));
        }
    }
    int want = c->depth[0] > 0 ? c->width[0] : c->width[1];
    if (ch != want)
        return hart_fail(HART_EMISMATCH, "%s: decoder output projection expects %d channels but the stages give %d", ckdir(L), want, ch);
    HART_TRY(net_push(net, &ly));
    int idx = 0;
    HART_TRY(ld_norm(L, &ly->smp.pre_norm, c->out_norm, ch, "decoder.project_out.op_list.0.", "decoder.norm_out."));
    if (c->out_norm) idx++;
    ly->smp.pre_act = c->out_act;
    if (c->out_act) idx++;
    if (c->depth[0] > 0) {
        snprintf(o, sizeof o, "decoder.project_out.op_list.%d.conv.", idx);
        return ld_sampler(L, &ly->smp, DS_CONV, ch, c->in_channels, DSC_NONE, 1, o, "decoder.conv_out.");
    }
    snprintf(o, sizeof o, "decoder.project_out.op_list.%d.conv.conv.", idx);
    return ld_sampler(L, &ly->smp, c->sample, ch, c->in_channels, DSC_NONE, 2, o, "decoder.conv_out.conv.");
}

static void conv_free(dcae_conv *c) { hart_tensor_free(&c->w); hart_tensor_free(&c->b); }
static void norm_free(dcae_norm *n) { hart_tensor_free(&n->w); hart_tensor_free(&n->b); }

void hart_dcae_net_free(dcae_net *n) {
    for (int i = 0; i < n->n; i++) {
        dcae_layer *l = &n->layers[i];
        if (l->is_block) {
            dcae_block *b = &l->blk;
            conv_free(&b->c1); conv_free(&b->c2); norm_free(&b->n2);
            conv_free(&b->qkv); conv_free(&b->proj); norm_free(&b->proj_norm);
            for (int k = 0; k < DCAE_MAX_SCALES; k++) { conv_free(&b->agg_dw[k]); conv_free(&b->agg_pw[k]); }
            conv_free(&b->inv); conv_free(&b->dw); conv_free(&b->pw); norm_free(&b->pw_norm);
        } else {
            conv_free(&l->smp.conv);
            norm_free(&l->smp.pre_norm);
        }
    }
    free(n->layers);
    n->layers = NULL;
    n->n = 0;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static hart_status check_unused(ld_t *L) {
    if (!L->ck) return HART_OK;
    for (int f = 0; f < L->ck->n_files; f++) {
        const hart_safetensors *st = &L->ck->files[f];
        for (int e = 0; e < st->n_entries; e++) {
            const char *nm = st->entries[e].name;
            if (strncmp(nm, "encoder.", 8) && strncmp(nm, "decoder.", 8)) continue;
            if (ends_with(nm, "num_batches_tracked")) continue;
            int found = 0;
            for (int i = 0; i < L->n_used && !found; i++) found = !strcmp(L->used[i], nm);
            if (!found)
                return hart_fail(HART_EMISMATCH, "%s: tensor '%s' is not part of the configured architecture "
                                 "(does the config match the weights?)", st->path, nm);
        }
    }
    return HART_OK;
}

hart_status hart_dcae_build(hart_backend *be, const hart_checkpoint *ck, const dcae_cfg *cfg, dcae_net *enc, dcae_net *dec,
                       uint64_t seed) {
    ld_t L = {.be = be, .ck = ck, .dif = ck ? cfg->diffusers : 0, .rng = seed * 2654435761ull + 12345};
    memset(enc, 0, sizeof *enc);
    memset(dec, 0, sizeof *dec);
    hart_status s = build_encoder(&L, &cfg->enc, enc);
    if (!s) s = build_decoder(&L, &cfg->dec, dec);
    if (!s) s = check_unused(&L);
    for (int i = 0; i < L.n_used; i++) free(L.used[i]);
    free(L.used);
    if (s) { hart_dcae_net_free(enc); hart_dcae_net_free(dec); }
    return s;
}
