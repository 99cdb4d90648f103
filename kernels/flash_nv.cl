/* NVIDIA tensor-core flash attention (sm_80+; built only into the NVIDIA
 * program next to hgemm_nv.cl, used when the tensor cores are on):
 *   O[b,h] = softmax(scale · Q[b,h] · K[b,hk]ᵀ + mask[b,h]) · V[b,hk]
 * Q, K, V, O f32 [B, H|Hkv, L, FA_D] contiguous (the layout of the portable
 * attention kernels); mask f32 [B|1, H|1, Lq, Lk] (strides mb, mh) or none.
 *
 * A work-group of 4 warps owns 64 query rows of one (b, h), 16 per warp.
 * Q is converted to f16 once and kept as mma A fragments in registers; K/V
 * tiles of FA_BK keys are converted to f16 into local memory (rows of FA_D
 * halves, 16-byte chunks XOR-swizzled so ldmatrix is conflict-free).
 * S = Q·Kᵀ and O += P·V run on mma.sync.m16n8k16 (f16 in, f32 accumulate);
 * the online softmax works on the S accumulators in registers (base-2
 * exponent, running max and sum per row, quad shuffles for the row max).
 * P is rounded to f16 for the second product, as FlashAttention-2 does.
 * Rows whose keys are all masked give zeros (the portable kernels' rule). */
#ifndef FA_ONCE
#define FA_ONCE

inline uint fa_saddr(__local const void *p) { return (uint)(size_t)p; }

#define FA_LDSM4(r0, r1, r2, r3, addr)                                                      \
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"           \
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)                                   \
                 : "r"(addr)                                                                \
                 : "memory")
#define FA_LDSM4_T(r0, r1, r2, r3, addr)                                                    \
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"     \
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)                                   \
                 : "r"(addr)                                                                \
                 : "memory")
#define FA_MMA(d, a0, a1, a2, a3, b0, b1)                                                   \
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "                \
        "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"                                           \
        : "+f"((d)[0]), "+f"((d)[1]), "+f"((d)[2]), "+f"((d)[3])                            \
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1))

/* two floats -> f16x2 (lo in the low half), round to nearest even */
inline uint fa_pack(float lo, float hi) {
    uint r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

inline float fa_shfl_xor(float v, int m) {
    float r;
    asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=f"(r) : "f"(v), "r"(m));
    return r;
}

/* byte offset of 16-byte chunk c of row r in a tile whose rows are d halves */
#define FA_SW(r, c, d) ((uint)(r) * (uint)((d) * 2) + ((uint)((c) ^ ((r) & 7)) << 4))

/* rows [r0, r0 + n) of a [L, D] f32 matrix -> f16 tile in local memory
 * (rows past L are zero); nthreads work-items, tid = local id */
#define FA_STAGE(sbase, src, r0, n, L, D, tid, nthreads)                                   \
    do {                                                                                   \
        for (int e_ = (tid); e_ < (n) * ((D) / 8); e_ += (nthreads)) {                     \
            int r_ = e_ / ((D) / 8), c_ = e_ % ((D) / 8);                                  \
            float8 v_ = (float8)(0.0f);                                                    \
            if ((r0) + r_ < (L)) v_ = vload8(0, (src) + (long)((r0) + r_) * (D) + c_ * 8); \
            vstore_half8_rte(v_, 0, (__local half *)((__local char *)(sbase) + FA_SW(r_, c_, D))); \
        }                                                                                  \
    } while (0)
#endif

#define FA_NT (FA_BK / 8)   /* key tiles of 8 per K block */
#define FA_DT (FA_D / 8)    /* output column tiles of 8 */
#define FA_DK (FA_D / 16)   /* k16 steps over the head dim */

__kernel __attribute__((reqd_work_group_size(128, 1, 1)))
void FA_NAME(__global const float *Q, int q_off, __global const float *K, int k_off, __global const float *V,
             int v_off, __global const float *Mk, int m_off, int has_mask, int mb_stride, int mh_stride,
             __global float *O, int o_off, int H, int Hkv, int Lq, int Lk, float scale) {
    __local uint4 qs[64 * FA_D / 8];
    __local uint4 ks[FA_BK * FA_D / 8];
    __local uint4 vs[FA_BK * FA_D / 8];
    const int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5;
    const int bh = get_group_id(1), b = bh / H, h = bh % H, hk = h / (H / Hkv);
    const int q0 = get_group_id(0) * 64;
    __global const float *Qb = Q + q_off + (long)bh * Lq * FA_D;
    __global const float *Kb = K + k_off + ((long)b * Hkv + hk) * Lk * FA_D;
    __global const float *Vb = V + v_off + ((long)b * Hkv + hk) * Lk * FA_D;
    const float LOG2E = 1.4426950408889634f, sl2 = scale * LOG2E;

    /* Q -> f16 in local memory -> A fragments in registers */
    FA_STAGE(qs, Qb, q0, 64, Lq, FA_D, tid, 128);
    barrier(CLK_LOCAL_MEM_FENCE);
    uint qf[FA_DK][4];
    {
        int mat = lane >> 3, r = warp * 16 + (mat & 1) * 8 + (lane & 7);
#pragma unroll
        for (int kk = 0; kk < FA_DK; kk++)
            FA_LDSM4(qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3],
                     fa_saddr(qs) + FA_SW(r, kk * 2 + (mat >> 1), FA_D));
    }

    /* this thread's two rows: lane/4 and lane/4 + 8 of the warp's 16 */
    const int row0 = q0 + warp * 16 + (lane >> 2), row1 = row0 + 8;
    __global const float *mrow0 = Mk + m_off + (long)b * mb_stride + (long)h * mh_stride + (long)min(row0, Lq - 1) * Lk;
    __global const float *mrow1 = Mk + m_off + (long)b * mb_stride + (long)h * mh_stride + (long)min(row1, Lq - 1) * Lk;
    float o[FA_DT][4];
#pragma unroll
    for (int j = 0; j < FA_DT; j++) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

    for (int j0 = 0; j0 < Lk; j0 += FA_BK) {
        barrier(CLK_LOCAL_MEM_FENCE); /* the previous tile is no longer read */
        FA_STAGE(ks, Kb, j0, FA_BK, Lk, FA_D, tid, 128);
        FA_STAGE(vs, Vb, j0, FA_BK, Lk, FA_D, tid, 128);
        barrier(CLK_LOCAL_MEM_FENCE);

        /* S = Q · Kᵀ for 16 rows x FA_BK keys */
        float s[FA_NT][4];
#pragma unroll
        for (int t = 0; t < FA_NT; t++) s[t][0] = s[t][1] = s[t][2] = s[t][3] = 0.0f;
        {
            int mat = lane >> 3;
#pragma unroll
            for (int kk = 0; kk < FA_DK; kk++)
#pragma unroll
                for (int t = 0; t < FA_NT; t += 2) {
                    uint b0, b1, b2, b3;
                    int key = t * 8 + (mat >> 1) * 8 + (lane & 7);
                    FA_LDSM4(b0, b1, b2, b3, fa_saddr(ks) + FA_SW(key, kk * 2 + (mat & 1), FA_D));
                    FA_MMA(s[t], qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], b0, b1);
                    FA_MMA(s[t + 1], qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], b2, b3);
                }
        }

        /* scale (base 2), mask, out-of-range keys; row maxima */
        float bm0 = -INFINITY, bm1 = -INFINITY;
