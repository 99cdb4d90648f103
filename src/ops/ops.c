/* Op front-ends: validate shapes, then dispatch to the output's backend.
 * A backend without an implementation of an op (or whose `supports` turns
 * these operands down) falls back to the CPU backend through host copies
 * (slow but correct): the one fallback path of every backend. */
#include "ops/ops.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/block_mask_fix.h"
#include "core/sample_fixed.h"

#define MAX_IN 6

void (*hart_linear_observer)(const hart_tensor *w, const hart_tensor *x);

static hart_backend *backend_of(const hart_tensor *y) { return y->be ? y->be : hart_backend_cpu(); }

static int is_float(const hart_tensor *t) {
    return t->dtype == HART_F32 || t->dtype == HART_F16 || t->dtype == HART_BF16;
}

static hart_status shape_err(const char *op, const char *what, const hart_tensor *a, const hart_tensor *b) {
    char sa[96], sb[96];
    return hart_fail(HART_EINVAL, "%s: %s (%s vs %s)", op, what, hart_shape_str(a, sa, sizeof sa),
                     b ? hart_shape_str(b, sb, sizeof sb) : "-");
}

/* Inputs must be on y's backend (host tensors count as CPU). */
static hart_status check_placement(const char *op, hart_backend *be, int n, const hart_tensor **ts) {
    for (int i = 0; i < n; i++) {
        const hart_tensor *t = ts[i];
        if (!t) continue;
        int host = t->data != NULL;
        if (be->storage.vt == NULL ? !host : (host || (t->be != be)))
            return hart_fail(HART_EINVAL, "%s: input %d lives on another backend than the output", op, i);
    }
    return HART_OK;
}

typedef struct {
    hart_tensor in[MAX_IN];
    const hart_tensor *src[MAX_IN];
    int n;
    hart_tensor yh;
    hart_tensor *ydst;
} fallback;

static void fb_free(fallback *f) {
    for (int i = 0; i < f->n; i++) hart_tensor_free(&f->in[i]);
    hart_tensor_free(&f->yh);
}

static hart_status fb_begin(fallback *f, const char *op, hart_tensor *y, int n, const hart_tensor **ins) {
    static _Thread_local char warned[64][24];
    memset(f, 0, sizeof *f);
    int seen = 0;
    for (int i = 0; i < 64 && warned[i][0]; i++) seen |= !strcmp(warned[i], op);
    if (!seen) {
        fprintf(stderr, "hart: note: op %s has no %s kernel; running it on the CPU\n", op, backend_of(y)->name);
        for (int i = 0; i < 64; i++) if (!warned[i][0]) { snprintf(warned[i], sizeof warned[i], "%s", op); break; }
    }
    f->n = n;
    f->ydst = y;
    hart_status s = HART_OK;
    for (int i = 0; i < n && !s; i++) {
        f->src[i] = ins[i];
        if (ins[i]) s = hart_tensor_to(NULL, ins[i], &f->in[i]);
    }
    if (!s) s = hart_tensor_to(NULL, y, &f->yh); /* keeps y's contents (slice_assign) */
    if (s) fb_free(f);
    return s;
}

static const hart_tensor *fb_in(fallback *f, int i) { return f->src[i] ? &f->in[i] : NULL; }

static hart_status fb_end(fallback *f, hart_status s) {
    if (!s) s = hart_tensor_write(f->ydst, f->yh.data, hart_tensor_nbytes(&f->yh));
    fb_free(f);
    return s;
}

/* Dispatch helper: `CALL(be, y_, I(0), I(1), ...)` runs either on the
 * backend directly or on the CPU with host copies. */
#define DISPATCH(opname, field, OUT, n, INS, ...)                                               \
    do {                                                                                      \
        hart_backend *be_ = backend_of(OUT);                                                    \
        const hart_tensor *ins_[MAX_IN] = INS;                                                \
        HART_TRY(check_placement(opname, be_, n, ins_));                                      \
        if (be_->vt->field &&                                                                 \
            (!be_->vt->supports || be_->vt->supports(be_, HART_OP_##field, OUT, ins_))) {     \
            hart_tensor *y_ = (OUT);                                                           \
            const hart_tensor *const *I_ = ins_;                                              \
            (void)I_;                                                                         \
            return be_->vt->field(be_, y_, __VA_ARGS__);                                      \
        }                                                                                     \
        fallback f_;                                                                          \
        HART_TRY(fb_begin(&f_, opname, OUT, n, ins_));                                          \
        hart_backend *cpu_ = hart_backend_cpu();                                              \
        hart_tensor *y_ = &f_.yh;                                                              \
        const hart_tensor *I_[MAX_IN];                                                        \
        for (int i_ = 0; i_ < n; i_++) I_[i_] = fb_in(&f_, i_);                               \
        be_ = cpu_;                                                                           \
        return fb_end(&f_, cpu_->vt->field(be_, y_, __VA_ARGS__));                            \
    } while (0)
#define L(...) {__VA_ARGS__}

static hart_status need_f32(const char *op, const hart_tensor *t, const char *which) {
    if (t && t->dtype != HART_F32)
        return hart_fail(HART_EINVAL, "%s: %s must be F32 (is %s)", op, which, hart_dtype_name(t->dtype));
    return HART_OK;
}

/* ---- f16 precision mode (backend.h, docs/precision.md) -------------------
 * The values between GEMMs are half: the inputs of linear/conv2d and
 * attention's q, k, v are rounded to half on the way in, the outputs of
 * linear/conv2d on the way out; the kernels accumulate in f32. The
 * rounding goes through the copy op's f32 -> f16 -> f32 conversions (round
 * to nearest even, bit-exact on every backend), so f16 mode means the same
 * numbers on every device, tensor cores or not. */
/* host tensors (no backend: helper computations at load time) stay exact */
static int half_mode(const hart_tensor *y) { return y->be && y->be->precision == HART_PREC_F16; }

/* y = x rounded to half: the backend's one-pass service, else two copies. */
static hart_status round_half_into(hart_tensor *y, const hart_tensor *x) {
    hart_backend *be = backend_of(y);
    if (be->vt->round_half && x->be == y->be) return be->vt->round_half(be, y, x);
    hart_tensor h;
    HART_TRY(hart_tensor_new(y->be, HART_F16, x->ndim, x->shape, &h));
    hart_status s = hart_op_copy(&h, x);
    if (!s) s = hart_op_copy(y, &h);
    hart_tensor_free(&h);
    return s;
}

/* *r = a new f32 tensor beside t holding t rounded to half. */
static hart_status half_rounded(const hart_tensor *t, hart_tensor *r) {
    HART_TRY(hart_tensor_new(t->be, HART_F32, t->ndim, t->shape, r));
    hart_status s = round_half_into(r, t);
    if (s) hart_tensor_free(r);
    return s;
}

static hart_status half_round_inplace(hart_tensor *t) { return round_half_into(t, t); }

/* 1 when y's backend rounds GEMM operands to half itself (tensor cores). */
static int gemm_rounds(const hart_tensor *y) {
    hart_backend *be = backend_of(y);
    return be->vt->gemm_rounds_to_half && be->vt->gemm_rounds_to_half(be);
}

/* 1 when it rounds their outputs too (in the GEMM's epilogue). */
static int gemm_rounds_out(const hart_tensor *y) {
    hart_backend *be = backend_of(y);
    return be->vt->gemm_rounds_output && be->vt->gemm_rounds_output(be);
}

static hart_status linear_run(hart_tensor *y, const hart_tensor *x, const hart_tensor *w, const hart_tensor *b) {
    DISPATCH("hart_op_linear", linear, y, 3, L(x, w, b), I_[0], I_[1], I_[2]);
}

int hart_half_activations(const hart_backend *be) {
    return be && be->precision == HART_PREC_F16 && be->vt->half_activations &&
           be->vt->half_activations((hart_backend *)be);
}

/* y = op(x) where x (or y) is an F16 activation the backend does not take:
 * through an f32 copy (exact, the values are halves already) */
static hart_status f32_copy_of(const hart_tensor *x, hart_tensor *xf) {
    HART_TRY(hart_tensor_new(x->be, HART_F32, x->ndim, x->shape, xf));
    hart_status s = hart_op_copy(xf, x);
    if (s) hart_tensor_free(xf);
    return s;
}

hart_status hart_op_linear(hart_tensor *y, const hart_tensor *x, const hart_tensor *w, const hart_tensor *b) {
    const char *op = "hart_op_linear";
    int xh = x->dtype == HART_F16; /* a half activation (norm_mod, swiglu): f16 mode only */
    if (xh && !half_mode(y)) return hart_fail(HART_EINVAL, "%s: an F16 x is for f16 precision mode", op);
    if (xh && (w->quant || hart_linear_observer || !hart_half_activations(backend_of(y)))) {
        hart_tensor xf;
        HART_TRY(f32_copy_of(x, &xf));
        hart_status s = hart_op_linear(y, &xf, w, b);
        hart_tensor_free(&xf);
        return s;
    }
    if (w->quant) return hart_op_qlinear(y, x, w->quant, b);
    if (hart_linear_observer) hart_linear_observer(w, x);
    if (!xh) HART_TRY(need_f32(op, x, "x"));
    HART_TRY(need_f32(op, y, "y"));
    if (w->ndim != 2 || !is_float(w)) return shape_err(op, "weight must be a 2-D float tensor", w, NULL);
    if (x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1]) return shape_err(op, "x's last dim != weight's K", x, w);
    int64_t mx = 1, my = 1; /* rows of x and y (products of the leading dims; no division: K or N may be 0) */
    for (int i = 0; i < x->ndim - 1; i++) mx *= x->shape[i];
    for (int i = 0; i < y->ndim - 1; i++) my *= y->shape[i];
    if (y->ndim != x->ndim || y->shape[y->ndim - 1] != w->shape[0] || mx != my) return shape_err(op, "output shape", y, x);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0] || !is_float(b))) return shape_err(op, "bias shape", b, w);
    if (!half_mode(y)) return linear_run(y, x, w, b);
    if (xh || gemm_rounds(y)) { /* x is half already, or the GEMM rounds it */
        HART_TRY(linear_run(y, x, w, b));
        return gemm_rounds_out(y) ? HART_OK : half_round_inplace(y);
    }
    hart_tensor xr;
    HART_TRY(half_rounded(x, &xr));
    hart_status s = linear_run(y, &xr, w, b);
    hart_tensor_free(&xr);
    return s ? s : half_round_inplace(y);
}

