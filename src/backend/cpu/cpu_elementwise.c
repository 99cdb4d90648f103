/* CPU fast paths: activations, broadcasting binary ops, scale, 8-bit RGB to floats. */
#include <math.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"

/* y = F(x) in parallel chunks of 4096 (multiples of any vector width). */
static void vec_map(const float *in, float *out, int64_t n, int which) {
    int64_t chunks = (n + 4095) / 4096;
#pragma omp parallel for if (n > CPU_PAR_MIN / 8) schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t s = c * 4096, m = n - s < 4096 ? n - s : 4096;
        hart_cpu_vec_act(in + s, out + s, m, which);
    }
}

/* SiLU, sigmoid and tanh-GELU use the 4-lane polynomial exp (about 2 ulp);
 * exact GELU uses libm erff. */
hart_status hart_cpu_act(hart_backend *be, hart_tensor *y, const hart_tensor *x, hart_act a) {
    int64_t n = hart_tensor_numel(x);
    const float *in = x->data;
    float *out = y->data;
    switch (a) {
    case HART_ACT_RELU:
#pragma omp parallel for simd if (n > CPU_PAR_MIN) schedule(static)
        for (int64_t i = 0; i < n; i++) out[i] = in[i] > 0 ? in[i] : 0.0f;
        break;
    case HART_ACT_SILU: vec_map(in, out, n, CPU_VF_SILU); break;
    case HART_ACT_SIGMOID: vec_map(in, out, n, CPU_VF_SIGMOID); break;
    case HART_ACT_GELU_TANH: vec_map(in, out, n, CPU_VF_GELU_TANH); break;
    case HART_ACT_GELU_ERF:
#pragma omp parallel for if (n > CPU_PAR_MIN / 8) schedule(static)
        for (int64_t i = 0; i < n; i++) out[i] = 0.5f * in[i] * (1.0f + erff(in[i] * 0.70710678118654752f));
        break;
    default:
        if (out != in)
#pragma omp parallel for if (n > CPU_PAR_MIN) schedule(static)
            for (int64_t i = 0; i < n; i++) out[i] = in[i];
        break;
    }
    return HART_OK;
}

static inline float bin1(float a, float b, hart_binop op) {
    switch (op) {
    case HART_BIN_ADD: return a + b;
    case HART_BIN_SUB: return a - b;
    case HART_BIN_MUL: return a * b;
    default: return a / b;
    }
}

/* Fast loops: IA/IB index a and b from row r and column j of y seen as
 * [n / inner, inner]. */
#define ROW_LOOP(IA, IB)                                                        \
    do {                                                                        \
        _Pragma("omp parallel for if (n > CPU_PAR_MIN) schedule(static)")       \
        for (int64_t r = 0; r < n / inner; r++) {                               \
            float *py = Y + r * inner;                                          \
            switch (op) {                                                       \
            case HART_BIN_ADD: _Pragma("omp simd") for (int64_t j = 0; j < inner; j++) py[j] = A[IA] + B[IB]; break; \
            case HART_BIN_SUB: _Pragma("omp simd") for (int64_t j = 0; j < inner; j++) py[j] = A[IA] - B[IB]; break; \
            case HART_BIN_MUL: _Pragma("omp simd") for (int64_t j = 0; j < inner; j++) py[j] = A[IA] * B[IB]; break; \
            default: _Pragma("omp simd") for (int64_t j = 0; j < inner; j++) py[j] = A[IA] / B[IB]; break;           \
            }                                                                   \
        }                                                                       \
    } while (0)

#define FLAT_LOOP(EXPR)                                                         \
    _Pragma("omp parallel for simd if (n > CPU_PAR_MIN) schedule(static)")      \
    for (int64_t i = 0; i < n; i++) Y[i] = (EXPR)

/* Is t (right-aligned against y, leading 1s dropped) equal to y's trailing dims? */
static int is_trailing(const hart_tensor *y, const hart_tensor *t) {
    int first = 0;
    while (first < t->ndim && t->shape[first] == 1) first++;
    for (int td = first; td < t->ndim; td++)
        if (t->shape[td] != y->shape[y->ndim - t->ndim + td]) return 0;
    return 1;
}

