/* Private helpers of the CPU backend (OpenBLAS + OpenMP fast paths). */
#ifndef HART_CPU_INTERNAL_H
#define HART_CPU_INTERNAL_H

#include <stdint.h>

#include "backend/ref/ref_util.h"

/* o[i] = exp(p[i] - mx) for i < n (o may equal p); returns the sum in
 * double. Polynomial exp on 4 or 8 lanes (AVX2 chosen at run time), about
 * 2 ulp from expf on [-87, 88], exactly 0 below -87.3 (incl. -inf). */
double hart_cpu_exp_shift(const float *p, float *o, int64_t n, float mx);
/* max of p[0..n) (-inf when n == 0; NaNs are skipped), and o[i] *= f. */
float hart_cpu_row_max(const float *p, int64_t n);
void hart_cpu_row_scale(float *o, int64_t n, float f);
/* o[i] = F(x[i]) for F = SiLU / sigmoid / tanh-GELU (act 1, 2, 3 below). */
enum { CPU_VF_SILU = 1, CPU_VF_SIGMOID, CPU_VF_GELU_TANH };
void hart_cpu_vec_act(const float *x, float *o, int64_t n, int which);

/* Below this many elements an elementwise loop stays single-threaded. */
#define CPU_PAR_MIN 32768

/* Float view of a weight tensor. If w is F32 it is used in place; F16/BF16
 * weights come from a process-wide cache of converted copies keyed by the
 * data pointer (bounded by $HART_CPU_WCACHE_MB, default a quarter of RAM),
 * or, when the cache is full, from a temporary copy returned in *tmp that the
 * caller frees. */
hart_status hart_cpu_weight_f32(const hart_tensor *w, const float **out, float **tmp);
/* Account nb bytes of another cached copy of a weight (the oneDNN layouts of
 * cpu_conv_dnnl.c) under the same $HART_CPU_WCACHE_MB budget: 1 and charged
 * when it fits, else 0 (the caller then makes a per-call copy). */
int hart_cpu_wcache_charge(size_t nb);
void hart_cpu_wcache_refund(size_t nb);
/* Convert n float elements of any float dtype to f32 (parallel). */
void hart_cpu_to_f32(const hart_tensor *t, float *dst);

/* Row-major C = alpha·op(A)·op(B) + beta·C through OpenBLAS (kept
 * single-threaded), split over OpenMP threads when big and not already
 * inside a parallel region. */
/* conv2d through oneDNN (cpu_conv_dnnl.c); *done = 0 when it declines and
 * the caller must compute the convolution itself. bias may be NULL.
 * wkey: the weight tensor's own data (wkey_bytes long) when its reordered
 * copy may be kept for later calls (keyed by it, checked by a fingerprint
 * of its contents), NULL for a one-off weight. */
hart_status hart_cpu_conv2d_dnnl(const float *in, const float *wf, const void *wkey, size_t wkey_bytes,
                                 const float *bias, float *out, int64_t N, int64_t Ci, int64_t H, int64_t W,
                                 int64_t Co, int64_t Ho, int64_t Wo, int64_t kh, int64_t kw, int stride, int pad,
                                 int groups, int *done);
/* The oneDNN weight layouts kept by hart_cpu_conv2d_dnnl (tests). */
int hart_cpu_dnnl_cached_weights(void);
void hart_cpu_sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
               const float *B, int64_t ldb, float beta, float *C, int64_t ldc);
int hart_cpu_threads(void);
/* cpu_heap.c: keep freed activations in the heap (glibc mallopt), unless
 * HART_CPU_HEAP_KEEP=0 or malloc is tuned through the environment; returns 1
 * when the thresholds were set. hart_cpu_heap_wanted: that decision, from
 * the values of HART_CPU_HEAP_KEEP, GLIBC_TUNABLES, MALLOC_MMAP_THRESHOLD_
 * and MALLOC_TRIM_THRESHOLD_ (NULL = unset). */
int hart_cpu_heap_tune(void);
int hart_cpu_heap_wanted(const char *keep, const char *tunables, const char *mmap_env, const char *trim_env);
/* Softmax of one row (all -inf -> zeros); o may equal p. */
void hart_cpu_softmax_row(const float *p, float *o, int64_t D);

/* The ops with a CPU fast path (HART_CPU_FAST_OPS, cpu_backend.c) are
 * defined; the table takes the others from the reference. */
HART_OP_LIST(HART_BE_DECLARE, hart_cpu_)
/* f16 precision mode: y = x rounded to half (backend.h, round_half) */
hart_status hart_cpu_round_half(hart_backend *be, hart_tensor *y, const hart_tensor *x);

#endif
