/* HART t2i transformer: loading, per-batch conditioning, block forward with
 * KV cache. Rotary embeddings (1-D over the context, 2-D over the scales,
 * both with full-length cos/sin tables as the reference builds them): the
 * tables are built on the host and uploaded by begin, the rotation is the
 * rope_rows op. The optional L2 query/key normalisation (no released config
 * uses it) is a host-side helper that reads q and k back. */
#include "models/hart/transformer.h"
#include "models/hart/sparse_attn.h"
#include "ops/ops.h"
#include "quant/qload.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROPE_THETA 10000.0

typedef struct {
    hart_tensor ada_w, ada_b;     /* ada_lin.1: [6C, C], [6C] */
    hart_tensor sst;              /* scale_shift_table [6, C] (disable_aln + shared_aln) */
    hart_tensor wq, wk, wv, bq, bk, bv, proj_w, proj_b;
    float *scale_mul;             /* [H] exp(clamp(scale_mul_1H11, log 100)), attn_l2_norm */
    hart_tensor ln_w;             /* ln_wo_grad.weight [C] */
    hart_tensor f1, f2, f3, f1b, f3b; /* llama: gate, up, down; gpt2: fc1 (f1,f1b), fc2 (f3,f3b) */
    /* f16 mode (block_forward_fused): q|k|v and gate|up stacked into one GEMM
     * each; wq/wk/wv, bq/bk/bv, f1/f2 are then row views of these */
    hart_tensor wqkv, bqkv, f12;
    /* per batch */
    hart_tensor mod[6];           /* [N,1,C]: gamma1, gamma2, 1+scale1, 1+scale2, shift1, shift2 */
    hart_tensor kc, vc;           /* [N,H,Lmax,hd] */
} tf_block;

struct hart_transformer {
    hart_backend *be;
    hart_checkpoint ck;
    hart_tf_config cfg;
    tf_block *blocks;
    hart_tensor ctx_norm_w, ctx_w, ctx_b;
    hart_tensor lvl;              /* [S, C] level embeddings */
    hart_tensor lvl_pos;          /* [Lmax, C] level (+ absolute position, gpt2) embedding per token */
    hart_tensor pos_start;        /* [T, C] (gpt2) */
    hart_tensor dec_norm_b;       /* decoder_norm.bias (gpt2: LayerNorm) */
    hart_tensor word_w, word_b;
    hart_tensor head_nm_ln_w, head_ada_w, head_ada_b, head_w, head_b;
    hart_tensor dec_norm_w;
    int Lmax;
    /* per batch */
    int N, cur;
    hart_tensor sos;              /* [N,T,C] */
    hart_tensor head_scale1p, head_shift; /* [N,1,C] */
    float *ctx_pos;               /* [N,T] context position ids as floats */
    hart_tensor rope_c[HART_MAX_SCALES], rope_s[HART_MAX_SCALES]; /* llama: [N,l,hd] rotary tables of
                                     each scale on be, uploaded by begin (the forward never writes) */
    /* sparse attention (kind NONE: dense) and the density used per scale */
    hart_sparse_cfg sparse;
    hart_sparse_cache sparse_cache; /* local masks per scale, shared by the layers */
    double dens_sum[HART_MAX_SCALES];
    int dens_n[HART_MAX_SCALES];
    int sparse_quiet; /* density not measured (it costs a mask copy to the host per layer for xattn/quest) */
};

static hart_status fuse_block_weights(hart_transformer *tf, tf_block *b);

/* a tensor the next op writes whole: no zero fill on a device (hart_tensor_new_uninit) */
static hart_status unew(hart_backend *be, hart_dtype dt, hart_tensor *t, int nd, int64_t a, int64_t b, int64_t c,
                        int64_t d) {
    int64_t s[4] = {a, b, c, d};
    return hart_tensor_new_uninit(be, dt, nd, s, t);
}

static hart_status tnew(hart_backend *be, hart_tensor *t, int nd, int64_t a, int64_t b, int64_t c,
                        int64_t d) {
    return hart_tensor_new4(be, HART_F32, t, nd, a, b, c, d);
}

/* ---------------- loading ---------------- */

static hart_status tf_getw(hart_transformer *tf, hart_tensor *dst, int nd, int64_t a, int64_t b,
                        const char *name) {
    hart_tensor h;
    int64_t shp[2] = {a, b};
    HART_TRY(hart_ckpt_get(&tf->ck, name, nd, shp, &h));
    hart_status st = hart_tensor_to(tf->be, &h, dst);
    hart_ckpt_release(&tf->ck, &h);
    if (st != HART_OK) return hart_fail_ctx(st, "uploading %s", name);
    return HART_OK;
}

static hart_status tf_getwf(hart_transformer *tf, hart_tensor *dst, int nd, int64_t a, int64_t b,
                         const char *fmt, int i) {
    char name[256];
    snprintf(name, sizeof name, fmt, i);
    return tf_getw(tf, dst, nd, a, b, name);
}

/* Linear weight [a, b]: float, quantized in the checkpoint or on load (quant/qload.h). */
static hart_status tf_getlin(hart_transformer *tf, hart_tensor *dst, int64_t a, int64_t b, const char *fmt, int i) {
    char name[256];
    snprintf(name, sizeof name, fmt, i);
    return hart_ckpt_get_linear(&tf->ck, tf->be, name, a, b, 0, dst);
}

static hart_status cfg_str_is(const cJSON *c, const char *key, const char *dflt, const char *a,
                              const char *b, int *is_a) {
    const char *s;
    HART_TRY(hart_cfg_str_or(c, key, dflt, &s));
    if (!s) s = dflt;
    if (!strcmp(s, a)) *is_a = 1;
    else if (b && !strcmp(s, b)) *is_a = 0;
    else
        return hart_fail(HART_EUNSUPPORTED, "llm config: %s = \"%s\" is not supported (expected \"%s\"%s%s%s)",
                         key, s, a, b ? " or \"" : "", b ? b : "", b ? "\"" : "");
    return HART_OK;
}

