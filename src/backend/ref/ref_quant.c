/* The reference (oracle) of the quantized ops: naive loops, integer sums in
 * int64 checked to fit int32, float sums in double. Host tensors only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/ref/ref_util.h"

hart_status hart_ref_quant_rows(hart_backend *be, hart_tensor *q, hart_tensor *s, const hart_tensor *x) {
    int64_t M = x->shape[0], K = x->shape[1];
    const float *xp = x->data;
    int8_t *qp = q->data;
    float *sp = s->data;
    for (int64_t m = 0; m < M; m++) {
        float a = 0.0f;
        for (int64_t k = 0; k < K; k++) a = fmaxf(a, fabsf(xp[m * K + k]));
        sp[m] = a / 127.0f;
        float inv = a > 0.0f ? 127.0f / a : 0.0f;
        for (int64_t k = 0; k < K; k++) {
            float r = rintf(xp[m * K + k] * inv);
            qp[m * K + k] = (int8_t)(r > 127.0f ? 127 : r < -127.0f ? -127 : r == r ? (int)r : 0);
        }
    }
    return HART_OK;
}

hart_status hart_ref_qgemm(hart_backend *be, hart_tensor *acc, const hart_tensor *a, const hart_qweight *w) {
    int64_t M = a->shape[0], K = w->K, N = w->N;
    const int8_t *ap = a->data;
    int32_t *cp = acc->data;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            int64_t sum = 0;
            for (int64_t k = 0; k < K; k++) sum += (int64_t)ap[m * K + k] * hart_qweight_int8_at(w, n, k);
            if (sum > INT32_MAX || sum < INT32_MIN) return hart_fail(HART_EINVAL, "hart_op_qgemm: int32 overflow (K too large)");
            cp[m * N + n] = (int32_t)sum;
        }
    return HART_OK;
}

static float bias_at(const hart_tensor *b, int64_t n) {
    if (!b) return 0.0f;
    if (b->dtype == HART_F32) return ((const float *)b->data)[n];
    uint16_t h = ((const uint16_t *)b->data)[n];
    return b->dtype == HART_F16 ? hart_f16_to_f32(h) : hart_bf16_to_f32(h);
}

hart_status hart_ref_qlinear(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_qweight *w,
                             const hart_tensor *b) {
    int64_t K = w->K, N = w->N, M = hart_tensor_numel(x) / (K ? K : 1);
    float *yp = y->data;
    const float *xp = x->data;
    if (w->fmt == HART_QF_W4A16) {
        const uint8_t *q = w->q.data, *z = w->zero.data;
        const float *sc = w->scale.data;
        int64_t rb = (K + 1) / 2;
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double sum = 0.0;
                for (int64_t k = 0; k < K; k++) {
                    int64_t g = n * w->ngroups + k / w->group;
                    float wv = (float)(hart_q4_at(q + n * rb, k) - (int)z[g]) * sc[g];
                    sum += (double)xp[m * K + k] * wv;
                }
                yp[m * N + n] = (float)sum + bias_at(b, n);
            }
        return HART_OK;
    }
    hart_tensor xq = {0}, xs = {0}, acc = {0}, x2;
    HART_TRY(hart_tensor_reshape(x, 2, (int64_t[]){M, K}, &x2));
    hart_status s = hart_tensor_new4(NULL, HART_I8, &xq, 2, M, K, 0, 0);
    if (!s) s = hart_tensor_new4(NULL, HART_F32, &xs, 1, M, 0, 0, 0);
    if (!s) s = hart_tensor_new4(NULL, HART_I32, &acc, 2, M, N, 0, 0);
    if (!s) s = hart_ref_quant_rows(be, &xq, &xs, &x2);
    if (!s) s = hart_ref_qgemm(be, &acc, &xq, w);
    if (!s) {
        const int32_t *ap = acc.data;
        const float *sx = xs.data, *sw = w->scale.data;
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) yp[m * N + n] = (float)ap[m * N + n] * (sx[m] * sw[n]) + bias_at(b, n);
    }
    hart_tensor_free(&xq);
    hart_tensor_free(&xs);
    hart_tensor_free(&acc);
    return s;
}
