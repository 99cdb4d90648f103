/* Qwen2 text encoder: loading and forward pass (see qwen2.h). */
#include "models/qwen2/qwen2.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "core/checkpoint.h"
#include "ops/ops.h"
#include "quant/qload.h"

/* ---- loading ---------------------------------------------------------- */

typedef struct {
    const hart_checkpoint *ck;
    const char *prefix;
    hart_backend *be;
} loader;

/* The embedding table, kept in its stored float dtype (not a GEMM weight). */
static hart_status ld_table(loader *ld, hart_tensor *out, int ndim, const int64_t *shape, const char *name) {
    char full[512];
    snprintf(full, sizeof full, "%s%s", ld->prefix, name);
    hart_tensor host;
    HART_TRY(hart_ckpt_get(ld->ck, full, ndim, shape, &host));
    hart_status s = hart_tensor_to(ld->be, &host, out);
    hart_ckpt_release(ld->ck, &host);
    return s;
}

/* Linear weight: float, quantized in the checkpoint, or quantized on load (quant/qload.h). */
static hart_status ld_lin(loader *ld, hart_tensor *out, int64_t N, int64_t K, const char *name) {
    char full[512];
    snprintf(full, sizeof full, "%s%s", ld->prefix, name);
    return hart_ckpt_get_linear(ld->ck, ld->be, full, N, K, 1, out);
}

/* Small vector converted to f32 (norm weights, biases). */
static hart_status ld_f32(loader *ld, hart_tensor *out, int64_t n, const char *name) {
    char full[512];
    snprintf(full, sizeof full, "%s%s", ld->prefix, name);
    hart_tensor host;
    HART_TRY(hart_ckpt_get(ld->ck, full, 1, &n, &host));
    if (host.dtype == HART_F32) return hart_tensor_to(ld->be, &host, out);
    hart_tensor tmp;
    HART_TRY(hart_tensor_new(NULL, HART_F32, 1, &n, &tmp));
    hart_status s = hart_tensor_read_f32(&host, (float *)tmp.data);
    if (!s) s = hart_tensor_to(ld->be, &tmp, out);
    hart_tensor_free(&tmp);
    return s;
}

/* Text part of the config: Qwen2-VL configs may nest it under "text_config". */
static const cJSON *text_cfg(const cJSON *root) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "text_config");
    if (cJSON_IsObject(t) && cJSON_GetObjectItemCaseSensitive(t, "hidden_size")) return t;
    return root;
}

static hart_status read_theta(const cJSON *c, const cJSON *root, const char *dir, double *theta) {
    const cJSON *srcs[2] = {c, root};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(srcs[i], "rope_theta");
        if (cJSON_IsNumber(v)) { *theta = v->valuedouble; return HART_OK; }
        const cJSON *rp = cJSON_GetObjectItemCaseSensitive(srcs[i], "rope_parameters");
        v = cJSON_GetObjectItemCaseSensitive(rp, "rope_theta");
        if (cJSON_IsNumber(v)) { *theta = v->valuedouble; return HART_OK; }
    }
    *theta = 10000.0; /* Qwen2Config default */
    (void)dir;
    return HART_OK;
}

static hart_status check_rope_type(const cJSON *c, const char *dir) {
    const char *keys[2] = {"rope_scaling", "rope_parameters"};
    for (int i = 0; i < 2; i++) {
        const cJSON *rp = cJSON_GetObjectItemCaseSensitive(c, keys[i]);
        if (!cJSON_IsObject(rp)) continue;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(rp, "rope_type");
        if (!cJSON_IsString(t)) t = cJSON_GetObjectItemCaseSensitive(rp, "type");
        if (!cJSON_IsString(t)) continue;
        /* mrope with text-only input uses the same position for all three
         * sections, which is exactly the default rotary embedding. */
        if (strcmp(t->valuestring, "default") && strcmp(t->valuestring, "mrope"))
            return hart_fail(HART_EUNSUPPORTED, "%s/config.json: %s.rope_type '%s' is not supported (default, mrope)",
                             dir, keys[i], t->valuestring);
    }
    return HART_OK;
}

