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

/* One head's block scores from its strided logits A [na, nb] and the
 * selection into m [nqb, nkb]; sc: [nqb, nkb] scratch, tmp: [nkb]. */
static void score_head(const hart_sparse_geom *g, double T, int S, const float *A, int64_t na, int64_t nb, double *sc,
                       scored *tmp, uint8_t *m) {
    int64_t nqb = hart_sparse_nqb(g), nkb = hart_sparse_nkb(g), bs = g->block;
    memset(sc, 0, sizeof(double) * (size_t)(nqb * nkb));
    for (int64_t a = 0; a < na; a++) {
        const float *r = A + a * nb;
        float mx = -INFINITY;
        for (int64_t b = 0; b < nb; b++) mx = r[b] > mx ? r[b] : mx;
        double sum = 0, *acc = sc + (a * S / bs) * nkb;
        for (int64_t b = 0; b < nb; b++) sum += exp((double)r[b] - mx);
        double inv = 1.0 / sum;
        for (int64_t b = 0; b < nb; b++) acc[b * S / bs] += exp((double)r[b] - mx) * inv;
    }
    for (int64_t qb = 0; qb < nqb; qb++) {
        int64_t rows = (qb == nqb - 1) ? na - qb * (bs / S) : bs / S; /* strided rows of the block */
        for (int64_t b = 0; b < nkb; b++) sc[qb * nkb + b] /= (double)rows;
        select_blocks(g, qb, sc + qb * nkb, T, tmp, m + qb * nkb);
    }
}

/* heads per matrix product: the strided logits of a chunk stay under 64 MiB */
#define XATTN_CHUNK_BYTES (64u << 20)

hart_status hart_sparse_xattn(const hart_sparse_geom *g, double T, const float *q, const float *k, int N, int H,
                              int Hkv, int D, float scale, uint8_t *mask) {
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g), nqb = hart_sparse_nqb(g), nkb = hart_sparse_nkb(g);
    int S = stride_for(g->block);
    int64_t na = (nq + S - 1) / S, nb = (nk + S - 1) / S, w = (int64_t)S * D, NH = (int64_t)N * H;
    if (T >= 1) { /* the whole mass: every block */
        memset(mask, 1, (size_t)(NH * nqb * nkb));
        return HART_OK;
    }
    int64_t chunk = (int64_t)(XATTN_CHUNK_BYTES / (sizeof(float) * (size_t)(na * nb + 1)));
    chunk = chunk < 1 ? 1 : chunk > NH ? NH : chunk;
    hart_status st = HART_OK;
    hart_tensor Qs = {0}, Ks = {0}, A = {0};
    double *sc = malloc(sizeof(double) * (size_t)(chunk * nqb * nkb) + 1);
    scored *tmp = malloc(sizeof(scored) * (size_t)(chunk * nkb) + 1);
    if (!sc || !tmp) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "xattn scores"));
    HART_TRY_GOTO(st, hart_tensor_new4(NULL, HART_F32, &Qs, 3, chunk, na, w, 0));
    HART_TRY_GOTO(st, hart_tensor_new4(NULL, HART_F32, &Ks, 3, chunk, nb, w, 0));
    HART_TRY_GOTO(st, hart_tensor_new4(NULL, HART_F32, &A, 3, chunk, na, nb, 0));
    for (int64_t h0 = 0; h0 < NH; h0 += chunk) {
        int64_t nc = NH - h0 < chunk ? NH - h0 : chunk;
        hart_tensor Qv, Kv, Av;
        HART_TRY_GOTO(st, hart_tensor_rows(&Qs, 0, nc, &Qv));
        HART_TRY_GOTO(st, hart_tensor_rows(&Ks, 0, nc, &Kv));
        HART_TRY_GOTO(st, hart_tensor_rows(&A, 0, nc, &Av));
#pragma omp parallel for schedule(static)
        for (int64_t c = 0; c < nc; c++) {
            int64_t nh = h0 + c, n = nh / H, h = nh % H;
            const float *qh = q + nh * nq * D, *kh = k + (n * Hkv + h / (H / Hkv)) * nk * D;
            float *qs = (float *)Qs.data + c * na * w, *ks = (float *)Ks.data + c * nb * w;
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
        }
        HART_TRY_GOTO(st, hart_op_matmul(&Av, &Qv, &Kv, 0, 1, scale / (float)S));
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t c = 0; c < nc; c++)
            score_head(g, T, S, (const float *)A.data + c * na * nb, na, nb, sc + c * nqb * nkb, tmp + c * nkb,
                       mask + (h0 + c) * nqb * nkb);
    }
done:
    free(sc);
    free(tmp);
    hart_tensor_free(&Qs);
    hart_tensor_free(&Ks);
    hart_tensor_free(&A);
    return st;
}
