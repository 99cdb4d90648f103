/* Weight quantization on the host (docs/quant.md): round-to-nearest into
 * the formats of core/qweight.h, dequantization, and the AutoAWQ tensor
 * layout. Calibration-based methods (SmoothQuant, AWQ) are in calib.h; they
 * end here with scaled weights. */
#ifndef HART_QUANT_QUANTIZE_H
#define HART_QUANT_QUANTIZE_H

#include <stdint.h>

#include "core/qweight.h"

/* Quantize w [N, K] (f32, row-major) into a host qweight of format fmt
 * (4-bit formats: groups of `group` k, HART_QGROUP by default):
 *   W8A8: scale = max|row| / 127, q = clamp(rint(w / scale), ±127);
 *   W4A16: per group, scale = (max − min) / 15 (rounded to f16 so that the
 *          AutoAWQ layout holds it exactly), zero = clamp(rint(−min / scale), 0, 15),
 *          q = clamp(rint(w / scale) + zero, 0, 15);
 *   W4A8: level 1 per row into the protective range ±119: s1 = max|row| / 119,
 *          w8 = clamp(rint(w / s1), ±119); level 2 per group of w8 (integers):
 *          gscale = max(1, ceil((max − min) / 15)) (<= 16), zero = clamp(rint(−min / gscale), 0, 15),
 *          q = clamp(rint(w8 / gscale) + zero, 0, 15), so (u8)(q·gscale) − (u8)(zero·gscale)
 *          stays in [−127, 127] (checked). */
hart_status hart_quantize_rtn(const float *w, int64_t N, int64_t K, hart_qformat fmt, int group, hart_qweight *out);
/* Same from a weight tensor of any float dtype on any backend. */
hart_status hart_quantize_tensor(const hart_tensor *w, hart_qformat fmt, hart_qweight *out);
/* out [N, K] = the float weight the quantized one stands for (host qweight). */
void hart_qweight_dequant(const hart_qweight *w, float *out);

/* AutoAWQ GEMM layout of a W4A16 weight (K % group == 0, N % 8 == 0):
 * qweight int32 [K, N/8], qzeros int32 [K/G, N/8], scales f16 [K/G, N]; int32
 * word j of a row packs columns 8j + order[i] in bits 4i..4i+3 with
 * order = 0,2,4,6,1,3,5,7. */
hart_status hart_awq_pack(const hart_qweight *w, int32_t *qweight, int32_t *qzeros, uint16_t *scales);
hart_status hart_awq_unpack(const int32_t *qweight, const int32_t *qzeros, const uint16_t *scales, int64_t N,
                            int64_t K, int group, hart_qweight *out);

#endif
