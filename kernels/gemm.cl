/* Portable tiled GEMM: C[z][m][n] = alpha * sum_k A(z,m,k) B(z,k,n) (+ bias).
 * 64x64 output tile per 16x16 work-group, each work-item 4x4 outputs, K in
 * steps of 16 through local memory. Arbitrary element strides let one kernel
 * serve linear (B = W^T), matmul with transposes, and conv2d (im2col). A and B
 * may be f32/f16/bf16. Batch z = z0 * nz1 + z1 with two strides per matrix. */
#define GT 64
#define GK 16

__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void gemm_tiled(int M, int N, int K, int nz1,
                __global const void *A, int a_off, int a_dt, int a_sm, int a_sk, int a_s0, int a_s1,
                __global const void *B, int b_off, int b_dt, int b_sk, int b_sn, int b_s0, int b_s1,
                __global float *C, int c_off, int c_sm, int c_s0, int c_s1,
                __global const void *bias, int bias_off, int bias_dt, int bias_mode, int bias_s1,
                float alpha) {
    int tx = get_local_id(0), ty = get_local_id(1), tid = ty * 16 + tx;
    int n0 = get_group_id(0) * GT, m0 = get_group_id(1) * GT;
    int z = get_global_id(2), z0 = z / nz1, z1 = z % nz1;
    int ao = a_off + z0 * a_s0 + z1 * a_s1;
    int bo = b_off + z0 * b_s0 + z1 * b_s1;
    int co = c_off + z0 * c_s0 + z1 * c_s1;
    __local float As[GK][GT + 1];
    __local float Bs[GK][GT + 1];
    float acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += GK) {
        for (int e = 0; e < 4; e++) {
            int idx = tid + e * 256, kk, mm, nn;
            if (a_sk == 1) { kk = idx & 15; mm = idx >> 4; } else { mm = idx & 63; kk = idx >> 6; }
            int gm = m0 + mm, gk = k0 + kk;
            As[kk][mm] = (gm < M && gk < K) ? ldf(A, ao + gm * a_sm + gk * a_sk, a_dt) : 0.0f;
            if (b_sn == 1) { nn = idx & 63; kk = idx >> 6; } else { kk = idx & 15; nn = idx >> 4; }
            int gn = n0 + nn;
            gk = k0 + kk;
            Bs[kk][nn] = (gn < N && gk < K) ? ldf(B, bo + gk * b_sk + gn * b_sn, b_dt) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        TILE_MAD_4X4(acc, As, Bs, GK, ty, tx);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < 4; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            float v = alpha * acc[i][j];
            if (bias_mode == 1) v += ldf(bias, bias_off + z1 * bias_s1 + n, bias_dt);
            else if (bias_mode == 2) v += ldf(bias, bias_off + z1 * bias_s1 + m, bias_dt);
            C[co + m * c_sm + n] = v;
        }
    }
}

/* conv2d lowering: col[r][p] for r = (ci, ky, kx) over all input channels,
 * p in [0, pc) = output pixels p0 .. p0+pc of image x (offset x_off). */
__kernel void im2col(__global const float *x, int x_off, int H, int W, int kh, int kw, int stride,
                     int pad, int Wo, int p0, int pc, int rows, __global float *col) {
    int p = get_global_id(0), r = get_global_id(1);
    if (p >= pc || r >= rows) return;
    int kx = r % kw, ky = (r / kw) % kh, ci = r / (kw * kh);
    int op = p0 + p, oy = op / Wo, ox = op % Wo;
    int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
    float v = 0.0f;
    if (iy >= 0 && iy < H && ix >= 0 && ix < W) v = x[x_off + (ci * H + iy) * W + ix];
    col[r * pc + p] = v;
}

/* im2col for the tensor-core GEMM: colT[p][r] as f16 (pixel-major, the r =
 * (ci, ky, kx) index contiguous), so the GEMM reads it in place as its
 * [N][K] operand with no conversion pass. A work-item makes 8 consecutive r
 * of one pixel and stores them as one 16-byte chunk (rows % 8 == 0); the
 * chunk index is the fast work-item index, so the stores are coalesced and
 * the gathered reads of x hit the cache (each value is read kh*kw times). */
__kernel void im2col_f16t(__global const float *x, int x_off, int H, int W, int kh, int kw, int stride,
                          int pad, int Wo, int p0, int pc, int rows, __global half *col) {
    int c8 = get_global_id(0), p = get_global_id(1);
    if (p >= pc || c8 * 8 >= rows) return;
    int op = p0 + p, oy = op / Wo, ox = op % Wo, khw = kh * kw;
    int r = c8 * 8, ci = r / khw, rem = r % khw, ky = rem / kw, kx = rem % kw;
    float v[8];
    for (int j = 0; j < 8; j++) {
        int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
        v[j] = iy >= 0 && iy < H && ix >= 0 && ix < W ? x[x_off + (ci * H + iy) * W + ix] : 0.0f;
        if (++kx == kw) { kx = 0; if (++ky == kh) { ky = 0; ci++; } }
    }
    vstore_half8_rte((float8)(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]), ((long)p * rows + r) / 8, col);
}

