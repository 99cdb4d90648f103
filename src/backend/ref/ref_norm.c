/* Naive reference: group/layer/RMS norm, softmax. */
#include <math.h>

#include "backend/ref/ref_util.h"

hart_status ref_group_norm(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma,
                           const hart_tensor *beta, int groups, float eps) {
    int64_t N = x->shape[0], C = x->shape[1], S = ref_dims(x, 2, x->ndim), cg = C / groups;
    const float *in = ref_f(x);
    float *out = ref_f(y);
    for (int64_t n = 0; n < N; n++)
        for (int64_t g = 0; g < groups; g++) {
            const float *p = in + (n * C + g * cg) * S;
            double sum = 0, sq = 0;
            for (int64_t i = 0; i < cg * S; i++) sum += p[i];
            double mean = sum / (double)(cg * S);
            for (int64_t i = 0; i < cg * S; i++) sq += (p[i] - mean) * (p[i] - mean);
            double inv = 1.0 / sqrt(sq / (double)(cg * S) + eps);
            for (int64_t c = 0; c < cg; c++) {
                int64_t ch = g * cg + c;
                double ga = gamma ? ref_ld(gamma, ch) : 1.0, be_ = beta ? ref_ld(beta, ch) : 0.0;
                for (int64_t s = 0; s < S; s++) {
                    int64_t i = (n * C + ch) * S + s;
                    out[i] = (float)((in[i] - mean) * inv * ga + be_);
                }
            }
        }
    return HART_OK;
}

hart_status ref_layer_norm(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma,
                           const hart_tensor *beta, float eps) {
    int64_t D = x->shape[x->ndim - 1], R = hart_tensor_numel(x) / (D ? D : 1);
    const float *in = ref_f(x);
    float *out = ref_f(y);
    for (int64_t r = 0; r < R; r++) {
        const float *p = in + r * D;
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < D; i++) sum += p[i];
        double mean = sum / (double)D;
        for (int64_t i = 0; i < D; i++) sq += (p[i] - mean) * (p[i] - mean);
        double inv = 1.0 / sqrt(sq / (double)D + eps);
        for (int64_t i = 0; i < D; i++)
            out[r * D + i] = (float)((p[i] - mean) * inv * (gamma ? ref_ld(gamma, i) : 1.0) +
                                     (beta ? ref_ld(beta, i) : 0.0));
    }
    return HART_OK;
}

hart_status ref_rms_norm(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma,
                         float eps) {
    int64_t D = x->shape[x->ndim - 1], R = hart_tensor_numel(x) / (D ? D : 1);
    const float *in = ref_f(x);
    float *out = ref_f(y);
    for (int64_t r = 0; r < R; r++) {
        const float *p = in + r * D;
        double sq = 0;
        for (int64_t i = 0; i < D; i++) sq += (double)p[i] * p[i];
        double inv = 1.0 / sqrt(sq / (double)D + eps);
        for (int64_t i = 0; i < D; i++)
            out[r * D + i] = (float)(p[i] * inv * (gamma ? ref_ld(gamma, i) : 1.0));
    }
    return HART_OK;
}

hart_status ref_softmax(hart_backend *be, hart_tensor *y, const hart_tensor *x) {
    int64_t D = x->shape[x->ndim - 1], R = hart_tensor_numel(x) / (D ? D : 1);
    const float *in = ref_f(x);
    float *out = ref_f(y);
    for (int64_t r = 0; r < R; r++) {
        const float *p = in + r * D;
        float mx = -INFINITY;
        for (int64_t i = 0; i < D; i++) mx = p[i] > mx ? p[i] : mx;
        double sum = 0;
        for (int64_t i = 0; i < D; i++) sum += mx == -INFINITY ? 0 : exp((double)p[i] - mx);
        for (int64_t i = 0; i < D; i++)
            out[r * D + i] = sum > 0 ? (float)(exp((double)p[i] - mx) / sum) : 0.0f;
    }
    return HART_OK;
}
