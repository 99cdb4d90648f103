/* OpenCL quantized linear (kernels/qgemm.cl; NVIDIA: kernels/qgemm_nv.cl and the
 * tensor-core tiles of kernels/qgemm_nv_tc.cl). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "backend/opencl/cl_internal.h"
#include "backend/opencl/opencl.h"

/* int8 tensor-core tile configurations (kernels/qgemm_nv_tc.cl): each is
 * instantiated twice, nv_qg8_<name> (W8A8) and nv_qg4_<name> (W4A8);
 * local memory = st * (bm * 64 + bn * (64 | 32)) bytes <= 48 KiB */
typedef struct {
    const char *name;
    int bm, bn, wm, wn, nt, st8, st4, p; /* p: fragments software-pipelined across stages */
} qtc_cfg;
static const qtc_cfg g_tc[] = {
    {"128x128_w4", 128, 128, 64, 64, 128, 3, 4, 0},
    {"128x128_w8", 128, 128, 64, 32, 256, 3, 4, 0},
    {"128x256_w8", 128, 256, 64, 64, 256, 2, 3, 0},
    {"64x128_w4", 64, 128, 32, 64, 128, 4, 4, 0},
    {"128x128_w4_p", 128, 128, 64, 64, 128, 3, 4, 1},
    {"128x128_w8_p", 128, 128, 64, 32, 256, 3, 4, 1},
};
#define NTC ((int)(sizeof g_tc / sizeof g_tc[0]))
const int hart_cl_qgemm_tc_ninst = 2 * NTC;

const char *hart_cl_qgemm_tc_defs(int i, int undef) {
    static char defs[2 * NTC][256];
    if (undef)
        return "\n#undef QG_NAME\n#undef QG_BM\n#undef QG_BN\n#undef QG_ST\n#undef QG_WM\n#undef QG_WN\n"
               "#undef QG_NT\n#undef QG_W4\n#undef QG_P\n";
    const qtc_cfg *c = &g_tc[i / 2];
    int w4 = i & 1;
    snprintf(defs[i], sizeof defs[i],
             "\n#define QG_NAME nv_qg%d_%s\n#define QG_BM %d\n#define QG_BN %d\n#define QG_ST %d\n#define QG_WM %d\n"
             "#define QG_WN %d\n#define QG_NT %d\n#define QG_W4 %d\n#define QG_P %d\n",
             w4 ? 4 : 8, c->name, c->bm, c->bn, w4 ? c->st4 : c->st8, c->wm, c->wn, c->nt, w4, c->p);
    return defs[i];
}

/* variants: 0 qgemm_i8, 1 nv_qgemm_dp4a, 2 nv_qgemm_mma, 3.. tensor-core tiles */
static const char *const g_qv_names[] = {"qgemm_i8", "nv_qgemm_dp4a", "nv_qgemm_mma"};
#define NQV (3 + NTC)

int hart_opencl_set_qgemm_variant(hart_backend *be, int v) {
    clb *b = clb_of(be);
    int n = b->prog_nv ? NQV : 1;
    b->qv = v >= 0 && v < n ? v + 1 : 0;
    return n;
}

const char *hart_opencl_qgemm_variant_name(int v) {
    static char names[NTC][48];
    if (v >= 0 && v < 3) return g_qv_names[v];
    if (v < 3 || v >= NQV) return "auto";
    snprintf(names[v - 3], sizeof names[v - 3], "nv_qgemm_tc_%s", g_tc[v - 3].name);
    return names[v - 3];
}

/* whether the tensor-core tiles take this call: 16-byte aligned rows and
 * offsets, W4A8 groups a multiple of the 64-wide k step */
static int tc_ok(const hart_qweight *w, int a_off) {
    if (a_off % 16 || T_OFF(&w->q) % 16) return 0;
    if (w->fmt == HART_QF_W8A8) return w->K % 16 == 0;
    return w->fmt == HART_QF_W4A8 && w->K % 32 == 0 && w->group > 0 && w->group % 64 == 0;
}

/* tile choice for the tensor-core path: 128x128 with 4 warps (the fastest
 * of the variants at 4096^3 and every HART shape on the H200, both formats,
 * docs/quant.md) once there is a block per compute unit, else 64x128 */
