/* Naive reference: linear, batched matmul, conv2d. Double accumulation so the
 * oracle is more accurate than the code under test. */
#include "backend/ref/ref_util.h"

hart_status ref_linear(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                       const hart_tensor *b) {
    int64_t K = x->shape[x->ndim - 1], N = w->shape[0], M = ref_dims(x, 0, x->ndim - 1);
    float *out = ref_f(y);
    const float *in = ref_f(x);
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double acc = b ? ref_ld(b, n) : 0.0;
            for (int64_t k = 0; k < K; k++) acc += (double)in[m * K + k] * ref_ld(w, n * K + k);
            out[m * N + n] = (float)acc;
        }
    return HART_OK;
}

hart_status ref_matmul(hart_backend *be, hart_tensor *c, const hart_tensor *a, const hart_tensor *b,
                       int ta, int tb, float alpha) {
    int na = a->ndim, nb = b->ndim;
    int64_t M = ta ? a->shape[na - 1] : a->shape[na - 2];
    int64_t K = ta ? a->shape[na - 2] : a->shape[na - 1];
    int64_t N = tb ? b->shape[nb - 2] : b->shape[nb - 1];
    int64_t batch = ref_dims(a, 0, na - 2), bbatch = ref_dims(b, 0, nb - 2);
    const float *A = ref_f(a), *B = ref_f(b);
    float *C = ref_f(c);
    for (int64_t p = 0; p < batch; p++) {
        const float *Ap = A + p * M * K, *Bp = B + (bbatch == 1 ? 0 : p) * K * N;
        float *Cp = C + p * M * N;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0;
                for (int64_t k = 0; k < K; k++) {
                    float av = ta ? Ap[k * M + i] : Ap[i * K + k];
                    float bv = tb ? Bp[j * K + k] : Bp[k * N + j];
                    acc += (double)av * bv;
                }
                Cp[i * N + j] = (float)(alpha * acc);
            }
    }
    return HART_OK;
}

hart_status ref_conv2d(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                       const hart_tensor *b, int stride, int pad, int groups) {
    int64_t N = x->shape[0], Ci = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t Co = y->shape[1], Ho = y->shape[2], Wo = y->shape[3];
    int64_t kh = w->shape[2], kw = w->shape[3], cig = Ci / groups, cog = Co / groups;
    const float *in = ref_f(x);
    float *out = ref_f(y);
    for (int64_t n = 0; n < N; n++)
        for (int64_t co = 0; co < Co; co++) {
            int64_t g = co / cog;
            for (int64_t oy = 0; oy < Ho; oy++)
                for (int64_t ox = 0; ox < Wo; ox++) {
                    double acc = b ? ref_ld(b, co) : 0.0;
                    for (int64_t ci = 0; ci < cig; ci++)
                        for (int64_t ky = 0; ky < kh; ky++) {
                            int64_t iy = oy * stride - pad + ky;
                            if (iy < 0 || iy >= H) continue;
                            for (int64_t kx = 0; kx < kw; kx++) {
                                int64_t ix = ox * stride - pad + kx;
                                if (ix < 0 || ix >= W) continue;
                                acc += (double)in[((n * Ci + g * cig + ci) * H + iy) * W + ix] *
                                       ref_ld(w, ((co * cig + ci) * kh + ky) * kw + kx);
                            }
                        }
                    out[((n * Co + co) * Ho + oy) * Wo + ox] = (float)acc;
                }
        }
    return HART_OK;
}
