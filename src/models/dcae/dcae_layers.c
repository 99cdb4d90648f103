/* DC-AE layer forward passes on the op interface. Channel norms (trms2d,
 * ln2d), batch norm, relu6/hswish, the residual-autoencoding shortcuts and
 * the ReLU linear attention are composed from ops (ops.h has no channel
 * norm). Convention: every function consumes (frees) its input `x` and
 * allocates `out`, so peak memory stays near two activations. */
#include <stdlib.h>
#include <string.h>

#include "models/dcae/dcae_internal.h"
#include "ops/ops.h"

#define LINATT_EPS 1e-15f

static hart_status newt(hart_backend *be, hart_tensor *t, int nd, int64_t a, int64_t b, int64_t c, int64_t d) {
    return hart_tensor_new4(be, HART_F32, t, nd, a, b, c, d);
}

static void dropt(hart_tensor *t) { hart_tensor_free(t); memset(t, 0, sizeof *t); }

/* consume x into out (a move) */
static void move(hart_tensor *x, hart_tensor *out) {
    *out = *x;
    memset(x, 0, sizeof *x);
}

static hart_status conv_fwd(hart_backend *be, const dcae_conv *c, const hart_tensor *x, hart_tensor *out) {
    int64_t H = x->shape[2], W = x->shape[3];
    int64_t Ho = (H + 2 * c->pad - c->k) / c->stride + 1, Wo = (W + 2 * c->pad - c->k) / c->stride + 1;
    HART_TRY(newt(be, out, 4, x->shape[0], c->cout, Ho, Wo));
    hart_status s = hart_op_conv2d(out, x, &c->w, c->has_b ? &c->b : NULL, c->stride, c->pad, c->groups);
    if (s) dropt(out);
    return s;
}

/* conv that consumes its input */
static hart_status conv_c(hart_backend *be, const dcae_conv *c, hart_tensor *x, hart_tensor *out) {
    hart_status s = conv_fwd(be, c, x, out);
    dropt(x);
    return s;
}

static hart_status act_c(hart_backend *be, dcae_act_t a, hart_tensor *x, hart_tensor *out) {
    if (a == DA_NONE) { move(x, out); return HART_OK; }
    HART_TRY(hart_tensor_new(be, HART_F32, x->ndim, x->shape, out));
    hart_status s = HART_OK;
    if (a == DA_RELU || a == DA_SILU || a == DA_GELU) {
        s = hart_op_act(out, x, a == DA_RELU ? HART_ACT_RELU : a == DA_SILU ? HART_ACT_SILU : HART_ACT_GELU_TANH);
    } else { /* relu6(z) = relu(z) - relu(z - 6); hswish(x) = x · relu6(x + 3) / 6 */
        hart_tensor t = {0}, r = {0};
        float off = a == DA_HSWISH ? 3.0f : 0.0f;
        s = hart_tensor_new(be, HART_F32, x->ndim, x->shape, &t);
        if (!s) s = hart_tensor_new(be, HART_F32, x->ndim, x->shape, &r);
        if (!s) s = hart_op_scale(&t, x, 1.0f, off);                 /* z */
        if (!s) s = hart_op_act(out, &t, HART_ACT_RELU);            /* relu(z) */
        if (!s) s = hart_op_scale(&t, &t, 1.0f, -6.0f);             /* z - 6 */
        if (!s) s = hart_op_act(&r, &t, HART_ACT_RELU);
        if (!s) s = hart_op_binary(out, out, &r, HART_BIN_SUB);     /* relu6(z) */
        if (!s && a == DA_HSWISH) {
            s = hart_op_binary(out, out, x, HART_BIN_MUL);
            if (!s) s = hart_op_scale(out, out, 1.0f / 6.0f, 0.0f);
        }
        dropt(&t);
        dropt(&r);
    }
    dropt(x);
    if (s) dropt(out);
    return s;
}

/* channel norm of NCHW x */
static hart_status norm_c(hart_backend *be, const dcae_norm *n, hart_tensor *x, hart_tensor *out) {
    hart_status s = HART_OK;
    if (n->kind == DN_NONE) { move(x, out); return HART_OK; }
    if (n->kind == DN_BN2D) { /* folded running stats: x · scale + shift */
        s = hart_op_binary(x, x, &n->w, HART_BIN_MUL);
        if (!s) s = hart_op_binary(x, x, &n->b, HART_BIN_ADD);
        if (s) { dropt(x); return s; }
        move(x, out);
        return HART_OK;
    }
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    hart_tensor t = {0}, t2 = {0};
    static const int to_nhwc[4] = {0, 2, 3, 1}, to_nchw[4] = {0, 3, 1, 2};
    s = newt(be, &t, 4, N, H, W, C);
    if (!s) s = hart_op_transpose(&t, x, to_nhwc);
    dropt(x);
    if (!s) s = newt(be, &t2, 4, N, H, W, C);
    if (!s) {
        if (n->kind == DN_TRMS2D) {
            s = hart_op_rms_norm(&t2, &t, &n->w, n->eps);
            if (!s) s = hart_op_binary(&t2, &t2, &n->b, HART_BIN_ADD);
        } else
            s = hart_op_layer_norm(&t2, &t, &n->w, &n->b, n->eps);
    }
    dropt(&t);
    if (!s) s = newt(be, out, 4, N, C, H, W);
    if (!s) s = hart_op_transpose(out, &t2, to_nchw);
    dropt(&t2);
    if (s) dropt(out);
    return s;
}

