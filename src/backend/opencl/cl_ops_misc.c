/* OpenCL norms, softmax, elementwise, data movement, attention, rope,
 * resampling, reduce and argmin_dist (kernels in kernels/ (*.cl)). */
#include <stdint.h>
#include <string.h>

#include "backend/opencl/cl_internal.h"

static size_t gsz(int64_t n) { return (size_t)n; }
static const size_t L256[1] = {256};

/* 4-D view: shape padded with leading 1s, contiguous strides (elements). */
static void dims4(const hart_tensor *t, int *s, int *st) {
    int pad = 4 - t->ndim;
    for (int i = 0; i < 4; i++) s[i] = i < pad ? 1 : (int)t->shape[i - pad];
    st[3] = 1;
    for (int i = 2; i >= 0; i--) st[i] = st[i + 1] * s[i + 1];
}

/* Rows of at least NORM_SPLIT_MIN elements (group norm over large feature
 * maps: one row per (n, group) gives too few work-groups) are reduced in
 * chunks of NORM_CHUNK by many work-groups (norm_partial + norm_apply). */
#define NORM_SPLIT_MIN 65536
#define NORM_CHUNK 16384

static hart_status norm_launch(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *g,
                               const hart_tensor *bt, int64_t rows, int64_t L, int groups, int64_t cg, int64_t S,
                               float eps, int rms) {
    size_t gws[1] = {gsz(rows) * 256};
    if (!rows) return HART_OK;
    if (!rms && L >= NORM_SPLIT_MIN) { /* long rows: chunk statistics, then combine + normalise */
        int64_t P = (L + NORM_CHUNK - 1) / NORM_CHUNK;
        cl_mem part;
        HART_TRY(hart_cl_scratch(be, (size_t)(rows * P * 2) * sizeof(float), &part));
        size_t g2[2] = {(size_t)P * 256, (size_t)rows}, l2[2] = {256, 1};
        clb *b = clb_of(be);
        hart_status s = CLRUN(b, "norm_partial", 2, g2, l2, AM(T_MEM(x)), AI(T_OFF(x)), AI(L), AI(NORM_CHUNK), AM(part));
        if (!s)
            s = CLRUN(b, "norm_apply", 2, g2, l2, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)), AI(L),
                      AI(NORM_CHUNK), AI(P), AM(part), AI(groups), AI(cg), AI(S), AM(g ? T_MEM(g) : T_MEM(x)),
                      AI(g ? T_OFF(g) : 0), AI(g ? T_DT(g) : 0), AI(g != NULL), AM(bt ? T_MEM(bt) : T_MEM(x)),
                      AI(bt ? T_OFF(bt) : 0), AI(bt ? T_DT(bt) : 0), AI(bt != NULL), AF(eps));
        hart_cl_scratch_free(be, part); /* in-order queue: later users of the buffer run after these kernels */
        return s;
    }
    return CLRUN(clb_of(be), "norm_rows", 1, gws, L256, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AI(L), AI(groups), AI(cg), AI(S), AM(g ? T_MEM(g) : T_MEM(x)), AI(g ? T_OFF(g) : 0),
                 AI(g ? T_DT(g) : 0), AI(g != NULL), AM(bt ? T_MEM(bt) : T_MEM(x)), AI(bt ? T_OFF(bt) : 0),
                 AI(bt ? T_DT(bt) : 0), AI(bt != NULL), AF(eps), AI(rms));
}

hart_status hart_cl_group_norm(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *g,
                           const hart_tensor *bt, int groups, float eps) {
    int64_t N = x->shape[0], C = x->shape[1], S = 1;
    for (int i = 2; i < x->ndim; i++) S *= x->shape[i];
    int64_t cg = C / groups;
    return norm_launch(be, y, x, g, bt, N * groups, cg * S, groups, cg, S, eps, 0);
}

hart_status hart_cl_layer_norm(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *g,
                           const hart_tensor *bt, float eps) {
    int64_t D = x->shape[x->ndim - 1], R = D ? hart_tensor_numel(x) / D : 0;
    return norm_launch(be, y, x, g, bt, R, D, 1, D, 1, eps, 0);
}

hart_status hart_cl_rms_norm(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *g, float eps) {
    int64_t D = x->shape[x->ndim - 1], R = D ? hart_tensor_numel(x) / D : 0;
    return norm_launch(be, y, x, g, NULL, R, D, 1, D, 1, eps, 1);
}