static int tc_default(const clb *b, int M, int N) {
    long blocks = (long)((M + 127) / 128) * ((N + 127) / 128);
    return blocks >= b->cus ? 0 : 3;
}

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
    int tc = b->prog_nv && M >= 32 && tc_ok(w, a_off);
    int v = b->qv ? b->qv - 1 : !b->prog_nv ? 0 : tc ? 3 + tc_default(b, M, (int)w->N) : M >= 32 ? 2 : 1;
    if (v >= 3 && !tc_ok(w, a_off)) v = 2; /* a forced tile variant on a shape it does not take */
    char kn[64];
    int N = (int)w->N;
    size_t gws[2], lws[2];
    if (v >= 3) {
        const qtc_cfg *c = &g_tc[v - 3];
        snprintf(kn, sizeof kn, "nv_qg%d_%s", w->fmt == HART_QF_W4A8 ? 4 : 8, c->name);
        gws[0] = (size_t)(N + c->bn - 1) / c->bn * c->nt; gws[1] = (size_t)(M + c->bm - 1) / c->bm;
        lws[0] = c->nt; lws[1] = 1;
    } else if (v == 2) {
        snprintf(kn, sizeof kn, "%s", g_qv_names[v]);
        gws[0] = (size_t)(N + 63) / 64 * 128; gws[1] = (size_t)(M + 63) / 64;
        lws[0] = 128; lws[1] = 1;
    } else {
        snprintf(kn, sizeof kn, "%s", g_qv_names[v]);
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

/* W4A16 at many rows where linear layers run on the tensor cores (f16
 * precision mode or $HART_CL_TENSOR_CORES): the weight dequantized to an f16
 * scratch copy per call (N·K·2 bytes, memory-bound and small next to the
 * GEMM), then the f16 tensor-core GEMM a float weight would get (x to f16,
 * f32 accumulation, f16 mode's output rounding): A16 means 16-bit
 * activations, as in AWQ's kernels. */
static hart_status w4a16_tc(hart_backend *be, clb *b, hart_tensor *y, const hart_tensor *x, const hart_qweight *w,
                            const hart_tensor *bias, int M) {
    int N = (int)w->N, K = (int)w->K, Kp = (K + 7) / 8 * 8;
    HART_TRY(too_big("hart_op_qlinear", (int64_t)N * Kp));
    cl_mem wf = NULL;
    HART_TRY(hart_cl_scratch(be, (size_t)N * Kp * 2, &wf));
    size_t gws[2] = {round_up((size_t)Kp, 64), (size_t)N}, lws[2] = {64, 1};
    hart_status s = CLRUN(b, "w4a16_to_f16", 2, gws, lws, AI(N), AI(K), AI(Kp), AM(T_MEM(&w->q)), AI(T_OFF(&w->q)),
                          AM(T_MEM(&w->scale)), AI(T_OFF(&w->scale)), AM(T_MEM(&w->zero)), AI(T_OFF(&w->zero)),
                          AI(w->ngroups), AI(w->group), AM(wf));
    if (!s) {
        clb_gemm_args g;
        memset(&g, 0, sizeof g);
        g.M = M; g.N = N; g.K = K; g.nz0 = g.nz1 = 1; g.alpha = 1.0f;
        g.a = T_MEM(x); g.a_off = T_OFF(x); g.a_dt = T_DT(x); g.a_sm = K; g.a_sk = 1;
        g.b = wf; g.b_dt = 1; g.b_sk = 1; g.b_sn = Kp; /* not b_weight: a scratch buffer is not cached */
        g.c = T_MEM(y); g.c_off = T_OFF(y); g.c_sm = N;
        if (bias) { g.bias = T_MEM(bias); g.bias_off = T_OFF(bias); g.bias_dt = T_DT(bias); g.bias_mode = 1; }
        s = hart_cl_gemm(be, &g);
    }
    hart_cl_scratch_free(be, wf);
    return s;
}

hart_status hart_cl_qlinear(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_qweight *w,
                            const hart_tensor *bias) {
    clb *b = clb_of(be);
    int64_t K = w->K, N = w->N, M = hart_tensor_numel(x) / K;
    HART_TRY(too_big("hart_op_qlinear", hart_tensor_numel(x)));
    HART_TRY(too_big("hart_op_qlinear", hart_tensor_numel(y)));
    HART_TRY(too_big("hart_op_qlinear", hart_tensor_numel(&w->q) * 2));
    if (M == 0) return HART_OK;
    if (w->fmt == HART_QF_W4A16 && b->tc && b->prog_nv && M > 16) return w4a16_tc(be, b, y, x, w, bias, (int)M);
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
