/* quest:B — query-aware page selection (after Quest, Tang et al. 2024).
 * A page is a key block; its element-wise minimum and maximum of K bound
 * every q·k in it from above by Σ_d max(q_d·max_d, q_d·min_d). A query
 * block ranks the pages by the largest bound over its queries and keeps the
 * B best pages that are not sinks, plus the sinks (ties: the earlier page).
 * B at least the number of non-sink pages keeps everything. */
#include "models/hart/sparse_attn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    float bound;
    int64_t kb;
} ranked;

static int by_bound_desc(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->bound != y->bound) return x->bound < y->bound ? 1 : -1;
    return x->kb < y->kb ? -1 : x->kb > y->kb;
}

/* one (image, head): kmin/kmax [nkb, D], rk [nkb] scratch */
static void quest_head(const hart_sparse_geom *g, int B, const float *qh, const float *kh, int D, float *kmin,
                       float *kmax, ranked *rk, uint8_t *m) {
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g), nqb = hart_sparse_nqb(g), nkb = hart_sparse_nkb(g);
    int64_t bs = g->block, nsink = hart_sparse_nsink(g), first = (nsink + bs - 1) / bs; /* pages < first: sinks */
    for (int64_t p = 0; p < nkb; p++) {
        float *lo = kmin + p * D, *hi = kmax + p * D;
        for (int d = 0; d < D; d++) lo[d] = INFINITY, hi[d] = -INFINITY;
        for (int64_t j = p * bs; j < (p + 1) * bs && j < nk; j++)
            for (int d = 0; d < D; d++) {
                float x = kh[j * D + d];
                lo[d] = x < lo[d] ? x : lo[d];
                hi[d] = x > hi[d] ? x : hi[d];
            }
    }
    for (int64_t a = 0; a < nqb; a++) {
        uint8_t *row = m + a * nkb;
        memset(row, 0, (size_t)nkb);
        for (int64_t p = 0; p < first && p < nkb; p++) row[p] = 1;
        int64_t n = 0;
        for (int64_t p = first; p < nkb; p++) {
            float best = -INFINITY;
            for (int64_t i = a * bs; i < (a + 1) * bs && i < nq; i++) {
                const float *qi = qh + i * D, *lo = kmin + p * D, *hi = kmax + p * D;
                float s = 0;
                for (int d = 0; d < D; d++) s += fmaxf(qi[d] * hi[d], qi[d] * lo[d]);
                best = s > best ? s : best;
            }
            rk[n++] = (ranked){best, p};
        }
        qsort(rk, (size_t)n, sizeof *rk, by_bound_desc);
        for (int64_t i = 0; i < n && i < B; i++) row[rk[i].kb] = 1;
    }
}

hart_status hart_sparse_quest(const hart_sparse_geom *g, int B, const float *q, const float *k, int N, int H, int Hkv,
                              int D, uint8_t *mask) {
    int oom = 0;
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g), nqb = hart_sparse_nqb(g), nkb = hart_sparse_nkb(g);
#pragma omp parallel
    {
        float *kmin = malloc(sizeof(float) * (size_t)(nkb * D)), *kmax = malloc(sizeof(float) * (size_t)(nkb * D));
        ranked *rk = malloc(sizeof(ranked) * (size_t)nkb);
#pragma omp for schedule(dynamic, 1)
        for (int nh = 0; nh < N * H; nh++) {
            int n = nh / H, h = nh % H;
            uint8_t *m = mask + (size_t)nh * nqb * nkb;
            if (!kmin || !kmax || !rk) {
#pragma omp atomic write
                oom = 1;
                continue;
            }
            quest_head(g, B, q + (size_t)nh * nq * D, k + ((size_t)n * Hkv + h / (H / Hkv)) * nk * D, D, kmin, kmax,
                       rk, m);
        }
        free(kmin);
        free(kmax);
        free(rk);
    }
    return oom ? hart_fail(HART_ENOMEM, "quest page bounds") : HART_OK;
}
