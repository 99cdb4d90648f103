/* OpenCL quantized linear (kernels/qgemm.cl; NVIDIA: kernels/qgemm_nv.cl). */
#include <stdint.h>
#include <string.h>

#include "backend/opencl/cl_internal.h"
#include "backend/opencl/opencl.h"

static const char *const g_qv_names[] = {"qgemm_i8", "nv_qgemm_dp4a", "nv_qgemm_mma"};

int hart_opencl_set_qgemm_variant(hart_backend *be, int v) {
    clb *b = clb_of(be);
    int n = b->prog_nv ? 3 : 1;
    b->qv = v >= 0 && v < n ? v + 1 : 0;
    return n;
}

const char *hart_opencl_qgemm_variant_name(int v) { return v >= 0 && v < 3 ? g_qv_names[v] : "auto"; }

static hart_status too_big(const char *op, int64_t n) {
    if (n > INT32_MAX) return hart_fail(HART_EUNSUPPORTED, "%s: %lld elements exceed the OpenCL kernels' 2^31 limit", op, (long long)n);
    return HART_OK;
}

hart_status hart_cl_quant_rows(hart_backend *be, hart_tensor *q, hart_tensor *s, const hart_tensor *x) {
    clb *b = clb_of(be);
    HART_TRY(too_big("hart_op_quant_rows", hart_tensor_numel(x)));
    size_t gws[1] = {(size_t)x->shape[0] * 256}, lws[1] = {256};
    return CLRUN(b, "quant_rows_i8", 1, gws, lws, AI(x->shape[1]), AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(q)),
                 AI(T_OFF(q)), AM(T_MEM(s)), AI(T_OFF(s)));
}

/* int8 GEMM: mode 0 -> acc (I32 tensor), mode 1 -> y = acc·sx·sw + bias */
static hart_status launch_qgemm(clb *b, int M, const hart_qweight *w, cl_mem a, int a_off, int mode, cl_mem out,
                                int out_off, cl_mem sx, const hart_tensor *bias) {
    int v = b->qv ? b->qv - 1 : b->prog_nv ? (M >= 32 ? 2 : 1) : 0;
    const char *kn = g_qv_names[v];
    int N = (int)w->N;
    size_t gws[2], lws[2];
    if (v == 2) {
        gws[0] = (size_t)(N + 63) / 64 * 128; gws[1] = (size_t)(M + 63) / 64;
        lws[0] = 128; lws[1] = 1;
    } else {
        gws[0] = (size_t)(N + 63) / 64 * 16; gws[1] = (size_t)(M + 63) / 64 * 16;
        lws[0] = 16; lws[1] = 16;
    }
    const hart_tensor *gs = w->fmt == HART_QF_W4A8 ? &w->gscale : &w->q, *zr = w->fmt == HART_QF_W4A8 ? &w->zero : &w->q;
    cl_mem bm = bias ? T_MEM(bias) : w->scale.dev;
    return CLRUN(b, kn, 2, gws, lws, AI(M), AI(N), AI(w->K), AM(a), AI(a_off), AM(T_MEM(&w->q)), AI(T_OFF(&w->q)),
                 AI(w->fmt), AM(T_MEM(gs)), AI(T_OFF(gs)), AM(T_MEM(zr)), AI(T_OFF(zr)), AI(w->ngroups),
                 AI(w->group ? w->group : 1), AI(mode), AM(out), AI(mode == 0 ? out_off : 0), AM(out),
                 AI(mode == 1 ? out_off : 0), AM(sx ? sx : out), AI(0), AM(T_MEM(&w->scale)), AI(T_OFF(&w->scale)),
                 AM(bm), AI(bias ? T_OFF(bias) : 0), AI(bias ? T_DT(bias) : 0), AI(bias != NULL));
}

hart_status hart_cl_qgemm(hart_backend *be, hart_tensor *acc, const hart_tensor *a, const hart_qweight *w) {
    HART_TRY(too_big("hart_op_qgemm", hart_tensor_numel(acc)));
    HART_TRY(too_big("hart_op_qgemm", hart_tensor_numel(&w->q) * 2));
    if (a->shape[0] == 0) return HART_OK;
    return launch_qgemm(clb_of(be), (int)a->shape[0], w, T_MEM(a), T_OFF(a), 0, T_MEM(acc), T_OFF(acc), NULL, NULL);
}

hart_status hart_cl_qlinear(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_qweight *w,
                            const hart_tensor *bias) {
    clb *b = clb_of(be);
    int64_t K = w->K, N = w->N, M = hart_tensor_numel(x) / K;
    HART_TRY(too_big("hart_op_qlinear", hart_tensor_numel(x)));
    HART_TRY(too_big("hart_op_qlinear", hart_tensor_numel(y)));
    HART_TRY(too_big("hart_op_qlinear", hart_tensor_numel(&w->q) * 2));
    if (M == 0) return HART_OK;
    if (w->fmt == HART_QF_W4A16) {
        int small = M <= 16;
        size_t gws[2] = {small ? (size_t)N * 128 : (size_t)(N + 63) / 64 * 16, small ? 1 : (size_t)(M + 63) / 64 * 16};
        size_t lws[2] = {small ? 128 : 16, small ? 1 : 16};
        cl_mem bm = bias ? T_MEM(bias) : T_MEM(y);
        return CLRUN(b, small ? "gemv_w4a16" : "qgemm_w4a16", 2, gws, lws, AI(M), AI(N), AI(K), AM(T_MEM(x)),
                     AI(T_OFF(x)), AM(T_MEM(&w->q)), AI(T_OFF(&w->q)), AM(T_MEM(&w->scale)), AI(T_OFF(&w->scale)),
                     AM(T_MEM(&w->zero)), AI(T_OFF(&w->zero)), AI(w->ngroups), AI(w->group), AM(T_MEM(y)),
                     AI(T_OFF(y)), AM(bm), AI(bias ? T_OFF(bias) : 0), AI(bias ? T_DT(bias) : 0), AI(bias != NULL));
    }
    cl_mem xq = NULL, sx = NULL;
    hart_status s = hart_cl_scratch(be, (size_t)(M * K), &xq);
    if (!s) s = hart_cl_scratch(be, (size_t)M * sizeof(float), &sx);
    if (!s) {
        size_t gws[1] = {(size_t)M * 256}, lws[1] = {256};
        s = CLRUN(b, "quant_rows_i8", 1, gws, lws, AI(K), AM(T_MEM(x)), AI(T_OFF(x)), AM(xq), AI(0), AM(sx), AI(0));
    }
    if (!s) s = launch_qgemm(b, (int)M, w, xq, 0, 1, T_MEM(y), T_OFF(y), sx, bias);
    if (xq) hart_cl_scratch_free(be, xq);
    if (sx) hart_cl_scratch_free(be, sx);
    return s;
}
