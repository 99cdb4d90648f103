/* NVIDIA tensor-core flash attention, dense and block-sparse (sm_80+; built
 * only into the NVIDIA program next to hgemm_nv.cl, used when the tensor
 * cores are on):
 *   O[b,h] = softmax(scale · Q[b,h] · K[b,hk]ᵀ + mask[b,h]) · V[b,hk]
 * Q f32, O f32 [B, H, Lq, FA_D]; K, V f16 [B, Hkv, Lk, FA_D] (the host
 * converts f32 K/V once per call with nv_to_f16, round to nearest even);
 * mask f32 [B|1, H|1, Lq, Lk] (strides mb, mh) or none.
 *
 * Instantiated per (FA_D, FA_BK keys per tile, FA_WARPS) by cl_program.c.
 * A work-group of FA_WARPS warps owns 16·FA_WARPS query rows of one (b, h),
 * 16 per warp. Q is rounded to f16 once and kept as mma A fragments in
 * registers for the whole key loop. K/V tiles stream global -> local with
 * 16-byte cp.async copies, double-buffered (tile i+1 loads while tile i is
 * multiplied); local rows of FA_D halves have their 16-byte chunks
 * XOR-swizzled so ldmatrix and cp.async are bank-conflict-free.
 * S = Q·Kᵀ and O += P·V run on mma.sync.m16n8k16 (f16 in, f32 accumulate);
 * the online softmax works on the S accumulators in registers (base-2
 * exponent, running max and sum per row, quad shuffles for the row max).
 * P is rounded to f16 for the second product, as FlashAttention-2 does.
 * Rows whose keys are all masked give zeros (the portable kernels' rule).
 *
 * Block-sparse (sparse != 0): a block mask Bm (u8 [Bb, Hb, nqb, nkb] of
 * bq x bk tiles, 0 = skipped; the portable kernels' interface). The kernel
 * lists the key tiles that some (query block, key block) pair under the
 * work-group keeps (vote.ballot compaction into local memory); only those
 * are loaded and multiplied, in the dense order, so an all-ones mask gives
 * the dense result bit for bit. In a tile that straddles kept and skipped
 * blocks the skipped scores are -inf; the additive mask still applies. */
#ifndef FA_ONCE
#define FA_ONCE

/* The warp instructions below and nv_ptx.cl's; tests/support/flash_emu.cl
 * defines FA_EMU and portable stand-ins for them, so test_flash_emu runs
 * this file's kernel code on any OpenCL device (PoCL). */
#ifndef FA_EMU
#define FA_EMU_DECL
#define FA_UNROLL _Pragma("unroll")

inline float fa_shfl_xor(float v, int m) {
    float r;
    asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=f"(r) : "f"(v), "r"(m));
    return r;
}

/* bit l of the result: predicate p of lane l (whole warp) */
inline uint fa_ballot(int p) {
    uint r;
    asm volatile("{\n\t.reg .pred q;\n\tsetp.ne.s32 q, %1, 0;\n\tvote.sync.ballot.b32 %0, q, 0xffffffff;\n\t}"
                 : "=r"(r)
                 : "r"(p));
    return r;
}

#endif /* FA_EMU */

/* byte offset of 16-byte chunk c of row r in a tile whose rows are d halves */
#define FA_SW(r, c, d) ((uint)(r) * (uint)((d) * 2) + ((uint)((c) ^ ((r) & 7)) << 4))

/* largest number of key tiles a block-sparse call may have (the host
 * takes the portable kernel beyond it) */
#define FA_MAXT 4096
#endif

#define FA_NT (FA_BK / 8)   /* key tiles of 8 per K block */
#define FA_DT (FA_D / 8)    /* output column tiles of 8 = 16-byte chunks per row */
#define FA_DK (FA_D / 16)   /* k16 steps over the head dim */
#define FA_ROWS (16 * FA_WARPS)
#define FA_NTH (32 * FA_WARPS)
#define FA_TILE (FA_BK * FA_D * 2) /* bytes of one K or V tile */

