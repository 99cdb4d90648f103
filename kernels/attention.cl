/* Fused attention (one pass over K/V, online softmax, additive mask, GQA).
 * A work-group of 64 work-items handles 64 query rows of one (batch, head);
 * K/V tiles of 32 keys are staged in local memory. Head dims up to DH are
 * zero-padded, so one instance serves every D <= DH.
 * A block mask Bm (u8 [Bb, Hb, nqb, nkb] of bq x bk tiles, 0 = skipped;
 * dense attention passes one kept tile covering everything) applies: a K/V tile that no row of the
 * work-group keeps is neither loaded nor scored (the test is the same for
 * every work-item, so the barriers stay uniform); inside a tile that
 * straddles kept and skipped blocks the skipped scores are -inf. Dense and
 * sparse attention are one kernel, so all tiles kept is the dense result bit
 * for bit. The block-mask interface (layout, bq, bk) is the one a tensor-core
 * flash kernel would take as well. */
#define ATT_BQ 64
#define ATT_BK 32

#define ATTENTION_KERNEL(NAME, DH)                                                               \
__kernel __attribute__((reqd_work_group_size(ATT_BQ, 1, 1)))                                            \
void NAME(__global const float *Q, int q_off, __global const float *K, int k_off,                      \
          __global const float *V, int v_off, __global const float *Mk, int m_off, int has_mask,       \
          int mb_stride, int mh_stride, __global float *O, int o_off, int H, int Hkv, int Lq, int Lk,     \
          int D, float scale, __global const uchar *Bm, int b_off, int bb_stride, int bh_stride,         \
          int nkb, int bq, int bk) {                                                   \
    __local float Ks[ATT_BK][DH];                                                                        \
    __local float Vs[ATT_BK][DH];                                                                        \
    int lid = get_local_id(0), bh = get_group_id(1), b = bh / H, h = bh % H;                             \
    int hk = h / (H / Hkv), i = get_group_id(0) * ATT_BQ + lid;                                          \
    int live = i < Lq;                                                                                   \
    long qrow = q_off + ((long)bh * Lq + (live ? i : 0)) * D;                                            \
    long kvbase = ((long)b * Hkv + hk) * Lk * D;                                                         \
    __global const float *mrow = Mk + m_off + (long)b * mb_stride + (long)h * mh_stride +                \
                                 (long)(live ? i : 0) * Lk;                                              \
    float q[DH], acc[DH], s[ATT_BK];                                                                     \
    for (int d = 0; d < DH; d++) { q[d] = d < D ? Q[qrow + d] * scale : 0.0f; acc[d] = 0.0f; }          \
    float m = -INFINITY, l = 0.0f;                                                                       \
    BLOCKS_SETUP                                                                                         \
    for (int j0 = 0; j0 < Lk; j0 += ATT_BK) {                                                            \
        int nk = min(ATT_BK, Lk - j0);                                                                   \
        BLOCKS_TILE                                                                                      \
        for (int e = lid; e < ATT_BK * DH; e += ATT_BQ) {                                                \
            int jj = e / DH, d = e % DH;                                                                 \
            int ok = jj < nk && d < D;                                                                   \
            long g = kvbase + (long)(j0 + jj) * D + d;                                                   \
            Ks[jj][d] = ok ? K[k_off + g] : 0.0f;                                                        \
            Vs[jj][d] = ok ? V[v_off + g] : 0.0f;                                                        \
        }                                                                                                \
        barrier(CLK_LOCAL_MEM_FENCE);                                                                    \
        if (live) {                                                                                      \
            float bm = -INFINITY;                                                                        \
            for (int jj = 0; jj < ATT_BK; jj++) {                                                        \
                float t = -INFINITY;                                                                     \
                if (jj < nk) {                                                                           \
                    t = 0.0f;                                                                            \
                    for (int d = 0; d < DH; d++) t = mad(q[d], Ks[jj][d], t);                           \
                    if (has_mask) t += mrow[j0 + jj];                                                    \
                    BLOCKS_ELEM                                                                          \
                }                                                                                        \
                s[jj] = t;                                                                               \
                bm = fmax(bm, t);                                                                        \
            }                                                                                            \
            if (bm != -INFINITY) {                                                                       \
                float mn = fmax(m, bm);                                                                  \
                float corr = m == -INFINITY ? 0.0f : exp(m - mn);                                        \
                l *= corr;                                                                               \
                for (int d = 0; d < DH; d++) acc[d] *= corr;                                             \
                for (int jj = 0; jj < ATT_BK; jj++) {                                                    \
                    float p = s[jj] == -INFINITY ? 0.0f : exp(s[jj] - mn);                               \
                    l += p;                                                                              \
                    for (int d = 0; d < DH; d++) acc[d] = mad(p, Vs[jj][d], acc[d]);                    \
                }                                                                                        \
                m = mn;                                                                                  \
            }                                                                                            \
        }                                                                                                \
        barrier(CLK_LOCAL_MEM_FENCE);                                                                    \
    }                                                                                                    \
    if (live) {                                                                                          \
        float inv = l > 0.0f ? 1.0f / l : 0.0f;                                                          \
        for (int d = 0; d < D && d < DH; d++) O[o_off + qrow - q_off + d] = acc[d] * inv;                \
    }                                                                                                    \
}

