/* Quantized linear weights (docs/quant.md): the three formats and their
 * storage. A quantized weight is attached to a shell tensor of the float
 * weight's shape [N, K] (hart_tensor.quant, no data of its own), so that
 * hart_op_linear on it runs the quantized op (hart_op_qlinear) and every
 * model's linear layers need no change.
 *
 *   W8A8  (SmoothQuant): q I8 [N, K] in [-127, 127], scale F32 [N]:
 *         w[n,k] = q[n,k] * scale[n]; activations int8 per row, int32 sums.
 *   W4A16 (AWQ): q U8 [N, ceil(K/2)] (k even in the low nibble), unsigned
 *         4-bit; per group of `group` k: scale F32 [N, G], zero U8 [N, G]:
 *         w[n,k] = (q - zero[n,g]) * scale[n,g]; activations stay float.
 *   W4A8  (QServe progressive): q as W4A16; gscale U8 [N, G] (1..16), zero
 *         U8 [N, G] (0..15), scale F32 [N]: the int8 weight is
 *         w8 = (u8)(q * gscale) - (u8)(zero * gscale)  (in [-127, 127]),
 *         w[n,k] = w8 * scale[n]; activations int8 per row as W8A8. */
#ifndef HART_CORE_QWEIGHT_H
#define HART_CORE_QWEIGHT_H

#include "core/tensor.h"

typedef enum { HART_QF_NONE = 0, HART_QF_W8A8, HART_QF_W4A16, HART_QF_W4A8, HART_QF_COUNT } hart_qformat;

#define HART_QGROUP 128 /* K per group of the 4-bit formats */

typedef struct hart_qweight {
    hart_qformat fmt;
    int64_t N, K;
    int group;       /* 4-bit formats: k per group; 0 for W8A8 */
    int64_t ngroups; /* ceil(K / group); 0 for W8A8 */
    hart_tensor q, scale, zero, gscale; /* see above; unused ones are empty */
    hart_tensor insmooth; /* optional F32 [K]: x[..., k] is multiplied by it before the
                             product (SmoothQuant / AWQ per-input-channel scales 1/s) */
} hart_qweight;

/* 4-bit value k of a packed row, and W4A8's integer dequantization. */
static inline int hart_q4_at(const uint8_t *row, int64_t k) {
    uint8_t b = row[k >> 1];
    return (k & 1) ? b >> 4 : b & 15;
}
static inline int hart_w4a8_int8(int q, int gscale, int zero) {
    return (int)(uint8_t)(q * gscale) - (int)(uint8_t)(zero * gscale);
}
/* int8 value [n, k] of a W8A8/W4A8 weight on the host. */
int hart_qweight_int8_at(const hart_qweight *w, int64_t n, int64_t k);

/* "w8a8", "w4a16", "w4a8" (and "none"); unknown names -> HART_EINVAL naming the accepted ones. */
hart_status hart_qformat_parse(const char *s, hart_qformat *out);
const char *hart_qformat_name(hart_qformat f);
/* Whether fmt quantizes the activations to int8 (W8A8, W4A8). */
int hart_qformat_int8_act(hart_qformat f);

/* Empty weight of format fmt with zeroed parts on backend be (NULL = host). */
hart_status hart_qweight_new(struct hart_backend *be, hart_qformat fmt, int64_t N, int64_t K, int group,
                             hart_qweight *out);
/* Copy to another backend. */
hart_status hart_qweight_to(struct hart_backend *be, const hart_qweight *src, hart_qweight *out);
void hart_qweight_free(hart_qweight *w);
/* Rows r0..r0+n of a host weight (insmooth copied whole). */
hart_status hart_qweight_rows(const hart_qweight *src, int64_t r0, int64_t n, hart_qweight *out);
/* Bytes of all parts (what the weight costs in memory). */
size_t hart_qweight_bytes(const hart_qweight *w);

/* Attach: a shell tensor [N, K] (dtype F32, no storage) owning a heap copy of w
 * (w's parts move into it; w is zeroed). */
hart_status hart_qweight_attach(hart_qweight *w, hart_tensor *shell);

#endif