static hart_status matmul_run(hart_tensor *c, const hart_tensor *a, const hart_tensor *b, int ta, int tb, float alpha) {
    DISPATCH("hart_op_matmul", matmul, c, 2, L(a, b), I_[0], I_[1], ta, tb, alpha);
}

hart_status hart_op_matmul(hart_tensor *c, const hart_tensor *a, const hart_tensor *b, int ta, int tb, float alpha) {
    const char *op = "hart_op_matmul";
    HART_TRY(need_f32(op, a, "a")); HART_TRY(need_f32(op, b, "b")); HART_TRY(need_f32(op, c, "c"));
    if (a->ndim < 2 || b->ndim < 2 || c->ndim != a->ndim) return shape_err(op, "ranks", a, b);
    int na = a->ndim, nb = b->ndim;
    int64_t M = ta ? a->shape[na - 1] : a->shape[na - 2], K = ta ? a->shape[na - 2] : a->shape[na - 1];
    int64_t Kb = tb ? b->shape[nb - 1] : b->shape[nb - 2], N = tb ? b->shape[nb - 2] : b->shape[nb - 1];
    if (K != Kb) return shape_err(op, "inner dims differ", a, b);
    if (c->shape[na - 2] != M || c->shape[na - 1] != N) return shape_err(op, "output shape", c, a);
    for (int i = 0; i < na - 2; i++)
        if (c->shape[i] != a->shape[i]) return shape_err(op, "batch dims of output", c, a);
    if (nb > 2) {
        if (nb != na) return shape_err(op, "batch dims of b", a, b);
        for (int i = 0; i < na - 2; i++)
            if (b->shape[i] != a->shape[i]) return shape_err(op, "batch dims of b", a, b);
    }
    /* f16 mode leaves it f32: a product of two activations (DC-AE's linear
     * attention), which the originals compute in f32 under autocast too */
    return matmul_run(c, a, b, ta, tb, alpha);
}

static hart_status conv2d_run(hart_tensor *y, const hart_tensor *x, const hart_tensor *w, const hart_tensor *b,
                              int stride, int pad, int groups) {
    DISPATCH("hart_op_conv2d", conv2d, y, 3, L(x, w, b), I_[0], I_[1], I_[2], stride, pad, groups);
}

hart_status hart_op_conv2d(hart_tensor *y, const hart_tensor *x, const hart_tensor *w, const hart_tensor *b,
                      int stride, int pad, int groups) {
    const char *op = "hart_op_conv2d";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (x->ndim != 4 || w->ndim != 4 || y->ndim != 4 || !is_float(w)) return shape_err(op, "x, w and y must be 4-D", x, w);
    if (stride < 1 || pad < 0 || groups < 1 || x->shape[1] % groups || y->shape[1] % groups)
        return hart_fail(HART_EINVAL, "%s: bad stride %d / pad %d / groups %d", op, stride, pad, groups);
    if (w->shape[0] != y->shape[1] || w->shape[1] * groups != x->shape[1]) return shape_err(op, "weight channels", w, x);
    int64_t Ho = (x->shape[2] + 2 * pad - w->shape[2]) / stride + 1, Wo = (x->shape[3] + 2 * pad - w->shape[3]) / stride + 1;
    if (y->shape[0] != x->shape[0] || y->shape[2] != Ho || y->shape[3] != Wo) return shape_err(op, "output shape", y, x);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0])) return shape_err(op, "bias shape", b, w);
    if (!half_mode(y)) return conv2d_run(y, x, w, b, stride, pad, groups);
    if (gemm_rounds(y)) {
        HART_TRY(conv2d_run(y, x, w, b, stride, pad, groups));
        return gemm_rounds_out(y) ? HART_OK : half_round_inplace(y);
    }
    hart_tensor xr;
    HART_TRY(half_rounded(x, &xr));
    hart_status s = conv2d_run(y, &xr, w, b, stride, pad, groups);
    hart_tensor_free(&xr);
    return s ? s : half_round_inplace(y);
}

static hart_status check_param(const char *op, const hart_tensor *p, int64_t n, const char *which) {
    if (p && (p->ndim != 1 || p->shape[0] != n || !is_float(p)))
        return hart_fail(HART_EINVAL, "%s: %s must be a float vector of %lld", op, which, (long long)n);
    return HART_OK;
}