static hart_status parse_config(hart_transformer *tf, int V, int Cvae) {
    const cJSON *c = tf->ck.config;
    hart_tf_config *g = &tf->cfg;
    int64_t v;
    double d;
    int b;
    if (!c) return hart_fail(HART_EFORMAT, "%s: config.json missing", tf->ck.dir);
    const char *mt;
    HART_TRY(hart_cfg_str_or(c, "model_type", "hart_transformer_t2i", &mt));
    if (mt && strcmp(mt, "hart_transformer_t2i"))
        return hart_fail(HART_EUNSUPPORTED, "llm config: model_type \"%s\" is not hart_transformer_t2i", mt);
    HART_TRY(hart_cfg_int(c, "depth", &v)); g->depth = (int)v;
    HART_TRY(hart_cfg_int(c, "embed_dim", &v)); g->C = (int)v;
    HART_TRY(hart_cfg_int(c, "num_heads", &v)); g->H = (int)v;
    HART_TRY(hart_cfg_int(c, "context_token", &v)); g->ctx_tokens = (int)v;
    HART_TRY(hart_cfg_int(c, "context_dim", &v)); g->ctx_dim = (int)v;
    if (g->depth < 1 || g->depth > 1000 || g->C < 1 || g->H < 1 || g->C % g->H)
        return hart_fail(HART_EFORMAT, "llm config: bad depth/embed_dim/num_heads (%d/%d/%d)", g->depth, g->C, g->H);
    g->hd = g->C / g->H;
    if (g->hd % 4)
        return hart_fail(HART_EUNSUPPORTED, "llm config: head dim %d (embed_dim/num_heads) must be a multiple of 4 for the 2-D rotary embedding", g->hd);
    if (g->ctx_tokens < 2 || g->ctx_dim < 1)
        return hart_fail(HART_EUNSUPPORTED, "llm config: context_token %d (need >= 2 for text-to-image)", g->ctx_tokens);
    int64_t pn[HART_MAX_SCALES];
    HART_TRY(hart_cfg_int_array(c, "patch_nums", pn, HART_MAX_SCALES, &g->n_scales));
    if (g->n_scales < 2) return hart_fail(HART_EFORMAT, "llm config: patch_nums needs >= 2 scales");
    for (int i = 0; i < g->n_scales; i++) {
        if (pn[i] < 1 || pn[i] > 1024) return hart_fail(HART_EFORMAT, "llm config: patch_nums[%d] = %lld", i, (long long)pn[i]);
        g->patch_nums[i] = (int)pn[i];
    }
    g->V = V;
    g->Cvae = Cvae;
    double mlp_ratio;
    HART_TRY(hart_cfg_num_or(c, "mlp_ratio", 4.0, &mlp_ratio));
    HART_TRY(cfg_str_is(c, "mlp_type", "gpt2", "llama", "gpt2", &g->mlp_llama));
    if (g->mlp_llama) g->mlp_hidden = (int)((g->C * mlp_ratio * 2) / 3 + 255) / 256 * 256;
    else g->mlp_hidden = (int)lround(g->C * mlp_ratio);
    HART_TRY(cfg_str_is(c, "attn_type", "gpt2", "llama", "gpt2", &g->attn_llama));
    HART_TRY(hart_cfg_num_or(c, "norm_eps", 1e-6, &d)); g->norm_eps = (float)d;
    HART_TRY(hart_cfg_bool_or(c, "attn_l2_norm", 0, &g->attn_l2_norm));
    HART_TRY(hart_cfg_bool_or(c, "use_context_norm", 1, &g->use_context_norm));
    if (!g->attn_llama && g->use_context_norm)
        return hart_fail(HART_EUNSUPPORTED, "llm config: attn_type gpt2 with use_context_norm true is not a valid model "
                                            "(the reference's LayerNorm takes no scale argument)");
    int is_max;
    HART_TRY(cfg_str_is(c, "sep_aln_pooling_mode", "max", "max", "avg", &is_max));
    g->pool_avg = !is_max;
    HART_TRY(hart_cfg_bool_or(c, "disable_aln", 0, &g->disable_aln));
    HART_TRY(hart_cfg_bool_or(c, "shared_aln", 0, &g->shared_aln));
    HART_TRY(hart_cfg_bool_or(c, "use_timestep_embed", 0, &g->use_timestep_embed));
    HART_TRY(hart_cfg_bool_or(c, "use_cross_attn", 0, &b));
    if (b) return hart_fail(HART_EUNSUPPORTED, "llm config: use_cross_attn = true is not supported");
    HART_TRY(hart_cfg_int(c, "diff_width", &v)); g->diff_width = (int)v;
    HART_TRY(hart_cfg_int(c, "diff_depth", &v)); g->diff_depth = (int)v;
    if (g->diff_width < 1 || g->diff_depth < 0) return hart_fail(HART_EFORMAT, "llm config: bad diff_width/diff_depth");
    const char *sampler;
    HART_TRY(hart_cfg_str_or(c, "sampler", "iddpm", &sampler));
    if (sampler && strcmp(sampler, "iddpm"))
        return hart_fail(HART_EUNSUPPORTED, "llm config: sampler \"%s\" is not supported (only iddpm)", sampler);
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(c, "num_sampling_steps");
    if (cJSON_IsString(ns)) snprintf(g->sampling_steps, sizeof g->sampling_steps, "%s", ns->valuestring);
    else if (cJSON_IsNumber(ns)) snprintf(g->sampling_steps, sizeof g->sampling_steps, "%d", ns->valueint);
    else return hart_fail(HART_EFORMAT, "llm config: num_sampling_steps missing or not a string/number");
    /* training-only fields: read so a wrong type is reported, no effect at inference */
    HART_TRY(hart_cfg_num_or(c, "drop_rate", 0, &d));
    HART_TRY(hart_cfg_num_or(c, "attn_drop_rate", 0, &d));
    HART_TRY(hart_cfg_num_or(c, "drop_path_rate", 0, &d));
    HART_TRY(hart_cfg_num_or(c, "cond_drop_rate", 0, &d));
    HART_TRY(hart_cfg_int_or(c, "diffusion_batch_mul", 1, &v));
    HART_TRY(hart_cfg_int_or(c, "diffusion_head_repeats", 1, &v));
    /* context_norm_scale: the reference's fused RMSNorm ignores it (the stored weight is used) */
    HART_TRY(hart_cfg_num_or(c, "context_norm_scale", 1.0, &d));
    return HART_OK;
}

static hart_status load_weights(hart_transformer *tf) {
    hart_tf_config *g = &tf->cfg;
    int C = g->C, Hd = g->mlp_hidden;
    char nm[256];
    if (g->use_context_norm) HART_TRY(tf_getw(tf, &tf->ctx_norm_w, 1, g->ctx_dim, 0, "context_norm.weight"));
    HART_TRY(tf_getw(tf, &tf->ctx_w, 2, C, g->ctx_dim, "context_embed.weight"));
    HART_TRY(tf_getw(tf, &tf->ctx_b, 1, C, 0, "context_embed.bias"));
    HART_TRY(tf_getw(tf, &tf->word_w, 2, C, g->Cvae, "word_embed.weight"));
    HART_TRY(tf_getw(tf, &tf->word_b, 1, C, 0, "word_embed.bias"));
    if (g->attn_llama) HART_TRY(tf_getw(tf, &tf->head_nm_ln_w, 1, C, 0, "head_nm.ln_wo_grad.weight"));
    HART_TRY(tf_getw(tf, &tf->head_ada_w, 2, 2 * C, C, "head_nm.ada_lin.1.weight"));
    HART_TRY(tf_getw(tf, &tf->head_ada_b, 1, 2 * C, 0, "head_nm.ada_lin.1.bias"));
    HART_TRY(tf_getw(tf, &tf->head_w, 2, g->V, C, "head.weight"));
    HART_TRY(tf_getw(tf, &tf->head_b, 1, g->V, 0, "head.bias"));
    HART_TRY(tf_getw(tf, &tf->dec_norm_w, 1, C, 0, "decoder_norm.weight"));
    if (!g->attn_llama) {
        HART_TRY(tf_getw(tf, &tf->dec_norm_b, 1, C, 0, "decoder_norm.bias"));
        hart_tensor ps;
        HART_TRY(hart_ckpt_get(&tf->ck, "pos_start", 3, (int64_t[]){1, g->ctx_tokens, C}, &ps));
        HART_TRY(hart_tensor_reshape(&ps, 2, (int64_t[]){g->ctx_tokens, C}, &ps));
        HART_TRY(hart_tensor_to(tf->be, &ps, &tf->pos_start));
    }
    /* level embeddings [S, C] */
    int S = g->n_scales;
    if (!g->use_timestep_embed) {
        HART_TRY(tf_getw(tf, &tf->lvl, 2, S, C, "lvl_embed.weight"));
    } else { /* TimestepEmbedder(C, 256) applied to the level index */
        const int F = 256, half = F / 2;
        hart_tensor w0, b0, w2, b2, tf_in = {0}, h1 = {0}, lv = {0};
        HART_TRY(hart_ckpt_get(&tf->ck, "lvl_embed.mlp.0.weight", 2, (int64_t[]){C, F}, &w0));
        HART_TRY(hart_ckpt_get(&tf->ck, "lvl_embed.mlp.0.bias", 1, (int64_t[]){C}, &b0));
        HART_TRY(hart_ckpt_get(&tf->ck, "lvl_embed.mlp.2.weight", 2, (int64_t[]){C, C}, &w2));
        HART_TRY(hart_ckpt_get(&tf->ck, "lvl_embed.mlp.2.bias", 1, (int64_t[]){C}, &b2));
        hart_status st = tnew(NULL, &tf_in, 2, S, F, 0, 0);
        if (!st) st = tnew(NULL, &h1, 2, S, C, 0, 0);
        if (!st) st = tnew(NULL, &lv, 2, S, C, 0, 0);
        if (!st) {
            float *p = tf_in.data;
            for (int s = 0; s < S; s++)
                for (int i = 0; i < half; i++) {
                    float fr = expf((float)(-log(10000.0)) * (float)i / (float)half);
                    float a = (float)s * fr;
                    p[s * F + i] = cosf(a);
                    p[s * F + half + i] = sinf(a);
                }
            st = hart_op_linear(&h1, &tf_in, &w0, &b0);
        }
        if (!st) st = hart_op_act(&h1, &h1, HART_ACT_SILU);
        if (!st) st = hart_op_linear(&lv, &h1, &w2, &b2);
        if (!st) st = hart_tensor_to(tf->be, &lv, &tf->lvl);
        hart_tensor_free(&tf_in); hart_tensor_free(&h1); hart_tensor_free(&lv);
        HART_TRY(st);
    }
    for (int i = 0; i < g->depth; i++) {
        tf_block *b = &tf->blocks[i];
        if (!g->disable_aln) {
            HART_TRY(tf_getlin(tf, &b->ada_w, 6 * C, C, "blocks.%d.ada_lin.1.weight", i));
            HART_TRY(tf_getwf(tf, &b->ada_b, 1, 6 * C, 0, "blocks.%d.ada_lin.1.bias", i));
        } else if (g->shared_aln) {
            HART_TRY(tf_getwf(tf, &b->sst, 2, 6, C, "blocks.%d.scale_shift_table", i));
        }
        hart_linear_src qkv; /* fused q/k/v, split by rows (also when quantized: every format is per row) */
        snprintf(nm, sizeof nm, g->attn_llama ? "blocks.%d.attn.qkv_proj.weight" : "blocks.%d.attn.mat_qkv.weight", i);
        HART_TRY(hart_linear_read(&tf->ck, nm, 3 * C, C, &qkv));
        hart_tensor *qkv_dst[3] = {&b->wq, &b->wk, &b->wv};
        for (int j = 0; j < 3; j++) {
            hart_status qs = hart_linear_upload(tf->be, &tf->ck, nm, &qkv, j * C, C, 0, qkv_dst[j]);
            if (qs) { hart_linear_src_free(&tf->ck, &qkv); return qs; }
        }
        hart_linear_src_free(&tf->ck, &qkv);
        HART_TRY(tf_getwf(tf, &b->bq, 1, C, 0, "blocks.%d.attn.q_bias", i));
        snprintf(nm, sizeof nm, "blocks.%d.attn.zero_k_bias", i);
        if (hart_ckpt_has(&tf->ck, nm)) HART_TRY(tf_getw(tf, &b->bk, 1, C, 0, nm));
        else HART_TRY(tnew(tf->be, &b->bk, 1, C, 0, 0, 0));
        HART_TRY(tf_getwf(tf, &b->bv, 1, C, 0, "blocks.%d.attn.v_bias", i));
        HART_TRY(tf_getlin(tf, &b->proj_w, C, C, "blocks.%d.attn.proj.weight", i));
        HART_TRY(tf_getwf(tf, &b->proj_b, 1, C, 0, "blocks.%d.attn.proj.bias", i));
        if (g->attn_l2_norm) {
            hart_tensor sm;
            snprintf(nm, sizeof nm, "blocks.%d.attn.scale_mul_1H11", i);
            HART_TRY(hart_ckpt_get(&tf->ck, nm, 4, (int64_t[]){1, g->H, 1, 1}, &sm));
            b->scale_mul = malloc(sizeof(float) * g->H);
            if (!b->scale_mul) return hart_fail(HART_ENOMEM, "scale_mul");
            HART_TRY(hart_tensor_read_f32(&sm, b->scale_mul));
            float mx = (float)log(100.0);
            for (int h = 0; h < g->H; h++) b->scale_mul[h] = expf(b->scale_mul[h] < mx ? b->scale_mul[h] : mx);
        }
        if (g->attn_llama) HART_TRY(tf_getwf(tf, &b->ln_w, 1, C, 0, "blocks.%d.ln_wo_grad.weight", i));
        if (g->mlp_llama) {
            HART_TRY(tf_getlin(tf, &b->f1, Hd, C, "blocks.%d.ffn.gate_proj.weight", i));
            HART_TRY(tf_getlin(tf, &b->f2, Hd, C, "blocks.%d.ffn.up_proj.weight", i));
            HART_TRY(tf_getlin(tf, &b->f3, C, Hd, "blocks.%d.ffn.down_proj.weight", i));
        } else {
            HART_TRY(tf_getlin(tf, &b->f1, Hd, C, "blocks.%d.ffn.fc1.weight", i));
            HART_TRY(tf_getwf(tf, &b->f1b, 1, Hd, 0, "blocks.%d.ffn.fc1.bias", i));
            HART_TRY(tf_getlin(tf, &b->f3, C, Hd, "blocks.%d.ffn.fc2.weight", i));
            HART_TRY(tf_getwf(tf, &b->f3b, 1, C, 0, "blocks.%d.ffn.fc2.bias", i));
        }
        if (tf->be->precision == HART_PREC_F16 && !g->attn_l2_norm) HART_TRY(fuse_block_weights(tf, b));
    }
    return HART_OK;
}

