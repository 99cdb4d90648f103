/* Random-weight models at the release shapes, for throughput runs where the
 * release checkpoints are not at hand (tools/scaleout_run.sh writes them on
 * the GPU machine instead of carrying gigabytes):
 *
 *   make_random_models hart DIR --config LLM.json --text-tokenizer tokenizer.json
 *                      [--text-layers N] [--tok-ch C]
 *       a HART model folder: DIR/llm (the config, e.g. configs/hart-0.7b-1024px-llm.json,
 *       f32 weights), DIR/tokenizer (HART autoencoder, ch C = 160 as released,
 *       vocab 4096, z 32, the config's patch_nums) and DIR/text_encoder: a Qwen2
 *       of the release text model's shape when context_dim is 1536 (Qwen2-1.5B:
 *       28 layers, 12 heads, 2 KV heads, intermediate 8960; bf16 as released),
 *       else a 2-layer Qwen2 of width context_dim; its vocabulary is the given
 *       tokenizer.json's (e.g. the 512-entry BPE of models/hart-tiny-demo), so
 *       only the embedding table is smaller than the release's 151936 rows.
 *   make_random_models lpd DIR --model l|xl|tiny [--size 256|512]
 *       DIR/lpd.safetensors and DIR/vq.safetensors (tests/support/lpd_random.c,
 *       the shapes of tests/bench/bench_lpd.c).
 *   make_random_models fid OUT.safetensors WEIGHTS.txt
 *       the FID Inception with the golden set's random weights
 *       (tests/data/golden/fid-tiny/weights.txt; same FLOPs as the release file).
 *
 * Exit 0 on success; 1 with a message otherwise; 2 on a usage error. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/checkpoint.h"
#include "core/safetensors.h"
#include "support/fid_random.h"
#include "support/hart_random.h"
#include "support/lpd_random.h"

static int usage(void) {
    fprintf(stderr, "usage: make_random_models hart DIR --config LLM.json --text-tokenizer tokenizer.json "
                    "[--text-layers N] [--tok-ch C]\n"
                    "       make_random_models lpd DIR --model l|xl|tiny [--size 256|512]\n"
                    "       make_random_models fid OUT.safetensors WEIGHTS.txt\n");
    return 2;
}

static uint64_t rs = 0x9E3779B97F4A7C15ull;
/* a bf16 (or f32) tensor of base + scale * U(-1, 1) */
static int add(hart_st_writer *w, const char *name, hart_dtype dt, int nd, int64_t a, int64_t b, float scale, float base) {
    int64_t n = a * (nd > 1 ? b : 1);
    size_t es = dt == HART_F32 ? 4 : 2;
    void *d = malloc(es * (size_t)n);
    if (!d) return 1;
    for (int64_t i = 0; i < n; i++) {
        rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
        float v = base + scale * ((float)((rs >> 40) * (1.0 / 16777216.0)) * 2 - 1);
        if (dt == HART_F32) ((float *)d)[i] = v;
        else ((uint16_t *)d)[i] = hart_f32_to_bf16(v);
    }
    int64_t shp[2] = {a, b};
    hart_status st = hart_st_writer_add_raw(w, name, dt, nd, shp, d);
    free(d);
    return st != HART_OK;
}

static int write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "w");
    if (!f) return 1;
    int e = fputs(s, f) < 0;
    return fclose(f) || e;
}

static int copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = a ? fopen(to, "wb") : NULL;
    char buf[65536];
    size_t n;
    int e = !a || !b;
    while (!e && (n = fread(buf, 1, sizeof buf, a)) > 0) e = fwrite(buf, 1, n, b) != n;
    if (a) fclose(a);
    if (b && fclose(b)) e = 1;
    return e;
}

/* vocabulary of a tokenizer.json: 1 + the largest id of model.vocab and added_tokens */
static int tokenizer_vocab(const char *path, int *vocab) {
    cJSON *j = NULL;
    if (hart_json_load(path, &j) != HART_OK) return 1;
    int mx = -1;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "model"), "vocab"), *e;
    cJSON_ArrayForEach(e, m) if (cJSON_IsNumber(e) && e->valueint > mx) mx = e->valueint;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "added_tokens")) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        if (cJSON_IsNumber(id) && id->valueint > mx) mx = id->valueint;
    }
    cJSON_Delete(j);
    *vocab = mx + 1;
    return mx < 0;
}

