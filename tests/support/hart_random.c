/* Random-weight HART release folders (see hart_random.h). */
#include "hart_random.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/checkpoint.h"
#include "core/safetensors.h"
#include "vae_random.h"

static uint64_t rs;
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

int hart_random_llm_from_config(const cJSON *cfg, hart_random_llm *z) {
    memset(z, 0, sizeof *z);
    int64_t v;
    double ratio = 4.0;
    const char *mlp = "gpt2";
    hart_status st = HART_OK;
#define GI(key, dst) if (!st) { st = hart_cfg_int(cfg, key, &v); dst = (int)v; }
    GI("embed_dim", z->C) GI("depth", z->full_depth) GI("num_heads", z->H) GI("context_token", z->T)
    GI("context_dim", z->Dc) GI("diff_width", z->DW) GI("diff_depth", z->DD)
#undef GI
    if (!st) st = hart_cfg_num_or(cfg, "mlp_ratio", 4.0, &ratio);
    if (!st) st = hart_cfg_str_or(cfg, "mlp_type", "gpt2", &mlp);
    if (!st) st = hart_cfg_bool_or(cfg, "use_context_norm", 1, &z->use_ctx_norm);
    if (!st) st = hart_cfg_bool_or(cfg, "disable_aln", 0, &z->disable_aln);
    if (!st) st = hart_cfg_bool_or(cfg, "shared_aln", 0, &z->shared_aln);
    if (st) return 1;
    if (z->full_depth < 1 || z->C < 1) return 1;
    z->depth = z->full_depth;
    z->llama_mlp = mlp && !strcmp(mlp, "llama");
    z->Hd = z->llama_mlp ? (int)((z->C * ratio * 2) / 3 + 255) / 256 * 256 : (int)lround(z->C * ratio);
    int64_t pn[HART_MAX_SCALES];
    if (cJSON_HasObjectItem(cfg, "patch_nums") &&
        hart_cfg_int_array(cfg, "patch_nums", pn, HART_MAX_SCALES, &z->S) == HART_OK)
        for (int i = 0; i < z->S; i++) z->pn[i] = (int)pn[i];
    hart_clear_error();
    return 0;
}

int hart_random_llm_write(const char *path, const hart_random_llm *z, int V, int Z, unsigned seed) {
    int C = z->C, Hd = z->Hd, DW = z->DW;
    rs = 88172645463325252ULL ^ ((uint64_t)seed * 0x9E3779B97F4A7C15ULL);
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
        if (!z->disable_aln) {
            e |= B("ada_lin.1.weight", 2, 6 * C, C, s, 0);
            e |= B("ada_lin.1.bias", 1, 6 * C, 0, 0.1f, 0);
        } else if (z->shared_aln) {
            e |= B("scale_shift_table", 2, 6, C, s, 0);
        }
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

int hart_random_model_write(const char *dir, cJSON *cfg, const hart_random_llm *z, int V, int Z, int tok_ch) {
    char p[1024];
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/llm", dir);
    mkdir(p, 0755);
    cJSON *arr = cJSON_CreateIntArray(z->pn, z->S);
    if (cJSON_HasObjectItem(cfg, "patch_nums")) cJSON_ReplaceItemInObject(cfg, "patch_nums", arr);
    else cJSON_AddItemToObject(cfg, "patch_nums", arr);
    if (cJSON_HasObjectItem(cfg, "depth")) cJSON_ReplaceItemInObject(cfg, "depth", cJSON_CreateNumber(z->depth));
    char *txt = cJSON_Print(cfg);
    snprintf(p, sizeof p, "%s/llm/config.json", dir);
    FILE *f = fopen(p, "w");
    if (!f || !txt) { free(txt); if (f) fclose(f); return 1; }
    fputs(txt, f);
    fclose(f);
    free(txt);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        snprintf(p, sizeof p, "%s/llm/model.safetensors", dir);
        int e = hart_random_llm_write(p, z, V, Z, 1);
        vae_random_cfg vc = {.ch = tok_ch, .n_mult = 5, .ch_mult = {1, 1, 2, 2, 4}, .z = Z, .vocab = V,
                             .n_scales = z->S, .quant_resi = 0.5, .share = 4, .qks = 3, .hybrid = 1, .seed = 1};
        memcpy(vc.pn, z->pn, sizeof(int) * (size_t)z->S);
        snprintf(p, sizeof p, "%s/tokenizer", dir);
        mkdir(p, 0755);
        if (e) fprintf(stderr, "hart_random: llm weights: %s\n", hart_errmsg());
        else if ((e = vae_random_write(p, &vc))) fprintf(stderr, "hart_random: tokenizer: %s\n", hart_errmsg());
        _exit(e ? 1 : 0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) return 1;
    return 0;
}

void hart_random_model_remove(const char *dir) {
    const char *files[] = {"llm/model.safetensors", "llm/config.json", "llm", "tokenizer/model.safetensors",
                           "tokenizer/config.json", "tokenizer", ""};
    char p[1200];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        (void)remove(p);
    }
}
