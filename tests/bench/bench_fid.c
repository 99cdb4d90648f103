/* `hart fid` throughput: images/s of hart_fid_stats_of (what the CLI runs
 * for an image folder: PNG decode, resize to 299, FID Inception forward in
 * batches, statistics) on a folder of random images, with the random FID
 * Inception weights of the golden set (the same FLOPs as the release weights).
 *
 *   build/tests/bench/bench_fid [--device SPEC] [--images N] [--batch B] [--size S]
 *
 * Defaults: $HART_DEVICE (else cpu), 32 images, batch 16, 256x256 PNGs (the
 * issue's figure is 10,000 images: --images 10000). The clock covers the
 * whole call (features are read back to the host every batch, so device work
 * is finished); writing the images and loading the weights are not timed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "io/image.h"
#include "models/inception/inception.h"
#include "pipeline/fid.h"
#include "support/fid_random.h"
#include "support/golden.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    const char *device = NULL;
    int n = 32, batch = 16, size = 256;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--device")) device = argv[i + 1];
        else if (!strcmp(argv[i], "--images")) n = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--size")) size = atoi(argv[i + 1]);
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    if (n < 2 || batch < 1 || size < 1) { fprintf(stderr, "bad --images/--batch/--size\n"); return 2; }
    char tmp[] = "/tmp/bench-fid-XXXXXX", manifest[1024], weights[600], p[700];
    if (!mkdtemp(tmp)) return 1;
    golden_path("fid-tiny/weights.txt", manifest, sizeof manifest);
    snprintf(weights, sizeof weights, "%s/w.safetensors", tmp);
    if (fid_random_write(manifest, weights)) { fprintf(stderr, "cannot write weights from %s\n", manifest); return 1; }
    snprintf(p, sizeof p, "%s/img", tmp);
    mkdir(p, 0755);
    hart_image img;
    if (hart_image_new(size, size, &img)) return 1;
    uint64_t r = 42;
    for (int i = 0; i < n; i++) {
        for (int64_t k = 0; k < (int64_t)size * size * 3; k++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            img.rgb[k] = (uint8_t)(r >> 56);
        }
        snprintf(p, sizeof p, "%s/img/%05d.png", tmp, i);
        if (hart_image_write(p, &img, NULL, 0, 0)) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
    }
    hart_image_free(&img);
    hart_backend *be = NULL;
    char why[256];
    if (hart_backend_open(device, &be, why, sizeof why)) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
    hart_inception *m = NULL;
    if (hart_inception_load(be, weights, &m)) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
    hart_fid_opts o = {.model = m, .batch = batch};
    hart_fid_stats st;
    snprintf(p, sizeof p, "%s/img", tmp);
    double t0 = now();
    if (hart_fid_stats_of(p, &o, &st)) { fprintf(stderr, "%s\n", hart_errmsg()); return 1; }
    double t = now() - t0;
    printf("bench_fid: %s, %d images %dx%d, batch %d: %.2f s, %.2f images/s\n", be->name, n, size, size, batch, t,
           n / t);
    hart_fid_stats_free(&st);
    hart_inception_free(m);
    hart_backend_close(be);
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/img/%05d.png", tmp, i);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/img", tmp);
    rmdir(p);
    unlink(weights);
    rmdir(tmp);
    return 0;
}
