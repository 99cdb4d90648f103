/* FID statistics and distance (fid.h), linear algebra through OpenBLAS'
 * BLAS (dsyrk, dgemm) and LAPACK (dsyevd). */
#include "pipeline/fid.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/npz.h"

/* LAPACK (OpenBLAS exports it; no LAPACKE header needed) */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info);

#define FID_MAX_DIM 65536

void hart_fid_acc_free(hart_fid_acc *a) {
    free(a->shift); free(a->sum); free(a->m2);
    memset(a, 0, sizeof *a);
}

hart_status hart_fid_acc_init(hart_fid_acc *a, int64_t dim) {
    memset(a, 0, sizeof *a);
    if (dim < 1 || dim > FID_MAX_DIM) return hart_fail(HART_EINVAL, "fid: feature dimension %lld out of range", (long long)dim);
    a->dim = dim;
    a->shift = calloc((size_t)dim, sizeof(double));
    a->sum = calloc((size_t)dim, sizeof(double));
    a->m2 = calloc((size_t)(dim * dim), sizeof(double));
    if (!a->shift || !a->sum || !a->m2) { hart_fid_acc_free(a); return hart_fail(HART_ENOMEM, "fid: out of memory"); }
    return HART_OK;
}

hart_status hart_fid_acc_add(hart_fid_acc *a, const double *rows, int64_t n) {
    if (n <= 0) return HART_OK;
    int64_t d = a->dim;
    if (a->n == 0) { /* shift = the first batch's mean */
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < d; j++) a->shift[j] += rows[i * d + j];
        for (int64_t j = 0; j < d; j++) a->shift[j] /= (double)n;
    }
    double *c = malloc(sizeof(double) * (size_t)(n * d));
    if (!c) return hart_fail(HART_ENOMEM, "fid: out of memory");
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double v = rows[i * d + j];
            if (!isfinite(v)) { free(c); return hart_fail(HART_EINVAL, "fid: a feature is %g (not finite)", v); }
            c[i * d + j] = v - a->shift[j];
            a->sum[j] += c[i * d + j];
        }
    /* m2 (upper triangle) += cᵀ c */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0, c, (int)d, 1.0, a->m2, (int)d);
    free(c);
    a->n += n;
    return HART_OK;
}

hart_status hart_fid_acc_stats(const hart_fid_acc *a, hart_fid_stats *st) {
    memset(st, 0, sizeof *st);
    if (a->n < 2) return hart_fail(HART_EINVAL, "fid: statistics need at least 2 images (have %lld)", (long long)a->n);
    int64_t d = a->dim;
    st->dim = d;
    st->n = a->n;
    st->mu = malloc(sizeof(double) * (size_t)d);
    st->sigma = malloc(sizeof(double) * (size_t)(d * d));
    if (!st->mu || !st->sigma) { hart_fid_stats_free(st); return hart_fail(HART_ENOMEM, "fid: out of memory"); }
    double n = (double)a->n;
    for (int64_t j = 0; j < d; j++) st->mu[j] = a->shift[j] + a->sum[j] / n;
    for (int64_t i = 0; i < d; i++)
        for (int64_t j = i; j < d; j++) {
            double v = (a->m2[i * d + j] - a->sum[i] * a->sum[j] / n) / (n - 1);
            st->sigma[i * d + j] = st->sigma[j * d + i] = v;
        }
    return HART_OK;
}

void hart_fid_stats_free(hart_fid_stats *st) {
    free(st->mu);
    free(st->sigma);
    memset(st, 0, sizeof *st);
}

/* Eigenvalues (ascending) of symmetric a [n,n] into w; with vectors, a is
 * overwritten by them (column k of the column-major result = row k here). */
static hart_status syevd(int vectors, int n, double *a, double *w) {
    int lwork = -1, liwork = -1, info = 0, iq = 0;
    double q = 0;
    const char *jobz = vectors ? "V" : "N";
    dsyevd_(jobz, "U", &n, a, &n, w, &q, &lwork, &iq, &liwork, &info);
    if (info) return hart_fail(HART_EINVAL, "fid: LAPACK dsyevd workspace query failed (info %d)", info);
    lwork = (int)q;
    liwork = iq > 0 ? iq : 1;
    double *work = malloc(sizeof(double) * (size_t)(lwork > 0 ? lwork : 1));
    int *iwork = malloc(sizeof(int) * (size_t)liwork);
    if (!work || !iwork) { free(work); free(iwork); return hart_fail(HART_ENOMEM, "fid: out of memory"); }
    dsyevd_(jobz, "U", &n, a, &n, w, work, &lwork, iwork, &liwork, &info);
    free(work);
    free(iwork);
    if (info) return hart_fail(HART_EINVAL, "fid: LAPACK dsyevd did not converge (info %d)", info);
    return HART_OK;
}

