/* Converted-weight cache: F16/BF16 weights used by GEMM-based ops are
 * converted to f32 once and kept, keyed by (data pointer, dtype, numel) plus
 * a fingerprint of sampled elements that catches a freed weight whose
 * address got reused for other data. Bounded by $HART_CPU_WCACHE_MB
 * (default: a quarter of physical memory); when full, callers get a
 * temporary per-call copy instead. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/cpu/cpu_internal.h"

typedef struct wentry {
    const void *ptr;
    hart_dtype dtype;
    int64_t numel;
    uint64_t fp;
    float *data;
    struct wentry *next;
} wentry;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static wentry *g_head;
static size_t g_bytes, g_budget;
static int g_budget_set;

static size_t budget(void) {
    if (!g_budget_set) {
        const char *e = getenv("HART_CPU_WCACHE_MB");
        if (e && *e) g_budget = (size_t)strtoull(e, NULL, 10) << 20;
        else {
            long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
            g_budget = pages > 0 && psz > 0 ? (size_t)pages * (size_t)psz / 4 : (size_t)1 << 30;
        }
        g_budget_set = 1;
    }
    return g_budget;
}

static uint64_t fingerprint(const hart_tensor *w) {
    const uint16_t *p = w->data;
    int64_t n = hart_tensor_numel(w);
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 128 && n > 0; i++) {
        int64_t j = i < 32 ? (i < n ? i : n - 1) : (int64_t)((double)(i - 32) / 96.0 * (double)(n - 1));
        h = (h ^ p[j]) * 1099511628211ull;
    }
    return h;
}

int hart_cpu_wcache_charge(size_t nb) {
    pthread_mutex_lock(&g_mu);
    int ok = g_bytes + nb <= budget();
    if (ok) g_bytes += nb;
    pthread_mutex_unlock(&g_mu);
    return ok;
}

void hart_cpu_wcache_refund(size_t nb) {
    pthread_mutex_lock(&g_mu);
    g_bytes -= nb < g_bytes ? nb : g_bytes;
    pthread_mutex_unlock(&g_mu);
}

void hart_cpu_to_f32(const hart_tensor *t, float *dst) {
    int64_t n = hart_tensor_numel(t);
    const uint16_t *s = t->data;
    if (t->dtype == HART_F32) { memcpy(dst, t->data, (size_t)n * 4); return; }
    if (t->dtype == HART_BF16) {
#pragma omp parallel for if (n > CPU_PAR_MIN) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            uint32_t u = (uint32_t)s[i] << 16;
            memcpy(&dst[i], &u, 4);
        }
    } else {
#pragma omp parallel for if (n > CPU_PAR_MIN) schedule(static)
        for (int64_t i = 0; i < n; i++) dst[i] = hart_f16_to_f32(s[i]);
    }
}

hart_status hart_cpu_weight_f32(const hart_tensor *w, const float **out, float **tmp) {
    *tmp = NULL;
    if (w->dtype == HART_F32) { *out = w->data; return HART_OK; }
    int64_t n = hart_tensor_numel(w);
    uint64_t fp = fingerprint(w);
    pthread_mutex_lock(&g_mu);
    for (wentry *e = g_head; e; e = e->next)
        if (e->ptr == w->data && e->dtype == w->dtype && e->numel == n && e->fp == fp) {
            *out = e->data;
            pthread_mutex_unlock(&g_mu);
            return HART_OK;
        }
    size_t nb = (size_t)n * sizeof(float);
    float *buf = malloc(nb ? nb : 4);
    if (!buf) {
        pthread_mutex_unlock(&g_mu);
        return hart_fail(HART_ENOMEM, "cpu: out of memory converting a %s weight of %lld elements to f32",
                         hart_dtype_name(w->dtype), (long long)n);
    }
    hart_cpu_to_f32(w, buf);
    wentry *e = g_bytes + nb <= budget() ? malloc(sizeof *e) : NULL;
    if (e) {
        /* an entry at the same address with other contents is stale: drop it */
        for (wentry **pp = &g_head; *pp;) {
            if ((*pp)->ptr == w->data) {
                wentry *d = *pp;
                *pp = d->next;
                g_bytes -= (size_t)d->numel * sizeof(float);
                free(d->data);
                free(d);
            } else pp = &(*pp)->next;
        }
        *e = (wentry){.ptr = w->data, .dtype = w->dtype, .numel = n, .fp = fp, .data = buf, .next = g_head};
        g_head = e;
        g_bytes += nb;
        *out = buf;
    } else {
        *out = buf;
        *tmp = buf;
    }
    pthread_mutex_unlock(&g_mu);
    return HART_OK;
}
