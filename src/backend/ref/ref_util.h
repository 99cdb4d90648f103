/* Shared helpers of the naive reference backend (the test oracle). */
#ifndef HART_REF_UTIL_H
#define HART_REF_UTIL_H

#include "backend/backend.h"

/* Element i of a float tensor of any float dtype, as float32. */
static inline float ref_ld(const hart_tensor *t, int64_t i) {
    switch (t->dtype) {
    case HART_F16: return hart_f16_to_f32(((const uint16_t *)t->data)[i]);
    case HART_BF16: return hart_bf16_to_f32(((const uint16_t *)t->data)[i]);
    default: return ((const float *)t->data)[i];
    }
}
static inline float *ref_f(const hart_tensor *t) { return (float *)t->data; }

/* Product of dims [from, to). */
static inline int64_t ref_dims(const hart_tensor *t, int from, int to) {
    int64_t n = 1;
    for (int i = from; i < to; i++) n *= t->shape[i];
    return n;
}

hart_status ref_linear(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *);
hart_status ref_matmul(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, int, int, float);
hart_status ref_conv2d(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, int, int, int);
hart_status ref_group_norm(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, int, float);
hart_status ref_layer_norm(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, float);
hart_status ref_rms_norm(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, float);
hart_status ref_softmax(hart_backend *, hart_tensor *, const hart_tensor *);
hart_status ref_act(hart_backend *, hart_tensor *, const hart_tensor *, hart_act);
hart_status ref_binary(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, hart_binop);
hart_status ref_scale(hart_backend *, hart_tensor *, const hart_tensor *, float, float);
hart_status ref_copy(hart_backend *, hart_tensor *, const hart_tensor *);
hart_status ref_transpose(hart_backend *, hart_tensor *, const hart_tensor *, const int *);
hart_status ref_concat(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, int);
hart_status ref_slice(hart_backend *, hart_tensor *, const hart_tensor *, int, int64_t);
hart_status ref_slice_assign(hart_backend *, hart_tensor *, const hart_tensor *, int, int64_t);
hart_status ref_embedding(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *);
hart_status ref_attention(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, float);
hart_status ref_rope(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, int);
hart_status ref_interpolate(hart_backend *, hart_tensor *, const hart_tensor *, hart_interp);
hart_status ref_pixel_shuffle(hart_backend *, hart_tensor *, const hart_tensor *, int);
hart_status ref_pixel_unshuffle(hart_backend *, hart_tensor *, const hart_tensor *, int);
hart_status ref_reduce(hart_backend *, hart_tensor *, const hart_tensor *, int, hart_reduce);
hart_status ref_argmin_dist(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *);

/* The reference vtable (also the CPU backend's fallback for ops it has no fast path for). */
extern const hart_backend_vt hart_ref_vt;

#endif
