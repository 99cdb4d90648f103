/* NVIDIA int8 GEMM tiles for the quantized linear (built only into the
 * NVIDIA program, sm_80+, like hgemm_nv.cl). Same contract as qgemm_i8 in
 * qgemm.cl (fmt 1 W8A8, 3 W4A8 dequantized to int8 with integer ops on the
 * way into local memory; mode 0 int sums, mode 1 float epilogue), so the
 * unit test runs them against the same reference:
 *   nv_qgemm_dp4a: 64x64 tile per 16x16 work-group, 4x4 per work-item, k in
 *                  packed words of 4 (dp4a.s32.s32);
 *   nv_qgemm_mma:  64x64 tile per 4 warps (2x2 warps of 32x32), K step 32,
 *                  mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32.
 * Fragment layout of m16n8k32 (PTX ISA, .s8): g = lane / 4, t = lane % 4;
 * A regs a0 (row g, k 4t..4t+3), a1 (row g+8, same k), a2 (row g, k 16+4t..),
 * a3 (row g+8, k 16+4t..); B regs b0 (col g, k 4t..), b1 (col g, k 16+4t..);
 * C c0, c1 (row g, cols 2t, 2t+1), c2, c3 (row g+8). Lower k in lower bytes. */

inline int nv_dp4a(int a, int b, int c) {
    int d;
    asm("dp4a.s32.s32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    return d;
}

/* 4 int8 values k0..k0+3 of row r (A) or weight row n, zero outside, packed */
inline uint nv_pack_a(__global const char *A, int M, int K, int r, int k0) {
    uint w = 0;
    if (r < M)
        for (int i = 0; i < 4; i++)
            if (k0 + i < K) w |= (uint)(uchar)A[(long)r * K + k0 + i] << (8 * i);
    return w;
}
inline uint nv_pack_w(__global const uchar *wq, int fmt, int N, int K, int n, int k0, __global const uchar *gs,
                      __global const uchar *zr, int ng, int group) {
    uint w = 0;
    if (n < N)
        for (int i = 0; i < 4; i++)
            if (k0 + i < K) w |= (uint)(uchar)(char)qw_int8(wq, fmt, K, n, k0 + i, gs, zr, ng, group) << (8 * i);
    return w;
}

inline void nv_q_store(int mode, int M, int N, int m, int n, int v, __global int *acc_out, int acc_off,
                       __global float *y, int y_off, __global const float *sx, int sx_off, __global const float *sw,
                       int sw_off, __global const void *bias, int bias_off, int bias_dt, int has_bias) {
    if (m >= M || n >= N) return;
    if (mode == 0) acc_out[acc_off + (long)m * N + n] = v;
    else {
        float f = (float)v * (sx[sx_off + m] * sw[sw_off + n]);
        if (has_bias) f += ldf(bias, bias_off + n, bias_dt);
        y[y_off + (long)m * N + n] = f;
    }
}

__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void nv_qgemm_dp4a(int M, int N, int K, __global const char *A, int a_off,
                   __global const uchar *wq, int wq_off, int fmt, __global const uchar *gs, int gs_off,
                   __global const uchar *zr, int z_off, int ng, int group, int mode, __global int *acc_out, int acc_off,
                   __global float *y, int y_off, __global const float *sx, int sx_off, __global const float *sw,
                   int sw_off, __global const void *bias, int bias_off, int bias_dt, int has_bias) {
    int tx = get_local_id(0), ty = get_local_id(1), tid = ty * 16 + tx;
    int n0 = get_group_id(0) * 64, m0 = get_group_id(1) * 64;
    __local uint As[8][65];
    __local uint Ws[8][65];
    __global const char *Ab = A + a_off;
    __global const uchar *wqb = wq + wq_off, *gsb = gs + gs_off, *zb = zr + z_off;
    int acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = 0;
    for (int k0 = 0; k0 < K; k0 += 32) {
        for (int e = 0; e < 2; e++) {
            int idx = tid + e * 256, kw = idx & 7, rr = idx >> 3;
            As[kw][rr] = nv_pack_a(Ab, M, K, m0 + rr, k0 + 4 * kw);
            Ws[kw][rr] = nv_pack_w(wqb, fmt, N, K, n0 + rr, k0 + 4 * kw, gsb, zb, ng, group);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kw = 0; kw < 8; kw++) {
            int a[4], b[4];
            for (int i = 0; i < 4; i++) a[i] = (int)As[kw][ty + 16 * i];
            for (int j = 0; j < 4; j++) b[j] = (int)Ws[kw][tx + 16 * j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) acc[i][j] = nv_dp4a(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            nv_q_store(mode, M, N, m0 + ty + 16 * i, n0 + tx + 16 * j, acc[i][j], acc_out, acc_off, y, y_off, sx,
                       sx_off, sw, sw_off, bias, bias_off, bias_dt, has_bias);
}

__kernel __attribute__((reqd_work_group_size(128, 1, 1)))
void nv_qgemm_mma(int M, int N, int K, __global const char *A, int a_off,
                  __global const uchar *wq, int wq_off, int fmt, __global const uchar *gs, int gs_off,
                  __global const uchar *zr, int z_off, int ng, int group, int mode, __global int *acc_out, int acc_off,
                  __global float *y, int y_off, __global const float *sx, int sx_off, __global const float *sw,
                  int sw_off, __global const void *bias, int bias_off, int bias_dt, int has_bias) {
    /* rows of 8 words (32 k) padded to 12 words: fragment reads of 8 rows x 4 words hit distinct banks */
    __local uint As[64][12];
    __local uint Ws[64][12];
    int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
    int n0 = get_group_id(0) * 64, m0 = get_group_id(1) * 64;
    int wm = (warp >> 1) * 32, wn = (warp & 1) * 32;
    __global const char *Ab = A + a_off;
    __global const uchar *wqb = wq + wq_off, *gsb = gs + gs_off, *zb = zr + z_off;
    int acc[2][4][4];
    #pragma unroll
    for (int i = 0; i < 2; i++)
        #pragma unroll
        for (int j = 0; j < 4; j++)
            #pragma unroll
            for (int r = 0; r < 4; r++) acc[i][j][r] = 0;
    for (int k0 = 0; k0 < K; k0 += 32) {
        #pragma unroll
        for (int e = 0; e < 4; e++) { /* 64 rows x 8 words = 512 words per operand, 4 per work-item */
            int idx = tid + e * 128, rr = idx >> 3, kw = idx & 7;
            As[rr][kw] = nv_pack_a(Ab, M, K, m0 + rr, k0 + 4 * kw);
            Ws[rr][kw] = nv_pack_w(wqb, fmt, N, K, n0 + rr, k0 + 4 * kw, gsb, zb, ng, group);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        uint af[2][4], bf[4][2];
        #pragma unroll
        for (int i = 0; i < 2; i++) {
            int r = wm + 16 * i + g;
            af[i][0] = As[r][t];
            af[i][1] = As[r + 8][t];
            af[i][2] = As[r][t + 4];
            af[i][3] = As[r + 8][t + 4];
        }
        #pragma unroll
        for (int j = 0; j < 4; j++) {
            int c = wn + 8 * j + g;
            bf[j][0] = Ws[c][t];
            bf[j][1] = Ws[c][t + 4];
        }
        #pragma unroll
        for (int i = 0; i < 2; i++)
            #pragma unroll
            for (int j = 0; j < 4; j++) NV_MMA_S8(acc[i][j], af[i], bf[j][0], bf[j][1]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    #pragma unroll
    for (int i = 0; i < 2; i++)
        #pragma unroll
        for (int j = 0; j < 4; j++) {
            int r = m0 + wm + 16 * i + g, c = n0 + wn + 8 * j + 2 * t;
            nv_q_store(mode, M, N, r, c, acc[i][j][0], acc_out, acc_off, y, y_off, sx, sx_off, sw, sw_off, bias,
                       bias_off, bias_dt, has_bias);
            nv_q_store(mode, M, N, r, c + 1, acc[i][j][1], acc_out, acc_off, y, y_off, sx, sx_off, sw, sw_off, bias,
                       bias_off, bias_dt, has_bias);
            nv_q_store(mode, M, N, r + 8, c, acc[i][j][2], acc_out, acc_off, y, y_off, sx, sx_off, sw, sw_off, bias,
                       bias_off, bias_dt, has_bias);
            nv_q_store(mode, M, N, r + 8, c + 1, acc[i][j][3], acc_out, acc_off, y, y_off, sx, sx_off, sw, sw_off,
                       bias, bias_off, bias_dt, has_bias);
        }
}
