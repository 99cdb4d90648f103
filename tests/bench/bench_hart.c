/* HART generation benchmark: the whole image path of `hart generate` on a
 * random-weight model built from an llm config.json, timed stage by stage:
 * per scale the transformer forward (guidance batch 2), the host sampling
 * (guidance mix, top-k, categorical draw) and the tokenizer's next-scale
 * step; then the residual diffusion head, the tokenizer decode and the whole
 * image. Analytic FLOPs per stage (2 per multiply-add of the linear layers
 * and the attention products; the decoder's convolutions), achieved GFLOP/s,
 * the process's peak RSS (getrusage; the model files are written by a child
 * process so they do not count) and, on a device backend, the peak device
 * memory of live tensors.
 *
 *   bench_hart [--device SPEC] [--size 512[,1024]] [--layers N] [--config FILE]
 *              [--no-decode] [--small] [--warmup]
 *
 *   --device SPEC  cpu, opencl, opencl:P, opencl:P:D, auto (default $HART_DEVICE, else cpu)
 *   --size LIST    image sizes, 256, 512 and/or 1024 (default 512)
 *   --layers N     build and time only N of the config's `depth` blocks and
 *                  extrapolate the transformer time of every scale to the
 *                  full depth by the FLOP ratio (printed as "est."); 0 = all
 *                  (default 1, so that `make bench` finishes in about a minute
 *                  on a 2-core machine)
 *   --config FILE  llm config.json (default configs/hart-0.7b-1024px-llm.json,
 *                  the release 0.7B configuration; tokenizer: the HART
 *                  autoencoder config class defaults, ch 160, ch_mult
 *                  1,1,2,2,4, z 32, vocab 4096)
 *   --no-decode    skip the tokenizer decode (its FLOPs are still printed)
 *   --warmup       render one untimed image first (GPU kernel compilation etc.)
 *   --small        a small built-in config (width 256, depth 2, context
 *                  32x256, diffusion head 128x2, tokenizer ch 32)
 *
 * Scale lists (patch_nums) per image size: the VAR/HART convention (VAR's
 * utils/arg_util.py maps 256/512/1024 to these; the HART 1024 px release uses
 * the 1024 list):
 *   256 px  1,2,3,4,5,6,8,10,13,16
 *   512 px  1,2,3,4,6,9,13,18,24,32
 *   1024 px 1,2,3,4,5,7,9,12,16,21,27,36,48,64 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/checkpoint.h"
#include "core/safetensors.h"
#include "models/diffusion_head.h"
#include "models/hart_transformer.h"
#include "models/sampler.h"
#include "models/vae_hart.h"
#include "models/vae_internal.h"
#include "support/vae_random.h"

static const char *SMALL_CFG =
    "{\"model_type\":\"hart_transformer_t2i\",\"attn_type\":\"llama\",\"mlp_type\":\"llama\",\"depth\":2,"
    "\"embed_dim\":256,\"num_heads\":4,\"context_token\":32,\"context_dim\":256,\"mlp_ratio\":4.0,\"norm_eps\":1e-6,"
    "\"use_context_norm\":true,\"sep_aln_pooling_mode\":\"max\",\"diff_width\":128,\"diff_depth\":2,"
    "\"num_sampling_steps\":\"8\",\"sampler\":\"iddpm\",\"patch_nums\":[1]}";

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double peak_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static uint64_t rs = 88172645463325252ULL;
static float rnd(void) {
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (float)((rs >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}

static int add(hart_st_writer *w, const char *name, int nd, int64_t a, int64_t b, float scale, float base) {
    int64_t n = a * (nd > 1 ? b : 1);
    float *d = malloc(sizeof(float) * (size_t)n);
    if (!d) return 1;
    for (int64_t i = 0; i < n; i++) d[i] = base + scale * rnd();
    int64_t shp[2] = {a, b};
    hart_status st = hart_st_writer_add_raw(w, name, HART_F32, nd, shp, d);
    free(d);
    return st != HART_OK;
}

typedef struct {
    int C, depth, H, T, Dc, DW, DD, llama_mlp, Hd, use_ctx_norm, S, pn[HART_MAX_SCALES];
    int full_depth; /* the config's depth; `depth` blocks are built and timed */
} sizes;

