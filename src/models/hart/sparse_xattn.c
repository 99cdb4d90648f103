/* xattn:T — antidiagonal block scoring (after XAttention, Xu et al. 2025).
 * With stride S, strided row a of the queries and strided column b of the
 * keys meet in an S x S sub-block of the logits; its antidiagonal sum
 *   A[a][b] = Σ_u q[aS+u] · k[bS+S-1-u]
 * sees every query row and every key of the sub-block once, so it is a cheap
 * proxy of the sub-block's mass. It is one matrix product: Qs[a] =
 * (q[aS], ..., q[aS+S-1]) and Ks[b] = (k[bS+S-1], ..., k[bS]) concatenated
 * (zeros past the end). Rows of scale·A/S are softmax-normalised, summed per
 * (query block, key block) and divided by the block's strided rows, so each
 * query block's scores sum to 1. Kept: the sinks, the key blocks holding the
 * block's own positions (its diagonal), then the best-scoring blocks until
 * the kept mass reaches T. T = 1 keeps every block (in exact arithmetic no
 * score is 0, so the whole mass needs all of them). */
#include "models/hart/sparse_attn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

static int stride_for(int bs) {
    int s = HART_SPARSE_XATTN_STRIDE;
    while (s > 1 && bs % s) s /= 2;
    return s;
}

typedef struct {
    double score;
    int64_t kb;
} scored;

static int by_score_desc(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->kb < y->kb ? -1 : x->kb > y->kb; /* ties: earlier block first */
}

/* One query block's selection from its normalised scores sc[nkb]. */
static void select_blocks(const hart_sparse_geom *g, int64_t a, const double *sc, double T, scored *tmp, uint8_t *row) {
    int64_t nkb = hart_sparse_nkb(g), nq = hart_sparse_nq(g), nk = hart_sparse_nk(g), bs = g->block;
    int64_t nsink = hart_sparse_nsink(g);
    memset(row, 0, (size_t)nkb);
    if (T >= 1) {
        memset(row, 1, (size_t)nkb);
        return;
    }
    for (int64_t j = 0; j < nsink; j += bs) row[j / bs] = 1;
    int64_t i0 = a * bs, i1 = (a + 1) * bs < nq ? (a + 1) * bs : nq;
    for (int64_t p = nk - nq + i0; p < nk - nq + i1; p += bs) row[p / bs] = 1;
    row[(nk - nq + i1 - 1) / bs] = 1;
    double mass = 0;
    int64_t n = 0;
    for (int64_t b = 0; b < nkb; b++) {
        if (row[b]) mass += sc[b];
        else tmp[n++] = (scored){sc[b], b};
    }
    qsort(tmp, (size_t)n, sizeof *tmp, by_score_desc);
    for (int64_t i = 0; i < n && mass < T; i++) {
        row[tmp[i].kb] = 1;
        mass += tmp[i].score;
    }
}

hart_status hart_sparse_xattn(const hart_sparse_geom *g, double T, const float *q, const float *k, int N, int H,
                              int Hkv, int D, float scale, uint8_t *mask) {
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g), nqb = hart_sparse_nqb(g), nkb = hart_sparse_nkb(g);
    int S = stride_for(g->block), bs = g->block;
    int64_t na = (nq + S - 1) / S, nb = (nk + S - 1) / S, w = (int64_t)S * D;
    hart_status st = HART_OK;
    hart_tensor Qs = {0}, Ks = {0}, A = {0};
    double *sc = malloc(sizeof(double) * (size_t)(nqb * nkb));
    scored *tmp = malloc(sizeof(scored) * (size_t)nkb);
    if (!sc || !tmp) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "xattn scores"));
    HART_TRY_GOTO(st, hart_tensor_new4(NULL, HART_F32, &Qs, 2, na, w, 0, 0));
    HART_TRY_GOTO(st, hart_tensor_new4(NULL, HART_F32, &Ks, 2, nb, w, 0, 0));
    HART_TRY_GOTO(st, hart_tensor_new4(NULL, HART_F32, &A, 2, na, nb, 0, 0));
    float *qs = Qs.data, *ks = Ks.data, *pa = A.data;
    for (int n = 0; n < N; n++)
        for (int h = 0; h < H; h++) {
            const float *qh = q + ((size_t)n * H + h) * nq * D;
            const float *kh = k + ((size_t)n * Hkv + h / (H / Hkv)) * nk * D;
            for (int64_t a = 0; a < na; a++)
                for (int u = 0; u < S; u++) {
                    int64_t i = a * S + u;
                    float *dst = qs + a * w + (int64_t)u * D;
                    if (i < nq) memcpy(dst, qh + i * D, sizeof(float) * (size_t)D);
                    else memset(dst, 0, sizeof(float) * (size_t)D);
                }
            for (int64_t b = 0; b < nb; b++)
                for (int u = 0; u < S; u++) {
                    int64_t j = b * S + S - 1 - u;
                    float *dst = ks + b * w + (int64_t)u * D;
                    if (j < nk) memcpy(dst, kh + j * D, sizeof(float) * (size_t)D);
                    else memset(dst, 0, sizeof(float) * (size_t)D);
                }
            HART_TRY_GOTO(st, hart_op_matmul(&A, &Qs, &Ks, 0, 1, scale / (float)S));
            memset(sc, 0, sizeof(double) * (size_t)(nqb * nkb));
            for (int64_t a = 0; a < na; a++) {
                const float *r = pa + a * nb;
                double mx = -INFINITY, sum = 0;
                for (int64_t b = 0; b < nb; b++) mx = r[b] > mx ? r[b] : mx;
                for (int64_t b = 0; b < nb; b++) sum += exp((double)r[b] - mx);
                double *acc = sc + (a * S / bs) * nkb;
                for (int64_t b = 0; b < nb; b++) acc[b * S / bs] += exp((double)r[b] - mx) / sum;
            }
            uint8_t *m = mask + ((size_t)n * H + h) * nqb * nkb;
            for (int64_t qb = 0; qb < nqb; qb++) {
                int64_t rows = (qb == nqb - 1) ? na - qb * (bs / S) : bs / S; /* strided rows of the block */
                for (int64_t b = 0; b < nkb; b++) sc[qb * nkb + b] /= (double)rows;
                select_blocks(g, qb, sc + qb * nkb, T, tmp, m + qb * nkb);
            }
        }
done:
    free(sc);
    free(tmp);
    hart_tensor_free(&Qs);
    hart_tensor_free(&Ks);
    hart_tensor_free(&A);
    return st;
}