static hart_status read_config(const hart_checkpoint *ck, const char *dir, hart_qwen2 *m) {
    if (!ck->config) return hart_fail(HART_EFORMAT, "%s: no config.json", dir);
    const cJSON *c = text_cfg(ck->config);
    HART_TRY(hart_cfg_int(c, "vocab_size", &m->vocab));
    HART_TRY(hart_cfg_int(c, "hidden_size", &m->hidden));
    HART_TRY(hart_cfg_int(c, "num_hidden_layers", &m->n_layers));
    HART_TRY(hart_cfg_int(c, "num_attention_heads", &m->n_heads));
    HART_TRY(hart_cfg_int_or(c, "num_key_value_heads", m->n_heads, &m->n_kv_heads));
    HART_TRY(hart_cfg_int(c, "intermediate_size", &m->inter));
    const cJSON *hd = cJSON_GetObjectItemCaseSensitive(c, "head_dim");
    m->head_dim = cJSON_IsNumber(hd) ? (int64_t)hd->valuedouble : (m->n_heads > 0 ? m->hidden / m->n_heads : 0);
    HART_TRY(hart_cfg_num_or(c, "rms_norm_eps", 1e-6, &m->eps));
    HART_TRY(read_theta(c, ck->config, dir, &m->rope_theta));
    HART_TRY(check_rope_type(c, dir));
    const char *act = NULL;
    HART_TRY(hart_cfg_str_or(c, "hidden_act", "silu", &act));
    if (strcmp(act, "silu"))
        return hart_fail(HART_EUNSUPPORTED, "%s/config.json: hidden_act '%s' is not supported (silu)", dir, act);
    int sw = 0;
    HART_TRY(hart_cfg_bool_or(c, "use_sliding_window", 0, &sw));
    if (sw) return hart_fail(HART_EUNSUPPORTED, "%s/config.json: use_sliding_window true is not supported", dir);
    if (m->vocab <= 0 || m->hidden <= 0 || m->n_layers <= 0 || m->n_layers > 1000 || m->n_heads <= 0 ||
        m->n_kv_heads <= 0 || m->n_heads % m->n_kv_heads || m->head_dim <= 0 || m->head_dim % 2 || m->inter <= 0)
        return hart_fail(HART_EFORMAT,
                         "%s/config.json: inconsistent sizes (vocab %lld, hidden %lld, layers %lld, heads %lld, kv heads %lld, head_dim %lld, intermediate %lld)",
                         dir, (long long)m->vocab, (long long)m->hidden, (long long)m->n_layers, (long long)m->n_heads,
                         (long long)m->n_kv_heads, (long long)m->head_dim, (long long)m->inter);
    return HART_OK;
}

static hart_status load_layer(loader *ld, const hart_qwen2 *m, int i, hart_qwen2_layer *l) {
    char n[256];
    const int64_t D = m->hidden, Q = m->n_heads * m->head_dim, KV = m->n_kv_heads * m->head_dim, I = m->inter;
#define NAME(suffix) (snprintf(n, sizeof n, "layers.%d.%s", i, suffix), n)
    HART_TRY(ld_f32(ld, &l->in_norm, D, NAME("input_layernorm.weight")));
    HART_TRY(ld_f32(ld, &l->post_norm, D, NAME("post_attention_layernorm.weight")));
    HART_TRY(ld_lin(ld, &l->q_w, Q, D, NAME("self_attn.q_proj.weight")));
    HART_TRY(ld_lin(ld, &l->k_w, KV, D, NAME("self_attn.k_proj.weight")));
    HART_TRY(ld_lin(ld, &l->v_w, KV, D, NAME("self_attn.v_proj.weight")));
    HART_TRY(ld_lin(ld, &l->o_w, D, Q, NAME("self_attn.o_proj.weight")));
    HART_TRY(ld_f32(ld, &l->q_b, Q, NAME("self_attn.q_proj.bias")));
    HART_TRY(ld_f32(ld, &l->k_b, KV, NAME("self_attn.k_proj.bias")));
    HART_TRY(ld_f32(ld, &l->v_b, KV, NAME("self_attn.v_proj.bias")));
    HART_TRY(ld_lin(ld, &l->gate_w, I, D, NAME("mlp.gate_proj.weight")));
    HART_TRY(ld_lin(ld, &l->up_w, I, D, NAME("mlp.up_proj.weight")));
    HART_TRY(ld_lin(ld, &l->down_w, D, I, NAME("mlp.down_proj.weight")));
#undef NAME
    return HART_OK;
}

