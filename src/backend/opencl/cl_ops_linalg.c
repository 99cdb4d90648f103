/* OpenCL linear, matmul and conv2d on the tiled GEMM kernel (kernels/gemm.cl). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_internal.h"

static hart_status check_int(const char *op, int64_t n) {
    if (n > INT32_MAX) return hart_fail(HART_EUNSUPPORTED, "%s: tensor of %lld elements exceeds the OpenCL kernels' 2^31 limit", op, (long long)n);
    return HART_OK;
}

hart_status clb_gemm(clb *b, const clb_gemm_args *g) {
    size_t gws[3] = {(size_t)(g->N + 63) / 64 * 16, (size_t)(g->M + 63) / 64 * 16, (size_t)g->nz0 * (size_t)g->nz1};
    size_t lws[3] = {16, 16, 1};
    if (!g->M || !g->N || !g->nz0 || !g->nz1) return HART_OK;
    cl_mem bias = g->bias ? g->bias : g->c;
    const char *kn = "gemm_tiled";
    /* 128x128 tiles once there are at least as many of them as compute units
     * (or always with $HART_CL_BIG_TILES=1) */
    static int force_big = -1;
    if (force_big < 0) force_big = getenv("HART_CL_BIG_TILES") ? atoi(getenv("HART_CL_BIG_TILES")) : 0;
    int64_t tiles = (int64_t)((g->M + 127) / 128) * ((g->N + 127) / 128) * g->nz0 * g->nz1;
    if (force_big || (tiles >= b->cus && g->M >= 256 && g->N >= 256)) {
        kn = "gemm_tiled_big";
        gws[0] = (size_t)(g->N + 127) / 128 * 16;
        gws[1] = (size_t)(g->M + 127) / 128 * 16;
    }
    size_t tgws[3] = {(size_t)(g->N + 127) / 128 * 256, (size_t)(g->M + 127) / 128, gws[2]}, tlws[3] = {256, 1, 1};
    if (b->tc) { kn = "nv_gemm_tc"; memcpy(gws, tgws, sizeof gws); memcpy(lws, tlws, sizeof lws); }
    return CLRUN(b, kn, 3, gws, lws, AI(g->M), AI(g->N), AI(g->K), AI(g->nz1),
                 AM(g->a), AI(g->a_off), AI(g->a_dt), AI(g->a_sm), AI(g->a_sk), AI(g->a_s0), AI(g->a_s1),
                 AM(g->b), AI(g->b_off), AI(g->b_dt), AI(g->b_sk), AI(g->b_sn), AI(g->b_s0), AI(g->b_s1),
                 AM(g->c), AI(g->c_off), AI(g->c_sm), AI(g->c_s0), AI(g->c_s1),
                 AM(bias), AI(g->bias_off), AI(g->bias_dt), AI(g->bias ? g->bias_mode : 0), AI(g->bias_s1),
                 AF(g->alpha));
}

hart_status clo_linear(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                       const hart_tensor *bias) {
    int64_t K = x->shape[x->ndim - 1], N = w->shape[0], M = hart_tensor_numel(x) / (K ? K : 1);
    HART_TRY(check_int("op_linear", hart_tensor_numel(x)));
    HART_TRY(check_int("op_linear", hart_tensor_numel(w)));
    HART_TRY(check_int("op_linear", hart_tensor_numel(y)));
    clb_gemm_args g;
    memset(&g, 0, sizeof g);
    g.M = (int)M; g.N = (int)N; g.K = (int)K; g.nz0 = g.nz1 = 1; g.alpha = 1.0f;
    g.a = T_MEM(x); g.a_off = T_OFF(x); g.a_dt = 0; g.a_sm = (int)K; g.a_sk = 1;
    g.b = T_MEM(w); g.b_off = T_OFF(w); g.b_dt = T_DT(w); g.b_sk = 1; g.b_sn = (int)K;
    g.c = T_MEM(y); g.c_off = T_OFF(y); g.c_sm = (int)N;
    if (bias) { g.bias = T_MEM(bias); g.bias_off = T_OFF(bias); g.bias_dt = T_DT(bias); g.bias_mode = 1; }
    return clb_gemm(clb_of(be), &g);
}

