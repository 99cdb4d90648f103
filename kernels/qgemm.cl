/* Quantized linear (docs/quant.md, core/qweight.h), portable kernels.
 * Weight formats (fmt): 1 W8A8 int8 rows [N][K]; 3 W4A8 packed 4-bit rows
 * [N][(K+1)/2] (k even in the low nibble) with u8 group scale and zero
 * [N][ng]: w8 = (uchar)(q * gs) - (uchar)(z * gs), integer ops only.
 * The integer sums are exact, so every kernel gives the reference's int32. */

/* Per-row int8 (op quant_rows): one 256-wide work-group per row. */
__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void quant_rows_i8(int K, __global const float *x, int x_off, __global char *q, int q_off,
                   __global float *s, int s_off) {
    __local float red[256];
    int m = get_group_id(0), lid = get_local_id(0);
    __global const float *xr = x + x_off + (long)m * K;
    float a = 0.0f;
    for (int k = lid; k < K; k += 256) a = fmax(a, fabs(xr[k]));
    a = wg_max(a, red);
    float inv = a > 0.0f ? 127.0f / a : 0.0f;
    if (lid == 0) s[s_off + m] = a / 127.0f;
    for (int k = lid; k < K; k += 256) {
        float r = rint(xr[k] * inv);
        q[q_off + (long)m * K + k] = (char)(r > 127.0f ? 127 : r < -127.0f ? -127 : isnan(r) ? 0 : (int)r);
    }
}

/* Int8 GEMM: 64x64 output tile per 16x16 work-group, 4x4 per work-item, K in
 * steps of 32 through local memory (the 4-bit weights are dequantized to int8
 * on the way in). mode 0: acc[m][n] (int); mode 1: y = acc·(sx[m]·sw[n]) + bias[n]. */
#define QT 64
#define QK 32
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void qgemm_i8(int M, int N, int K, __global const char *A, int a_off,
              __global const uchar *wq, int wq_off, int fmt, __global const uchar *gs, int gs_off,
              __global const uchar *zr, int z_off, int ng, int group, int mode, __global int *acc_out, int acc_off,
              __global float *y, int y_off, __global const float *sx, int sx_off, __global const float *sw, int sw_off,
              __global const void *bias, int bias_off, int bias_dt, int has_bias) {
    int tx = get_local_id(0), ty = get_local_id(1), tid = ty * 16 + tx;
    int n0 = get_group_id(0) * QT, m0 = get_group_id(1) * QT;
    __local int As[QK][QT + 1];
    __local int Ws[QK][QT + 1];
    __global const char *Ab = A + a_off;
    __global const uchar *wqb = wq + wq_off, *gsb = gs + gs_off, *zb = zr + z_off;
    int acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = 0;
    for (int k0 = 0; k0 < K; k0 += QK) {
        for (int e = 0; e < 8; e++) {
            int idx = tid + e * 256, kk = idx & 31, rr = idx >> 5, gk = k0 + kk;
            int gm = m0 + rr, gn = n0 + rr;
            As[kk][rr] = (gm < M && gk < K) ? (int)Ab[(long)gm * K + gk] : 0;
            Ws[kk][rr] = (gn < N && gk < K) ? qw_int8(wqb, fmt, K, gn, gk, gsb, zb, ng, group) : 0;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < QK; kk++) {
            int a[4], b[4];
            for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
            for (int j = 0; j < 4; j++) b[j] = Ws[kk][tx + 16 * j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < 4; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            if (mode == 0) acc_out[acc_off + (long)m * N + n] = acc[i][j];
            else {
                float v = (float)acc[i][j] * (sx[sx_off + m] * sw[sw_off + n]);
                if (has_bias) v += ldf(bias, bias_off + n, bias_dt);
                y[y_off + (long)m * N + n] = v;
            }
        }
    }
}

/* W4A16, any M: 64x64 tile as above in float, 4-bit weights dequantized
 * ((q - zero) · scale) into local memory. */
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void qgemm_w4a16(int M, int N, int K, __global const float *x, int x_off, __global const uchar *wq, int wq_off,
                 __global const float *sc, int sc_off, __global const uchar *zr, int z_off, int ng, int group,
                 __global float *y, int y_off, __global const void *bias, int bias_off, int bias_dt, int has_bias) {
    int tx = get_local_id(0), ty = get_local_id(1), tid = ty * 16 + tx;
    int n0 = get_group_id(0) * QT, m0 = get_group_id(1) * QT;
    __local float As[QK][QT + 1];
    __local float Ws[QK][QT + 1];
    int rb = (K + 1) / 2;
    float acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += QK) {
        for (int e = 0; e < 8; e++) {
            int idx = tid + e * 256, kk = idx & 31, rr = idx >> 5, gk = k0 + kk;
            int gm = m0 + rr, gn = n0 + rr;
            As[kk][rr] = (gm < M && gk < K) ? x[x_off + (long)gm * K + gk] : 0.0f;
            float wv = 0.0f;
            if (gn < N && gk < K) {
                uchar b = wq[wq_off + (long)gn * rb + (gk >> 1)];
                int q = (gk & 1) ? b >> 4 : b & 15, g = gn * ng + gk / group;
                wv = (float)(q - (int)zr[z_off + g]) * sc[sc_off + g];
            }
            Ws[kk][rr] = wv;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        TILE_MAD_4X4(acc, As, Ws, QK, ty, tx);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < 4; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            float v = acc[i][j];
            if (has_bias) v += ldf(bias, bias_off + n, bias_dt);
            y[y_off + (long)m * N + n] = v;
        }
    }
}

