/* FID Inception forward: preprocessing (bilinear resize to 299, 2x-1), the
 * stem, the Mixed blocks (branches concatenated along channels) and the
 * final average pool, all through the ops of the shared compute layer. */
#include <string.h>

#include "models/inception/inception_internal.h"
#include "ops/ops.h"

/* An op's full output [N,C,H,W]: no zero fill on a device (every element is written). */
static hart_status new_output(hart_backend *be, hart_tensor *y, int64_t N, int64_t C, int64_t H, int64_t W) {
    return hart_tensor_new_uninit(be, HART_F32, 4, (int64_t[]){N, C, H, W}, y);
}

hart_status hart_inc_conv_fwd(hart_inception *m, const inc_conv *c, const hart_tensor *x, hart_tensor *y) {
    int64_t N = x->shape[0], H = x->shape[2], W = x->shape[3];
    int64_t Ho = (H + 2 * c->ph - c->kh) / c->stride + 1, Wo = (W + 2 * c->pw - c->kw) / c->stride + 1;
    if (Ho < 1 || Wo < 1) return hart_fail(HART_EINVAL, "inception: %lldx%lld input too small", (long long)H, (long long)W);
    HART_TRY(new_output(m->be, y, N, c->co, Ho, Wo));
    hart_status s;
    if (c->ph == c->pw) {
        s = hart_op_conv2d(y, x, &c->w, &c->b, c->stride, c->ph, 1);
    } else {
        /* 1xk / kx1 convs pad one axis only: copy x into a zeroed, padded tensor
         * (the ops' conv pads both axes alike) */
        int dim = c->ph ? 2 : 3, pad = c->ph ? c->ph : c->pw;
        hart_tensor p;
        s = hart_tensor_new4(m->be, HART_F32, &p, 4, N, c->ci, H + 2 * c->ph, W + 2 * c->pw);
        if (!s) {
            s = hart_op_slice_assign(&p, x, dim, pad);
            if (!s) s = hart_op_conv2d(y, &p, &c->w, &c->b, c->stride, 0, 1);
            hart_tensor_free(&p);
        }
    }
    if (!s) s = hart_op_act(y, y, HART_ACT_RELU);
    if (s) hart_tensor_free(y);
    return s;
}

static hart_status pool(hart_inception *m, const hart_tensor *x, int k, int stride, int pad, hart_pool mode,
                        hart_tensor *y) {
    int64_t Ho = (x->shape[2] + 2 * pad - k) / stride + 1, Wo = (x->shape[3] + 2 * pad - k) / stride + 1;
    HART_TRY(new_output(m->be, y, x->shape[0], x->shape[1], Ho, Wo));
    hart_status s = hart_op_pool2d(y, x, k, stride, pad, mode);
    if (s) hart_tensor_free(y);
    return s;
}

/* One Mixed block: every conv of the table, then the outputs concatenated. */
static hart_status block_fwd(hart_inception *m, const inc_block *b, const hart_tensor *x, hart_tensor *y) {
    hart_tensor t[INC_MAX_CONVS] = {{0}}, pooled = {0}, mp = {0};
    hart_status s = HART_OK;
    for (int i = 0; i < b->d->n_convs && !s; i++) {
        int src = b->d->convs[i].src;
        const hart_tensor *in = x;
        if (src == INC_IN_POOLED) {
            s = pool(m, x, 3, 1, 1, b->pool, &pooled);
            in = &pooled;
        } else if (src >= 0) {
            in = &t[src];
        }
        if (!s) s = hart_inc_conv_fwd(m, &b->c[i], in, &t[i]);
    }
    for (int i = 0; i < b->d->n_outs && !s; i++) { /* the pool branch, then y shaped like the first branch */
        int o = b->d->outs[i];
        if (o == INC_OUT_MAXPOOL) s = pool(m, x, 3, 2, 0, HART_POOL_MAX, &mp);
        const hart_tensor *src = o == INC_OUT_MAXPOOL ? &mp : &t[o];
        /* (the outputs' channels add up to out_ch, checked at load: the copies below fill y) */
        if (!s && i == 0) s = new_output(m->be, y, x->shape[0], b->out_ch, src->shape[2], src->shape[3]);
    }
    int64_t at = 0;
    for (int i = 0; i < b->d->n_outs && !s; i++) {
        int o = b->d->outs[i];
        const hart_tensor *src = o == INC_OUT_MAXPOOL ? &mp : &t[o];
        s = hart_op_slice_assign(y, src, 1, at);
        at += src->shape[1];
    }
    for (int i = 0; i < INC_MAX_CONVS; i++) hart_tensor_free(&t[i]);
    hart_tensor_free(&pooled);
    hart_tensor_free(&mp);
    if (s) hart_tensor_free(y);
    return s;
}


