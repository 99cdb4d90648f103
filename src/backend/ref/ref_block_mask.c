/* op block_mask, the reference (also the CPU backend's): the quest and
 * xattn block masks in the fixed-point arithmetic of block_mask_fix.h, the
 * definition every backend reproduces bit for bit (docs/sparse.md). OpenMP
 * over heads. */
#include <stdlib.h>
#include <string.h>

#include "backend/block_mask_fix.h"
#include "backend/ref/ref_util.h"

typedef struct {
    int64_t N, H, Hkv, nq, nk, D, bs, nqb, nkb, first;
} bm_dims;

static const float *k_head(const float *k, const bm_dims *d, int64_t nh) {
    return k + ((nh / d->H) * d->Hkv + (nh % d->H) / (d->H / d->Hkv)) * d->nk * d->D;
}

/* One row of scores sc[nkb] into row[nkb]. Kept: forced blocks (row[p]
 * already 1), then the others in the order (score descending, block
 * ascending): quest while fewer than `budget` are taken, xattn while the
 * kept mass (forced ones included) is below thr. As written per block p (the
 * device does the same): rank = how many others come before p, before = their
 * total score. */
static void select_row(const int64_t *sc, int64_t nkb, int xattn, int64_t budget, int64_t thr, uint8_t *row) {
    int64_t forced = 0;
    for (int64_t p = 0; p < nkb; p++) forced += row[p] ? sc[p] : 0;
    for (int64_t p = 0; p < nkb; p++) {
        if (row[p] == 1) continue;
        int64_t rank = 0, before = 0;
        for (int64_t o = 0; o < nkb; o++)
            if (row[o] != 1 && (sc[o] > sc[p] || (sc[o] == sc[p] && o < p))) rank++, before += sc[o];
        row[p] = xattn ? forced + before < thr : rank < budget;
        row[p] = row[p] ? 2 : 0; /* 2: chosen, not forced (so it does not count as forced above) */
    }
    for (int64_t p = 0; p < nkb; p++) row[p] = row[p] != 0;
}

/* quest: page bounds sc[qb][p] = max over the block's queries of
 * Σ_d fix(q_d > 0 ? q_d·max_d : q_d·min_d) */
static void quest_head(const bm_dims *d, const float *qh, const float *kh, int64_t budget, float *pg, int64_t *sc,
                       uint8_t *m) {
    int64_t D = d->D, bs = d->bs;
    for (int64_t p = 0; p < d->nkb; p++) {
        float *hi = pg + p * 2 * D, *lo = hi + D;
        for (int64_t c = 0; c < D; c++) hi[c] = -INFINITY, lo[c] = INFINITY;
        for (int64_t j = p * bs; j < (p + 1) * bs && j < d->nk; j++)
            for (int64_t c = 0; c < D; c++) {
                float x = kh[j * D + c];
                hi[c] = x > hi[c] ? x : hi[c];
                lo[c] = x < lo[c] ? x : lo[c];
            }
    }
    for (int64_t qb = 0; qb < d->nqb; qb++) {
        int64_t *s = sc + qb * d->nkb;
        uint8_t *row = m + qb * d->nkb;
        for (int64_t p = 0; p < d->nkb; p++) {
            const float *hi = pg + p * 2 * D, *lo = hi + D;
            int64_t best = INT64_MIN;
            for (int64_t i = qb * bs; i < (qb + 1) * bs && i < d->nq; i++) {
                const float *x = qh + i * D;
                int64_t b = 0;
                for (int64_t c = 0; c < D; c++) b += bm_fix(x[c] > 0 ? x[c] * hi[c] : x[c] * lo[c]);
                best = b > best ? b : best;
            }
            s[p] = best;
            row[p] = p < d->first;
        }
        select_row(s, d->nkb, 0, budget, 0, row);
    }
}

/* xattn: strided antidiagonal logits A[a][b] = Σ_u Σ_d fix(q[aS+u]_d · k[bS+S-1-u]_d)
 * (pairs past the end left out), per strided row a the Q30 softmax weights
 * E = 2^((A - max A)·scale/S·log2 e), their row sum R and per-key-block sums,
 * each block's share 2^30·sum/R; a query block's score of a key block is the
 * sum of its strided rows' shares */
