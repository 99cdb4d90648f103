/* The double instantiation of the reference ops (functions ref64_*) and the
 * ref64 vtable. */
#define REF_F64 1
#include "backend/ref/ref_real.h"
#include "backend/ref64/ref64_internal.h"

#include "backend/ref/ref_attention.inc"
#include "backend/ref/ref_elementwise.inc"
#include "backend/ref/ref_linalg.inc"
#include "backend/ref/ref_norm.inc"
#include "backend/ref/ref_resample.inc"
#include "backend/ref/ref_shape.inc"

const hart_backend_vt hart_ref64_vt = {
    .sync = ref64_sync,
    .linear = ref64_linear, .matmul = ref64_matmul, .conv2d = ref64_conv2d,
    .group_norm = ref64_group_norm, .layer_norm = ref64_layer_norm, .rms_norm = ref64_rms_norm,
    .softmax = ref64_softmax, .act = ref64_act, .binary = ref64_binary, .scale = ref64_scale,
    .copy = ref64_copy, .transpose = ref64_transpose, .concat = ref64_concat, .slice = ref64_slice,
    .slice_assign = ref64_slice_assign, .embedding = ref64_embedding, .attention = ref64_attention,
    .rope = ref64_rope, .interpolate = ref64_interpolate, .pixel_shuffle = ref64_pixel_shuffle,
    .pixel_unshuffle = ref64_pixel_unshuffle, .reduce = ref64_reduce, .argmin_dist = ref64_argmin_dist,
};