static hart_status same(const char *op, const hart_tensor *y, const hart_tensor *x) {
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (!hart_tensor_same_shape(x, y)) return shape_err(op, "input and output shapes differ", x, y);
    return HART_OK;
}

hart_status hart_op_group_norm(hart_tensor *y, const hart_tensor *x, const hart_tensor *g, const hart_tensor *b,
                          int groups, float eps) {
    const char *op = "hart_op_group_norm";
    HART_TRY(same(op, y, x));
    if (x->ndim < 2 || groups < 1 || x->shape[1] % groups) return hart_fail(HART_EINVAL, "%s: %d groups do not divide the channels", op, groups);
    HART_TRY(check_param(op, g, x->shape[1], "gamma")); HART_TRY(check_param(op, b, x->shape[1], "beta"));
    DISPATCH(op, group_norm, y, 3, L(x, g, b), I_[0], I_[1], I_[2], groups, eps);
}

hart_status hart_op_layer_norm(hart_tensor *y, const hart_tensor *x, const hart_tensor *g, const hart_tensor *b, float eps) {
    const char *op = "hart_op_layer_norm";
    HART_TRY(same(op, y, x));
    HART_TRY(check_param(op, g, x->shape[x->ndim - 1], "gamma")); HART_TRY(check_param(op, b, x->shape[x->ndim - 1], "beta"));
    DISPATCH(op, layer_norm, y, 3, L(x, g, b), I_[0], I_[1], I_[2], eps);
}

hart_status hart_op_rms_norm(hart_tensor *y, const hart_tensor *x, const hart_tensor *g, float eps) {
    const char *op = "hart_op_rms_norm";
    HART_TRY(same(op, y, x));
    HART_TRY(check_param(op, g, x->shape[x->ndim - 1], "gamma"));
    DISPATCH(op, rms_norm, y, 2, L(x, g), I_[0], I_[1], eps);
}

hart_status hart_op_softmax(hart_tensor *y, const hart_tensor *x) {
    HART_TRY(same("hart_op_softmax", y, x));
    DISPATCH("hart_op_softmax", softmax, y, 1, L(x), I_[0]);
}

hart_status hart_op_act(hart_tensor *y, const hart_tensor *x, hart_act act) {
    if (hart_tensor_numel(x) != hart_tensor_numel(y)) return shape_err("hart_op_act", "numel differs", x, y);
    HART_TRY(need_f32("hart_op_act", x, "x")); HART_TRY(need_f32("hart_op_act", y, "y"));
    if ((unsigned)act >= HART_ACT_COUNT) return hart_fail(HART_EINVAL, "hart_op_act: unknown activation %d", (int)act);
    DISPATCH("hart_op_act", act, y, 1, L(x), I_[0], act);
}

static hart_status check_bcast(const hart_tensor *y, const hart_tensor *t) {
    if (t->ndim > y->ndim) return shape_err("hart_op_binary", "operand has more dims than output", t, y);
    for (int d = y->ndim - 1, td = t->ndim - 1; td >= 0; d--, td--)
        if (t->shape[td] != 1 && t->shape[td] != y->shape[d]) return shape_err("hart_op_binary", "operand does not broadcast to output", t, y);
    return HART_OK;
}

hart_status hart_op_binary(hart_tensor *y, const hart_tensor *a, const hart_tensor *b, hart_binop bop) {
    const char *op = "hart_op_binary";
    HART_TRY(need_f32(op, a, "a")); HART_TRY(need_f32(op, b, "b")); HART_TRY(need_f32(op, y, "y"));
    HART_TRY(check_bcast(y, a)); HART_TRY(check_bcast(y, b));
    if ((unsigned)bop >= HART_BIN_COUNT) return hart_fail(HART_EINVAL, "%s: unknown op %d", op, (int)bop);
    DISPATCH(op, binary, y, 2, L(a, b), I_[0], I_[1], bop);
}

hart_status hart_op_scale(hart_tensor *y, const hart_tensor *x, float alpha, float beta) {
    if (hart_tensor_numel(x) != hart_tensor_numel(y)) return shape_err("hart_op_scale", "numel differs", x, y);
    HART_TRY(need_f32("hart_op_scale", x, "x")); HART_TRY(need_f32("hart_op_scale", y, "y"));
    DISPATCH("hart_op_scale", scale, y, 1, L(x), I_[0], alpha, beta);
}

hart_status hart_op_copy(hart_tensor *y, const hart_tensor *x) {
    if (hart_tensor_numel(x) != hart_tensor_numel(y)) return shape_err("hart_op_copy", "numel differs", x, y);
    if (x->dtype != y->dtype && (!is_float(x) || !is_float(y)))
        return hart_fail(HART_EINVAL, "hart_op_copy: cannot convert %s to %s", hart_dtype_name(x->dtype), hart_dtype_name(y->dtype));
    DISPATCH("hart_op_copy", copy, y, 1, L(x), I_[0]);
}

hart_status hart_op_rgb8_to_nchw(hart_tensor *y, const hart_tensor *x) {
    const char *op = "hart_op_rgb8_to_nchw";
    if (x->dtype != HART_U8) return hart_fail(HART_EINVAL, "%s: x must be U8 (is %s)", op, hart_dtype_name(x->dtype));
    HART_TRY(need_f32(op, y, "y"));
    if (x->ndim != 4 || x->shape[3] != 3 || y->ndim != 4 || y->shape[0] != x->shape[0] || y->shape[1] != 3 ||
        y->shape[2] != x->shape[1] || y->shape[3] != x->shape[2])
        return shape_err(op, "x must be [N,H,W,3] and y [N,3,H,W]", x, y);
    if (!hart_tensor_numel(y)) return HART_OK;
    DISPATCH(op, rgb8_to_nchw, y, 1, L(x), I_[0]);
}

hart_status hart_op_transpose(hart_tensor *y, const hart_tensor *x, const int *perm) {
    const char *op = "hart_op_transpose";
    if (x->ndim != y->ndim || x->dtype != y->dtype || x->dtype == HART_Q4) return shape_err(op, "rank/dtype differ", x, y);
    int used = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (perm[i] < 0 || perm[i] >= x->ndim || (used & (1 << perm[i]))) return hart_fail(HART_EINVAL, "%s: bad permutation", op);
        used |= 1 << perm[i];
        if (y->shape[i] != x->shape[perm[i]]) return shape_err(op, "output shape is not the permuted input shape", y, x);
    }
    DISPATCH(op, transpose, y, 1, L(x), I_[0], perm);
}

static hart_status check_dim_op(const char *op, const hart_tensor *y, const hart_tensor *x, int dim) {
    if (dim < 0 || dim >= y->ndim || x->ndim != y->ndim || x->dtype != y->dtype || x->dtype == HART_Q4)
        return shape_err(op, "rank/dtype/dim mismatch", x, y);
    for (int i = 0; i < y->ndim; i++)
        if (i != dim && x->shape[i] != y->shape[i]) return shape_err(op, "shapes differ outside dim", x, y);
    return HART_OK;
}

hart_status hart_op_concat(hart_tensor *y, const hart_tensor *a, const hart_tensor *b, int dim) {
    HART_TRY(check_dim_op("hart_op_concat", y, a, dim)); HART_TRY(check_dim_op("hart_op_concat", y, b, dim));
    if (a->shape[dim] + b->shape[dim] != y->shape[dim]) return shape_err("hart_op_concat", "sizes along dim do not add up", a, b);
    DISPATCH("hart_op_concat", concat, y, 2, L(a, b), I_[0], I_[1], dim);
}