/* DIR/text_encoder: config.json, model.safetensors (bf16), tokenizer.json */
static int write_qwen2(const char *dir, int hidden, int layers, int heads, int kv, int inter, const char *tok) {
    char p[1200], nm[128];
    int vocab;
    if (tokenizer_vocab(tok, &vocab)) { fprintf(stderr, "make_random_models: %s: no vocabulary\n", tok); return 1; }
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    if (copy_file(tok, p)) { fprintf(stderr, "make_random_models: cannot copy %s\n", tok); return 1; }
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"architectures\": [\"Qwen2Model\"], \"model_type\": \"qwen2\", \"hidden_act\": \"silu\", "
             "\"hidden_size\": %d, \"intermediate_size\": %d, \"num_hidden_layers\": %d, \"num_attention_heads\": %d, "
             "\"num_key_value_heads\": %d, \"vocab_size\": %d, \"max_position_embeddings\": 32768, "
             "\"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0, \"tie_word_embeddings\": true, "
             "\"torch_dtype\": \"bfloat16\", \"use_sliding_window\": false}\n",
             hidden, inter, layers, heads, kv, vocab);
    snprintf(p, sizeof p, "%s/config.json", dir);
    if (write_text(p, cfg)) return 1;
    hart_st_writer *w = hart_st_writer_new();
    if (!w) return 1;
    const int hd = hidden / heads, Q = heads * hd, KV = kv * hd;
    const float sd = 1.0f / sqrtf((float)hidden), si = 1.0f / sqrtf((float)inter);
    int e = add(w, "model.embed_tokens.weight", HART_BF16, 2, vocab, hidden, 0.02f, 0);
    e |= add(w, "model.norm.weight", HART_BF16, 1, hidden, 0, 0.1f, 1);
    for (int i = 0; i < layers && !e; i++) {
#define L(s) (snprintf(nm, sizeof nm, "model.layers.%d.%s", i, s), nm)
        e |= add(w, L("input_layernorm.weight"), HART_BF16, 1, hidden, 0, 0.1f, 1);
        e |= add(w, L("post_attention_layernorm.weight"), HART_BF16, 1, hidden, 0, 0.1f, 1);
        e |= add(w, L("self_attn.q_proj.weight"), HART_BF16, 2, Q, hidden, sd, 0);
        e |= add(w, L("self_attn.k_proj.weight"), HART_BF16, 2, KV, hidden, sd, 0);
        e |= add(w, L("self_attn.v_proj.weight"), HART_BF16, 2, KV, hidden, sd, 0);
        e |= add(w, L("self_attn.o_proj.weight"), HART_BF16, 2, hidden, Q, sd, 0);
        e |= add(w, L("self_attn.q_proj.bias"), HART_BF16, 1, Q, 0, 0.1f, 0);
        e |= add(w, L("self_attn.k_proj.bias"), HART_BF16, 1, KV, 0, 0.1f, 0);
        e |= add(w, L("self_attn.v_proj.bias"), HART_BF16, 1, KV, 0, 0.1f, 0);
        e |= add(w, L("mlp.gate_proj.weight"), HART_BF16, 2, inter, hidden, sd, 0);
        e |= add(w, L("mlp.up_proj.weight"), HART_BF16, 2, inter, hidden, sd, 0);
        e |= add(w, L("mlp.down_proj.weight"), HART_BF16, 2, hidden, inter, si, 0);
#undef L
    }
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    if (!e) e = hart_st_writer_save(w, p) != HART_OK;
    hart_st_writer_free(w);
    return e;
}

