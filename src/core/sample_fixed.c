/* Row-wise token filter and draw on the host (contract in sample_fixed.h). */
#include "core/sample_fixed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
#define SM_U32 uint32_t
#define SM_U64 uint64_t
#define SM_BITS(f) float_bits(f)
#define SM_FN static inline
#include "kernels/sample_math.cl"

uint64_t hart_sample_weight(float x, float mx) { return sm_row_weight(x, mx); }

uint64_t hart_sample_topp_frac(double p) { return (uint64_t)((1.0 - p) * 4294967296.0); }

/* k-th largest (1-based) of a[0..n) by quickselect (a is permuted) */
static float kth_largest(float *a, int n, int k) {
    int lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        float piv = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] > piv) i++;
            while (a[j] < piv) j--;
            if (i <= j) { float t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else return a[want];
    }
    return a[want];
}

typedef struct { uint32_t key; int i; } keyed;
static int cmp_keyed(const void *x, const void *y) {
    const keyed *a = x, *b = y;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

static float row_max(const float *row, int V) {
    float mx = -INFINITY;
    for (int i = 0; i < V; i++)
        if (row[i] > mx) mx = row[i];
    return mx;
}

hart_status hart_sample_filter_row(float *row, int V, int k, double p) {
    if (V < 1 || V > HART_SAMPLE_MAX_V) return hart_fail(HART_EINVAL, "top-k/top-p: vocabulary of %d (1..%d)", V, HART_SAMPLE_MAX_V);
    for (int i = 0; i < V; i++)
        if (isnan(row[i])) return hart_fail(HART_EINVAL, "top-k/top-p: logits contain NaN");
    if (k > 0 && k < V) {
        float *tmp = malloc(sizeof(float) * (size_t)V);
        if (!tmp) return hart_fail(HART_ENOMEM, "top-k");
        memcpy(tmp, row, sizeof(float) * (size_t)V);
        float thr = kth_largest(tmp, V, k);
        free(tmp);
        for (int i = 0; i < V; i++)
            if (row[i] < thr) row[i] = -INFINITY;
    }
    if (p > 0 && p < 1) {
        keyed *s = malloc(sizeof(keyed) * (size_t)V);
        if (!s) return hart_fail(HART_ENOMEM, "top-p");
        float mx = row_max(row, V);
        uint64_t S = 0;
        for (int i = 0; i < V; i++) {
            s[i].key = sm_key(row[i]);
            s[i].i = i;
            S += sm_row_weight(row[i], mx);
        }
        qsort(s, (size_t)V, sizeof *s, cmp_keyed);
        uint64_t lim = sm_frac_of(hart_sample_topp_frac(p), S), cum = 0;
        for (int j = 0; j < V; j++) {
            cum += sm_row_weight(row[s[j].i], mx);
            if (cum > lim) break;
            row[s[j].i] = -INFINITY;
        }
        free(s);
    }
    return HART_OK;
}

int64_t hart_sample_draw_row(const float *row, int V, uint64_t U) {
    float mx = row_max(row, V);
    if (mx == -INFINITY) return 0;
    uint64_t S = 0;
    for (int i = 0; i < V; i++) S += sm_row_weight(row[i], mx);
    if (U > 0xffffffffu) U = 0xffffffffu;
    uint64_t target = sm_frac_of(U, S), cum = 0;
    for (int i = 0; i < V; i++) {
        cum += sm_row_weight(row[i], mx);
        if (cum > target) return i;
    }
    return 0; /* not reached: target < S */
}

void hart_sample_gumbel_row(float *probs, const float *logits, int V, float scale, float tau, const double *u) {
    float mx = -INFINITY;
    for (int i = 0; i < V; i++) {
        double e = -log(1.0 - u[i]);
        if (e < 1e-300) e = 1e-300;
        float g = (float)-log(e);
        float v = logits[i] == -INFINITY ? -INFINITY : (logits[i] * scale + g) / tau;
        probs[i] = v;
        if (v > mx) mx = v;
    }
    double sum = 0;
    for (int i = 0; i < V; i++) sum += probs[i] == -INFINITY ? 0 : exp((double)probs[i] - mx);
    for (int i = 0; i < V; i++) probs[i] = probs[i] == -INFINITY ? 0.0f : (float)(exp((double)probs[i] - mx) / sum);
}

