/* op block_mask, the reference (also the CPU backend's): the quest and
 * xattn block masks in the fixed-point arithmetic of block_mask_fix.h, the
 * definition every backend reproduces bit for bit (docs/sparse.md). OpenMP
 * over heads. */
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <smmintrin.h>
#define BM_SIMD 1 /* SSE4.1 code compiled whatever -march says; used when the CPU has it */
#define BM_SSE41 __attribute__((target("sse4.1")))
#else
#define BM_SIMD 0
#endif

#include "backend/block_mask_fix.h"
#include "backend/ref/ref_util.h"

/* ---- fast exact sums -------------------------------------------------
 * Σ fix(x_c·y_c) is an integer sum; when every term is at most T in
 * magnitude and n·T <= 2^53, the terms (integer-valued doubles) and every
 * partial sum are exact in double, in any order: 4-wide SIMD then gives the
 * int64 loop's value exactly. The callers check that bound per head from
 * max|q| and max|k| (terms <= fl(max|q|·max|k|)·2^24, which also keeps the
 * clamp of fix out of play) and otherwise take the int64 loop. */

/* max |x| over n floats; +inf if any is NaN or infinite */
static double max_abs(const float *x, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = fabs((double)x[i]);
        if (!(a <= 1e38)) return INFINITY;
        m = a > m ? a : m;
    }
    return m;
}

/* whether sums of n terms of fix(q·k), |q| <= mq, |k| <= mk, are exact in
 * double (and the CPU has the SIMD code) */
static int sums_exact(double mq, double mk, int64_t n) {
    double T = mq * mk * (1 + 0x1p-20); /* fl(q·k) <= T; margin for the rounding of the product */
#if BM_SIMD
    if (!__builtin_cpu_supports("sse4.1")) return 0;
#endif
    return BM_SIMD && T <= 0x1p26 && T * 0x1p24 * (double)n <= 0x1p53;
}

#if BM_SIMD
BM_SSE41 static int64_t dot_fix_simd(const float *x, const float *y, int64_t n) {
    const __m128 one = _mm_set1_ps(BM_FIX_ONE);
    __m128d a0 = _mm_setzero_pd(), a1 = _mm_setzero_pd();
    int64_t c = 0;
    for (; c + 4 <= n; c += 4) {
        __m128 p = _mm_mul_ps(_mm_loadu_ps(x + c), _mm_loadu_ps(y + c));
        p = _mm_round_ps(_mm_mul_ps(p, one), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        a0 = _mm_add_pd(a0, _mm_cvtps_pd(p));
        a1 = _mm_add_pd(a1, _mm_cvtps_pd(_mm_movehl_ps(p, p)));
    }
    double t[2];
    _mm_storeu_pd(t, _mm_add_pd(a0, a1));
    int64_t s = (int64_t)(t[0] + t[1]);
    for (; c < n; c++) s += bm_fix(x[c] * y[c]);
    return s;
}

BM_SSE41 static int64_t bound_fix_simd(const float *x, const float *hi, const float *lo, int64_t n) {
    const __m128 one = _mm_set1_ps(BM_FIX_ONE), zero = _mm_setzero_ps();
    __m128d a0 = _mm_setzero_pd(), a1 = _mm_setzero_pd();
    int64_t c = 0;
    for (; c + 4 <= n; c += 4) {
        __m128 xv = _mm_loadu_ps(x + c);
        __m128 sel = _mm_blendv_ps(_mm_loadu_ps(lo + c), _mm_loadu_ps(hi + c), _mm_cmpgt_ps(xv, zero));
        __m128 p = _mm_round_ps(_mm_mul_ps(_mm_mul_ps(xv, sel), one), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        a0 = _mm_add_pd(a0, _mm_cvtps_pd(p));
        a1 = _mm_add_pd(a1, _mm_cvtps_pd(_mm_movehl_ps(p, p)));
    }
    double t[2];
    _mm_storeu_pd(t, _mm_add_pd(a0, a1));
    int64_t s = (int64_t)(t[0] + t[1]);
    for (; c < n; c++) s += bm_fix(x[c] > 0 ? x[c] * hi[c] : x[c] * lo[c]);
    return s;
}
#endif

/* Σ_c fix(x_c · y_c) (exact-double precondition when fast) */
static int64_t dot_fix(const float *x, const float *y, int64_t n, int fast) {
#if BM_SIMD
    if (fast) return dot_fix_simd(x, y, n);
#endif
    (void)fast;
    int64_t s = 0;
    for (int64_t c = 0; c < n; c++) s += bm_fix(x[c] * y[c]);
    return s;
}

/* Σ_c fix(x_c > 0 ? x_c·hi_c : x_c·lo_c) (exact-double precondition when fast) */
static int64_t bound_fix(const float *x, const float *hi, const float *lo, int64_t n, int fast) {
#if BM_SIMD
    if (fast) return bound_fix_simd(x, hi, lo, n);
#endif
    (void)fast;
    int64_t s = 0;
    for (int64_t c = 0; c < n; c++) s += bm_fix(x[c] > 0 ? x[c] * hi[c] : x[c] * lo[c]);
    return s;
}

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
    int fast = sums_exact(max_abs(qh, d->nq * D), max_abs(kh, d->nk * D), D); /* |min|, |max| <= max|k| */
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
                int64_t b = bound_fix(qh + i * D, hi, lo, D, fast);
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
    int fast = sums_exact(max_abs(qh, nq * D), max_abs(kh, nk * D), D); /* per dot; the sum over u is int64 */
    memset(sc, 0, sizeof(int64_t) * (size_t)(d->nqb * nkb));
    for (int64_t a = 0; a < na; a++) {
        int64_t mx = INT64_MIN;
        for (int64_t b = 0; b < nb; b++) {
            int64_t s = 0;
            for (int u = 0; u < S; u++) {
                int64_t i = a * S + u, j = b * S + S - 1 - u;
                if (i < nq && j < nk) s += dot_fix(qh + i * D, kh + j * D, D, fast);
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