/* *cat = parts stacked along dim 0 (dtype dt; the parts' values converted
 * by copy), after which each part becomes a row view of *cat. Nothing is
 * done (HART_OK, *cat empty) when a part is quantized or the parts' trailing
 * dims differ. */
static hart_status cat_rows(hart_backend *be, hart_tensor *const *parts, int n, hart_dtype dt, hart_tensor *cat) {
    int64_t shp[HART_MAX_DIMS], rows = 0;
    for (int i = 0; i < n; i++) {
        const hart_tensor *p = parts[i];
        if (p->quant || p->ndim != parts[0]->ndim || p->ndim < 1 || (p->ndim == 2 && p->shape[1] != parts[0]->shape[1]))
            return HART_OK;
        rows += p->shape[0];
    }
    memcpy(shp, parts[0]->shape, sizeof shp);
    shp[0] = rows;
    HART_TRY(hart_tensor_new(be, dt, parts[0]->ndim, shp, cat));
    hart_status st = HART_OK;
    int64_t off = 0;
    for (int i = 0; i < n && !st; i++) {
        hart_tensor v;
        st = hart_tensor_rows(cat, off, parts[i]->shape[0], &v);
        if (!st) st = hart_op_copy(&v, parts[i]);
        off += parts[i]->shape[0];
    }
    if (st) { hart_tensor_free(cat); return st; }
    off = 0;
    for (int i = 0; i < n; i++) {
        int64_t r = parts[i]->shape[0];
        hart_tensor_free(parts[i]);
        (void)hart_tensor_rows(cat, off, r, parts[i]); /* in range by construction */
        off += r;
    }
    return HART_OK;
}

/* f16 mode: one GEMM for q|k|v and one for gate|up (block_forward_fused) */
static hart_status fuse_block_weights(hart_transformer *tf, tf_block *b) {
    hart_tensor *qkv[3] = {&b->wq, &b->wk, &b->wv}, *bias[3] = {&b->bq, &b->bk, &b->bv};
    if (b->wq.dtype != b->wk.dtype || b->wq.dtype != b->wv.dtype) return HART_OK;
    HART_TRY(cat_rows(tf->be, qkv, 3, b->wq.dtype, &b->wqkv));
    if (b->wqkv.ndim) HART_TRY(cat_rows(tf->be, bias, 3, HART_F32, &b->bqkv));
    if (tf->cfg.mlp_llama && b->f1.dtype == b->f2.dtype) {
        hart_tensor *gu[2] = {&b->f1, &b->f2};
        HART_TRY(cat_rows(tf->be, gu, 2, b->f1.dtype, &b->f12));
    }
    return HART_OK;
}

/* lvl_pos[r] = lvl[level of token r] (+ pos_1LC[r] for gpt2) */
static hart_status build_lvl_pos(hart_transformer *tf) {
    const hart_tf_config *g = &tf->cfg;
    int C = g->C, S = g->n_scales, L = tf->Lmax;
    float *lv = malloc(sizeof(float) * (size_t)S * C), *out = malloc(sizeof(float) * (size_t)L * C);
    float *pos = NULL;
    hart_status st = HART_OK;
    if (!lv || !out) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "level embedding"));
    HART_TRY_GOTO(st, hart_tensor_read_f32(&tf->lvl, lv));
    if (!g->attn_llama) {
        hart_tensor p;
        HART_TRY_GOTO(st, hart_ckpt_get(&tf->ck, "pos_1LC", 3, (int64_t[]){1, L, C}, &p));
        pos = malloc(sizeof(float) * (size_t)L * C);
        if (!pos) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "pos_1LC"));
        HART_TRY_GOTO(st, hart_tensor_read_f32(&p, pos));
    }
    for (int r = 0, s = 0, end = g->ctx_tokens; r < L; r++) {
        while (r >= end) { s++; end += g->patch_nums[s] * g->patch_nums[s]; }
        for (int c = 0; c < C; c++) out[(size_t)r * C + c] = lv[(size_t)s * C + c] + (pos ? pos[(size_t)r * C + c] : 0.0f);
    }
    {
        hart_tensor h = hart_tensor_wrap(out, HART_F32, 2, (int64_t[]){L, C});
        HART_TRY_GOTO(st, hart_tensor_to(tf->be, &h, &tf->lvl_pos));
    }
done:
    free(lv); free(out); free(pos);
    return st;
}

hart_status hart_tf_load(hart_backend *be, const char *llm_dir, int V, int Cvae, hart_transformer **out) {
    *out = NULL;
    if (V < 1 || Cvae < 1) return hart_fail(HART_EINVAL, "hart_tf_load: bad vocab %d / codebook dim %d", V, Cvae);
    hart_transformer *tf = calloc(1, sizeof *tf);
    if (!tf) return hart_fail(HART_ENOMEM, "transformer");
    tf->be = be ? be : hart_backend_cpu();
    hart_sparse_default(&tf->sparse);
    hart_status st = hart_ckpt_open(llm_dir, "config.json", NULL, &tf->ck);
    if (st) { free(tf); return st; }
    HART_TRY_GOTO(st, parse_config(tf, V, Cvae));
    tf->blocks = calloc((size_t)tf->cfg.depth, sizeof *tf->blocks);
    if (!tf->blocks) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "blocks"));
    st = load_weights(tf);
    if (st) { hart_fail_ctx(st, "loading transformer from %s", llm_dir); goto done; }
    tf->Lmax = tf->cfg.ctx_tokens;
    for (int i = 1; i < tf->cfg.n_scales; i++) tf->Lmax += tf->cfg.patch_nums[i] * tf->cfg.patch_nums[i];
    HART_TRY_GOTO(st, build_lvl_pos(tf));
    *out = tf;
    return HART_OK;
done:
    hart_tf_free(tf);
    return st;
}

