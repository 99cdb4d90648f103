/* Private helpers of the CPU backend (OpenBLAS + OpenMP fast paths). */
#ifndef HART_CPU_INTERNAL_H
#define HART_CPU_INTERNAL_H

#include <stdint.h>

#include "backend/ref/ref_util.h"

/* exp on 4 lanes (GCC/Clang vector extensions, so it
 * compiles to SSE/NEON): x = n·ln2 + r (|r| <= ln2/2), e^r by its degree-7
 * Taylor polynomial (truncation < 6e-9 relative), 2^n built in the exponent
 * bits. ~2 ulp from expf on [-87, 88]; below -87.3 (incl. -inf) exactly 0. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4f v4_sel(v4i m, v4f a, v4f b) { /* m ? a : b, m all-ones/zero lanes */
    return (v4f)(((v4i)a & m) | ((v4i)b & ~m));
}

static inline v4f exp4(v4f x) {
    const v4f lo = {-87.0f, -87.0f, -87.0f, -87.0f}, hi = {88.0f, 88.0f, 88.0f, 88.0f};
    v4f xc = v4_sel(x > hi, hi, v4_sel(x < lo, lo, x));
    v4f n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f; /* round to nearest */
    v4f r = xc - n * 0.693145752f;
    r = r - n * 1.42860677e-6f;
    v4f p = r * 1.9841270e-4f + 1.3888889e-3f;
    p = p * r + 8.3333333e-3f;
    p = p * r + 4.1666667e-2f;
    p = p * r + 1.6666667e-1f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    v4i e = (__builtin_convertvector(n, v4i) + 127) << 23;
    v4f zero = {0, 0, 0, 0};
    return v4_sel(x < -87.3f, zero, p * (v4f)e);
}


/* Below this many elements an elementwise loop stays single-threaded. */
#define CPU_PAR_MIN 32768

/* Float view of a weight tensor. If w is F32 it is used in place; F16/BF16
 * weights come from a process-wide cache of converted copies keyed by the
 * data pointer (bounded by $HART_CPU_WCACHE_MB, default a quarter of RAM),
 * or, when the cache is full, from a temporary copy returned in *tmp that the
 * caller frees. */
hart_status cpu_weight_f32(const hart_tensor *w, const float **out, float **tmp);
/* Convert n float elements of any float dtype to f32 (parallel). */
void cpu_to_f32(const hart_tensor *t, float *dst);

/* Row-major C = alpha·op(A)·op(B) + beta·C through OpenBLAS (kept
 * single-threaded), split over OpenMP threads when big and not already
 * inside a parallel region. */
void cpu_sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
               const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
int cpu_threads(void);
/* Softmax of one row (all -inf -> zeros); o may equal p. */
void cpu_softmax_row(const float *p, float *o, int64_t D);

hart_status cpu_linear(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *);
hart_status cpu_matmul(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, int, int, float);
hart_status cpu_conv2d(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, int, int, int);
hart_status cpu_group_norm(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, int, float);
hart_status cpu_layer_norm(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, float);
hart_status cpu_rms_norm(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, float);
hart_status cpu_softmax(hart_backend *, hart_tensor *, const hart_tensor *);
hart_status cpu_act(hart_backend *, hart_tensor *, const hart_tensor *, hart_act);
hart_status cpu_binary(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, hart_binop);
hart_status cpu_scale(hart_backend *, hart_tensor *, const hart_tensor *, float, float);
hart_status cpu_transpose(hart_backend *, hart_tensor *, const hart_tensor *, const int *);
hart_status cpu_attention(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, float);
hart_status cpu_rope(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, int);
hart_status cpu_interpolate(hart_backend *, hart_tensor *, const hart_tensor *, hart_interp);
hart_status cpu_pixel_shuffle(hart_backend *, hart_tensor *, const hart_tensor *, int);
hart_status cpu_pixel_unshuffle(hart_backend *, hart_tensor *, const hart_tensor *, int);
hart_status cpu_reduce(hart_backend *, hart_tensor *, const hart_tensor *, int, hart_reduce);
hart_status cpu_argmin_dist(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *);

#endif
