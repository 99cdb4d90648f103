/* DC-AE encoder/decoder benchmark with random weights, against the HART
 * tokenizer decoder (release config, random weights) at the same output size.
 *
 *   build/tests/bench/bench_dcae [--device cpu|opencl[:P[:D]]] [--size N]...
 *                                [--config NAME|FILE] [--tile T] [--no-hart]
 *
 * --device: backend (default $HART_DEVICE, else the library default).
 * --size N: image side in pixels, repeatable (default 256 only, so that
 *   `make bench` stays quick; the figures use --size 512 --size 1024).
 * --config: released name (configs/<name>.json) or a config file path,
 *   default dc-ae-f32c32-in-1.0. --tile T: decoder tile in latent pixels
 *   (0 = untiled; default: the library's automatic choice).
 * --no-hart: skip the HART tokenizer decoder comparison.
 * Prints per size: encode and decode seconds, GFLOP (2 per multiply-add of
 * every conv and attention matmul, counted from the layer shapes), GFLOP/s,
 * and the peak resident memory of that phase (VmHWM, reset before it).
 * Every time ends after the backend's sync (hart_backend_wait): on OpenCL the
 * clock stops when the device has finished, not when the host has enqueued
 * the work (before 2026-11-27 it did not wait; the H100 DC-AE figures of that
 * time are enqueue times, see docs/opencl.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "models/dcae/dcae.h"
#include "models/hart/autoencoder_internal.h"
#include "pipeline/t2i_timings.h"
#include "support/golden.h"
#include "support/vae_random.h"

#define MAX_SIZES 16

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* reset the peak-RSS counter (Linux >= 4.0); harmless elsewhere */
static void reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) { fputs("5", f); fclose(f); }
}

/* peak RSS since the last reset, MiB (falls back to getrusage's lifetime peak) */
static double peak_mib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    if (kb < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kb = ru.ru_maxrss;
    }
    return kb / 1024.0;
}

static int usage(const char *p) {
    fprintf(stderr, "usage: %s [--device SPEC] [--size N]... [--config NAME|FILE] [--tile T] [--no-hart]\n"
                    "       [--precision f32|f16 (default: f16 on a GPU, else f32)]\n", p);
    return 2;
}

static int bench_dcae(hart_backend *be, const char *cfg, const int *sizes, int ns, int tile) {
    hart_dcae *m = NULL;
    double t0 = now();
    if (hart_dcae_create_random(be, cfg, 1, &m)) { fprintf(stderr, "bench_dcae: %s\n", hart_errmsg()); return 1; }
    const hart_dcae_info *in = hart_dcae_get_info(m);
    printf("DC-AE %s on %s (random weights, built in %.2f s; ratio %d, latent %d ch; RSS %.0f MiB)\n", cfg, be->name,
           now() - t0, in->ratio, in->latent_channels, peak_mib());
    int rc = 0;
    for (int k = 0; k < ns && !rc; k++) {
        int S = sizes[k], L = S / in->ratio;
        if (S < in->ratio || S % in->ratio) {
            fprintf(stderr, "bench_dcae: --size %d is not a multiple of %d\n", S, in->ratio);
            rc = 2;
            break;
        }
        hart_tensor img = {0}, lat = {0}, out = {0};
        if (hart_tensor_new4(NULL, HART_F32, &img, 4, 1, in->in_channels, S, S)) { rc = 1; break; }
        fill_random(img.data, hart_tensor_numel(&img), 3, -1, 1);
        double gfe = hart_dcae_encode_flops(m, S, S) * 1e-9, gfd = hart_dcae_decode_flops(m, L, L) * 1e-9;
        reset_peak();
        t0 = now();
        if (hart_dcae_encode(m, &img, &lat) || hart_backend_wait(be)) {
            fprintf(stderr, "bench_dcae: %s\n", hart_errmsg());
            rc = 1;
        }
        double te = now() - t0, re = peak_mib();
        hart_tensor_free(&img);
        int tl = tile >= 0 ? tile : hart_dcae_default_tile(m, L, L);
        double td = 0, rd = 0;
        if (!rc) {
            hart_tensor lat_in = lat;
            lat_in.shape[1] = in->latent_channels; /* first half when the encoder doubles the latent */
            reset_peak();
            t0 = now();
            if (hart_dcae_decode_tiled(m, &lat_in, tl, tl / 4, &out) || hart_backend_wait(be)) {
                fprintf(stderr, "bench_dcae: %s\n", hart_errmsg());
                rc = 1;
            }
            td = now() - t0;
            rd = peak_mib();
        }
        if (!rc) {
            printf("  %4dx%-4d encode %8.3f s %8.1f GFLOP %7.2f GFLOP/s  peak RSS %6.0f MiB\n", S, S, te, gfe, gfe / te, re);
            printf("  %4dx%-4d decode %8.3f s %8.1f GFLOP %7.2f GFLOP/s  peak RSS %6.0f MiB  (tile %d%s)\n", S, S, td,
                   gfd, gfd / td, rd, tl, tl ? ", GFLOP untiled" : " = untiled");
        }
        hart_tensor_free(&lat);
        hart_tensor_free(&out);
    }
    hart_dcae_free(m);
    return rc;
}