/* llm/model.safetensors with random weights for config sizes z */
static int write_llm(const char *path, const sizes *z, int V, int Z) {
    int C = z->C, Hd = z->Hd, DW = z->DW;
    hart_st_writer *w = hart_st_writer_new();
    float s = 1.0f / sqrtf((float)C), sw = 1.0f / sqrtf((float)DW);
    int e = !w;
    char nm[256];
    if (z->use_ctx_norm) e |= add(w, "context_norm.weight", 1, z->Dc, 0, 0.1f, 1);
    e |= add(w, "context_embed.weight", 2, C, z->Dc, 1.0f / sqrtf((float)z->Dc), 0);
    e |= add(w, "context_embed.bias", 1, C, 0, 0.1f, 0);
    e |= add(w, "word_embed.weight", 2, C, Z, 1.0f / sqrtf((float)Z), 0);
    e |= add(w, "word_embed.bias", 1, C, 0, 0.1f, 0);
    e |= add(w, "lvl_embed.weight", 2, z->S, C, 0.1f, 0);
    e |= add(w, "head_nm.ln_wo_grad.weight", 1, C, 0, 0.1f, 1);
    e |= add(w, "head_nm.ada_lin.1.weight", 2, 2 * C, C, s, 0);
    e |= add(w, "head_nm.ada_lin.1.bias", 1, 2 * C, 0, 0.1f, 0);
    e |= add(w, "head.weight", 2, V, C, s, 0);
    e |= add(w, "head.bias", 1, V, 0, 0.1f, 0);
    e |= add(w, "decoder_norm.weight", 1, C, 0, 0.1f, 1);
    for (int i = 0; i < z->depth && !e; i++) {
#define B(name, nd, a, b, sc, base) (snprintf(nm, sizeof nm, "blocks.%d." name, i), add(w, nm, nd, a, b, sc, base))
        e |= B("ada_lin.1.weight", 2, 6 * C, C, s, 0);
        e |= B("ada_lin.1.bias", 1, 6 * C, 0, 0.1f, 0);
        e |= B("attn.qkv_proj.weight", 2, 3 * C, C, s, 0);
        e |= B("attn.q_bias", 1, C, 0, 0.1f, 0);
        e |= B("attn.v_bias", 1, C, 0, 0.1f, 0);
        e |= B("attn.proj.weight", 2, C, C, s, 0);
        e |= B("attn.proj.bias", 1, C, 0, 0.1f, 0);
        e |= B("ln_wo_grad.weight", 1, C, 0, 0.1f, 1);
        if (z->llama_mlp) {
            e |= B("ffn.gate_proj.weight", 2, Hd, C, s, 0);
            e |= B("ffn.up_proj.weight", 2, Hd, C, s, 0);
            e |= B("ffn.down_proj.weight", 2, C, Hd, 1.0f / sqrtf((float)Hd), 0);
        } else {
            e |= B("ffn.fc1.weight", 2, Hd, C, s, 0);
            e |= B("ffn.fc1.bias", 1, Hd, 0, 0.1f, 0);
            e |= B("ffn.fc2.weight", 2, C, Hd, 1.0f / sqrtf((float)Hd), 0);
            e |= B("ffn.fc2.bias", 1, C, 0, 0.1f, 0);
        }
#undef B
    }
    e |= add(w, "diffloss.net.time_embed.mlp.0.weight", 2, DW, 256, 0.06f, 0);
    e |= add(w, "diffloss.net.time_embed.mlp.0.bias", 1, DW, 0, 0.1f, 0);
    e |= add(w, "diffloss.net.time_embed.mlp.2.weight", 2, DW, DW, sw, 0);
    e |= add(w, "diffloss.net.time_embed.mlp.2.bias", 1, DW, 0, 0.1f, 0);
    e |= add(w, "diffloss.net.cond_embed.weight", 2, DW, C, s, 0);
    e |= add(w, "diffloss.net.cond_embed.bias", 1, DW, 0, 0.1f, 0);
    e |= add(w, "diffloss.net.input_proj.weight", 2, DW, Z, 1.0f / sqrtf((float)Z), 0);
    e |= add(w, "diffloss.net.input_proj.bias", 1, DW, 0, 0.1f, 0);
    for (int i = 0; i < z->DD && !e; i++) {
#define D(name, nd, a, b, sc, base) (snprintf(nm, sizeof nm, "diffloss.net.res_blocks.%d." name, i), add(w, nm, nd, a, b, sc, base))
        e |= D("in_ln.weight", 1, DW, 0, 0.1f, 1);
        e |= D("in_ln.bias", 1, DW, 0, 0.1f, 0);
        e |= D("mlp.0.weight", 2, DW, DW, sw, 0);
        e |= D("mlp.0.bias", 1, DW, 0, 0.1f, 0);
        e |= D("mlp.2.weight", 2, DW, DW, sw, 0);
        e |= D("mlp.2.bias", 1, DW, 0, 0.1f, 0);
        e |= D("adaLN_modulation.1.weight", 2, 3 * DW, DW, sw, 0);
        e |= D("adaLN_modulation.1.bias", 1, 3 * DW, 0, 0.1f, 0);
#undef D
    }
    e |= add(w, "diffloss.net.final_layer.adaLN_modulation.1.weight", 2, 2 * DW, DW, sw, 0);
    e |= add(w, "diffloss.net.final_layer.adaLN_modulation.1.bias", 1, 2 * DW, 0, 0.1f, 0);
    e |= add(w, "diffloss.net.final_layer.linear.weight", 2, 2 * Z, DW, sw, 0);
    e |= add(w, "diffloss.net.final_layer.linear.bias", 1, 2 * Z, 0, 0.1f, 0);
    if (!e && hart_st_writer_save(w, path) != HART_OK) e = 1;
    hart_st_writer_free(w);
    return e;
}

