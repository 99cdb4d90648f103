/* Private helpers of the CPU backend (OpenBLAS + OpenMP fast paths). */
#ifndef HART_CPU_INTERNAL_H
#define HART_CPU_INTERNAL_H

#include <stdint.h>

#include "backend/ref/ref_util.h"

/* o[i] = exp(p[i] - mx) for i < n (o may equal p); returns the sum in
 * double. Polynomial exp on 4 or 8 lanes (AVX2 chosen at run time), about
 * 2 ulp from expf on [-87, 88], exactly 0 below -87.3 (incl. -inf). */
double cpu_exp_shift(const float *p, float *o, int64_t n, float mx);
/* max of p[0..n) (-inf when n == 0; NaNs are skipped), and o[i] *= f. */
float cpu_row_max(const float *p, int64_t n);
void cpu_row_scale(float *o, int64_t n, float f);
/* o[i] = F(x[i]) for F = SiLU / sigmoid / tanh-GELU (act 1, 2, 3 below). */
enum { CPU_VF_SILU = 1, CPU_VF_SIGMOID, CPU_VF_GELU_TANH };
void cpu_vec_act(const float *x, float *o, int64_t n, int which);

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