hart_status hart_cl_softmax(hart_backend *be, hart_tensor *y, const hart_tensor *x) {
    int64_t D = x->shape[x->ndim - 1], R = D ? hart_tensor_numel(x) / D : 0;
    size_t gws[1] = {gsz(R) * 256};
    if (!R) return HART_OK;
    return CLRUN(clb_of(be), "softmax_rows", 1, gws, L256, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AI(D));
}

hart_status hart_cl_act(hart_backend *be, hart_tensor *y, const hart_tensor *x, hart_act a) {
    int64_t n = hart_tensor_numel(x);
    size_t gws[1] = {gsz(n)};
    return CLRUN(clb_of(be), "act_f32", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AI(n), AI(a));
}

hart_status hart_cl_scale(hart_backend *be, hart_tensor *y, const hart_tensor *x, float alpha, float beta) {
    int64_t n = hart_tensor_numel(x);
    size_t gws[1] = {gsz(n)};
    return CLRUN(clb_of(be), "scale_f32", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AI(n), AF(alpha), AF(beta));
}

/* strides of t broadcast to y's 4-D view (0 where t has size 1 / no dim) */
static void bcast_strides(const hart_tensor *y, const hart_tensor *t, int *st) {
    int64_t stride = 1;
    for (int d = 3, td = t->ndim - 1; d >= 0; d--, td--) {
        st[d] = 0;
        if (td >= 0 && d >= 4 - y->ndim) {
            if (t->shape[td] != 1) st[d] = (int)stride;
            stride *= t->shape[td];
        }
    }
}

hart_status hart_cl_binary(hart_backend *be, hart_tensor *y, const hart_tensor *a, const hart_tensor *b,
                       hart_binop op) {
    int s[4], st[4], as[4], bs[4];
    dims4(y, s, st);
    bcast_strides(y, a, as);
    bcast_strides(y, b, bs);
    int64_t n = hart_tensor_numel(y);
    size_t gws[1] = {gsz(n)};
    return CLRUN(clb_of(be), "binary_bcast", 1, gws, NULL, AM(T_MEM(a)), AI(T_OFF(a)), AM(T_MEM(b)), AI(T_OFF(b)),
                 AM(T_MEM(y)), AI(T_OFF(y)), AI(s[1]), AI(s[2]), AI(s[3]), AI(n), AI(as[0]), AI(as[1]), AI(as[2]),
                 AI(as[3]), AI(bs[0]), AI(bs[1]), AI(bs[2]), AI(bs[3]), AI(op));
}

/* generic strided copy: shape sh (4-D), source strides ss, destination strides ds (elements) */
static hart_status strided(hart_backend *be, const hart_tensor *dst, int64_t d_off, const hart_tensor *src,
                           int64_t s_off, const int *sh, const int *ss, const int *ds) {
    int64_t n = (int64_t)sh[0] * sh[1] * sh[2] * sh[3];
    size_t gws[1] = {gsz(n)};
    int es = (int)(hart_dtype_size_bits(src->dtype) / 8);
    return CLRUN(clb_of(be), "copy_strided", 1, gws, NULL, AM(T_MEM(dst)), AI(T_OFF(dst) + d_off), AM(T_MEM(src)),
                 AI(T_OFF(src) + s_off), AI(es), AI(sh[1]), AI(sh[2]), AI(sh[3]), AI(n), AI(ss[0]), AI(ss[1]),
                 AI(ss[2]), AI(ss[3]), AI(ds[0]), AI(ds[1]), AI(ds[2]), AI(ds[3]));
}

/* Same-dtype copy between overlapping ranges of one buffer (no kernel). */
static int copy_overlaps(const hart_tensor *y, const hart_tensor *x) {
    size_t nb = hart_tensor_nbytes(x);
    return x->dtype == y->dtype && nb && x->dev == y->dev && x->dev_offset != y->dev_offset &&
           x->dev_offset < y->dev_offset + nb && y->dev_offset < x->dev_offset + nb;
}

int hart_cl_supports(hart_backend *be, hart_op op, const hart_tensor *y, const hart_tensor *const *in) {
    switch (op) {
    case HART_OP_copy: return !copy_overlaps(y, in[0]);
    case HART_OP_attention:
    case HART_OP_attention_sparse: return in[0]->shape[3] <= 128; /* kernels up to head dim 128 */
    default: return 1;
    }
}

