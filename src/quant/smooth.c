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
static hart_status quant_scaled(const float *w, int64_t N, int64_t K, hart_qformat fmt, int group, const float *s,
                                float *tmp, hart_qweight *q) {
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) tmp[n * K + k] = w[n * K + k] * (s ? s[k] : 1.0f);
    return hart_quantize_rtn(tmp, N, K, fmt, group, q);
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

hart_status hart_quantize_calibrated_group(const float *const *w, const int64_t *N, int nw, int64_t K, hart_qformat fmt,
                                           const hart_calib_entry *e, double alpha, int group, hart_qweight *outs, float *s_out,
                                           hart_smooth_result *res) {
    res->param = -1;
    res->err = res->err_rtn = 0;
    int have_s = 0;
    for (int j = 0; j < nw; j++) memset(&outs[j], 0, sizeof outs[j]);
    if (!e || e->nsample < 1) {
        for (int j = 0; j < nw; j++) {
            hart_status st = hart_quantize_rtn(w[j], N[j], K, fmt, group, &outs[j]);
            if (st) { for (int i = 0; i < j; i++) hart_qweight_free(&outs[i]); return st; }
        }
        if (s_out) for (int64_t k = 0; k < K; k++) s_out[k] = 1.0f;
        return HART_OK;
    }
    int64_t S = e->nsample, Nmax = 0;
    for (int j = 0; j < nw; j++) Nmax = N[j] > Nmax ? N[j] : Nmax;
    float **Y = calloc((size_t)nw, sizeof *Y);
    float *yq = malloc(sizeof(float) * (size_t)(S * Nmax));
    float *xs = malloc(sizeof(float) * (size_t)(S * K)), *tmp = malloc(sizeof(float) * (size_t)(Nmax * K));
    float *s = malloc(sizeof(float) * (size_t)K), *best_s = malloc(sizeof(float) * (size_t)K);
    float *inv = malloc(sizeof(float) * (size_t)K);
    float *wmax = calloc((size_t)K, sizeof(float));
    hart_status st = HART_OK;
    if (!Y || !yq || !xs || !tmp || !s || !best_s || !inv || !wmax) st = hart_fail(HART_ENOMEM, "quantize: out of memory");
    for (int j = 0; !st && j < nw; j++) {
        Y[j] = malloc(sizeof(float) * (size_t)(S * N[j]));
        if (!Y[j]) { st = hart_fail(HART_ENOMEM, "quantize: out of memory"); break; }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)S, (int)N[j], (int)K, 1.0f, e->sample, (int)K, w[j],
                    (int)K, 0.0f, Y[j], (int)N[j]);
        for (int64_t n = 0; n < N[j]; n++)
            for (int64_t k = 0; k < K; k++) wmax[k] = fmaxf(wmax[k], fabsf(w[j][n * K + k]));
    }
    /* group error: sqrt(Σ_j |Y_j − Yq_j|² / Σ_j |Y_j|²) for scale sc (NULL: none) */
#define GROUP_ERR(sc, out_err)                                                                    \
    do {                                                                                          \
        double d_ = 0, n_ = 0;                                                                    \
        for (int j_ = 0; !st && j_ < nw; j_++) {                                                  \
            hart_qweight q_;                                                                      \
            st = quant_scaled(w[j_], N[j_], K, fmt, group, sc, tmp, &q_);                         \
            if (sc) for (int64_t k_ = 0; k_ < K; k_++) inv[k_] = 1.0f / (sc)[k_];                 \
            double e_ = 0;                                                                        \
            if (!st) st = eval(e->sample, S, Y[j_], &q_, (sc) ? inv : NULL, xs, yq, &e_);         \
            hart_qweight_free(&q_);                                                               \
            double yy_ = 0;                                                                       \
            for (int64_t i_ = 0; i_ < S * N[j_]; i_++) yy_ += (double)Y[j_][i_] * Y[j_][i_];      \
            d_ += e_ * e_ * (yy_ > 0 ? yy_ : 1);                                                  \
            n_ += yy_;                                                                            \
        }                                                                                         \
        out_err = n_ > 0 ? sqrt(d_ / n_) : sqrt(d_);                                              \
    } while (0)
    if (!st) GROUP_ERR((const float *)NULL, res->err_rtn);
    double grid[20];
    int ng = 0;
    if (fmt == HART_QF_W4A16)
        for (int i = 0; i < 20; i++) grid[ng++] = i / 20.0;
    else if (alpha >= 0) grid[ng++] = alpha;
    else
        for (int i = 0; i <= 12; i++) grid[ng++] = 0.30 + 0.05 * i;
    double best = INFINITY, best_p = -1;
    for (int i = 0; !st && i < ng; i++) {
        scale_for(fmt, e, wmax, grid[i], s);
        double err = 0;
        GROUP_ERR(s, err);
        if (!st && err < best) {
            best = err;
            best_p = grid[i];
            memcpy(best_s, s, sizeof(float) * (size_t)K);
        }
    }
#undef GROUP_ERR
    /* a searched SmoothQuant α that does worse than no smoothing is dropped */
    have_s = !st && (alpha >= 0 || fmt == HART_QF_W4A16 || best < res->err_rtn);
    if (!st && !have_s) {
        for (int64_t k = 0; k < K; k++) best_s[k] = 1.0f;
        best = res->err_rtn;
        best_p = -1;
    }
    for (int j = 0; !st && j < nw; j++) {
        st = quant_scaled(w[j], N[j], K, fmt, group, best_s, tmp, &outs[j]);
        if (st) for (int i = 0; i < j; i++) hart_qweight_free(&outs[i]);
    }
    if (!st) {
        if (s_out) memcpy(s_out, best_s, sizeof(float) * (size_t)K);
        res->param = best_p;
        res->err = best;
    }
    for (int j = 0; Y && j < nw; j++) free(Y[j]);
    free(Y); free(yq); free(xs); free(tmp); free(s); free(best_s); free(inv); free(wmax);
    return st;
}

hart_status hart_quantize_calibrated(const float *w, int64_t N, int64_t K, hart_qformat fmt, const hart_calib_entry *e,
                                     double alpha, int group, hart_qweight *out, hart_smooth_result *res) {
    float *s = malloc(sizeof(float) * (size_t)K);
    if (!s) return hart_fail(HART_ENOMEM, "quantize: out of memory");
    hart_status st = hart_quantize_calibrated_group(&w, &N, 1, K, fmt, e, alpha, group, out, s, res);
    if (!st && res->param >= 0) {
        st = hart_tensor_new4(NULL, HART_F32, &out->insmooth, 1, K, 0, 0, 0);
        if (!st)
            for (int64_t k = 0; k < K; k++) ((float *)out->insmooth.data)[k] = 1.0f / s[k];
        else hart_qweight_free(out);
    }
    free(s);
    return st;
}
