/* CPU fast path of scaled dot-product attention and RoPE.
 * Attention works on tasks of (batch, head, block of QB query rows): scores
 * S = scale·Q·Kᵀ by sgemm, + mask, row softmax (all -inf -> zeros), then
 * O = P·V by sgemm. Tasks run in parallel (one serial sgemm each); when
 * there are fewer tasks than threads, hart_cpu_sgemm splits each product. */
#include <omp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"

#define QB 64

static void attn_task(const hart_tensor *q, const hart_tensor *k, const hart_tensor *v, const hart_tensor *mask,
                      float scale, float *out, int64_t t, int64_t nqb, float *S) {
    int64_t H = q->shape[1], Lq = q->shape[2], D = q->shape[3];
    int64_t Hkv = k->shape[1], Lk = k->shape[2], rep = H / Hkv;
    int64_t bh = t / nqb, i0 = (t % nqb) * QB, rows = Lq - i0 < QB ? Lq - i0 : QB;
    int64_t b = bh / H, h = bh % H;
    const float *qp = (const float *)q->data + (bh * Lq + i0) * D;
    const float *kp = (const float *)k->data + (b * Hkv + h / rep) * Lk * D;
    const float *vp = (const float *)v->data + (b * Hkv + h / rep) * Lk * D;
    float *op = out + (bh * Lq + i0) * D;
    if (D > 0)
        hart_cpu_sgemm(0, 1, rows, Lk, D, scale, qp, D, kp, D, 0.0f, S, Lk);
    else
        for (int64_t i = 0; i < rows * Lk; i++) S[i] = 0;
    const float *mrow = NULL;
    if (mask) {
        int64_t mb = mask->shape[0] == 1 ? 0 : b, mh = mask->shape[1] == 1 ? 0 : h;
        mrow = (const float *)mask->data + ((mb * mask->shape[1] + mh) * Lq + i0) * Lk;
        for (int64_t i = 0; i < rows * Lk; i++) S[i] += mrow[i];
    }
    /* unnormalised weights; the 1/sum goes on the D-wide output rows */
    float inv[QB];
    for (int64_t i = 0; i < rows; i++) {
        float *s = S + i * Lk, mx = hart_cpu_row_max(s, Lk);
        if (mx == -INFINITY) { /* fully masked row: zeros */
            memset(s, 0, (size_t)Lk * sizeof(float));
            inv[i] = 0.0f;
        } else {
            inv[i] = (float)(1.0 / hart_cpu_exp_shift(s, s, Lk, mx));
        }
    }
    if (D > 0) {
        hart_cpu_sgemm(0, 0, rows, D, Lk, 1.0f, S, Lk, vp, D, 0.0f, op, D);
        for (int64_t i = 0; i < rows; i++) hart_cpu_row_scale(op + i * D, D, inv[i]);
    }
}

hart_status hart_cpu_attention(hart_backend *be, hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                          const hart_tensor *v, const hart_tensor *mask, float scale) {
    int64_t B = q->shape[0], H = q->shape[1], Lq = q->shape[2], D = q->shape[3], Lk = k->shape[2];
    float *o = out->data;
    if (B * H * Lq * D == 0) return HART_OK;
    if (Lk == 0) {
        for (int64_t i = 0; i < B * H * Lq * D; i++) o[i] = 0;
        return HART_OK;
    }
    int64_t nqb = (Lq + QB - 1) / QB, tasks = B * H * nqb;
    int nt = hart_cpu_threads();
    if (tasks >= nt && nt > 1) {
        float *S = malloc((size_t)nt * QB * (size_t)Lk * sizeof(float));
        if (!S) return hart_fail(HART_ENOMEM, "hart_op_attention: out of memory for scores (%lld keys)", (long long)Lk);
#pragma omp parallel num_threads(nt)
        {
            float *mine = S + (size_t)omp_get_thread_num() * QB * (size_t)Lk;
#pragma omp for schedule(dynamic, 1)
            for (int64_t t = 0; t < tasks; t++) attn_task(q, k, v, mask, scale, o, t, nqb, mine);
        }
        free(S);
    } else {
        float *S = malloc((size_t)QB * (size_t)Lk * sizeof(float));
        if (!S) return hart_fail(HART_ENOMEM, "hart_op_attention: out of memory for scores (%lld keys)", (long long)Lk);
        for (int64_t t = 0; t < tasks; t++) attn_task(q, k, v, mask, scale, o, t, nqb, S);
        free(S);
    }
    return HART_OK;
}

hart_status hart_cpu_rope(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *cos_t,
                     const hart_tensor *sin_t, int interleaved) {
    int64_t B = x->shape[0], H = x->shape[1], L = x->shape[2], D = x->shape[3], half = D / 2;
    const float *X = x->data, *C = cos_t->data, *Sn = sin_t->data;
    float *Y = y->data;
    int64_t bc = cos_t->shape[0];
#pragma omp parallel for collapse(2) if (B * H * L * D > CPU_PAR_MIN) schedule(static)
    for (int64_t bh = 0; bh < B * H; bh++)
        for (int64_t l = 0; l < L; l++) {
            int64_t cb = bc == 1 ? 0 : bh / H;
            const float *c = C + (cb * L + l) * half, *s = Sn + (cb * L + l) * half;
            const float *xi = X + (bh * L + l) * D;
            float *yi = Y + (bh * L + l) * D;
            if (interleaved) {
                for (int64_t i = 0; i < half; i++) {
                    float a = xi[2 * i], b2 = xi[2 * i + 1];
                    yi[2 * i] = a * c[i] - b2 * s[i];
                    yi[2 * i + 1] = b2 * c[i] + a * s[i];
                }
            } else {
                for (int64_t i = 0; i < half; i++) {
                    float a = xi[i], b2 = xi[i + half];
                    yi[i] = a * c[i] - b2 * s[i];
                    yi[i + half] = b2 * c[i] + a * s[i];
                }
            }
        }
    return HART_OK;
}
