/* CPU fast path of conv2d: 1x1 stride-1 convolutions are one sgemm per
 * (image, group); other kernels go to oneDNN (cpu_conv_dnnl.c) and, where it
 * declines or $HART_CPU_NO_DNNL=1, through im2col on bands of output rows
 * (bounded scratch) + sgemm; convolutions with one input channel per group
 * (depthwise) use a direct loop. */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"

#define COL_BYTES ((size_t)16 << 20) /* im2col scratch per band */

static void im2col(const float *in, float *col, int64_t cig, int64_t H, int64_t W, int64_t kh, int64_t kw,
                   int stride, int pad, int64_t oy0, int64_t rows, int64_t Wo) {
    int64_t P = rows * Wo, KK = cig * kh * kw;
#pragma omp parallel for if (KK * P > CPU_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < KK; r++) {
        int64_t ci = r / (kh * kw), ky = (r / kw) % kh, kx = r % kw;
        const float *plane = in + ci * H * W;
        float *dst = col + r * P;
        for (int64_t oy = 0; oy < rows; oy++) {
            int64_t iy = (oy0 + oy) * stride - pad + ky;
            float *d = dst + oy * Wo;
            if (iy < 0 || iy >= H) {
                memset(d, 0, (size_t)Wo * sizeof(float));
                continue;
            }
            const float *src = plane + iy * W;
            for (int64_t ox = 0; ox < Wo; ox++) {
                int64_t ix = ox * stride - pad + kx;
                d[ox] = ix >= 0 && ix < W ? src[ix] : 0.0f;
            }
        }
    }
}

static void depthwise(const float *in, const float *wf, float *out, int64_t N, int64_t Ci, int64_t Co, int64_t H,
                      int64_t W, int64_t kh, int64_t kw, int stride, int pad, int64_t Ho, int64_t Wo, int64_t cog) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t co = 0; co < Co; co++) {
            const float *plane = in + (n * Ci + co / cog) * H * W, *wk = wf + co * kh * kw;
            float *o = out + (n * Co + co) * Ho * Wo;
            for (int64_t oy = 0; oy < Ho; oy++)
                for (int64_t ox = 0; ox < Wo; ox++) {
                    float acc = 0;
                    for (int64_t ky = 0; ky < kh; ky++) {
                        int64_t iy = oy * stride - pad + ky;
                        if (iy < 0 || iy >= H) continue;
                        for (int64_t kx = 0; kx < kw; kx++) {
                            int64_t ix = ox * stride - pad + kx;
                            if (ix >= 0 && ix < W) acc += plane[iy * W + ix] * wk[ky * kw + kx];
                        }
                    }
                    o[oy * Wo + ox] = acc;
                }
        }
}

hart_status hart_cpu_conv2d(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                       const hart_tensor *b, int stride, int pad, int groups) {
    int64_t N = x->shape[0], Ci = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t Co = y->shape[1], Ho = y->shape[2], Wo = y->shape[3], P = Ho * Wo;
    int64_t kh = w->shape[2], kw = w->shape[3], cig = Ci / groups, cog = Co / groups, KK = cig * kh * kw;
    const float *in = x->data;
    float *out = y->data;
    if (N == 0 || Co == 0 || P == 0) return HART_OK;
    const float *wf;
    float *wtmp, *col = NULL;
    HART_TRY(hart_cpu_weight_f32(w, &wf, &wtmp));
    hart_status st = HART_OK;
    float *bf = NULL;
    if (b) {
        bf = malloc((size_t)Co * sizeof(float));
        if (!bf) {
            free(wtmp);
            return hart_fail(HART_ENOMEM, "hart_op_conv2d: out of memory");
        }
        hart_cpu_to_f32(b, bf);
    }
    int done = 0; /* oneDNN for everything but the 1x1 sgemm case ($HART_CPU_NO_DNNL=1: never) */
    const char *nodnnl = getenv("HART_CPU_NO_DNNL");
    if (KK > 0 && !(kh == 1 && kw == 1 && stride == 1 && pad == 0) && !(nodnnl && atoi(nodnnl)))
        st = hart_cpu_conv2d_dnnl(in, wf, w->data, hart_tensor_nbytes(w), bf, out, N, Ci, H, W, Co, Ho, Wo, kh, kw,
                                  stride, pad, groups, &done);
    if (st || done) {
    } else if (KK == 0) {
        memset(out, 0, (size_t)(N * Co * P) * sizeof(float));
    } else if (cig == 1 && kh * kw > 1) {
        depthwise(in, wf, out, N, Ci, Co, H, W, kh, kw, stride, pad, Ho, Wo, cog);
    } else if (kh == 1 && kw == 1 && stride == 1 && pad == 0) {
        for (int64_t n = 0; n < N; n++)
            for (int64_t g = 0; g < groups; g++)
                hart_cpu_sgemm(0, 0, cog, P, cig, 1.0f, wf + g * cog * KK, KK, in + (n * Ci + g * cig) * H * W, P, 0.0f,
                          out + (n * Co + g * cog) * P, P);
    } else {
        int64_t rows = (int64_t)(COL_BYTES / ((size_t)KK * (size_t)Wo * sizeof(float)));
        if (rows < 1) rows = 1;
        if (rows > Ho) rows = Ho;
        col = malloc((size_t)(KK * rows * Wo) * sizeof(float));
        if (!col) st = hart_fail(HART_ENOMEM, "hart_op_conv2d: out of memory for im2col scratch");
        for (int64_t n = 0; n < N && !st; n++)
            for (int64_t g = 0; g < groups; g++)
                for (int64_t oy0 = 0; oy0 < Ho; oy0 += rows) {
                    int64_t r = Ho - oy0 < rows ? Ho - oy0 : rows;
                    im2col(in + (n * Ci + g * cig) * H * W, col, cig, H, W, kh, kw, stride, pad, oy0, r, Wo);
                    hart_cpu_sgemm(0, 0, cog, r * Wo, KK, 1.0f, wf + g * cog * KK, KK, col, r * Wo, 0.0f,
                              out + (n * Co + g * cog) * P + oy0 * Wo, P);
                }
    }
    if (!st && bf && !done) {
#pragma omp parallel for collapse(2) if (N * Co * P > CPU_PAR_MIN) schedule(static)
        for (int64_t n = 0; n < N; n++)
            for (int64_t co = 0; co < Co; co++) {
                float *o = out + (n * Co + co) * P, bv = bf[co];
                for (int64_t p = 0; p < P; p++) o[p] += bv;
            }
    }
    free(bf);
    free(col);
    free(wtmp);
    return st;
}