hart_status clo_matmul(hart_backend *be, hart_tensor *c, const hart_tensor *a, const hart_tensor *bm, int ta,
                       int tb, float alpha) {
    int na = a->ndim, nb = bm->ndim;
    int64_t M = ta ? a->shape[na - 1] : a->shape[na - 2], K = ta ? a->shape[na - 2] : a->shape[na - 1];
    int64_t N = tb ? bm->shape[nb - 2] : bm->shape[nb - 1];
    HART_TRY(check_int("op_matmul", hart_tensor_numel(a)));
    HART_TRY(check_int("op_matmul", hart_tensor_numel(bm)));
    HART_TRY(check_int("op_matmul", hart_tensor_numel(c)));
    int64_t batch = 1;
    for (int i = 0; i < na - 2; i++) batch *= a->shape[i];
    int bbatch = nb > 2;
    clb_gemm_args g;
    memset(&g, 0, sizeof g);
    g.M = (int)M; g.N = (int)N; g.K = (int)K; g.nz0 = (int)batch; g.nz1 = 1; g.alpha = alpha;
    g.a = T_MEM(a); g.a_off = T_OFF(a);
    g.a_sm = ta ? 1 : (int)K; g.a_sk = ta ? (int)M : 1; g.a_s0 = (int)(M * K);
    g.b = T_MEM(bm); g.b_off = T_OFF(bm);
    g.b_sk = tb ? 1 : (int)N; g.b_sn = tb ? (int)K : 1; g.b_s0 = bbatch ? (int)(K * N) : 0;
    g.c = T_MEM(c); g.c_off = T_OFF(c); g.c_sm = (int)N; g.c_s0 = (int)(M * N);
    return clb_gemm(clb_of(be), &g);
}

#define COL_BYTES ((size_t)64 << 20) /* im2col scratch per chunk */

hart_status clo_conv2d(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                       const hart_tensor *bias, int stride, int pad, int groups) {
    clb *b = clb_of(be);
    int64_t N = x->shape[0], Ci = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t Co = y->shape[1], Ho = y->shape[2], Wo = y->shape[3], kh = w->shape[2], kw = w->shape[3];
    int64_t cig = Ci / groups, cog = Co / groups, Kc = cig * kh * kw, P = Ho * Wo;
    HART_TRY(check_int("op_conv2d", hart_tensor_numel(x)));
    HART_TRY(check_int("op_conv2d", hart_tensor_numel(y)));
    HART_TRY(check_int("op_conv2d", hart_tensor_numel(w)));
    clb_gemm_args g;
    memset(&g, 0, sizeof g);
    g.M = (int)cog; g.K = (int)Kc; g.alpha = 1.0f;
    g.a = T_MEM(w); g.a_dt = T_DT(w); g.a_sm = (int)Kc; g.a_sk = 1; g.a_s1 = (int)(cog * Kc);
    g.c = T_MEM(y); g.c_sm = (int)P; g.c_s1 = (int)(cog * P);
    if (bias) { g.bias = T_MEM(bias); g.bias_off = T_OFF(bias); g.bias_dt = T_DT(bias); g.bias_mode = 2; g.bias_s1 = (int)cog; }
    g.a_off = T_OFF(w);
    if (kh == 1 && kw == 1 && stride == 1 && pad == 0) { /* 1x1: the input is already the B matrix */
        g.N = (int)P; g.nz0 = (int)N; g.nz1 = groups;
        g.b = T_MEM(x); g.b_off = T_OFF(x); g.b_sk = (int)P; g.b_sn = 1; g.b_s0 = (int)(Ci * P); g.b_s1 = (int)(cig * P);
        g.c_off = T_OFF(y); g.c_s0 = (int)(Co * P);
        return clb_gemm(b, &g);
    }
    int64_t rows = Ci * kh * kw, pc = (int64_t)(COL_BYTES / 4) / (rows ? rows : 1);
    if (pc < 1) pc = 1;
    if (pc > P) pc = P;
    if (!P || !N) return HART_OK;
    cl_mem col;
    HART_TRY(clb_scratch(be, (size_t)(rows * pc * 4), &col));
    hart_status s = HART_OK;
    for (int64_t n = 0; n < N && !s; n++)
        for (int64_t p0 = 0; p0 < P && !s; p0 += pc) {
            int64_t cnt = P - p0 < pc ? P - p0 : pc;
            size_t gws[2] = {(size_t)cnt, (size_t)rows};
            s = CLRUN(b, "im2col", 2, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x) + n * Ci * H * W), AI(H), AI(W),
                      AI(kh), AI(kw), AI(stride), AI(pad), AI(Wo), AI(p0), AI(cnt), AI(rows), AM(col));
            if (s) break;
            g.N = (int)cnt; g.nz0 = 1; g.nz1 = groups;
            g.b = col; g.b_off = 0; g.b_sk = (int)cnt; g.b_sn = 1; g.b_s1 = (int)(Kc * cnt);
            g.c_off = (int)(T_OFF(y) + n * Co * P + p0);
            s = clb_gemm(b, &g);
        }
    clb_scratch_free(be, col);
    return s;
}
