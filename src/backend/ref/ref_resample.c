/* Naive reference: F.interpolate (nearest, bilinear, bicubic with
 * align_corners=False) / adaptive average pooling, and nearest-codebook search. */
#include <math.h>

#include "backend/ref/ref_util.h"

static double cubic_w(double t, int k) { /* weights for taps -1, 0, 1, 2 (A = -0.75) */
    const double A = -0.75;
    double x = k == 0 ? t + 1 : k == 1 ? t : k == 2 ? 1 - t : 2 - t;
    if (k == 1 || k == 2) return ((A + 2) * x - (A + 3)) * x * x + 1;
    return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}

static int64_t clampi(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

hart_status ref_interpolate(hart_backend *be, hart_tensor *y, const hart_tensor *x, hart_interp mode) {
    int64_t NC = x->shape[0] * x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t Ho = y->shape[2], Wo = y->shape[3];
    double sh = (double)H / Ho, sw = (double)W / Wo;
    for (int64_t p = 0; p < NC; p++) {
        const float *in = ref_f(x) + p * H * W;
        float *out = ref_f(y) + p * Ho * Wo;
        for (int64_t oy = 0; oy < Ho; oy++)
            for (int64_t ox = 0; ox < Wo; ox++) {
                double v = 0;
                if (mode == HART_INTERP_NEAREST) {
                    int64_t iy = clampi((int64_t)floor(oy * (float)sh), 0, H - 1);
                    int64_t ix = clampi((int64_t)floor(ox * (float)sw), 0, W - 1);
                    v = in[iy * W + ix];
                } else if (mode == HART_INTERP_AREA) {
                    int64_t y0 = (int64_t)floor((double)oy * H / Ho), y1 = (int64_t)ceil((double)(oy + 1) * H / Ho);
                    int64_t x0 = (int64_t)floor((double)ox * W / Wo), x1 = (int64_t)ceil((double)(ox + 1) * W / Wo);
                    for (int64_t iy = y0; iy < y1; iy++)
                        for (int64_t ix = x0; ix < x1; ix++) v += in[iy * W + ix];
                    v /= (double)((y1 - y0) * (x1 - x0));
                } else if (mode == HART_INTERP_BILINEAR) {
                    double sy = (oy + 0.5) * sh - 0.5, sx = (ox + 0.5) * sw - 0.5;
                    if (sy < 0) sy = 0;
                    if (sx < 0) sx = 0;
                    int64_t y0 = (int64_t)sy, x0 = (int64_t)sx;
                    int64_t y1 = y0 + 1 < H ? y0 + 1 : H - 1, x1 = x0 + 1 < W ? x0 + 1 : W - 1;
                    double ly = sy - y0, lx = sx - x0;
                    v = (1 - ly) * ((1 - lx) * in[y0 * W + x0] + lx * in[y0 * W + x1]) +
                        ly * ((1 - lx) * in[y1 * W + x0] + lx * in[y1 * W + x1]);
                } else {
                    double sy = (oy + 0.5) * sh - 0.5, sx = (ox + 0.5) * sw - 0.5;
                    int64_t iy = (int64_t)floor(sy), ix = (int64_t)floor(sx);
                    double ty = sy - iy, tx = sx - ix;
                    for (int a = 0; a < 4; a++) {
                        double row = 0;
                        int64_t yy = clampi(iy - 1 + a, 0, H - 1);
                        for (int b = 0; b < 4; b++)
                            row += cubic_w(tx, b) * in[yy * W + clampi(ix - 1 + b, 0, W - 1)];
                        v += cubic_w(ty, a) * row;
                    }
                }
                out[oy * Wo + ox] = (float)v;
            }
    }
    return HART_OK;
}

hart_status ref_argmin_dist(hart_backend *be, hart_tensor *idx, const hart_tensor *x, const hart_tensor *cb) {
    int64_t N = x->shape[0], D = x->shape[1], V = cb->shape[0];
    for (int64_t i = 0; i < N; i++) {
        double best = INFINITY;
        int64_t bi = 0;
        for (int64_t v = 0; v < V; v++) {
            double d = 0;
            for (int64_t k = 0; k < D; k++) {
                double t = (double)ref_f(x)[i * D + k] - ref_ld(cb, v * D + k);
                d += t * t;
            }
            if (d < best) { best = d; bi = v; }
        }
        ((int64_t *)idx->data)[i] = bi;
    }
    return HART_OK;
}
