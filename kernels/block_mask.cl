/* op block_mask on the device (src/backend/opencl/cl_block_mask.c): the
 * quest and xattn block masks from q and k where they are, in the
 * fixed-point arithmetic of src/backend/block_mask_fix.h (the same steps,
 * written again in OpenCL C; the reference is src/backend/ref/ref_block_mask.c).
 * Every float operation is a single multiply or a conversion, never a
 * multiply followed by an add, so -cl-mad-enable cannot fuse anything, and
 * all sums are of integers: the mask is the host's bit for bit whatever the
 * order of the work-items. */

#define BM_FIX_ONE 16777216.0f /* 2^24 */
#define BM_FIX_LIM 67108864.0f /* 2^26 */

__constant ulong BM_EXP2_C[10] = {1073741824ul, 744261118ul, 257941248ul, 59597083ul, 10327387ul,
                                  1431680ul,    165394ul,    16377ul,     1419ul,     109ul};

/* trunc(clamp(x, ±2^26) · 2^24); NaN counts as -2^26 */
inline long bm_fix(float x) {
    x = !(x >= -BM_FIX_LIM) ? -BM_FIX_LIM : x;
    x = x > BM_FIX_LIM ? BM_FIX_LIM : x;
    return convert_long_rtz(x * BM_FIX_ONE);
}

/* 2^(za·cf) in Q30 (za <= 0): block_mask_fix.h's bm_exp2_q30 */
inline ulong bm_exp2_q30(long za, float cf) {
    float z = convert_float_rte(za) * cf;
    z = !(z >= -62.0f * BM_FIX_ONE) ? -62.0f * BM_FIX_ONE : z;
    ulong m = (ulong)(-convert_long_rtz(z));
    ulong n = (m + 16777215ul) >> 24, f = (n << 24) - m;
    ulong p = BM_EXP2_C[9];
    for (int i = 8; i >= 0; i--) p = BM_EXP2_C[i] + ((p * f) >> 24);
    return n >= 63 ? 0 : p >> n;
}

/* 2^30 · part / whole, both cut to 33 bits first */
inline ulong bm_share_q30(ulong part, ulong whole) {
    int sh = 0;
    while ((whole >> sh) >= (1ul << 33)) sh++;
    return ((part >> sh) << 30) / (whole >> sh);
}

/* quest pages: pg [G, nkb, 2, D] = element-wise max and min of each key block of k [G, nk, D] */
__kernel void bm_quest_pages(__global const float *k, int k_off, __global float *pg, int D, int nk, int nkb, int bs) {
    int c = get_global_id(0), p = get_global_id(1), g = get_global_id(2);
    __global const float *kh = k + k_off + (long)g * nk * D;
    float hi = -INFINITY, lo = INFINITY;
    for (long j = (long)p * bs; j < (long)(p + 1) * bs && j < nk; j++) {
        float x = kh[j * D + c];
        hi = x > hi ? x : hi;
        lo = x < lo ? x : lo;
    }
    __global float *o = pg + ((long)g * nkb + p) * 2 * D;
    o[c] = hi;
    o[D + c] = lo;
}

/* quest bounds: sc [N·H, nqb, nkb] = max over query block qb of Σ_d fix(q_d > 0 ? q_d·max_d : q_d·min_d) */
__kernel void bm_quest_bounds(__global const float *q, int q_off, __global const float *pg, __global long *sc, int H,
                              int Hkv, int nq, int D, int nqb, int nkb, int bs) {
    int p = get_global_id(0), qb = get_global_id(1), nh = get_global_id(2);
    int g = (nh / H) * Hkv + (nh % H) / (H / Hkv);
    __global const float *hi = pg + ((long)g * nkb + p) * 2 * D, *lo = hi + D;
    __global const float *qh = q + q_off + (long)nh * nq * D;
    long best = LONG_MIN;
    for (long i = (long)qb * bs; i < (long)(qb + 1) * bs && i < nq; i++) {
        long b = 0;
        for (int c = 0; c < D; c++) {
            float x = qh[i * D + c];
            b += bm_fix(x > 0 ? x * hi[c] : x * lo[c]);
        }
        best = b > best ? b : best;
    }
    sc[((long)nh * nqb + qb) * nkb + p] = best;
}

