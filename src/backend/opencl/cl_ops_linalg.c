/* OpenCL linear, matmul and conv2d on the tiled GEMM kernel (kernels/gemm.cl). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_internal.h"
#include "backend/opencl/cl_wgmma.h"
#include "backend/opencl/opencl.h"

static hart_status check_int(const char *op, int64_t n) {
    if (n > INT32_MAX) return hart_fail(HART_EUNSUPPORTED, "%s: tensor of %lld elements exceeds the OpenCL kernels' 2^31 limit", op, (long long)n);
    return HART_OK;
}

/* name, block tile bm x bn, k step bk, stages, warp tile wm x wn, work-items,
 * fragment mode 0/1/2, see kernels/hgemm_nv.cl (local memory = st * (bm + bn) * bk * 2 bytes <= 48 KiB) */
const clb_hgemm_variant hart_cl_hgemm_variants[] = {
    {"nv_hgemm_128x128x32_s3_w8", 128, 128, 32, 3, 64, 32, 256, 1},
    {"nv_hgemm_128x128x32_s3_w4", 128, 128, 32, 3, 64, 64, 128, 1},
    {"nv_hgemm_128x256x32_s2_w8", 128, 256, 32, 2, 64, 64, 256, 1},
    {"nv_hgemm_256x128x32_s2_w8", 256, 128, 32, 2, 64, 64, 256, 1},
    {"nv_hgemm_128x64x64_s2_w4", 128, 64, 64, 2, 64, 32, 128, 1},
    {"nv_hgemm_64x128x32_s4_w8", 64, 128, 32, 4, 32, 32, 256, 1},
    {"nv_hgemm_64x64x32_s4_w4", 64, 64, 32, 4, 32, 32, 128, 1},
    {"nv_hgemm_128x128x32_s2_w4", 128, 128, 32, 2, 64, 64, 128, 1},
    {"nv_hgemm_128x128x32_s3_w4_p", 128, 128, 32, 3, 64, 64, 128, 2},
    {"nv_hgemm_128x128x32_s3_w8_p", 128, 128, 32, 3, 64, 32, 256, 2},
    {"nv_hgemm_128x256x32_s2_w16", 128, 256, 32, 2, 64, 32, 512, 1},
    {"nv_hgemm_256x128x32_s2_w16", 256, 128, 32, 2, 64, 32, 512, 1},
};
const int hart_cl_hgemm_nvariants = (int)(sizeof hart_cl_hgemm_variants / sizeof hart_cl_hgemm_variants[0]);

/* ---- portable f32 GEMM (kernels/gemm.cl): variant 0 gemm_tiled (64x64
 * tiles), 1 gemm_tiled_big (128x128) ---- */
static hart_status portable_launch(clb *b, const clb_gemm_args *g, int v) {
    size_t gws[3] = {(size_t)(g->N + 63) / 64 * 16, (size_t)(g->M + 63) / 64 * 16, (size_t)g->nz0 * (size_t)g->nz1};
    size_t lws[3] = {16, 16, 1};
    const char *kn = "gemm_tiled";
    if (v == 1) {
        kn = "gemm_tiled_big";
        gws[0] = (size_t)(g->N + 127) / 128 * 16;
        gws[1] = (size_t)(g->M + 127) / 128 * 16;
    }
    cl_mem bias = g->bias ? g->bias : g->c;
    return CLRUN(b, kn, 3, gws, lws, AI(g->M), AI(g->N), AI(g->K), AI(g->nz1),
                 AM(g->a), AI(g->a_off), AI(g->a_dt), AI(g->a_sm), AI(g->a_sk), AI(g->a_s0), AI(g->a_s1),
                 AM(g->b), AI(g->b_off), AI(g->b_dt), AI(g->b_sk), AI(g->b_sn), AI(g->b_s0), AI(g->b_s1),
                 AM(g->c), AI(g->c_off), AI(g->c_sm), AI(g->c_s0), AI(g->c_s1),
                 AM(bias), AI(g->bias_off), AI(g->bias_dt), AI(g->bias ? g->bias_mode : 0), AI(g->bias_s1),
                 AF(g->alpha));
}

static hart_status portable_tune_launch(clb *b, const void *ctx, int v) { return portable_launch(b, ctx, v); }

/* ---- tensor cores: f16 operands in [rows][K] layout, hgemm_nv.cl ---- */
typedef struct {
    const clb_gemm_args *g;
    cl_mem a, b;             /* f16 operands: A [M][lda], B [N][ldb] */
    int a_off, lda, a_s0, a_s1, b_off, ldb, b_s0, b_s1;
} hg_args;

