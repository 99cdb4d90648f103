/* The fixed-point arithmetic of op block_mask (docs/sparse.md "Masks on
 * the device"), shared by the reference (ref_block_mask.c) and the OpenCL
 * host code; kernels/block_mask.cl writes the same steps in OpenCL C.
 *
 * Why integers: the masks of quest and xattn rank and threshold sums of
 * thousands of products. Float sums depend on the order of summation (and on
 * whether a compiler fuses a*b+c, which -cl-mad-enable allows), so a device
 * and the host would pick different blocks at near-ties. Here each float
 * product (one IEEE rounding, the same everywhere) is truncated to an
 * integer multiple of 2^-24 and everything after is integer arithmetic:
 * sums are exact in any order, so every backend gives the same mask. */
#ifndef HART_BLOCK_MASK_FIX_H
#define HART_BLOCK_MASK_FIX_H

#include <math.h>
#include <stdint.h>

/* products are clamped to ±2^26 before scaling by 2^24: a sum of up to 2^11
 * terms (xattn: stride 8 x head dim 256) stays below 2^61 */
#define BM_FIX_ONE 16777216.0f  /* 2^24 */
#define BM_FIX_LIM 67108864.0f  /* 2^26 */
#define BM_MAX_D 256
/* normalised scores are Q30 (1.0 = 2^30) */
#define BM_Q30 1073741824ull

/* trunc(clamp(x, ±2^26) · 2^24); NaN counts as -2^26 */
static inline int64_t bm_fix(float x) {
    x = !(x >= -BM_FIX_LIM) ? -BM_FIX_LIM : x;
    x = x > BM_FIX_LIM ? BM_FIX_LIM : x;
    return (int64_t)(x * BM_FIX_ONE);
}

/* 2^z in Q30 for z = za · cf (za <= 0, an integer logit difference; cf =
 * scale/S · log2(e) · 2^-24 · 2^24 = bm_xattn_cf): z truncated to 2^-24,
 * split into -n + f/2^24 with f in [0, 2^24), 2^(f/2^24) by its Taylor
 * series of degree 9 in Q30 (Horner, integer), shifted right by n. */
static inline uint64_t bm_exp2_q30(int64_t za, float cf) {
    static const uint64_t c[10] = {1073741824u, 744261118u, 257941248u, 59597083u, 10327387u,
                                   1431680u,    165394u,    16377u,     1419u,     109u};
    float z = (float)za * cf; /* za <= 0, cf >= 0: z <= 0 (or NaN) */
    z = !(z >= -62.0f * BM_FIX_ONE) ? -62.0f * BM_FIX_ONE : z;
    uint64_t m = (uint64_t)(-(int64_t)z);                  /* -z in 2^-24 units, truncated */
    uint64_t n = (m + 16777215u) >> 24, f = (n << 24) - m; /* 2^z = 2^-n · 2^(f/2^24) */
    uint64_t p = c[9];
    for (int i = 8; i >= 0; i--) p = c[i] + ((p * f) >> 24);
    return n >= 63 ? 0 : p >> n;
}

/* the float constant of bm_exp2_q30: scale/S · log2(e), times 2^-24 (the
 * logits' units) and 2^24 (z's units) */
static inline float bm_xattn_cf(float scale, int S) { return (float)((double)scale / S * 1.4426950408889634); }

/* 2^30 · part / whole (part <= whole, whole >= 2^30), both cut to 33 bits
 * first so the product fits 64 bits */
static inline uint64_t bm_share_q30(uint64_t part, uint64_t whole) {
    int sh = 0;
    while ((whole >> sh) >= (1ull << 33)) sh++;
    return ((part >> sh) << 30) / (whole >> sh);
}

/* the kept mass a query block of `rows` strided rows must reach: ceil(T · rows · 2^30) */
static inline int64_t bm_xattn_threshold(double T, int64_t rows) { return (int64_t)ceil(T * (double)rows * (double)BM_Q30); }

/* XAttention's stride for a block size: the largest power of two <= 8 dividing it */
static inline int bm_xattn_stride(int bs) {
    int s = 8;
    while (s > 1 && bs % s) s /= 2;
    return s;
}

#endif