hart_status hart_fid_distance(const hart_fid_stats *a, const hart_fid_stats *b, double *fid) {
    if (a->dim != b->dim)
        return hart_fail(HART_EINVAL, "fid: the statistics have different dimensions (%lld vs %lld)", (long long)a->dim,
                         (long long)b->dim);
    int64_t d = a->dim;
    double diff = 0, tr = 0;
    for (int64_t i = 0; i < d; i++) {
        double t = a->mu[i] - b->mu[i];
        diff += t * t;
        tr += a->sigma[i * d + i] + b->sigma[i * d + i];
    }
    size_t dd = (size_t)(d * d);
    double *v = malloc(sizeof(double) * dd), *r = malloc(sizeof(double) * dd), *t = malloc(sizeof(double) * dd);
    double *w = malloc(sizeof(double) * (size_t)d);
    hart_status s = v && r && t && w ? HART_OK : hart_fail(HART_ENOMEM, "fid: out of memory");
    if (!s) {
        memcpy(v, a->sigma, sizeof(double) * dd);
        s = syevd(1, (int)d, v, w); /* rows of v (row-major view) = eigenvectors */
    }
    if (!s) {
        /* r = S1^½ = Vᵀ diag(√λ) V with V's rows the eigenvectors; negative
         * round-off eigenvalues count as 0 */
        for (int64_t k = 0; k < d; k++) {
            double sq = w[k] > 0 ? sqrt(w[k]) : 0;
            for (int64_t j = 0; j < d; j++) t[k * d + j] = v[k * d + j] * sq;
        }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, v, (int)d, t, (int)d, 0.0, r,
                    (int)d);
        /* t = S1^½ S2, v = t S1^½ */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, r, (int)d, b->sigma, (int)d,
                    0.0, t, (int)d);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, t, (int)d, r, (int)d, 0.0, v,
                    (int)d);
        for (int64_t i = 0; i < d; i++) /* symmetric up to round-off: average the halves */
            for (int64_t j = i + 1; j < d; j++) v[i * d + j] = v[j * d + i] = 0.5 * (v[i * d + j] + v[j * d + i]);
        s = syevd(0, (int)d, v, w);
    }
    if (!s) {
        double trs = 0;
        for (int64_t k = 0; k < d; k++) trs += w[k] > 0 ? sqrt(w[k]) : 0;
        *fid = diff + tr - 2 * trs;
        if (!isfinite(*fid)) s = hart_fail(HART_EINVAL, "fid: the distance is not finite (statistics hold NaN or Inf?)");
    }
    free(v); free(r); free(t); free(w);
    return s;
}

/* float64 copy of a float array of the archive */
static hart_status npy_f64(const hart_npy *a, const char *path, const char *name, double *out) {
    int64_t n = hart_npy_numel(a);
    if (a->dtype == 'd') memcpy(out, a->data, sizeof(double) * (size_t)n);
    else if (a->dtype == 'f')
        for (int64_t i = 0; i < n; i++) { float f; memcpy(&f, (const char *)a->data + 4 * i, 4); out[i] = f; }
    else return hart_fail(HART_EFORMAT, "%s: '%s' is not a float array", path, name);
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(out[i])) return hart_fail(HART_EFORMAT, "%s: '%s' holds a non-finite value", path, name);
    return HART_OK;
}

hart_status hart_fid_stats_load(const char *path, hart_fid_stats *st) {
    memset(st, 0, sizeof *st);
    hart_npz_file *f;
    HART_TRY(hart_npz_open(path, &f));
    hart_npy mu = {0}, sg = {0};
    hart_status s = hart_npz_get(f, "mu", &mu);
    if (!s) s = hart_npz_get(f, "sigma", &sg);
    if (!s && (mu.ndim != 1 || sg.ndim != 2 || sg.shape[0] != mu.shape[0] || sg.shape[1] != mu.shape[0] || mu.shape[0] < 1 ||
               mu.shape[0] > FID_MAX_DIM))
        s = hart_fail(HART_EFORMAT, "%s: mu must be [d] and sigma [d, d] (1 <= d <= %d)", path, FID_MAX_DIM);
    if (!s) {
        st->dim = mu.shape[0];
        st->mu = malloc(sizeof(double) * (size_t)st->dim);
        st->sigma = malloc(sizeof(double) * (size_t)(st->dim * st->dim));
        if (!st->mu || !st->sigma) s = hart_fail(HART_ENOMEM, "fid: out of memory");
    }
    if (!s) s = npy_f64(&mu, path, "mu", st->mu);
    if (!s) s = npy_f64(&sg, path, "sigma", st->sigma);
    hart_npy_free(&mu);
    hart_npy_free(&sg);
    hart_npz_close(f);
    if (s) hart_fid_stats_free(st);
    return s;
}

hart_status hart_fid_stats_save(const char *path, const hart_fid_stats *st) {
    const char *names[2] = {"mu", "sigma"};
    int ndims[2] = {1, 2};
    int64_t s1[1] = {st->dim}, s2[2] = {st->dim, st->dim};
    const int64_t *shapes[2] = {s1, s2};
    const double *data[2] = {st->mu, st->sigma};
    return hart_npz_save_f64(path, 2, names, ndims, shapes, data);
}
