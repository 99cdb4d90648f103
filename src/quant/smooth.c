/* SmoothQuant / AWQ scale search (smooth.h). */
#include "quant/smooth.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "quant/quantize.h"

/* relative error ||Y − Yq|| / ||Y|| of the quantized layer on the sample rows:
 * Y = X·Wᵀ (f32 sgemm), Yq = the CPU quantized op on X·diag(1/s) */
static hart_status eval(const float *X, int64_t S, const float *Y, const hart_qweight *q, const float *inv_s,
                        float *xs, float *yq, double *out) {
    int64_t K = q->K, N = q->N;
    for (int64_t i = 0; i < S; i++)
        for (int64_t k = 0; k < K; k++) xs[i * K + k] = X[i * K + k] * (inv_s ? inv_s[k] : 1.0f);
    hart_tensor xt = hart_tensor_wrap(xs, HART_F32, 2, (int64_t[]){S, K});
    hart_tensor yt = hart_tensor_wrap(yq, HART_F32, 2, (int64_t[]){S, N});
    hart_backend *cpu = hart_backend_cpu();
    HART_TRY(cpu->vt->qlinear(cpu, &yt, &xt, q, NULL));
    double d = 0, n = 0;
    for (int64_t i = 0; i < S * N; i++) {
        d += ((double)Y[i] - yq[i]) * ((double)Y[i] - yq[i]);
        n += (double)Y[i] * Y[i];
    }
    *out = n > 0 ? sqrt(d / n) : sqrt(d);
    return HART_OK;
}

/* quantize W·diag(s) (s NULL: W) */
static hart_status quant_scaled(const float *w, int64_t N, int64_t K, hart_qformat fmt, const float *s, float *tmp,
                                hart_qweight *q) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) tmp[n * K + k] = w[n * K + k] * (s ? s[k] : 1.0f);
    return hart_quantize_rtn(tmp, N, K, fmt, HART_QGROUP, q);
}

/* candidate scale for parameter p */
static void scale_for(hart_qformat fmt, const hart_calib_entry *e, const float *wmax, double p, float *s) {
    int64_t K = e->K;
    if (fmt == HART_QF_W4A16) { /* AWQ: mean|x|^r, normalised */
        double mx = 0, mn = INFINITY;
        for (int64_t k = 0; k < K; k++) {
            double m = e->rows ? e->abssum[k] / (double)e->rows : 0.0;
            double v = pow(fmax(m, 1e-4), p);
            s[k] = (float)v;
            mx = fmax(mx, v);
            mn = fmin(mn, v);
        }
        float norm = (float)sqrt(mx * mn);
        for (int64_t k = 0; k < K; k++) s[k] = s[k] / norm;
    } else { /* SmoothQuant */
        for (int64_t k = 0; k < K; k++) {
            double v = pow(fmax(e->absmax[k], 1e-5), p) / pow(fmax(wmax[k], 1e-5), 1.0 - p);
            s[k] = (float)fmin(fmax(v, 1e-5), 1e5);
        }
    }
}

hart_status hart_quantize_calibrated(const float *w, int64_t N, int64_t K, hart_qformat fmt, const hart_calib_entry *e,
                                     double alpha, hart_qweight *out, hart_smooth_result *res) {
    res->param = -1;
    res->err = res->err_rtn = 0;
    if (!e || e->nsample < 1) return hart_quantize_rtn(w, N, K, fmt, HART_QGROUP, out);
    int64_t S = e->nsample;
    float *Y = malloc(sizeof(float) * (size_t)(S * N)), *yq = malloc(sizeof(float) * (size_t)(S * N));
    float *xs = malloc(sizeof(float) * (size_t)(S * K)), *tmp = malloc(sizeof(float) * (size_t)(N * K));
    float *s = malloc(sizeof(float) * (size_t)K), *best_s = malloc(sizeof(float) * (size_t)K);
    float *wmax = calloc((size_t)K, sizeof(float));
    hart_status st = HART_OK;
    if (!Y || !yq || !xs || !tmp || !s || !best_s || !wmax) st = hart_fail(HART_ENOMEM, "quantize: out of memory");
    hart_qweight q;
    memset(&q, 0, sizeof q);
    double best = INFINITY, best_p = -1;
    if (!st) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)S, (int)N, (int)K, 1.0f, e->sample, (int)K, w, (int)K,
                    0.0f, Y, (int)N);
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++) wmax[k] = fmaxf(wmax[k], fabsf(w[n * K + k]));
        st = quant_scaled(w, N, K, fmt, NULL, tmp, &q);
        if (!st) st = eval(e->sample, S, Y, &q, NULL, xs, yq, &res->err_rtn);
        hart_qweight_free(&q);
    }
    double grid[20];
    int ng = 0;
    if (fmt == HART_QF_W4A16)
        for (int i = 0; i < 20; i++) grid[ng++] = i / 20.0;
    else if (alpha >= 0) grid[ng++] = alpha;
    else
        for (int i = 0; i <= 12; i++) grid[ng++] = 0.30 + 0.05 * i;
    for (int i = 0; !st && i < ng; i++) {
        scale_for(fmt, e, wmax, grid[i], s);
        st = quant_scaled(w, N, K, fmt, s, tmp, &q);
        for (int64_t k = 0; k < K; k++) s[k] = 1.0f / s[k];
        double err = 0;
        if (!st) st = eval(e->sample, S, Y, &q, s, xs, yq, &err);
        hart_qweight_free(&q);
        if (!st && err < best) {
            best = err;
            best_p = grid[i];
            memcpy(best_s, s, sizeof(float) * (size_t)K);
        }
    }
    if (!st) {
        for (int64_t k = 0; k < K; k++) s[k] = 1.0f / best_s[k];
        st = quant_scaled(w, N, K, fmt, s, tmp, out);
    }
    if (!st) {
        st = hart_tensor_new4(NULL, HART_F32, &out->insmooth, 1, K, 0, 0, 0);
        if (!st) memcpy(out->insmooth.data, best_s, sizeof(float) * (size_t)K);
        else hart_qweight_free(out);
        res->param = best_p;
        res->err = best;
    }
    free(Y); free(yq); free(xs); free(tmp); free(s); free(best_s); free(wmax);
    return st;
}
