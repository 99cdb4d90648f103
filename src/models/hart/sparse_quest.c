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

#include "ops/ops.h"

typedef struct {
    float bound;
    int64_t kb;
} ranked;

static int by_bound_desc(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->bound != y->bound) return x->bound < y->bound ? 1 : -1;
    return x->kb < y->kb ? -1 : x->kb > y->kb;
}

/* Σ_d max(q_d·hi_d, q_d·lo_d) = q⁺·hi + q⁻·lo with q⁺ = max(q, 0), q⁻ =
 * min(q, 0): the bounds of every (query, page) pair are one matrix product
 * of [q⁺ | q⁻] (queries x 2D) with [hi | lo] (pages x 2D). */
hart_status hart_sparse_quest(const hart_sparse_geom *g, int B, const float *q, const float *k, int N, int H, int Hkv,
                              int D, uint8_t *mask) {
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g), nqb = hart_sparse_nqb(g), nkb = hart_sparse_nkb(g);
    int64_t bs = g->block, first = (hart_sparse_nsink(g) + bs - 1) / bs; /* pages < first: sinks */
    int64_t NH = (int64_t)N * H, W = 2 * (int64_t)D;
    hart_status st = HART_OK;
    hart_tensor qs = {0}, pg = {0}, bd = {0};
    ranked *rk = NULL;
    HART_TRY_GOTO(st, hart_tensor_new4(NULL, HART_F32, &qs, 3, NH, nq, W, 0));
    HART_TRY_GOTO(st, hart_tensor_new4(NULL, HART_F32, &pg, 3, NH, nkb, W, 0));
    HART_TRY_GOTO(st, hart_tensor_new4(NULL, HART_F32, &bd, 3, NH, nq, nkb, 0));
    rk = malloc(sizeof(ranked) * (size_t)(NH * nkb) + 1);
    if (!rk) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "quest page ranking"));
#pragma omp parallel for schedule(static)
    for (int64_t nh = 0; nh < NH; nh++) {
        const float *qh = q + nh * nq * D, *kh = k + ((nh / H) * Hkv + (nh % H) / (H / Hkv)) * nk * D;
        float *qo = (float *)qs.data + nh * nq * W, *po = (float *)pg.data + nh * nkb * W;
        for (int64_t i = 0; i < nq * D; i++) {
            float x = qh[i];
            qo[(i / D) * W + i % D] = x > 0 ? x : 0;
            qo[(i / D) * W + D + i % D] = x < 0 ? x : 0;
        }
        for (int64_t p = 0; p < nkb; p++) { /* [max | min] of the page's keys */
            float *hi = po + p * W, *lo = hi + D;
            for (int d = 0; d < D; d++) hi[d] = -INFINITY, lo[d] = INFINITY;
            for (int64_t j = p * bs; j < (p + 1) * bs && j < nk; j++)
                for (int d = 0; d < D; d++) {
                    float x = kh[j * D + d];
                    hi[d] = x > hi[d] ? x : hi[d];
                    lo[d] = x < lo[d] ? x : lo[d];
                }
        }
    }
    HART_TRY_GOTO(st, hart_op_matmul(&bd, &qs, &pg, 0, 1, 1.0f));
#pragma omp parallel for schedule(static)
    for (int64_t nh = 0; nh < NH; nh++) {
        const float *b = (const float *)bd.data + nh * nq * nkb;
        ranked *r = rk + nh * nkb;
        for (int64_t a = 0; a < nqb; a++) {
            uint8_t *row = mask + (nh * nqb + a) * nkb;
            memset(row, 0, (size_t)nkb);
            for (int64_t p = 0; p < first && p < nkb; p++) row[p] = 1;
            int64_t n = 0;
            for (int64_t p = first; p < nkb; p++) {
                float best = -INFINITY;
                for (int64_t i = a * bs; i < (a + 1) * bs && i < nq; i++) best = b[i * nkb + p] > best ? b[i * nkb + p] : best;
                r[n++] = (ranked){best, p};
            }
            qsort(r, (size_t)n, sizeof *r, by_bound_desc);
            for (int64_t i = 0; i < n && i < B; i++) row[r[i].kb] = 1;
        }
    }
done:
    free(rk);
    hart_tensor_free(&qs);
    hart_tensor_free(&pg);
    hart_tensor_free(&bd);
    return st;
}