/* model folder <dir>/{llm,tokenizer} for config `cfg` with patch_nums pn;
 * written by a child process so its buffers do not count in our peak RSS */
static int make_model(const char *dir, cJSON *cfg, const sizes *z, int V, int Z, int full) {
    char p[1024];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/llm", dir);
    mkdir(p, 0755);
    cJSON *arr = cJSON_CreateIntArray(z->pn, z->S);
    if (cJSON_HasObjectItem(cfg, "patch_nums")) cJSON_ReplaceItemInObject(cfg, "patch_nums", arr);
    else cJSON_AddItemToObject(cfg, "patch_nums", arr);
    char *txt = cJSON_Print(cfg);
    snprintf(p, sizeof p, "%s/llm/config.json", dir);
    FILE *f = fopen(p, "w");
    if (!f || !txt) { free(txt); if (f) fclose(f); return 1; }
    fputs(txt, f);
    fclose(f);
    free(txt);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        snprintf(p, sizeof p, "%s/llm/model.safetensors", dir);
        int e = write_llm(p, z, V, Z);
        vae_random_cfg vc = {.ch = full ? 160 : 32, .n_mult = 5, .ch_mult = {1, 1, 2, 2, 4}, .z = Z, .vocab = V,
                             .n_scales = z->S, .quant_resi = 0.5, .share = 4, .qks = 3, .hybrid = 1, .seed = 1};
        memcpy(vc.pn, z->pn, sizeof(int) * (size_t)z->S);
        snprintf(p, sizeof p, "%s/tokenizer", dir);
        mkdir(p, 0755);
        if (e) fprintf(stderr, "bench_hart: llm weights: %s\n", hart_errmsg());
        else if ((e = vae_random_write(p, &vc))) fprintf(stderr, "bench_hart: tokenizer: %s\n", hart_errmsg());
        _exit(e ? 1 : 0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) return 1;
    return 0;
}

static hart_status gauss(void *ctx, int draw, int64_t rows, int64_t cols, float *out) {
    (void)ctx;
    for (int64_t i = 0; i < rows * cols; i++) out[i] = hart_gen_normal(1, 0, HART_SITE_DIFF, (uint32_t)draw, (uint64_t)i);
    return HART_OK;
}

#define CK(x) do { if ((st = (x)) != HART_OK) goto done; } while (0)

/* transformer FLOPs of scale si with `depth` blocks: l new tokens (N rows
 * each), kv keys so far, logits for lo rows */
static double tf_flops(const sizes *z, int depth, int N, int l, int kv, int lo, int V) {
    double C = z->C;
    double lin = 2.0 * N * l * (4.0 * C * C + (z->llama_mlp ? 3.0 : 2.0) * C * z->Hd);
    double att = 4.0 * N * (double)l * kv * C;
    return depth * (lin + att) + 2.0 * N * lo * C * V;
}

/* Device memory of the tensors (non-CPU backends): the bench wraps the
 * backend's alloc/release (a copy of its vtable) and tracks live bytes per
 * buffer, so the peak covers every hart_tensor on the device (weights, KV
 * cache, activations) but not the backend's private scratch or its pool. */
#define DEVMAP 65536
static struct { void *p; size_t n; } devmap[DEVMAP];
static size_t dev_live, dev_peak, dev_count;
static hart_backend_vt wrapped_vt;
static const hart_backend_vt *orig_vt;