static hart_status hgemm_launch(clb *b, const void *ctx, int v) {
    const hg_args *h = ctx;
    const clb_gemm_args *g = h->g;
    if (v >= hart_cl_hgemm_nvariants) /* Hopper wgmma variants follow the mma.sync ones (cl_wgmma.c) */
        return hart_cl_wg_launch(b, v - hart_cl_hgemm_nvariants, g, h->a, h->a_off, h->lda, h->a_s0, h->a_s1, h->b,
                                 h->b_off, h->ldb, h->b_s0, h->b_s1);
    const clb_hgemm_variant *hv = &hart_cl_hgemm_variants[v];
    size_t gws[3] = {(size_t)(g->N + hv->bn - 1) / hv->bn * (size_t)hv->nt, (size_t)(g->M + hv->bm - 1) / hv->bm,
                     (size_t)g->nz0 * (size_t)g->nz1};
    size_t lws[3] = {(size_t)hv->nt, 1, 1};
    cl_mem bias = g->bias ? g->bias : g->c;
    return CLRUN(b, hv->name, 3, gws, lws, AI(g->M), AI(g->N), AI(g->K), AI(g->nz1),
                 AM(h->a), AI(h->a_off), AI(h->lda), AI(h->a_s0), AI(h->a_s1),
                 AM(h->b), AI(h->b_off), AI(h->ldb), AI(h->b_s0), AI(h->b_s1),
                 AM(g->c), AI(g->c_off), AI(g->c_sm), AI(g->c_s0), AI(g->c_s1),
                 AM(bias), AI(g->bias_off), AI(g->bias_dt), AI(g->bias ? g->bias_mode : 0), AI(g->bias_s1),
                 AF(g->alpha), AI(g->round_out));
}

/* Operand (rows R, depth K; element (z0, z1, r, k) at off + z0*s0 + z1*s1 +
 * r*s_r + k*s_k, dtype dt) as f16 [R][ld] with k contiguous: used in place
 * when it already is, else converted into a pooled scratch buffer (*tmp). */
static hart_status f16_operand(hart_backend *be, clb *b, int R, int K, int nz0, int nz1, cl_mem m, int off, int dt,
                               int s_r, int s_k, int s0, int s1, cl_mem *tmp, cl_mem *om, int *ooff, int *old,
                               int *os0, int *os1) {
    if (dt == 1 && s_k == 1 && K % 8 == 0 && s_r % 8 == 0 && off % 8 == 0 && s0 % 8 == 0 && s1 % 8 == 0) {
        *om = m; *ooff = off; *old = s_r; *os0 = s0; *os1 = s1;
        return HART_OK;
    }
    int Kp = (K + 7) / 8 * 8, n0 = s0 ? nz0 : 1, n1 = s1 ? nz1 : 1;
    size_t bytes = (size_t)n0 * n1 * R * Kp * 2;
    if ((int64_t)n0 * n1 * R * Kp > INT32_MAX)
        return hart_fail(HART_EUNSUPPORTED, "tensor-core GEMM: f16 operand copy of %lld elements exceeds 2^31",
                         (long long)n0 * n1 * R * Kp);
    HART_TRY(hart_cl_scratch(be, bytes, tmp));
    size_t gws[3] = {(size_t)(Kp + 31) / 32 * 32, (size_t)(R + 31) / 32 * 8, (size_t)n0 * n1}, lws[3] = {32, 8, 1};
    hart_status s = CLRUN(b, "nv_to_f16", 3, gws, lws, AI(R), AI(K), AI(Kp), AI(n1), AM(m), AI(off), AI(dt), AI(s_r),
                          AI(s_k), AI(s0), AI(s1), AM(*tmp));
    if (s) { hart_cl_scratch_free(be, *tmp); *tmp = NULL; return s; }
    *om = *tmp; *ooff = 0; *old = Kp;
    *os1 = s1 ? R * Kp : 0;
    *os0 = s0 ? n1 * R * Kp : 0;
    return HART_OK;
}

/* f16 [R][Kp] copy of the weight operand from the cache (made on a miss);
 * HART_OK with *om = NULL when it cannot be cached (the caller converts) */