hart_status hart_inception_forward(hart_inception *m, const hart_tensor *x, hart_tensor *feat) {
    memset(feat, 0, sizeof *feat);
    if (x->ndim != 4 || x->shape[1] != 3 || x->shape[0] < 1 || x->shape[2] < HART_INCEPTION_MIN_SIZE ||
        x->shape[3] < HART_INCEPTION_MIN_SIZE) {
        char sb[96];
        return hart_fail(HART_EINVAL, "inception: input must be [N,3,H,W] with H, W >= %d (is %s)",
                         HART_INCEPTION_MIN_SIZE, hart_shape_str(x, sb, sizeof sb));
    }
    hart_status s = HART_OK;
    hart_tensor h = {0};
    const hart_tensor *cur = x;
    for (int i = 0; i < INC_STEM; i++) {
        HART_TENSOR_STEP(hart_inc_conv_fwd(m, &m->stem[i], cur, &nx_));
        cur = &h;
        if (i == 2 || i == 4) HART_TENSOR_STEP(pool(m, &h, 3, 2, 0, HART_POOL_MAX, &nx_)); /* maxpool1, maxpool2 */
    }
    for (int i = 0; i < INC_BLOCKS; i++) HART_TENSOR_STEP(block_fwd(m, &m->blk[i], &h, &nx_));
    /* adaptive average pool to 1x1: the mean over the spatial positions */
    int64_t N = h.shape[0], C = h.shape[1], P = h.shape[2] * h.shape[3];
    hart_tensor flat, r = {0};
    s = hart_tensor_reshape(&h, 3, (int64_t[]){N, C, P}, &flat);
    if (!s) s = hart_tensor_new4(m->be, HART_F32, &r, 3, N, C, 1, 0);
    if (!s) s = hart_op_reduce(&r, &flat, 2, HART_RED_MEAN);
    if (!s) s = hart_tensor_reshape(&r, 2, (int64_t[]){N, C}, feat);
    if (!s) {
        feat->owns = r.owns; /* the view takes over r's storage */
        r.owns = 0;
    }
    hart_tensor_free(&r);
done:
    hart_tensor_free(&h);
    return s;
}

hart_status hart_inception_prep(hart_inception *m, const hart_tensor *x, hart_tensor *y, int64_t index) {
    if (x->ndim != 4 || x->shape[0] < 1 || x->shape[1] != 3 || x->shape[2] < 1 || x->shape[3] < 1)
        return hart_fail(HART_EINVAL, "inception: input images must be [n,3,H,W]");
    int64_t n = x->shape[0];
    if (y->ndim != 4 || index < 0 || index + n > y->shape[0] || y->shape[1] != 3 || y->shape[2] != HART_INCEPTION_SIZE ||
        y->shape[3] != HART_INCEPTION_SIZE)
        return hart_fail(HART_EINVAL, "inception: the batch must be [N,3,%d,%d] with room for rows %lld..%lld",
                         HART_INCEPTION_SIZE, HART_INCEPTION_SIZE, (long long)index, (long long)(index + n - 1));
    hart_tensor xd = {0}, r = {0}, rows;
    const hart_tensor *src = x;
    hart_status s = HART_OK;
    if ((x->be ? x->be : hart_backend_cpu()) != m->be && !(x->data && m->be == hart_backend_cpu())) {
        s = hart_tensor_to(m->be, x, &xd);
        src = &xd;
    }
    if (!s) s = hart_tensor_new4(m->be, HART_F32, &r, 4, n, 3, HART_INCEPTION_SIZE, HART_INCEPTION_SIZE);
    if (!s) s = hart_op_interpolate(&r, src, HART_INTERP_BILINEAR);
    if (!s) s = hart_tensor_rows(y, index, n, &rows);
    if (!s) s = hart_op_scale(&rows, &r, 2.0f, -1.0f);
    hart_tensor_free(&xd);
    hart_tensor_free(&r);
    return s;
}

hart_status hart_inception_prep_images(hart_inception *m, const hart_image *imgs, int64_t n, hart_tensor *y,
                                       int64_t index) {
    if (n < 1) return HART_OK;
    int64_t H = imgs[0].height, W = imgs[0].width;
    for (int64_t i = 0; i < n; i++)
        if (!imgs[i].rgb || imgs[i].height != H || imgs[i].width != W || H < 1 || W < 1)
            return hart_fail(HART_EINVAL, "inception: the images of one prep call must be non-empty and of one size");
    /* the bytes [n][H][W][3] go to the model's backend as they are (a quarter of the floats' size)
     * and become [n][3][H][W] in [0,1] there, as torchvision's ToTensor */
    size_t img_bytes = (size_t)(H * W * 3);
    hart_tensor bytes = {0}, dev = {0}, x = {0};
    hart_status s = HART_OK;
    if (n == 1) {
        bytes = hart_tensor_wrap(imgs[0].rgb, HART_U8, 4, (int64_t[]){1, H, W, 3});
    } else {
        s = hart_tensor_new4(NULL, HART_U8, &bytes, 4, n, H, W, 3);
        for (int64_t i = 0; i < n && !s; i++) memcpy((uint8_t *)bytes.data + i * img_bytes, imgs[i].rgb, img_bytes);
    }
    const hart_tensor *src = &bytes;
    if (!s && m->be != hart_backend_cpu()) {
        s = hart_tensor_to(m->be, &bytes, &dev);
        src = &dev;
    }
    if (!s) s = hart_tensor_new_uninit(m->be, HART_F32, 4, (int64_t[]){n, 3, H, W}, &x);
    if (!s) s = hart_op_rgb8_to_nchw(&x, src);
    hart_tensor_free(&bytes);
    hart_tensor_free(&dev);
    if (!s) s = hart_inception_prep(m, &x, y, index);
    hart_tensor_free(&x);
    return s;
}

hart_status hart_inception_prep_image(hart_inception *m, const hart_image *img, hart_tensor *y, int64_t index) {
    return hart_inception_prep_images(m, img, 1, y, index);
}
