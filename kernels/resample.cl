/* F.interpolate on NCHW (nearest; bilinear/bicubic align_corners=False,
 * bicubic A=-0.75 with border clamp; area = adaptive average pooling). */
inline float cubic_w(float t, int k) {
    const float A = -0.75f;
    float x = k == 0 ? t + 1.0f : k == 1 ? t : k == 2 ? 1.0f - t : 2.0f - t;
    if (k == 1 || k == 2) return ((A + 2.0f) * x - (A + 3.0f)) * x * x + 1.0f;
    return ((A * x - 5.0f * A) * x + 8.0f * A) * x - 4.0f * A;
}

__kernel void interpolate(__global const float *x, int x_off, __global float *y, int y_off, int H, int W,
                          int Ho, int Wo, int n, float sh, float sw, int mode) {
    int gid = get_global_id(0);
    if (gid >= n) return;
    int ox = gid % Wo, oy = (gid / Wo) % Ho, p = gid / (Wo * Ho);
    __global const float *in = x + x_off + (long)p * H * W;
    float v = 0.0f;
    if (mode == 0) {
        int iy = clamp((int)floor((float)oy * sh), 0, H - 1), ix = clamp((int)floor((float)ox * sw), 0, W - 1);
        v = in[iy * W + ix];
    } else if (mode == 3) {
        int y0 = (int)(((long)oy * H) / Ho), y1 = (int)(((long)(oy + 1) * H + Ho - 1) / Ho);
        int x0 = (int)(((long)ox * W) / Wo), x1 = (int)(((long)(ox + 1) * W + Wo - 1) / Wo);
        for (int iy = y0; iy < y1; iy++)
            for (int ix = x0; ix < x1; ix++) v += in[iy * W + ix];
        v /= (float)((y1 - y0) * (x1 - x0));
    } else if (mode == 1) {
        float sy = fmax(((float)oy + 0.5f) * sh - 0.5f, 0.0f), sx = fmax(((float)ox + 0.5f) * sw - 0.5f, 0.0f);
        int y0 = (int)sy, x0 = (int)sx;
        int y1 = min(y0 + 1, H - 1), x1 = min(x0 + 1, W - 1);
        float ly = sy - y0, lx = sx - x0;
        v = (1.0f - ly) * ((1.0f - lx) * in[y0 * W + x0] + lx * in[y0 * W + x1]) +
            ly * ((1.0f - lx) * in[y1 * W + x0] + lx * in[y1 * W + x1]);
    } else {
        float sy = ((float)oy + 0.5f) * sh - 0.5f, sx = ((float)ox + 0.5f) * sw - 0.5f;
        int iy = (int)floor(sy), ix = (int)floor(sx);
        float ty = sy - iy, tx = sx - ix;
        for (int a = 0; a < 4; a++) {
            float row = 0.0f;
            int yy = clamp(iy - 1 + a, 0, H - 1);
            for (int b = 0; b < 4; b++) row += cubic_w(tx, b) * in[yy * W + clamp(ix - 1 + b, 0, W - 1)];
            v += cubic_w(ty, a) * row;
        }
    }
    y[y_off + gid] = v;
}

/* k×k max (mode 0, padding = -inf) or average (mode 1, count_include_pad=False) pooling. */
__kernel void pool2d(__global const float *x, int x_off, __global float *y, int y_off, int H, int W, int Ho, int Wo,
                     int n, int k, int stride, int pad, int mode) {
    int gid = get_global_id(0);
    if (gid >= n) return;
    int ox = gid % Wo, oy = (gid / Wo) % Ho, p = gid / (Wo * Ho);
    __global const float *in = x + x_off + (long)p * H * W;
    int y0 = max(oy * stride - pad, 0), y1 = min(oy * stride - pad + k, H);
    int x0 = max(ox * stride - pad, 0), x1 = min(ox * stride - pad + k, W);
    float acc = mode == 0 ? -INFINITY : 0.0f;
    for (int iy = y0; iy < y1; iy++)
        for (int ix = x0; ix < x1; ix++) {
            float v = in[iy * W + ix];
            if (mode == 0) acc = (v > acc || isnan(v)) ? v : acc;
            else acc += v;
        }
    y[y_off + gid] = mode == 0 ? acc : acc / (float)((y1 - y0) * (x1 - x0));
}