static void free_batch(hart_transformer *tf) {
    for (int i = 0; tf->blocks && i < tf->cfg.depth; i++) {
        tf_block *b = &tf->blocks[i];
        for (int k = 0; k < 6; k++) hart_tensor_free(&b->mod[k]);
        hart_tensor_free(&b->kc);
        hart_tensor_free(&b->vc);
    }
    hart_tensor_free(&tf->sos);
    hart_tensor_free(&tf->head_scale1p);
    hart_tensor_free(&tf->head_shift);
    free(tf->ctx_pos);
    tf->ctx_pos = NULL;
    for (int i = 0; i < HART_MAX_SCALES; i++) {
        hart_tensor_free(&tf->rope_c[i]);
        hart_tensor_free(&tf->rope_s[i]);
    }
    tf->N = 0;
}

void hart_tf_free(hart_transformer *tf) {
    if (!tf) return;
    free_batch(tf);
    hart_sparse_cache_free(&tf->sparse_cache);
    for (int i = 0; tf->blocks && i < tf->cfg.depth; i++) {
        tf_block *b = &tf->blocks[i];
        hart_tensor *ts[] = {&b->ada_w, &b->ada_b, &b->sst, &b->wq, &b->wk, &b->wv, &b->bq, &b->bk,
                             &b->bv, &b->proj_w, &b->proj_b, &b->ln_w, &b->f1, &b->f2, &b->f3,
                             &b->f1b, &b->f3b, &b->wqkv, &b->bqkv, &b->f12};
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) hart_tensor_free(ts[k]);
        free(b->scale_mul);
    }
    free(tf->blocks);
    hart_tensor *ts[] = {&tf->ctx_norm_w, &tf->ctx_w, &tf->ctx_b, &tf->lvl, &tf->lvl_pos, &tf->pos_start,
                         &tf->dec_norm_b, &tf->word_w, &tf->word_b,
                         &tf->head_nm_ln_w, &tf->head_ada_w, &tf->head_ada_b, &tf->head_w, &tf->head_b,
                         &tf->dec_norm_w};
    for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) hart_tensor_free(ts[k]);
    hart_ckpt_close(&tf->ck);
    free(tf);
}

const hart_tf_config *hart_tf_get_config(const hart_transformer *tf) { return &tf->cfg; }
const hart_checkpoint *hart_tf_checkpoint(const hart_transformer *tf) { return &tf->ck; }

void hart_tf_release_checkpoint(hart_transformer *tf) { hart_ckpt_close(&tf->ck); }

/* ---------------- per batch ---------------- */

static hart_status read_as_f32(const hart_tensor *t, float *dst, const char *what) {
    int64_t n = hart_tensor_numel(t);
    if (t->dtype == HART_F32 || t->dtype == HART_F16 || t->dtype == HART_BF16) return hart_tensor_read_f32(t, dst);
    size_t es = hart_dtype_size_bits(t->dtype) / 8;
    unsigned char *raw = malloc(hart_tensor_nbytes(t) + 1);
    if (!raw) return hart_fail(HART_ENOMEM, "%s", what);
    hart_status st = hart_tensor_read(t, raw, hart_tensor_nbytes(t));
    for (int64_t i = 0; !st && i < n; i++) {
        const unsigned char *p = raw + (size_t)i * es;
        switch (t->dtype) {
        case HART_I64: { int64_t v; memcpy(&v, p, 8); dst[i] = (float)v; break; }
        case HART_I32: { int32_t v; memcpy(&v, p, 4); dst[i] = (float)v; break; }
        case HART_I8: dst[i] = (float)(int8_t)*p; break;
        case HART_U8: dst[i] = (float)*p; break;
        default: st = hart_fail(HART_EINVAL, "%s: unsupported dtype %s", what, hart_dtype_name(t->dtype));
        }
    }
    free(raw);
    return st;
}

/* y [N,1,C] = rows of `src` [N,1,k*C] at chunk k */
static hart_status chunk_of(hart_tensor *y, const hart_tensor *src, int k, int C) {
    return hart_op_slice(y, src, 2, (int64_t)k * C);
}

hart_status hart_tf_begin(hart_transformer *tf, const hart_tensor *context, const hart_tensor *mask,
                          const hart_tensor *pos) {
    return hart_tf_begin_uncond(tf, context, mask, pos, NULL, NULL, NULL);
}

static hart_status upload_rope_tables(hart_transformer *tf);

