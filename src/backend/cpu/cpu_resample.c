/* CPU fast paths: F.interpolate (separable per-axis taps computed once) and
 * nearest-codebook search.
 *
 * argmin_dist: distances are first estimated with one sgemm per block of rows
 * (||e||² − 2·x·e; ||x||² is constant per row), then every codeword whose
 * estimate lies within a rigorous bound of the estimated minimum is
 * re-scored exactly as the reference does (double accumulation of (x−e)² in
 * the same order), and the first minimum of those exact scores wins. The
 * exact minimiser(s) always survive the filter, so the result is identical to
 * the reference, including ties, while the O(N·V·D) part runs in sgemm. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "backend/cpu/cpu_internal.h"

static int64_t clampi(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static double cubic_w(double t, int k) { /* taps -1, 0, 1, 2; A = -0.75 */
    const double A = -0.75;
    double x = k == 0 ? t + 1 : k == 1 ? t : k == 2 ? 1 - t : 2 - t;
    if (k == 1 || k == 2) return ((A + 2) * x - (A + 3)) * x * x + 1;
    return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}

/* Up to 4 taps per output coordinate (area: start/end range instead). */
typedef struct {
    int64_t idx[4];
    double w[4];
    int n;
} taps;

static void axis_taps(taps *t, int64_t out_n, int64_t in_n, hart_interp mode) {
    double sc = (double)in_n / out_n;
    for (int64_t o = 0; o < out_n; o++) {
        taps *p = &t[o];
        if (mode == HART_INTERP_NEAREST) {
            p->n = 1;
            p->idx[0] = clampi((int64_t)floor(o * (float)sc), 0, in_n - 1);
            p->w[0] = 1;
        } else if (mode == HART_INTERP_AREA) {
            p->n = 2; /* [start, end) */
            p->idx[0] = (int64_t)floor((double)o * in_n / out_n);
            p->idx[1] = (int64_t)ceil((double)(o + 1) * in_n / out_n);
        } else if (mode == HART_INTERP_BILINEAR) { /* source coordinate in float, as PyTorch (see ref) */
            volatile float scf = (float)in_n / (float)out_n, tf = ((float)o + 0.5f) * scf;
            double s = (double)(tf - 0.5f);
            if (s < 0) s = 0;
            int64_t i0 = (int64_t)s, i1 = i0 + 1 < in_n ? i0 + 1 : in_n - 1;
            double l = s - i0;
            p->n = 2;
            p->idx[0] = i0; p->idx[1] = i1;
            p->w[0] = 1 - l; p->w[1] = l;
        } else {
            double s = (o + 0.5) * sc - 0.5;
            int64_t i = (int64_t)floor(s);
            double tt = s - i;
            p->n = 4;
            for (int k = 0; k < 4; k++) {
                p->idx[k] = clampi(i - 1 + k, 0, in_n - 1);
                p->w[k] = cubic_w(tt, k);
            }
        }
    }
}

hart_status hart_cpu_interpolate(hart_backend *be, hart_tensor *y, const hart_tensor *x, hart_interp mode) {
    int64_t NC = x->shape[0] * x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t Ho = y->shape[2], Wo = y->shape[3];
    taps *ty = malloc(sizeof(taps) * (size_t)Ho), *tx = malloc(sizeof(taps) * (size_t)Wo);
    if (!ty || !tx) {
        free(ty); free(tx);
        return hart_fail(HART_ENOMEM, "hart_op_interpolate: out of memory");
    }
    axis_taps(ty, Ho, H, mode);
    axis_taps(tx, Wo, W, mode);
    const float *X = x->data;
    float *Y = y->data;
#pragma omp parallel for collapse(2) if (NC * Ho * Wo > CPU_PAR_MIN / 4) schedule(static)
    for (int64_t p = 0; p < NC; p++)
        for (int64_t oy = 0; oy < Ho; oy++) {
            const float *in = X + p * H * W;
            float *out = Y + (p * Ho + oy) * Wo;
            const taps *a = &ty[oy];
            if (mode == HART_INTERP_NEAREST) { /* plain gather (same values as the reference) */
                const float *row = in + a->idx[0] * W;
                for (int64_t ox = 0; ox < Wo; ox++) out[ox] = row[tx[ox].idx[0]];
                continue;
            }
            for (int64_t ox = 0; ox < Wo; ox++) {
                const taps *b = &tx[ox];
                double v = 0;
                if (mode == HART_INTERP_AREA) {
                    for (int64_t iy = a->idx[0]; iy < a->idx[1]; iy++)
                        for (int64_t ix = b->idx[0]; ix < b->idx[1]; ix++) v += in[iy * W + ix];
                    v /= (double)((a->idx[1] - a->idx[0]) * (b->idx[1] - b->idx[0]));
                } else {
                    for (int i = 0; i < a->n; i++) {
                        double row = 0;
                        const float *r = in + a->idx[i] * W;
                        for (int j = 0; j < b->n; j++) row += b->w[j] * r[b->idx[j]];
                        v += a->w[i] * row;
                    }
                }
                out[ox] = (float)v;
            }
        }
    free(ty);
    free(tx);
    return HART_OK;
}