/* Large-problem variant of gemm_tiled (same arguments): 128x128 tile per
 * 16x16 work-group, 8x8 outputs per work-item, K step 16; the next K tile is
 * fetched into registers while the current one is multiplied. */
#define BT 128
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void gemm_tiled_big(int M, int N, int K, int nz1,
                    __global const void *A, int a_off, int a_dt, int a_sm, int a_sk, int a_s0, int a_s1,
                    __global const void *B, int b_off, int b_dt, int b_sk, int b_sn, int b_s0, int b_s1,
                    __global float *C, int c_off, int c_sm, int c_s0, int c_s1,
                    __global const void *bias, int bias_off, int bias_dt, int bias_mode, int bias_s1,
                    float alpha) {
    int tx = get_local_id(0), ty = get_local_id(1), tid = ty * 16 + tx;
    int n0 = get_group_id(0) * BT, m0 = get_group_id(1) * BT;
    int z = get_global_id(2), z0 = z / nz1, z1 = z % nz1;
    int ao = a_off + z0 * a_s0 + z1 * a_s1, bo = b_off + z0 * b_s0 + z1 * b_s1, co = c_off + z0 * c_s0 + z1 * c_s1;
    __local float As[GK][BT + 4];
    __local float Bs[GK][BT + 4];
    int a_kmaj = a_sk == 1, b_nmaj = b_sn == 1;
    float acc[8][8], ra[8], rb[8];
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) acc[i][j] = 0.0f;
    for (int e = 0; e < 8; e++) {
        int idx = tid + e * 256;
        int mm = a_kmaj ? idx >> 4 : idx & 127, ka = a_kmaj ? idx & 15 : idx >> 7;
        int nn = b_nmaj ? idx & 127 : idx >> 4, kb = b_nmaj ? idx >> 7 : idx & 15;
        ra[e] = (m0 + mm < M && ka < K) ? ldf(A, ao + (m0 + mm) * a_sm + ka * a_sk, a_dt) : 0.0f;
        rb[e] = (n0 + nn < N && kb < K) ? ldf(B, bo + kb * b_sk + (n0 + nn) * b_sn, b_dt) : 0.0f;
    }
    for (int k0 = 0; k0 < K; k0 += GK) {
        for (int e = 0; e < 8; e++) {
            int idx = tid + e * 256;
            int mm = a_kmaj ? idx >> 4 : idx & 127, ka = a_kmaj ? idx & 15 : idx >> 7;
            int nn = b_nmaj ? idx & 127 : idx >> 4, kb = b_nmaj ? idx >> 7 : idx & 15;
            As[ka][mm] = ra[e];
            Bs[kb][nn] = rb[e];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        int k1 = k0 + GK;
        if (k1 < K)
            for (int e = 0; e < 8; e++) {
                int idx = tid + e * 256;
                int mm = a_kmaj ? idx >> 4 : idx & 127, ka = k1 + (a_kmaj ? idx & 15 : idx >> 7);
                int nn = b_nmaj ? idx & 127 : idx >> 4, kb = k1 + (b_nmaj ? idx >> 7 : idx & 15);
                ra[e] = (m0 + mm < M && ka < K) ? ldf(A, ao + (m0 + mm) * a_sm + ka * a_sk, a_dt) : 0.0f;
                rb[e] = (n0 + nn < N && kb < K) ? ldf(B, bo + kb * b_sk + (n0 + nn) * b_sn, b_dt) : 0.0f;
            }
        for (int kk = 0; kk < GK; kk++) {
            float a[8], b[8];
            for (int i = 0; i < 8; i++) a[i] = As[kk][ty + 16 * i];
            for (int j = 0; j < 8; j++) b[j] = Bs[kk][tx + 16 * j];
            for (int i = 0; i < 8; i++)
                for (int j = 0; j < 8; j++) acc[i][j] = mad(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < 8; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < 8; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            float v = alpha * acc[i][j];
            if (bias_mode == 1) v += ldf(bias, bias_off + z1 * bias_s1 + n, bias_dt);
            else if (bias_mode == 2) v += ldf(bias, bias_off + z1 * bias_s1 + m, bias_dt);
            C[co + m * c_sm + n] = v;
        }
    }
}
