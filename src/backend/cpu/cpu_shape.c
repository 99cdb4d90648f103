/* CPU fast paths: transpose (any element size), pixel (un)shuffle, reduce. */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"

hart_status hart_cpu_transpose(hart_backend *be, hart_tensor *y, const hart_tensor *x, const int *perm) {
    int nd = x->ndim, off = 4 - nd;
    size_t es = hart_dtype_size_bits(x->dtype) / 8;
    if (hart_tensor_numel(x) == 0) return HART_OK;
    if (nd == 0) { memcpy(y->data, x->data, es); return HART_OK; }
    int64_t xs[HART_MAX_DIMS], ys[4] = {1, 1, 1, 1}, st[4] = {0, 0, 0, 0};
    xs[nd - 1] = 1;
    for (int d = nd - 2; d >= 0; d--) xs[d] = xs[d + 1] * x->shape[d + 1];
    for (int d = 0; d < nd; d++) {
        ys[off + d] = y->shape[d];
        st[off + d] = xs[perm[d]]; /* x stride of y's dim d */
    }
    const char *X = x->data;
    char *Y = y->data;
    int64_t n = hart_tensor_numel(y);
    int64_t inner = ys[3], s3 = st[3];
#pragma omp parallel for collapse(3) if (n > CPU_PAR_MIN) schedule(static)
    for (int64_t i0 = 0; i0 < ys[0]; i0++)
        for (int64_t i1 = 0; i1 < ys[1]; i1++)
            for (int64_t i2 = 0; i2 < ys[2]; i2++) {
                int64_t src = i0 * st[0] + i1 * st[1] + i2 * st[2];
                char *dst = Y + (size_t)(((i0 * ys[1] + i1) * ys[2] + i2) * inner) * es;
                if (s3 == 1) {
                    memcpy(dst, X + (size_t)src * es, (size_t)inner * es);
                } else if (es == 4) {
                    const uint32_t *p = (const uint32_t *)X + src;
                    for (int64_t j = 0; j < inner; j++) ((uint32_t *)dst)[j] = p[j * s3];
                } else if (es == 2) {
                    const uint16_t *p = (const uint16_t *)X + src;
                    for (int64_t j = 0; j < inner; j++) ((uint16_t *)dst)[j] = p[j * s3];
                } else {
                    for (int64_t j = 0; j < inner; j++) memcpy(dst + (size_t)j * es, X + (size_t)(src + j * s3) * es, es);
                }
            }
    return HART_OK;
}

/* big [N, C, H*r, W*r] <-> small [N, C*r*r, H, W]: big[n,c,h*r+i,w*r+j] = small[n, c*r*r+i*r+j, h, w] */
static void shuffle(float *big, float *small, int64_t N, int64_t C, int64_t H, int64_t W, int r, int to_big) {
    int64_t Wb = W * r;
#pragma omp parallel for collapse(3) if (N * C * H * W * r * r > CPU_PAR_MIN) schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t hb = 0; hb < H * r; hb++) {
                int64_t h = hb / r, i = hb % r;
                float *brow = big + ((n * C + c) * H * r + hb) * Wb;
                for (int j = 0; j < r; j++) {
                    float *srow = small + ((n * C * r * r + c * r * r + i * r + j) * H + h) * W;
                    if (to_big)
                        for (int64_t w = 0; w < W; w++) brow[w * r + j] = srow[w];
                    else
                        for (int64_t w = 0; w < W; w++) srow[w] = brow[w * r + j];
                }
            }
}

hart_status hart_cpu_pixel_shuffle(hart_backend *be, hart_tensor *y, const hart_tensor *x, int r) {
    shuffle(y->data, x->data, x->shape[0], y->shape[1], x->shape[2], x->shape[3], r, 1);
    return HART_OK;
}

hart_status hart_cpu_pixel_unshuffle(hart_backend *be, hart_tensor *y, const hart_tensor *x, int r) {
    shuffle(x->data, y->data, x->shape[0], x->shape[1], y->shape[2], y->shape[3], r, 0);
    return HART_OK;
}

hart_status hart_cpu_reduce(hart_backend *be, hart_tensor *y, const hart_tensor *x, int dim, hart_reduce r) {
    int64_t outer = ref_dims(x, 0, dim), L = x->shape[dim], inner = ref_dims(x, dim + 1, x->ndim);
    const float *X = x->data;
    float *Y = y->data;
#pragma omp parallel for if (outer * L * inner > CPU_PAR_MIN) schedule(static)
    for (int64_t o = 0; o < outer; o++) {
        const float *p = X + o * L * inner;
        float *q = Y + o * inner;
        if (inner == 1) {
            double acc = r == HART_RED_MAX ? -INFINITY : 0;
            if (r == HART_RED_MAX)
                for (int64_t l = 0; l < L; l++) acc = p[l] > acc ? p[l] : acc;
            else
                for (int64_t l = 0; l < L; l++) acc += p[l];
            if (r == HART_RED_MEAN) acc /= (double)L;
            q[0] = (float)acc;
            continue;
        }
        for (int64_t i = 0; i < inner; i++) q[i] = r == HART_RED_MAX ? -INFINITY : 0.0f;
        /* column sums in float are fine for max; sum/mean accumulate in double per column block */
        if (r == HART_RED_MAX) {
            for (int64_t l = 0; l < L; l++)
                for (int64_t i = 0; i < inner; i++) q[i] = p[l * inner + i] > q[i] ? p[l * inner + i] : q[i];
        } else {
            double acc[256];
            for (int64_t i0 = 0; i0 < inner; i0 += 256) {
                int64_t m = inner - i0 < 256 ? inner - i0 : 256;
                for (int64_t i = 0; i < m; i++) acc[i] = 0;
                for (int64_t l = 0; l < L; l++)
                    for (int64_t i = 0; i < m; i++) acc[i] += p[l * inner + i0 + i];
                for (int64_t i = 0; i < m; i++) q[i0 + i] = (float)(r == HART_RED_MEAN ? acc[i] / (double)L : acc[i]);
            }
        }
    }
    return HART_OK;
}
