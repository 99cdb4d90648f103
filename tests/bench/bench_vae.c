/* HART tokenizer decoder benchmark: builds a tokenizer with the HART config
 * class's defaults (ch 160, ch_mult 1,1,2,2,4, z 32, vocab 4096, 16x
 * downsampling; random weights) in a temp folder, prints the decoder's
 * GFLOP count at 512² and 1024², and times hart_vae_decode.
 *
 *   build/tests/bench/bench_vae [--device cpu|opencl[:P[:D]]] [--size N]...
 *
 * --device: backend (default $HART_DEVICE, else the library default).
 * --size N: output side in pixels (multiple of 16), repeatable; default the
 *   sizes in $HART_BENCH_VAE_SIZES, else "32,64" (quick, for `make bench`);
 *   the figures use --size 512 --size 1024. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/backend.h"
#include "core/safetensors.h"
#include "models/hart/autoencoder_internal.h"
#include "pipeline/t2i_timings.h"
#include "support/golden.h"
#include "support/vae_random.h"

static const int CH = 160, Z = 32, V = 4096;

static int make_model(const char *dir) {
    vae_random_cfg c = {.ch = CH, .n_mult = 5, .ch_mult = {1, 1, 2, 2, 4}, .z = Z, .vocab = V, .n_scales = 14,
                        .pn = {1, 2, 3, 4, 5, 7, 9, 12, 16, 21, 27, 36, 48, 64}, .quant_resi = 0.5, .share = 4, .qks = 3,
                        .hybrid = 1, .seed = 1};
    return vae_random_write(dir, &c);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int usage(const char *p) {
    fprintf(stderr, "usage: %s [--device SPEC] [--size N]... [--precision f32|f16 (default: f16 on a GPU, else f32)]\n", p);
    return 2;
}

int main(int argc, char **argv) {
    const char *dev = getenv("HART_DEVICE"), *prec_s = NULL;
    char sizes_arg[256] = "";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) dev = argv[++i];
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) prec_s = argv[++i];
        else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 16 || v % 16 || v > 16384 || strlen(sizes_arg) + 8 >= sizeof sizes_arg) {
                fprintf(stderr, "bench_vae: bad --size '%s' (a multiple of 16, 16..16384)\n", argv[i]);
                return 2;
            }
            snprintf(sizes_arg + strlen(sizes_arg), sizeof sizes_arg - strlen(sizes_arg), "%s%ld", *sizes_arg ? "," : "", v);
        } else return usage(argv[0]);
    }
    char dir[] = "/tmp/hart_bench_vaeXXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    int rc = 1;
    hart_vae *v = NULL;
    hart_backend *be = NULL;
    char why[768];
    hart_precision prec;
    if (hart_precision_parse(prec_s, &prec)) { fprintf(stderr, "%s: --precision: %s\n", argv[0], hart_errmsg()); goto out; }
    if (make_model(dir)) { fprintf(stderr, "bench_vae: could not write the model: %s\n", hart_errmsg()); goto out; }
    if (hart_backend_open_prec(dev, prec, &be, why, sizeof why) || hart_vae_load(be, dir, &v)) {
        fprintf(stderr, "bench_vae: %s\n", hart_errmsg());
        goto out;
    }
    printf("HART tokenizer decoder (ch %d, ch_mult 1,1,2,2,4, z %d), backend %s, precision %s\n", CH, Z, be->name,
           hart_precision_name(be->precision));
    for (int s = 512; s <= 1024; s *= 2)
        printf("  decoder %4dx%-4d: %.1f GFLOP   (encoder %.1f GFLOP)\n", s, s, hart_vae_decode_flops(v, s / 16, s / 16) * 1e-9,
               hart_vae_encode_flops(v, s / 16, s / 16) * 1e-9);
    const char *sizes = *sizes_arg ? sizes_arg : getenv("HART_BENCH_VAE_SIZES");
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
        if (!st) st = hart_backend_wait(be); /* the time ends when the device has finished */
        double dt = now() - t0, gf = hart_vae_decode_flops(v, s / 16, s / 16) * 1e-9;
        hart_tensor_free(&f);
        hart_tensor_free(&img);
        if (st) { fprintf(stderr, "bench_vae: %s\n", hart_errmsg()); goto out; }
        printf("  decode %4dx%-4d: %8.3f s  %7.1f GFLOP  %7.2f GFLOP/s\n", s, s, dt, gf, gf / dt);
    }
    rc = 0;
out:
    hart_vae_free(v);
    vae_random_remove(dir);
    return rc;
}
