/* The t2i pipeline: owns the order of the generation steps, nothing else. */
#include "pipeline/t2i.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/checkpoint.h"
#include "models/hart/diffusion_head.h"
#include "models/hart/transformer.h"
#include "models/hart/sampler.h"
#include "models/hart/autoencoder.h"
#include "ops/ops.h"

struct hart_t2i {
    hart_backend *be;
    hart_transformer *tf;
    hart_diffhead *dh;
    hart_vae *vae;
    hart_checkpoint tok;       /* tokenizer checkpoint (codebook) */
    float *codebook;           /* [V, Cvae] host */
    hart_tensor codebook_t;    /* same, as a tensor on be */
    int V, Cvae, img;
};

void hart_t2i_default_opts(hart_t2i_opts *o) {
    memset(o, 0, sizeof *o);
    o->cfg = 4.5;
    o->temperature = 1.0f;
}

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

hart_status hart_t2i_load(hart_backend *be, const char *model_dir, hart_t2i **out) {
    *out = NULL;
    hart_t2i *p = calloc(1, sizeof *p);
    if (!p) return hart_fail(HART_ENOMEM, "pipeline");
    p->be = be ? be : hart_backend_cpu();
    hart_status st = HART_OK;
    char llm[PATH_MAX], tokdir[PATH_MAX], cfgp[PATH_MAX + 16];
    cJSON *lcfg = NULL;
    snprintf(llm, sizeof llm, "%s/llm", model_dir);
    if (!is_dir(llm)) HART_TRY_GOTO(st, hart_fail(HART_EIO, "model folder %s: no llm/ subfolder", model_dir));
    snprintf(cfgp, sizeof cfgp, "%s/config.json", llm);
    HART_TRY_GOTO(st, hart_json_load(cfgp, &lcfg));
    const char *vp = NULL;
    HART_TRY_GOTO(st, hart_cfg_str_or(lcfg, "vae_path", NULL, &vp));
    if (!vp) snprintf(tokdir, sizeof tokdir, "%s/tokenizer", model_dir);
    else if (vp[0] == '/' || is_dir(vp)) snprintf(tokdir, sizeof tokdir, "%s", vp);
    else snprintf(tokdir, sizeof tokdir, "%s/%s", model_dir, vp);
    if (!is_dir(tokdir)) HART_TRY_GOTO(st, hart_fail(HART_EIO, "%s: tokenizer folder %s not found (vae_path)", cfgp, tokdir));
    /* tokenizer sizes and codebook */
    HART_TRY_GOTO(st, hart_ckpt_open(tokdir, "config.json", NULL, &p->tok));
    int64_t v;
    HART_TRY_GOTO(st, hart_cfg_int(p->tok.config, "vocab_size", &v)); p->V = (int)v;
    HART_TRY_GOTO(st, hart_cfg_int(p->tok.config, "z_channels", &v)); p->Cvae = (int)v;
    if (p->V < 1 || p->Cvae < 1) HART_TRY_GOTO(st, hart_fail(HART_EFORMAT, "%s/config.json: bad vocab_size/z_channels", tokdir));
    hart_tensor cb;
    HART_TRY_GOTO(st, hart_ckpt_get(&p->tok, "vae.quantize.embedding.weight", 2, (int64_t[]){p->V, p->Cvae}, &cb));
    p->codebook = malloc(sizeof(float) * (size_t)p->V * p->Cvae);
    if (!p->codebook) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "codebook"));
    HART_TRY_GOTO(st, hart_tensor_read_f32(&cb, p->codebook));
    hart_tensor cbh = hart_tensor_wrap(p->codebook, HART_F32, 2, (int64_t[]){p->V, p->Cvae});
    HART_TRY_GOTO(st, hart_tensor_to(p->be, &cbh, &p->codebook_t));
    /* transformer + diffusion head */
    HART_TRY_GOTO(st, hart_tf_load(p->be, llm, p->V, p->Cvae, &p->tf));
    const hart_tf_config *c = hart_tf_get_config(p->tf);
    HART_TRY_GOTO(st, hart_diff_load(p->be, hart_tf_checkpoint(p->tf), "diffloss.", p->Cvae, c->C, c->diff_width, c->diff_depth,
                      c->sampling_steps, &p->dh));
    hart_tf_release_checkpoint(p->tf);
    hart_ckpt_close(&p->tok); /* only its config and codebook were needed */
    /* tokenizer network */
    HART_TRY_GOTO(st, hart_vae_load(p->be, tokdir, &p->vae));
    const hart_vae_info *vi = hart_vae_get_info(p->vae);
    if (vi->z_channels != p->Cvae || vi->vocab_size != p->V)
        HART_TRY_GOTO(st, hart_fail(HART_EMISMATCH, "tokenizer (z %d, vocab %d) does not match its config (z %d, vocab %d)",
                     vi->z_channels, vi->vocab_size, p->Cvae, p->V));
    if (vi->n_scales != c->n_scales)
        HART_TRY_GOTO(st, hart_fail(HART_EMISMATCH, "tokenizer has %d scales, transformer patch_nums has %d", vi->n_scales, c->n_scales));
    for (int i = 0; i < c->n_scales; i++)
        if (vi->patch_nums[i] != c->patch_nums[i])
            HART_TRY_GOTO(st, hart_fail(HART_EMISMATCH, "patch_nums[%d]: tokenizer %d vs transformer %d", i, vi->patch_nums[i],
                         c->patch_nums[i]));
    p->img = vi->latent_hw * vi->downsample;
    cJSON_Delete(lcfg);
    *out = p;
    return HART_OK;
