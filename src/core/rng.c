/* Philox-4x32-10 counter-based generator and logits sampling (see rng.h). */
#include "core/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void hart_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        if (r > 0) { /* key schedule: bump the key before every round but the first */
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

uint64_t hart_rng_stream(uint32_t image, uint32_t site, uint32_t step) {
    return ((uint64_t)image << 32) | ((uint64_t)(site & 0xffffu) << 16) | (uint64_t)(step & 0xffffu);
}

static void block(uint64_t seed, uint64_t stream, uint64_t b, uint32_t out[4]) {
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    const uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
    hart_philox4x32_10(ctr, key, out);
}

static inline float to_uniform(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }

/* Box-Muller on one word pair; u1 in (0, 1] so the log is finite. */
static inline void box_muller(uint32_t a, uint32_t b, float *z0, float *z1) {
    double u1 = ((double)(a >> 8) + 1.0) * (1.0 / 16777216.0);
    double u2 = (double)(b >> 8) * (1.0 / 16777216.0);
    double r = sqrt(-2.0 * log(u1));
    double th = 6.283185307179586476925 * u2;
    *z0 = (float)(r * cos(th));
    *z1 = (float)(r * sin(th));
}

uint32_t hart_rng_u32_at(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t o[4];
    block(seed, stream, index >> 2, o);
    return o[index & 3];
}

float hart_rng_uniform_at(uint64_t seed, uint64_t stream, uint64_t index) {
    return to_uniform(hart_rng_u32_at(seed, stream, index));
}

float hart_rng_normal_at(uint64_t seed, uint64_t stream, uint64_t index) {
    uint32_t o[4];
    float z[2];
    block(seed, stream, index >> 2, o);
    int pair = (int)((index >> 1) & 1);
    box_muller(o[2 * pair], o[2 * pair + 1], &z[0], &z[1]);
    return z[index & 1];
}

void hart_rng_fill_uniform(uint64_t seed, uint64_t stream, uint64_t offset, float *x, size_t n) {
    size_t j = 0;
    while (j < n) {
        uint64_t idx = offset + j;
        uint32_t o[4];
        block(seed, stream, idx >> 2, o);
        for (unsigned w = (unsigned)(idx & 3); w < 4 && j < n; w++) x[j++] = to_uniform(o[w]);
    }
}

void hart_rng_fill_normal(uint64_t seed, uint64_t stream, uint64_t offset, float *x, size_t n) {
    size_t j = 0;
    while (j < n) {
        uint64_t idx = offset + j;
        uint32_t o[4];
        float z[4];
        block(seed, stream, idx >> 2, o);
        box_muller(o[0], o[1], &z[0], &z[1]);
        box_muller(o[2], o[3], &z[2], &z[3]);
        for (unsigned w = (unsigned)(idx & 3); w < 4 && j < n; w++) x[j++] = z[w];
    }
}

static hart_status fill_tensor(hart_tensor *t, uint64_t seed, uint64_t stream, uint64_t offset, int normal) {
    if (t->dtype != HART_F32)
        return hart_fail(HART_EINVAL, "rng: cannot fill a %s tensor (F32 only)", hart_dtype_name(t->dtype));
    size_t n = (size_t)hart_tensor_numel(t);
    float *x = malloc(sizeof(float) * (n ? n : 1));
    if (!x) return hart_fail(HART_ENOMEM, "rng: out of memory for %zu values", n);
    if (normal) hart_rng_fill_normal(seed, stream, offset, x, n);
    else hart_rng_fill_uniform(seed, stream, offset, x, n);
    hart_status s = hart_tensor_write(t, x, n * sizeof(float));
    free(x);
    return s;
}

hart_status hart_rng_normal_tensor(hart_tensor *t, uint64_t seed, uint64_t stream, uint64_t offset) {
    return fill_tensor(t, seed, stream, offset, 1);
}

hart_status hart_rng_uniform_tensor(hart_tensor *t, uint64_t seed, uint64_t stream, uint64_t offset) {
    return fill_tensor(t, seed, stream, offset, 0);
}

/* ---- sampling ---- */

static void swapf(float *a, float *b) { float t = *a; *a = *b; *b = t; }

/* k-th largest (k >= 1) of a[0..n-1] (a is permuted). Quickselect. */
static float kth_largest(float *a, int n, int k) {
    int lo = 0, hi = n - 1, want = k - 1; /* position in descending order */
    while (lo < hi) {
        /* median of three pivot */
        int mid = lo + (hi - lo) / 2;
        if (a[mid] > a[lo]) swapf(&a[mid], &a[lo]);
        if (a[hi] > a[lo]) swapf(&a[hi], &a[lo]);
        if (a[mid] > a[hi]) swapf(&a[mid], &a[hi]);
        float piv = a[hi];
        int i = lo, j = hi;
        while (i <= j) { /* descending partition */
            while (a[i] > piv) i++;
            while (a[j] < piv) j--;
            if (i <= j) { swapf(&a[i], &a[j]); i++; j--; }
        }
        if (want <= j) hi = j;
        else if (want >= i) lo = i;
        else return a[want];
    }
    return a[want];
}