hart_status hart_qwen2_load(const char *dir, hart_backend *be, hart_qwen2 *m) {
    memset(m, 0, sizeof *m);
    m->be = be;
    hart_checkpoint ck;
    HART_TRY(hart_ckpt_open(dir, "config.json", NULL, &ck));
    hart_status s = read_config(&ck, dir, m);
    static const char *prefixes[] = {"model.", "", "model.language_model.", "language_model.model.",
                                     "language_model."};
    loader ld = {&ck, NULL, be};
    for (size_t i = 0; !s && i < sizeof prefixes / sizeof *prefixes; i++) {
        char nm[128];
        snprintf(nm, sizeof nm, "%sembed_tokens.weight", prefixes[i]);
        if (hart_ckpt_has(&ck, nm)) { ld.prefix = prefixes[i]; break; }
    }
    if (!s && !ld.prefix)
        s = hart_fail(HART_EFORMAT, "%s: no embed_tokens.weight under any known prefix "
                      "(model., none, model.language_model., language_model.model.)", dir);
    if (!s) s = ld_table(&ld, &m->embed, 2, (int64_t[]){m->vocab, m->hidden}, "embed_tokens.weight");
    if (!s) s = ld_f32(&ld, &m->norm, m->hidden, "norm.weight");
    if (!s) {
        m->layers = calloc((size_t)m->n_layers, sizeof *m->layers);
        if (!m->layers) s = hart_fail(HART_ENOMEM, "qwen2: out of memory for %lld layers", (long long)m->n_layers);
    }
    for (int i = 0; !s && i < m->n_layers; i++) s = load_layer(&ld, m, i, &m->layers[i]);
    hart_ckpt_close(&ck);
    if (s) {
        hart_fail_ctx(s, "loading Qwen2 text model from %s", dir);
        hart_qwen2_free(m);
    }
    return s;
}

void hart_qwen2_free(hart_qwen2 *m) {
    if (!m) return;
    if (m->layers) {
        for (int i = 0; i < m->n_layers; i++) {
            hart_qwen2_layer *l = &m->layers[i];
            hart_tensor *ts[] = {&l->in_norm, &l->post_norm, &l->q_w, &l->k_w, &l->v_w, &l->o_w,
                                 &l->q_b, &l->k_b, &l->v_b, &l->gate_w, &l->up_w, &l->down_w};
            for (size_t j = 0; j < sizeof ts / sizeof *ts; j++) hart_tensor_free(ts[j]);
        }
        free(m->layers);
    }
    hart_tensor_free(&m->embed);
    hart_tensor_free(&m->norm);
    memset(m, 0, sizeof *m);
}

/* ---- forward ---------------------------------------------------------- */

typedef struct {
    hart_tensor h, q, k, v, qh, kh, vh, att, atth, gate, up, mask, cos, sin;
} scratch;

static void scratch_free(scratch *w) {
    hart_tensor *ts[] = {&w->h, &w->q, &w->k, &w->v, &w->qh, &w->kh, &w->vh, &w->att, &w->atth,
                         &w->gate, &w->up, &w->mask, &w->cos, &w->sin};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) hart_tensor_free(ts[i]);
}

/* Additive mask [B,1,L,L]: key j visible to query i iff j <= i and j is real. */
static hart_status make_mask(hart_backend *be, const uint8_t *mask, int64_t B, int64_t L, hart_tensor *out) {
    hart_tensor host;
    HART_TRY(hart_tensor_new4(NULL, HART_F32, &host, 4, B, 1, L, L));
    float *p = (float *)host.data;
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < L; i++)
            for (int64_t j = 0; j < L; j++)
                p[(b * L + i) * L + j] = (j <= i && (!mask || mask[b * L + j])) ? 0.0f : -INFINITY;
    hart_status s = hart_tensor_to(be, &host, out);
    hart_tensor_free(&host);
    return s;
}