done:
    cJSON_Delete(lcfg);
    hart_fail_ctx(st, "loading HART model %s", model_dir);
    hart_t2i_free(p);
    return st;
}

void hart_t2i_free(hart_t2i *p) {
    if (!p) return;
    hart_tf_free(p->tf);
    hart_diff_free(p->dh);
    if (p->vae) hart_vae_free(p->vae);
    hart_tensor_free(&p->codebook_t);
    free(p->codebook);
    hart_ckpt_close(&p->tok);
    free(p);
}

void hart_t2i_context_shape(const hart_t2i *p, int *tokens, int *dim) {
    const hart_tf_config *c = hart_tf_get_config(p->tf);
    *tokens = c->ctx_tokens;
    *dim = c->ctx_dim;
}

int hart_t2i_image_size(const hart_t2i *p) { return p->img; }

int hart_t2i_diffusion_steps(const hart_t2i *p) { return hart_diff_num_steps(p->dh); }

const hart_vae *hart_t2i_tokenizer(const hart_t2i *p) { return p->vae; }

static hart_status dump(const hart_t2i_opts *o, const char *name, const hart_tensor *t) {
    if (!o->dump) return HART_OK;
    hart_tensor h;
    HART_TRY(hart_tensor_to(NULL, t, &h));
    hart_status st = hart_st_writer_add(o->dump, name, &h);
    hart_tensor_free(&h);
    return st;
}

static hart_status dumpf(const hart_t2i_opts *o, const hart_tensor *t, const char *fmt, int k) {
    char nm[64];
    snprintf(nm, sizeof nm, fmt, k);
    return dump(o, nm, t);
}

/* RNG key of image b of the batch: (seed, index) */
static void image_key(const hart_t2i_opts *o, int b, uint64_t *seed, uint32_t *index) {
    if (o->seeds) {
        *seed = o->seeds[b];
        *index = o->image_index;
    } else {
        *seed = o->seed;
        *index = o->image_index + (uint32_t)b;
    }
}

/* noise for the diffusion sampler: replay or RNG keyed per image */
typedef struct {
    const hart_t2i_opts *o;
    int B, l, C;
} noise_ctx;