/* averaging shortcut: pixel_unshuffle(f) then mean over groups of channels
 * (never aliases x; x is kept) */
static hart_status shortcut_avg(hart_backend *be, const hart_tensor *x, int f, int cout, hart_tensor *out) {
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2] / f, W = x->shape[3] / f;
    hart_tensor u = {0};
    hart_status s;
    if (f > 1) {
        HART_TRY(newt(be, &u, 4, N, C * f * f, H, W));
        s = hart_op_pixel_unshuffle(&u, x, f);
        if (s) { dropt(&u); return s; }
    } else {
        HART_TRY(newt(be, &u, 4, N, C, H, W));
        s = hart_op_copy(&u, x);
        if (s) { dropt(&u); return s; }
    }
    int64_t g = u.shape[1] / cout;
    if (g == 1) { move(&u, out); return HART_OK; }
    hart_tensor v;
    s = hart_tensor_reshape(&u, 4, (int64_t[]){N, cout, g, H * W}, &v);
    if (!s) s = newt(be, out, 4, N, cout, 1, H * W);
    if (!s) s = hart_op_reduce(out, &v, 2, HART_RED_MEAN);
    dropt(&u);
    if (!s) {
        out->ndim = 4;
        out->shape[2] = H;
        out->shape[3] = W;
    } else
        dropt(out);
    return s;
}

/* duplicating shortcut: repeat_interleave channels, then pixel_shuffle(f) */
static hart_status shortcut_dup(hart_backend *be, const hart_tensor *x, int f, int cout, hart_tensor *out) {
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t rep = (int64_t)cout * f * f / C;
    hart_tensor r = {0}, zero = {0}, xv;
    hart_status s = newt(be, &r, 4, N, C, rep, H * W);
    if (!s) s = newt(be, &zero, 1, 1, 0, 0, 0);
    if (!s) s = hart_tensor_reshape(x, 4, (int64_t[]){N, C, 1, H * W}, &xv);
    if (!s) s = hart_op_binary(&r, &xv, &zero, HART_BIN_ADD); /* broadcast over the repeat axis */
    dropt(&zero);
    if (s) { dropt(&r); return s; }
    r.shape[1] = C * rep;
    r.shape[2] = H;
    r.shape[3] = W;
    if (f == 1) { move(&r, out); return HART_OK; }
    s = newt(be, out, 4, N, cout, H * f, W * f);
    if (!s) s = hart_op_pixel_shuffle(out, &r, f);
    dropt(&r);
    if (s) dropt(out);
    return s;
}

static hart_status add_into(hart_tensor *y, hart_tensor *b) {
    hart_status s = hart_op_binary(y, y, b, HART_BIN_ADD);
    dropt(b);
    return s;
}

static hart_status sampler_c(hart_backend *be, const dcae_sampler *sm, hart_tensor *x, hart_tensor *out) {
    hart_tensor sc = {0}, h = {0}, h2 = {0};
    hart_status s = HART_OK;
    if (sm->shortcut == DSC_AVG) s = shortcut_avg(be, x, sm->factor, sm->cout, &sc);
    else if (sm->shortcut == DSC_DUP) s = shortcut_dup(be, x, sm->factor, sm->cout, &sc);
    if (s) { dropt(x); return s; }
    s = norm_c(be, &sm->pre_norm, x, &h);
    if (!s) s = act_c(be, sm->pre_act, &h, &h2);
    if (!s) {
        int64_t N = h2.shape[0], H = h2.shape[2], W = h2.shape[3];
        switch (sm->kind) {
        case DS_CONV:
        case DS_CONV_S2:
            s = conv_c(be, &sm->conv, &h2, out);
            break;
        case DS_CONV_UNSHUF:
            s = conv_c(be, &sm->conv, &h2, &h);
            if (!s) s = newt(be, out, 4, N, sm->cout, H / 2, W / 2);
            if (!s) s = hart_op_pixel_unshuffle(out, &h, 2);
            dropt(&h);
            break;
        case DS_CONV_SHUF:
            s = conv_c(be, &sm->conv, &h2, &h);
            if (!s) s = newt(be, out, 4, N, sm->cout, H * 2, W * 2);
            if (!s) s = hart_op_pixel_shuffle(out, &h, 2);
            dropt(&h);
            break;
        case DS_INTERP_CONV:
            s = newt(be, &h, 4, N, sm->cin, H * 2, W * 2);
            if (!s) s = hart_op_interpolate(&h, &h2, HART_INTERP_NEAREST);
            dropt(&h2);
            if (!s) s = conv_c(be, &sm->conv, &h, out);
            else dropt(&h);
            break;
        }
    }
    dropt(&h);
    dropt(&h2);
    if (!s && sc.ndim) s = add_into(out, &sc);
    dropt(&sc);
    if (s) dropt(out);
    return s;
}