hart_status hart_tf_begin_uncond(hart_transformer *tf, const hart_tensor *context, const hart_tensor *mask,
                                 const hart_tensor *pos, const hart_tensor *ucontext, const hart_tensor *umask,
                                 const hart_tensor *upos) {
    const hart_tf_config *g = &tf->cfg;
    int T = g->ctx_tokens, Cc = g->ctx_dim, C = g->C;
    if (context->ndim != 3 || context->shape[1] != T || context->shape[2] != Cc || context->shape[0] < 1)
        return hart_fail(HART_EINVAL, "context: expected [B,%d,%d]", T, Cc);
    int B = (int)context->shape[0], N = 2 * B;
    if (mask->ndim != 2 || mask->shape[0] != B || mask->shape[1] != T)
        return hart_fail(HART_EINVAL, "context mask: expected [%d,%d]", B, T);
    if (pos && (pos->ndim != 2 || pos->shape[0] != B || pos->shape[1] != T))
        return hart_fail(HART_EINVAL, "context position ids: expected [%d,%d]", B, T);
    if (ucontext && (ucontext->ndim != 3 || ucontext->shape[0] != B || ucontext->shape[1] != T ||
                     ucontext->shape[2] != Cc || !umask || umask->ndim != 2 || umask->shape[0] != B ||
                     umask->shape[1] != T || !upos || upos->ndim != 2 || upos->shape[0] != B || upos->shape[1] != T))
        return hart_fail(HART_EINVAL, "unconditional context: expected [%d,%d,%d] with mask and positions [%d,%d]", B,
                         T, Cc, B, T);
    free_batch(tf);
    memset(tf->dens_sum, 0, sizeof tf->dens_sum);
    memset(tf->dens_n, 0, sizeof tf->dens_n);
    hart_status st = HART_OK;
    float *hc = NULL, *hm = NULL, *pooled = NULL;
    hart_tensor ctx = {0}, ctxn = {0}, cond = {0}, pool = {0}, spool = {0}, ada = {0}, hada = {0};
    tf->N = N;
    tf->cur = 0;
    hc = calloc((size_t)N * T * Cc, sizeof(float));
    hm = calloc((size_t)N * T, sizeof(float));
    tf->ctx_pos = calloc((size_t)N * T, sizeof(float));
    pooled = calloc((size_t)N * C, sizeof(float));
    if (!hc || !hm || !tf->ctx_pos || !pooled) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "context"));
    HART_TRY_GOTO(st, hart_tensor_read_f32(context, hc)); /* null half stays zero */
    HART_TRY_GOTO(st, read_as_f32(mask, hm, "context mask"));
    for (int i = 0; i < B * T; i++)
        if (hm[i] != 0 && hm[i] != 1) HART_TRY_GOTO(st, hart_fail(HART_EINVAL, "context mask: values must be 0 or 1"));
    if (ucontext) { /* e.g. a negative prompt's context in the unconditional half */
        HART_TRY_GOTO(st, hart_tensor_read_f32(ucontext, hc + (size_t)B * T * Cc));
        HART_TRY_GOTO(st, read_as_f32(umask, hm + (size_t)B * T, "unconditional context mask"));
        HART_TRY_GOTO(st, read_as_f32(upos, tf->ctx_pos + (size_t)B * T, "unconditional position ids"));
    } else {
        for (int i = 0; i < B; i++) hm[(B + i) * T] = 1; /* null context keeps position 0 only */
    }
    if (pos) HART_TRY_GOTO(st, read_as_f32(pos, tf->ctx_pos, "context position ids"));
    else /* cumulative count of real tokens - 1 */
        for (int i = 0; i < B; i++) {
            float c = -1;
            for (int t = 0; t < T; t++) { c += hm[i * T + t]; tf->ctx_pos[i * T + t] = c; }
        }
    /* sos = cond_BD = context_embed(context_norm(ctx)) */
    HART_TRY_GOTO(st, tnew(tf->be, &ctx, 3, N, T, Cc, 0));
    HART_TRY_GOTO(st, hart_tensor_write(&ctx, hc, sizeof(float) * (size_t)N * T * Cc));
    if (g->use_context_norm) {
        HART_TRY_GOTO(st, tnew(tf->be, &ctxn, 3, N, T, Cc, 0));
        HART_TRY_GOTO(st, hart_op_rms_norm(&ctxn, &ctx, &tf->ctx_norm_w, g->norm_eps));
    }
    HART_TRY_GOTO(st, tnew(tf->be, &tf->sos, 3, N, T, C, 0));
    HART_TRY_GOTO(st, hart_op_linear(&tf->sos, g->use_context_norm ? &ctxn : &ctx, &tf->ctx_w, &tf->ctx_b));
    /* max over context tokens (head; blocks unless avg pooling) */
    HART_TRY_GOTO(st, tnew(tf->be, &pool, 3, N, 1, C, 0));
    HART_TRY_GOTO(st, hart_op_reduce(&pool, &tf->sos, 1, HART_RED_MAX));
    HART_TRY_GOTO(st, tnew(tf->be, &spool, 3, N, 1, C, 0));
    HART_TRY_GOTO(st, hart_op_act(&spool, &pool, HART_ACT_SILU));
    HART_TRY_GOTO(st, tnew(tf->be, &hada, 3, N, 1, 2 * C, 0));
    HART_TRY_GOTO(st, hart_op_linear(&hada, &spool, &tf->head_ada_w, &tf->head_ada_b));
    HART_TRY_GOTO(st, tnew(tf->be, &tf->head_scale1p, 3, N, 1, C, 0));
    HART_TRY_GOTO(st, tnew(tf->be, &tf->head_shift, 3, N, 1, C, 0));
    HART_TRY_GOTO(st, chunk_of(&tf->head_scale1p, &hada, 0, C));
    HART_TRY_GOTO(st, hart_op_scale(&tf->head_scale1p, &tf->head_scale1p, 1.0f, 1.0f));
    HART_TRY_GOTO(st, chunk_of(&tf->head_shift, &hada, 1, C));
    /* block conditioning */
    int need_avg = g->pool_avg || (g->disable_aln && g->shared_aln);
    if (need_avg) { /* (c * m) / max(sum m, 1), summed over tokens */
        float *hs = malloc(sizeof(float) * (size_t)N * T * C);
        if (!hs) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "pooling"));
        st = hart_tensor_read_f32(&tf->sos, hs);
        for (int n = 0; !st && n < N; n++) {
            float cnt = 0;
            for (int t = 0; t < T; t++) cnt += hm[n * T + t];
            if (cnt < 1) cnt = 1;
            for (int c = 0; c < C; c++) {
                float s = 0;
                for (int t = 0; t < T; t++) s += hs[((size_t)n * T + t) * C + c] * hm[n * T + t] / cnt;
                pooled[n * C + c] = s;
            }
        }
        free(hs);
        HART_TRY_GOTO(st, st);
        if (g->pool_avg && !g->disable_aln) {
            HART_TRY_GOTO(st, hart_tensor_write(&pool, pooled, sizeof(float) * (size_t)N * C));
            HART_TRY_GOTO(st, hart_op_act(&spool, &pool, HART_ACT_SILU));
        }
    }
    HART_TRY_GOTO(st, tnew(tf->be, &ada, 3, N, 1, 6 * C, 0));
    for (int i = 0; i < g->depth; i++) {
        tf_block *b = &tf->blocks[i];
        /* not zeroed: attention reads only the rows [0, cur) already stored */
        HART_TRY_GOTO(st, unew(tf->be, HART_F32, &b->kc, 4, N, g->H, tf->Lmax, g->hd));
        HART_TRY_GOTO(st, unew(tf->be, HART_F32, &b->vc, 4, N, g->H, tf->Lmax, g->hd));
        if (g->disable_aln && !g->shared_aln) continue; /* no modulation: block_forward reads no mod */
        for (int k = 0; k < 6; k++) HART_TRY_GOTO(st, tnew(tf->be, &b->mod[k], 3, N, 1, C, 0));
        if (!g->disable_aln) {
            HART_TRY_GOTO(st, hart_op_linear(&ada, &spool, &b->ada_w, &b->ada_b));
        } else if (g->shared_aln) { /* scale_shift_table + pooled condition */
            float *tab = malloc(sizeof(float) * 6 * C), *m = malloc(sizeof(float) * (size_t)N * 6 * C);
            if (!tab || !m) { free(tab); free(m); HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "aln")); }
            st = hart_tensor_read_f32(&b->sst, tab);
            for (int n = 0; n < N; n++)
                for (int k = 0; k < 6 * C; k++) m[(size_t)n * 6 * C + k] = tab[k] + pooled[n * C + k % C];
            if (!st) st = hart_tensor_write(&ada, m, sizeof(float) * (size_t)N * 6 * C);
            free(tab); free(m);
            HART_TRY_GOTO(st, st);
        }
        for (int k = 0; k < 6; k++) HART_TRY_GOTO(st, chunk_of(&b->mod[k], &ada, k, C));
        /* 1 + scale */
        HART_TRY_GOTO(st, hart_op_scale(&b->mod[2], &b->mod[2], 1.0f, 1.0f));
        HART_TRY_GOTO(st, hart_op_scale(&b->mod[3], &b->mod[3], 1.0f, 1.0f));
    }
    if (g->attn_llama) HART_TRY_GOTO(st, upload_rope_tables(tf));
done:
    free(hc); free(hm); free(pooled);
    hart_tensor_free(&ctx); hart_tensor_free(&ctxn); hart_tensor_free(&cond); hart_tensor_free(&pool);
    hart_tensor_free(&spool); hart_tensor_free(&ada); hart_tensor_free(&hada);
    if (st) free_batch(tf);
    return st;
}

hart_status hart_tf_first_input(hart_transformer *tf, hart_tensor *x) {
    if (!tf->N) return hart_fail(HART_EINVAL, "hart_tf_first_input: no batch (call hart_tf_begin)");
    hart_tensor lp;
    HART_TRY(hart_tensor_rows(&tf->lvl_pos, 0, tf->cfg.ctx_tokens, &lp));
    if (tf->cfg.attn_llama) return hart_op_binary(x, &tf->sos, &lp, HART_BIN_ADD);
    HART_TRY(hart_op_binary(x, &tf->sos, &tf->pos_start, HART_BIN_ADD));
    return hart_op_binary(x, x, &lp, HART_BIN_ADD);
}

hart_status hart_tf_embed_next(hart_transformer *tf, int si, const hart_tensor *next_in, hart_tensor *x) {
    const hart_tf_config *g = &tf->cfg;
    if (!tf->N) return hart_fail(HART_EINVAL, "hart_tf_embed_next: no batch");
    if (si < 1 || si >= g->n_scales) return hart_fail(HART_EINVAL, "hart_tf_embed_next: scale %d", si);
    int B = tf->N / 2, pn = g->patch_nums[si], l = pn * pn;
    if (next_in->ndim != 4 || next_in->shape[0] != B || next_in->shape[1] != g->Cvae || next_in->shape[2] != pn ||
        next_in->shape[3] != pn)
        return hart_fail(HART_EINVAL, "next-scale input: expected [%d,%d,%d,%d]", B, g->Cvae, pn, pn);
    hart_status st = HART_OK;
    hart_tensor t = {0}, e = {0}, flat, lv, half;
    HART_TRY_GOTO(st, tnew(tf->be, &t, 3, B, l, g->Cvae, 0));
    HART_TRY_GOTO(st, hart_tensor_reshape(next_in, 3, (int64_t[]){B, g->Cvae, l}, &flat));
    HART_TRY_GOTO(st, hart_op_transpose(&t, &flat, (int[]){0, 2, 1}));
    HART_TRY_GOTO(st, tnew(tf->be, &e, 3, B, l, g->C, 0));
    HART_TRY_GOTO(st, hart_op_linear(&e, &t, &tf->word_w, &tf->word_b));
    int64_t off = g->ctx_tokens;
    for (int k = 1; k < si; k++) off += (int64_t)g->patch_nums[k] * g->patch_nums[k];
    HART_TRY_GOTO(st, hart_tensor_rows(&tf->lvl_pos, off, l, &lv));
    HART_TRY_GOTO(st, hart_op_binary(&e, &e, &lv, HART_BIN_ADD));
    HART_TRY_GOTO(st, hart_tensor_rows(x, 0, B, &half));
    HART_TRY_GOTO(st, hart_op_copy(&half, &e));
    HART_TRY_GOTO(st, hart_tensor_rows(x, B, B, &half));
    HART_TRY_GOTO(st, hart_op_copy(&half, &e));
done:
    hart_tensor_free(&t);
    hart_tensor_free(&e);
    return st;
}

/* Full-length rotary tables [N, l, hd] for scale si (0 = the context).
 * The frequencies are computed once per column and each distinct angle's
 * cos/sin once (the context's two halves share angles; a scale's angles
 * depend on the row for the first half, the column for the second): the
 * same expressions per element as the reference's, so the same values. */