/* HART tokenizer with the HART config class's defaults (as bench_vae) */
static int bench_hart_vae(hart_backend *be, const int *sizes, int ns) {
    char dir[] = "/tmp/hart_bench_dcae_vaeXXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    vae_random_cfg c = {.ch = 160, .n_mult = 5, .ch_mult = {1, 1, 2, 2, 4}, .z = 32, .vocab = 4096, .n_scales = 14,
                        .pn = {1, 2, 3, 4, 5, 7, 9, 12, 16, 21, 27, 36, 48, 64}, .quant_resi = 0.5, .share = 4, .qks = 3,
                        .hybrid = 1, .seed = 1};
    hart_vae *v = NULL;
    int rc = 1;
    if (vae_random_write(dir, &c) || hart_vae_load(be, dir, &v)) { fprintf(stderr, "bench_dcae: %s\n", hart_errmsg()); goto out; }
    printf("HART tokenizer decoder (ch 160, ch_mult 1,1,2,2,4, z 32; random weights) on %s\n", be->name);
    for (int k = 0; k < ns; k++) {
        int S = sizes[k];
        if (S % 16) { printf("  %4dx%-4d skipped (not a multiple of 16)\n", S, S); continue; }
        hart_tensor f = {0}, img = {0};
        if (hart_tensor_new4(NULL, HART_F32, &f, 4, 1, 32, S / 16, S / 16) ||
            hart_tensor_new4(NULL, HART_F32, &img, 4, 1, 3, S, S)) {
            hart_tensor_free(&f);
            fprintf(stderr, "bench_dcae: %s\n", hart_errmsg());
            goto out;
        }
        fill_random(f.data, hart_tensor_numel(&f), 7, -1, 1);
        reset_peak();
        double t0 = now();
        hart_status st = hart_vae_decode(v, &f, &img);
        if (!st) st = hart_backend_wait(be);
        double dt = now() - t0, gf = hart_vae_decode_flops(v, S / 16, S / 16) * 1e-9;
        hart_tensor_free(&f);
        hart_tensor_free(&img);
        if (st) { fprintf(stderr, "bench_dcae: %s\n", hart_errmsg()); goto out; }
        printf("  %4dx%-4d decode %8.3f s %8.1f GFLOP %7.2f GFLOP/s  peak RSS %6.0f MiB\n", S, S, dt, gf, gf / dt,
               peak_mib());
    }
    rc = 0;
out:
    hart_vae_free(v);
    vae_random_remove(dir);
    return rc;
}

int main(int argc, char **argv) {
    const char *cfg = "dc-ae-f32c32-in-1.0", *dev = NULL, *prec_s = NULL;
    int tile = -1, sizes[MAX_SIZES], ns = 0, hart = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--tile") && v) tile = atoi(argv[++i]);
        else if (!strcmp(a, "--device") && v) dev = argv[++i];
        else if (!strcmp(a, "--config") && v) cfg = argv[++i];
        else if (!strcmp(a, "--precision") && v) prec_s = argv[++i];
        else if (!strcmp(a, "--no-hart")) hart = 0;
        else if (!strcmp(a, "--size") && v) {
            char *end;
            long s = strtol(argv[++i], &end, 10);
            if (*end || s <= 0 || s > 16384 || ns == MAX_SIZES) {
                fprintf(stderr, "bench_dcae: bad --size '%s' (1..16384, at most %d sizes)\n", argv[i], MAX_SIZES);
                return 2;
            }
            sizes[ns++] = (int)s;
        } else return usage(argv[0]);
    }
    if (!ns) sizes[ns++] = 256;
    if (!dev) dev = getenv("HART_DEVICE");
    hart_backend *be = NULL;
    hart_precision prec;
    if (hart_precision_parse(prec_s, &prec)) { fprintf(stderr, "%s: --precision: %s\n", argv[0], hart_errmsg()); return 2; }
    char why[768] = "";
    if (hart_backend_open_prec(dev, prec, &be, why, sizeof why)) { fprintf(stderr, "bench_dcae: %s\n", hart_errmsg()); return 1; }
    printf("bench_dcae: precision %s\n", hart_precision_name(be->precision));
    int rc = bench_dcae(be, cfg, sizes, ns, tile);
    if (!rc && hart) rc = bench_hart_vae(be, sizes, ns);
    hart_backend_close(be);
    return rc;
}
