/* Fused transformer-block ops (op_list.h: norm_mod, swiglu, qkv_heads):
 * one pass each where the unfused sequence takes two to six kernels, with
 * the same arithmetic per element (the pragma keeps the compiler from
 * contracting a product and a sum the unfused kernels round separately).
 * y_f16: the output is stored as half (RNE), the GEMM's A operand as is. */

inline void st_act(__global void *y, long i, int f16, float v) {
    if (f16) vstore_half_rte(v, i, (__global half *)y);
    else ((__global float *)y)[i] = v;
}

/* norm_rows (rms or layer norm of rows of L, optional gamma and beta) then, with
 * has_m, v · s1p[b] + shift[b] for the row's batch b = row / toks */
__kernel __attribute__((reqd_work_group_size(256, 1, 1)))
void norm_mod_rows(__global const float *x, int x_off, __global void *y, int y_off, int y_f16, int L, int toks,
                   __global const void *g, int g_off, int g_dt, int has_g, __global const void *bt, int b_off,
                   int b_dt, int has_b, __global const float *s1p, int s_off,
                   __global const float *sh, int sh_off, int has_m, float eps, int rms) {
#pragma OPENCL FP_CONTRACT OFF
    __local float red[256];
    int row = get_group_id(0), lid = get_local_id(0);
    __global const float *p = x + x_off + (long)row * L;
    long yo = y_off + (long)row * L;
    float2 st = row_norm_stats(p, L, rms, eps, red);
    float mean = st.x, inv = st.y;
    long mo = (long)(row / toks) * L;
    for (int i = lid; i < L; i += 256) {
        float v = (p[i] - mean) * inv;
        if (has_g) v *= ldf(g, g_off + i, g_dt);
        if (has_b) v += ldf(bt, b_off + i, b_dt);
        if (has_m) {
            v = v * s1p[s_off + mo + i];
            v = v + sh[sh_off + mo + i];
        }
        st_act(y, yo + i, y_f16, v);
    }
}

/* y[r, j] = silu(x[r, j]) · x[r, H + j] (act1 of elementwise.cl) */
__kernel void swiglu_rows(__global const float *x, int x_off, __global void *y, int y_off, int y_f16, int H, int n) {
#pragma OPENCL FP_CONTRACT OFF
    int i = get_global_id(0);
    if (i >= n) return;
    int r = i / H, j = i - r * H;
    long xi = x_off + (long)r * 2 * H + j;
    float g = act1(x[xi], 2);
    st_act(y, y_off + (long)i, y_f16, g * x[xi + H]);
}

/* x [B, L, 3, H, D] -> y [3, B, H, L, D]; q and k rotated as rope_rows.
 * One work-item per (part, b, h, t, pair j < D/2). */
__kernel void qkv_heads(__global const float *x, int x_off, __global float *y, int y_off, __global const float *c,
                        int c_off, __global const float *s, int s_off, int rot, int B, int H, int L, int D, int n) {
    int gid = get_global_id(0);
    if (gid >= n) return;
    int h2 = D / 2, j = gid % h2, r = gid / h2;
    int t = r % L;
    r /= L;
    int h = r % H;
    r /= H;
    int b = r % B, part = r / B;
    long xi = x_off + (((long)b * L + t) * 3 + part) * H * D + (long)h * D + j;
    long yi = y_off + ((((long)part * B + b) * H + h) * L + t) * D + j;
    float a = x[xi], bb = x[xi + h2];
    if (part == 2 || !rot) {
        y[yi] = a;
        y[yi + h2] = bb;
        return;
    }
    long ti = ((long)b * L + t) * D + j;
    y[yi] = a * c[c_off + ti] + (-bb) * s[s_off + ti];
    y[yi + h2] = bb * c[c_off + ti + h2] + a * s[s_off + ti + h2];
}
