/* NVIDIA tensor-core GEMM on f16 operands already in global memory
 * (sm_80+; built only into the NVIDIA program, see cl_program.c):
 *   C[z] (M x N, f32, row stride ldc) = alpha * A[z] (M x K, f16, row stride lda)
 *                                        * B[z] (N x K, f16, row stride ldb)^T (+ bias)
 * z = z0 * nz1 + z1; bias_mode 0 none, 1 per column n, 2 per row m.
 * Host guarantees: K, lda, ldb, the offsets and batch strides are multiples of
 * 8 halves (16-byte rows for cp.async); M, N, K are otherwise arbitrary (rows
 * past M/N and k past K are zero-filled by cp.async's src-size operand).
 *
 * This file is instantiated several times (cl_program.c puts a block of
 * #defines before each copy): HG_NAME, HG_BM x HG_BN block tile, HG_BK
 * K step (16, 32 or 64 halves), HG_ST pipeline stages, HG_WM x HG_WN warp tile,
 * HG_NT work-items (= 32 * warps), HG_WAIT = HG_ST - 2, HG_DB: 0 = fragments
 * loaded per slice, 1 = double-buffered within a stage, 2 = software-pipelined
 * across stages (see the main loop). Local-memory tiles
 * have rows of HG_BK halves whose 16-byte chunks are XOR-swizzled (see
 * HG_SW) so that ldmatrix and cp.async are free of bank conflicts. With
 * HG_DB the fragments of the next 16-wide k slice are loaded (ldmatrix)
 * while the current slice is multiplied (more registers). Per K step: cp.async
 * 16-byte copies global -> local for stage kt + ST - 1 while the tensor cores
 * (ldmatrix.x4 + mma.sync.m16n8k16, f32 accumulate) work on stage kt. */
#ifndef HG_ONCE
#define HG_ONCE

/* x rounded to half (nearest even) and widened back: f16 precision mode's
 * rounding of a GEMM output, done in the epilogue */
inline float hg_round_half(float x) {
    ushort h[1];
    vstore_half_rte(x, 0, (half *)h);
    return vload_half(0, (const half *)h);
}

/* this work-group's block row (.x) and column (.y) in grouped order (8
 * block rows at a time, for L2 reuse) */
inline int2 hg_grouped_block(void) {
    const int gn = get_num_groups(0), gm = get_num_groups(1);
    const int pid = get_group_id(1) * gn + get_group_id(0);
    const int grp = pid / (8 * gn), first = grp * 8, gsz = min(gm - first, 8);
    return (int2)(first + (pid % (8 * gn)) % gsz, (pid % (8 * gn)) / gsz);
}

/* acc[i][j][0..3] = 0 for i < mi, j < ni: a work-item's mma accumulators
 * (float or int), fully unrolled */
#define HG_ZERO_ACC(acc, mi, ni)                                             \
    _Pragma("unroll") for (int i_ = 0; i_ < (mi); i_++)                     \
        _Pragma("unroll") for (int j_ = 0; j_ < (ni); j_++)                 \
            _Pragma("unroll") for (int r_ = 0; r_ < 4; r_++) acc[i_][j_][r_] = 0

/* B fragments of n-columns 2*nj and 2*nj+1 (16 rows of the local B tile from
 * row wn + nj * 16) for k slice ks of a tile of rows of bk halves: one
 * ldmatrix.x4 into bf[buf] */
#define HG_LDSM_B_PAIR(buf, nj, sb, ks, bk)                                                     \
    do {                                                                                       \
        int r_ = wn + (nj) * 16 + (lane & 7) + ((lane >> 4) << 3), c_ = (ks) * 2 + ((lane >> 3) & 1); \
        uint t4[4];                                                                            \
        NV_LDSM4(t4, (sb) + HG_SW(r_, c_, bk));                                                        \
        bf[buf][2 * (nj)][0] = t4[0];                                                          \
        bf[buf][2 * (nj)][1] = t4[1];                                                          \
        bf[buf][2 * (nj) + 1][0] = t4[2];                                                      \
        bf[buf][2 * (nj) + 1][1] = t4[3];                                                      \
    } while (0)