__kernel __attribute__((reqd_work_group_size(FA_NTH, 1, 1)))
void FA_NAME(__global const float *Q, int q_off, __global const ushort *K, int k_off, __global const ushort *V,
             int v_off, __global const float *Mk, int m_off, int has_mask, int mb_stride, int mh_stride,
             __global float *O, int o_off, int H, int Hkv, int Lq, int Lk, float scale, int sparse,
             __global const uchar *Bm, int b_off, int bb_stride, int bh_stride, int nkb, int bq, int bk) {
    /* two stages of (K tile, V tile); Q is staged here before the loop */
    __local uint4 kv[4 * FA_TILE / 16];
    __local ushort list[FA_MAXT];
    __local int nlist;
    FA_EMU_DECL
    const int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5;
    const int bh = get_group_id(1), b = bh / H, h = bh % H, hk = h / (H / Hkv);
    const int q0 = get_group_id(0) * FA_ROWS;
    __global const float *Qb = Q + q_off + (long)bh * Lq * FA_D;
    __global const ushort *Kb = K + k_off + ((long)b * Hkv + hk) * Lk * FA_D;
    __global const ushort *Vb = V + v_off + ((long)b * Hkv + hk) * Lk * FA_D;
    __global const uchar *bbase = Bm + b_off + (long)b * bb_stride + (long)h * bh_stride;
    const float LOG2E = 1.4426950408889634f, sl2 = scale * LOG2E;
    const uint sbase = nv_saddr(kv);
    const int nt = (Lk + FA_BK - 1) / FA_BK;

    /* Q -> f16 (RNE) in local memory -> A fragments in registers */
    for (int e = tid; e < FA_ROWS * FA_DT; e += FA_NTH) {
        int r = e / FA_DT, c = e % FA_DT;
        float8 v = (float8)(0.0f);
        if (q0 + r < Lq) v = vload8(0, Qb + (long)(q0 + r) * FA_D + c * 8);
        vstore_half8_rte(v, 0, (__local half *)((__local char *)kv + FA_SW(r, c, FA_D)));
    }
    /* block-sparse: the kept key tiles (bit 15: mixed tile); every warp
     * scans (uniform control flow), warp 0 writes the list */
    if (sparse) {
        int qb0 = q0 / bq, qb1 = (min(q0 + FA_ROWS, Lq) - 1) / bq, cnt = 0;
        for (int base = 0; base < nt; base += 32) {
            int t = base + lane, any = 0, all = 1;
            if (t < nt) {
                int kb0 = t * FA_BK / bk, kb1 = (min(t * FA_BK + FA_BK, Lk) - 1) / bk;
                for (int qb = qb0; qb <= qb1; qb++)
                    for (int kb = kb0; kb <= kb1; kb++) {
                        int keep = bbase[(long)qb * nkb + kb] != 0;
                        any |= keep;
                        all &= keep;
                    }
            }
            uint bal = fa_ballot(any);
            if (any && warp == 0) list[cnt + popcount(bal & ((1u << lane) - 1u))] = (ushort)(t | (all ? 0 : 0x8000));
            cnt += popcount(bal);
        }
        if (tid == 0) nlist = cnt;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    uint qf[FA_DK][4];
    {
        int mat = lane >> 3, r = warp * 16 + (mat & 1) * 8 + (lane & 7);
FA_UNROLL
        for (int kk = 0; kk < FA_DK; kk++)
            NV_LDSM4(qf[kk], sbase + FA_SW(r, kk * 2 + (mat >> 1), FA_D));
    }
    const int ntk = sparse ? nlist : nt;
    barrier(CLK_LOCAL_MEM_FENCE); /* Q's staging area becomes the K/V stages */

    /* this thread's two rows: lane/4 and lane/4 + 8 of the warp's 16 */
    const int row0 = q0 + warp * 16 + (lane >> 2), row1 = row0 + 8;
    __global const float *mrow0 = Mk + m_off + (long)b * mb_stride + (long)h * mh_stride + (long)min(row0, Lq - 1) * Lk;
    __global const float *mrow1 = Mk + m_off + (long)b * mb_stride + (long)h * mh_stride + (long)min(row1, Lq - 1) * Lk;
    __global const uchar *brow0 = bbase + (long)(min(row0, Lq - 1) / bq) * nkb;
    __global const uchar *brow1 = bbase + (long)(min(row1, Lq - 1) / bq) * nkb;
    float o[FA_DT][4];
FA_UNROLL
    for (int j = 0; j < FA_DT; j++) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

/* K and V tile t -> stage st (rows past Lk zero-filled) */
#define FA_LOAD(st, t)                                                                        \
    do {                                                                                      \
        uint ks_ = sbase + (uint)(st) * (2 * FA_TILE), vs_ = ks_ + FA_TILE;                   \
        int j0_ = (t) * FA_BK;                                                                \
        for (int e_ = tid; e_ < FA_BK * FA_DT; e_ += FA_NTH) {                                \
            int r_ = e_ / FA_DT, c_ = e_ % FA_DT, ok_ = j0_ + r_ < Lk;                        \
            long g_ = ok_ ? (long)(j0_ + r_) * FA_D + c_ * 8 : 0;                             \
            NV_CP_ASYNC(ks_ + FA_SW(r_, c_, FA_D), Kb + g_, ok_ ? 16 : 0);                    \
            NV_CP_ASYNC(vs_ + FA_SW(r_, c_, FA_D), Vb + g_, ok_ ? 16 : 0);                    \
        }                                                                                     \
    } while (0)

    if (ntk > 0) FA_LOAD(0, sparse ? (list[0] & 0x7fff) : 0);
    NV_COMMIT();
    for (int it = 0; it < ntk; it++) {
        int ent = sparse ? list[it] : it, t = ent & 0x7fff, mixed = ent >> 15;
        if (it + 1 < ntk) FA_LOAD((it + 1) & 1, sparse ? (list[it + 1] & 0x7fff) : it + 1);
        NV_COMMIT(); /* possibly empty: wait_group 1 then always means "tile it has landed" */
        NV_WAIT_GROUP(1);
        barrier(CLK_LOCAL_MEM_FENCE);
        const uint ks = sbase + (uint)(it & 1) * (2 * FA_TILE), vs = ks + FA_TILE;
        const int j0 = t * FA_BK;

        /* S = Q · Kᵀ for 16 rows x FA_BK keys */
        float s[FA_NT][4];
FA_UNROLL
        for (int u = 0; u < FA_NT; u++) s[u][0] = s[u][1] = s[u][2] = s[u][3] = 0.0f;
        {
            int mat = lane >> 3;
FA_UNROLL
            for (int kk = 0; kk < FA_DK; kk++)
FA_UNROLL
                for (int u = 0; u < FA_NT; u += 2) {
                    uint bf[4];
                    int key = u * 8 + (mat >> 1) * 8 + (lane & 7);
                    NV_LDSM4(bf, ks + FA_SW(key, kk * 2 + (mat & 1), FA_D));
                    NV_MMA_F16(s[u], qf[kk], bf[0], bf[1]);
                    NV_MMA_F16(s[u + 1], qf[kk], bf[2], bf[3]);
                }
        }

        /* scale (base 2), mask, skipped blocks, out-of-range keys; row maxima */
        const int slow = has_mask || mixed || j0 + FA_BK > Lk;
        float bm0 = -INFINITY, bm1 = -INFINITY;
FA_UNROLL
        for (int u = 0; u < FA_NT; u++) {
FA_UNROLL
            for (int e = 0; e < 2; e++) {
                float a = s[u][e] * sl2, c = s[u][2 + e] * sl2;
                if (slow) {
                    int j = j0 + u * 8 + (lane & 3) * 2 + e;
                    if (j >= Lk) a = c = -INFINITY;
                    else {
                        if (has_mask) {
                            a += (row0 < Lq ? mrow0[j] : 0.0f) * LOG2E;
                            c += (row1 < Lq ? mrow1[j] : 0.0f) * LOG2E;
                        }
                        if (mixed) {
                            if (!brow0[j / bk]) a = -INFINITY;
                            if (!brow1[j / bk]) c = -INFINITY;
                        }
                    }
                }
                s[u][e] = a;
                s[u][2 + e] = c;
                bm0 = fmax(bm0, a);
                bm1 = fmax(bm1, c);
            }
        }
        bm0 = fmax(bm0, fa_shfl_xor(bm0, 1));
        bm0 = fmax(bm0, fa_shfl_xor(bm0, 2));
        bm1 = fmax(bm1, fa_shfl_xor(bm1, 1));
        bm1 = fmax(bm1, fa_shfl_xor(bm1, 2));
        float mn0 = fmax(m0, bm0), mn1 = fmax(m1, bm1);
        /* nothing seen yet in a row (all -inf so far): keep its state at zero */
        float c0 = mn0 == -INFINITY ? 1.0f : native_exp2(m0 - mn0);
        float c1 = mn1 == -INFINITY ? 1.0f : native_exp2(m1 - mn1);
        float sub0 = mn0 == -INFINITY ? 0.0f : mn0, sub1 = mn1 == -INFINITY ? 0.0f : mn1;
        m0 = mn0;
        m1 = mn1;
        l0 *= c0;
        l1 *= c1;
FA_UNROLL
        for (int j = 0; j < FA_DT; j++) {
            o[j][0] *= c0; o[j][1] *= c0;
            o[j][2] *= c1; o[j][3] *= c1;
        }

        /* P = exp2(S - m), O += P · V (16 keys per mma k step) */
FA_UNROLL
        for (int kv16 = 0; kv16 < FA_BK / 16; kv16++) {
            float p[8];
FA_UNROLL
            for (int e = 0; e < 2; e++) {
                p[e] = native_exp2(s[2 * kv16][e] - sub0);
                p[2 + e] = native_exp2(s[2 * kv16][2 + e] - sub1);
                p[4 + e] = native_exp2(s[2 * kv16 + 1][e] - sub0);
                p[6 + e] = native_exp2(s[2 * kv16 + 1][2 + e] - sub1);
            }
            l0 += p[0] + p[1] + p[4] + p[5];
            l1 += p[2] + p[3] + p[6] + p[7];
            uint pa[4] = {nv_pack_f16x2(p[0], p[1]), nv_pack_f16x2(p[2], p[3]), nv_pack_f16x2(p[4], p[5]),
                          nv_pack_f16x2(p[6], p[7])};
            int mat = lane >> 3, key = kv16 * 16 + (mat & 1) * 8 + (lane & 7);
FA_UNROLL
            for (int dn = 0; dn < FA_DT; dn += 2) {
                uint bf[4];
                NV_LDSM4_T(bf, vs + FA_SW(key, dn + (mat >> 1), FA_D));
                NV_MMA_F16(o[dn], pa, bf[0], bf[1]);
                NV_MMA_F16(o[dn + 1], pa, bf[2], bf[3]);
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE); /* stage it & 1 is refilled by the next iteration's load */
    }
#undef FA_LOAD

    /* row sums over the quad, normalise, store */
    l0 += fa_shfl_xor(l0, 1);
    l0 += fa_shfl_xor(l0, 2);
    l1 += fa_shfl_xor(l1, 1);
    l1 += fa_shfl_xor(l1, 2);
    float inv0 = l0 > 0.0f ? 1.0f / l0 : 0.0f, inv1 = l1 > 0.0f ? 1.0f / l1 : 0.0f;
    __global float *Ob = O + o_off + (long)bh * Lq * FA_D;
    int col = (lane & 3) * 2;
FA_UNROLL
    for (int j = 0; j < FA_DT; j++) {
        if (row0 < Lq) vstore2((float2)(o[j][0] * inv0, o[j][1] * inv0), 0, Ob + (long)row0 * FA_D + j * 8 + col);
        if (row1 < Lq) vstore2((float2)(o[j][2] * inv1, o[j][3] * inv1), 0, Ob + (long)row1 * FA_D + j * 8 + col);
    }
}

#undef FA_NT
#undef FA_DT
#undef FA_DK
#undef FA_ROWS
#undef FA_NTH
#undef FA_TILE