/* W4A16 for few rows (M <= 16, memory-bound): one 128-wide work-group per
 * output column n streams its packed row once (8 bytes = 16 weights per
 * work-item step, coalesced) and keeps M sums; a local reduction ends it. */
#define QV_MAXM 16
__kernel __attribute__((reqd_work_group_size(128, 1, 1)))
void gemv_w4a16(int M, int N, int K, __global const float *x, int x_off, __global const uchar *wq, int wq_off,
                __global const float *sc, int sc_off, __global const uchar *zr, int z_off, int ng, int group,
                __global float *y, int y_off, __global const void *bias, int bias_off, int bias_dt, int has_bias) {
    __local float red[QV_MAXM][128];
    int n = get_group_id(0), lid = get_local_id(0), rb = (K + 1) / 2;
    float acc[QV_MAXM];
    for (int m = 0; m < QV_MAXM; m++) acc[m] = 0.0f;
    __global const uchar *row = wq + wq_off + (long)n * rb;
    for (int c = lid * 8; c < rb; c += 128 * 8) {
        for (int e = 0; e < 8 && c + e < rb; e++) {
            uchar b = row[c + e];
            for (int h = 0; h < 2; h++) {
                int k = 2 * (c + e) + h;
                if (k >= K) break;
                int g = n * ng + k / group;
                float wv = (float)((h ? b >> 4 : b & 15) - (int)zr[z_off + g]) * sc[sc_off + g];
                for (int m = 0; m < QV_MAXM; m++)
                    if (m < M) acc[m] = mad(x[x_off + (long)m * K + k], wv, acc[m]);
            }
        }
    }
    for (int m = 0; m < QV_MAXM; m++) red[m][lid] = acc[m];
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = 64; s > 0; s >>= 1) {
        if (lid < s)
            for (int m = 0; m < QV_MAXM; m++) red[m][lid] += red[m][lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid < M) {
        float v = red[lid][0];
        if (has_bias) v += ldf(bias, bias_off + n, bias_dt);
        y[y_off + (long)lid * N + n] = v;
    }
}

/* W4A16 weight dequantized to f16 rows [N][Kp] ((q - zero) · scale rounded to
 * nearest even, zero for K <= k < Kp): the operand of the f16 tensor-core GEMM
 * that runs W4A16 at many rows in tensor-core mode (cl_ops_quant.c). */
__kernel void w4a16_to_f16(int N, int K, int Kp, __global const uchar *wq, int wq_off, __global const float *sc,
                           int sc_off, __global const uchar *zr, int z_off, int ng, int group, __global half *dst) {
    int k = get_global_id(0), n = get_global_id(1);
    if (k >= Kp || n >= N) return;
    float v = 0.0f;
    if (k < K) {
        uchar b = wq[wq_off + (long)n * ((K + 1) / 2) + (k >> 1)];
        int g = n * ng + k / group;
        v = (float)(((k & 1) ? b >> 4 : b & 15) - (int)zr[z_off + g]) * sc[sc_off + g];
    }
    vstore_half_rte(v, (long)n * Kp + k, dst);
}