hart_status hart_cl_copy(hart_backend *be, hart_tensor *y, const hart_tensor *x) {
    int64_t n = hart_tensor_numel(x);
    if (x->dtype == y->dtype) {
        size_t nb = hart_tensor_nbytes(x);
        if (!nb || (x->dev == y->dev && x->dev_offset == y->dev_offset)) return HART_OK;
        cl_int e = clEnqueueCopyBuffer(clb_of(be)->q, T_MEM(x), T_MEM(y), x->dev_offset, y->dev_offset, nb, 0, NULL, NULL);
        if (e) return hart_fail(HART_EDEVICE, "hart_op_copy: clEnqueueCopyBuffer: %s", hart_cl_errname(e));
        return HART_OK;
    }
    size_t gws[1] = {gsz(n)};
    return CLRUN(clb_of(be), "dtype_convert", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AI(T_DT(x)), AM(T_MEM(y)),
                 AI(T_OFF(y)), AI(T_DT(y)), AI(n));
}

hart_status hart_cl_rgb8_to_nchw(hart_backend *be, hart_tensor *y, const hart_tensor *x) {
    int64_t n = hart_tensor_numel(y);
    if (n > INT32_MAX) return hart_fail(HART_EUNSUPPORTED, "hart_op_rgb8_to_nchw: tensor exceeds the OpenCL kernels' 2^31 limit");
    int64_t P = x->shape[1] * x->shape[2];
    size_t gws[1] = {gsz(n / 3)};
    return CLRUN(clb_of(be), "rgb8_to_nchw", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AI(P), AI(n / 3));
}

hart_status hart_cl_round_half(hart_backend *be, hart_tensor *y, const hart_tensor *x) {
    int64_t n = hart_tensor_numel(x);
    if (!n) return HART_OK;
    size_t gws[1] = {gsz(n)};
    return CLRUN(clb_of(be), "round_half_f32", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AI(n));
}

hart_status hart_cl_transpose(hart_backend *be, hart_tensor *y, const hart_tensor *x, const int *perm) {
    int xs[4], xst[4], ys[4], yst[4], ss[4];
    dims4(x, xs, xst);
    dims4(y, ys, yst);
    int pad = 4 - x->ndim;
    for (int i = 0; i < 4; i++) ss[i] = i < pad ? 0 : xst[perm[i - pad] + pad];
    return strided(be, y, 0, x, 0, ys, ss, yst);
}

/* dims of t as [outer..., dim, inner...] padded to 4 with the op dim kept in place */
static int dim4(const hart_tensor *t, int dim) { return dim + 4 - t->ndim; }

hart_status hart_cl_slice(hart_backend *be, hart_tensor *y, const hart_tensor *x, int dim, int64_t start) {
    int xs[4], xst[4], ys[4], yst[4];
    dims4(x, xs, xst);
    dims4(y, ys, yst);
    return strided(be, y, 0, x, start * xst[dim4(x, dim)], ys, xst, yst);
}

hart_status hart_cl_slice_assign(hart_backend *be, hart_tensor *y, const hart_tensor *x, int dim, int64_t start) {
    int xs[4], xst[4], ys[4], yst[4];
    dims4(x, xs, xst);
    dims4(y, ys, yst);
    return strided(be, y, start * yst[dim4(y, dim)], x, 0, xs, xst, yst);
}

hart_status hart_cl_concat(hart_backend *be, hart_tensor *y, const hart_tensor *a, const hart_tensor *b, int dim) {
    HART_TRY(hart_cl_slice_assign(be, y, a, dim, 0));
    return hart_cl_slice_assign(be, y, b, dim, a->shape[dim]);
}

hart_status hart_cl_embedding(hart_backend *be, hart_tensor *y, const hart_tensor *table, const hart_tensor *ids) {
    clb *b = clb_of(be);
    int64_t n = hart_tensor_numel(ids), D = table->shape[1], V = table->shape[0];
    cl_int zero = 0, flag = 0;
    cl_int e = clEnqueueWriteBuffer(b->q, b->flag, CL_FALSE, 0, sizeof zero, &zero, 0, NULL, NULL);
    if (e) return hart_fail(HART_EDEVICE, "hart_op_embedding: flag reset: %s", hart_cl_errname(e));
    size_t gws[2] = {gsz(D), gsz(n)};
    HART_TRY(CLRUN(b, "embedding", 2, gws, NULL, AM(T_MEM(table)), AI(T_OFF(table)), AI(T_DT(table)), AM(T_MEM(ids)),
                   AI(T_OFF(ids)), AI(ids->dtype == HART_I64), AM(T_MEM(y)), AI(T_OFF(y)), AI(n), AI(D), AI(V),
                   AM(b->flag)));
    b->n_read++;
    e = clEnqueueReadBuffer(b->q, b->flag, CL_TRUE, 0, sizeof flag, &flag, 0, NULL, NULL);
    if (e) return hart_fail(HART_EDEVICE, "hart_op_embedding: flag read: %s", hart_cl_errname(e));
    if (flag) return hart_fail(HART_EINVAL, "embedding: an id is outside the vocabulary of %lld", (long long)V);
    return HART_OK;
}

