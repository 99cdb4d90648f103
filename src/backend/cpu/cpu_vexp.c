/* Vectorised exp and the activations built on it, written once with
 * GCC/Clang vector extensions and instantiated for 4 lanes (SSE/NEON, always)
 * and, on x86-64, 8 lanes in AVX2 functions chosen at run time.
 *
 * exp(x): x = n·ln2 + r with |r| <= ln2/2 (ln2 split in two floats), e^r by
 * its degree-7 Taylor polynomial (truncation < 6e-9 relative), 2^n put into
 * the exponent bits. Inputs are clamped to [-87, 88]; below -87.3 (incl. -inf)
 * the result is exactly 0. $HART_CPU_NO_AVX2=1 forces the 4-lane code. Sums accumulate per lane in float over blocks of 8
 * vectors and then in double. */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"

#define DEFINE_VEXP(SUFFIX, ATTR, L)                                                              \
    typedef float vf##SUFFIX __attribute__((vector_size(4 * L)));                                \
    typedef int32_t vi##SUFFIX __attribute__((vector_size(4 * L)));                              \
    ATTR static inline vf##SUFFIX sel##SUFFIX(vi##SUFFIX m, vf##SUFFIX a, vf##SUFFIX b) {        \
        return (vf##SUFFIX)(((vi##SUFFIX)a & m) | ((vi##SUFFIX)b & ~m));                         \
    }                                                                                             \
    ATTR static inline vf##SUFFIX exp##SUFFIX(vf##SUFFIX x) {                                    \
        vf##SUFFIX zero = {0}, lo = zero - 87.0f, hi = zero + 88.0f;                                        \
        vf##SUFFIX xc = sel##SUFFIX(x > hi, hi, sel##SUFFIX(x < lo, lo, x));                     \
        vf##SUFFIX n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;                           \
        vf##SUFFIX r = xc - n * 0.693145752f;                                                     \
        r = r - n * 1.42860677e-6f;                                                               \
        vf##SUFFIX q = r * 1.9841270e-4f + 1.3888889e-3f;                                         \
        q = q * r + 8.3333333e-3f;                                                                \
        q = q * r + 4.1666667e-2f;                                                                \
        q = q * r + 1.6666667e-1f;                                                                \
        q = q * r + 0.5f;                                                                         \
        q = q * r + 1.0f;                                                                         \
        q = q * r + 1.0f;                                                                         \
        vi##SUFFIX e = (__builtin_convertvector(n, vi##SUFFIX) + 127) << 23;                     \
        return sel##SUFFIX(x < -87.3f, zero, q * (vf##SUFFIX)e);                                  \
    }                                                                                             \
    ATTR static double exp_shift##SUFFIX(const float *p, float *o, int64_t n, float mx) {        \
        double sum = 0;                                                                           \
        int64_t i = 0;                                                                            \
        while (i + L <= n) {                                                                      \
            vf##SUFFIX acc = {0};                                                                 \
            for (int k = 0; k < 8 && i + L <= n; k++, i += L) {                                   \
                vf##SUFFIX v;                                                                     \
                memcpy(&v, p + i, sizeof v);                                                      \
                v = exp##SUFFIX(v - mx);                                                          \
                memcpy(o + i, &v, sizeof v);                                                      \
                acc += v;                                                                         \
            }                                                                                     \
            for (int l = 0; l < L; l++) sum += acc[l];                                            \
        }                                                                                         \
        if (i < n) {                                                                              \
            vf##SUFFIX v;                                                                         \
            for (int l = 0; l < L; l++) v[l] = i + l < n ? p[i + l] - mx : -1e30f;                \
            v = exp##SUFFIX(v);                                                                   \
            for (int l = 0; i + l < n; l++) {                                                     \
                o[i + l] = v[l];                                                                  \
                sum += v[l];                                                                      \
            }                                                                                     \
        }                                                                                         \
        return sum;                                                                               \
    }                                                                                             \
    ATTR static float max##SUFFIX(const float *p, int64_t n) {                                     \
        vf##SUFFIX m = {0};                                                                       \
        m -= __builtin_inff();                                                                    \
        int64_t i = 0;                                                                            \
        for (; i + L <= n; i += L) {                                                              \
            vf##SUFFIX v;                                                                         \
            memcpy(&v, p + i, sizeof v);                                                          \
            m = sel##SUFFIX(v > m, v, m);                                                         \
        }                                                                                         \
        float r = m[0];                                                                           \
        for (int l = 1; l < L; l++) r = m[l] > r ? m[l] : r;                                      \
        for (; i < n; i++) r = p[i] > r ? p[i] : r;                                               \
        return r;                                                                                 \
    }                                                                                             \
    ATTR static void scale##SUFFIX(float *o, int64_t n, float f) {                                \
        int64_t i = 0;                                                                            \
        for (; i + L <= n; i += L) {                                                              \
            vf##SUFFIX v;                                                                         \
            memcpy(&v, o + i, sizeof v);                                                          \
            v *= f;                                                                               \
            memcpy(o + i, &v, sizeof v);                                                          \
        }                                                                                         \
        for (; i < n; i++) o[i] *= f;                                                             \
    }                                                                                             \
    ATTR static inline vf##SUFFIX act##SUFFIX(vf##SUFFIX x, int which) {                        \
        if (which == CPU_VF_SILU) return x / (1.0f + exp##SUFFIX(-x));                            \
        if (which == CPU_VF_SIGMOID) return 1.0f / (1.0f + exp##SUFFIX(-x));                      \
        /* gelu(tanh) = x·sigmoid(2u), u = sqrt(2/pi)·(x + 0.044715x³) */                         \
        return x / (1.0f + exp##SUFFIX(-1.5957691216057308f * (x + 0.044715f * x * x * x)));     \
    }                                                                                             \
    ATTR static void vec_act##SUFFIX(const float *x, float *o, int64_t n, int which) {           \
        int64_t i = 0;                                                                            \
        for (; i + L <= n; i += L) {                                                              \
            vf##SUFFIX v;                                                                         \
            memcpy(&v, x + i, sizeof v);                                                          \
            v = act##SUFFIX(v, which);                                                            \
            memcpy(o + i, &v, sizeof v);                                                          \
        }                                                                                         \
        if (i < n) {                                                                              \
            vf##SUFFIX v = {0};                                                                   \
            for (int l = 0; i + l < n; l++) v[l] = x[i + l];                                      \
            v = act##SUFFIX(v, which);                                                            \
            for (int l = 0; i + l < n; l++) o[i + l] = v[l];                                      \
        }                                                                                         \
    }

DEFINE_VEXP(4, , 4)

#if defined(__x86_64__) && defined(__GNUC__)
#define HART_HAVE_AVX2_PATH 1
DEFINE_VEXP(8, __attribute__((target("avx2"))), 8)

static int use_avx2(void) {
    static int v = -1;
    if (v < 0) {
        const char *off = getenv("HART_CPU_NO_AVX2"); /* tests of the 4-lane path */
        __builtin_cpu_init();
        v = __builtin_cpu_supports("avx2") && !(off && *off && *off != '0') ? 1 : 0;
    }
    return v;
}
#endif

double hart_cpu_exp_shift(const float *p, float *o, int64_t n, float mx) {
#ifdef HART_HAVE_AVX2_PATH
    if (use_avx2()) return exp_shift8(p, o, n, mx);
#endif
    return exp_shift4(p, o, n, mx);
}

void hart_cpu_vec_act(const float *x, float *o, int64_t n, int which) {
#ifdef HART_HAVE_AVX2_PATH
    if (use_avx2()) {
        vec_act8(x, o, n, which);
        return;
    }
#endif
    vec_act4(x, o, n, which);
}

float hart_cpu_row_max(const float *p, int64_t n) {
#ifdef HART_HAVE_AVX2_PATH
    if (use_avx2()) return max8(p, n);
#endif
    return max4(p, n);
}

void hart_cpu_row_scale(float *o, int64_t n, float f) {
#ifdef HART_HAVE_AVX2_PATH
    if (use_avx2()) {
        scale8(o, n, f);
        return;
    }
#endif
    scale4(o, n, f);
}