/* cos/sin [1, L, hd/2] for positions 0..L-1: angle = pos · theta^(-2i/hd). */
static hart_status make_rope(hart_backend *be, int64_t L, int64_t hd, double theta, hart_tensor *c, hart_tensor *s) {
    hart_tensor hc, hs;
    HART_TRY(hart_tensor_new4(NULL, HART_F32, &hc, 3, 1, L, hd / 2, 0));
    hart_status st = hart_tensor_new4(NULL, HART_F32, &hs, 3, 1, L, hd / 2, 0);
    if (st) { hart_tensor_free(&hc); return st; }
    float *pc = (float *)hc.data, *ps = (float *)hs.data;
    for (int64_t i = 0; i < hd / 2; i++) {
        /* the reference computes the inverse frequencies in float32 */
        float inv = (float)(1.0 / pow(theta, (double)(2 * i) / (double)hd));
        for (int64_t p = 0; p < L; p++) {
            double a = (double)p * (double)inv;
            pc[p * (hd / 2) + i] = (float)cos(a);
            ps[p * (hd / 2) + i] = (float)sin(a);
        }
    }
    st = hart_tensor_to(be, &hc, c);
    if (!st) st = hart_tensor_to(be, &hs, s);
    hart_tensor_free(&hc);
    hart_tensor_free(&hs);
    return st;
}

/* [B, L, nh*hd] -> [B, nh, L, hd] */
static hart_status to_heads(hart_tensor *y, const hart_tensor *x, int64_t B, int64_t L, int64_t nh, int64_t hd) {
    hart_tensor v;
    HART_TRY(hart_tensor_reshape(x, 4, (int64_t[]){B, L, nh, hd}, &v));
    return hart_op_transpose(y, &v, (int[]){0, 2, 1, 3});
}

static hart_status layer_forward(const hart_qwen2 *m, const hart_qwen2_layer *l, hart_tensor *x, scratch *w,
                                 int64_t B, int64_t L) {
    const int64_t H = m->n_heads, KV = m->n_kv_heads, hd = m->head_dim;
    HART_TRY(hart_op_rms_norm(&w->h, x, &l->in_norm, (float)m->eps));
    HART_TRY(hart_op_linear(&w->q, &w->h, &l->q_w, &l->q_b));
    HART_TRY(hart_op_linear(&w->k, &w->h, &l->k_w, &l->k_b));
    HART_TRY(hart_op_linear(&w->v, &w->h, &l->v_w, &l->v_b));
    HART_TRY(to_heads(&w->qh, &w->q, B, L, H, hd));
    HART_TRY(to_heads(&w->kh, &w->k, B, L, KV, hd));
    HART_TRY(to_heads(&w->vh, &w->v, B, L, KV, hd));
    HART_TRY(hart_op_rope(&w->qh, &w->qh, &w->cos, &w->sin, 0));
    HART_TRY(hart_op_rope(&w->kh, &w->kh, &w->cos, &w->sin, 0));
    HART_TRY(hart_op_attention(&w->att, &w->qh, &w->kh, &w->vh, &w->mask, (float)(1.0 / sqrt((double)hd))));
    /* [B, H, L, hd] -> [B, L, H, hd] == [B, L, H*hd] (reuses q's storage) */
    hart_tensor q4;
    HART_TRY(hart_tensor_reshape(&w->q, 4, (int64_t[]){B, L, H, hd}, &q4));
    HART_TRY(hart_op_transpose(&q4, &w->att, (int[]){0, 2, 1, 3}));
    HART_TRY(hart_op_linear(&w->h, &w->q, &l->o_w, NULL));
    HART_TRY(hart_op_binary(x, x, &w->h, HART_BIN_ADD));
    HART_TRY(hart_op_rms_norm(&w->h, x, &l->post_norm, (float)m->eps));
    HART_TRY(hart_op_linear(&w->gate, &w->h, &l->gate_w, NULL));
    HART_TRY(hart_op_linear(&w->up, &w->h, &l->up_w, NULL));
    HART_TRY(hart_op_act(&w->gate, &w->gate, HART_ACT_SILU));
    HART_TRY(hart_op_binary(&w->gate, &w->gate, &w->up, HART_BIN_MUL));
    HART_TRY(hart_op_linear(&w->h, &w->gate, &l->down_w, NULL));
    return hart_op_binary(x, x, &w->h, HART_BIN_ADD);
}

