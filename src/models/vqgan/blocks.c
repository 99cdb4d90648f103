/* VQGAN building blocks shared by HART's autoencoder and LlamaGen's VQ. */
#include "models/vqgan/blocks.h"

#include "ops/ops.h"

hart_status hart_vqgan_conv_fwd(hart_backend *be, const char *tag, const hart_vqgan_conv *c, const hart_tensor *x,
                                int stride, int pad, hart_tensor *y) {
    int64_t k = c->k;
    int64_t Ho = (x->shape[2] + 2 * pad - k) / stride + 1, Wo = (x->shape[3] + 2 * pad - k) / stride + 1;
    if (Ho < 1 || Wo < 1)
        return hart_fail(HART_EINVAL, "%s: feature map %lldx%lld too small for a %lldx%lld conv", tag,
                         (long long)x->shape[2], (long long)x->shape[3], (long long)k, (long long)k);
    HART_TRY(hart_tensor_new4(be, HART_F32, y, 4, x->shape[0], c->w.shape[0], Ho, Wo));
    hart_status s = hart_op_conv2d(y, x, &c->w, &c->b, stride, pad, 1);
    if (s) hart_tensor_free(y);
    return s;
}

hart_status hart_vqgan_norm(hart_backend *be, const hart_vqgan_gn *g, const hart_tensor *x, int silu, hart_tensor *y) {
    HART_TRY(hart_tensor_new(be, HART_F32, x->ndim, x->shape, y));
    hart_status s = hart_op_group_norm(y, x, &g->g, &g->b, HART_VQGAN_GN_GROUPS, HART_VQGAN_GN_EPS);
    if (!s && silu) s = hart_op_act(y, y, HART_ACT_SILU);
    if (s) hart_tensor_free(y);
    return s;
}

hart_status hart_vqgan_resblock(hart_backend *be, const char *tag, const hart_vqgan_gn *n1, const hart_vqgan_conv *c1,
                                const hart_vqgan_gn *n2, const hart_vqgan_conv *c2, const hart_vqgan_conv *nin,
                                const hart_tensor *x, hart_tensor *y) {
    hart_tensor a = {0}, b = {0}, sc = {0};
    hart_status s;
    HART_TRY_GOTO(s, hart_vqgan_norm(be, n1, x, 1, &a));
    HART_TRY_GOTO(s, hart_vqgan_conv_fwd(be, tag, c1, &a, 1, 1, &b));
    hart_tensor_free(&a);
    HART_TRY_GOTO(s, hart_vqgan_norm(be, n2, &b, 1, &a));
    hart_tensor_free(&b);
    HART_TRY_GOTO(s, hart_vqgan_conv_fwd(be, tag, c2, &a, 1, 1, &b));
    if (nin) HART_TRY_GOTO(s, hart_vqgan_conv_fwd(be, tag, nin, x, 1, 0, &sc));
    HART_TRY_GOTO(s, hart_op_binary(&b, nin ? &sc : x, &b, HART_BIN_ADD));
    *y = b;
    b = (hart_tensor){0};
done:
    hart_tensor_free(&a);
    hart_tensor_free(&b);
    hart_tensor_free(&sc);
    return s;
}

hart_status hart_vqgan_downsample(hart_backend *be, const char *tag, const hart_vqgan_conv *c, const hart_tensor *x,
                                  hart_tensor *y) {
    int64_t B = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    hart_tensor a = {0}, b = {0};
    hart_status s;
    HART_TRY_GOTO(s, hart_tensor_new4(be, HART_F32, &a, 4, B, C, H, W + 1));
    HART_TRY_GOTO(s, hart_op_slice_assign(&a, x, 3, 0));
    HART_TRY_GOTO(s, hart_tensor_new4(be, HART_F32, &b, 4, B, C, H + 1, W + 1));
    HART_TRY_GOTO(s, hart_op_slice_assign(&b, &a, 2, 0));
    hart_tensor_free(&a);
    s = hart_vqgan_conv_fwd(be, tag, c, &b, 2, 0, y);
done:
    hart_tensor_free(&a);
    hart_tensor_free(&b);
    return s;
}

hart_status hart_vqgan_upsample(hart_backend *be, const char *tag, const hart_vqgan_conv *c, const hart_tensor *x,
                                hart_tensor *y) {
    hart_tensor a = {0};
    hart_status s;
    HART_TRY_GOTO(s, hart_tensor_new4(be, HART_F32, &a, 4, x->shape[0], x->shape[1], x->shape[2] * 2, x->shape[3] * 2));
    HART_TRY_GOTO(s, hart_op_interpolate(&a, x, HART_INTERP_NEAREST));
    s = hart_vqgan_conv_fwd(be, tag, c, &a, 1, 1, y);
done:
    hart_tensor_free(&a);
    return s;
}

hart_status hart_vqgan_attn_out(hart_backend *be, const char *tag, const hart_vqgan_conv *proj, const hart_tensor *o,
                                const hart_tensor *x, hart_tensor *y) {
    int64_t B = x->shape[0], C = o->shape[3], L = o->shape[2];
    hart_tensor oc = {0}, p = {0}, ov;
    hart_status s;
    HART_TRY_GOTO(s, hart_tensor_new4(be, HART_F32, &oc, 4, B, 1, C, L));
    HART_TRY_GOTO(s, hart_op_transpose(&oc, o, (int[]){0, 1, 3, 2}));
    HART_TRY_GOTO(s, hart_tensor_reshape(&oc, 4, (int64_t[]){B, C, x->shape[2], x->shape[3]}, &ov));
    HART_TRY_GOTO(s, hart_vqgan_conv_fwd(be, tag, proj, &ov, 1, 0, &p));
    HART_TRY_GOTO(s, hart_op_binary(&p, x, &p, HART_BIN_ADD));
    *y = p;
    p = (hart_tensor){0};
done:
    hart_tensor_free(&oc);
    hart_tensor_free(&p);
    return s;
}
