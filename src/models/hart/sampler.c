/* Sampling helpers (host code). */
#include "models/hart/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double hart_cfg_ramp(double cfg, int si, int S) {
    if (S < 2) return 0.0;
    if (si > S - 2) si = S - 2; /* the reference's last scale reuses the ratio of scale S-2 */
    return cfg * ((double)si / (double)(S - 1));
}

void hart_cfg_mix(float *out, const float *cond, const float *uncond, int64_t n, double t) {
    float a = (float)(1.0 + t), b = (float)t;
    for (int64_t i = 0; i < n; i++) out[i] = a * cond[i] - b * uncond[i];
}

int hart_topk_for_scale(int si, int override_k, int V) {
    int k = override_k > 0 ? override_k : (si < 7 ? 600 : 300);
    return k > V ? V : k;
}

/* k-th largest (1-based) of v[0..n) by quickselect on a copy */
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

typedef struct { float v; int i; } vi;
static int cmp_vi(const void *x, const void *y) {
    const vi *a = x, *b = y;
    if (a->v < b->v) return -1;
    if (a->v > b->v) return 1;
    return a->i - b->i;
}

hart_status hart_filter_top_k_top_p(float *logits, int V, int k, double p) {
    if (V < 1) return hart_fail(HART_EINVAL, "top-k/top-p: empty vocabulary");
    for (int i = 0; i < V; i++)
        if (isnan(logits[i])) return hart_fail(HART_EINVAL, "top-k/top-p: logits contain NaN");
    if (k > 0 && k < V) {
        float *tmp = malloc(sizeof(float) * (size_t)V);
        if (!tmp) return hart_fail(HART_ENOMEM, "top-k");
        memcpy(tmp, logits, sizeof(float) * (size_t)V);
        float thr = kth_largest(tmp, V, k);
        free(tmp);
        for (int i = 0; i < V; i++)
            if (logits[i] < thr) logits[i] = -INFINITY;
    }
    if (p > 0 && p < 1) {
        vi *s = malloc(sizeof(vi) * (size_t)V);
        if (!s) return hart_fail(HART_ENOMEM, "top-p");
        for (int i = 0; i < V; i++) { s[i].v = logits[i]; s[i].i = i; }
        qsort(s, (size_t)V, sizeof *s, cmp_vi);
        float mx = s[V - 1].v;
        double sum = 0;
        for (int i = 0; i < V; i++) sum += s[i].v == -INFINITY ? 0 : exp((double)s[i].v - mx);
        float cum = 0, lim = (float)(1 - p);
        for (int i = 0; i < V - 1; i++) {
            cum += s[i].v == -INFINITY ? 0.0f : (float)(exp((double)s[i].v - mx) / sum);
            if (cum <= lim) logits[s[i].i] = -INFINITY;
        }
        free(s);
    }
    return HART_OK;
}

int64_t hart_sample_categorical(const float *logits, int V, double u) {
    float mx = -INFINITY;
    int last = 0;
    for (int i = 0; i < V; i++) {
        if (logits[i] > mx) mx = logits[i];
        if (logits[i] != -INFINITY) last = i;
    }
    if (mx == -INFINITY) return 0;
    double sum = 0;
    for (int i = 0; i < V; i++) sum += logits[i] == -INFINITY ? 0 : exp((double)logits[i] - mx);
    double target = u * sum, acc = 0;
    for (int i = 0; i < V; i++) {
        if (logits[i] == -INFINITY) continue;
        acc += exp((double)logits[i] - mx);
        if (acc > target) return i;
    }
    return last;
}

void hart_gumbel_softmax(float *probs, const float *logits, int V, float scale, float tau, const double *u) {
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

/* ---- random draws ----
 * Everything random goes through these two functions: the project's
 * counter-based Philox (core/rng.h), stream = (image, site, step), index =
 * element, so a draw depends only on its key, never on batch or backend. */
#include "core/rng.h"

double hart_gen_uniform(uint64_t seed, uint32_t image, uint32_t site, uint32_t step, uint64_t index) {
    return hart_rng_uniform_at(seed, hart_rng_stream(image, site & 0xffff, step & 0xffff), index);
}

float hart_gen_normal(uint64_t seed, uint32_t image, uint32_t site, uint32_t step, uint64_t index) {
    return hart_rng_normal_at(seed, hart_rng_stream(image, site & 0xffff, step & 0xffff), index);
}
