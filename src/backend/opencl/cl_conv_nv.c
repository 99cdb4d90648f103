/* conv2d as an implicit GEMM on NVIDIA tensor cores (kernels/conv_nv.cl):
 * taken in f16 precision mode with the tensor cores on, for ungrouped
 * convolutions that are not 1x1/stride 1/no padding (those are a plain GEMM
 * on the input already). No im2col buffer: the kernel gathers the input
 * tile itself. The weight is converted once into an f16 tap-major copy kept
 * in the tensor-core weight cache (b->wc, marked s_k = -1), which forgets it
 * when the weight's buffer is written or released. */
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/cl_internal.h"

const clb_conv_variant hart_cl_conv_variants[] = {
    {"nv_conv_128x128_w8", 128, 128, 64, 32, 256},
    {"nv_conv_64x128_w8", 64, 128, 32, 32, 256},
    {"nv_conv_128x64_w4", 128, 64, 64, 32, 128},
    {"nv_conv_64x64_w4", 64, 64, 32, 32, 128},
};
const int hart_cl_conv_nvariants = (int)(sizeof hart_cl_conv_variants / sizeof hart_cl_conv_variants[0]);

int hart_cl_conv_nv_applies(hart_backend *be, const hart_tensor *w, int stride, int pad, int groups) {
    clb *b = clb_of(be);
    int one = w->shape[2] == 1 && w->shape[3] == 1 && stride == 1 && pad == 0;
    return b->tc && be->precision == HART_PREC_F16 && groups == 1 && !one && !getenv("HART_CL_NO_IMPLICIT_CONV");
}

/* f16 [Co][taps * Cc8] copy of w from the cache, made on a miss */
static hart_status conv_weight(clb *b, const hart_tensor *w, int Cc8, cl_mem *out) {
    int Co = (int)w->shape[0], Ci = (int)w->shape[1], taps = (int)(w->shape[2] * w->shape[3]), Kp = taps * Cc8;
    cl_mem src = T_MEM(w);
    int off = T_OFF(w), dt = T_DT(w);
    for (int i = 0; i < b->nwc; i++) {
        struct clb_wc *e = &b->wc[i];
        if (e->src == src && e->off == off && e->R == Co && e->K == Kp && e->dt == dt && e->s_r == Ci && e->s_k == -1) {
            *out = e->f16;
            return HART_OK;
        }
    }
    if (b->nwc == b->cwc) {
        int nc = b->cwc ? 2 * b->cwc : 64;
        struct clb_wc *nw = realloc(b->wc, (size_t)nc * sizeof *nw);
        if (!nw) return hart_fail(HART_ENOMEM, "hart_op_conv2d: out of memory");
        b->wc = nw;
        b->cwc = nc;
    }
    cl_int err;
    cl_mem f = clCreateBuffer(b->ctx, CL_MEM_READ_WRITE, (size_t)Co * Kp * 2, NULL, &err);
    if (!f) return hart_fail(HART_EDEVICE, "hart_op_conv2d: f16 weight copy: %s", hart_cl_errname(err));
    size_t gws[2] = {(size_t)Kp, (size_t)Co};
    hart_status s = CLRUN(b, "nv_conv_wprep", 2, gws, NULL, AI(Co), AI(Ci), AI(taps), AI(Cc8), AM(src), AI(off),
                          AI(dt), AM(f));
    if (s) { clReleaseMemObject(f); return s; }
    b->wc[b->nwc++] = (struct clb_wc){src, f, off, Co, Kp, dt, Ci, -1};
    *out = f;
    return HART_OK;
}

typedef struct {
    const hart_tensor *y, *x, *bias;
    cl_mem wt;
    int stride, pad, Cc8, kw, taps, round_out;
} conv_args;

static hart_status conv_launch(clb *b, const void *ctx, int v) {
    const conv_args *a = ctx;
    const clb_conv_variant *cv = &hart_cl_conv_variants[v];
    const hart_tensor *x = a->x, *y = a->y;
    int Co = (int)y->shape[1], Ho = (int)y->shape[2], Wo = (int)y->shape[3], P = Ho * Wo;
    size_t gws[3] = {(size_t)(P + cv->bn - 1) / cv->bn * (size_t)cv->nt, (size_t)(Co + cv->bm - 1) / cv->bm,
                     (size_t)x->shape[0]};
    size_t lws[3] = {(size_t)cv->nt, 1, 1};
    cl_mem bias = a->bias ? T_MEM(a->bias) : T_MEM(y);
    return CLRUN(b, cv->name, 3, gws, lws, AI(x->shape[1]), AI(x->shape[2]), AI(x->shape[3]), AI(Co), AI(Ho), AI(Wo),
                 AI(a->kw), AI(a->taps), AI(a->stride), AI(a->pad), AI(a->Cc8), AM(T_MEM(x)), AI(T_OFF(x)),
                 AM(a->wt), AM(T_MEM(y)), AI(T_OFF(y)), AM(bias), AI(a->bias ? T_OFF(a->bias) : 0),
                 AI(a->bias ? T_DT(a->bias) : 0), AI(a->bias != NULL), AI(a->round_out));
}

hart_status hart_cl_conv2d_nv(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *w,
                              const hart_tensor *bias, int stride, int pad) {
    clb *b = clb_of(be);
    conv_args a = {.y = y, .x = x, .bias = bias, .stride = stride, .pad = pad, .kw = (int)w->shape[3],
                   .taps = (int)(w->shape[2] * w->shape[3]), .Cc8 = (int)((x->shape[1] + 7) / 8 * 8),
                   .round_out = be->precision == HART_PREC_F16};
    if ((int64_t)w->shape[0] * a.taps * a.Cc8 > INT32_MAX)
        return hart_fail(HART_EUNSUPPORTED, "hart_op_conv2d: f16 weight copy exceeds 2^31 elements");
    if (!hart_tensor_numel(y)) return HART_OK;
    hart_cl_wcache_drop(b, T_MEM(y)); /* the output buffer is written */
    HART_TRY(conv_weight(b, w, a.Cc8, &a.wt));
    /* tuned per shape class like the GEMMs (kind 2); the default: big tiles once they fill the device */
    clb_gemm_args g;
    memset(&g, 0, sizeof g);
    g.M = (int)y->shape[1]; g.N = (int)(y->shape[2] * y->shape[3]); g.K = a.taps * a.Cc8;
    g.nz0 = (int)x->shape[0]; g.nz1 = 1;
    g.a = a.wt; g.b = T_MEM(x); g.c = T_MEM(y); g.bias = bias ? T_MEM(bias) : NULL;
    int64_t big = (int64_t)((g.M + 127) / 128) * ((g.N + 127) / 128) * g.nz0;
    int v = big >= b->cus ? 0 : 3;
    const char *fv = getenv("HART_CL_CONV_VARIANT"); /* tests: force a variant */
    if (fv && atoi(fv) >= 0 && atoi(fv) < hart_cl_conv_nvariants) v = atoi(fv);
    else HART_TRY(hart_cl_tune_pick(b, hart_cl_tune_key(2, &g), hart_cl_conv_nvariants, conv_launch, &a, v, &g, &v));
    return conv_launch(b, &a, v);
}