static size_t devslot(void *p) {
    size_t h = ((uintptr_t)p >> 4) * 11400714819323198485ull % DEVMAP;
    while (devmap[h].p && devmap[h].p != p) h = (h + 1) % DEVMAP;
    return h;
}
static hart_status count_alloc(hart_backend *be, size_t n, void **dev) {
    hart_status st = orig_vt->alloc(be, n, dev);
    if (st == HART_OK) {
        size_t h = devslot(*dev);
        if (!devmap[h].p && dev_count < DEVMAP / 2) { devmap[h].p = *dev; devmap[h].n = n; dev_live += n; dev_count++; }
        if (dev_live > dev_peak) dev_peak = dev_live;
    }
    return st;
}
static void count_release(hart_backend *be, void *dev) {
    size_t h = devslot(dev);
    if (devmap[h].p) { /* remove with backward-shift deletion */
        dev_live -= devmap[h].n;
        dev_count--;
        devmap[h].p = NULL;
        for (size_t j = (h + 1) % DEVMAP; devmap[j].p; j = (j + 1) % DEVMAP) {
            void *q = devmap[j].p;
            size_t m = devmap[j].n;
            devmap[j].p = NULL;
            size_t k = devslot(q);
            devmap[k].p = q;
            devmap[k].n = m;
        }
    }
    orig_vt->release(be, dev);
}
static void count_device_memory(hart_backend *be) {
    if (!be->vt->alloc || !be->vt->release) return;
    orig_vt = be->vt;
    wrapped_vt = *be->vt;
    wrapped_vt.alloc = count_alloc;
    wrapped_vt.release = count_release;
    be->vt = &wrapped_vt;
}

static double gfs(double flop, double s) { return s > 0 ? flop * 1e-9 / s : 0; }

/* report stream (a warm-up run writes to /dev/null) */
static FILE *out;