hart_status hart_op_slice(hart_tensor *y, const hart_tensor *x, int dim, int64_t start) {
    HART_TRY(check_dim_op("hart_op_slice", y, x, dim));
    if (start < 0 || start + y->shape[dim] > x->shape[dim]) return shape_err("hart_op_slice", "slice outside input", y, x);
    DISPATCH("hart_op_slice", slice, y, 1, L(x), I_[0], dim, start);
}

hart_status hart_op_slice_assign(hart_tensor *y, const hart_tensor *x, int dim, int64_t start) {
    HART_TRY(check_dim_op("hart_op_slice_assign", y, x, dim));
    if (start < 0 || start + x->shape[dim] > y->shape[dim]) return shape_err("hart_op_slice_assign", "slice outside output", x, y);
    DISPATCH("hart_op_slice_assign", slice_assign, y, 1, L(x), I_[0], dim, start);
}

hart_status hart_op_embedding(hart_tensor *y, const hart_tensor *table, const hart_tensor *ids) {
    const char *op = "hart_op_embedding";
    HART_TRY(need_f32(op, y, "y"));
    if (table->ndim != 2 || !is_float(table)) return shape_err(op, "table must be 2-D float", table, NULL);
    if (ids->dtype != HART_I64 && ids->dtype != HART_I32) return hart_fail(HART_EINVAL, "%s: ids must be I64 or I32", op);
    if (hart_tensor_numel(y) != hart_tensor_numel(ids) * table->shape[1] || y->shape[y->ndim - 1] != table->shape[1])
        return shape_err(op, "output shape", y, ids);
    DISPATCH(op, embedding, y, 2, L(table, ids), I_[0], I_[1]);
}

/* Attention the device has no fused kernel for (e.g. a head dim over its
 * limit, the autoencoders' single-head mid-block attention) stays on the
 * device as softmax(scale·q·kᵀ + mask)·v through its GEMM, softmax and add:
 * the host fallback would copy q, k, v and the result across and run the
 * products on the CPU. The score matrix [B, H, Lq, Lk] is materialised,
 * in chunks of query rows that keep it at or under 256 MiB when B·H = 1
 * (the callers check composed_fits first). */
#define COMPOSED_CHUNK_BYTES (256LL << 20)
/* $HART_ATTN_CHUNK_BYTES overrides the chunk size (the unit tests make it tiny) */
static int64_t composed_chunk_bytes(void) {
    const char *e = getenv("HART_ATTN_CHUNK_BYTES");
    long long v = e ? atoll(e) : 0;
    return v > 0 ? (int64_t)v : COMPOSED_CHUNK_BYTES;
}
static int composed_fits(const hart_tensor *q, const hart_tensor *k) {
    int64_t bh = q->shape[0] * q->shape[1];
    return bh == 1 || bh * q->shape[2] * k->shape[2] * (int64_t)sizeof(float) <= 4 * COMPOSED_CHUNK_BYTES;
}

/* rows [r0, r0+n) of dim 2 of a [1, 1, L, X] tensor, as a [1, 1, n, X] view */
static hart_status rows_view(const hart_tensor *t, int64_t r0, int64_t n, hart_tensor *view) {
    hart_tensor flat, part;
    HART_TRY(hart_tensor_reshape(t, 2, (int64_t[]){t->shape[2], t->shape[3]}, &flat));
    HART_TRY(hart_tensor_rows(&flat, r0, n, &part));
    return hart_tensor_reshape(&part, 4, (int64_t[]){1, 1, n, t->shape[3]}, view);
}

static hart_status attention_composed(hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                                      const hart_tensor *v, const hart_tensor *mask, float scale) {
    int64_t B = q->shape[0], H = q->shape[1], Lq = q->shape[2], Lk = k->shape[2];
    int64_t per_row = Lk * (int64_t)sizeof(float), rows = composed_chunk_bytes() / (per_row > 0 ? per_row : 1);
    if (rows < 1) rows = 1;
    if (rows > Lq || B * H != 1) rows = Lq;
    hart_backend *be = backend_of(out);
    hart_tensor s = {0}, p = {0}, qv, ov, mv;
    hart_status st = HART_OK;
    for (int64_t r0 = 0; r0 < Lq && !st; r0 += rows) {
        int64_t n = Lq - r0 < rows ? Lq - r0 : rows;
        if (!s.ndim || s.shape[2] != n) {
            hart_tensor_free(&s);
            hart_tensor_free(&p);
            HART_TRY_GOTO(st, hart_tensor_new4(be, HART_F32, &s, 4, B, H, n, Lk));
            HART_TRY_GOTO(st, hart_tensor_new4(be, HART_F32, &p, 4, B, H, n, Lk));
        }
        qv = *q;
        ov = *out;
        if (n != Lq) {
            HART_TRY_GOTO(st, rows_view(q, r0, n, &qv));
            HART_TRY_GOTO(st, rows_view(out, r0, n, &ov));
        }
        HART_TRY_GOTO(st, hart_op_matmul(&s, &qv, k, 0, 1, scale));
        if (mask) {
            mv = *mask;
            if (n != Lq) HART_TRY_GOTO(st, rows_view(mask, r0, n, &mv));
            HART_TRY_GOTO(st, hart_op_binary(&s, &s, &mv, HART_BIN_ADD));
        }
        HART_TRY_GOTO(st, hart_op_softmax(&p, &s));
        HART_TRY_GOTO(st, hart_op_matmul(&ov, &p, v, 0, 0, 1.0f));
    }
done:
    hart_tensor_free(&s);
    hart_tensor_free(&p);
    return st;
}

static hart_status attention_run(hart_tensor *out, const hart_tensor *q, const hart_tensor *k, const hart_tensor *v,
                                 const hart_tensor *mask, float scale) {
    hart_backend *be = backend_of(out);
    const hart_tensor *ins[MAX_IN] = {q, k, v, mask};
    if (be != hart_backend_cpu() && be->vt->supports && !be->vt->supports(be, HART_OP_attention, out, ins) &&
        k->shape[1] == q->shape[1] && composed_fits(q, k))
        return attention_composed(out, q, k, v, mask, scale);
    DISPATCH("hart_op_attention", attention, out, 4, L(q, k, v, mask), I_[0], I_[1], I_[2], I_[3], scale);
}

static hart_status attention_shapes(const char *op, const hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                                    const hart_tensor *v, const hart_tensor *mask) {
    HART_TRY(need_f32(op, q, "q")); HART_TRY(need_f32(op, k, "k")); HART_TRY(need_f32(op, v, "v"));
    HART_TRY(same(op, out, q)); HART_TRY(need_f32(op, mask, "mask"));
    if (q->ndim != 4 || !hart_tensor_same_shape(k, v) || k->ndim != 4) return shape_err(op, "q/k/v must be 4-D and k, v alike", q, k);
    if (k->shape[0] != q->shape[0] || k->shape[3] != q->shape[3] || k->shape[1] < 1 || q->shape[1] % k->shape[1])
        return shape_err(op, "k incompatible with q (batch, head dim, or heads not a multiple)", q, k);
    if (mask) {
        if (mask->ndim != 4 || (mask->shape[0] != 1 && mask->shape[0] != q->shape[0]) ||
            (mask->shape[1] != 1 && mask->shape[1] != q->shape[1]) || mask->shape[2] != q->shape[2] || mask->shape[3] != k->shape[2])
            return shape_err(op, "mask must be [B|1, H|1, Lq, Lk]", mask, q);
    }
    return HART_OK;
}

