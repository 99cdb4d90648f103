/* NVIDIA tensor-core GEMM (sm_80+, built only for NVIDIA devices, in its own
 * program with -cl-nv-arch): operands rounded to f16, f32 accumulation,
 * through inline PTX mma.sync.m16n8k16. Same arguments and semantics as
 * gemm_tiled. 128x128 tile per 256 work-items (8 warps as 2 x 4, each warp
 * 64x32 = 4 x 4 mma tiles), K in steps of 32 staged as f16 in local memory
 * (rows padded to 40 halves: conflict-free fragment loads); the next K tile
 * is loaded into registers while the current one is multiplied. */
#define TBM 128
#define TBN 128
#define TBK 32
#define LDS 40

#define MMA16816(d, a, b)                                                                            \
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, " \
                 "{%8,%9}, {%0,%1,%2,%3};"                                                           \
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                                    \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]))

inline uint ld2(__local const ushort *s, int i) { return *(__local const uint *)(s + i); }

__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void nv_gemm_tc(int M, int N, int K, int nz1,
                __global const void *A, int a_off, int a_dt, int a_sm, int a_sk, int a_s0, int a_s1,
                __global const void *B, int b_off, int b_dt, int b_sk, int b_sn, int b_s0, int b_s1,
                __global float *C, int c_off, int c_sm, int c_s0, int c_s1,
                __global const void *bias, int bias_off, int bias_dt, int bias_mode, int bias_s1,
                float alpha) {
    __local uint As32[TBM * LDS / 2]; /* uint arrays: 4-byte aligned fragment loads */
    __local uint Bs32[TBN * LDS / 2];
    __local ushort *As = (__local ushort *)As32, *Bs = (__local ushort *)Bs32;
    int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5;
    int wm = (warp >> 2) * 64, wn = (warp & 3) * 32, g = lane >> 2, t = lane & 3;
    int n0 = get_group_id(0) * TBN, m0 = get_group_id(1) * TBM;
    int z = get_group_id(2), z0 = z / nz1, z1 = z % nz1;
    int ao = a_off + z0 * a_s0 + z1 * a_s1, bo = b_off + z0 * b_s0 + z1 * b_s1, co = c_off + z0 * c_s0 + z1 * c_s1;
    float acc[4][4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            for (int r = 0; r < 4; r++) acc[i][j][r] = 0.0f;
    /* software pipelining: the next K tile is fetched into registers while
     * the tensor cores work on the current one */
    float ra[16], rb[16];
    int a_kmaj = a_sk == 1, b_nmaj = b_sn == 1;
    for (int e = 0; e < 16; e++) {
        int idx = tid + e * 256;
        int mm = a_kmaj ? idx >> 5 : idx & 127, ka = a_kmaj ? idx & 31 : idx >> 7;
        int nn = b_nmaj ? idx & 127 : idx >> 5, kb = b_nmaj ? idx >> 7 : idx & 31;
        int gm = m0 + mm, gn = n0 + nn;
        ra[e] = (gm < M && ka < K) ? ldf(A, ao + gm * a_sm + ka * a_sk, a_dt) : 0.0f;
        rb[e] = (gn < N && kb < K) ? ldf(B, bo + kb * b_sk + gn * b_sn, b_dt) : 0.0f;
    }
    for (int k0 = 0; k0 < K; k0 += TBK) {
        for (int e = 0; e < 16; e++) {
            int idx = tid + e * 256;
            int mm = a_kmaj ? idx >> 5 : idx & 127, ka = a_kmaj ? idx & 31 : idx >> 7;
            int nn = b_nmaj ? idx & 127 : idx >> 5, kb = b_nmaj ? idx >> 7 : idx & 31;
            vstore_half_rte(ra[e], mm * LDS + ka, (__local half *)As);
            vstore_half_rte(rb[e], nn * LDS + kb, (__local half *)Bs);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        int k1 = k0 + TBK;
        if (k1 < K)
            for (int e = 0; e < 16; e++) {
                int idx = tid + e * 256;
                int mm = a_kmaj ? idx >> 5 : idx & 127, ka = k1 + (a_kmaj ? idx & 31 : idx >> 7);
                int nn = b_nmaj ? idx & 127 : idx >> 5, kb = k1 + (b_nmaj ? idx >> 7 : idx & 31);
                int gm = m0 + mm, gn = n0 + nn;
                ra[e] = (gm < M && ka < K) ? ldf(A, ao + gm * a_sm + ka * a_sk, a_dt) : 0.0f;
                rb[e] = (gn < N && kb < K) ? ldf(B, bo + kb * b_sk + gn * b_sn, b_dt) : 0.0f;
            }
        asm volatile("bar.warp.sync -1;"); /* mma.sync.aligned needs a converged warp */
        for (int kk = 0; kk < TBK; kk += 16) {
            uint af[4][4], bf[4][2];
            for (int mi = 0; mi < 4; mi++) {
                int r0 = (wm + mi * 16 + g) * LDS + kk + t * 2;
                af[mi][0] = ld2(As, r0);
                af[mi][1] = ld2(As, r0 + 8 * LDS);
                af[mi][2] = ld2(As, r0 + 8);
                af[mi][3] = ld2(As, r0 + 8 * LDS + 8);
            }
            for (int ni = 0; ni < 4; ni++) {
                int c0 = (wn + ni * 8 + g) * LDS + kk + t * 2;
                bf[ni][0] = ld2(Bs, c0);
                bf[ni][1] = ld2(Bs, c0 + 8);
            }
            for (int mi = 0; mi < 4; mi++)
                for (int ni = 0; ni < 4; ni++) MMA16816(acc[mi][ni], af[mi], bf[ni]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int mi = 0; mi < 4; mi++)
        for (int ni = 0; ni < 4; ni++)
            for (int r = 0; r < 4; r++) {
                int m = m0 + wm + mi * 16 + g + (r >= 2 ? 8 : 0), n = n0 + wn + ni * 8 + t * 2 + (r & 1);
                if (m >= M || n >= N) continue;
                float v = alpha * acc[mi][ni][r];
                if (bias_mode == 1) v += ldf(bias, bias_off + z1 * bias_s1 + n, bias_dt);
                else if (bias_mode == 2) v += ldf(bias, bias_off + z1 * bias_s1 + m, bias_dt);
                C[co + m * c_sm + n] = v;
            }
}
