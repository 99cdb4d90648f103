#include "golden.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *golden_path(const char *rel, char *buf, size_t n) {
    const char *root = getenv("HART_GOLDEN");
    snprintf(buf, n, "%s/%s", root && *root ? root : "../shared/golden", rel);
    return buf;
}

int golden_available(void) {
    char p[1024];
    struct stat sb;
    return stat(golden_path("README.md", p, sizeof p), &sb) == 0;
}

double rel_err(const float *a, const float *b, int64_t n) {
    double md = 0, mb = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= md)) md = d; /* NaN propagates as a failure */
        if (fabs(b[i]) > mb) mb = fabs(b[i]);
    }
    if (isnan(md)) return INFINITY;
    return mb > 0 ? md / mb : md;
}

double golden_compare(const hart_safetensors *st, const char *name, const hart_tensor *got) {
    hart_tensor ref;
    if (hart_st_tensor(st, name, &ref) != HART_OK || ref.dtype != HART_F32) {
        printf("  %s: missing from golden file\n", name);
        return 1e30;
    }
    if (hart_tensor_numel(&ref) != hart_tensor_numel(got)) {
        char a[96], b[96];
        printf("  %s: shape %s vs golden %s\n", name, hart_shape_str(got, a, sizeof a), hart_shape_str(&ref, b, sizeof b));
        return 1e30;
    }
    int64_t n = hart_tensor_numel(got);
    float *buf = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!buf || hart_tensor_read_f32(got, buf) != HART_OK) { free(buf); return 1e30; }
    double e = rel_err(buf, ref.data, n);
    printf("  %-28s rel err %.3g\n", name, e);
    free(buf);
    return e;
}

int64_t golden_compare_idx(const hart_safetensors *st, const char *name, const hart_tensor *got) {
    hart_tensor ref;
    if (hart_st_tensor(st, name, &ref) != HART_OK || ref.dtype != HART_I64 || got->dtype != HART_I64 ||
        hart_tensor_numel(&ref) != hart_tensor_numel(got)) {
        printf("  %s: missing or shape/dtype mismatch\n", name);
        return -1;
    }
    int64_t n = hart_tensor_numel(got), bad = 0;
    int64_t *buf = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!buf || hart_tensor_read(got, buf, (size_t)n * 8) != HART_OK) { free(buf); return -1; }
    for (int64_t i = 0; i < n; i++) bad += buf[i] != ((const int64_t *)ref.data)[i];
    printf("  %-28s %lld of %lld indices differ\n", name, (long long)bad, (long long)n);
    free(buf);
    return bad;
}

void fill_random(float *x, int64_t n, unsigned seed, float lo, float hi) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        x[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
}

void fill_nan(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = NAN;
}
