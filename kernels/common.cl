/* Shared helpers (this source is placed first in the program). */
#ifndef INFINITY
#define INFINITY (1.0f / 0.0f)
#endif

/* Element i of a float tensor stored as f32 (dt 0), f16 (1) or bf16 (2). */
inline float ldf(__global const void *p, int i, int dt) {
    if (dt == 0) return ((__global const float *)p)[i];
    if (dt == 1) return vload_half(i, (__global const half *)p);
    return as_float((uint)((__global const ushort *)p)[i] << 16);
}

/* Work-group sum of v (n = local size, power of two); red holds n floats. */
inline float wg_sum(float v, __local float *red) {
    int lid = get_local_id(0), n = get_local_size(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = n / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

/* Mean (0 for rms) and 1/sqrt(variance or mean square + eps) of row p[0..L)
 * by a 256-wide work-group (norm_rows and the fused norm_mod_rows). */
inline float2 row_norm_stats(__global const float *p, int L, int rms, float eps, __local float *red) {
    int lid = get_local_id(0);
    float mean = 0.0f;
    if (!rms) {
        float s = 0.0f;
        for (int i = lid; i < L; i += 256) s += p[i];
        mean = wg_sum(s, red) / (float)L;
    }
    float sq = 0.0f;
    for (int i = lid; i < L; i += 256) {
        float d = p[i] - mean;
        sq = mad(d, d, sq);
    }
    return (float2)(mean, rsqrt(wg_sum(sq, red) / (float)L + eps));
}

inline float wg_max(float v, __local float *red) {
    int lid = get_local_id(0), n = get_local_size(0);
    red[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = n / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] = fmax(red[lid], red[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

/* The multiply step of the portable 64x64 float GEMM tiles (gemm_tiled,
 * qgemm_w4a16: 16x16 work-items of 4x4 outputs): acc[i][j] += As[k][ty + 16i]
 * * Bs[k][tx + 16j] for k < nk, from the local-memory tiles As, Bs [nk][>= 64] */
#define TILE_MAD_4X4(acc, As, Bs, nk, ty, tx)                                    \
    for (int kk = 0; kk < (nk); kk++) {                                          \
        float a[4], b[4];                                                        \
        for (int i = 0; i < 4; i++) a[i] = As[kk][(ty) + 16 * i];                \
        for (int j = 0; j < 4; j++) b[j] = Bs[kk][(tx) + 16 * j];                \
        for (int i = 0; i < 4; i++)                                              \
            for (int j = 0; j < 4; j++) acc[i][j] = mad(a[i], b[j], acc[i][j]); \
    }

/* The includer's side of sample_math.cl (shared with the host's C). */
#define SM_U32 uint
#define SM_U64 ulong
#define SM_BITS(f) as_uint(f)
#define SM_FN inline
/* Quantized weights (qgemm.cl, qgemm_nv.cl): int8 value (n, k) of an int8-activation weight */
inline int qw_int8(__global const uchar *wq, int fmt, int K, int n, int k, __global const uchar *gs,
                   __global const uchar *zr, int ng, int group) {
    if (fmt == 1) return (int)((__global const char *)wq)[(long)n * K + k];
    uchar b = wq[(long)n * ((K + 1) / 2) + (k >> 1)];
    int q = (k & 1) ? b >> 4 : b & 15;
    int g = n * ng + k / group, s = gs[g];
    return (int)(uchar)(q * s) - (int)(uchar)(zr[g] * s);
}