#define AM_ROWS 128

hart_status hart_cpu_argmin_dist(hart_backend *be, hart_tensor *idx, const hart_tensor *x, const hart_tensor *cb) {
    int64_t N = x->shape[0], D = x->shape[1], V = cb->shape[0];
    int64_t *out = idx->data;
    const float *X = x->data;
    if (N == 0) return HART_OK;
    if (D == 0) {
        for (int64_t i = 0; i < N; i++) out[i] = 0;
        return HART_OK;
    }
    const float *E;
    float *etmp;
    HART_TRY(hart_cpu_weight_f32(cb, &E, &etmp));
    double *en = malloc(sizeof(double) * (size_t)V);
    float *S = malloc(sizeof(float) * (size_t)(AM_ROWS * V));
    if (!en || !S) {
        free(en); free(S); free(etmp);
        return hart_fail(HART_ENOMEM, "hart_op_argmin_dist: out of memory (codebook of %lld)", (long long)V);
    }
    double emax = 0;
#pragma omp parallel for reduction(max : emax) if (V * D > CPU_PAR_MIN) schedule(static)
    for (int64_t v = 0; v < V; v++) {
        double s = 0;
        for (int64_t k = 0; k < D; k++) s += (double)E[v * D + k] * E[v * D + k];
        en[v] = s;
        if (s > emax) emax = s;
    }
    emax = sqrt(emax);
    /* |fl(x·e) − x·e| <= gamma_D · Σ|x_k e_k| <= gamma_D ‖x‖‖e‖ for any summation
     * order; gamma_D = D·u/(1−D·u). Use a 4x safety factor, and the bound twice
     * (the estimated minimum and the candidate can both be off). */
    double u = FLT_EPSILON / 2, gam = 4.0 * (double)(D + 2) * u / (1.0 - (double)(D + 2) * u);
    for (int64_t i0 = 0; i0 < N; i0 += AM_ROWS) {
        int64_t rows = N - i0 < AM_ROWS ? N - i0 : AM_ROWS;
        hart_cpu_sgemm(0, 1, rows, V, D, 1.0f, X + i0 * D, D, E, D, 0.0f, S, V);
#pragma omp parallel for if (rows * V > CPU_PAR_MIN) schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *xi = X + (i0 + r) * D, *s = S + r * V;
            double xn = 0;
            for (int64_t k = 0; k < D; k++) xn += (double)xi[k] * xi[k];
            double tol = 2.0 * 2.0 * gam * sqrt(xn) * emax; /* 2·|dot error| per estimate, twice */
            double best_est = INFINITY;
            for (int64_t v = 0; v < V; v++) {
                double e = en[v] - 2.0 * (double)s[v];
                if (e < best_est) best_est = e;
            }
            double best = INFINITY;
            int64_t bi = 0;
            for (int64_t v = 0; v < V; v++) {
                if (en[v] - 2.0 * (double)s[v] > best_est + tol) continue;
                double d = 0; /* exactly the reference's arithmetic */
                for (int64_t k = 0; k < D; k++) {
                    double t = (double)xi[k] - (double)E[v * D + k];
                    d += t * t;
                }
                if (d < best) { best = d; bi = v; }
            }
            out[i0 + r] = bi;
        }
    }
    free(en);
    free(S);
    free(etmp);
    return HART_OK;
}

/* pool2d: the reference's loop over output pixels, planes split over threads. */
hart_status hart_cpu_pool2d(hart_backend *be, hart_tensor *y, const hart_tensor *x, int k, int stride, int pad,
                            hart_pool mode) {
    int64_t NC = x->shape[0] * x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t Ho = y->shape[2], Wo = y->shape[3];
    const float *xin = x->data;
    float *yout = y->data;
#pragma omp parallel for schedule(static) if (NC * Ho * Wo * k * k > CPU_PAR_MIN)
    for (int64_t p = 0; p < NC; p++) {
        const float *in = xin + p * H * W;
        float *out = yout + p * Ho * Wo;
        for (int64_t oy = 0; oy < Ho; oy++) {
            int64_t y0 = oy * stride - pad, y1 = y0 + k;
            y0 = y0 < 0 ? 0 : y0;
            y1 = y1 > H ? H : y1;
            for (int64_t ox = 0; ox < Wo; ox++) {
                int64_t x0 = ox * stride - pad, x1 = x0 + k;
                x0 = x0 < 0 ? 0 : x0;
                x1 = x1 > W ? W : x1;
                float acc = mode == HART_POOL_MAX ? -INFINITY : 0.0f;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) {
                        float v = in[iy * W + ix];
                        if (mode == HART_POOL_MAX) acc = v > acc || isnan(v) ? v : acc;
                        else acc += v;
                    }
                out[oy * Wo + ox] = mode == HART_POOL_MAX ? acc : acc / (float)((y1 - y0) * (x1 - x0));
            }
        }
    }
    return HART_OK;
}
