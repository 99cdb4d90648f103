/* OpenCL fused block ops (kernels/fused.cl): norm_mod, swiglu, qkv_heads. */
#include <stdint.h>

#include "backend/opencl/cl_internal.h"

static const size_t L256[1] = {256};

hart_status hart_cl_norm_mod(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *g,
                             const hart_tensor *bt, const hart_tensor *s1p, const hart_tensor *shift, float eps, int rms) {
    int64_t D = x->shape[2], toks = x->shape[1], R = x->shape[0] * toks;
    if (!R || !D) return HART_OK;
    if (hart_tensor_numel(x) > INT32_MAX) return hart_fail(HART_EUNSUPPORTED, "hart_op_norm_mod: tensor over 2^31 elements");
    size_t gws[1] = {(size_t)R * 256};
    return CLRUN(clb_of(be), "norm_mod_rows", 1, gws, L256, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AI(y->dtype == HART_F16), AI(D), AI(toks), AM(g ? T_MEM(g) : T_MEM(x)), AI(g ? T_OFF(g) : 0),
                 AI(g ? T_DT(g) : 0), AI(g != NULL), AM(bt ? T_MEM(bt) : T_MEM(x)), AI(bt ? T_OFF(bt) : 0),
                 AI(bt ? T_DT(bt) : 0), AI(bt != NULL), AM(s1p ? T_MEM(s1p) : T_MEM(x)), AI(s1p ? T_OFF(s1p) : 0),
                 AM(shift ? T_MEM(shift) : T_MEM(x)), AI(shift ? T_OFF(shift) : 0), AI(s1p != NULL), AF(eps), AI(rms));
}

hart_status hart_cl_swiglu(hart_backend *be, hart_tensor *y, const hart_tensor *x) {
    int64_t n = hart_tensor_numel(y), H = y->shape[y->ndim - 1];
    if (!n) return HART_OK;
    if (hart_tensor_numel(x) > INT32_MAX) return hart_fail(HART_EUNSUPPORTED, "hart_op_swiglu: tensor over 2^31 elements");
    size_t gws[1] = {(size_t)n};
    return CLRUN(clb_of(be), "swiglu_rows", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AI(y->dtype == HART_F16), AI(H), AI(n));
}

hart_status hart_cl_qkv_heads(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *c,
                              const hart_tensor *s) {
    int64_t B = x->shape[0], L = x->shape[1], H = y->shape[1], D = y->shape[3], n = hart_tensor_numel(y) / 2;
    if (!n) return HART_OK;
    if (hart_tensor_numel(y) > INT32_MAX) return hart_fail(HART_EUNSUPPORTED, "hart_op_qkv_heads: tensor over 2^31 elements");
    size_t gws[1] = {(size_t)n};
    return CLRUN(clb_of(be), "qkv_heads", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AM(c ? T_MEM(c) : T_MEM(x)), AI(c ? T_OFF(c) : 0), AM(s ? T_MEM(s) : T_MEM(x)), AI(s ? T_OFF(s) : 0),
                 AI(c != NULL), AI(B), AI(H), AI(L), AI(D), AI(n));
}
