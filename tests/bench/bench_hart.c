/* Per-scale timing of the HART transformer + diffusion head.
 *
 * Default (quick, runs in `make bench`): a synthetic random-weight model of
 * width 256, depth 2, 512px-style scales, batch 1 (2 rows with guidance).
 * Environment:
 *   HART_BENCH_MODEL=DIR   time a real model folder instead (DIR/llm + DIR/tokenizer/config.json)
 *   HART_BENCH_C, HART_BENCH_DEPTH, HART_BENCH_HEADS, HART_BENCH_CTX (context tokens),
 *   HART_BENCH_RES=512|1024 (scale list), HART_BENCH_MAXSCALE=K (stop after K scales)
 *   HART_DEVICE=cpu|opencl...  backend
 * A release-sized run (0.7B class: C 1536, 24 heads, context 300 x 1536, vocab 4096,
 * latent 32 channels, diffusion head 1024 x 6) is e.g.
 *   HART_BENCH_C=1536 HART_BENCH_HEADS=24 HART_BENCH_DEPTH=24 HART_BENCH_CTX=300 HART_BENCH_RES=1024 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/checkpoint.h"
#include "core/safetensors.h"
#include "models/diffusion_head.h"
#include "models/hart_transformer.h"
#include "models/sampler.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int envi(const char *k, int d) {
    const char *v = getenv(k);
    return v && *v ? atoi(v) : d;
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

/* synthetic llm folder; returns 0 on success */
static int make_model(const char *dir, int C, int depth, int H, int T, int Dc, int V, int Z, const int *pn, int S, int DW,
                      int DD) {
    char p[1024];
    snprintf(p, sizeof p, "%s/llm", dir);
    mkdir(dir, 0755);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/llm/config.json", dir);
    FILE *f = fopen(p, "w");
    if (!f) return 1;
    fprintf(f, "{\"model_type\":\"hart_transformer_t2i\",\"attn_type\":\"llama\",\"mlp_type\":\"llama\",\"depth\":%d,"
               "\"embed_dim\":%d,\"num_heads\":%d,\"context_token\":%d,\"context_dim\":%d,\"mlp_ratio\":4.0,"
               "\"norm_eps\":1e-6,\"use_context_norm\":true,\"sep_aln_pooling_mode\":\"max\",\"diff_width\":%d,"
               "\"diff_depth\":%d,\"num_sampling_steps\":\"8\",\"sampler\":\"iddpm\",\"patch_nums\":[",
            depth, C, H, T, Dc, DW, DD);
    for (int i = 0; i < S; i++) fprintf(f, "%s%d", i ? "," : "", pn[i]);
    fprintf(f, "]}\n");
    fclose(f);
    int Hd = (int)((C * 4.0 * 2) / 3 + 255) / 256 * 256;
    hart_st_writer *w = hart_st_writer_new();
    float s = 1.0f / sqrtf((float)C);
    int e = 0;
    char nm[256];
    e |= add(w, "context_norm.weight", 1, Dc, 0, 0.1f, 1);
    e |= add(w, "context_embed.weight", 2, C, Dc, 1.0f / sqrtf((float)Dc), 0);
    e |= add(w, "context_embed.bias", 1, C, 0, 0.1f, 0);
    e |= add(w, "word_embed.weight", 2, C, Z, 1.0f / sqrtf((float)Z), 0);
    e |= add(w, "word_embed.bias", 1, C, 0, 0.1f, 0);
    e |= add(w, "lvl_embed.weight", 2, S, C, 0.1f, 0);
    e |= add(w, "head_nm.ln_wo_grad.weight", 1, C, 0, 0.1f, 1);
    e |= add(w, "head_nm.ada_lin.1.weight", 2, 2 * C, C, s, 0);
    e |= add(w, "head_nm.ada_lin.1.bias", 1, 2 * C, 0, 0.1f, 0);
    e |= add(w, "head.weight", 2, V, C, s, 0);
    e |= add(w, "head.bias", 1, V, 0, 0.1f, 0);
    e |= add(w, "decoder_norm.weight", 1, C, 0, 0.1f, 1);
    for (int i = 0; i < depth && !e; i++) {
#define B(name, nd, a, b, sc, base) (snprintf(nm, sizeof nm, "blocks.%d." name, i), add(w, nm, nd, a, b, sc, base))
        e |= B("ada_lin.1.weight", 2, 6 * C, C, s, 0);
        e |= B("ada_lin.1.bias", 1, 6 * C, 0, 0.1f, 0);
        e |= B("attn.qkv_proj.weight", 2, 3 * C, C, s, 0);
        e |= B("attn.q_bias", 1, C, 0, 0.1f, 0);
        e |= B("attn.v_bias", 1, C, 0, 0.1f, 0);
        e |= B("attn.proj.weight", 2, C, C, s, 0);
        e |= B("attn.proj.bias", 1, C, 0, 0.1f, 0);
        e |= B("ln_wo_grad.weight", 1, C, 0, 0.1f, 1);
        e |= B("ffn.gate_proj.weight", 2, Hd, C, s, 0);
        e |= B("ffn.up_proj.weight", 2, Hd, C, s, 0);
        e |= B("ffn.down_proj.weight", 2, C, Hd, 1.0f / sqrtf((float)Hd), 0);
#undef B
    }
    float sw = 1.0f / sqrtf((float)DW);
    e |= add(w, "diffloss.net.time_embed.mlp.0.weight", 2, DW, 256, 0.06f, 0);
    e |= add(w, "diffloss.net.time_embed.mlp.0.bias", 1, DW, 0, 0.1f, 0);
    e |= add(w, "diffloss.net.time_embed.mlp.2.weight", 2, DW, DW, sw, 0);
    e |= add(w, "diffloss.net.time_embed.mlp.2.bias", 1, DW, 0, 0.1f, 0);
    e |= add(w, "diffloss.net.cond_embed.weight", 2, DW, C, s, 0);
    e |= add(w, "diffloss.net.cond_embed.bias", 1, DW, 0, 0.1f, 0);
    e |= add(w, "diffloss.net.input_proj.weight", 2, DW, Z, 1.0f / sqrtf((float)Z), 0);
    e |= add(w, "diffloss.net.input_proj.bias", 1, DW, 0, 0.1f, 0);
    for (int i = 0; i < DD && !e; i++) {
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
    snprintf(p, sizeof p, "%s/llm/model.safetensors", dir);
    if (!e && hart_st_writer_save(w, p) != HART_OK) e = 1;
    hart_st_writer_free(w);
    return e;
}

static hart_status gauss(void *ctx, int draw, int64_t rows, int64_t cols, float *out) {
    (void)ctx;
    for (int64_t i = 0; i < rows * cols; i++) out[i] = hart_gen_normal(1, 0, HART_SITE_DIFF, (uint32_t)draw, (uint64_t)i);
    return HART_OK;
}

int main(void) {
    static const int pn512[] = {1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 24, 28, 32};
    static const int pn1024[] = {1, 2, 3, 4, 5, 7, 9, 12, 16, 21, 27, 36, 48, 64};
    char dir[512];
    const char *model = getenv("HART_BENCH_MODEL");
    int V = 4096, Z = 32, synth = !model || !*model;
    hart_backend *be = NULL;
    char why[256];
    if (hart_backend_open(NULL, &be, why, sizeof why) != HART_OK) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
    if (synth) {
        int C = envi("HART_BENCH_C", 256), depth = envi("HART_BENCH_DEPTH", 2), H = envi("HART_BENCH_HEADS", 4);
        int T = envi("HART_BENCH_CTX", 32), res = envi("HART_BENCH_RES", 512);
        int S = envi("HART_BENCH_MAXSCALE", 8);
        if (S > 14) S = 14;
        if (S < 2) S = 2;
        const int *pn = res == 1024 ? pn1024 : pn512;
        snprintf(dir, sizeof dir, "/tmp/hart_bench_%d", (int)getpid());
        printf("bench_hart: synthetic model C=%d depth=%d heads=%d context=%d vocab=%d z=%d, %dpx scales 1..%d, backend %s\n",
               C, depth, H, T, V, Z, res, pn[S - 1], be->name);
        if (make_model(dir, C, depth, H, T, C, V, Z, pn, S, envi("HART_BENCH_DW", 128),
                       envi("HART_BENCH_DD", 2))) {
            fprintf(stderr, "bench_hart: cannot write the synthetic model in %s\n", dir);
            return 1;
        }
        model = dir;
    } else {
        char p[1024];
        snprintf(p, sizeof p, "%s/tokenizer/config.json", model);
        cJSON *c;
        if (hart_json_load(p, &c) != HART_OK) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
        V = cJSON_GetObjectItem(c, "vocab_size")->valueint;
        Z = cJSON_GetObjectItem(c, "z_channels")->valueint;
        cJSON_Delete(c);
        printf("bench_hart: model %s, backend %s\n", model, be->name);
    }
    char llm[600];
    snprintf(llm, sizeof llm, "%s/llm", model);
    hart_transformer *tf;
    double t0 = now();
    if (hart_tf_load(be, llm, V, Z, &tf) != HART_OK) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
    const hart_tf_config *g = hart_tf_get_config(tf);
    hart_diffhead *dh;
    if (hart_diff_load(be, hart_tf_checkpoint(tf), "diffloss.", Z, g->C, g->diff_width, g->diff_depth, g->sampling_steps,
                       &dh) != HART_OK) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
    printf("  load %.3f s\n", now() - t0);
    int B = 1, N = 2, T = g->ctx_tokens;
    hart_tensor ctx, mask, x, hid = {0}, lg = {0}, ni;
    hart_tensor_new4(NULL, HART_F32, &ctx, 3, B, T, g->ctx_dim, 0);
    hart_tensor_new4(NULL, HART_U8, &mask, 2, B, T, 0, 0);
    for (int64_t i = 0; i < hart_tensor_numel(&ctx); i++) ((float *)ctx.data)[i] = rnd();
    memset(mask.data, 1, (size_t)T);
    t0 = now();
    int ok = hart_tf_begin(tf, &ctx, &mask, NULL) == HART_OK;
    hart_tensor_new4(be, HART_F32, &x, 3, N, T, g->C, 0);
    ok = ok && hart_tf_first_input(tf, &x) == HART_OK;
    printf("  begin %.3f s\n", now() - t0);
    double total = 0;
    int kv = 0;
    for (int si = 0; ok && si < g->n_scales; si++) {
        int l = si == 0 ? T : g->patch_nums[si] * g->patch_nums[si];
        hart_tensor_free(&hid);
        hart_tensor_free(&lg);
        hart_tensor_new4(be, HART_F32, &hid, 3, N, l, g->C, 0);
        hart_tensor_new4(be, HART_F32, &lg, 3, N, l, V, 0);
        t0 = now();
        ok = hart_tf_forward(tf, si, &x, &hid, &lg) == HART_OK;
        double dt = now() - t0;
        total += dt;
        kv += l;
        printf("  scale %2d (%2dx%-2d, %4d tokens, KV %5d): %8.3f s\n", si, g->patch_nums[si], g->patch_nums[si], l,
               kv, dt);
        if (ok && si + 1 < g->n_scales) {
            int p1 = g->patch_nums[si + 1];
            hart_tensor_free(&x);
            hart_tensor_new4(NULL, HART_F32, &ni, 4, B, Z, p1, p1);
            for (int64_t i = 0; i < hart_tensor_numel(&ni); i++) ((float *)ni.data)[i] = rnd();
            hart_tensor nid;
            hart_tensor_to(be, &ni, &nid);
            hart_tensor_new4(be, HART_F32, &x, 3, N, p1 * p1, g->C, 0);
            ok = hart_tf_embed_next(tf, si + 1, &nid, &x) == HART_OK;
            hart_tensor_free(&ni);
            hart_tensor_free(&nid);
        }
    }
    if (ok) { /* diffusion head on the last scale's tokens */
        int l = g->patch_nums[g->n_scales - 1] * g->patch_nums[g->n_scales - 1];
        hart_tensor z, out;
        hart_tensor_new4(NULL, HART_F32, &z, 2, (int64_t)N * l, g->C, 0, 0);
        for (int64_t i = 0; i < hart_tensor_numel(&z); i++) ((float *)z.data)[i] = rnd();
        hart_tensor zd;
        hart_tensor_to(be, &z, &zd);
        hart_tensor_new4(be, HART_F32, &out, 2, (int64_t)N * l, Z, 0, 0);
        hart_noise_source ns = {gauss, NULL};
        t0 = now();
        ok = hart_diff_sample(dh, &zd, 3.6, 1.0f, &ns, &out) == HART_OK;
        printf("  diffusion head (%d steps, %d rows): %.3f s\n", hart_diff_num_steps(dh), N * l, now() - t0);
        hart_tensor_free(&z); hart_tensor_free(&zd); hart_tensor_free(&out);
    }
    if (!ok) fprintf(stderr, "bench_hart: %s\n", hart_errmsg());
    else printf("  transformer total %.3f s\n", total);
    hart_tensor_free(&x); hart_tensor_free(&hid); hart_tensor_free(&lg); hart_tensor_free(&ctx); hart_tensor_free(&mask);
    hart_diff_free(dh);
    hart_tf_free(tf);
    if (synth) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd)) fprintf(stderr, "bench_hart: could not remove %s\n", dir);
    }
    hart_backend_close(be);
    return ok ? 0 : 1;
}