/* bb_stride/bh_stride: 0 when the block mask broadcasts over batch/heads.
 * The work-group's query blocks are [qb0, qb1]; brow is this row's
 * block-mask row. */
#define BLOCKS_SETUP                                                                                     \
    int r0 = get_group_id(0) * ATT_BQ, qb0 = r0 / bq, qb1 = (min(r0 + ATT_BQ, Lq) - 1) / bq;             \
    __global const uchar *bbase = Bm + b_off + (long)b * bb_stride + (long)h * bh_stride;                \
    __global const uchar *brow = bbase + (long)((live ? i : r0) / bq) * nkb;                             \
    int mixed = 0;
/* skip the tile unless some (query block, key block) pair under it is kept;
 * `mixed`: some pair is skipped too, so scores are tested one by one */
#define BLOCKS_TILE                                                                                      \
    {                                                                                                    \
        int kb0 = j0 / bk, kb1 = (j0 + nk - 1) / bk, any = 0, all = 1;                                   \
        for (int qb = qb0; qb <= qb1; qb++)                                                              \
            for (int kb = kb0; kb <= kb1; kb++) {                                                        \
                int keep = bbase[(long)qb * nkb + kb] != 0;                                              \
                any |= keep;                                                                             \
                all &= keep;                                                                             \
            }                                                                                            \
        if (!any) continue;                                                                              \
        mixed = !all;                                                                                    \
    }
#define BLOCKS_ELEM if (mixed && !brow[(j0 + jj) / bk]) t = -INFINITY;

ATTENTION_KERNEL(attention_d32, 32)
ATTENTION_KERNEL(attention_d64, 64)
ATTENTION_KERNEL(attention_d128, 128)

/* Rotary embedding; gid over B*H*L*(D/2). y may alias x. */
__kernel void rope(__global const float *x, int x_off, __global float *y, int y_off, __global const float *c,
                   int c_off, __global const float *sn, int s_off, int H, int L, int D, int cb1, int n,
                   int interleaved) {
    int gid = get_global_id(0);
    if (gid >= n) return;
    int half_d = D / 2, i = gid % half_d, row = gid / half_d; /* row = (b*H + h)*L + l */
    int l = row % L, b = row / L / H;
    int cidx = ((cb1 ? 0 : b) * L + l) * half_d + i;
    int i0 = interleaved ? 2 * i : i, i1 = interleaved ? 2 * i + 1 : i + half_d;
    long base = (long)row * D;
    float a = x[x_off + base + i0], bb = x[x_off + base + i1], cc = c[c_off + cidx], ss = sn[s_off + cidx];
    y[y_off + base + i0] = a * cc - bb * ss;
    y[y_off + base + i1] = bb * cc + a * ss;
}