static int cmd_hart(int argc, char **argv) {
    const char *dir = argv[0], *cfg_path = NULL, *tok = NULL;
    int text_layers = 0, tok_ch = 160;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--config")) cfg_path = argv[i + 1];
        else if (!strcmp(argv[i], "--text-tokenizer")) tok = argv[i + 1];
        else if (!strcmp(argv[i], "--text-layers")) text_layers = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--tok-ch")) tok_ch = atoi(argv[i + 1]);
        else return usage();
    }
    if (!cfg_path || !tok || argc % 2 == 0 || text_layers < 0 || tok_ch < 32 || tok_ch % 32) return usage();
    cJSON *cfg = NULL;
    hart_random_llm z;
    if (hart_json_load(cfg_path, &cfg) != HART_OK || hart_random_llm_from_config(cfg, &z) || z.S < 1) {
        fprintf(stderr, "make_random_models: %s: not an llm config with patch_nums (%s)\n", cfg_path, hart_errmsg());
        cJSON_Delete(cfg);
        return 1;
    }
    int e = hart_random_model_write(dir, cfg, &z, 4096, 32, tok_ch);
    cJSON_Delete(cfg);
    if (e) { fprintf(stderr, "make_random_models: cannot write the model in %s\n", dir); return 1; }
    char te[1100];
    snprintf(te, sizeof te, "%s/text_encoder", dir);
    int rel = z.Dc == 1536; /* the release text model: Qwen2-1.5B */
    int layers = text_layers ? text_layers : rel ? 28 : 2;
    if (rel ? write_qwen2(te, 1536, layers, 12, 2, 8960, tok)
            : write_qwen2(te, z.Dc, layers, z.Dc % 32 ? 1 : z.Dc / 32, 1, 2 * z.Dc, tok)) {
        fprintf(stderr, "make_random_models: cannot write the text model in %s: %s\n", te, hart_errmsg());
        return 1;
    }
    printf("make_random_models: HART model in %s (%d-px scales up to %d, text model %s, %d layers)\n", dir,
           16 * z.pn[z.S - 1], z.pn[z.S - 1], rel ? "Qwen2-1.5B shape" : "small Qwen2", layers);
    return 0;
}

static int cmd_lpd(int argc, char **argv) {
    const char *dir = argv[0], *model = NULL;
    int px = 256;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model = argv[i + 1];
        else if (!strcmp(argv[i], "--size")) px = atoi(argv[i + 1]);
        else return usage();
    }
    if (!model || argc % 2 == 0) return usage();
    lpd_random_shape s = {"tiny", 128, 2, 2, 512, 10, 128, 32, 32, 8, 2, 5, {1, 1, 2, 2, 4}, HART_F32};
    if (!strcmp(model, "l")) s = (lpd_random_shape){"LPD-L", 1024, 24, 16, 16384, 1000, px, 128, 256, 8, 2, 5, {1, 1, 2, 2, 4}, HART_F32};
    else if (!strcmp(model, "xl")) s = (lpd_random_shape){"LPD-XL", 1280, 36, 20, 16384, 1000, px, 128, 256, 8, 2, 5, {1, 1, 2, 2, 4}, HART_F32};
    else if (strcmp(model, "tiny")) return usage();
    if (s.px % 16 || s.px < 16) return usage();
    char lp[1100], vp[1100];
    mkdir(dir, 0755);
    snprintf(lp, sizeof lp, "%s/lpd.safetensors", dir);
    snprintf(vp, sizeof vp, "%s/vq.safetensors", dir);
    int g = s.px / 16;
    if (lpd_random_write_lpd(lp, &s, g * g) || lpd_random_write_vq(vp, &s)) {
        fprintf(stderr, "make_random_models: cannot write %s: %s\n", dir, hart_errmsg());
        return 1;
    }
    printf("make_random_models: %s %d px in %s\n", s.name, s.px, dir);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) return usage();
    if (!strcmp(argv[1], "hart")) return cmd_hart(argc - 2, argv + 2);
    if (!strcmp(argv[1], "lpd")) return cmd_lpd(argc - 2, argv + 2);
    if (!strcmp(argv[1], "fid") && argc == 4) {
        if (fid_random_write(argv[3], argv[2])) {
            fprintf(stderr, "make_random_models: cannot write %s from %s\n", argv[2], argv[3]);
            return 1;
        }
        printf("make_random_models: FID Inception (random weights) in %s\n", argv[2]);
        return 0;
    }
    return usage();
}