static hart_status wcache_get(clb *b, const clb_gemm_args *g, cl_mem *om, int *ld) {
    *om = NULL;
    int R = g->N, K = g->K, Kp = (K + 7) / 8 * 8;
    for (int i = 0; i < b->nwc; i++) {
        struct clb_wc *e = &b->wc[i];
        if (e->src == g->b && e->off == g->b_off && e->R == R && e->K == K && e->dt == g->b_dt && e->s_r == g->b_sn &&
            e->s_k == g->b_sk) {
            *om = e->f16;
            *ld = Kp;
            return HART_OK;
        }
    }
    if ((int64_t)R * Kp > INT32_MAX || b->nwc >= 4096) return HART_OK;
    if (b->nwc == b->cwc) {
        int nc = b->cwc ? 2 * b->cwc : 64;
        struct clb_wc *nw = realloc(b->wc, (size_t)nc * sizeof *nw);
        if (!nw) return HART_OK;
        b->wc = nw;
        b->cwc = nc;
    }
    cl_int err;
    cl_mem f = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, (size_t)R * Kp * 2, NULL, &err);
    if (!f) return HART_OK; /* out of device memory: convert per call instead */
    size_t gws[3] = {(size_t)(Kp + 31) / 32 * 32, (size_t)(R + 31) / 32 * 8, 1}, lws[3] = {32, 8, 1};
    hart_status s = CLRUN(b, "nv_to_f16", 3, gws, lws, AI(R), AI(K), AI(Kp), AI(1), AM(g->b), AI(g->b_off),
                          AI(g->b_dt), AI(g->b_sn), AI(g->b_sk), AI(0), AI(0), AM(f));
    if (s) { clReleaseMemObject(f); return s; }
    b->wc[b->nwc++] = (struct clb_wc){g->b, f, g->b_off, R, K, g->b_dt, g->b_sn, g->b_sk};
    *om = f;
    *ld = Kp;
    return HART_OK;
}

/* default variant without tuning: 128x128 tiles (software-pipelined, the
 * fastest on an H100) when they fill the device, else 64x64 */
static int hgemm_default(clb *b, const clb_gemm_args *g) {
    int64_t tiles = (int64_t)((g->M + 127) / 128) * ((g->N + 127) / 128) * g->nz0 * g->nz1;
    return tiles >= b->cus ? 8 : 6;
}

static hart_status gemm_tc(hart_backend *be, clb *b, const clb_gemm_args *g) {
    hg_args h;
    memset(&h, 0, sizeof h);
    h.g = g;
    cl_mem ta = NULL, tb = NULL;
    hart_status s = f16_operand(be, b, g->M, g->K, g->nz0, g->nz1, g->a, g->a_off, g->a_dt, g->a_sm, g->a_sk, g->a_s0,
                                g->a_s1, &ta, &h.a, &h.a_off, &h.lda, &h.a_s0, &h.a_s1);
    int in_place = g->b_dt == 1 && g->b_sk == 1 && g->K % 8 == 0 && g->b_sn % 8 == 0 && g->b_off % 8 == 0 &&
                   g->b_s0 % 8 == 0 && g->b_s1 % 8 == 0;
    if (!s && b->wc_on && g->b_weight && g->nz0 == 1 && g->nz1 == 1 && !in_place) {
        s = wcache_get(b, g, &h.b, &h.ldb);
        h.b_off = h.b_s0 = h.b_s1 = 0;
    }
    if (!s && !h.b)
        s = f16_operand(be, b, g->N, g->K, g->nz0, g->nz1, g->b, g->b_off, g->b_dt, g->b_sn, g->b_sk, g->b_s0,
                        g->b_s1, &tb, &h.b, &h.b_off, &h.ldb, &h.b_s0, &h.b_s1);
    int v = b->hg_force, nvar = hart_cl_hgemm_nvariants, def = hgemm_default(b, g);
    if (!s && hart_cl_wg_ready(b)) { /* Hopper: wgmma for the large GEMMs */
        int w = hart_cl_wg_default(g->M, g->N, g->nz0 * g->nz1, b->cus);
        nvar += hart_cl_wg_nvariants;
        if (w >= 0) def = hart_cl_hgemm_nvariants + w;
    }
    if (!s && (v < 0 || v >= nvar))
        s = hart_cl_tune_pick(b, hart_cl_tune_key(1, g), nvar, hgemm_launch, &h, def, g, &v);
    if (v < 0 || v >= nvar) v = def; /* a cached choice this process cannot run */
    if (!s) s = hgemm_launch(b, &h, v);
    if (ta) hart_cl_scratch_free(be, ta);
    if (tb) hart_cl_scratch_free(be, tb);
    return s;
}