/* xattn strided antidiagonal logits of heads h0 .. h0 + nc - 1: A [nc, na, nb] =
 * Σ_u Σ_d fix(q[aS+u]_d · k[bS+S-1-u]_d), pairs past the end left out */
__kernel void bm_xattn_logits(__global const float *q, int q_off, __global const float *k, int k_off, __global long *A,
                              int h0, int H, int Hkv, int nq, int nk, int D, int S, int na, int nb) {
    int b = get_global_id(0), a = get_global_id(1), c = get_global_id(2), nh = h0 + c;
    int g = (nh / H) * Hkv + (nh % H) / (H / Hkv);
    __global const float *qh = q + q_off + (long)nh * nq * D, *kh = k + k_off + (long)g * nk * D;
    long s = 0;
    for (int u = 0; u < S; u++) {
        long i = (long)a * S + u, j = (long)b * S + S - 1 - u;
        if (i >= nq || j >= nk) continue;
        for (int d = 0; d < D; d++) s += bm_fix(qh[i * D + d] * kh[j * D + d]);
    }
    A[((long)c * na + a) * nb + b] = s;
}

/* per strided row (a, c): the Q30 softmax weights of its logits, their sum R
 * and each key block's share 2^30·(block's sum)/R into sh [nc, na, nkb] */
__kernel void bm_xattn_rows(__global const long *A, __global ulong *sh, int na, int nb, int nkb, int rpb, float cf) {
    int a = get_global_id(0), c = get_global_id(1);
    __global const long *r = A + ((long)c * na + a) * nb;
    __global ulong *o = sh + ((long)c * na + a) * nkb;
    long mx = LONG_MIN;
    for (int b = 0; b < nb; b++) mx = r[b] > mx ? r[b] : mx;
    ulong R = 0, cur = 0;
    for (int b = 0; b < nb; b++) {
        ulong e = bm_exp2_q30(r[b] - mx, cf);
        R += e;
        cur += e;
        if (b % rpb == rpb - 1 || b == nb - 1) {
            o[b / rpb] = cur;
            cur = 0;
        }
    }
    for (int p = 0; p < nkb; p++) o[p] = bm_share_q30(o[p], R);
}

/* xattn block scores of heads h0 ..: sc [N·H, nqb, nkb] = sum of the shares of the block's strided rows */
__kernel void bm_xattn_blocks(__global const ulong *sh, __global long *sc, int h0, int na, int nqb, int nkb, int rpb) {
    int p = get_global_id(0), qb = get_global_id(1), c = get_global_id(2);
    long s = 0;
    for (long a = (long)qb * rpb; a < (long)(qb + 1) * rpb && a < na; a++) s += (long)sh[((long)c * na + a) * nkb + p];
    sc[((long)(h0 + c) * nqb + qb) * nkb + p] = s;
}

/* The selection of ref_block_mask.c's select_row, one work-item per block p
 * of row (qb, nh): forced blocks (sinks; xattn also the block's diagonal)
 * are kept; another is kept when, in the order (score descending, block
 * ascending) over the non-forced blocks, fewer than `budget` come before it
 * (quest) or the forced mass plus the mass of those before it is below the
 * threshold (xattn). */
__kernel void bm_select(__global const long *sc, __global uchar *m, int m_off, int nq, int nk, int nqb, int nkb, int bs,
                        int first, int xattn, int budget, long thr_full, long thr_last) {
    int p = get_global_id(0), qb = get_global_id(1), nh = get_global_id(2);
    long row = (long)nh * nqb + qb;
    __global const long *s = sc + row * nkb;
    long i0 = (long)qb * bs, i1 = min(i0 + bs, (long)nq);
    long dlo = xattn ? ((long)nk - nq + i0) / bs : -1, dhi = xattn ? ((long)nk - nq + i1 - 1) / bs : -1;
    uchar keep;
    if (p < first || (p >= dlo && p <= dhi)) {
        keep = 1;
    } else {
        long forced = 0, rank = 0, before = 0, sp = s[p];
        for (int o = 0; o < nkb; o++) {
            if (o < first || (o >= dlo && o <= dhi)) {
                forced += s[o];
            } else if (s[o] > sp || (s[o] == sp && o < p)) {
                rank++;
                before += s[o];
            }
        }
        keep = xattn ? forced + before < (qb == nqb - 1 ? thr_last : thr_full) : rank < budget;
    }
    m[m_off + row * nkb + p] = keep;
}