static hart_status check_out(const hart_tensor *t, int64_t B, int64_t L, int64_t D, const char *what) {
    if (!t || t->dtype != HART_F32 || t->ndim != 3 || t->shape[0] != B || t->shape[1] != L || t->shape[2] != D) {
        char sb[96];
        return hart_fail(HART_EINVAL, "qwen2 forward: %s must be F32 [%lld,%lld,%lld], got %s", what, (long long)B,
                         (long long)L, (long long)D, t ? hart_shape_str(t, sb, sizeof sb) : "NULL");
    }
    return HART_OK;
}

hart_status hart_qwen2_forward(const hart_qwen2 *m, const int64_t *ids, const uint8_t *mask, int64_t B, int64_t L,
                               hart_tensor *out, hart_tensor *hidden) {
    if (B <= 0 || L <= 0) return hart_fail(HART_EINVAL, "qwen2 forward: empty batch (%lld x %lld)", (long long)B, (long long)L);
    const int64_t D = m->hidden, hd = m->head_dim, H = m->n_heads, KV = m->n_kv_heads;
    HART_TRY(check_out(out, B, L, D, "output"));
    for (int i = 0; hidden && i <= m->n_layers; i++) HART_TRY(check_out(&hidden[i], B, L, D, "hidden state"));
    for (int64_t i = 0; i < B * L; i++)
        if (ids[i] < 0 || ids[i] >= m->vocab)
            return hart_fail(HART_EINVAL, "qwen2 forward: token id %lld at position %lld is outside the vocabulary (%lld)",
                             (long long)ids[i], (long long)i, (long long)m->vocab);
    hart_backend *be = m->be;
    scratch w;
    memset(&w, 0, sizeof w);
    hart_tensor x = {0}, idt = {0};
    hart_status s = HART_OK;
    int64_t idshape[2] = {B, L};
    hart_tensor ids_host = hart_tensor_wrap((void *)ids, HART_I64, 2, idshape);
#define T3(t, c) if (!s) s = hart_tensor_new4(be, HART_F32, t, 3, B, L, c, 0)
#define T4(t, h) if (!s) s = hart_tensor_new4(be, HART_F32, t, 4, B, h, L, hd)
    T3(&x, D); T3(&w.h, D); T3(&w.q, H * hd); T3(&w.k, KV * hd); T3(&w.v, KV * hd);
    T3(&w.gate, m->inter); T3(&w.up, m->inter);
    T4(&w.qh, H); T4(&w.kh, KV); T4(&w.vh, KV); T4(&w.att, H);
#undef T3
#undef T4
    if (!s) s = make_mask(be, mask, B, L, &w.mask);
    if (!s) s = make_rope(be, L, hd, m->rope_theta, &w.cos, &w.sin);
    if (!s) s = hart_tensor_to(be, &ids_host, &idt);
    if (!s) s = hart_op_embedding(&x, &m->embed, &idt);
    for (int64_t i = 0; !s && i < m->n_layers; i++) {
        if (hidden) s = hart_op_copy(&hidden[i], &x);
        if (!s) s = layer_forward(m, &m->layers[i], &x, &w, B, L);
    }
    if (!s) s = hart_op_rms_norm(out, &x, &m->norm, (float)m->eps);
    if (!s && hidden) s = hart_op_copy(&hidden[m->n_layers], out);
    scratch_free(&w);
    hart_tensor_free(&x);
    hart_tensor_free(&idt);
    return s;
}