hart_status hart_cl_gemm(hart_backend *be, const clb_gemm_args *g) {
    clb *b = clb_of(be);
    if (!g->M || !g->N || !g->nz0 || !g->nz1) return HART_OK;
    if (b->nwc) hart_cl_wcache_drop(b, g->c); /* the output buffer is written */
    if (b->tc && g->K > 0 && !g->exact) {
        clb_gemm_args gr = *g; /* f16 mode: the epilogue rounds (cl_gemm_rounds_output) */
        gr.round_out = be->precision == HART_PREC_F16;
        return gemm_tc(be, b, &gr);
    }
    /* 128x128 tiles once there are at least as many of them as compute units
     * (or always with $HART_CL_BIG_TILES=1), unless the autotuner knows better */
    static int force_big = -1;
    if (force_big < 0) force_big = getenv("HART_CL_BIG_TILES") ? atoi(getenv("HART_CL_BIG_TILES")) : 0;
    if (force_big) return portable_launch(b, g, 1);
    int64_t tiles = (int64_t)((g->M + 127) / 128) * ((g->N + 127) / 128) * g->nz0 * g->nz1;
    int def = tiles >= b->cus && g->M >= 256 && g->N >= 256, v = def;
    HART_TRY(hart_cl_tune_pick(b, hart_cl_tune_key(0, g), 2, portable_tune_launch, g, def, g, &v));
    return portable_launch(b, g, v);
}

hart_status hart_opencl_hgemm(hart_backend *be, hart_tensor *c, const hart_tensor *a, const hart_tensor *bm) {
    if (!be || be->kind != HART_BACKEND_OPENCL) return hart_fail(HART_EINVAL, "hart_opencl_hgemm: not an OpenCL backend");
    clb *b = clb_of(be);
    if (!b->prog_nv) return hart_fail(HART_EUNSUPPORTED, "hart_opencl_hgemm: no tensor-core kernels on %s", be->name);
    if (a->ndim != 2 || bm->ndim != 2 || c->ndim != 2 || a->dtype != HART_F16 || bm->dtype != HART_F16 ||
        c->dtype != HART_F32 || a->shape[1] != bm->shape[1] || c->shape[0] != a->shape[0] || c->shape[1] != bm->shape[0])
        return hart_fail(HART_EINVAL, "hart_opencl_hgemm: want c[M,N] F32 = a[M,K] F16 * b[N,K]^T F16");
    int64_t M = a->shape[0], K = a->shape[1], N = bm->shape[0];
    HART_TRY(check_int("hart_opencl_hgemm", hart_tensor_numel(a)));
    HART_TRY(check_int("hart_opencl_hgemm", hart_tensor_numel(bm)));
    HART_TRY(check_int("hart_opencl_hgemm", hart_tensor_numel(c)));
    clb_gemm_args g;
    memset(&g, 0, sizeof g);
    g.M = (int)M; g.N = (int)N; g.K = (int)K; g.nz0 = g.nz1 = 1; g.alpha = 1.0f;
    g.a = T_MEM(a); g.a_off = T_OFF(a); g.a_dt = 1; g.a_sm = (int)K; g.a_sk = 1;
    g.b = T_MEM(bm); g.b_off = T_OFF(bm); g.b_dt = 1; g.b_sk = 1; g.b_sn = (int)K;
    g.c = T_MEM(c); g.c_off = T_OFF(c); g.c_sm = (int)N;
    if (!g.M || !g.N) return HART_OK;
    return gemm_tc(be, b, &g);
}

int hart_opencl_set_hgemm_variant(hart_backend *be, int v) {
    if (!be || be->kind != HART_BACKEND_OPENCL) return hart_cl_hgemm_nvariants;
    clb *b = clb_of(be);
    b->hg_force = v;
    return hart_cl_hgemm_nvariants + (b->prog_nv && hart_cl_wg_ready(b) ? hart_cl_wg_nvariants : 0);
}

const char *hart_opencl_hgemm_variant_name(int v) {
    if (v >= hart_cl_hgemm_nvariants && v < hart_cl_hgemm_nvariants + hart_cl_wg_nvariants)
        return hart_cl_wg_variants[v - hart_cl_hgemm_nvariants].name;
    return v >= 0 && v < hart_cl_hgemm_nvariants ? hart_cl_hgemm_variants[v].name : "tuned";
}

