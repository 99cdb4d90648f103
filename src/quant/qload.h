/* Linear weights as the models load them (docs/quant.md): from a quantized
 * checkpoint (this port's layout or AutoAWQ's), or float — quantized on load
 * by round-to-nearest when `hart generate --quant FMT` asked for it. Also the
 * calibration registry: which model tensor is which checkpoint weight, and
 * the observer hart_op_linear calls during `hart quantize`.
 *
 * Tensor names, for a linear weight "P.weight" [N, K]:
 *   P.qweight  I8 [N, K] (w8a8) or U8 [N, ceil(K/2)] (w4a16, w4a8; k even in
 *              the low nibble), P.wscale F32 [N] (w8a8, w4a8) or [N, G] (w4a16),
 *              P.wzero U8 [N, G], P.wgscale U8 [N, G] (w4a8 only),
 *              P.insmooth F32 [K] (optional smoothing, core/qweight.h);
 *   AutoAWQ (w4a16): P.qweight I32 [K, N/8], P.qzeros I32 [K/G, N/8], P.scales F16 [K/G, N]. */
#ifndef HART_QUANT_QLOAD_H
#define HART_QUANT_QLOAD_H

#include "backend/backend.h"
#include "core/checkpoint.h"
#include "core/qweight.h"

/* Process-wide: quantize float linear weights on load (HART_QF_NONE: no). */
void hart_quant_set_on_load(hart_qformat f);
hart_qformat hart_quant_on_load(void);

/* A linear weight read from a checkpoint: a float view (is_q 0) or a host qweight. */
typedef struct {
    int is_q;
    hart_tensor f;
    hart_qweight q;
} hart_linear_src;

/* Read "P.weight" [N, K] (either form). */
hart_status hart_linear_read(const hart_checkpoint *ck, const char *name, int64_t N, int64_t K, hart_linear_src *out);
/* Rows r0..r0+n onto be: a float tensor (as_weight: in the backend's GEMM
 * weight dtype, hart_weight_to; else as stored, hart_tensor_to), or a
 * quantized shell tensor (core/qweight.h) — also when the source is float and
 * hart_quant_on_load() is set. Registers the result under (name, r0) for calibration. */
hart_status hart_linear_upload(hart_backend *be, const hart_checkpoint *ck, const char *name, const hart_linear_src *src,
                               int64_t r0, int64_t n, int as_weight, hart_tensor *out);
void hart_linear_src_free(const hart_checkpoint *ck, hart_linear_src *src);
/* read + upload of all rows */
hart_status hart_ckpt_get_linear(const hart_checkpoint *ck, hart_backend *be, const char *name, int64_t N, int64_t K,
                                 int as_weight, hart_tensor *out);

/* Whether the checkpoint holds a quantized form of "P.weight". */
int hart_ckpt_has_quant(const hart_checkpoint *ck, const char *name);

/* ---- calibration (hart quantize) ---- */
typedef struct {
    char name[256];      /* checkpoint name "P.weight" */
    int64_t N, K;        /* of the whole checkpoint tensor */
    float *absmax;       /* [K] max |x_k| over calibration rows */
    double *abssum;      /* [K] Σ |x_k| */
    int64_t rows;        /* rows seen */
    float *sample;       /* [cap, K] kept rows (every stride-th) */
    int64_t nsample, cap, stride;
} hart_calib_entry;

/* Start recording: every hart_op_linear on a float weight uploaded through
 * hart_linear_upload from now on adds its input rows to its entry. */
void hart_calib_begin(int sample_rows);
/* Stop recording; the entries stay until hart_calib_free. */
void hart_calib_end(void);
int hart_calib_count(void);
hart_calib_entry *hart_calib_get(int i);
hart_calib_entry *hart_calib_find(const char *name);
void hart_calib_free(void);

#endif