/* byte offset of 16-byte chunk c of row r in a tile of rows of bk halves
 * (bk = 16: 2 chunks, XOR (r / 4) % 2; bk = 32: 4 chunks, XOR (r / 2) % 4;
 * bk = 64: 8 chunks, XOR r % 8): any 8 consecutive rows at one chunk index
 * cover all 32 banks */
#define HG_SW(r, c, bk)                                                                        \
    ((bk) == 16   ? (uint)(r) * 32u + ((uint)((c) ^ (((r) >> 2) & 1)) << 4)                   \
     : (bk) == 32 ? (uint)(r) * 64u + ((uint)((c) ^ (((r) >> 1) & 3)) << 4)                   \
                  : (uint)(r) * 128u + ((uint)((c) ^ ((r) & 7)) << 4))

/* f32/f16/bf16 strided matrix -> f16 [R][Kp] (k contiguous, zero for
 * Kc <= k < Kp), per batch z of nz0 x nz1 (dst batch stride R*Kp). 32 x 32
 * tiles; a source that is contiguous along r goes through local memory so
 * that both the reads and the writes are coalesced. */
__kernel __attribute__((reqd_work_group_size(32, 8, 1)))
void nv_to_f16(int R, int Kc, int Kp, int nz1, __global const void *src, int off, int dt, int s_r, int s_k,
               int s_z0, int s_z1, __global half *dst) {
    __local float tile[32][33];
    int z = get_group_id(2), z0 = z / nz1, z1 = z % nz1;
    int so = off + z0 * s_z0 + z1 * s_z1;
    long dofs = (long)z * R * Kp;
    int r0 = get_group_id(1) * 32, k0 = get_group_id(0) * 32, x = get_local_id(0), y = get_local_id(1);
    if (s_r != 1 || s_k == 1) {
        for (int j = 0; j < 4; j++) {
            int r = r0 + y + 8 * j, k = k0 + x;
            if (r < R && k < Kp) {
                float v = k < Kc ? ldf(src, so + r * s_r + k * s_k, dt) : 0.0f;
                vstore_half_rte(v, dofs + (long)r * Kp + k, dst);
            }
        }
    } else {
        for (int j = 0; j < 4; j++) {
            int k = k0 + y + 8 * j, r = r0 + x;
            tile[y + 8 * j][x] = (r < R && k < Kc) ? ldf(src, so + r + k * s_k, dt) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int j = 0; j < 4; j++) {
            int r = r0 + y + 8 * j, k = k0 + x;
            if (r < R && k < Kp) vstore_half_rte(tile[x][y + 8 * j], dofs + (long)r * Kp + k, dst);
        }
    }
}
#endif

#define HG_CPR (HG_BK / 8)
#define HG_NW (HG_NT / 32)
#define HG_MI (HG_WM / 16)
#define HG_NI (HG_WN / 8)
#define HG_WARPS_N (HG_BN / HG_WN)
#define HG_A_BYTES (HG_BM * HG_BK * 2)
#define HG_STAGE_BYTES ((HG_BM + HG_BN) * HG_BK * 2)