hart_status hart_op_attention(hart_tensor *out, const hart_tensor *q, const hart_tensor *k, const hart_tensor *v,
                         const hart_tensor *mask, float scale) {
    HART_TRY(attention_shapes("hart_op_attention", out, q, k, v, mask));
    hart_backend *be = backend_of(out);
    if (!half_mode(out) || (be->vt->attention_rounds_to_half && be->vt->attention_rounds_to_half(be, q)))
        return attention_run(out, q, k, v, mask, scale);
    /* the output is the input of the projection GEMM, rounded there */
    hart_tensor qr, kr, vr;
    HART_TRY(half_rounded(q, &qr));
    hart_status s = half_rounded(k, &kr);
    if (!s) {
        s = half_rounded(v, &vr);
        if (!s) s = attention_run(out, &qr, &kr, &vr, mask, scale);
        hart_tensor_free(&vr);
        hart_tensor_free(&kr);
    }
    hart_tensor_free(&qr);
    return s;
}

static hart_status attention_sparse_run(hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                                        const hart_tensor *v, const hart_tensor *mask, const hart_tensor *blocks,
                                        int block_q, int block_k, float scale) {
    const char *op = "hart_op_attention_sparse";
    DISPATCH(op, attention_sparse, out, 5, L(q, k, v, mask, blocks), I_[0], I_[1], I_[2], I_[3], I_[4], block_q, block_k,
             scale);
}

hart_status hart_op_attention_sparse(hart_tensor *out, const hart_tensor *q, const hart_tensor *k, const hart_tensor *v,
                                    const hart_tensor *mask, const hart_tensor *blocks, int block_q, int block_k,
                                    float scale) {
    const char *op = "hart_op_attention_sparse";
    HART_TRY(attention_shapes(op, out, q, k, v, mask));
    if (block_q < 1 || block_k < 1)
        return hart_fail(HART_EINVAL, "%s: block sizes must be >= 1 (got %d x %d)", op, block_q, block_k);
    if (!blocks || blocks->dtype != HART_U8) return hart_fail(HART_EINVAL, "%s: the block mask must be a U8 tensor", op);
    int64_t nqb = (q->shape[2] + block_q - 1) / block_q, nkb = (k->shape[2] + block_k - 1) / block_k;
    if (blocks->ndim != 4 || (blocks->shape[0] != 1 && blocks->shape[0] != q->shape[0]) ||
        (blocks->shape[1] != 1 && blocks->shape[1] != q->shape[1]) || blocks->shape[2] != nqb || blocks->shape[3] != nkb)
        return hart_fail(HART_EINVAL, "%s: block mask must be [B|1, H|1, %lld, %lld] for %d x %d blocks", op,
                         (long long)nqb, (long long)nkb, block_q, block_k);
    hart_backend *be = backend_of(out);
    if (!half_mode(out) || (be->vt->attention_rounds_to_half && be->vt->attention_rounds_to_half(be, q)))
        return attention_sparse_run(out, q, k, v, mask, blocks, block_q, block_k, scale);
    /* as hart_op_attention: q, k, v rounded to half first */
    hart_tensor qr, kr, vr;
    HART_TRY(half_rounded(q, &qr));
    hart_status s = half_rounded(k, &kr);
    if (!s) {
        s = half_rounded(v, &vr);
        if (!s) s = attention_sparse_run(out, &qr, &kr, &vr, mask, blocks, block_q, block_k, scale);
        hart_tensor_free(&vr);
        hart_tensor_free(&kr);
    }
    hart_tensor_free(&qr);
    return s;
}

static hart_status block_mask_run(hart_tensor *blocks, const hart_tensor *q, const hart_tensor *k,
                                  const hart_block_mask_spec *spec) {
    DISPATCH("hart_op_block_mask", block_mask, blocks, 2, L(q, k), I_[0], I_[1], spec);
}

hart_status hart_op_block_mask(hart_tensor *blocks, const hart_tensor *q, const hart_tensor *k,
                               const hart_block_mask_spec *spec) {
    const char *op = "hart_op_block_mask";
    HART_TRY(need_f32(op, q, "q"));
    HART_TRY(need_f32(op, k, "k"));
    if (!spec || (spec->kind != HART_BLOCK_MASK_QUEST && spec->kind != HART_BLOCK_MASK_XATTN))
        return hart_fail(HART_EINVAL, "%s: unknown policy", op);
    if (q->ndim != 4 || k->ndim != 4 || k->shape[0] != q->shape[0] || k->shape[3] != q->shape[3] || k->shape[1] < 1 ||
        q->shape[1] % k->shape[1] || q->shape[2] > k->shape[2])
        return shape_err(op, "q [B,H,Lq,D] and k [B,Hkv,Lk,D] with H % Hkv == 0 and Lq <= Lk", q, k);
    if (q->shape[3] > BM_MAX_D) return shape_err(op, "head dim over 256", q, NULL);
    if (spec->block < 1 || spec->nsink < 0 || spec->nsink > k->shape[2])
        return hart_fail(HART_EINVAL, "%s: block %d must be >= 1 and sinks %lld within the %lld keys", op, spec->block,
                         (long long)spec->nsink, (long long)k->shape[2]);
    if (spec->kind == HART_BLOCK_MASK_QUEST ? spec->budget < 1 : !(spec->threshold > 0 && spec->threshold <= 1))
        return hart_fail(HART_EINVAL, "%s: budget %d must be >= 1, threshold %g in (0, 1]", op, spec->budget,
                         spec->threshold);
    int64_t bs = spec->block, nqb = (q->shape[2] + bs - 1) / bs, nkb = (k->shape[2] + bs - 1) / bs;
    if (!blocks || blocks->dtype != HART_U8 || blocks->ndim != 4 || blocks->shape[0] != q->shape[0] ||
        blocks->shape[1] != q->shape[1] || blocks->shape[2] != nqb || blocks->shape[3] != nkb)
        return hart_fail(HART_EINVAL, "%s: blocks must be U8 [%lld, %lld, %lld, %lld]", op, (long long)q->shape[0],
                         (long long)q->shape[1], (long long)nqb, (long long)nkb);
    if (!hart_tensor_numel(blocks)) return HART_OK;
    return block_mask_run(blocks, q, k, spec);
}

hart_status hart_op_rope(hart_tensor *y, const hart_tensor *x, const hart_tensor *c, const hart_tensor *s, int interleaved) {
    const char *op = "hart_op_rope";
    HART_TRY(same(op, y, x)); HART_TRY(need_f32(op, c, "cos")); HART_TRY(need_f32(op, s, "sin"));
    if (x->ndim != 4 || x->shape[3] % 2) return shape_err(op, "x must be [B,H,L,D] with even D", x, NULL);
    if (c->ndim != 3 || !hart_tensor_same_shape(c, s) || (c->shape[0] != 1 && c->shape[0] != x->shape[0]) ||
        c->shape[1] != x->shape[2] || c->shape[2] != x->shape[3] / 2)
        return shape_err(op, "cos/sin must be [B|1, L, D/2]", c, x);
    DISPATCH(op, rope, y, 3, L(x, c, s), I_[0], I_[1], I_[2], interleaved);
}

