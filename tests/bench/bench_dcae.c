/* DC-AE encoder/decoder timing with random weights.
 *
 *   build/tests/bench/bench_dcae [CONFIG] [SIZES] [--tile T] [--device SPEC]
 *
 * CONFIG: a released name (configs/<name>.json) or a config file path;
 * default dc-ae-f32c32-in-1.0. SIZES: comma-separated image sides, default
 * "512,1024". With no arguments (as in `make bench`) it runs the tiny golden
 * architecture at 128 and 256 px unless HART_BENCH_FULL=1. Prints the time of
 * one encode and one decode per size, and the process's peak RSS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "models/dcae.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double peak_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv) {
    const char *cfg = "dc-ae-f32c32-in-1.0", *sizes = "512,1024", *dev = NULL;
    int tile = -1, pos = 0;
    if (argc == 1 && !getenv("HART_BENCH_FULL")) { /* `make bench`: quick, the tiny golden architecture */
        cfg = "../shared/golden/dcae-tiny/dcae_config.json";
        sizes = "128,256";
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tile") && i + 1 < argc) tile = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) dev = argv[++i];
        else if (pos == 0) { cfg = argv[i]; pos++; }
        else if (pos == 1) { sizes = argv[i]; pos++; }
        else { fprintf(stderr, "usage: %s [CONFIG] [SIZES] [--tile T] [--device SPEC]\n", argv[0]); return 2; }
    }
    hart_backend *be = NULL;
    char why[256] = "";
    if (hart_backend_open(dev, &be, why, sizeof why)) { fprintf(stderr, "bench_dcae: %s\n", hart_errmsg()); return 1; }
    hart_dcae *m = NULL;
    double t0 = now();
    if (hart_dcae_create_random(be, cfg, 1, &m)) {
        fprintf(stderr, "bench_dcae: %s\n", hart_errmsg());
        hart_backend_close(be);
        return 1;
    }
    const hart_dcae_info *in = hart_dcae_get_info(m);
    printf("dcae bench: %s on %s (random weights, built in %.2f s), ratio %d, latent %d ch\n", cfg, be->name,
           now() - t0, in->ratio, in->latent_channels);
    char *list = strdup(sizes);
    int rc = 0;
    for (char *tok = strtok(list, ","); tok && !rc; tok = strtok(NULL, ",")) {
        int S = atoi(tok);
        if (S < in->ratio || S % in->ratio) { fprintf(stderr, "bench_dcae: size %d is not a multiple of %d\n", S, in->ratio); rc = 2; break; }
        hart_tensor img = {0}, lat = {0}, out = {0};
        if (hart_tensor_new4(NULL, HART_F32, &img, 4, 1, in->in_channels, S, S)) { rc = 1; break; }
        float *d = img.data;
        for (int64_t i = 0; i < hart_tensor_numel(&img); i++) d[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
        t0 = now();
        if (hart_dcae_encode(m, &img, &lat)) { fprintf(stderr, "bench_dcae: %s\n", hart_errmsg()); rc = 1; }
        double te = now() - t0;
        if (getenv("HART_BENCH_VERBOSE")) printf("  after encode: peak RSS %.0f MB\n", peak_mb());
        int tl = tile >= 0 ? tile : hart_dcae_default_tile(m, S / in->ratio, S / in->ratio);
        double td = 0;
        if (!rc) {
            hart_tensor lat_in = lat;
            lat_in.shape[1] = in->latent_channels; /* first half when the encoder doubles the latent */
            t0 = now();
            if (hart_dcae_decode_tiled(m, &lat_in, tl, tl / 4, &out)) { fprintf(stderr, "bench_dcae: %s\n", hart_errmsg()); rc = 1; }
            td = now() - t0;
        }
        if (!rc)
            printf("  %5d px: encode %8.3f s   decode %8.3f s (tile %d)   peak RSS %.0f MB\n", S, te, td, tl, peak_mb());
        hart_tensor_free(&img); hart_tensor_free(&lat); hart_tensor_free(&out);
    }
    free(list);
    hart_dcae_free(m);
    hart_backend_close(be);
    return rc;
}
