/* The reference backend: naive host implementations, the oracle of every test. */
#include "backend/ref/ref_util.h"

const hart_backend_vt hart_ref_vt = {
    .linear = ref_linear, .matmul = ref_matmul, .conv2d = ref_conv2d,
    .group_norm = ref_group_norm, .layer_norm = ref_layer_norm, .rms_norm = ref_rms_norm,
    .softmax = ref_softmax, .act = ref_act, .binary = ref_binary, .scale = ref_scale,
    .copy = ref_copy, .transpose = ref_transpose, .concat = ref_concat, .slice = ref_slice,
    .slice_assign = ref_slice_assign, .embedding = ref_embedding, .attention = ref_attention,
    .rope = ref_rope, .interpolate = ref_interpolate, .pixel_shuffle = ref_pixel_shuffle,
    .pixel_unshuffle = ref_pixel_unshuffle, .reduce = ref_reduce, .argmin_dist = ref_argmin_dist,
};

static hart_backend g_ref = {.vt = &hart_ref_vt, .kind = HART_BACKEND_CPU, .name = "reference (naive C)"};

hart_backend *hart_backend_ref(void) { return &g_ref; }