hart_status hart_op_interpolate(hart_tensor *y, const hart_tensor *x, hart_interp mode) {
    const char *op = "hart_op_interpolate";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (x->ndim != 4 || y->ndim != 4 || x->shape[0] != y->shape[0] || x->shape[1] != y->shape[1] ||
        y->shape[2] < 1 || y->shape[3] < 1 || x->shape[2] < 1 || x->shape[3] < 1)
        return shape_err(op, "NCHW tensors with equal N, C", x, y);
    if ((unsigned)mode >= HART_INTERP_COUNT) return hart_fail(HART_EINVAL, "%s: unknown mode %d", op, (int)mode);
    DISPATCH(op, interpolate, y, 1, L(x), I_[0], mode);
}

hart_status hart_op_pool2d(hart_tensor *y, const hart_tensor *x, int k, int stride, int pad, hart_pool mode) {
    const char *op = "hart_op_pool2d";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (k < 1 || stride < 1 || pad < 0 || pad > k / 2 || (unsigned)mode >= HART_POOL_COUNT)
        return hart_fail(HART_EINVAL, "%s: bad kernel %d / stride %d / pad %d / mode %d", op, k, stride, pad, (int)mode);
    if (x->ndim != 4 || y->ndim != 4 || x->shape[2] + 2 * pad < k || x->shape[3] + 2 * pad < k)
        return shape_err(op, "x must be NCHW and at least the window", x, y);
    int64_t Ho = (x->shape[2] + 2 * pad - k) / stride + 1, Wo = (x->shape[3] + 2 * pad - k) / stride + 1;
    if (y->shape[0] != x->shape[0] || y->shape[1] != x->shape[1] || y->shape[2] != Ho || y->shape[3] != Wo)
        return shape_err(op, "output shape", y, x);
    DISPATCH(op, pool2d, y, 1, L(x), I_[0], k, stride, pad, mode);
}

hart_status hart_op_pixel_shuffle(hart_tensor *y, const hart_tensor *x, int r) {
    const char *op = "hart_op_pixel_shuffle";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (r < 1 || x->ndim != 4 || y->ndim != 4 || y->shape[0] != x->shape[0] || y->shape[1] * r * r != x->shape[1] ||
        y->shape[2] != x->shape[2] * r || y->shape[3] != x->shape[3] * r)
        return shape_err(op, "shapes do not match the factor", x, y);
    DISPATCH(op, pixel_shuffle, y, 1, L(x), I_[0], r);
}

hart_status hart_op_pixel_unshuffle(hart_tensor *y, const hart_tensor *x, int r) {
    const char *op = "hart_op_pixel_unshuffle";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (r < 1 || x->ndim != 4 || y->ndim != 4 || y->shape[0] != x->shape[0] || x->shape[1] * r * r != y->shape[1] ||
        x->shape[2] != y->shape[2] * r || x->shape[3] != y->shape[3] * r)
        return shape_err(op, "shapes do not match the factor", x, y);
    DISPATCH(op, pixel_unshuffle, y, 1, L(x), I_[0], r);
}

hart_status hart_op_reduce(hart_tensor *y, const hart_tensor *x, int dim, hart_reduce r) {
    const char *op = "hart_op_reduce";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (dim < 0 || dim >= x->ndim || y->ndim != x->ndim || y->shape[dim] != 1 || (unsigned)r >= HART_RED_COUNT)
        return shape_err(op, "output must equal input with dim reduced to 1", y, x);
    for (int i = 0; i < x->ndim; i++)
        if (i != dim && x->shape[i] != y->shape[i]) return shape_err(op, "output must equal input with dim reduced to 1", y, x);
    DISPATCH(op, reduce, y, 1, L(x), I_[0], dim, r);
}

hart_status hart_op_argmin_dist(hart_tensor *idx, const hart_tensor *x, const hart_tensor *cb) {
    const char *op = "hart_op_argmin_dist";
    HART_TRY(need_f32(op, x, "x"));
    if (idx->dtype != HART_I64 || x->ndim != 2 || cb->ndim != 2 || !is_float(cb) || cb->shape[1] != x->shape[1] ||
        hart_tensor_numel(idx) != x->shape[0] || cb->shape[0] < 1)
        return shape_err(op, "idx I64 [N], x [N,D], codebook [V,D]", x, cb);
    DISPATCH(op, argmin_dist, idx, 2, L(x, cb), I_[0], I_[1]);
}

/* ---- token sampling and the diffusion sampler ---- */

static hart_status need_keys(const char *op, const hart_tensor *keys, int64_t B) {
    if (keys->dtype != HART_I64 || keys->ndim != 2 || keys->shape[0] != B || keys->shape[1] != 2)
        return shape_err(op, "keys must be I64 [B,2] (seed, image index) with B images", keys, NULL);
    return HART_OK;
}

hart_status hart_op_cfg_mix(hart_tensor *y, const hart_tensor *x, double t) {
    const char *op = "hart_op_cfg_mix";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (x->ndim < 1 || y->ndim != x->ndim || x->shape[0] != 2 * y->shape[0] || !isfinite(t))
        return shape_err(op, "x [2B,...] -> y [B,...], finite t", y, x);
    for (int i = 1; i < x->ndim; i++)
        if (x->shape[i] != y->shape[i]) return shape_err(op, "x [2B,...] -> y [B,...]", y, x);
    DISPATCH(op, cfg_mix, y, 1, L(x), I_[0], t);
}

hart_status hart_op_topk_topp(hart_tensor *y, const hart_tensor *x, int k, double p) {
    const char *op = "hart_op_topk_topp";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (x->ndim < 1 || !hart_tensor_same_shape(x, y) || x->shape[x->ndim - 1] < 1 ||
        x->shape[x->ndim - 1] > HART_SAMPLE_MAX_V)
        return shape_err(op, "x and y of one shape, last dim 1..2^22", y, x);
    if (isnan(p)) return hart_fail(HART_EINVAL, "%s: p is NaN", op);
    DISPATCH(op, topk_topp, y, 1, L(x), I_[0], k, p);
}

hart_status hart_op_multinomial(hart_tensor *idx, const hart_tensor *x, const hart_tensor *keys, int site, int step) {
    const char *op = "hart_op_multinomial";
    HART_TRY(need_f32(op, x, "x"));
    if (idx->dtype != HART_I64 || x->ndim != 3 || idx->ndim != 2 || idx->shape[0] != x->shape[0] ||
        idx->shape[1] != x->shape[1] || x->shape[2] < 1 || x->shape[2] > HART_SAMPLE_MAX_V)
        return shape_err(op, "idx I64 [B,L], x [B,L,V] (V 1..2^22)", idx, x);
    HART_TRY(need_keys(op, keys, x->shape[0]));
    DISPATCH(op, multinomial, idx, 2, L(x, keys), I_[0], I_[1], site, step);
}

hart_status hart_op_gumbel_softmax(hart_tensor *y, const hart_tensor *x, const hart_tensor *keys, float scale,
                                   float tau, int site, int step) {
    const char *op = "hart_op_gumbel_softmax";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (x->ndim != 3 || !hart_tensor_same_shape(x, y) || !(tau > 0)) return shape_err(op, "x, y [B,L,V], tau > 0", y, x);
    HART_TRY(need_keys(op, keys, x->shape[0]));
    DISPATCH(op, gumbel_softmax, y, 2, L(x, keys), I_[0], I_[1], scale, tau, site, step);
}

hart_status hart_op_randn(hart_tensor *y, const hart_tensor *keys, int site, int step) {
    const char *op = "hart_op_randn";
    HART_TRY(need_f32(op, y, "y"));
    if (y->ndim != 4) return shape_err(op, "y must be [H,B,L,C]", y, NULL);
    HART_TRY(need_keys(op, keys, y->shape[1]));
    DISPATCH(op, randn, y, 1, L(keys), I_[0], site, step);
}