/* One kernel serves both ops (so all tiles kept is the dense result bit for
 * bit): blocks NULL runs it with one kept tile covering everything. With
 * tensor cores on, dense and sparse attention take the flash kernel instead
 * (its own dense == all-ones equality). */
static hart_status attention_run(hart_backend *be, hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                                 const hart_tensor *v, const hart_tensor *mask, const hart_tensor *blocks, int block_q,
                                 int block_k, float scale) {
    int64_t B = q->shape[0], H = q->shape[1], Lq = q->shape[2], D = q->shape[3], Hkv = k->shape[1], Lk = k->shape[2];
    const char *kn = D <= 32 ? "attention_d32" : D <= 64 ? "attention_d64" : "attention_d128";
    int mb = 0, mh = 0, bb = 0, bh = 0, nkb = 1;
    if (mask) {
        mh = mask->shape[1] == 1 ? 0 : (int)(Lq * Lk);
        mb = mask->shape[0] == 1 ? 0 : (int)(mask->shape[1] * Lq * Lk);
    }
    if (!blocks) block_q = block_k = 1 << 30;
    if (blocks) {
        int64_t nqb = blocks->shape[2];
        nkb = (int)blocks->shape[3];
        bh = blocks->shape[1] == 1 ? 0 : (int)(nqb * nkb);
        bb = blocks->shape[0] == 1 ? 0 : (int)(blocks->shape[1] * nqb * nkb);
    }
    if (!Lq || !B || !H || !D) return HART_OK;
    clb *b = clb_of(be);
    if (hart_cl_flash_takes(b, q, k, block_k, blocks != NULL)) /* tensor cores (flash_nv.cl, cl_flash.c) */
        return hart_cl_flash(be, out, q, k, v, mask, mb, mh, blocks, bb, bh, nkb, block_q, block_k, scale);
    size_t gws[2] = {(size_t)(Lq + 63) / 64 * 64, gsz(B * H)}, lws[2] = {64, 1};
    return CLRUN(b, kn, 2, gws, lws, AM(T_MEM(q)), AI(T_OFF(q)), AM(T_MEM(k)), AI(T_OFF(k)), AM(T_MEM(v)),
                 AI(T_OFF(v)), AM(mask ? T_MEM(mask) : T_MEM(q)), AI(mask ? T_OFF(mask) : 0), AI(mask != NULL), AI(mb),
                 AI(mh), AM(T_MEM(out)), AI(T_OFF(out)), AI(H), AI(Hkv), AI(Lq), AI(Lk), AI(D), AF(scale),
                 AM(blocks ? T_MEM(blocks) : b->ones), AI(blocks ? T_OFF(blocks) : 0), AI(bb), AI(bh), AI(nkb),
                 AI(block_q), AI(block_k));
}

hart_status hart_cl_attention(hart_backend *be, hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                          const hart_tensor *v, const hart_tensor *mask, float scale) {
    return attention_run(be, out, q, k, v, mask, NULL, 0, 0, scale);
}

hart_status hart_cl_attention_sparse(hart_backend *be, hart_tensor *out, const hart_tensor *q, const hart_tensor *k,
                                     const hart_tensor *v, const hart_tensor *mask, const hart_tensor *blocks,
                                     int block_q, int block_k, float scale) {
    return attention_run(be, out, q, k, v, mask, blocks, block_q, block_k, scale);
}

hart_status hart_cl_rope(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *c,
                     const hart_tensor *s, int interleaved) {
    int64_t n = hart_tensor_numel(x) / 2;
    size_t gws[1] = {gsz(n)};
    return CLRUN(clb_of(be), "rope", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AM(T_MEM(c)), AI(T_OFF(c)), AM(T_MEM(s)), AI(T_OFF(s)), AI(x->shape[1]), AI(x->shape[2]),
                 AI(x->shape[3]), AI(c->shape[0] == 1), AI(n), AI(interleaved));
}

