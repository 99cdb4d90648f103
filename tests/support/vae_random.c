/* Random-weight HART tokenizer folders for tests and benchmarks. */
#include "vae_random.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "golden.h"

typedef struct {
    hart_st_writer *w;
    const vae_random_cfg *c;
    unsigned seed;
    int err;
} gen;

static void add(gen *g, const char *name, int nd, int64_t a, int64_t b, int64_t cc, int64_t d) {
    if (g->err) return;
    int64_t shape[4] = {a, b, cc, d}, n = 1;
    for (int i = 0; i < nd; i++) n *= shape[i];
    float *x = malloc(sizeof(float) * (size_t)n);
    if (!x) { g->err = 1; return; }
    float sc = nd == 4 ? 1.0f / sqrtf((float)(b * cc * d)) : nd == 2 ? 1.0f : 0.1f;
    fill_random(x, n, g->seed++, -sc, sc);
    if (strstr(name, "norm") && strstr(name, ".weight"))
        for (int64_t i = 0; i < n; i++) x[i] += 1.0f;
    char full[300];
    snprintf(full, sizeof full, "%s%s", g->c->no_prefix ? "" : "vae.", name);
    if (g->c->f16) {
        uint16_t *hx = malloc(sizeof(uint16_t) * (size_t)n);
        if (!hx) { free(x); g->err = 1; return; }
        for (int64_t i = 0; i < n; i++) hx[i] = hart_f32_to_f16(x[i]), x[i] = hart_f16_to_f32(hx[i]);
        if (g->c->f16 == 1 && hart_st_writer_add_raw(g->w, full, HART_F16, nd, shape, hx)) g->err = 1;
        free(hx);
        if (g->c->f16 == 1) { free(x); return; }
    }
    if (hart_st_writer_add_raw(g->w, full, HART_F32, nd, shape, x)) g->err = 1;
    free(x);
}

static void conv(gen *g, const char *p, int co, int ci, int k) {
    char n[256];
    snprintf(n, sizeof n, "%s.weight", p); add(g, n, 4, co, ci, k, k);
    snprintf(n, sizeof n, "%s.bias", p); add(g, n, 1, co, 0, 0, 0);
}
static void norm(gen *g, const char *p, int c) {
    char n[256];
    snprintf(n, sizeof n, "%s.weight", p); add(g, n, 1, c, 0, 0, 0);
    snprintf(n, sizeof n, "%s.bias", p); add(g, n, 1, c, 0, 0, 0);
}
static void res(gen *g, const char *p, int ci, int co) {
    char n[256];
    snprintf(n, sizeof n, "%s.norm1", p); norm(g, n, ci);
    snprintf(n, sizeof n, "%s.conv1", p); conv(g, n, co, ci, 3);
    snprintf(n, sizeof n, "%s.norm2", p); norm(g, n, co);
    snprintf(n, sizeof n, "%s.conv2", p); conv(g, n, co, co, 3);
    if (ci != co) { snprintf(n, sizeof n, "%s.nin_shortcut", p); conv(g, n, co, ci, 1); }
}
static void attn(gen *g, const char *p, int c) {
    char n[256];
    snprintf(n, sizeof n, "%s.norm", p); norm(g, n, c);
    snprintf(n, sizeof n, "%s.qkv", p); conv(g, n, 3 * c, c, 1);
    snprintf(n, sizeof n, "%s.proj_out", p); conv(g, n, c, c, 1);
}

