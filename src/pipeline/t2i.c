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

/* What the loop needs from the host, put on the device once before the
 * first scale: the RNG key of every image and, in replay mode, the recorded
 * indices of every scale and the diffusion noise of every draw. */
typedef struct {
    int B, l, n_noise;
    int replay;
    hart_tensor keys;                  /* I64 [B,2]: (seed, image index) */
    hart_tensor idx[HART_MAX_SCALES];  /* replay: I64 [B, lo] */
    hart_tensor *noise;                /* replay: draw j, F32 */
} loop_inputs;

static void loop_inputs_free(loop_inputs *in) {
    hart_tensor_free(&in->keys);
    for (int i = 0; i < HART_MAX_SCALES; i++) hart_tensor_free(&in->idx[i]);
    for (int j = 0; j < in->n_noise; j++) hart_tensor_free(&in->noise[j]);
    free(in->noise);
}

static hart_status upload_inputs(const hart_t2i *p, const hart_t2i_opts *o, const hart_tf_config *c, int B,
                                 loop_inputs *in) {
    int S = c->n_scales, P = c->patch_nums[S - 1];
    in->B = B;
    in->l = P * P;
    int64_t *k = malloc(sizeof(int64_t) * 2 * (size_t)B);
    if (!k) return hart_fail(HART_ENOMEM, "rng keys");
    for (int b = 0; b < B; b++) {
        uint64_t seed;
        uint32_t index;
        image_key(o, b, &seed, &index);
        k[2 * b] = (int64_t)seed;
        k[2 * b + 1] = index;
    }
    hart_tensor kh = hart_tensor_wrap(k, HART_I64, 2, (int64_t[]){B, 2});
    hart_status st = hart_tensor_to(p->be, &kh, &in->keys);
    free(k);
    HART_TRY(st);
    if (!o->replay) return HART_OK;
    in->replay = 1;
    for (int si = 0; si < S; si++) {
        int lo = si == 0 ? 1 : c->patch_nums[si] * c->patch_nums[si];
        char nm[64];
        snprintf(nm, sizeof nm, "gen.si%d.idx", si);
        hart_tensor t;
        HART_TRY(hart_st_tensor(o->replay, nm, &t));
        if (t.dtype != HART_I64 || t.ndim != 2 || t.shape[0] != B || t.shape[1] != lo)
            return hart_fail(HART_EINVAL, "replay %s: expected I64 [%d,%d]", nm, B, lo);
        const int64_t *v = t.data;
        for (int i = 0; i < B * lo; i++)
            if (v[i] < 0 || v[i] >= p->V) return hart_fail(HART_EINVAL, "replay %s: index %lld out of range", nm, (long long)v[i]);
        HART_TRY(hart_tensor_to(p->be, &t, &in->idx[si]));
    }
    int K = hart_diff_num_steps(p->dh);
    in->noise = calloc((size_t)K + 1, sizeof *in->noise);
    if (!in->noise) return hart_fail(HART_ENOMEM, "replay noise");
    in->n_noise = K + 1;
    for (int j = 0; j <= K; j++) {
        char nm[64];
        snprintf(nm, sizeof nm, "gen.diff.noise.%d", j);
        hart_tensor t;
        HART_TRY(hart_st_tensor(o->replay, nm, &t));
        if (t.dtype != HART_F32) return hart_fail(HART_EINVAL, "replay %s: expected float32", nm);
        HART_TRY(hart_tensor_to(p->be, &t, &in->noise[j]));
    }
    return HART_OK;
}

/* noise for the diffusion sampler, on the device: replayed or keyed per image
 * (rows ordered (guidance half, image, token), index within the draw =
 * half·l·cols + token·cols + column, as hart_op_randn lays it out) */
