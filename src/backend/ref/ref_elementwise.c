/* Naive reference: activations, broadcasting binary ops, scale, copy. */
#include <math.h>
#include <string.h>

#include "backend/ref/ref_util.h"

static double act1(double v, hart_act a) {
    switch (a) {
    case HART_ACT_RELU: return v > 0 ? v : 0;
    case HART_ACT_SILU: return v / (1.0 + exp(-v));
    case HART_ACT_GELU_TANH: return 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    case HART_ACT_GELU_ERF: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    case HART_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    default: return v;
    }
}

hart_status ref_act(hart_backend *be, hart_tensor *y, const hart_tensor *x, hart_act a) {
    int64_t n = hart_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) ref_f(y)[i] = (float)act1(ref_f(x)[i], a);
    return HART_OK;
}

/* Offset in `t` (broadcast to y's rank, right-aligned) of y's element `idx`. */
static int64_t bcast_offset(const hart_tensor *y, const hart_tensor *t, int64_t idx) {
    int64_t off = 0, stride = 1;
    for (int d = y->ndim - 1, td = t->ndim - 1; d >= 0; d--, td--) {
        int64_t c = idx % y->shape[d];
        idx /= y->shape[d];
        if (td >= 0) {
            if (t->shape[td] != 1) off += c * stride;
            stride *= t->shape[td];
        }
    }
    return off;
}

hart_status ref_binary(hart_backend *be, hart_tensor *y, const hart_tensor *a, const hart_tensor *b,
                       hart_binop op) {
    int64_t n = hart_tensor_numel(y);
    for (int64_t i = 0; i < n; i++) {
        float x1 = ref_f(a)[bcast_offset(y, a, i)], x2 = ref_f(b)[bcast_offset(y, b, i)], r;
        switch (op) {
        case HART_BIN_ADD: r = x1 + x2; break;
        case HART_BIN_SUB: r = x1 - x2; break;
        case HART_BIN_MUL: r = x1 * x2; break;
        default: r = x1 / x2; break;
        }
        ref_f(y)[i] = r;
    }
    return HART_OK;
}

hart_status ref_scale(hart_backend *be, hart_tensor *y, const hart_tensor *x, float alpha, float beta) {
    int64_t n = hart_tensor_numel(x);
    for (int64_t i = 0; i < n; i++) ref_f(y)[i] = alpha * ref_f(x)[i] + beta;
    return HART_OK;
}

hart_status ref_copy(hart_backend *be, hart_tensor *y, const hart_tensor *x) {
    int64_t n = hart_tensor_numel(x);
    if (y->dtype == x->dtype) {
        memmove(y->data, x->data, hart_tensor_nbytes(x));
        return HART_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        float v = ref_ld(x, i);
        if (y->dtype == HART_F32) ((float *)y->data)[i] = v;
        else if (y->dtype == HART_F16) ((uint16_t *)y->data)[i] = hart_f32_to_f16(v);
        else ((uint16_t *)y->data)[i] = hart_f32_to_bf16(v);
    }
    return HART_OK;
}