static hart_status rope_tables(const hart_transformer *tf, int si, int l, float *cosv, float *sinv) {
    const hart_tf_config *g = &tf->cfg;
    int N = tf->N, T = g->ctx_tokens, hd = g->hd;
    float *invf = malloc(sizeof(float) * (size_t)hd);
    if (!invf) return hart_fail(HART_ENOMEM, "rope tables");
    if (si == 0) {
        int h2 = hd / 2;
        for (int c = 0; c < h2; c++) invf[c] = (float)(1.0 / pow(ROPE_THETA, (double)(float)(2 * c) / hd));
        for (int n = 0; n < N; n++)
            for (int t = 0; t < l; t++) {
                float p = tf->ctx_pos[n * T + t];
                float *cr = cosv + ((size_t)n * l + t) * hd, *sr = sinv + ((size_t)n * l + t) * hd;
                for (int c = 0; c < h2; c++) {
                    float a = invf[c] * p;
                    cr[c] = cr[c + h2] = (float)cos((double)a);
                    sr[c] = sr[c + h2] = (float)sin((double)a);
                }
            }
        free(invf);
        return HART_OK;
    }
    int pn = g->patch_nums[si], largest = g->patch_nums[g->n_scales - 1], q = hd / 4;
    for (int c = 0; c < q; c++) invf[c] = (float)(1.0 / pow(ROPE_THETA, (double)(float)(4 * c) / hd));
    /* per row r (first half, px) and column (second half, py): q cos/sin each */
    float *tab = malloc(sizeof(float) * 2 * (size_t)pn * q);
    for (int n = 0; n < N; n++) {
        float base = tf->ctx_pos[n * T + T - 1];
        if (tab) /* px(i) == py(i): one table of pn positions serves both halves */
            for (int i = 0; i < pn; i++) {
                float pos = (float)i / (float)pn * (float)largest + base;
                for (int c = 0; c < q; c++) {
                    float a = invf[c] * pos;
                    tab[(size_t)i * 2 * q + c] = (float)cos((double)a);
                    tab[(size_t)i * 2 * q + q + c] = (float)sin((double)a);
                }
            }
        for (int t = 0; t < l; t++) {
            int r = t / pn, cidx = t % pn;
            float *cr = cosv + ((size_t)n * l + t) * hd, *sr = sinv + ((size_t)n * l + t) * hd;
            for (int j = 0; j < hd; j++) {
                int c = j % (2 * q) % q, i = j < 2 * q ? r : cidx;
                if (tab) {
                    cr[j] = tab[(size_t)i * 2 * q + c];
                    sr[j] = tab[(size_t)i * 2 * q + q + c];
                } else { /* no memory for the table: per element */
                    float pos = (float)i / (float)pn * (float)largest + base, a = invf[c] * pos;
                    cr[j] = (float)cos((double)a);
                    sr[j] = (float)sin((double)a);
                }
            }
        }
    }
    free(tab);
    free(invf);
    return HART_OK;
}

/* The rotary tables of every scale for this batch, on the device. */
static hart_status upload_rope_tables(hart_transformer *tf) {
    const hart_tf_config *g = &tf->cfg;
    hart_status st = HART_OK;
    for (int si = 0; !st && si < g->n_scales; si++) {
        int l = si == 0 ? g->ctx_tokens : g->patch_nums[si] * g->patch_nums[si];
        size_t n = (size_t)tf->N * l * g->hd;
        float *cv = malloc(sizeof(float) * n), *sv = malloc(sizeof(float) * n);
        if (!cv || !sv) st = hart_fail(HART_ENOMEM, "rope tables");
        if (!st) st = rope_tables(tf, si, l, cv, sv);
        if (!st) st = tnew(tf->be, &tf->rope_c[si], 3, tf->N, l, g->hd, 0);
        if (!st) st = tnew(tf->be, &tf->rope_s[si], 3, tf->N, l, g->hd, 0);
        if (!st) st = hart_tensor_write(&tf->rope_c[si], cv, sizeof(float) * n);
        if (!st) st = hart_tensor_write(&tf->rope_s[si], sv, sizeof(float) * n);
        free(cv);
        free(sv);
    }
    return st;
}

/* In place on x [N,H,l,hd]: optional L2 normalisation (q scaled per head),
 * then x*cos + rotate_half(x)*sin with tables [N,l,hd]. */
static hart_status rope_apply(hart_tensor *x, const float *cosv, const float *sinv, const float *l2scale,
                              int l2) {
    int64_t N = x->shape[0], H = x->shape[1], l = x->shape[2], hd = x->shape[3], h2 = hd / 2;
    float *buf = malloc(sizeof(float) * (size_t)hart_tensor_numel(x));
    float *tmp = malloc(sizeof(float) * (size_t)hd);
    if (!buf || !tmp) { free(buf); free(tmp); return hart_fail(HART_ENOMEM, "rope"); }
    hart_status st = hart_tensor_read_f32(x, buf);
    for (int64_t n = 0; !st && n < N; n++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = 0; t < l; t++) {
                float *v = buf + (((size_t)n * H + h) * l + t) * hd;
                if (l2) {
                    double ss = 0;
                    for (int64_t j = 0; j < hd; j++) ss += (double)v[j] * v[j];
                    float nrm = (float)sqrt(ss);
                    if (nrm < 1e-12f) nrm = 1e-12f;
                    for (int64_t j = 0; j < hd; j++) {
                        v[j] = v[j] / nrm;
                        if (l2scale) v[j] *= l2scale[h];
                    }
                }
                if (!cosv) continue;
                const float *cs = cosv + ((size_t)n * l + t) * hd, *sn = sinv + ((size_t)n * l + t) * hd;
                for (int64_t j = 0; j < hd; j++) {
                    float rot = j < h2 ? -v[j + h2] : v[j - h2];
                    tmp[j] = v[j] * cs[j] + rot * sn[j];
                }
                memcpy(v, tmp, sizeof(float) * (size_t)hd);
            }
    if (!st) st = hart_tensor_write(x, buf, hart_tensor_nbytes(x));
    free(buf);
    free(tmp);
    return st;
}

/* y = norm(x) * s1p + shift; norm: RMSNorm with weight w (llama) or
 * LayerNorm without affine (gpt2); s1p NULL: y = norm(x) (disable_aln
 * without shared_aln: the reference's blocks apply ln_wo_grad alone) */
static hart_status modulate(hart_tensor *y, const hart_tensor *x, int llama, const hart_tensor *w,
                            const hart_tensor *s1p, const hart_tensor *shift, float eps) {
    if (llama) HART_TRY(hart_op_rms_norm(y, x, w, eps));
    else HART_TRY(hart_op_layer_norm(y, x, NULL, NULL, eps));
    if (!s1p) return HART_OK;
    HART_TRY(hart_op_binary(y, y, s1p, HART_BIN_MUL));
    return hart_op_binary(y, y, shift, HART_BIN_ADD);
}

/* o = attention of scale si's queries over the cache: dense, or sparse
 * under tf->sparse from its first sparse scale on */
static hart_status attend(hart_transformer *tf, int si, hart_tensor *o, const hart_tensor *q, const hart_tensor *k,
                          const hart_tensor *v, float scale) {
    const hart_tf_config *g = &tf->cfg;
    if (!hart_sparse_active(&tf->sparse, si, g->n_scales)) return hart_op_attention(o, q, k, v, NULL, scale);
    hart_sparse_geom geo = {g->ctx_tokens, g->n_scales, g->patch_nums, si, tf->sparse.block};
    double d = 1;
    HART_TRY(hart_sparse_attention(&tf->sparse, &geo, o, q, k, v, scale, &tf->sparse_cache, tf->sparse_quiet ? NULL : &d));
    if (tf->sparse_quiet) return HART_OK;
    tf->dens_sum[si] += d;
    tf->dens_n[si]++;
    return HART_OK;
}

void hart_tf_sparse_measure(hart_transformer *tf, int on) { tf->sparse_quiet = !on; }

void hart_tf_set_sparse(hart_transformer *tf, const hart_sparse_cfg *c) {
    hart_sparse_cache_free(&tf->sparse_cache);
    if (c) tf->sparse = *c;
    else hart_sparse_default(&tf->sparse);
}

double hart_tf_sparse_density(const hart_transformer *tf, int si) {
    if (si < 0 || si >= tf->cfg.n_scales || !tf->dens_n[si]) return -1;
    return tf->dens_sum[si] / tf->dens_n[si];
}

/* x += gate * a (gate NULL: x += a); a is scratch */
static hart_status gated_add(hart_tensor *x, hart_tensor *a, const hart_tensor *gate) {
    if (gate) HART_TRY(hart_op_binary(a, a, gate, HART_BIN_MUL));
    return hart_op_binary(x, x, a, HART_BIN_ADD);
}

/* The attention tail of both block forms: append this scale's k and v heads
 * (qT, kT, vT: [N,H,l,hd]) to the KV cache at tf->cur, attend q over the
 * cache, project, and add the result, gated unless plain, to x. a: [N,l,C]
 * F32 scratch that the caller reuses for the FFN. */