static hart_status res_c(hart_backend *be, const dcae_block *b, hart_tensor *x, hart_tensor *out) {
    hart_tensor h = {0}, h2 = {0};
    hart_status s = conv_fwd(be, &b->c1, x, &h);
    if (!s) s = act_c(be, b->act, &h, &h2);
    if (!s) s = conv_c(be, &b->c2, &h2, &h);
    if (!s) s = norm_c(be, &b->n2, &h, out);
    if (!s) s = add_into(out, x);
    dropt(x);
    dropt(&h);
    dropt(&h2);
    if (s) dropt(out);
    return s;
}

/* ReLU linear attention over qkv [N, heads·3·d, H, W] -> [N, heads·d, H, W] */
static hart_status relu_attention(hart_backend *be, const hart_tensor *qkv, int d, hart_tensor *out) {
    int64_t N = qkv->shape[0], HW = qkv->shape[2] * qkv->shape[3], Ht = qkv->shape[1] / (3 * d);
    hart_tensor v4, q = {0}, k = {0}, v = {0}, qa = {0}, ka = {0}, t1 = {0}, t2 = {0}, t3 = {0};
    hart_status s = hart_tensor_reshape(qkv, 4, (int64_t[]){N, Ht, 3 * d, HW}, &v4);
    if (!s) s = newt(be, &q, 4, N, Ht, d, HW);
    if (!s) s = newt(be, &k, 4, N, Ht, d, HW);
    if (!s) s = newt(be, &v, 4, N, Ht, d, HW);
    if (!s) s = hart_op_slice(&q, &v4, 2, 0);
    if (!s) s = hart_op_slice(&k, &v4, 2, d);
    if (!s) s = hart_op_slice(&v, &v4, 2, 2 * d);
    if (!s) s = act_c(be, DA_RELU, &q, &qa);
    if (!s) s = act_c(be, DA_RELU, &k, &ka);
    if (s) goto done;
    if (HW > d) { /* linear: [v; 1] kᵀ q, then divide by the ones row */
        float *ones = malloc(sizeof(float) * (size_t)(N * Ht * HW));
        if (!ones) { s = hart_fail(HART_ENOMEM, "out of memory"); goto done; }
        for (int64_t i = 0; i < N * Ht * HW; i++) ones[i] = 1.0f;
        s = newt(be, &t1, 4, N, Ht, 1, HW);
        if (!s) s = hart_tensor_write(&t1, ones, sizeof(float) * (size_t)(N * Ht * HW));
        free(ones);
        if (!s) s = newt(be, &t2, 4, N, Ht, d + 1, HW);
        if (!s) s = hart_op_concat(&t2, &v, &t1, 2);
        dropt(&t1);
        dropt(&v);
        if (!s) s = newt(be, &t1, 4, N, Ht, d + 1, d);
        if (!s) s = hart_op_matmul(&t1, &t2, &ka, 0, 1, 1.0f); /* vk = vpad · kᵀ */
        dropt(&t2);
        dropt(&ka);
        if (!s) s = newt(be, &t2, 4, N, Ht, d + 1, HW);
        if (!s) s = hart_op_matmul(&t2, &t1, &qa, 0, 0, 1.0f); /* vk · q */
        dropt(&t1);
        dropt(&qa);
        if (!s) s = newt(be, &t1, 4, N, Ht, d, HW);
        if (!s) s = hart_op_slice(&t1, &t2, 2, 0);
        if (!s) s = newt(be, &t3, 4, N, Ht, 1, HW);
        if (!s) s = hart_op_slice(&t3, &t2, 2, d);
        dropt(&t2);
        if (!s) s = hart_op_scale(&t3, &t3, 1.0f, LINATT_EPS);
        if (!s) s = hart_op_binary(&t1, &t1, &t3, HART_BIN_DIV);
    } else { /* quadratic: A = kᵀ q normalised over keys, out = v A */
        s = newt(be, &t2, 4, N, Ht, HW, HW);
        if (!s) s = hart_op_matmul(&t2, &ka, &qa, 1, 0, 1.0f);
        if (!s) s = newt(be, &t3, 4, N, Ht, 1, HW);
        if (!s) s = hart_op_reduce(&t3, &t2, 2, HART_RED_SUM);
        if (!s) s = hart_op_scale(&t3, &t3, 1.0f, LINATT_EPS);
        if (!s) s = hart_op_binary(&t2, &t2, &t3, HART_BIN_DIV);
        if (!s) s = newt(be, &t1, 4, N, Ht, d, HW);
        if (!s) s = hart_op_matmul(&t1, &v, &t2, 0, 0, 1.0f);
    }
    if (!s) {
        move(&t1, out);
        out->shape[1] = Ht * d;
        out->shape[2] = qkv->shape[2];
        out->shape[3] = qkv->shape[3];
    }
done:
    dropt(&q); dropt(&k); dropt(&v); dropt(&qa); dropt(&ka); dropt(&t1); dropt(&t2); dropt(&t3);
    return s;
}