#pragma unroll
        for (int t = 0; t < FA_NT; t++) {
#pragma unroll
            for (int e = 0; e < 2; e++) {
                int j = j0 + t * 8 + (lane & 3) * 2 + e;
                float a = s[t][e] * sl2, c = s[t][2 + e] * sl2;
                if (j >= Lk) a = c = -INFINITY;
                else if (has_mask) {
                    a += (row0 < Lq ? mrow0[j] : 0.0f) * LOG2E;
                    c += (row1 < Lq ? mrow1[j] : 0.0f) * LOG2E;
                }
                s[t][e] = a;
                s[t][2 + e] = c;
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
#pragma unroll
        for (int j = 0; j < FA_DT; j++) {
            o[j][0] *= c0; o[j][1] *= c0;
            o[j][2] *= c1; o[j][3] *= c1;
        }

        /* P = exp2(S - m), O += P · V (16 keys per mma k step) */
#pragma unroll
        for (int kv = 0; kv < FA_BK / 16; kv++) {
            float p[8];
#pragma unroll
            for (int e = 0; e < 2; e++) {
                p[e] = native_exp2(s[2 * kv][e] - sub0);
                p[2 + e] = native_exp2(s[2 * kv][2 + e] - sub1);
                p[4 + e] = native_exp2(s[2 * kv + 1][e] - sub0);
                p[6 + e] = native_exp2(s[2 * kv + 1][2 + e] - sub1);
            }
            l0 += p[0] + p[1] + p[4] + p[5];
            l1 += p[2] + p[3] + p[6] + p[7];
            uint a0 = fa_pack(p[0], p[1]), a1 = fa_pack(p[2], p[3]);
            uint a2 = fa_pack(p[4], p[5]), a3 = fa_pack(p[6], p[7]);
            int mat = lane >> 3, key = kv * 16 + (mat & 1) * 8 + (lane & 7);
#pragma unroll
            for (int dn = 0; dn < FA_DT; dn += 2) {
                uint b0, b1, b2, b3;
                FA_LDSM4_T(b0, b1, b2, b3, fa_saddr(vs) + FA_SW(key, dn + (mat >> 1), FA_D));
                FA_MMA(o[dn], a0, a1, a2, a3, b0, b1);
                FA_MMA(o[dn + 1], a0, a1, a2, a3, b2, b3);
            }
        }
    }

    /* row sums over the quad, normalise, store */
    l0 += fa_shfl_xor(l0, 1);
    l0 += fa_shfl_xor(l0, 2);
    l1 += fa_shfl_xor(l1, 1);
    l1 += fa_shfl_xor(l1, 2);
    float inv0 = l0 > 0.0f ? 1.0f / l0 : 0.0f, inv1 = l1 > 0.0f ? 1.0f / l1 : 0.0f;
    __global float *Ob = O + o_off + (long)bh * Lq * FA_D;
    int col = (lane & 3) * 2;
#pragma unroll
    for (int j = 0; j < FA_DT; j++) {
        if (row0 < Lq) vstore2((float2)(o[j][0] * inv0, o[j][1] * inv0), 0, Ob + (long)row0 * FA_D + j * 8 + col);
        if (row1 < Lq) vstore2((float2)(o[j][2] * inv1, o[j][3] * inv1), 0, Ob + (long)row1 * FA_D + j * 8 + col);
    }
}
