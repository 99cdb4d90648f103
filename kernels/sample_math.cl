/* Token-sampling arithmetic shared word for word by the host and the
 * kernels: src/core/sample_fixed.c includes this file as C, the OpenCL
 * program gets it as source. Everything that decides a token is integer
 * arithmetic on the bits of float32 logits, so the kept set and the drawn
 * token are the same on every backend that sees the same logits (no exp, no
 * float sum whose rounding depends on the order of a parallel reduction).
 *
 * Weights: w(d) ~ 2^40 · exp(d) for d = logit − row max <= 0, as an integer
 * (relative error < 2e-8, 0 below d = −30). Row sums of up to 2^22 weights
 * fit in 63 bits and are exact in any order.
 *
 * Types and the float-bits helper come from the includer: SM_U32, SM_U64,
 * SM_BITS(float) -> SM_U32, SM_FN (function qualifiers). */

/* Sort key of a float: unsigned order = float order; -0 counts as +0 (they
 * compare equal as floats, so top-k ties must treat them as one value). */
SM_FN SM_U32 sm_key(float f) {
    SM_U32 u = SM_BITS(f);
    if ((u & 0x7fffffffu) == 0) u = 0;
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/* 2^40 · exp(d) for d <= 0 (d = -inf or NaN: 0; d = 0: exactly 2^40). */
SM_FN SM_U64 sm_weight(float d) {
    SM_U32 xb = SM_BITS(d) & 0x7fffffffu; /* |d| */
    if (xb == 0) return (SM_U64)1 << 40;
    if (xb >= 0x41f00000u) return 0; /* |d| >= 30 (also inf, NaN) */
    int e = (int)(xb >> 23) - 127;
    SM_U64 m = (SM_U64)(xb & 0x7fffffu);
    if (e == -127) e = -126; /* subnormal */
    else m |= 0x800000u;
    /* X = |d| · 2^28 (truncated): m · 2^(e - 23 + 28) */
    int sh = e + 5;
    SM_U64 X = sh >= 0 ? m << sh : (sh > -40 ? m >> (-sh) : 0);
    /* Y = |d| · log2(e) · 2^28; 2^-Y = 2^-n · 2^-f */
    SM_U64 Y = (X * (SM_U64)1549082005u) >> 30; /* log2(e) · 2^30 */
    int n = (int)(Y >> 28);
    SM_U64 f = Y & (((SM_U64)1 << 28) - 1);
    SM_U64 t = (f * (SM_U64)1488522236u) >> 28; /* f · ln 2, scale 2^31 */
    /* exp(-t) = 1 - t(1 - t/2(1 - t/3(...))), 12 terms, scale 2^31 */
    const SM_U64 one = (SM_U64)1 << 31;
    SM_U64 r = one;
    for (int k = 12; k >= 1; k--) r = one - ((t * r) >> 31) / (SM_U64)k;
    return n > 40 ? 0 : (r << 9) >> n;
}

/* Weight of logit x in a row whose maximum is mx (removed entries, -inf,
 * weigh 0; with mx = +inf only the +inf entries weigh). */
SM_FN SM_U64 sm_row_weight(float x, float mx) {
    if (x == mx) return (SM_U64)1 << 40;
    return sm_weight(x - mx);
}

/* floor(q · s / 2^32) for q < 2^32, s < 2^63, exactly. */
SM_FN SM_U64 sm_frac_of(SM_U64 q, SM_U64 s) {
    return q * (s >> 32) + ((q * (s & 0xffffffffu)) >> 32);
}