static void xattn_head(const bm_dims *d, const float *qh, const float *kh, const hart_block_mask_spec *spec,
                       int64_t *A, uint64_t *bsum, int64_t *sc, uint8_t *m) {
    int64_t D = d->D, bs = d->bs, nq = d->nq, nk = d->nk, nkb = d->nkb;
    int S = bm_xattn_stride((int)bs);
    int64_t na = (nq + S - 1) / S, nb = (nk + S - 1) / S, rpb = bs / S;
    float cf = bm_xattn_cf(spec->scale, S);
    memset(sc, 0, sizeof(int64_t) * (size_t)(d->nqb * nkb));
    for (int64_t a = 0; a < na; a++) {
        int64_t mx = INT64_MIN;
        for (int64_t b = 0; b < nb; b++) {
            int64_t s = 0;
            for (int u = 0; u < S; u++) {
                int64_t i = a * S + u, j = b * S + S - 1 - u;
                if (i >= nq || j >= nk) continue;
                for (int64_t c = 0; c < D; c++) s += bm_fix(qh[i * D + c] * kh[j * D + c]);
            }
            A[b] = s;
            mx = s > mx ? s : mx;
        }
        uint64_t R = 0;
        memset(bsum, 0, sizeof(uint64_t) * (size_t)nkb);
        for (int64_t b = 0; b < nb; b++) {
            uint64_t e = bm_exp2_q30(A[b] - mx, cf);
            R += e;
            bsum[b / rpb] += e;
        }
        int64_t *s = sc + (a / rpb) * nkb;
        for (int64_t p = 0; p < nkb; p++) s[p] += (int64_t)bm_share_q30(bsum[p], R);
    }
    int64_t thr_full = bm_xattn_threshold(spec->threshold, rpb);
    for (int64_t qb = 0; qb < d->nqb; qb++) {
        uint8_t *row = m + qb * nkb;
        int64_t i0 = qb * bs, i1 = i0 + bs < nq ? i0 + bs : nq;
        for (int64_t p = 0; p < nkb; p++)
            row[p] = p < d->first || (p >= (nk - nq + i0) / bs && p <= (nk - nq + i1 - 1) / bs); /* sinks, diagonal */
        int64_t rows = qb == d->nqb - 1 ? na - qb * rpb : rpb;
        select_row(sc + qb * nkb, nkb, 1, 0, rows == rpb ? thr_full : bm_xattn_threshold(spec->threshold, rows), row);
    }
}

hart_status hart_ref_block_mask(hart_backend *be, hart_tensor *blocks, const hart_tensor *q, const hart_tensor *k,
                                const hart_block_mask_spec *spec) {
    (void)be;
    bm_dims d = {q->shape[0], q->shape[1], k->shape[1], q->shape[2], k->shape[2], q->shape[3], spec->block, 0, 0, 0};
    d.nqb = (d.nq + d.bs - 1) / d.bs;
    d.nkb = (d.nk + d.bs - 1) / d.bs;
    d.first = (spec->nsink + d.bs - 1) / d.bs;
    int64_t NH = d.N * d.H, per = d.nqb * d.nkb;
    uint8_t *mask = blocks->data;
    int xattn = spec->kind == HART_BLOCK_MASK_XATTN;
    if (xattn && spec->threshold >= 1) { /* the whole mass: every block */
        memset(mask, 1, (size_t)(NH * per));
        return HART_OK;
    }
    int S = bm_xattn_stride(spec->block);
    int64_t nb = (d.nk + S - 1) / S;
    /* per head: quest page bounds [nkb, 2D] floats; xattn a row of logits [nb] and block sums [nkb] */
    size_t scratch = xattn ? sizeof(int64_t) * (size_t)(nb + d.nkb) : sizeof(float) * (size_t)(d.nkb * 2 * d.D);
    size_t each = scratch + sizeof(int64_t) * (size_t)per + 16;
    char *buf = malloc(each * (size_t)NH + 1);
    if (!buf) return hart_fail(HART_ENOMEM, "hart_op_block_mask: scratch");
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t nh = 0; nh < NH; nh++) {
        char *w = buf + each * (size_t)nh;
        int64_t *sc = (int64_t *)(void *)w;
        void *rest = w + sizeof(int64_t) * (size_t)per;
        const float *qh = (const float *)q->data + nh * d.nq * d.D, *kh = k_head(k->data, &d, nh);
        if (xattn) xattn_head(&d, qh, kh, spec, rest, (uint64_t *)rest + nb, sc, mask + nh * per);
        else quest_head(&d, qh, kh, spec->budget, rest, sc, mask + nh * per);
    }
    free(buf);
    return HART_OK;
}