static hart_status attn_tail(hart_transformer *tf, tf_block *b, int si, hart_tensor *x, const hart_tensor *qT,
                             const hart_tensor *kT, const hart_tensor *vT, float scale, int plain, hart_tensor *a) {
    const hart_tf_config *g = &tf->cfg;
    int N = tf->N, C = g->C, H = g->H, hd = g->hd, l = (int)qT->shape[2], Lk = tf->cur + l;
    int perm[4] = {0, 2, 1, 3};
    hart_status st = HART_OK;
    hart_tensor ka = {0}, va = {0}, o = {0}, oT = {0}, view;
    HART_TRY_GOTO(st, hart_op_slice_assign(&b->kc, kT, 2, tf->cur));
    HART_TRY_GOTO(st, hart_op_slice_assign(&b->vc, vT, 2, tf->cur));
    HART_TRY_GOTO(st, unew(tf->be, HART_F32, &ka, 4, N, H, Lk, hd));
    HART_TRY_GOTO(st, unew(tf->be, HART_F32, &va, 4, N, H, Lk, hd));
    HART_TRY_GOTO(st, hart_op_slice(&ka, &b->kc, 2, 0));
    HART_TRY_GOTO(st, hart_op_slice(&va, &b->vc, 2, 0));
    HART_TRY_GOTO(st, tnew(tf->be, &o, 4, N, H, l, hd));
    HART_TRY_GOTO(st, attend(tf, si, &o, qT, &ka, &va, scale));
    HART_TRY_GOTO(st, unew(tf->be, HART_F32, &oT, 4, N, l, H, hd));
    HART_TRY_GOTO(st, hart_op_transpose(&oT, &o, perm));
    HART_TRY_GOTO(st, hart_tensor_reshape(&oT, 3, (int64_t[]){N, l, C}, &view));
    HART_TRY_GOTO(st, hart_op_linear(a, &view, &b->proj_w, &b->proj_b));
    HART_TRY_GOTO(st, gated_add(x, a, plain ? NULL : &b->mod[0]));
done:
    hart_tensor_free(&ka);
    hart_tensor_free(&va);
    hart_tensor_free(&o);
    hart_tensor_free(&oT);
    return st;
}

/* a = FFN(xn) from separate weights: SwiGLU (llama; gate and up not
 * stacked) or a GELU-tanh MLP (gpt2) */
static hart_status ffn_unstacked(hart_transformer *tf, tf_block *b, const hart_tensor *xn, hart_tensor *a) {
    const hart_tf_config *g = &tf->cfg;
    int N = tf->N, l = (int)xn->shape[1];
    hart_status st = HART_OK;
    hart_tensor h1 = {0}, h2 = {0};
    HART_TRY_GOTO(st, unew(tf->be, HART_F32, &h1, 3, N, l, g->mlp_hidden, 0));
    if (g->mlp_llama) {
        HART_TRY_GOTO(st, unew(tf->be, HART_F32, &h2, 3, N, l, g->mlp_hidden, 0));
        HART_TRY_GOTO(st, hart_op_linear(&h1, xn, &b->f1, NULL));
        HART_TRY_GOTO(st, hart_op_act(&h1, &h1, HART_ACT_SILU));
        HART_TRY_GOTO(st, hart_op_linear(&h2, xn, &b->f2, NULL));
        HART_TRY_GOTO(st, hart_op_binary(&h1, &h1, &h2, HART_BIN_MUL));
        HART_TRY_GOTO(st, hart_op_linear(a, &h1, &b->f3, NULL));
    } else {
        HART_TRY_GOTO(st, hart_op_linear(&h1, xn, &b->f1, &b->f1b));
        HART_TRY_GOTO(st, hart_op_act(&h1, &h1, HART_ACT_GELU_TANH));
        HART_TRY_GOTO(st, hart_op_linear(a, &h1, &b->f3, &b->f3b));
    }
done:
    hart_tensor_free(&h1);
    hart_tensor_free(&h2);
    return st;
}

static hart_status block_forward(hart_transformer *tf, tf_block *b, int si, hart_tensor *x, int l,
                                 const float *cosv, const float *sinv, const hart_tensor *rc, const hart_tensor *rs) {
    const hart_tf_config *g = &tf->cfg;
    int N = tf->N, C = g->C, H = g->H, hd = g->hd;
    int plain = g->disable_aln && !g->shared_aln; /* x += attn(norm(x)); x += ffn(norm(x)) */
    hart_status st = HART_OK;
    hart_tensor xn = {0}, q = {0}, k = {0}, v = {0}, qT = {0}, kT = {0}, vT = {0}, a = {0}, view;
    HART_TRY_GOTO(st, tnew(tf->be, &xn, 3, N, l, C, 0));
    HART_TRY_GOTO(st, modulate(&xn, x, g->attn_llama, &b->ln_w, plain ? NULL : &b->mod[2], &b->mod[4], g->norm_eps));
    HART_TRY_GOTO(st, tnew(tf->be, &q, 3, N, l, C, 0));
    HART_TRY_GOTO(st, tnew(tf->be, &k, 3, N, l, C, 0));
    HART_TRY_GOTO(st, tnew(tf->be, &v, 3, N, l, C, 0));
    HART_TRY_GOTO(st, hart_op_linear(&q, &xn, &b->wq, &b->bq));
    HART_TRY_GOTO(st, hart_op_linear(&k, &xn, &b->wk, &b->bk));
    HART_TRY_GOTO(st, hart_op_linear(&v, &xn, &b->wv, &b->bv));
    int perm[4] = {0, 2, 1, 3};
    HART_TRY_GOTO(st, tnew(tf->be, &qT, 4, N, H, l, hd));
    HART_TRY_GOTO(st, tnew(tf->be, &kT, 4, N, H, l, hd));
    HART_TRY_GOTO(st, tnew(tf->be, &vT, 4, N, H, l, hd));
    HART_TRY_GOTO(st, hart_tensor_reshape(&q, 4, (int64_t[]){N, l, H, hd}, &view)); HART_TRY_GOTO(st, hart_op_transpose(&qT, &view, perm));
    HART_TRY_GOTO(st, hart_tensor_reshape(&k, 4, (int64_t[]){N, l, H, hd}, &view)); HART_TRY_GOTO(st, hart_op_transpose(&kT, &view, perm));
    HART_TRY_GOTO(st, hart_tensor_reshape(&v, 4, (int64_t[]){N, l, H, hd}, &view)); HART_TRY_GOTO(st, hart_op_transpose(&vT, &view, perm));
    if (g->attn_l2_norm) { /* host helper (no released config uses it): reads q and k back */
        HART_TRY_GOTO(st, rope_apply(&qT, cosv, sinv, b->scale_mul, g->attn_l2_norm));
        HART_TRY_GOTO(st, rope_apply(&kT, cosv, sinv, NULL, g->attn_l2_norm));
    } else if (rc) { /* on the device, tables uploaded by begin */
        HART_TRY_GOTO(st, hart_op_rope_rows(&qT, &qT, rc, rs));
        HART_TRY_GOTO(st, hart_op_rope_rows(&kT, &kT, rc, rs));
    }
    float scale = g->attn_l2_norm ? 1.0f : (float)(0.25 / sqrt((double)hd));
    HART_TRY_GOTO(st, tnew(tf->be, &a, 3, N, l, C, 0));
    HART_TRY_GOTO(st, attn_tail(tf, b, si, x, &qT, &kT, &vT, scale, plain, &a));
    /* FFN */
    HART_TRY_GOTO(st, modulate(&xn, x, g->attn_llama, &b->ln_w, plain ? NULL : &b->mod[3], &b->mod[5], g->norm_eps));
    HART_TRY_GOTO(st, ffn_unstacked(tf, b, &xn, &a));
    HART_TRY_GOTO(st, gated_add(x, &a, plain ? NULL : &b->mod[1]));
done: {
    hart_tensor *ts[] = {&xn, &q, &k, &v, &qT, &kT, &vT, &a};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) hart_tensor_free(ts[i]);
}
    return st;
}

/* block_forward in f16 mode with the fused ops (op_list.h; docs/opencl.md):
 * norm (+ modulation) in one pass writing the GEMM's half operand, one GEMM
 * for q|k|v and one pass for the head split and the rotary embedding, one
 * GEMM for gate|up and one pass for SwiGLU writing half. The same values as
 * block_forward in f16 mode (the unfused ops round to half where these store
 * half), fewer launches and no f32 copies of the GEMM inputs. */