hart_status hart_cpu_binary(hart_backend *be, hart_tensor *y, const hart_tensor *a, const hart_tensor *b, hart_binop op) {
    int64_t n = hart_tensor_numel(y), na = hart_tensor_numel(a), nb = hart_tensor_numel(b);
    const float *A = a->data, *B = b->data;
    float *Y = y->data;
    if (n == 0) return HART_OK;
    if (na == n && nb == n) { /* same shape: flat loop per op */
        switch (op) {
        case HART_BIN_ADD: FLAT_LOOP(A[i] + B[i]); break;
        case HART_BIN_SUB: FLAT_LOOP(A[i] - B[i]); break;
        case HART_BIN_MUL: FLAT_LOOP(A[i] * B[i]); break;
        default: FLAT_LOOP(A[i] / B[i]); break;
        }
        return HART_OK;
    }
    if (na == n && is_trailing(y, b)) { /* includes scalar b */
        int64_t inner = nb;
        ROW_LOOP(r * inner + j, j);
        return HART_OK;
    }
    if (nb == n && is_trailing(y, a)) {
        int64_t inner = na;
        ROW_LOOP(j, r * inner + j);
        return HART_OK;
    }
    /* General case: strides of a and b in y's (padded to 4-D) index space. */
    int64_t ys[4] = {1, 1, 1, 1}, as[4] = {0, 0, 0, 0}, bs[4] = {0, 0, 0, 0};
    int off = 4 - y->ndim;
    for (int d = 0; d < y->ndim; d++) ys[off + d] = y->shape[d];
    const hart_tensor *ts[2] = {a, b};
    int64_t *ss[2] = {as, bs};
    for (int k = 0; k < 2; k++) {
        int64_t stride = 1;
        for (int td = ts[k]->ndim - 1; td >= 0; td--) {
            int d = 4 - ts[k]->ndim + td;
            ss[k][d] = ts[k]->shape[td] == 1 ? 0 : stride;
            stride *= ts[k]->shape[td];
        }
    }
#pragma omp parallel for collapse(3) if (n > CPU_PAR_MIN) schedule(static)
    for (int64_t i0 = 0; i0 < ys[0]; i0++)
        for (int64_t i1 = 0; i1 < ys[1]; i1++)
            for (int64_t i2 = 0; i2 < ys[2]; i2++) {
                const float *pa = A + i0 * as[0] + i1 * as[1] + i2 * as[2];
                const float *pb = B + i0 * bs[0] + i1 * bs[1] + i2 * bs[2];
                float *py = Y + ((i0 * ys[1] + i1) * ys[2] + i2) * ys[3];
                for (int64_t j = 0; j < ys[3]; j++) py[j] = bin1(pa[j * as[3]], pb[j * bs[3]], op);
            }
    return HART_OK;
}

hart_status hart_cpu_scale(hart_backend *be, hart_tensor *y, const hart_tensor *x, float alpha, float beta) {
    int64_t n = hart_tensor_numel(x);
    const float *in = x->data;
    float *out = y->data;
#pragma omp parallel for simd if (n > CPU_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) out[i] = alpha * in[i] + beta;
    return HART_OK;
}

/* [N][H][W][3] bytes -> [N][3][H][W] floats / 255, a row of pixels at a time */
hart_status hart_cpu_rgb8_to_nchw(hart_backend *be, hart_tensor *y, const hart_tensor *x) {
    int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], P = H * W;
    const uint8_t *in = x->data;
    float *out = y->data;
#pragma omp parallel for collapse(2) if (N * P * 3 > CPU_PAR_MIN) schedule(static)
    for (int64_t n = 0; n < N; n++)
        for (int64_t h = 0; h < H; h++) {
            const uint8_t *px = in + (n * P + h * W) * 3;
            float *r = out + n * 3 * P + h * W, *g = r + P, *b = g + P;
            for (int64_t w = 0; w < W; w++) {
                r[w] = (float)px[3 * w] / 255.0f;
                g[w] = (float)px[3 * w + 1] / 255.0f;
                b[w] = (float)px[3 * w + 2] / 255.0f;
            }
        }
    return HART_OK;
}

hart_status hart_cpu_round_half(hart_backend *be, hart_tensor *y, const hart_tensor *x) {
    int64_t n = hart_tensor_numel(x);
    const float *a = x->data;
    float *o = y->data;
#pragma omp parallel for if (n > CPU_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) o[i] = hart_f16_to_f32(hart_f32_to_f16(a[i]));
    return HART_OK;
}

/* y = silu(gate) · up per row of x [..., 2H]: the SiLU of act (same vector
 * code, so the same values where H is a multiple of the vector width), then
 * the product of binary MUL. */
hart_status hart_cpu_swiglu(hart_backend *be, hart_tensor *y, const hart_tensor *x) {
    int64_t H = y->shape[y->ndim - 1], R = H ? hart_tensor_numel(y) / H : 0;
    const float *in = x->data;
    float *out = y->data;
#pragma omp parallel for if (R * H > CPU_PAR_MIN / 8) schedule(static)
    for (int64_t r = 0; r < R; r++) {
        float *o = out + r * H;
        const float *up = in + r * 2 * H + H;
        hart_cpu_vec_act(in + r * 2 * H, o, H, CPU_VF_SILU);
        for (int64_t j = 0; j < H; j++) o[j] = o[j] * up[j];
    }
    return HART_OK;
}
