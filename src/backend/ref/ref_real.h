/* The element type of the reference ops. Each ref_*.inc source is compiled
 * twice: as the float reference (ref_ops_f32.c, host tensors, functions
 * hart_ref_*) and, with REF_F64 defined, as the double ref64 backend
 * (ref64/ref64_ops.c, storage from ref64_store.h, functions hart_ref64_*). */
#ifndef HART_REF_REAL_H
#define HART_REF_REAL_H

#include "backend/backend.h"

#ifdef REF_F64
#include "backend/ref64/ref64_store.h"
typedef double ref_real;
#define REF_FN(name) hart_ref64_##name
static inline void *ref_data(const hart_tensor *t) { return ref64_ptr(t); }
static inline size_t ref_es(const hart_tensor *t) { return ref64_elem_size(t->dtype); }
/* Element i of a float tensor of any float dtype (all stored as double). */
static inline double ref_ld(const hart_tensor *t, int64_t i) { return ((const double *)ref64_ptr(t))[i]; }
/* Store v into element i of float tensor t, rounded to t's dtype. */
static inline void ref_st(const hart_tensor *t, int64_t i, double v) {
    double *p = ref64_ptr(t);
    if (t->dtype == HART_F16) p[i] = hart_f16_to_f32(hart_f32_to_f16((float)v));
    else if (t->dtype == HART_BF16) p[i] = hart_bf16_to_f32(hart_f32_to_bf16((float)v));
    else p[i] = v;
}
#else
typedef float ref_real;
#define REF_FN(name) hart_ref_##name
static inline void *ref_data(const hart_tensor *t) { return t->data; }
static inline size_t ref_es(const hart_tensor *t) { return hart_dtype_size_bits(t->dtype) / 8; }
static inline float ref_ld(const hart_tensor *t, int64_t i) {
    switch (t->dtype) {
    case HART_F16: return hart_f16_to_f32(((const uint16_t *)t->data)[i]);
    case HART_BF16: return hart_bf16_to_f32(((const uint16_t *)t->data)[i]);
    default: return ((const float *)t->data)[i];
    }
}
static inline void ref_st(const hart_tensor *t, int64_t i, float v) {
    if (t->dtype == HART_F32) ((float *)t->data)[i] = v;
    else if (t->dtype == HART_F16) ((uint16_t *)t->data)[i] = hart_f32_to_f16(v);
    else ((uint16_t *)t->data)[i] = hart_f32_to_bf16(v);
}
#endif

/* Bytes of t's storage. */
#ifdef REF_F64
static inline size_t ref_bytes(const hart_tensor *t) { return (size_t)hart_tensor_numel(t) * ref_es(t); }
#else
static inline size_t ref_bytes(const hart_tensor *t) { return hart_tensor_nbytes(t); }
#endif

static inline ref_real *ref_f(const hart_tensor *t) { return (ref_real *)ref_data(t); }

/* Product of dims [from, to). */
static inline int64_t ref_dims(const hart_tensor *t, int from, int to) {
    int64_t n = 1;
    for (int i = from; i < to; i++) n *= t->shape[i];
    return n;
}

#endif