static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

hart_status hart_sample_logits(const float *logits, int V, const hart_sample_cfg *cfg, float u, float *scratch,
                               int *out) {
    if (V <= 0) return hart_fail(HART_EINVAL, "sample: vocabulary size %d must be positive", V);
    if (!(u >= 0.0f && u < 1.0f)) return hart_fail(HART_EINVAL, "sample: uniform %g outside [0, 1)", (double)u);
    float temp = cfg ? cfg->temperature : 1.0f;
    int top_k = cfg ? cfg->top_k : 0;
    float top_p = cfg ? cfg->top_p : 0.0f;

    int best = -1;
    float mx = -INFINITY;
    for (int i = 0; i < V; i++)
        if (logits[i] > mx) { mx = logits[i]; best = i; } /* NaN never compares greater */
    if (best < 0)
        return hart_fail(HART_EINVAL, "sample: all %d logits are -inf or NaN", V);
    if (!(temp > 0.0f) || isinf(mx)) { /* greedy; +inf logits also dominate everything */
        *out = best;
        return HART_OK;
    }

    float *own = NULL;
    if (!scratch) {
        own = malloc(sizeof(float) * 2 * (size_t)V);
        if (!own) return hart_fail(HART_ENOMEM, "sample: out of memory (V=%d)", V);
        scratch = own;
    }
    float *p = scratch, *tmp = scratch + V;
    /* p[i] = logits / T, NaN treated as -inf (never sampled) */
    for (int i = 0; i < V; i++) p[i] = isnan(logits[i]) ? -INFINITY : logits[i] / temp;
    float thr = -INFINITY; /* keep p[i] >= thr */
    if (top_k > 0 && top_k < V) {
        memcpy(tmp, p, sizeof(float) * (size_t)V);
        thr = kth_largest(tmp, V, top_k);
    }
    float pmax = mx / temp;
    double total = 0.0;
    for (int i = 0; i < V; i++)
        if (p[i] >= thr && p[i] > -INFINITY) total += exp((double)p[i] - pmax);
    if (top_p > 0.0f && top_p < 1.0f) {
        int m = 0;
        for (int i = 0; i < V; i++)
            if (p[i] >= thr && p[i] > -INFINITY) tmp[m++] = p[i];
        qsort(tmp, (size_t)m, sizeof(float), cmp_desc);
        double cum = 0.0, need = (double)top_p * total;
        float pthr = tmp[m - 1];
        for (int j = 0; j < m; j++) {
            cum += exp((double)tmp[j] - pmax);
            if (cum >= need) { pthr = tmp[j]; break; }
        }
        if (pthr > thr) thr = pthr;
        total = 0.0;
        for (int i = 0; i < V; i++)
            if (p[i] >= thr && p[i] > -INFINITY) total += exp((double)p[i] - pmax);
    }
    double target = (double)u * total, cum = 0.0;
    int pick = -1, last = -1;
    for (int i = 0; i < V; i++) {
        if (!(p[i] >= thr) || p[i] == -INFINITY) continue;
        last = i;
        cum += exp((double)p[i] - pmax);
        if (cum > target) { pick = i; break; }
    }
    if (pick < 0) pick = last >= 0 ? last : best; /* rounding at the very end */
    free(own);
    *out = pick;
    return HART_OK;
}

hart_status hart_sample_rows(const float *logits, int64_t n, int V, const hart_sample_cfg *cfg, uint64_t seed,
                             uint64_t stream, uint64_t offset, int64_t *out) {
    if (n < 0 || V <= 0) return hart_fail(HART_EINVAL, "sample: bad shape [%lld, %d]", (long long)n, V);
    float *scratch = malloc(sizeof(float) * 2 * (size_t)V);
    if (!scratch) return hart_fail(HART_ENOMEM, "sample: out of memory (V=%d)", V);
    for (int64_t r = 0; r < n; r++) {
        int idx = 0;
        float u = hart_rng_uniform_at(seed, stream, offset + (uint64_t)r);
        hart_status s = hart_sample_logits(logits + r * (int64_t)V, V, cfg, u, scratch, &idx);
        if (s != HART_OK) {
            free(scratch);
            return hart_fail_ctx(s, "row %lld", (long long)r);
        }
        out[r] = idx;
    }
    free(scratch);
    return HART_OK;
}
