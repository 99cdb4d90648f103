/* Fréchet Inception Distance: feature statistics (mean and covariance in
 * double) and the distance between two of them,
 *   FID = |mu1 - mu2|² + tr(S1) + tr(S2) - 2 tr((S1^½ S2 S1^½)^½),
 * the last term from symmetric eigen-decompositions (LAPACK dsyevd):
 * S1^½ S2 S1^½ is symmetric positive semi-definite and has the eigenvalues
 * of S1·S2, so no general matrix square root is needed. Statistics files are
 * .npz with float64 `mu` [d] and `sigma` [d,d] (pytorch-fid's --save-stats). */
#ifndef HART_PIPELINE_FID_H
#define HART_PIPELINE_FID_H

#include <stdint.h>

#include "core/status.h"

typedef struct {
    int64_t dim;
    int64_t n;     /* images behind the stats (0 when read from a file) */
    double *mu;    /* [dim] */
    double *sigma; /* [dim, dim], symmetric */
} hart_fid_stats;

/* Streaming accumulator of feature rows (shifted by the first batch's mean
 * so the covariance does not cancel). */
typedef struct {
    int64_t dim, n;
    double *shift, *sum, *m2;
} hart_fid_acc;

hart_status hart_fid_acc_init(hart_fid_acc *a, int64_t dim);
/* Add n rows of dim features (row-major). */
hart_status hart_fid_acc_add(hart_fid_acc *a, const double *rows, int64_t n);
/* mean and the unbiased covariance (as np.cov) of the rows added; needs >= 2 rows. */
hart_status hart_fid_acc_stats(const hart_fid_acc *a, hart_fid_stats *st);
void hart_fid_acc_free(hart_fid_acc *a);

void hart_fid_stats_free(hart_fid_stats *st);
hart_status hart_fid_distance(const hart_fid_stats *a, const hart_fid_stats *b, double *fid);

/* .npz with float64 (or float32) `mu` and `sigma` -> stats. */
hart_status hart_fid_stats_load(const char *path, hart_fid_stats *st);
/* stats -> .npz (`mu`, `sigma` float64), atomically. */
hart_status hart_fid_stats_save(const char *path, const hart_fid_stats *st);

#endif

/* ---- statistics of an input (fid_source.c) ---- */
struct hart_inception;
/* Wall seconds per phase of image inputs, added to when hart_fid_opts asks;
 * the device is then waited for after each phase (no overlap is measured). */
typedef struct {
    double read_s;    /* file read + PNG/JPEG decode (or the .npz slice) */
    double prep_s;    /* to the device, bilinear resize to 299, 2x-1 */
    double network_s; /* the Inception forward */
    double stats_s;   /* features to the host, mean/covariance update */
} hart_fid_timing;
typedef struct {
    struct hart_inception *model; /* needed for image inputs (NULL: such inputs are an error) */
    int batch;                    /* images per forward pass (>= 1) */
    void (*progress)(void *arg, const char *path, int64_t done, int64_t total);
    void *progress_arg;
    hart_fid_timing *timing;      /* NULL: no timing (and no extra waits) */
} hart_fid_opts;

/* What an input path is. */
typedef enum { HART_FID_SRC_FOLDER, HART_FID_SRC_STATS, HART_FID_SRC_IMAGES_NPZ } hart_fid_src_kind;
/* Classify `path`: a folder of PNG/JPEG images, an .npz with mu/sigma, or
 * an .npz with arr_0 uint8 images [N,H,W,3] (ImageNet reference batches;
 * mu/sigma win when both are present). Errors name the path. */
hart_status hart_fid_source_kind(const char *path, hart_fid_src_kind *kind);
/* Statistics of `path` (any kind above). */
hart_status hart_fid_stats_of(const char *path, const hart_fid_opts *o, hart_fid_stats *st);