static hart_status block_forward_fused(hart_transformer *tf, tf_block *b, int si, hart_tensor *x, int l,
                                       const hart_tensor *rc, const hart_tensor *rs) {
    const hart_tf_config *g = &tf->cfg;
    int N = tf->N, C = g->C, H = g->H, hd = g->hd;
    int plain = g->disable_aln && !g->shared_aln;
    hart_dtype adt = hart_half_activations(tf->be) ? HART_F16 : HART_F32;
    const hart_tensor *nw = g->attn_llama ? &b->ln_w : NULL;
    hart_status st = HART_OK;
    hart_tensor xn = {0}, qkv = {0}, heads = {0}, a = {0}, h12 = {0}, h1 = {0}, qT, kT, vT;
    HART_TRY_GOTO(st, unew(tf->be, adt, &xn, 3, N, l, C, 0));
    HART_TRY_GOTO(st, hart_op_norm_mod(&xn, x, nw, NULL, plain ? NULL : &b->mod[2], plain ? NULL : &b->mod[4], g->norm_eps,
                                       g->attn_llama));
    HART_TRY_GOTO(st, unew(tf->be, HART_F32, &qkv, 3, N, l, 3 * C, 0));
    HART_TRY_GOTO(st, hart_op_linear(&qkv, &xn, &b->wqkv, &b->bqkv));
    HART_TRY_GOTO(st, unew(tf->be, HART_F32, &heads, 4, 3 * N, H, l, hd));
    HART_TRY_GOTO(st, hart_op_qkv_heads(&heads, &qkv, rc, rs));
    hart_tensor_free(&qkv);
    HART_TRY_GOTO(st, hart_tensor_rows(&heads, 0, N, &qT));
    HART_TRY_GOTO(st, hart_tensor_rows(&heads, N, N, &kT));
    HART_TRY_GOTO(st, hart_tensor_rows(&heads, 2 * N, N, &vT));
    HART_TRY_GOTO(st, unew(tf->be, HART_F32, &a, 3, N, l, C, 0));
    HART_TRY_GOTO(st, attn_tail(tf, b, si, x, &qT, &kT, &vT, (float)(0.25 / sqrt((double)hd)), plain, &a));
    /* FFN */
    HART_TRY_GOTO(st, hart_op_norm_mod(&xn, x, nw, NULL, plain ? NULL : &b->mod[3], plain ? NULL : &b->mod[5], g->norm_eps,
                                       g->attn_llama));
    if (b->f12.ndim) { /* llama: SwiGLU */
        HART_TRY_GOTO(st, unew(tf->be, HART_F32, &h12, 3, N, l, 2 * g->mlp_hidden, 0));
        HART_TRY_GOTO(st, hart_op_linear(&h12, &xn, &b->f12, NULL));
        HART_TRY_GOTO(st, unew(tf->be, adt, &h1, 3, N, l, g->mlp_hidden, 0));
        HART_TRY_GOTO(st, hart_op_swiglu(&h1, &h12));
        HART_TRY_GOTO(st, hart_op_linear(&a, &h1, &b->f3, NULL));
    } else {
        HART_TRY_GOTO(st, ffn_unstacked(tf, b, &xn, &a));
    }
    HART_TRY_GOTO(st, gated_add(x, &a, plain ? NULL : &b->mod[1]));
done: {
    hart_tensor *ts[] = {&xn, &qkv, &heads, &a, &h12, &h1};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) hart_tensor_free(ts[i]);
}
    return st;
}

hart_status hart_tf_forward(hart_transformer *tf, int si, const hart_tensor *x_in, hart_tensor *hidden,
                            hart_tensor *logits) {
    const hart_tf_config *g = &tf->cfg;
    if (!tf->N) return hart_fail(HART_EINVAL, "hart_tf_forward: no batch (call hart_tf_begin)");
    if (si < 0 || si >= g->n_scales) return hart_fail(HART_EINVAL, "hart_tf_forward: scale %d", si);
    int l = si == 0 ? g->ctx_tokens : g->patch_nums[si] * g->patch_nums[si];
    if (x_in->ndim != 3 || x_in->shape[0] != tf->N || x_in->shape[1] != l || x_in->shape[2] != g->C)
        return hart_fail(HART_EINVAL, "hart_tf_forward: input for scale %d must be [%d,%d,%d]", si, tf->N, l, g->C);
    if (tf->cur + l > tf->Lmax) return hart_fail(HART_EINVAL, "hart_tf_forward: KV cache full (scale %d out of order?)", si);
    if ((si == 0) != (tf->cur == 0)) return hart_fail(HART_EINVAL, "hart_tf_forward: scale %d out of order", si);
    hart_status st = HART_OK;
    hart_tensor x = {0}, xn = {0}, xl = {0};
    float *cosv = NULL, *sinv = NULL;
    if (g->attn_llama && g->attn_l2_norm) { /* host path; gpt2: absolute positions, no rotary embedding */
        cosv = malloc(sizeof(float) * (size_t)tf->N * l * g->hd);
        sinv = malloc(sizeof(float) * (size_t)tf->N * l * g->hd);
        if (!cosv || !sinv) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "rope tables"));
        HART_TRY_GOTO(st, rope_tables(tf, si, l, cosv, sinv));
    }
    HART_TRY_GOTO(st, tnew(tf->be, &x, 3, tf->N, l, g->C, 0));
    HART_TRY_GOTO(st, hart_op_copy(&x, x_in));
    const hart_tensor *rc = g->attn_llama ? &tf->rope_c[si] : NULL, *rs = g->attn_llama ? &tf->rope_s[si] : NULL;
    for (int i = 0; i < g->depth; i++) {
        tf_block *b = &tf->blocks[i];
        if (b->wqkv.ndim && tf->be->precision == HART_PREC_F16)
            HART_TRY_GOTO(st, block_forward_fused(tf, b, si, &x, l, rc, rs));
        else
            HART_TRY_GOTO(st, block_forward(tf, b, si, &x, l, cosv, sinv, rc, rs));
    }
    tf->cur += l;
    if (hidden) HART_TRY_GOTO(st, hart_op_copy(hidden, &x));
    if (logits) { /* all l positions, or only the last one when logits has one row */
        int lo = logits->ndim == 3 && logits->shape[1] == 1 ? 1 : l;
        hart_tensor *src = &x;
        if (lo != l) {
            HART_TRY_GOTO(st, tnew(tf->be, &xl, 3, tf->N, 1, g->C, 0));
            HART_TRY_GOTO(st, hart_op_slice(&xl, &x, 1, l - 1));
            src = &xl;
        }
        if (tf->be->precision == HART_PREC_F16) { /* one pass, writing the head GEMM's half operand */
            hart_dtype adt = hart_half_activations(tf->be) ? HART_F16 : HART_F32;
            HART_TRY_GOTO(st, hart_tensor_new4(tf->be, adt, &xn, 3, tf->N, lo, g->C, 0));
            HART_TRY_GOTO(st, hart_op_norm_mod(&xn, src, g->attn_llama ? &tf->head_nm_ln_w : NULL, NULL, &tf->head_scale1p,
                                               &tf->head_shift, g->norm_eps, g->attn_llama));
        } else {
            HART_TRY_GOTO(st, tnew(tf->be, &xn, 3, tf->N, lo, g->C, 0));
            HART_TRY_GOTO(st, modulate(&xn, src, g->attn_llama, &tf->head_nm_ln_w, &tf->head_scale1p, &tf->head_shift, g->norm_eps));
        }
        HART_TRY_GOTO(st, hart_op_linear(logits, &xn, &tf->head_w, &tf->head_b));
    }
done:
    free(cosv);
    free(sinv);
    hart_tensor_free(&x);
    hart_tensor_free(&xn);
    hart_tensor_free(&xl);
    return st;
}

hart_status hart_tf_diff_cond(hart_transformer *tf, const hart_tensor *hidden, const hart_tensor *codes,
                              hart_tensor *cond) {
    const hart_tf_config *g = &tf->cfg;
    if (!tf->N) return hart_fail(HART_EINVAL, "hart_tf_diff_cond: no batch");
    int B = tf->N / 2;
    if (codes->ndim != 3 || codes->shape[0] != B || codes->shape[2] != g->Cvae)
        return hart_fail(HART_EINVAL, "hart_tf_diff_cond: codes must be [%d,l,%d]", B, g->Cvae);
    int64_t l = codes->shape[1];
    hart_status st = HART_OK;
    hart_tensor e = {0}, s = {0}, half, hh, sh;
    HART_TRY_GOTO(st, tnew(tf->be, &e, 3, B, l, g->C, 0));
    HART_TRY_GOTO(st, hart_op_linear(&e, codes, &tf->word_w, &tf->word_b));
    HART_TRY_GOTO(st, tnew(tf->be, &s, 3, tf->N, l, g->C, 0));
    for (int k = 0; k < 2; k++) {
        HART_TRY_GOTO(st, hart_tensor_rows(hidden, (int64_t)k * B, B, &hh));
        HART_TRY_GOTO(st, hart_tensor_rows(&s, (int64_t)k * B, B, &sh));
        HART_TRY_GOTO(st, hart_op_binary(&sh, &hh, &e, HART_BIN_ADD));
    }
    (void)half;
    if (g->attn_llama) HART_TRY_GOTO(st, hart_op_rms_norm(cond, &s, &tf->dec_norm_w, g->norm_eps));
    else HART_TRY_GOTO(st, hart_op_layer_norm(cond, &s, &tf->dec_norm_w, &tf->dec_norm_b, g->norm_eps));
done:
    hart_tensor_free(&e);
    hart_tensor_free(&s);
    return st;
}