/* One image (B = 1, guidance batch 2) through every stage. */
static int run(hart_backend *be, const char *dir, const sizes *z, int V, int Z, int decode) {
    char p[1200];
    hart_status st = HART_OK;
    hart_transformer *tf = NULL;
    hart_diffhead *dh = NULL;
    hart_vae *vae = NULL;
    hart_tensor ctx = {0}, mask = {0}, x = {0}, hid = {0}, lg = {0}, fhat = {0}, hmap = {0}, codes_t = {0}, next = {0},
                cond = {0}, dout = {0}, img = {0};
    float *L = NULL, *mixed = NULL, *codes = NULL, *cb = NULL, *dbuf = NULL, *fh = NULL;
    int64_t *idx = NULL;
    int D = z->full_depth, Nl = z->depth, extrap = Nl < D;
    dev_peak = dev_live;
    double t0 = now(), t_load, t_begin, t_tf = 0, t_tf_est = 0, t_samp = 0, t_tok = 0, t_diff = 0, t_dec = 0;
    double f_tf = 0, f_tf_full = 0;
    snprintf(p, sizeof p, "%s/llm", dir);
    CK(hart_tf_load(be, p, V, Z, &tf));
    const hart_tf_config *g = hart_tf_get_config(tf);
    CK(hart_diff_load(be, hart_tf_checkpoint(tf), "diffloss.", Z, g->C, g->diff_width, g->diff_depth, g->sampling_steps, &dh));
    hart_tf_release_checkpoint(tf);
    snprintf(p, sizeof p, "%s/tokenizer", dir);
    CK(hart_vae_load(be, p, &vae));
    cb = malloc(sizeof(float) * (size_t)V * Z);
    if (!cb) CK(hart_fail(HART_ENOMEM, "codebook"));
    for (int64_t i = 0; i < (int64_t)V * Z; i++) cb[i] = rnd();
    t_load = now() - t0;
    int B = 1, N = 2, T = g->ctx_tokens, S = g->n_scales, C = g->C, P = g->patch_nums[S - 1];
    CK(hart_tensor_new4(NULL, HART_F32, &ctx, 3, B, T, g->ctx_dim, 0));
    CK(hart_tensor_new4(NULL, HART_U8, &mask, 2, B, T, 0, 0));
    for (int64_t i = 0; i < hart_tensor_numel(&ctx); i++) ((float *)ctx.data)[i] = rnd();
    memset(mask.data, 1, (size_t)T);
    double t_img = now();
    t0 = now();
    CK(hart_tf_begin(tf, &ctx, &mask, NULL));
    CK(hart_tensor_new4(be, HART_F32, &x, 3, N, T, C, 0));
    CK(hart_tf_first_input(tf, &x));
    CK(hart_tensor_new4(be, HART_F32, &fhat, 4, B, Z, P, P));
    t_begin = now() - t0;
    fprintf(out, "  load %.2f s; begin (context embedding, AdaLN conditions) %.3f s\n", t_load, t_begin);
    if (extrap)
        fprintf(out, "  transformer: %d of %d blocks built and timed; 'est.' = measured x FLOP(%d blocks)/FLOP(%d blocks)\n",
               Nl, D, D, Nl);
    fprintf(out, "  scale  pn       tokens     KV | transformer s   GFLOP GFLOP/s %s| sample s | tokenizer s\n",
           extrap ? "  est. s   est.GFLOP " : "");
    int kv = 0;
    for (int si = 0; si < S; si++) {
        int pn = g->patch_nums[si], l = si == 0 ? T : pn * pn, lo = si == 0 ? 1 : l;
        hart_tensor_free(&hid);
        hart_tensor_free(&lg);
        CK(hart_tensor_new4(be, HART_F32, &hid, 3, N, l, C, 0));
        CK(hart_tensor_new4(be, HART_F32, &lg, 3, N, lo, V, 0));
        t0 = now();
        CK(hart_tf_forward(tf, si, &x, &hid, &lg));
        CK(be->vt->sync ? be->vt->sync(be) : HART_OK);
        double dt = now() - t0;
        kv += l;
        double fl = tf_flops(z, Nl, N, l, kv, lo, V), flD = tf_flops(z, D, N, l, kv, lo, V);
        double est = dt * flD / fl;
        f_tf += fl;
        f_tf_full += flD;
        t_tf += dt;
        t_tf_est += est;
        /* sampling: guidance mix, top-k, categorical draw (host) */
        t0 = now();
        free(L); free(mixed); free(idx); free(codes);
        L = malloc(sizeof(float) * (size_t)N * lo * V);
        mixed = malloc(sizeof(float) * (size_t)B * lo * V);
        idx = malloc(sizeof(int64_t) * (size_t)B * lo);
        codes = malloc(sizeof(float) * (size_t)B * lo * Z);
        if (!L || !mixed || !idx || !codes) CK(hart_fail(HART_ENOMEM, "scale %d", si));
        CK(hart_tensor_read_f32(&lg, L));
        hart_cfg_mix(mixed, L, L + (size_t)lo * V, (int64_t)lo * V, hart_cfg_ramp(4.5, si, S));
        int k = hart_topk_for_scale(si, 0, V);
        for (int j = 0; j < lo; j++) {
            float *row = mixed + (size_t)j * V;
            CK(hart_filter_top_k_top_p(row, V, k, 0));
            idx[j] = hart_sample_categorical(row, V, hart_gen_uniform(1, 0, HART_SITE_TOKENS, (uint32_t)si, (uint64_t)j));
            memcpy(codes + (size_t)j * Z, cb + idx[j] * Z, sizeof(float) * (size_t)Z);
        }
        double ds = now() - t0;
        t_samp += ds;
        /* tokenizer: code map -> f_hat and the next scale's input (embedded) */
        t0 = now();
        hart_tensor_free(&codes_t);
        hart_tensor ch = hart_tensor_wrap(codes, HART_F32, 3, (int64_t[]){B, lo, Z});
        CK(hart_tensor_to(be, &ch, &codes_t));
        if (si < S - 1) {
            hart_tensor_free(&hmap);
            CK(hart_tensor_new4(be, HART_F32, &hmap, 4, B, Z, pn, pn));
            hart_tensor hv;
            CK(hart_tensor_reshape(&hmap, 3, (int64_t[]){B, Z, lo}, &hv));
            CK(op_transpose(&hv, &codes_t, (int[]){0, 2, 1}));
            int pn1 = g->patch_nums[si + 1];
            hart_tensor_free(&next);
            CK(hart_tensor_new4(be, HART_F32, &next, 4, B, Z, pn1, pn1));
            CK(hart_vae_next_scale(vae, si, &fhat, &hmap, &next));
            hart_tensor_free(&x);
            CK(hart_tensor_new4(be, HART_F32, &x, 3, N, pn1 * pn1, C, 0));
            CK(hart_tf_embed_next(tf, si + 1, &next, &x));
            CK(be->vt->sync ? be->vt->sync(be) : HART_OK);
        }
        double dk = now() - t0;
        t_tok += dk;
        char ests[64] = "";
        if (extrap) snprintf(ests, sizeof ests, "%8.3f %10.1f  ", est, flD * 1e-9);
        fprintf(out, "  %3d  %3dx%-3d %6d %6d | %13.3f %7.1f %7.1f %s| %8.3f | %8.3f\n", si, pn, pn, l, kv, dt, fl * 1e-9,
               gfs(fl, dt), ests, ds, dk);
        fflush(out);
    }
    /* last scale: diffusion head (guided, both halves) on decoder_norm(h + word_embed(codes)) */
    int l = P * P;
    t0 = now();
    CK(hart_tensor_new4(be, HART_F32, &cond, 3, N, l, C, 0));
    CK(hart_tf_diff_cond(tf, &hid, &codes_t, &cond));
    hart_tensor cond2;
    CK(hart_tensor_reshape(&cond, 2, (int64_t[]){(int64_t)N * l, C}, &cond2));
    CK(hart_tensor_new4(be, HART_F32, &dout, 2, (int64_t)N * l, Z, 0, 0));
    hart_noise_source ns = {gauss, NULL};
    CK(hart_diff_sample(dh, &cond2, hart_cfg_ramp(4.5, S - 1, S), 1.0f, &ns, &dout));
    dbuf = malloc(sizeof(float) * (size_t)N * l * Z);
    fh = malloc(sizeof(float) * (size_t)B * Z * l);
    if (!dbuf || !fh) CK(hart_fail(HART_ENOMEM, "final scale"));
    CK(hart_tensor_read_f32(&dout, dbuf));
    CK(hart_tensor_read_f32(&fhat, fh));
    for (int zc = 0; zc < Z; zc++)
        for (int k = 0; k < l; k++) fh[(size_t)zc * l + k] += codes[(size_t)k * Z + zc] + dbuf[(size_t)k * Z + zc];
    CK(hart_tensor_write(&fhat, fh, sizeof(float) * (size_t)Z * l));
    t_diff = now() - t0;
    int K = hart_diff_num_steps(dh), DW = g->diff_width;
    double rows = (double)N * l;
    /* per step and row: cond_embed, input_proj, time MLP, res blocks (2 linears + AdaLN 3x), final AdaLN + linear */
    double f_diff = K * 2.0 * rows *
                    ((double)C * DW + (double)Z * DW + 256.0 * DW + (double)DW * DW + g->diff_depth * 5.0 * DW * DW +
                     2.0 * DW * DW + 2.0 * DW * Z);
    fprintf(out, "  diffusion head: %d steps x %d rows: %.3f s, %.1f GFLOP, %.1f GFLOP/s\n", K, N * l, t_diff,
           f_diff * 1e-9, gfs(f_diff, t_diff));
    double f_dec = vae_decode_flops(vae, P, P);
    int side = hart_vae_get_info(vae)->downsample * P;
    if (decode) {
        t0 = now();
        CK(hart_tensor_new4(be, HART_F32, &img, 4, B, 3, side, side));
        CK(hart_vae_decode(vae, &fhat, &img));
        CK(be->vt->sync ? be->vt->sync(be) : HART_OK);
        t_dec = now() - t0;
        fprintf(out, "  tokenizer decode %dx%d: %.3f s, %.1f GFLOP, %.1f GFLOP/s\n", side, side, t_dec, f_dec * 1e-9,
               gfs(f_dec, t_dec));
    } else {
        fprintf(out, "  tokenizer decode %dx%d: skipped (--no-decode), %.1f GFLOP\n", side, side, f_dec * 1e-9);
    }
    double total = now() - t_img, other = t_begin + t_samp + t_tok;
    fprintf(out, "  split: transformer %.3f s (%.1f GFLOP, %.1f GFLOP/s)", t_tf, f_tf * 1e-9, gfs(f_tf, t_tf));
    if (extrap) fprintf(out, " [est. %d blocks: %.3f s, %.1f GFLOP]", D, t_tf_est, f_tf_full * 1e-9);
    fprintf(out, "; diffusion head %.3f s; decoder %s%.3f s; other %.3f s (begin %.3f, sampling %.3f, tokenizer steps %.3f)\n",
           t_diff, decode ? "" : "(skipped) ", t_dec, other, t_begin, t_samp, t_tok);
    double f_all = f_tf + f_diff + (decode ? f_dec : 0), f_all_full = f_tf_full + f_diff + (decode ? f_dec : 0);
    fprintf(out, "  whole image (begin .. %s): measured %.3f s, %.1f GFLOP", decode ? "decode" : "diffusion head", total,
           f_all * 1e-9);
    if (extrap)
        fprintf(out, "; est. with all %d blocks: %.3f s, %.1f GFLOP", D, total - t_tf + t_tf_est, f_all_full * 1e-9);
    fprintf(out, "\n");
    /* peak memory: measured; with omitted blocks, add theirs: fp32 weights
     * and KV cache on the CPU backend (the checkpoint is unmapped after
     * loading), the checkpoint's pages while loading otherwise */
    double blk_w = (4.0 * C * C + (z->llama_mlp ? 3.0 : 2.0) * (double)C * z->Hd + 6.0 * C * C + 4.0 * C) * 4;
    double kv_bytes = 2.0 * N * (double)kv * C * 4, MiB = 1048576.0;
    int on_host = be->kind == HART_BACKEND_CPU;
    double pk = peak_mib(), add = (D - Nl) * (blk_w + (on_host ? kv_bytes : 0)) / MiB;
    fprintf(out, "  peak RSS %.0f MiB", pk);
    if (extrap) {
        fprintf(out, " (%d blocks); est. with all %d blocks: %.0f MiB (+ %d x (", Nl, D, pk + add, D - Nl);
        if (on_host) fprintf(out, "%.0f MiB weights + %.1f MiB KV cache))", blk_w / MiB, kv_bytes / MiB);
        else fprintf(out, "%.0f MiB checkpoint pages))", blk_w / MiB);
    }
    fprintf(out, "\n");
    if (orig_vt) {
        double dp = dev_peak / MiB;
        fprintf(out, "  peak device memory of live tensors %.0f MiB", dp);
        if (extrap)
            fprintf(out, " (%d blocks); est. with all %d blocks: %.0f MiB (+ %d x (%.0f MiB weights + %.1f MiB KV cache))",
                    Nl, D, dp + (D - Nl) * (blk_w + kv_bytes) / MiB, D - Nl, blk_w / MiB, kv_bytes / MiB);
        fprintf(out, " (backend scratch and buffer pool not counted)\n");
    }
done:
    if (st != HART_OK) fprintf(stderr, "bench_hart: %s\n", hart_errmsg());
    free(L); free(mixed); free(idx); free(codes); free(cb); free(dbuf); free(fh);
    hart_tensor *ts[] = {&ctx, &mask, &x, &hid, &lg, &fhat, &hmap, &codes_t, &next, &cond, &dout, &img};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) hart_tensor_free(ts[i]);
    hart_diff_free(dh);
    if (vae) hart_vae_free(vae);
    hart_tf_free(tf);
    return st != HART_OK;
}