static hart_status noise_fn(void *vctx, int draw, int64_t rows, int64_t cols, float *out) {
    noise_ctx *n = vctx;
    if (n->o->replay) {
        char nm[64];
        snprintf(nm, sizeof nm, "gen.diff.noise.%d", draw);
        hart_tensor t;
        HART_TRY(hart_st_tensor(n->o->replay, nm, &t));
        if (t.dtype != HART_F32 || hart_tensor_numel(&t) != rows * cols)
            return hart_fail(HART_EINVAL, "replay %s: expected %lld x %lld float32", nm, (long long)rows, (long long)cols);
        return hart_tensor_read_f32(&t, out);
    }
    int64_t half_rows = (int64_t)n->B * n->l;
    for (int64_t r = 0; r < rows; r++) {
        int64_t half = r / half_rows, rr = r % half_rows, img = rr / n->l, tok = rr % n->l;
        uint64_t seed;
        uint32_t index;
        image_key(n->o, (int)img, &seed, &index);
        for (int64_t c = 0; c < cols; c++) {
            uint64_t idx = (uint64_t)half * (uint64_t)(n->l * cols) + (uint64_t)(tok * cols + c);
            out[r * cols + c] = hart_gen_normal(seed, index, HART_SITE_DIFF, (uint32_t)draw, idx);
        }
    }
    return HART_OK;
}

/* indices for scale si: replayed or sampled from the guided logits (mixed
 * [B,lo,V], filtered in place) */
static hart_status choose_indices(const hart_t2i *p, const hart_t2i_opts *o, int si, int B, int lo, float *mixed,
                                  int64_t *idx) {
    int V = p->V;
    if (o->replay) {
        char nm[64];
        snprintf(nm, sizeof nm, "gen.si%d.idx", si);
        hart_tensor t;
        HART_TRY(hart_st_tensor(o->replay, nm, &t));
        if (t.dtype != HART_I64 || t.ndim != 2 || t.shape[0] != B || t.shape[1] != lo)
            return hart_fail(HART_EINVAL, "replay %s: expected I64 [%d,%d]", nm, B, lo);
        memcpy(idx, t.data, sizeof(int64_t) * (size_t)B * lo);
        for (int i = 0; i < B * lo; i++)
            if (idx[i] < 0 || idx[i] >= V) return hart_fail(HART_EINVAL, "replay %s: index %lld out of range", nm, (long long)idx[i]);
    }
    int k = hart_topk_for_scale(si, o->top_k, V);
    for (int b = 0; b < B; b++) {
        uint64_t seed;
        uint32_t index;
        image_key(o, b, &seed, &index);
        for (int j = 0; j < lo; j++) {
            float *row = mixed + ((size_t)b * lo + j) * V;
            HART_TRY(hart_filter_top_k_top_p(row, V, k, o->top_p));
            if (!o->replay) {
                double u = hart_gen_uniform(seed, index, HART_SITE_TOKENS, (uint32_t)si, (uint64_t)j);
                idx[(size_t)b * lo + j] = hart_sample_categorical(row, V, u);
            }
        }
    }
    return HART_OK;
}

/* codes [B,lo,Cvae]: codebook rows, or the Gumbel-softmax mixture */
static hart_status make_codes(const hart_t2i *p, const hart_t2i_opts *o, int si, double ratio, int B, int lo,
                              const float *filtered, const int64_t *idx, int smooth, float *codes) {
    int V = p->V, Z = p->Cvae;
    if (!smooth) {
        for (int64_t r = 0; r < (int64_t)B * lo; r++)
            memcpy(codes + r * Z, p->codebook + idx[r] * Z, sizeof(float) * (size_t)Z);
        return HART_OK;
    }
    float tau = (float)fmax(0.27 * (1 - ratio * 0.95), 0.005);
    float *pr = malloc(sizeof(float) * (size_t)V);
    double *u = malloc(sizeof(double) * (size_t)V);
    if (!pr || !u) { free(pr); free(u); return hart_fail(HART_ENOMEM, "gumbel"); }
    for (int b = 0; b < B; b++)
        for (int j = 0; j < lo; j++) {
            uint64_t seed;
            uint32_t index;
            image_key(o, b, &seed, &index);
            for (int v = 0; v < V; v++)
                u[v] = hart_gen_uniform(seed, index, HART_SITE_SMOOTH, (uint32_t)si, (uint64_t)j * V + v);
            hart_gumbel_softmax(pr, filtered + ((size_t)b * lo + j) * V, V, (float)(1 + ratio), tau, u);
            float *dst = codes + ((size_t)b * lo + j) * Z;
            for (int z = 0; z < Z; z++) {
                double s = 0;
                for (int v = 0; v < V; v++) s += (double)pr[v] * p->codebook[(size_t)v * Z + z];
                dst[z] = (float)s;
            }
        }
    free(pr);
    free(u);
    return HART_OK;
}