__kernel __attribute__((reqd_work_group_size(HG_NT, 1, 1)))
void HG_NAME(int M, int N, int K, int nz1,
             __global const ushort *A, int a_off, int lda, int a_s0, int a_s1,
             __global const ushort *B, int b_off, int ldb, int b_s0, int b_s1,
             __global float *C, int c_off, int ldc, int c_s0, int c_s1,
             __global const void *bias, int bias_off, int bias_dt, int bias_mode, int bias_s1, float alpha,
             int round_out) {
    __local uint4 smem[HG_ST * HG_STAGE_BYTES / 16];
    const int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5;
    const int wm = (warp / HG_WARPS_N) * HG_WM, wn = (warp % HG_WARPS_N) * HG_WN;
    const int2 blk = hg_grouped_block();
    const int m0 = blk.x * HG_BM, n0 = blk.y * HG_BN;
    const int z = get_group_id(2), z0 = z / nz1, z1 = z % nz1;
    __global const ushort *Ab = A + a_off + z0 * a_s0 + z1 * a_s1;
    __global const ushort *Bb = B + b_off + z0 * b_s0 + z1 * b_s1;
    const int co = c_off + z0 * c_s0 + z1 * c_s1;
    const uint sbase = nv_saddr(smem);

    float acc[HG_MI][HG_NI][4];
    HG_ZERO_ACC(acc, HG_MI, HG_NI);

    const int KT = (K + HG_BK - 1) / HG_BK;
    /* stage loader: chunk i of the A tile = row i / 4, 16-byte chunk i % 4 */
#define HG_LOAD(stage, kt)                                                                       \
    do {                                                                                         \
        uint sa_ = sbase + (stage) * HG_STAGE_BYTES, sb_ = sa_ + HG_A_BYTES;                     \
        int k_ = (kt) * HG_BK;                                                                   \
        for (int e = 0; e < HG_BM * HG_CPR / HG_NT; e++) {                                       \
            int i = tid + e * HG_NT, r = i / HG_CPR, c = i % HG_CPR, gr = m0 + r, kk = k_ + c * 8; \
            int ok = gr < M && kk < K;                                                           \
            __global const ushort *p = ok ? Ab + gr * lda + kk : Ab;                             \
            NV_CP_ASYNC(sa_ + HG_SW(r, c, HG_BK), p, ok ? 16 : 0);                               \
        }                                                                                        \
        for (int e = 0; e < HG_BN * HG_CPR / HG_NT; e++) {                                       \
            int i = tid + e * HG_NT, r = i / HG_CPR, c = i % HG_CPR, gr = n0 + r, kk = k_ + c * 8; \
            int ok = gr < N && kk < K;                                                           \
            __global const ushort *p = ok ? Bb + gr * ldb + kk : Bb;                             \
            NV_CP_ASYNC(sb_ + HG_SW(r, c, HG_BK), p, ok ? 16 : 0);                               \
        }                                                                                        \
    } while (0)

#define HG_FRAGS_AT(buf, sa, sb, ks)                                                                 \
    do {                                                                                             \
        for (int mi = 0; mi < HG_MI; mi++) {                                                         \
            int r = wm + mi * 16 + (lane & 15), c = (ks) * 2 + (lane >> 4);                          \
            NV_LDSM4(af[buf][mi], (sa) + HG_SW(r, c, HG_BK));                                        \
        }                                                                                            \
        for (int nj = 0; nj < HG_NI / 2; nj++) HG_LDSM_B_PAIR(buf, nj, sb, ks, HG_BK);              \
    } while (0)
#if HG_DB == 2
    /* software-pipelined order (needs an even number of 16-wide k slices
     * per stage): the fragments of the next slice -- across the stage
     * boundary too -- are loaded while the current slice multiplies; the
     * copies for stage kt + ST - 1 are issued after the first slice's MMAs,
     * and the wait + barrier sit behind the last slice's MMAs. */
    uint af[2][HG_MI][4], bf[2][HG_NI][2];
#pragma unroll
    for (int s = 0; s < HG_ST - 1; s++) {
        if (s < KT) HG_LOAD(s, s);
        NV_COMMIT();
    }
    NV_WAIT_GROUP(HG_WAIT);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (KT > 0) HG_FRAGS_AT(0, sbase, sbase + HG_A_BYTES, 0);
    for (int kt = 0; kt < KT; kt++) {
        const uint sa = sbase + (kt % HG_ST) * HG_STAGE_BYTES, sb = sa + HG_A_BYTES;
#pragma unroll
        for (int ks = 0; ks < HG_BK / 16; ks++) {
            if (ks + 1 < HG_BK / 16) HG_FRAGS_AT((ks + 1) & 1, sa, sb, ks + 1);
#pragma unroll
            for (int mi = 0; mi < HG_MI; mi++)
#pragma unroll
                for (int ni = 0; ni < HG_NI; ni++)
                    NV_MMA_F16(acc[mi][ni], af[ks & 1][mi], bf[ks & 1][ni][0], bf[ks & 1][ni][1]);
            if (ks == 0) {
                int nt = kt + HG_ST - 1; /* into the stage of tile kt - 1, free since the last barrier */
                if (nt < KT) HG_LOAD(nt % HG_ST, nt);
                NV_COMMIT();
            }
        }
        NV_WAIT_GROUP(HG_WAIT);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (kt + 1 < KT) {
            const uint na = sbase + ((kt + 1) % HG_ST) * HG_STAGE_BYTES;
            HG_FRAGS_AT(0, na, na + HG_A_BYTES, 0);
        }
    }
#else
#pragma unroll
    for (int s = 0; s < HG_ST - 1; s++) {
        if (s < KT) HG_LOAD(s, s);
        NV_COMMIT();
    }
    for (int kt = 0; kt < KT; kt++) {
        NV_WAIT_GROUP(HG_WAIT);
        barrier(CLK_LOCAL_MEM_FENCE);
        {
            int nt = kt + HG_ST - 1;
            if (nt < KT) HG_LOAD(nt % HG_ST, nt);
            NV_COMMIT();
        }
        const uint sa = sbase + (kt % HG_ST) * HG_STAGE_BYTES, sb = sa + HG_A_BYTES;
        /* fragments of k slice ks + 1 are loaded while slice ks multiplies */
        uint af[2][HG_MI][4], bf[2][HG_NI][2];
#define HG_FRAGS(buf, ks)                                                                            \
    do {                                                                                             \
        for (int mi = 0; mi < HG_MI; mi++) {                                                         \
            int r = wm + mi * 16 + (lane & 15), c = (ks) * 2 + (lane >> 4);                          \
            NV_LDSM4(af[buf][mi], sa + HG_SW(r, c, HG_BK));                                          \
        }                                                                                            \
        for (int nj = 0; nj < HG_NI / 2; nj++) HG_LDSM_B_PAIR(buf, nj, sb, ks, HG_BK);              \
    } while (0)
#if HG_DB
        HG_FRAGS(0, 0);
#endif
#pragma unroll
        for (int ks = 0; ks < HG_BK / 16; ks++) {
#if HG_DB
            if (ks + 1 < HG_BK / 16) HG_FRAGS((ks + 1) & 1, ks + 1);
            const int cur = ks & 1;
#else
            HG_FRAGS(0, ks);
            const int cur = 0;
#endif
#pragma unroll
            for (int mi = 0; mi < HG_MI; mi++)
#pragma unroll
                for (int ni = 0; ni < HG_NI; ni++)
                    NV_MMA_F16(acc[mi][ni], af[cur][mi], bf[cur][ni][0], bf[cur][ni][1]);
        }
#undef HG_FRAGS
    }
#endif
    NV_WAIT_GROUP(0);
#undef HG_LOAD
#undef HG_FRAGS_AT

    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int mi = 0; mi < HG_MI; mi++)