static void rm_model(const char *dir) {
    const char *files[] = {"llm/model.safetensors", "llm/config.json", "llm", "tokenizer/model.safetensors",
                           "tokenizer/config.json", "tokenizer", ""};
    char p[1200];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        if (remove(p) && i + 1 < sizeof files / sizeof files[0]) { /* best effort */ }
    }
}

static int usage(void) {
    fprintf(stderr, "usage: bench_hart [--device SPEC] [--size 256|512|1024[,...]] [--layers N (0 = all)]\n"
                    "                  [--config llm-config.json] [--no-decode] [--small] [--warmup]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *dev = NULL, *res_list = "512", *cfg_path = NULL;
    int decode = 1, small = 0, layers = 1, warmup = 0;
    out = stdout;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((!strcmp(a, "--device") || !strcmp(a, "-d")) && v) dev = argv[++i];
        else if ((!strcmp(a, "--size") || !strcmp(a, "--res")) && v) res_list = argv[++i];
        else if (!strcmp(a, "--config") && v) cfg_path = argv[++i];
        else if (!strcmp(a, "--layers") && v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 0 || n > 1000) {
                fprintf(stderr, "bench_hart: --layers '%s': expected an integer >= 0 (0 = all)\n", v);
                return 2;
            }
            layers = (int)n;
            i++;
        } else if (!strcmp(a, "--no-decode")) decode = 0;
        else if (!strcmp(a, "--warmup")) warmup = 1;
        else if (!strcmp(a, "--small")) small = 1;
        else return usage();
    }
    if (small && cfg_path) { fprintf(stderr, "bench_hart: --small and --config are exclusive\n"); return 2; }
    if (!small && !cfg_path) cfg_path = "configs/hart-0.7b-1024px-llm.json";
    cJSON *cfg = NULL;
    if (cfg_path) {
        if (hart_json_load(cfg_path, &cfg) != HART_OK) {
            fprintf(stderr, "bench_hart: %s (run from the repository root or give --config)\n", hart_errmsg());
            return 1;
        }
    } else if (!(cfg = cJSON_Parse(SMALL_CFG))) {
        fprintf(stderr, "bench_hart: built-in config does not parse\n");
        return 1;
    }
    sizes z;
    memset(&z, 0, sizeof z);
    int64_t v;
    double ratio = 4.0;
    const char *mlp = "gpt2";
    hart_status st = HART_OK;