int vae_random_write(const char *dir, const vae_random_cfg *c) {
    gen g = {hart_st_writer_new(), c, c->seed ? c->seed : 1, 0};
    if (!g.w) return 1;
    char n[256];
    int NM = c->n_mult, CH = c->ch, nrb = c->nrb ? c->nrb : 2, bi;
    conv(&g, "encoder.conv_in", CH, 3, 3);
    bi = CH;
    for (int i = 0; i < NM; i++) {
        int in = CH * (i ? c->ch_mult[i - 1] : 1), out = CH * c->ch_mult[i];
        for (int b = 0; b < nrb; b++) {
            snprintf(n, sizeof n, "encoder.down.%d.block.%d", i, b); res(&g, n, b ? out : in, out);
            if (i == NM - 1) { snprintf(n, sizeof n, "encoder.down.%d.attn.%d", i, b); attn(&g, n, out); }
        }
        if (i != NM - 1) { snprintf(n, sizeof n, "encoder.down.%d.downsample.conv", i); conv(&g, n, out, out, 3); }
        bi = out;
    }
    res(&g, "encoder.mid.block_1", bi, bi); attn(&g, "encoder.mid.attn_1", bi); res(&g, "encoder.mid.block_2", bi, bi);
    norm(&g, "encoder.norm_out", bi); conv(&g, "encoder.conv_out", c->z, bi, 3);
    bi = CH * c->ch_mult[NM - 1];
    conv(&g, "decoder.conv_in", bi, c->z, 3);
    res(&g, "decoder.mid.block_1", bi, bi); attn(&g, "decoder.mid.attn_1", bi); res(&g, "decoder.mid.block_2", bi, bi);
    for (int i = NM - 1; i >= 0; i--) {
        int out = CH * c->ch_mult[i];
        for (int b = 0; b < nrb + 1; b++) {
            snprintf(n, sizeof n, "decoder.up.%d.block.%d", i, b); res(&g, n, bi, out);
            bi = out;
            if (i == NM - 1) { snprintf(n, sizeof n, "decoder.up.%d.attn.%d", i, b); attn(&g, n, out); }
        }
        if (i) { snprintf(n, sizeof n, "decoder.up.%d.upsample.conv", i); conv(&g, n, bi, bi, 3); }
    }
    norm(&g, "decoder.norm_out", bi); conv(&g, "decoder.conv_out", 3, bi, 3);
    conv(&g, "quant_conv", c->z, c->z, c->qks); conv(&g, "post_quant_conv", c->z, c->z, c->qks);
    add(&g, "quantize.embedding.weight", 2, c->vocab, c->z, 0, 0);
    if (fabs(c->quant_resi) > 1e-6) {
        int K = c->share == 0 ? (c->dflt_cnt ? c->dflt_cnt : c->n_scales) : c->share == 1 ? 1 : c->share;
        for (int i = 0; i < K; i++) {
            if (c->share == 0) snprintf(n, sizeof n, "quantize.quant_resi.%d", i);
            else if (c->share == 1) snprintf(n, sizeof n, "quantize.quant_resi.qresi");
            else snprintf(n, sizeof n, "quantize.quant_resi.qresi_ls.%d", i);
            conv(&g, n, c->z, c->z, 3);
        }
    }
    if (c->extra_keys) {
        add(&g, "quantize.ema_vocab_hit_SV", 2, c->n_scales, c->vocab, 0, 0);
        int64_t s[2] = {4, 4};
        float junk[16] = {0};
        if (hart_st_writer_add_raw(g.w, "disc.model.0.weight", HART_F32, 2, s, junk)) g.err = 1;
    }
    char p[1200];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    if (!g.err && hart_st_writer_save(g.w, p)) g.err = 1;
    hart_st_writer_free(g.w);
    if (g.err) return 1;
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = fopen(p, "w");
    if (!f) return 1;
    fprintf(f, "{\"model_type\":\"%s\",\"ch\":%d,\"ch_mult\":[", c->no_prefix ? "hart_autoencoder" : "hart_autoencoder_with_disc",
            CH);
    for (int i = 0; i < NM; i++) fprintf(f, "%s%d", i ? "," : "", c->ch_mult[i]);
    fprintf(f, "],\"z_channels\":%d,\"vocab_size\":%d,\"v_patch_nums\":[", c->z, c->vocab);
    for (int i = 0; i < c->n_scales; i++) fprintf(f, "%s%d", i ? "," : "", c->pn[i]);
    fprintf(f, "],\"quant_resi\":%g,\"share_quant_resi\":%d,\"default_qresi_counts\":%d,\"quant_conv_ks\":%d,"
               "\"quantizer_type\":\"%s\",\"disc_extra\":null",
            c->quant_resi, c->share, c->dflt_cnt, c->qks, c->hybrid ? "var_hybrid" : "var");
    if (c->nrb) fprintf(f, ",\"num_res_blocks\":%d", c->nrb);
    fprintf(f, "}\n");
    fclose(f);
    return 0;
}

void vae_random_remove(const char *dir) {
    char p[1200];
    snprintf(p, sizeof p, "%s/model.safetensors", dir); unlink(p);
    snprintf(p, sizeof p, "%s/config.json", dir); unlink(p);
    rmdir(dir);
}
