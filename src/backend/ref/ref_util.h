/* The float reference backend (the test oracle): its ops, instantiated from
 * the ref_*.inc sources by ref_ops_f32.c, and its vtable. */
#ifndef HART_REF_UTIL_H
#define HART_REF_UTIL_H

#include "backend/ref/ref_real.h"

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