static hart_status noise_fn(void *vctx, int draw, hart_tensor *out) {
    loop_inputs *in = vctx;
    int64_t rows = out->shape[0], cols = out->shape[1];
    if (in->replay) {
        if (draw >= in->n_noise || hart_tensor_numel(&in->noise[draw]) != rows * cols)
            return hart_fail(HART_EINVAL, "replay gen.diff.noise.%d: expected %lld x %lld float32", draw, (long long)rows,
                             (long long)cols);
        return hart_op_copy(out, &in->noise[draw]);
    }
    int64_t per_half = (int64_t)in->B * in->l;
    if (rows % per_half) return hart_fail(HART_EINVAL, "diffusion noise: %lld rows for %d images", (long long)rows, in->B);
    hart_tensor v;
    HART_TRY(hart_tensor_reshape(out, 4, (int64_t[]){rows / per_half, in->B, in->l, cols}, &v));
    return hart_op_randn(&v, &in->keys, HART_SITE_DIFF, draw);
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
    hart_tensor x = {0}, hidden = {0}, logits = {0}, mixed = {0}, idx_own = {0}, probs = {0}, codes = {0}, disc = {0},
                hmap = {0}, fhat = {0}, next = {0}, cond = {0}, dout = {0}, sum = {0}, sum_t = {0}, img = {0};
    loop_inputs in = {0};
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
    hart_tf_sparse_measure(p->tf, opts->verbose || opts->sparse_density);
    STAMP(t_start);
    /* everything the loop takes from the host goes to the device here, once */
    HART_TRY_GOTO(st, upload_inputs(p, opts, c, B, &in));
    HART_TRY_GOTO(st, hart_tf_begin_uncond(p->tf, context, mask, pos, opts->uncond_context, opts->uncond_mask, opts->uncond_pos));
    HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &fhat, 4, B, Z, P, P));
    HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &x, 3, N, c->ctx_tokens, C, 0));
    HART_TRY_GOTO(st, hart_tf_first_input(p->tf, &x));
    STAMP(t0);
    if (tm) tm->begin_s = t0 - t_start;
    /* from here to the image nothing is read back: every step is an op on p->be */
    for (int si = 0; si < S; si++) {
        int pn = c->patch_nums[si];
        int l = si == 0 ? c->ctx_tokens : pn * pn, lo = si == 0 ? 1 : l;
        if (si == 0 && pn != 1) HART_TRY_GOTO(st, hart_fail(HART_EUNSUPPORTED, "patch_nums[0] must be 1 (got %d)", pn));
        hart_tensor *ts[] = {&hidden, &logits, &mixed, &idx_own, &probs, &codes};
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) hart_tensor_free(ts[k]);
        HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &hidden, 3, N, l, C, 0));
        HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &logits, 3, N, lo, V, 0));
        STAMP(t0);
        HART_TRY_GOTO(st, hart_tf_forward(p->tf, si, &x, &hidden, &logits));
        STAMP(t1);
        /* guidance, top-k / top-p, the keyed draw (or the replayed indices) */
        double t = hart_cfg_ramp(opts->cfg, si, S), ratio = hart_cfg_ramp(1.0, si, S);
        HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &mixed, 3, B, lo, V, 0));
        HART_TRY_GOTO(st, hart_op_cfg_mix(&mixed, &logits, t));
        HART_TRY_GOTO(st, dumpf(opts, &mixed, "gen.si%d.logits_cfg", si));
        HART_TRY_GOTO(st, hart_op_topk_topp(&mixed, &mixed, hart_topk_for_scale(si, opts->top_k, V), opts->top_p));
        const hart_tensor *idx = &in.idx[si];
        if (!in.replay) {
            HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_I64, &idx_own, 2, B, lo, 0, 0));
            HART_TRY_GOTO(st, hart_op_multinomial(&idx_own, &mixed, &in.keys, HART_SITE_TOKENS, si));
            idx = &idx_own;
        }
        HART_TRY_GOTO(st, dumpf(opts, idx, "gen.si%d.idx", si));
        /* codes [B·lo, Z]: codebook rows, or the Gumbel-softmax mixture of them */
        HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &codes, 2, (int64_t)B * lo, Z, 0, 0));
        if (opts->more_smooth) {
            float tau = (float)fmax(0.27 * (1 - ratio * 0.95), 0.005);
            hart_tensor p2;
            HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &probs, 3, B, lo, V, 0));
            HART_TRY_GOTO(st, hart_op_gumbel_softmax(&probs, &mixed, &in.keys, (float)(1 + ratio), tau, HART_SITE_SMOOTH, si));
            HART_TRY_GOTO(st, hart_tensor_reshape(&probs, 2, (int64_t[]){(int64_t)B * lo, V}, &p2));
            HART_TRY_GOTO(st, hart_op_matmul(&codes, &p2, &p->codebook_t, 0, 0, 1.0f));
        } else {
            HART_TRY_GOTO(st, hart_op_gather_rows(&codes, &p->codebook_t, idx));
        }
        STAMP(t2);
        if (tm) {
            tm->transformer_s[si] = t1 - t0;
            tm->sample_s[si] = t2 - t1;
        }
        hart_tensor c3;
        HART_TRY_GOTO(st, hart_tensor_reshape(&codes, 3, (int64_t[]){B, lo, Z}, &c3));
        if (si < S - 1) {
            /* h [B,Z,pn,pn] */
            hart_tensor_free(&hmap);
            HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &hmap, 4, B, Z, pn, pn));
            hart_tensor hv;
            HART_TRY_GOTO(st, hart_tensor_reshape(&hmap, 3, (int64_t[]){B, Z, lo}, &hv));
            HART_TRY_GOTO(st, hart_op_transpose(&hv, &c3, (int[]){0, 2, 1}));
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
            const hart_tensor *dc = &codes;
            if (opts->more_smooth) {
                HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &disc, 2, (int64_t)B * lo, Z, 0, 0));
                HART_TRY_GOTO(st, hart_op_gather_rows(&disc, &p->codebook_t, idx));
                dc = &disc;
            }
            hart_tensor dc3;
            HART_TRY_GOTO(st, hart_tensor_reshape(dc, 3, (int64_t[]){B, lo, Z}, &dc3));
            HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &cond, 3, N, l, C, 0));
            HART_TRY_GOTO(st, hart_tf_diff_cond(p->tf, &hidden, &dc3, &cond));
            hart_tensor cond2;
            HART_TRY_GOTO(st, hart_tensor_reshape(&cond, 2, (int64_t[]){(int64_t)N * l, C}, &cond2));
            HART_TRY_GOTO(st, dump(opts, "gen.diff.cond", &cond2));
            HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &dout, 2, (int64_t)N * l, Z, 0, 0));
            hart_noise_source ns = {noise_fn, &in};
            HART_TRY_GOTO(st, hart_diff_sample(p->dh, &cond2, t, opts->temperature, &ns, &dout));
            HART_TRY_GOTO(st, dump(opts, "gen.diff.out", &dout));
            /* f_hat += (codes + residual) as a [B,Z,P,P] map */
            hart_tensor d1, s3, f3;
            HART_TRY_GOTO(st, hart_tensor_rows(&dout, 0, (int64_t)B * l, &d1));
            HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &sum, 2, (int64_t)B * l, Z, 0, 0));
            HART_TRY_GOTO(st, hart_op_binary(&sum, &codes, &d1, HART_BIN_ADD));
            HART_TRY_GOTO(st, hart_tensor_reshape(&sum, 3, (int64_t[]){B, l, Z}, &s3));
            HART_TRY_GOTO(st, hart_tensor_new4(p->be, HART_F32, &sum_t, 3, B, Z, l, 0));
            HART_TRY_GOTO(st, hart_op_transpose(&sum_t, &s3, (int[]){0, 2, 1}));
            HART_TRY_GOTO(st, hart_tensor_reshape(&fhat, 3, (int64_t[]){B, Z, l}, &f3));
            HART_TRY_GOTO(st, hart_op_binary(&f3, &f3, &sum_t, HART_BIN_ADD));
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
    /* decode: image in [-1,1] -> [0,1]; the one read of the loop is the image */
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
    {
        hart_tensor *ts[] = {&x, &hidden, &logits, &mixed, &idx_own, &probs, &codes, &disc, &hmap, &fhat, &next, &cond,
                             &dout, &sum, &sum_t, &img};
        for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) hart_tensor_free(ts[k]);
    }
    loop_inputs_free(&in);
    if (st) hart_tensor_free(image);
    return st;
}
