/* Naive reference: scaled dot-product attention (GQA, additive mask) and RoPE. */
#include <math.h>
#include <stdlib.h>

#include "backend/ref/ref_util.h"

hart_status ref_attention(hart_backend *be, hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                          const hart_tensor *v, const hart_tensor *mask, float scale) {
    int64_t B = q->shape[0], H = q->shape[1], Lq = q->shape[2], D = q->shape[3];
    int64_t Hkv = k->shape[1], Lk = k->shape[2], rep = H / Hkv;
    double *s = malloc(sizeof(double) * (size_t)(Lk ? Lk : 1));
    if (!s) return hart_fail(HART_ENOMEM, "out of memory");
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++) {
            const float *kb = ref_f(k) + (b * Hkv + h / rep) * Lk * D;
            const float *vb = ref_f(v) + (b * Hkv + h / rep) * Lk * D;
            for (int64_t i = 0; i < Lq; i++) {
                const float *qi = ref_f(q) + ((b * H + h) * Lq + i) * D;
                const float *mrow = NULL;
                if (mask) {
                    int64_t mb = mask->shape[0] == 1 ? 0 : b, mh = mask->shape[1] == 1 ? 0 : h;
                    mrow = ref_f(mask) + ((mb * mask->shape[1] + mh) * Lq + i) * Lk;
                }
                double mx = -INFINITY;
                for (int64_t j = 0; j < Lk; j++) {
                    double acc = 0;
                    for (int64_t d = 0; d < D; d++) acc += (double)qi[d] * kb[j * D + d];
                    s[j] = acc * scale + (mrow ? mrow[j] : 0.0f);
                    if (s[j] > mx) mx = s[j];
                }
                double sum = 0;
                for (int64_t j = 0; j < Lk; j++) {
                    s[j] = mx == -INFINITY ? 0 : exp(s[j] - mx);
                    sum += s[j];
                }
                float *o = ref_f(out) + ((b * H + h) * Lq + i) * D;
                for (int64_t d = 0; d < D; d++) {
                    double acc = 0;
                    for (int64_t j = 0; j < Lk; j++) acc += s[j] * vb[j * D + d];
                    o[d] = sum > 0 ? (float)(acc / sum) : 0.0f;
                }
            }
        }
    free(s);
    return HART_OK;
}

hart_status ref_rope(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *cos_t,
                     const hart_tensor *sin_t, int interleaved) {
    int64_t B = x->shape[0], H = x->shape[1], L = x->shape[2], D = x->shape[3], half = D / 2;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t l = 0; l < L; l++) {
                int64_t cb = cos_t->shape[0] == 1 ? 0 : b;
                const float *c = ref_f(cos_t) + (cb * L + l) * half, *s = ref_f(sin_t) + (cb * L + l) * half;
                const float *xi = ref_f(x) + ((b * H + h) * L + l) * D;
                float *yi = ref_f(y) + ((b * H + h) * L + l) * D;
                for (int64_t i = 0; i < half; i++) {
                    int64_t i0 = interleaved ? 2 * i : i, i1 = interleaved ? 2 * i + 1 : i + half;
                    float a = xi[i0], bb = xi[i1];
                    yi[i0] = a * c[i] - bb * s[i];
                    yi[i1] = bb * c[i] + a * s[i];
                }
            }
    return HART_OK;
}
