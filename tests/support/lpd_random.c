#include "lpd_random.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/safetensors.h"

/* ---- random weights (xorshift, uniform in [-1, 1)) ---- */
static uint64_t rs = 88172645463325252ULL;
static float rnd(void) {
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (float)((rs >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}

/* add a tensor of n = prod(shape) values base + scale * U(-1, 1), stored as dt */
static int add(hart_st_writer *w, const char *name, hart_dtype dt, int nd, const int64_t *shp, float scale, float base) {
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= shp[i];
    size_t es = dt == HART_F32 ? 4 : 2;
    void *d = malloc(es * (size_t)(n ? n : 1));
    if (!d) return 1;
    for (int64_t i = 0; i < n; i++) {
        float v = base + scale * rnd();
        if (dt == HART_F32) ((float *)d)[i] = v;
        else ((uint16_t *)d)[i] = dt == HART_BF16 ? hart_f32_to_bf16(v) : hart_f32_to_f16(v);
    }
    hart_status st = hart_st_writer_add_raw(w, name, dt, nd, shp, d);
    free(d);
    return st != HART_OK;
}

#define ADD(dt, sc, base, nd, ...) add(w, nm, dt, nd, (int64_t[]){__VA_ARGS__}, sc, base)
#define NM(...) snprintf(nm, sizeof nm, __VA_ARGS__)

int lpd_random_write_lpd(const char *path, const lpd_random_shape *s, int N) {
    hart_st_writer *w = hart_st_writer_new();
    if (!w) return 1;
    int64_t D = s->D, M = 4 * (int64_t)s->D;
    float sd = 1.0f / sqrtf((float)D), sm = 1.0f / sqrtf((float)M);
    char nm[128];
    int e = 0;
    NM("class_emb.weight"); e |= ADD(HART_F32, 0.02f, 0, 2, s->classes, D);
    NM("token_emb.weight"); e |= ADD(HART_F32, 0.02f, 0, 2, s->V, D);
    NM("fake_latent"); e |= ADD(HART_F32, 0.02f, 0, 2, 1, D);
    NM("mask_token"); e |= ADD(HART_F32, 0.02f, 0, 3, 1, 1, D);
    NM("pos_embed"); e |= ADD(HART_F32, 0.02f, 0, 3, 1, N + 1, D);
    NM("z_proj_ln.weight"); e |= ADD(HART_F32, 0.1f, 1, 1, D);
    NM("z_proj_ln.bias"); e |= ADD(HART_F32, 0.1f, 0, 1, D);
    NM("norm.weight"); e |= ADD(HART_F32, 0.1f, 1, 1, D);
    NM("norm.bias"); e |= ADD(HART_F32, 0.1f, 0, 1, D);
    NM("head.weight"); e |= ADD(s->wdt, sd, 0, 2, s->V, D);
    for (int l = 0; l < s->depth && !e; l++) {
        NM("blocks.%d.norm1.weight", l); e |= ADD(HART_F32, 0.1f, 1, 1, D);
        NM("blocks.%d.norm1.bias", l); e |= ADD(HART_F32, 0.1f, 0, 1, D);
        NM("blocks.%d.attn.qkv.weight", l); e |= ADD(s->wdt, sd, 0, 2, 3 * D, D);
        NM("blocks.%d.attn.qkv.bias", l); e |= ADD(HART_F32, 0.1f, 0, 1, 3 * D);
        NM("blocks.%d.attn.proj.weight", l); e |= ADD(s->wdt, sd, 0, 2, D, D);
        NM("blocks.%d.attn.proj.bias", l); e |= ADD(HART_F32, 0.1f, 0, 1, D);
        NM("blocks.%d.norm2.weight", l); e |= ADD(HART_F32, 0.1f, 1, 1, D);
        NM("blocks.%d.norm2.bias", l); e |= ADD(HART_F32, 0.1f, 0, 1, D);
        NM("blocks.%d.mlp.fc1.weight", l); e |= ADD(s->wdt, sd, 0, 2, M, D);
        NM("blocks.%d.mlp.fc1.bias", l); e |= ADD(HART_F32, 0.1f, 0, 1, M);
        NM("blocks.%d.mlp.fc2.weight", l); e |= ADD(s->wdt, sm, 0, 2, D, M);
        NM("blocks.%d.mlp.fc2.bias", l); e |= ADD(HART_F32, 0.1f, 0, 1, D);
    }
    if (!e) e = hart_st_writer_save(w, path) != HART_OK;
    hart_st_writer_free(w);
    return e;
}

/* LlamaGen VQModel tensors (encoder too: the loader reads the architecture from it) */
static int vq_conv(hart_st_writer *w, const char *pre, int co, int ci, int k) {
    char nm[200];
    float sc = 1.0f / sqrtf((float)ci * k * k);
    NM("%s.weight", pre);
    int e = ADD(HART_F32, sc, 0, 4, co, ci, k, k);
    NM("%s.bias", pre);
    return e | ADD(HART_F32, 0.05f, 0, 1, co);
}
static int vq_gn(hart_st_writer *w, const char *pre, int c) {
    char nm[200];
    NM("%s.weight", pre);
    int e = ADD(HART_F32, 0.1f, 1, 1, c);
    NM("%s.bias", pre);
    return e | ADD(HART_F32, 0.1f, 0, 1, c);
}
static int vq_res(hart_st_writer *w, const char *pre, int ci, int co) {
    char nm[200];
    int e = 0;
    NM("%s.norm1", pre); e |= vq_gn(w, nm, ci);
    NM("%s.conv1", pre); e |= vq_conv(w, nm, co, ci, 3);
    NM("%s.norm2", pre); e |= vq_gn(w, nm, co);
    NM("%s.conv2", pre); e |= vq_conv(w, nm, co, co, 3);
    if (ci != co) { NM("%s.nin_shortcut", pre); e |= vq_conv(w, nm, co, ci, 1); }
    return e;
}
static int vq_attn(hart_st_writer *w, const char *pre, int c) {
    char nm[200];
    int e = 0;
    NM("%s.norm", pre); e |= vq_gn(w, nm, c);
    const char *p[] = {"q", "k", "v", "proj_out"};
    for (int i = 0; i < 4; i++) { NM("%s.%s", pre, p[i]); e |= vq_conv(w, nm, c, c, 1); }
    return e;
}

int lpd_random_write_vq(const char *path, const lpd_random_shape *s) {
    hart_st_writer *w = hart_st_writer_new();
    if (!w) return 1;
    char nm[200];
    int ch = s->vq_ch, nl = s->n_mult, nrb = s->vq_nrb, z = s->vq_z, E = s->vq_e, e = 0;
    e |= vq_conv(w, "encoder.conv_in", ch, 3, 3);
    int in = ch;
    for (int i = 0; i < nl; i++) {
        int out = ch * s->mult[i];
        for (int b = 0; b < nrb; b++) {
            NM("encoder.conv_blocks.%d.res.%d", i, b); e |= vq_res(w, nm, in, out);
            in = out;
            if (i == nl - 1) { NM("encoder.conv_blocks.%d.attn.%d", i, b); e |= vq_attn(w, nm, in); }
        }
        if (i != nl - 1) { NM("encoder.conv_blocks.%d.downsample.conv", i); e |= vq_conv(w, nm, in, in, 3); }
    }
    e |= vq_res(w, "encoder.mid.0", in, in);
    e |= vq_attn(w, "encoder.mid.1", in);
    e |= vq_res(w, "encoder.mid.2", in, in);
    e |= vq_gn(w, "encoder.norm_out", in);
    e |= vq_conv(w, "encoder.conv_out", z, in, 3);
    in = ch * s->mult[nl - 1];
    e |= vq_conv(w, "decoder.conv_in", in, z, 3);
    e |= vq_res(w, "decoder.mid.0", in, in);
    e |= vq_attn(w, "decoder.mid.1", in);
    e |= vq_res(w, "decoder.mid.2", in, in);
    for (int i = 0; i < nl; i++) { /* conv_blocks.0 is the deepest level */
        int out = ch * s->mult[nl - 1 - i];
        for (int b = 0; b < nrb + 1; b++) {
            NM("decoder.conv_blocks.%d.res.%d", i, b); e |= vq_res(w, nm, in, out);
            in = out;
            if (i == 0) { NM("decoder.conv_blocks.%d.attn.%d", i, b); e |= vq_attn(w, nm, in); }
        }
        if (i != nl - 1) { NM("decoder.conv_blocks.%d.upsample.conv", i); e |= vq_conv(w, nm, in, in, 3); }
    }
    e |= vq_gn(w, "decoder.norm_out", in);
    e |= vq_conv(w, "decoder.conv_out", 3, in, 3);
    e |= vq_conv(w, "quant_conv", E, z, 1);
    e |= vq_conv(w, "post_quant_conv", z, E, 1);
    NM("quantize.embedding.weight"); e |= ADD(HART_F32, 1.0f, 0, 2, s->V, E);
    if (!e) e = hart_st_writer_save(w, path) != HART_OK;
    hart_st_writer_free(w);
    return e;
}