hart_status hart_op_ddpm_step(hart_tensor *x, const hart_tensor *out, const hart_tensor *noise, const hart_ddpm_coef *c) {
    const char *op = "hart_op_ddpm_step";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, out, "out")); HART_TRY(need_f32(op, noise, "noise"));
    if (x->ndim != 2 || !hart_tensor_same_shape(x, noise) || out->ndim != 2 || out->shape[0] != x->shape[0] ||
        out->shape[1] != 2 * x->shape[1] || (c->guided && x->shape[0] % 2))
        return shape_err(op, "x, noise [n,C], out [n,2C] (n even when guided)", x, out);
    DISPATCH(op, ddpm_step, x, 2, L(out, noise), I_[0], I_[1], c);
}

hart_status hart_op_gather_rows(hart_tensor *y, const hart_tensor *table, const hart_tensor *idx) {
    const char *op = "hart_op_gather_rows";
    HART_TRY(need_f32(op, y, "y")); HART_TRY(need_f32(op, table, "table"));
    if (idx->dtype != HART_I64 || table->ndim != 2 || y->ndim != 2 || y->shape[0] != hart_tensor_numel(idx) ||
        y->shape[1] != table->shape[1])
        return shape_err(op, "y [N,D], table [V,D], idx I64 of N entries", y, table);
    DISPATCH(op, gather_rows, y, 2, L(table, idx), I_[0], I_[1]);
}

hart_status hart_op_rope_rows(hart_tensor *y, const hart_tensor *x, const hart_tensor *c, const hart_tensor *s) {
    const char *op = "hart_op_rope_rows";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    HART_TRY(need_f32(op, c, "cos")); HART_TRY(need_f32(op, s, "sin"));
    if (x->ndim != 4 || x->shape[3] % 2 || !hart_tensor_same_shape(x, y))
        return shape_err(op, "x, y must be [B,H,L,D] with even D", y, x);
    if (c->ndim != 3 || !hart_tensor_same_shape(c, s) || c->shape[0] != x->shape[0] || c->shape[1] != x->shape[2] ||
        c->shape[2] != x->shape[3])
        return shape_err(op, "cos/sin must be [B, L, D]", c, x);
    DISPATCH(op, rope_rows, y, 3, L(x, c, s), I_[0], I_[1], I_[2]);
}

/* ---- fused block ops (op_list.h) ---- */

/* y F32, or F16 in f16 mode; *via: 1 when the backend does not take an F16
 * y, so the op runs into an f32 temporary and is copied (rounded) into y */
static hart_status half_out(const char *op, const hart_tensor *y, int *via) {
    *via = 0;
    if (y->dtype == HART_F32) return HART_OK;
    if (y->dtype != HART_F16 || !half_mode(y))
        return hart_fail(HART_EINVAL, "%s: y must be F32 (F16 in f16 precision mode; is %s)", op, hart_dtype_name(y->dtype));
    *via = !hart_half_activations(backend_of(y));
    return HART_OK;
}

static hart_status f32_twin(const hart_tensor *y, hart_tensor *t) {
    return hart_tensor_new(y->be, HART_F32, y->ndim, y->shape, t);
}

hart_status hart_op_norm_mod(hart_tensor *y, const hart_tensor *x, const hart_tensor *gamma, const hart_tensor *beta,
                             const hart_tensor *s1p, const hart_tensor *shift, float eps, int rms) {
    const char *op = "hart_op_norm_mod";
    int via;
    HART_TRY(need_f32(op, x, "x")); HART_TRY(half_out(op, y, &via));
    if (x->ndim != 3 || !hart_tensor_same_shape(x, y)) return shape_err(op, "x, y must be [B, L, D] alike", y, x);
    int64_t B = x->shape[0], D = x->shape[2];
    HART_TRY(check_param(op, gamma, D, "gamma")); HART_TRY(check_param(op, beta, D, "beta"));
    if (rms && beta) return hart_fail(HART_EINVAL, "%s: RMSNorm takes no beta", op);
    if (!s1p != !shift) return hart_fail(HART_EINVAL, "%s: s1p and shift go together", op);
    const hart_tensor *m[2] = {s1p, shift};
    for (int i = 0; s1p && i < 2; i++) {
        HART_TRY(need_f32(op, m[i], i ? "shift" : "s1p"));
        if (m[i]->ndim != 3 || m[i]->shape[0] != B || m[i]->shape[1] != 1 || m[i]->shape[2] != D)
            return shape_err(op, "s1p/shift must be [B, 1, D]", m[i], x);
    }
    if (via) {
        hart_tensor t;
        HART_TRY(f32_twin(y, &t));
        hart_status s = hart_op_norm_mod(&t, x, gamma, beta, s1p, shift, eps, rms);
        if (!s) s = hart_op_copy(y, &t);
        hart_tensor_free(&t);
        return s;
    }
    DISPATCH(op, norm_mod, y, 5, L(x, gamma, beta, s1p, shift), I_[0], I_[1], I_[2], I_[3], I_[4], eps, rms);
}

hart_status hart_op_swiglu(hart_tensor *y, const hart_tensor *x) {
    const char *op = "hart_op_swiglu";
    int via;
    HART_TRY(need_f32(op, x, "x")); HART_TRY(half_out(op, y, &via));
    int ok = x->ndim >= 1 && x->ndim == y->ndim && x->shape[x->ndim - 1] == 2 * y->shape[y->ndim - 1];
    for (int i = 0; ok && i < x->ndim - 1; i++) ok = x->shape[i] == y->shape[i];
    if (!ok) return shape_err(op, "x [..., 2H] and y [..., H]", y, x);
    if (via) {
        hart_tensor t;
        HART_TRY(f32_twin(y, &t));
        hart_status s = hart_op_swiglu(&t, x);
        if (!s) s = hart_op_copy(y, &t);
        hart_tensor_free(&t);
        return s;
    }
    DISPATCH(op, swiglu, y, 1, L(x), I_[0]);
}

hart_status hart_op_qkv_heads(hart_tensor *y, const hart_tensor *x, const hart_tensor *c, const hart_tensor *s) {
    const char *op = "hart_op_qkv_heads";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (x->ndim != 3 || y->ndim != 4 || y->shape[0] != 3 * x->shape[0] || y->shape[2] != x->shape[1] ||
        x->shape[2] != 3 * y->shape[1] * y->shape[3])
        return shape_err(op, "x [B, L, 3*H*D] and y [3B, H, L, D]", y, x);
    if (!c != !s) return hart_fail(HART_EINVAL, "%s: cos and sin go together", op);
    if (c) {
        HART_TRY(need_f32(op, c, "cos")); HART_TRY(need_f32(op, s, "sin"));
        if (y->shape[3] % 2 || c->ndim != 3 || !hart_tensor_same_shape(c, s) || c->shape[0] != x->shape[0] ||
            c->shape[1] != x->shape[1] || c->shape[2] != y->shape[3])
            return shape_err(op, "cos/sin must be [B, L, D] with D even", c, y);
    }
    DISPATCH(op, qkv_heads, y, 3, L(x, c, s), I_[0], I_[1], I_[2]);
}