static hart_status evit_c(hart_backend *be, const dcae_block *b, hart_tensor *x, hart_tensor *out) {
    int64_t N = x->shape[0], H = x->shape[2], W = x->shape[3];
    int T = b->heads * b->dim, ns = b->n_scales, c = b->c, M = 4 * c;
    hart_tensor qkv = {0}, all = {0}, a1 = {0}, a2 = {0}, att = {0}, x1 = {0}, h = {0}, h2 = {0}, g = {0}, g2 = {0};
    hart_status s = conv_fwd(be, &b->qkv, x, &qkv);
    if (s) { dropt(x); return s; }
    if (ns == 0) move(&qkv, &all);
    else {
        s = newt(be, &all, 4, N, (int64_t)3 * T * (1 + ns), H, W);
        if (!s) s = hart_op_slice_assign(&all, &qkv, 1, 0);
        for (int i = 0; i < ns && !s; i++) {
            s = conv_fwd(be, &b->agg_dw[i], &qkv, &a1);
            if (!s) s = conv_c(be, &b->agg_pw[i], &a1, &a2);
            if (!s) s = hart_op_slice_assign(&all, &a2, 1, (int64_t)3 * T * (1 + i));
            dropt(&a2);
        }
        dropt(&qkv);
    }
    if (!s) s = relu_attention(be, &all, b->dim, &att);
    dropt(&all);
    if (!s) s = conv_c(be, &b->proj, &att, &h);
    if (!s) s = norm_c(be, &b->proj_norm, &h, &x1);
    if (!s) s = hart_op_binary(&x1, &x1, x, HART_BIN_ADD);
    dropt(x);
    /* GLUMBConv */
    if (!s) s = conv_fwd(be, &b->inv, &x1, &h);
    if (!s) s = act_c(be, b->act, &h, &h2);
    if (!s) s = conv_c(be, &b->dw, &h2, &h);
    if (!s) s = newt(be, &h2, 4, N, M, H, W);
    if (!s) s = hart_op_slice(&h2, &h, 1, 0);
    if (!s) s = newt(be, &g, 4, N, M, H, W);
    if (!s) s = hart_op_slice(&g, &h, 1, M);
    dropt(&h);
    if (!s) s = act_c(be, b->act, &g, &g2);
    if (!s) s = hart_op_binary(&h2, &h2, &g2, HART_BIN_MUL);
    dropt(&g2);
    if (!s) s = conv_c(be, &b->pw, &h2, &h);
    if (!s) s = norm_c(be, &b->pw_norm, &h, out);
    if (!s) s = add_into(out, &x1);
    dropt(&qkv); dropt(&all); dropt(&a1); dropt(&a2); dropt(&att); dropt(&x1); dropt(&h); dropt(&h2); dropt(&g); dropt(&g2);
    if (s) dropt(out);
    return s;
}

hart_status hart_dcae_layer_forward(hart_backend *be, const dcae_layer *l, hart_tensor *x, hart_tensor *out) {
    memset(out, 0, sizeof *out);
    if (!l->is_block) return sampler_c(be, &l->smp, x, out);
    if (l->blk.type == DB_RES) return res_c(be, &l->blk, x, out);
    return evit_c(be, &l->blk, x, out);
}

hart_status hart_dcae_net_forward(hart_backend *be, const dcae_net *n, const hart_tensor *x, hart_tensor *out) {
    hart_tensor cur = {0}, nxt;
    HART_TRY(hart_tensor_new(be, HART_F32, x->ndim, x->shape, &cur));
    hart_status s = hart_op_copy(&cur, x);
    for (int i = 0; i < n->n && !s; i++) {
        s = hart_dcae_layer_forward(be, &n->layers[i], &cur, &nxt);
        if (!s) cur = nxt;
    }
    if (s) { dropt(&cur); return s; }
    *out = cur;
    return HART_OK;
}