#define GI(key, dst) if (!st) { st = hart_cfg_int(cfg, key, &v); dst = (int)v; }
    GI("embed_dim", z.C) GI("depth", z.full_depth) GI("num_heads", z.H) GI("context_token", z.T)
    GI("context_dim", z.Dc) GI("diff_width", z.DW) GI("diff_depth", z.DD)
#undef GI
    if (!st) st = hart_cfg_num_or(cfg, "mlp_ratio", 4.0, &ratio);
    if (!st) st = hart_cfg_str_or(cfg, "mlp_type", "gpt2", &mlp);
    if (!st) st = hart_cfg_bool_or(cfg, "use_context_norm", 1, &z.use_ctx_norm);
    if (st) { fprintf(stderr, "bench_hart: %s: %s\n", cfg_path ? cfg_path : "built-in config", hart_errmsg()); return 1; }
    if (z.full_depth < 1) { fprintf(stderr, "bench_hart: depth %d in the config\n", z.full_depth); return 1; }
    z.depth = layers && layers < z.full_depth ? layers : z.full_depth;
    cJSON_ReplaceItemInObject(cfg, "depth", cJSON_CreateNumber(z.depth));
    z.llama_mlp = mlp && !strcmp(mlp, "llama");
    z.Hd = z.llama_mlp ? (int)((z.C * ratio * 2) / 3 + 255) / 256 * 256 : (int)lround(z.C * ratio);
    hart_backend *be = NULL;
    char why[256];
    if (hart_backend_open(dev, &be, why, sizeof why) != HART_OK) { fprintf(stderr, "bench_hart: %s\n", hart_errmsg()); return 1; }
    count_device_memory(be);
    const int V = 4096, Zc = 32;
    double params = z.full_depth * (4.0 * z.C * z.C + (z.llama_mlp ? 3.0 : 2.0) * z.C * z.Hd + 6.0 * z.C * z.C) +
                    (double)z.C * z.Dc + 2.0 * z.C * z.C + (double)z.C * V +
                    ((double)z.C * z.DW + 256.0 * z.DW + (double)z.DW * z.DW + z.DD * 5.0 * z.DW * z.DW + 2.0 * z.DW * z.DW);
    printf("bench_hart: %s: depth %d (%d built), width %d, %d heads, MLP %s %d, context %dx%d, diffusion head %dx%d, "
           "vocab %d, z %d (~%.0fM parameters); backend %s\n",
           cfg_path ? cfg_path : "small built-in config", z.full_depth, z.depth, z.C, z.H,
           z.llama_mlp ? "llama" : "gpt2", z.Hd, z.T, z.Dc, z.DW, z.DD, V, Zc, params * 1e-6, be->name);
    char buf[128];
    snprintf(buf, sizeof buf, "%s", res_list);
    int rc = 0;
    for (char *tok = strtok(buf, ","); tok && !rc; tok = strtok(NULL, ",")) {
        static const int pn256[] = {1, 2, 3, 4, 5, 6, 8, 10, 13, 16};
        static const int pn512[] = {1, 2, 3, 4, 6, 9, 13, 18, 24, 32};
        static const int pn1024[] = {1, 2, 3, 4, 5, 7, 9, 12, 16, 21, 27, 36, 48, 64};
        char *end;
        long res = strtol(tok, &end, 10);
        const int *pn = *end ? NULL : res == 256 ? pn256 : res == 512 ? pn512 : res == 1024 ? pn1024 : NULL;
        if (!pn) { fprintf(stderr, "bench_hart: --size '%s': expected 256, 512 or 1024\n", tok); rc = 2; break; }
        z.S = res == 1024 ? 14 : 10;
        memcpy(z.pn, pn, sizeof(int) * (size_t)z.S);
        char dir[256];
        snprintf(dir, sizeof dir, "/tmp/hart_bench_%d_%ld", (int)getpid(), res);
        printf("== %ld px (%d scales, last %dx%d, tokenizer ch %d)\n", res, z.S, pn[z.S - 1], pn[z.S - 1],
               small ? 32 : 160);
        double t0 = now();
        if (make_model(dir, cfg, &z, V, Zc, !small)) {
            fprintf(stderr, "bench_hart: cannot write the random model in %s\n", dir);
            rc = 1;
        } else {
            printf("  (random model written in %.1f s)\n", now() - t0);
            if (warmup) { /* one untimed image first (kernel compilation, allocator, caches) */
                FILE *null = fopen("/dev/null", "w");
                if (null) {
                    out = null;
                    t0 = now();
                    rc = run(be, dir, &z, V, Zc, decode);
                    out = stdout;
                    fclose(null);
                    printf("  (warm-up image %.1f s)\n", now() - t0);
                }
            }
            if (!rc) rc = run(be, dir, &z, V, Zc, decode);
        }
        rm_model(dir);
    }
    cJSON_Delete(cfg);
    hart_backend_close(be);
    return rc;
}
