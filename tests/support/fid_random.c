/* See fid_random.h. */
#include "fid_random.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"

static uint64_t splitmix64(uint64_t x) {
    uint64_t z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int fid_random_write(const char *manifest, const char *path) {
    FILE *f = fopen(manifest, "r");
    if (!f) return -1;
    hart_st_writer *w = hart_st_writer_new();
    char line[512];
    int rc = w ? 0 : -1;
    for (uint64_t k = 0; !rc && fgets(line, sizeof line, f); k++) {
        char name[256];
        double lo, hi;
        int pos = 0;
        if (sscanf(line, "%255s %lf %lf%n", name, &lo, &hi, &pos) != 3) { rc = -1; break; }
        int64_t shape[HART_MAX_DIMS];
        int nd = 0, used;
        long long d;
        const char *p = line + pos;
        while (nd < HART_MAX_DIMS && sscanf(p, "%lld%n", &d, &used) == 1) { shape[nd++] = d; p += used; }
        int64_t n = 1;
        for (int i = 0; i < nd; i++) n *= shape[i];
        float *v = malloc(sizeof(float) * (size_t)n);
        if (!v) { rc = -1; break; }
        for (int64_t i = 0; i < n; i++) {
            double u = (double)(splitmix64((k << 32) + (uint64_t)i) >> 40) / (double)(1 << 24);
            v[i] = (float)(lo + (hi - lo) * u);
        }
        if (hart_st_writer_add_raw(w, name, HART_F32, nd, shape, v)) rc = -1;
        free(v);
    }
    fclose(f);
    if (!rc && hart_st_writer_save(w, path)) rc = -1;
    hart_st_writer_free(w);
    return rc;
}