hart_status hart_op_clamp(hart_tensor *y, const hart_tensor *x, float lo, float hi) {
    const char *op = "hart_op_clamp";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (hart_tensor_numel(x) != hart_tensor_numel(y)) return shape_err(op, "x and y of one size", y, x);
    if (!(lo <= hi)) return hart_fail(HART_EINVAL, "%s: lo %g > hi %g", op, (double)lo, (double)hi);
    DISPATCH(op, clamp, y, 1, L(x), I_[0], lo, hi);
}

/* ---- quantized ops: the weight is a hart_qweight, not a tensor, so these
 * dispatch by hand (same rules: the backend's kernel, else the CPU through
 * host copies). ---- */

static hart_status check_qweight(const char *op, const hart_qweight *w, int need_int8) {
    if (!w || w->fmt <= HART_QF_NONE || w->fmt >= HART_QF_COUNT || !w->q.ndim)
        return hart_fail(HART_EINVAL, "%s: not a quantized weight", op);
    if (need_int8 && !hart_qformat_int8_act(w->fmt))
        return hart_fail(HART_EINVAL, "%s: format %s has no integer part", op, hart_qformat_name(w->fmt));
    return HART_OK;
}

static void fb_note(const char *op, hart_backend *be) {
    static _Thread_local int warned;
    if (!warned) fprintf(stderr, "hart: note: op %s has no %s kernel; running it on the CPU\n", op, be->name);
    warned = 1;
}

hart_status hart_op_qlinear(hart_tensor *y, const hart_tensor *x, const hart_qweight *w, const hart_tensor *b) {
    const char *op = "hart_op_qlinear";
    HART_TRY(check_qweight(op, w, 0));
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, y, "y"));
    if (x->ndim < 1 || x->shape[x->ndim - 1] != w->K)
        return hart_fail(HART_EINVAL, "%s: x's last dim %lld != the weight's K %lld", op,
                         (long long)(x->ndim ? x->shape[x->ndim - 1] : 0), (long long)w->K);
    int64_t mx = 1, my = 1;
    for (int i = 0; i < x->ndim - 1; i++) mx *= x->shape[i];
    for (int i = 0; i < y->ndim - 1; i++) my *= y->shape[i];
    if (y->ndim != x->ndim || y->shape[y->ndim - 1] != w->N || mx != my) return shape_err(op, "output shape", y, x);
    if (b && (b->ndim != 1 || b->shape[0] != w->N || !is_float(b))) return shape_err(op, "bias shape", b, NULL);
    hart_backend *be = backend_of(y);
    const hart_tensor *ins[4] = {x, b, &w->q, &w->scale};
    HART_TRY(check_placement(op, be, 4, ins));
    if (w->insmooth.ndim) { /* x · diag(insmooth) first, then the same op on the product */
        if (w->insmooth.ndim != 1 || w->insmooth.shape[0] != w->K) return hart_fail(HART_EINVAL, "%s: insmooth must be [K]", op);
        hart_tensor xs;
        HART_TRY(hart_tensor_new(y->be, HART_F32, x->ndim, x->shape, &xs));
        hart_qweight plain = *w;
        plain.insmooth = (hart_tensor){0};
        hart_status s = hart_op_binary(&xs, x, &w->insmooth, HART_BIN_MUL);
        if (!s) s = hart_op_qlinear(y, &xs, &plain, b);
        hart_tensor_free(&xs);
        return s;
    }
    if (be->vt->qlinear) return be->vt->qlinear(be, y, x, w, b);
    fb_note(op, be);
    hart_tensor xh = {0}, bh = {0}, yh = {0};
    hart_qweight wh;
    memset(&wh, 0, sizeof wh);
    hart_status s = hart_tensor_to(NULL, x, &xh);
    if (!s && b) s = hart_tensor_to(NULL, b, &bh);
    if (!s) s = hart_qweight_to(NULL, w, &wh);
    if (!s) s = hart_tensor_new(NULL, HART_F32, y->ndim, y->shape, &yh);
    hart_backend *cpu = hart_backend_cpu();
    if (!s) s = cpu->vt->qlinear(cpu, &yh, &xh, &wh, b ? &bh : NULL);
    if (!s) s = hart_tensor_write(y, yh.data, hart_tensor_nbytes(&yh));
    hart_tensor_free(&xh); hart_tensor_free(&bh); hart_tensor_free(&yh);
    hart_qweight_free(&wh);
    return s;
}

hart_status hart_op_quant_rows(hart_tensor *q, hart_tensor *sc, const hart_tensor *x) {
    const char *op = "hart_op_quant_rows";
    HART_TRY(need_f32(op, x, "x")); HART_TRY(need_f32(op, sc, "s"));
    if (x->ndim != 2 || q->dtype != HART_I8 || !hart_tensor_same_shape(q, x) || hart_tensor_numel(sc) != x->shape[0])
        return shape_err(op, "q I8 [M,K], s F32 [M], x F32 [M,K]", q, x);
    hart_backend *be = backend_of(q);
    const hart_tensor *ins[2] = {sc, x};
    HART_TRY(check_placement(op, be, 2, ins));
    if (be->vt->quant_rows) return be->vt->quant_rows(be, q, sc, x);
    fb_note(op, be); /* two outputs: by hand */
    hart_tensor xh = {0}, qh = {0}, sh = {0};
    hart_status s = hart_tensor_to(NULL, x, &xh);
    if (!s) s = hart_tensor_new(NULL, HART_I8, 2, q->shape, &qh);
    if (!s) s = hart_tensor_new(NULL, HART_F32, sc->ndim, sc->shape, &sh);
    hart_backend *cpu = hart_backend_cpu();
    if (!s) s = cpu->vt->quant_rows(cpu, &qh, &sh, &xh);
    if (!s) s = hart_tensor_write(q, qh.data, hart_tensor_nbytes(&qh));
    if (!s) s = hart_tensor_write(sc, sh.data, hart_tensor_nbytes(&sh));
    hart_tensor_free(&xh); hart_tensor_free(&qh); hart_tensor_free(&sh);
    return s;
}

hart_status hart_op_qgemm(hart_tensor *acc, const hart_tensor *a, const hart_qweight *w) {
    const char *op = "hart_op_qgemm";
    HART_TRY(check_qweight(op, w, 1));
    if (acc->dtype != HART_I32 || a->dtype != HART_I8 || acc->ndim != 2 || a->ndim != 2 || a->shape[1] != w->K ||
        acc->shape[0] != a->shape[0] || acc->shape[1] != w->N)
        return shape_err(op, "acc I32 [M,N], a I8 [M,K] with K, N the weight's", acc, a);
    hart_backend *be = backend_of(acc);
    const hart_tensor *ins[2] = {a, &w->q};
    HART_TRY(check_placement(op, be, 2, ins));
    if (be->vt->qgemm) return be->vt->qgemm(be, acc, a, w);
    fb_note(op, be);
    hart_tensor ah = {0}, yh = {0};
    hart_qweight wh;
    memset(&wh, 0, sizeof wh);
    hart_status s = hart_tensor_to(NULL, a, &ah);
    if (!s) s = hart_qweight_to(NULL, w, &wh);
    if (!s) s = hart_tensor_new(NULL, HART_I32, 2, acc->shape, &yh);
    hart_backend *cpu = hart_backend_cpu();
    if (!s) s = cpu->vt->qgemm(cpu, &yh, &ah, &wh);
    if (!s) s = hart_tensor_write(acc, yh.data, hart_tensor_nbytes(&yh));
    hart_tensor_free(&ah); hart_tensor_free(&yh);
    hart_qweight_free(&wh);
    return s;
}