hart_status hart_cl_interpolate(hart_backend *be, hart_tensor *y, const hart_tensor *x, hart_interp mode) {
    int64_t H = x->shape[2], W = x->shape[3], Ho = y->shape[2], Wo = y->shape[3], n = hart_tensor_numel(y);
    float sh = (float)((double)H / Ho), sw = (float)((double)W / Wo);
    size_t gws[1] = {gsz(n)};
    return CLRUN(clb_of(be), "interpolate", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AI(H), AI(W), AI(Ho), AI(Wo), AI(n), AF(sh), AF(sw), AI(mode));
}

hart_status hart_cl_pool2d(hart_backend *be, hart_tensor *y, const hart_tensor *x, int k, int stride, int pad,
                           hart_pool mode) {
    int64_t n = hart_tensor_numel(y);
    if (hart_tensor_numel(x) > INT32_MAX || n > INT32_MAX)
        return hart_fail(HART_EUNSUPPORTED, "hart_op_pool2d: tensor exceeds the OpenCL kernels' 2^31 limit");
    size_t gws[1] = {gsz(n)};
    return CLRUN(clb_of(be), "pool2d", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AI(x->shape[2]), AI(x->shape[3]), AI(y->shape[2]), AI(y->shape[3]), AI(n), AI(k), AI(stride),
                 AI(pad), AI(mode));
}

static hart_status shuffle(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *big,
                           const hart_tensor *small, int r, int to_big) {
    int64_t n = hart_tensor_numel(big);
    size_t gws[1] = {gsz(n)};
    return CLRUN(clb_of(be), "pixel_shuffle", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AI(big->shape[1]), AI(small->shape[2]), AI(small->shape[3]), AI(r), AI(n), AI(to_big));
}

hart_status hart_cl_pixel_shuffle(hart_backend *be, hart_tensor *y, const hart_tensor *x, int r) {
    return shuffle(be, y, x, y, x, r, 1);
}

hart_status hart_cl_pixel_unshuffle(hart_backend *be, hart_tensor *y, const hart_tensor *x, int r) {
    return shuffle(be, y, x, x, y, r, 0);
}

hart_status hart_cl_reduce(hart_backend *be, hart_tensor *y, const hart_tensor *x, int dim, hart_reduce r) {
    int64_t outer = 1, inner = 1, L = x->shape[dim];
    for (int i = 0; i < dim; i++) outer *= x->shape[i];
    for (int i = dim + 1; i < x->ndim; i++) inner *= x->shape[i];
    size_t gws[1] = {gsz(outer * inner)};
    return CLRUN(clb_of(be), "reduce_mid", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AI(outer), AI(L), AI(inner), AI(r));
}

hart_status hart_cl_argmin_dist(hart_backend *be, hart_tensor *idx, const hart_tensor *x, const hart_tensor *cb) {
    int64_t N = x->shape[0], D = x->shape[1], V = cb->shape[0];
    size_t gws[1] = {gsz(N)};
    return CLRUN(clb_of(be), "argmin_dist", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(cb)), AI(T_OFF(cb)),
                 AI(T_DT(cb)), AM(T_MEM(idx)), AI(T_OFF(idx)), AI(N), AI(D), AI(V));
}

hart_status hart_cl_rope_rows(hart_backend *be, hart_tensor *y, const hart_tensor *x, const hart_tensor *c,
                              const hart_tensor *s) {
    int64_t n = hart_tensor_numel(x) / 2;
    size_t gws[1] = {gsz(n)};
    return CLRUN(clb_of(be), "rope_rows", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)),
                 AM(T_MEM(c)), AI(T_OFF(c)), AM(T_MEM(s)), AI(T_OFF(s)), AI(x->shape[1]), AI(x->shape[2]),
                 AI(x->shape[3]), AI(n));
}

hart_status hart_cl_clamp(hart_backend *be, hart_tensor *y, const hart_tensor *x, float lo, float hi) {
    int64_t n = hart_tensor_numel(x);
    size_t gws[1] = {gsz(n)};
    return CLRUN(clb_of(be), "clamp_f32", 1, gws, NULL, AM(T_MEM(x)), AI(T_OFF(x)), AM(T_MEM(y)), AI(T_OFF(y)), AI(n),
                 AF(lo), AF(hi));
}