/* clock reading after the device has finished (timings requested only) */
#define STAMP(var)                                                                            \
    do {                                                                                      \
        if (tm) {                                                                             \
            HART_TRY_GOTO(st, hart_backend_wait(p->be));                                                     \
            (var) = hart_clock();                                                             \
        }                                                                                     \
    } while (0)

hart_status hart_t2i_generate(hart_t2i *p, const hart_tensor *context, const hart_tensor *mask,
                              const hart_tensor *pos, const hart_t2i_opts *opts, hart_tensor *image) {
    hart_t2i_opts dflt;
    if (!opts) { hart_t2i_default_opts(&dflt); opts = &dflt; }
    const hart_tf_config *c = hart_tf_get_config(p->tf);
    if (!(opts->cfg >= 0) || !isfinite(opts->cfg)) return hart_fail(HART_EINVAL, "cfg must be a finite number >= 0");
    if (opts->top_p < 0 || opts->top_p > 1) return hart_fail(HART_EINVAL, "top-p must be in [0,1]");
    if (context->ndim != 3) return hart_fail(HART_EINVAL, "context must be [B,T,D]");
    int B = (int)context->shape[0], N = 2 * B, S = c->n_scales, Z = p->Cvae, V = p->V, C = c->C;
    int P = c->patch_nums[S - 1];
    hart_status st = HART_OK;
    hart_tensor x = {0}, hidden = {0}, logits = {0}, mixed_t = {0}, idx_t = {0}, hmap = {0}, fhat = {0}, next = {0},
                codes_t = {0}, cond = {0}, dout = {0}, img = {0};
    float *L = NULL, *mixed = NULL, *codes = NULL, *dbuf = NULL, *fh = NULL;
    int64_t *idx = NULL;
    memset(image, 0, sizeof *image);
    hart_t2i_timings *tm = opts->timings;
    double t_start = 0, t0 = 0, t1 = 0, t2 = 0;
    if (tm) {
        double text = tm->text_s;
        memset(tm, 0, sizeof *tm);
        tm->text_s = text;
        tm->images = B;
        tm->n_scales = S;
        memcpy(tm->patch_nums, c->patch_nums, sizeof(int) * (size_t)S);
    }
    if (opts->sparse && opts->sparse->block < 1) return hart_fail(HART_EINVAL, "sparse attention: block size must be >= 1");
    if (opts->sparse && opts->sparse->kind != HART_SPARSE_NONE && opts->sparse->from_scale >= c->n_scales)
        return hart_fail(HART_EINVAL, "--sparse-from-scale %d: this model has scales 0..%d", opts->sparse->from_scale,
                         c->n_scales - 1);
    hart_tf_set_sparse(p->tf, opts->sparse);
    STAMP(t_start);
    HART_TRY_GOTO(st, hart_tf_begin_uncond(p->tf, context, mask, pos, opts->uncond_context, opts->uncond_mask, opts->uncond_pos));
    HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &fhat, 4, B, Z, P, P));
    HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &x, 3, N, c->ctx_tokens, C, 0));
    HART_TRY_GOTO(st, hart_tf_first_input(p->tf, &x));
    STAMP(t0);
    if (tm) tm->begin_s = t0 - t_start;
    for (int si = 0; si < S; si++) {
        int pn = c->patch_nums[si];
        int l = si == 0 ? c->ctx_tokens : pn * pn, lo = si == 0 ? 1 : l;
        if (si == 0 && pn != 1) HART_TRY_GOTO(st, hart_fail(HART_EUNSUPPORTED, "patch_nums[0] must be 1 (got %d)", pn));
        hart_tensor_free(&hidden);
        hart_tensor_free(&logits);
        HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &hidden, 3, N, l, C, 0));
        HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &logits, 3, N, lo, V, 0));
        STAMP(t0);
        HART_TRY_GOTO(st, hart_tf_forward(p->tf, si, &x, &hidden, &logits));
        STAMP(t1);
        /* guidance */
        free(L); free(mixed); free(idx); free(codes);
        L = malloc(sizeof(float) * (size_t)N * lo * V);
        mixed = malloc(sizeof(float) * (size_t)B * lo * V);
        idx = malloc(sizeof(int64_t) * (size_t)B * lo);
        codes = malloc(sizeof(float) * (size_t)B * lo * Z);
        if (!L || !mixed || !idx || !codes) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "scale %d", si));
        HART_TRY_GOTO(st, hart_tensor_read_f32(&logits, L));
        double t = hart_cfg_ramp(opts->cfg, si, S), ratio = hart_cfg_ramp(1.0, si, S);
        for (int b = 0; b < B; b++)
            hart_cfg_mix(mixed + (size_t)b * lo * V, L + (size_t)b * lo * V, L + (size_t)(b + B) * lo * V,
                         (int64_t)lo * V, t);
        if (opts->dump) {
            hart_tensor mt = hart_tensor_wrap(mixed, HART_F32, 3, (int64_t[]){B, lo, V});
            HART_TRY_GOTO(st, dumpf(opts, &mt, "gen.si%d.logits_cfg", si));
        }
        HART_TRY_GOTO(st, choose_indices(p, opts, si, B, lo, mixed, idx));
        hart_tensor it = hart_tensor_wrap(idx, HART_I64, 2, (int64_t[]){B, lo});
        HART_TRY_GOTO(st, dumpf(opts, &it, "gen.si%d.idx", si));
        HART_TRY_GOTO(st, make_codes(p, opts, si, ratio, B, lo, mixed, idx, opts->more_smooth, codes));
        STAMP(t2);
        if (tm) {
            tm->transformer_s[si] = t1 - t0;
            tm->sample_s[si] = t2 - t1;
        }
        hart_tensor_free(&codes_t);
        hart_tensor ch = hart_tensor_wrap(codes, HART_F32, 3, (int64_t[]){B, lo, Z});
        if (si < S - 1) {
            /* h [B,Z,pn,pn] */
            hart_tensor_free(&hmap);
            HART_TRY_GOTO(st, hart_tensor_to(p->be, &ch, &codes_t));
            HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &hmap, 4, B, Z, pn, pn));
            hart_tensor hv;
            HART_TRY_GOTO(st, hart_tensor_reshape(&hmap, 3, (int64_t[]){B, Z, lo}, &hv));
            HART_TRY_GOTO(st, hart_op_transpose(&hv, &codes_t, (int[]){0, 2, 1}));
            HART_TRY_GOTO(st, dumpf(opts, &hmap, "gen.si%d.h", si));
            int pn1 = c->patch_nums[si + 1];
            hart_tensor_free(&next);
            HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &next, 4, B, Z, pn1, pn1));
            HART_TRY_GOTO(st, hart_vae_next_scale(p->vae, si, &fhat, &hmap, &next));
            HART_TRY_GOTO(st, dumpf(opts, &fhat, "gen.si%d.f_hat", si));
            HART_TRY_GOTO(st, dumpf(opts, &next, "gen.si%d.next_input", si));
            hart_tensor_free(&x);
            HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &x, 3, N, pn1 * pn1, C, 0));
            HART_TRY_GOTO(st, hart_tf_embed_next(p->tf, si + 1, &next, &x));
            STAMP(t1);
            if (tm) tm->next_s[si] = t1 - t2;
        } else {
            /* diffusion condition uses the discrete codes even on the smooth path */
            float *disc = malloc(sizeof(float) * (size_t)B * lo * Z);
            if (!disc) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "codes"));
            st = make_codes(p, opts, si, ratio, B, lo, mixed, idx, 0, disc);
            hart_tensor dh = hart_tensor_wrap(disc, HART_F32, 3, (int64_t[]){B, lo, Z});
            if (!st) st = hart_tensor_to(p->be, &dh, &codes_t);
            free(disc);
            HART_TRY_GOTO(st, st);
            HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &cond, 3, N, l, C, 0));
            HART_TRY_GOTO(st, hart_tf_diff_cond(p->tf, &hidden, &codes_t, &cond));
            hart_tensor cond2;
            HART_TRY_GOTO(st, hart_tensor_reshape(&cond, 2, (int64_t[]){(int64_t)N * l, C}, &cond2));
            HART_TRY_GOTO(st, dump(opts, "gen.diff.cond", &cond2));
            HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &dout, 2, (int64_t)N * l, Z, 0, 0));
            noise_ctx nc = {opts, B, l, Z};
            hart_noise_source ns = {noise_fn, &nc};
            HART_TRY_GOTO(st, hart_diff_sample(p->dh, &cond2, t, opts->temperature, &ns, &dout));
            HART_TRY_GOTO(st, dump(opts, "gen.diff.out", &dout));
            /* f_hat += (codes + residual) as a [B,Z,P,P] map */
            dbuf = malloc(sizeof(float) * (size_t)N * l * Z);
            fh = malloc(sizeof(float) * (size_t)B * Z * l);
            if (!dbuf || !fh) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "final scale"));
            HART_TRY_GOTO(st, hart_tensor_read_f32(&dout, dbuf));
            HART_TRY_GOTO(st, hart_tensor_read_f32(&fhat, fh));
            for (int b = 0; b < B; b++)
                for (int z = 0; z < Z; z++)
                    for (int k = 0; k < l; k++)
                        fh[((size_t)b * Z + z) * l + k] +=
                            codes[((size_t)b * l + k) * Z + z] + dbuf[((size_t)b * l + k) * Z + z];
            HART_TRY_GOTO(st, hart_tensor_write(&fhat, fh, sizeof(float) * (size_t)B * Z * l));
            HART_TRY_GOTO(st, dump(opts, "gen.final_f_hat", &fhat));
            STAMP(t1);
            if (tm) tm->diffusion_s = t1 - t2;
        }
        double dens = hart_tf_sparse_density(p->tf, si);
        if (opts->sparse_density) opts->sparse_density[si] = dens;
        if (opts->verbose && dens >= 0) {
            char spec[64];
            hart_sparse_format(opts->sparse, spec, sizeof spec);
            fprintf(stderr, "hart: scale %d/%d (%dx%d) done, sparse attention %s: density %.4f\n", si + 1, S, pn, pn,
                    spec, dens);
        } else if (opts->verbose) {
            fprintf(stderr, "hart: scale %d/%d (%dx%d) done%s\n", si + 1, S, pn, pn,
                    opts->sparse && opts->sparse->kind != HART_SPARSE_NONE ? ", dense attention" : "");
        }
        if (opts->progress) opts->progress(opts->progress_arg, si + 1, S + 1);
    }
    if (opts->skip_decode) {
        HART_TRY_GOTO(st, hart_tensor_to(NULL, &fhat, image));
        STAMP(t1);
        if (tm) tm->total_s = t1 - t_start;
        goto done;
    }
    /* decode: image in [-1,1] -> [0,1] */
    STAMP(t0);
    HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &img, 4, B, 3, p->img, p->img));
    HART_TRY_GOTO(st, hart_vae_decode(p->vae, &fhat, &img));
    HART_TRY_GOTO(st, hart_op_scale(&img, &img, 1.0f, 1.0f));
    HART_TRY_GOTO(st, hart_op_scale(&img, &img, 0.5f, 0.0f));
    HART_TRY_GOTO(st, hart_tensor_to(NULL, &img, image));
    STAMP(t1);
    if (tm) {
        tm->decode_s = t1 - t0;
        tm->total_s = t1 - t_start;
    }
    if (opts->progress) opts->progress(opts->progress_arg, S + 1, S + 1);
    HART_TRY_GOTO(st, dump(opts, "gen.image", image));
done:
    free(L); free(mixed); free(idx); free(codes); free(dbuf); free(fh);
    {
        hart_tensor *ts[] = {&x, &hidden, &logits, &mixed_t, &idx_t, &hmap, &fhat, &next, &codes_t, &cond, &dout, &img};
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) hart_tensor_free(ts[k]);
    }
    if (st) hart_tensor_free(image);
    return st;
}