hart_status hart_cl_linear(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                       const hart_tensor *bias) {
    int64_t K = x->shape[x->ndim - 1], N = w->shape[0], M = hart_tensor_numel(x) / (K ? K : 1);
    HART_TRY(check_int("hart_op_linear", hart_tensor_numel(x)));
    HART_TRY(check_int("hart_op_linear", hart_tensor_numel(w)));
    HART_TRY(check_int("hart_op_linear", hart_tensor_numel(y)));
    clb_gemm_args g;
    memset(&g, 0, sizeof g);
    g.M = (int)M; g.N = (int)N; g.K = (int)K; g.nz0 = g.nz1 = 1; g.alpha = 1.0f;
    g.a = T_MEM(x); g.a_off = T_OFF(x); g.a_dt = T_DT(x); g.a_sm = (int)K; g.a_sk = 1; /* F16 x: f16 mode's half activation */
    g.b = T_MEM(w); g.b_off = T_OFF(w); g.b_dt = T_DT(w); g.b_sk = 1; g.b_sn = (int)K; g.b_weight = 1;
    g.c = T_MEM(y); g.c_off = T_OFF(y); g.c_sm = (int)N;
    if (bias) { g.bias = T_MEM(bias); g.bias_off = T_OFF(bias); g.bias_dt = T_DT(bias); g.bias_mode = 1; }
    return hart_cl_gemm(be, &g);
}

hart_status hart_cl_matmul(hart_backend *be, hart_tensor *c, const hart_tensor *a, const hart_tensor *bm, int ta,
                       int tb, float alpha) {
    int na = a->ndim, nb = bm->ndim;
    int64_t M = ta ? a->shape[na - 1] : a->shape[na - 2], K = ta ? a->shape[na - 2] : a->shape[na - 1];
    int64_t N = tb ? bm->shape[nb - 2] : bm->shape[nb - 1];
    HART_TRY(check_int("hart_op_matmul", hart_tensor_numel(a)));
    HART_TRY(check_int("hart_op_matmul", hart_tensor_numel(bm)));
    HART_TRY(check_int("hart_op_matmul", hart_tensor_numel(c)));
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
    g.exact = be->precision == HART_PREC_F16; /* f16 mode keeps matmul f32 (src/ops/ops.c) */
    return hart_cl_gemm(be, &g);
}

#define COL_BYTES ((size_t)64 << 20) /* im2col scratch per chunk */

hart_status hart_cl_conv2d(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                       const hart_tensor *bias, int stride, int pad, int groups) {
    clb *b = clb_of(be);
    int64_t N = x->shape[0], Ci = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t Co = y->shape[1], Ho = y->shape[2], Wo = y->shape[3], kh = w->shape[2], kw = w->shape[3];
    int64_t cig = Ci / groups, cog = Co / groups, Kc = cig * kh * kw, P = Ho * Wo;
    HART_TRY(check_int("hart_op_conv2d", hart_tensor_numel(x)));
    HART_TRY(check_int("hart_op_conv2d", hart_tensor_numel(y)));
    HART_TRY(check_int("hart_op_conv2d", hart_tensor_numel(w)));
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
        return hart_cl_gemm(be, &g);
    }
    if (hart_cl_conv_nv_applies(be, w, stride, pad, groups)) return hart_cl_conv2d_nv(be, y, x, w, bias, stride, pad);
    int64_t rows = Ci * kh * kw;
    /* tensor cores: the im2col matrix written as f16 [pixels][rows], the GEMM's
     * operand in place (rows and group offsets must be multiples of 8 halves) */
    int f16t = (b->tc || be->precision == HART_PREC_F16) && rows % 8 == 0 && Kc % 8 == 0;
    int64_t esz = f16t ? 2 : 4, pc = (int64_t)(COL_BYTES / esz) / (rows ? rows : 1);
    if (pc < 1) pc = 1;
    if (pc > P) pc = P;
    if (!P || !N) return HART_OK;
    cl_mem col;
    HART_TRY(hart_cl_scratch(be, (size_t)(rows * pc * esz), &col));
    if (f16t) {
        hart_status s = HART_OK;
        for (int64_t n = 0; n < N && !s; n++)
            for (int64_t p0 = 0; p0 < P && !s; p0 += pc) {
                int64_t cnt = P - p0 < pc ? P - p0 : pc;
                size_t gws[2] = {(size_t)rows / 8, (size_t)cnt};
                s = CLRUN(b, "im2col_f16t", 2, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x) + n * Ci * H * W), AI(H), AI(W),
                          AI(kh), AI(kw), AI(stride), AI(pad), AI(Wo), AI(p0), AI(cnt), AI(rows), AM(col));
                if (s) break;
                g.N = (int)cnt; g.nz0 = 1; g.nz1 = groups;
                g.b = col; g.b_off = 0; g.b_dt = 1; g.b_sk = 1; g.b_sn = (int)rows; g.b_s1 = (int)Kc;
                g.c_off = (int)(T_OFF(y) + n * Co * P + p0);
                s = hart_cl_gemm(be, &g);
            }
        hart_cl_scratch_free(be, col);
        return s;
    }
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
            s = hart_cl_gemm(be, &g);
        }
    hart_cl_scratch_free(be, col);
    return s;
}
