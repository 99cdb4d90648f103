/* Elementwise ops: activations, scale, broadcasting binary, dtype conversion, 8-bit RGB to floats. */
inline float act1(float v, int a) {
    switch (a) {
    case 1: return v > 0.0f ? v : 0.0f;
    case 2: return v / (1.0f + exp(-v));
    case 3: return 0.5f * v * (1.0f + tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    case 4: return 0.5f * v * (1.0f + erf(v * 0.7071067811865476f));
    case 5: return 1.0f / (1.0f + exp(-v));
    default: return v;
    }
}

__kernel void act_f32(__global const float *x, int x_off, __global float *y, int y_off, int n, int a) {
    int i = get_global_id(0);
    if (i < n) y[y_off + i] = act1(x[x_off + i], a);
}

__kernel void scale_f32(__global const float *x, int x_off, __global float *y, int y_off, int n, float alpha,
                        float beta) {
    int i = get_global_id(0);
    if (i < n) y[y_off + i] = alpha * x[x_off + i] + beta;
}

/* y (4-D shape s0..s3) = a op b, a/b given by 4-D strides (0 = broadcast). */
__kernel void binary_bcast(__global const float *a, int a_off, __global const float *b, int b_off,
                           __global float *y, int y_off, int s1, int s2, int s3, int n, int a0, int a1,
                           int a2, int a3, int b0, int b1, int b2, int b3, int op) {
    int i = get_global_id(0);
    if (i >= n) return;
    int i3 = i % s3, r = i / s3, i2 = r % s2;
    r /= s2;
    int i1 = r % s1, i0 = r / s1;
    float x1 = a[a_off + i0 * a0 + i1 * a1 + i2 * a2 + i3 * a3];
    float x2 = b[b_off + i0 * b0 + i1 * b1 + i2 * b2 + i3 * b3];
    float v;
    switch (op) {
    case 0: v = x1 + x2; break;
    case 1: v = x1 - x2; break;
    case 2: v = x1 * x2; break;
    default: v = x1 / x2; break;
    }
    y[y_off + i] = v;
}

/* dtype conversion between f32/f16/bf16 (round to nearest even) */
__kernel void dtype_convert(__global const void *x, int x_off, int x_dt, __global void *y, int y_off, int y_dt,
                            int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    float v = ldf(x, x_off + i, x_dt);
    if (y_dt == 0) ((__global float *)y)[y_off + i] = v;
    else if (y_dt == 1) vstore_half_rte(v, y_off + i, (__global half *)y);
    else {
        uint u = as_uint(v);
        ushort h;
        if ((u & 0x7fffffffu) > 0x7f800000u) h = (ushort)((u >> 16) | 0x40);
        else h = (ushort)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
        ((__global ushort *)y)[y_off + i] = h;
    }
}

/* f16 precision mode: y = x rounded to half (RNE) and widened back; y may be x.
 * Through a private ushort: without cl_khr_fp16 half exists only behind pointers. */
__kernel void round_half_f32(__global const float *x, int x_off, __global float *y, int y_off, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    ushort h;
    vstore_half_rte(x[x_off + i], 0, (__private half *)&h);
    y[y_off + i] = vload_half(0, (__private const half *)&h);
}

/* 8-bit RGB [N][H][W][3] -> floats [N][3][H][W] / 255, one pixel (P per image, n in all) a
 * work-item; the division is correctly rounded (the program is built with
 * -cl-fp32-correctly-rounded-divide-sqrt), the host's result bit for bit. */
__kernel void rgb8_to_nchw(__global const uchar *x, int x_off, __global float *y, int y_off, int P, int n) {
    int i = get_global_id(0);
    if (i >= n) return;
    __global const uchar *px = x + x_off + (long)i * 3;
    __global float *o = y + y_off + (long)(i / P) * 3 * P + i % P;
    o[0] = (float)px[0] / 255.0f;
    o[P] = (float)px[1] / 255.0f;
    o[2 * (long)P] = (float)px[2] / 255.0f;
}