#pragma unroll
        for (int h = 0; h < 2; h++) {
            int m = m0 + wm + mi * 16 + g + h * 8;
            if (m >= M) continue;
            float bm_ = bias_mode == 2 ? ldf(bias, bias_off + z1 * bias_s1 + m, bias_dt) : 0.0f;
#pragma unroll
            for (int ni = 0; ni < HG_NI; ni++) {
                int n = n0 + wn + ni * 8 + t * 2;
                if (n >= N) continue;
                float v0 = alpha * acc[mi][ni][2 * h] + bm_, v1 = alpha * acc[mi][ni][2 * h + 1] + bm_;
                if (bias_mode == 1) {
                    v0 += ldf(bias, bias_off + z1 * bias_s1 + n, bias_dt);
                    if (n + 1 < N) v1 += ldf(bias, bias_off + z1 * bias_s1 + n + 1, bias_dt);
                }
                if (round_out) { v0 = hg_round_half(v0); v1 = hg_round_half(v1); }
                int idx = co + m * ldc + n;
                if (n + 1 < N && !(idx & 1)) *(__global float2 *)(C + idx) = (float2)(v0, v1);
                else {
                    C[idx] = v0;
                    if (n + 1 < N) C[idx + 1] = v1;
                }
            }
        }
}

#undef HG_CPR
#undef HG_NW
#undef HG_MI
#undef HG_NI
#undef HG_WARPS_N
#undef HG_A_BYTES
#undef HG_STAGE_BYTES
