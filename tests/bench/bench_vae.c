/* HART tokenizer decoder benchmark: builds a tokenizer with the HART config
 * class's defaults (ch 160, ch_mult 1,1,2,2,4, z 32, vocab 4096, 16x
 * downsampling; random weights) in a temp folder, prints the decoder's
 * GFLOP count at 512² and 1024², and times hart_vae_decode on the backend of
 * $HART_DEVICE at the sizes in $HART_BENCH_VAE_SIZES (default "32,64";
 * e.g. HART_BENCH_VAE_SIZES=512,1024 for the full sizes). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "core/safetensors.h"
#include "models/vae_internal.h"
#include "support/golden.h"

static const int CH = 160, Z = 32, V = 4096, NM = 5, MULT[5] = {1, 1, 2, 2, 4};
static unsigned g_seed = 1;

static int add(hart_st_writer *w, const char *name, int nd, int64_t a, int64_t b, int64_t c, int64_t d) {
    int64_t shape[4] = {a, b, c, d}, n = 1;
    for (int i = 0; i < nd; i++) n *= shape[i];
    float *x = malloc(sizeof(float) * (size_t)n);
    if (!x) return 1;
    float fan = nd == 4 ? (float)(b * c * d) : 1.0f, sc = nd == 4 ? 1.0f / sqrtf(fan) : 0.1f;
    fill_random(x, n, g_seed++, -sc, sc);
    if (strstr(name, "norm") && strstr(name, "weight")) for (int64_t i = 0; i < n; i++) x[i] += 1.0f;
    int r = hart_st_writer_add_raw(w, name, HART_F32, nd, shape, x) != HART_OK;
    free(x);
    return r;
}

static int conv(hart_st_writer *w, const char *p, int co, int ci, int k) {
    char n[256];
    snprintf(n, sizeof n, "vae.%s.weight", p);
    if (add(w, n, 4, co, ci, k, k)) return 1;
    snprintf(n, sizeof n, "vae.%s.bias", p);
    return add(w, n, 1, co, 0, 0, 0);
}
static int norm(hart_st_writer *w, const char *p, int c) {
    char n[256];
    snprintf(n, sizeof n, "vae.%s.weight", p);
    if (add(w, n, 1, c, 0, 0, 0)) return 1;
    snprintf(n, sizeof n, "vae.%s.bias", p);
    return add(w, n, 1, c, 0, 0, 0);
}
static int res(hart_st_writer *w, const char *p, int ci, int co) {
    char n[256];
    int r = 0;
    snprintf(n, sizeof n, "%s.norm1", p); r |= norm(w, n, ci);
    snprintf(n, sizeof n, "%s.conv1", p); r |= conv(w, n, co, ci, 3);
    snprintf(n, sizeof n, "%s.norm2", p); r |= norm(w, n, co);
    snprintf(n, sizeof n, "%s.conv2", p); r |= conv(w, n, co, co, 3);
    if (ci != co) { snprintf(n, sizeof n, "%s.nin_shortcut", p); r |= conv(w, n, co, ci, 1); }
    return r;
}
static int attn(hart_st_writer *w, const char *p, int c) {
    char n[256];
    int r = 0;
    snprintf(n, sizeof n, "%s.norm", p); r |= norm(w, n, c);
    snprintf(n, sizeof n, "%s.qkv", p); r |= conv(w, n, 3 * c, c, 1);
    snprintf(n, sizeof n, "%s.proj_out", p); r |= conv(w, n, c, c, 1);
    return r;
}

static int make_model(const char *dir) {
    hart_st_writer *w = hart_st_writer_new();
    char n[256];
    int r = 0, bi;
    /* encoder */
    r |= conv(w, "encoder.conv_in", CH, 3, 3);
    bi = CH;
    for (int i = 0; i < NM; i++) {
        int in = CH * (i ? MULT[i - 1] : 1), out = CH * MULT[i];
        for (int b = 0; b < 2; b++) {
            snprintf(n, sizeof n, "encoder.down.%d.block.%d", i, b); r |= res(w, n, b ? out : in, out);
            if (i == NM - 1) { snprintf(n, sizeof n, "encoder.down.%d.attn.%d", i, b); r |= attn(w, n, out); }
        }
        if (i != NM - 1) { snprintf(n, sizeof n, "encoder.down.%d.downsample.conv", i); r |= conv(w, n, out, out, 3); }
        bi = out;
    }
    r |= res(w, "encoder.mid.block_1", bi, bi) | attn(w, "encoder.mid.attn_1", bi) | res(w, "encoder.mid.block_2", bi, bi);
    r |= norm(w, "encoder.norm_out", bi) | conv(w, "encoder.conv_out", Z, bi, 3);
    /* decoder */
    bi = CH * MULT[NM - 1];
    r |= conv(w, "decoder.conv_in", bi, Z, 3);
    r |= res(w, "decoder.mid.block_1", bi, bi) | attn(w, "decoder.mid.attn_1", bi) | res(w, "decoder.mid.block_2", bi, bi);
    for (int i = NM - 1; i >= 0; i--) {
        int out = CH * MULT[i];
        for (int b = 0; b < 3; b++) {
            snprintf(n, sizeof n, "decoder.up.%d.block.%d", i, b); r |= res(w, n, bi, out);
            bi = out;
            if (i == NM - 1) { snprintf(n, sizeof n, "decoder.up.%d.attn.%d", i, b); r |= attn(w, n, out); }
        }
        if (i) { snprintf(n, sizeof n, "decoder.up.%d.upsample.conv", i); r |= conv(w, n, bi, bi, 3); }
    }
    r |= norm(w, "decoder.norm_out", bi) | conv(w, "decoder.conv_out", 3, bi, 3);
    r |= conv(w, "quant_conv", Z, Z, 3) | conv(w, "post_quant_conv", Z, Z, 3);
    r |= add(w, "vae.quantize.embedding.weight", 2, V, Z, 0, 0);
    for (int i = 0; i < 4; i++) { snprintf(n, sizeof n, "quantize.quant_resi.qresi_ls.%d", i); r |= conv(w, n, Z, Z, 3); }
    char p[1200];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    if (!r && hart_st_writer_save(w, p)) r = 1;
    hart_st_writer_free(w);
    snprintf(p, sizeof p, "%s/config.json", dir);
    FILE *f = fopen(p, "w");
    if (!f) return 1;
    fprintf(f, "{\"model_type\":\"hart_autoencoder_with_disc\",\"ch\":%d,\"ch_mult\":[1,1,2,2,4],\"z_channels\":%d,"
               "\"vocab_size\":%d,\"v_patch_nums\":[1,2,3,4,5,7,9,12,16,21,27,36,48,64],\"quant_resi\":0.5,"
               "\"share_quant_resi\":4,\"quantizer_type\":\"var_hybrid\"}\n", CH, Z, V);
    fclose(f);
    return r;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void) {
    char dir[] = "/tmp/hart_bench_vaeXXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    int rc = 1;
    hart_vae *v = NULL;
    hart_backend *be = NULL;
    char why[256], p[1200];
    if (make_model(dir)) { fprintf(stderr, "bench_vae: could not write the model: %s\n", hart_errmsg()); goto out; }
    if (hart_backend_open(NULL, &be, why, sizeof why) || hart_vae_load(be, dir, &v)) {
        fprintf(stderr, "bench_vae: %s\n", hart_errmsg());
        goto out;
    }
    printf("HART tokenizer decoder (ch %d, ch_mult 1,1,2,2,4, z %d), backend %s\n", CH, Z, be->name);
    for (int s = 512; s <= 1024; s *= 2)
        printf("  decoder %4dx%-4d: %.1f GFLOP   (encoder %.1f GFLOP)\n", s, s, vae_decode_flops(v, s / 16, s / 16) * 1e-9,
               vae_encode_flops(v, s / 16, s / 16) * 1e-9);
    const char *sizes = getenv("HART_BENCH_VAE_SIZES");
    if (!sizes || !*sizes) sizes = "32,64";
    char buf[256];
    snprintf(buf, sizeof buf, "%s", sizes);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int s = atoi(tok);
        if (s < 16 || s % 16) { fprintf(stderr, "bench_vae: bad size '%s' (multiple of 16)\n", tok); goto out; }
        hart_tensor f, img;
        hart_tensor_new4(NULL, HART_F32, &f, 4, 1, Z, s / 16, s / 16);
        hart_tensor_new4(NULL, HART_F32, &img, 4, 1, 3, s, s);
        fill_random(f.data, hart_tensor_numel(&f), 7, -1, 1);
        double t0 = now();
        hart_status st = hart_vae_decode(v, &f, &img);
        double dt = now() - t0, gf = vae_decode_flops(v, s / 16, s / 16) * 1e-9;
        hart_tensor_free(&f);
        hart_tensor_free(&img);
        if (st) { fprintf(stderr, "bench_vae: %s\n", hart_errmsg()); goto out; }
        printf("  decode %4dx%-4d: %8.3f s  %7.1f GFLOP  %7.2f GFLOP/s\n", s, s, dt, gf, gf / dt);
    }
    rc = 0;
out:
    hart_vae_free(v);
    snprintf(p, sizeof p, "%s/model.safetensors", dir); unlink(p);
    snprintf(p, sizeof p, "%s/config.json", dir); unlink(p);
    rmdir(dir);
    return rc;
}
