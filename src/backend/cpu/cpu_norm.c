/* CPU fast paths: group/layer/RMS norm and softmax, parallel over rows or
 * (image, group). Statistics are accumulated in double (two passes), so the
 * results stay within a few ulps of the reference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"

static float *param_f32(const hart_tensor *t, int64_t n, hart_status *st) {
    if (!t || *st) return NULL;
    float *p = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!p) *st = hart_fail(HART_ENOMEM, "norm: out of memory");
    else hart_cpu_to_f32(t, p);
    return p;
}

hart_status hart_cpu_group_norm(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma,
                           const hart_tensor *beta, int groups, float eps) {
    int64_t N = x->shape[0], C = x->shape[1], S = ref_dims(x, 2, x->ndim), cg = C / groups, G = groups;
    const float *in = x->data;
    float *out = y->data;
    hart_status st = HART_OK;
    float *ga = param_f32(gamma, C, &st), *bb = param_f32(beta, C, &st);
    if (st) { free(ga); free(bb); return st; }
#pragma omp parallel for collapse(2) schedule(dynamic, 1) if (N * C * S > CPU_PAR_MIN)
    for (int64_t n = 0; n < N; n++)
        for (int64_t g = 0; g < G; g++) {
            const float *p = in + (n * C + g * cg) * S;
            int64_t cnt = cg * S;
            double sum = 0, sq = 0;
            for (int64_t i = 0; i < cnt; i++) sum += p[i];
            double mean = sum / (double)(cnt ? cnt : 1);
            for (int64_t i = 0; i < cnt; i++) {
                double d = p[i] - mean;
                sq += d * d;
            }
            double inv = 1.0 / sqrt(sq / (double)(cnt ? cnt : 1) + eps);
            /* mean split in two floats: x - m_hi is exact for x near the mean */
            float m_hi = (float)mean, m_lo = (float)(mean - m_hi);
            for (int64_t c = 0; c < cg; c++) {
                int64_t ch = g * cg + c;
                float scale = (float)(inv * (ga ? ga[ch] : 1.0)), shift = bb ? bb[ch] : 0.0f;
                const float *pi = in + (n * C + ch) * S;
                float *po = out + (n * C + ch) * S;
#pragma omp simd
                for (int64_t s = 0; s < S; s++) po[s] = ((pi[s] - m_hi) - m_lo) * scale + shift;
            }
        }
    free(ga);
    free(bb);
    return HART_OK;
}

hart_status hart_cpu_layer_norm(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma,
                           const hart_tensor *beta, float eps) {
    int64_t D = x->shape[x->ndim - 1], R = D ? hart_tensor_numel(x) / D : 0;
    const float *in = x->data;
    float *out = y->data;
    hart_status st = HART_OK;
    float *ga = param_f32(gamma, D, &st), *bb = param_f32(beta, D, &st);
    if (st) { free(ga); free(bb); return st; }
#pragma omp parallel for schedule(static) if (R * D > CPU_PAR_MIN)
    for (int64_t r = 0; r < R; r++) {
        const float *p = in + r * D;
        float *o = out + r * D;
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < D; i++) sum += p[i];
        double mean = sum / (double)D;
        for (int64_t i = 0; i < D; i++) {
            double d = p[i] - mean;
            sq += d * d;
        }
        float inv = (float)(1.0 / sqrt(sq / (double)D + eps)), m_hi = (float)mean, m_lo = (float)(mean - m_hi);
        for (int64_t i = 0; i < D; i++) {
            float v = ((p[i] - m_hi) - m_lo) * inv;
            if (ga) v *= ga[i];
            if (bb) v += bb[i];
            o[i] = v;
        }
    }
    free(ga);
    free(bb);
    return HART_OK;
}

hart_status hart_cpu_rms_norm(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma,
                         float eps) {
    int64_t D = x->shape[x->ndim - 1], R = D ? hart_tensor_numel(x) / D : 0;
    const float *in = x->data;
    float *out = y->data;
    hart_status st = HART_OK;
    float *ga = param_f32(gamma, D, &st);
    if (st) return st;
#pragma omp parallel for schedule(static) if (R * D > CPU_PAR_MIN)
    for (int64_t r = 0; r < R; r++) {
        const float *p = in + r * D;
        float *o = out + r * D;
        double sq = 0;
        for (int64_t i = 0; i < D; i++) sq += (double)p[i] * p[i];
        float inv = (float)(1.0 / sqrt(sq / (double)D + eps));
        if (ga) {
#pragma omp simd
            for (int64_t i = 0; i < D; i++) o[i] = p[i] * inv * ga[i];
        } else {
#pragma omp simd
            for (int64_t i = 0; i < D; i++) o[i] = p[i] * inv;
        }
    }
    free(ga);
    return HART_OK;
}

/* Softmax of one row (o may equal p); a row that is all -inf gives zeros. */
void hart_cpu_softmax_row(const float *p, float *o, int64_t D) {
    float mx = hart_cpu_row_max(p, D);
    if (mx == -INFINITY) {
        for (int64_t i = 0; i < D; i++) o[i] = 0.0f;
        return;
    }
    double sum = hart_cpu_exp_shift(p, o, D, mx);
    hart_cpu_row_scale(o, D, (float)(1.0 / sum));
}

hart_status hart_cpu_softmax(hart_backend *be, hart_tensor *y, const hart_tensor *x) {
    int64_t D = x->shape[x->ndim - 1], R = D ? hart_tensor_numel(x) / D : 0;
    const float *in = x->data;
    float *out = y->data;
#pragma omp parallel for schedule(static) if (R * D > CPU_PAR_MIN)
    for (int64_t r = 0; r < R; r++) hart_cpu_softmax_row(in + r * D, out + r * D, D);
    return HART_OK;
}

/* norm_mod on the CPU: the norm, then binary MUL and ADD (the unfused
 * sequence itself; the CPU gains nothing from one pass here). */
hart_status hart_cpu_norm_mod(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma,
                              const hart_tensor *beta, const hart_tensor *s1p, const hart_tensor *shift, float eps,
                              int rms) {
    HART_TRY(rms ? hart_cpu_rms_norm(be, y, x, gamma, eps) : hart_cpu_layer_norm(be, y, x, gamma, beta, eps));
    if (!s1p) return HART_OK;
    HART_TRY(hart_cpu_binary(be, y, y, s1p, HART_BIN_MUL));
    return hart_cpu_binary(be, y, y, shift, HART_BIN_ADD);
}
