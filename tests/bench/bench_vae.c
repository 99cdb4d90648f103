/* HART tokenizer decoder benchmark: builds a tokenizer with the HART config
 * class's defaults (ch 160, ch_mult 1,1,2,2,4, z 32, vocab 4096, 16x
 * downsampling; random weights) in a temp folder, prints the decoder's
 * GFLOP count at 512² and 1024², and times hart_vae_decode.
 *
 *   build/tests/bench/bench_vae [--device cpu|opencl[:P[:D]]] [--size N]... [--batch B] [--runs N] [--warmup]
 *
 * --device: backend (default $HART_DEVICE, else the library default).
 * --size N: output side in pixels (multiple of 16), repeatable; default the
 *   sizes in $HART_BENCH_VAE_SIZES, else "32,64" (quick, for `make bench`);
 *   the figures use --size 512 --size 1024.
 * --batch B: images per decode (default 1; B = 4 at 1024 px makes 2.7 GB
 *   activations, past the 2^31 bytes where NVIDIA's buffer fill hangs).
 * --runs N: decodes per size, each timed (default 1; the first includes
 *   kernel compilation and GEMM tuning on a fresh cache).
 * --warmup: one untimed decode per size first (oneDNN's JIT kernels, the
 *   OpenCL program build).
 * After each size one machine-readable line with the median of the runs
 * (tools/hart_cpu_side_by_side.sh reads it; keys as tools/hart_torch_bench.py
 * --decode-only prints for the original):
 *   RESULT impl=hart config=hart-tokenizer stage=decode px=P B=B total_s= per_image_s= runs=N warmup=0|1 */
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

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int usage(const char *p) {
    fprintf(stderr, "usage: %s [--device SPEC] [--size N]... [--batch B] [--runs N] [--warmup] [--precision f32|f16 (default: f16 on a GPU, else f32)]\n", p);
    return 2;
}

int main(int argc, char **argv) {
    const char *dev = getenv("HART_DEVICE"), *prec_s = NULL;
    char sizes_arg[256] = "";
    int batch = 1, runs = 1, warmup = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) dev = argv[++i];
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) prec_s = argv[++i];
        else if (!strcmp(argv[i], "--warmup")) warmup = 1;
        else if ((!strcmp(argv[i], "--batch") || !strcmp(argv[i], "--runs")) && i + 1 < argc) {
            int *dst = argv[i][2] == 'b' ? &batch : &runs;
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 64) {
                fprintf(stderr, "bench_vae: bad %s '%s' (1..64)\n", argv[i - 1], argv[i]);
                return 2;
            }
            *dst = (int)v;
        }
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
        double ts[64];
        for (int r = -warmup; r < runs; r++) {
            hart_tensor f, img;
            hart_tensor_new4(NULL, HART_F32, &f, 4, batch, Z, s / 16, s / 16);
            hart_tensor_new4(NULL, HART_F32, &img, 4, batch, 3, s, s);
            fill_random(f.data, hart_tensor_numel(&f), 7, -1, 1);
            double t0 = now();
            hart_status st = hart_vae_decode(v, &f, &img);
            if (!st) st = hart_backend_wait(be); /* the time ends when the device has finished */
            double dt = now() - t0, gf = batch * hart_vae_decode_flops(v, s / 16, s / 16) * 1e-9;
            hart_tensor_free(&f);
            hart_tensor_free(&img);
            if (st) { fprintf(stderr, "bench_vae: %s\n", hart_errmsg()); goto out; }
            printf("  decode %4dx%-4d x %d: %8.3f s  %7.1f GFLOP  %7.2f GFLOP/s  (%.3f s per image)%s\n", s, s, batch, dt,
                   gf, gf / dt, dt / batch, r < 0 ? "  warm-up" : "");
            fflush(stdout);
            if (r >= 0) ts[r] = dt;
        }
        qsort(ts, (size_t)runs, sizeof *ts, cmp_double);
        double med = runs % 2 ? ts[runs / 2] : 0.5 * (ts[runs / 2 - 1] + ts[runs / 2]);
        printf("RESULT impl=hart config=hart-tokenizer stage=decode px=%d B=%d total_s=%.4f per_image_s=%.5f runs=%d "
               "warmup=%d\n", s, batch, med, med / batch, runs, warmup);
        fflush(stdout);
    }
    rc = 0;
out:
    hart_vae_free(v);
    vae_random_remove(dir);
    return rc;
}
