/* Calibrated weight quantization (docs/quant.md): the per-input-channel
 * scale s of SmoothQuant (W8A8, W4A8) and AWQ (W4A16), chosen on the
 * calibration statistics of one linear layer (quant/qload.h), then the
 * round-to-nearest quantizer on W·diag(s); the quantized weight keeps 1/s as
 * its `insmooth`, applied to the activations (x·diag(1/s)) in the op.
 *
 *   SmoothQuant: s_k = max|X_k|^α / max_n|W_nk|^(1−α); α given, or (alpha < 0)
 *                the best of 0.30, 0.35, ..., 0.90 by the layer's output error on
 *                the calibration rows (kept only if better than no smoothing).
 *   AWQ:         s_k = mean|X_k|^r, normalised by sqrt(max s · min s), r the best
 *                of 0, 1/20, ..., 19/20 by the same output error.
 *   W4A8 (QServe): SmoothQuant's scale, then the progressive quantizer.
 * Without calibration rows (e == NULL) it is plain round-to-nearest.
 * `group`: k per group of the 4-bit formats (0 = HART_QGROUP). */
#ifndef HART_QUANT_SMOOTH_H
#define HART_QUANT_SMOOTH_H

#include "core/qweight.h"
#include "quant/qload.h"

typedef struct {
    double param;       /* α (SmoothQuant) or r (AWQ) chosen; -1 = none (RTN) */
    double err_rtn;     /* relative output error (Frobenius) of plain RTN on the calibration rows */
    double err;         /* same with the chosen scale */
} hart_smooth_result;

hart_status hart_quantize_calibrated(const float *w, int64_t N, int64_t K, hart_qformat fmt, const hart_calib_entry *e,
                                     double alpha, int group, hart_qweight *out, hart_smooth_result *res);

/* Same for nw weights w[j] [N[j], K] that read the same input (q/k/v after one
 * norm, gate/up): one scale s for all (the group's output error decides), no
 * insmooth; s_out [K] receives s (all 1 when none was chosen), for the
 * caller to fold 1/s into the preceding norm's weight. */
hart_status hart_quantize_calibrated_group(const float *const *w, const int64_t *N, int nw, int64_t K, hart_qformat fmt,
                                           const hart_calib_entry *e, double alpha, int group, hart_qweight *outs, float *s_out,
                                           hart_smooth_result *res);

#endif
