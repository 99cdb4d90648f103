/* FID Inception: the layer table (torchvision's Inception3 names with
 * pytorch-fid's FID blocks) and loading with BatchNorm folded into each conv. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pth.h"
#include "models/inception/inception_internal.h"

#define BN_EPS 1e-3 /* torchvision's BasicConv2d */

/* Kernel, stride and input of each conv per block kind. */
static const inc_block_desc KIND_A = {'A', 7, {
    {"branch1x1", 1, 1, 1, INC_IN_X}, {"branch5x5_1", 1, 1, 1, INC_IN_X}, {"branch5x5_2", 5, 5, 1, 1},
    {"branch3x3dbl_1", 1, 1, 1, INC_IN_X}, {"branch3x3dbl_2", 3, 3, 1, 3}, {"branch3x3dbl_3", 3, 3, 1, 4},
    {"branch_pool", 1, 1, 1, INC_IN_POOLED}}, 4, {0, 2, 5, 6}};
static const inc_block_desc KIND_B = {'B', 4, {
    {"branch3x3", 3, 3, 2, INC_IN_X}, {"branch3x3dbl_1", 1, 1, 1, INC_IN_X}, {"branch3x3dbl_2", 3, 3, 1, 1},
    {"branch3x3dbl_3", 3, 3, 2, 2}}, 3, {0, 3, INC_OUT_MAXPOOL}};
static const inc_block_desc KIND_C = {'C', 10, {
    {"branch1x1", 1, 1, 1, INC_IN_X}, {"branch7x7_1", 1, 1, 1, INC_IN_X}, {"branch7x7_2", 1, 7, 1, 1},
    {"branch7x7_3", 7, 1, 1, 2}, {"branch7x7dbl_1", 1, 1, 1, INC_IN_X}, {"branch7x7dbl_2", 7, 1, 1, 4},
    {"branch7x7dbl_3", 1, 7, 1, 5}, {"branch7x7dbl_4", 7, 1, 1, 6}, {"branch7x7dbl_5", 1, 7, 1, 7},
    {"branch_pool", 1, 1, 1, INC_IN_POOLED}}, 4, {0, 3, 8, 9}};
static const inc_block_desc KIND_D = {'D', 6, {
    {"branch3x3_1", 1, 1, 1, INC_IN_X}, {"branch3x3_2", 3, 3, 2, 0}, {"branch7x7x3_1", 1, 1, 1, INC_IN_X},
    {"branch7x7x3_2", 1, 7, 1, 2}, {"branch7x7x3_3", 7, 1, 1, 3}, {"branch7x7x3_4", 3, 3, 2, 4}},
    3, {1, 5, INC_OUT_MAXPOOL}};
static const inc_block_desc KIND_E = {'E', 9, {
    {"branch1x1", 1, 1, 1, INC_IN_X}, {"branch3x3_1", 1, 1, 1, INC_IN_X}, {"branch3x3_2a", 1, 3, 1, 1},
    {"branch3x3_2b", 3, 1, 1, 1}, {"branch3x3dbl_1", 1, 1, 1, INC_IN_X}, {"branch3x3dbl_2", 3, 3, 1, 4},
    {"branch3x3dbl_3a", 1, 3, 1, 5}, {"branch3x3dbl_3b", 3, 1, 1, 5}, {"branch_pool", 1, 1, 1, INC_IN_POOLED}},
    6, {0, 2, 3, 6, 7, 8}};

static const struct { const char *name; const inc_block_desc *d; hart_pool pool; } BLOCKS[INC_BLOCKS] = {
    {"Mixed_5b", &KIND_A, HART_POOL_AVG}, {"Mixed_5c", &KIND_A, HART_POOL_AVG}, {"Mixed_5d", &KIND_A, HART_POOL_AVG},
    {"Mixed_6a", &KIND_B, HART_POOL_MAX}, {"Mixed_6b", &KIND_C, HART_POOL_AVG}, {"Mixed_6c", &KIND_C, HART_POOL_AVG},
    {"Mixed_6d", &KIND_C, HART_POOL_AVG}, {"Mixed_6e", &KIND_C, HART_POOL_AVG}, {"Mixed_7a", &KIND_D, HART_POOL_MAX},
    /* pytorch-fid's FIDInceptionE_2: the TF graph max-pools in the last block */
    {"Mixed_7b", &KIND_E, HART_POOL_AVG}, {"Mixed_7c", &KIND_E, HART_POOL_MAX},
};

static const struct { const char *name; int k, stride, pad; } STEM[INC_STEM] = {
    {"Conv2d_1a_3x3", 3, 2, 0}, {"Conv2d_2a_3x3", 3, 1, 0}, {"Conv2d_2b_3x3", 3, 1, 1},
    {"Conv2d_3b_1x1", 1, 1, 0}, {"Conv2d_4a_3x3", 3, 1, 0},
};

static void conv_free(inc_conv *c) {
    hart_tensor_free(&c->w);
    hart_tensor_free(&c->b);
}

/* A host double copy of a float vector tensor `prefix.bn.<what>` of co entries. */
static hart_status bn_vec(const hart_checkpoint *ck, const char *prefix, const char *what, int64_t co, double *out) {
    hart_tensor t;
    HART_TRY(hart_ckpt_getf(ck, &t, 1, (int64_t[]){co}, "%s.bn.%s", prefix, what));
    hart_status s = hart_tensor_read_f64(&t, out);
    hart_ckpt_release(ck, &t);
    return s;
}

/* Load `prefix`.conv.weight [co, ci, kh, kw] and its BatchNorm, fold them. */
static hart_status conv_load(hart_inception *m, const hart_checkpoint *ck, const char *prefix, int64_t ci, int kh,
                             int kw, int stride, int ph, int pw, inc_conv *c) {
    char name[160];
    snprintf(name, sizeof name, "%s.conv.weight", prefix);
    hart_tensor w;
    HART_TRY(hart_ckpt_get(ck, name, 0, NULL, &w));
    if (w.ndim != 4 || w.shape[1] != ci || w.shape[2] != kh || w.shape[3] != kw || w.shape[0] < 1) {
        char sb[96];
        return hart_fail(HART_EFORMAT, "%s: tensor %s has shape %s, expected [*, %lld, %d, %d] (not a FID Inception weights file?)",
                         ck->dir, name, hart_shape_str(&w, sb, sizeof sb), (long long)ci, kh, kw);
    }
    int64_t co = w.shape[0], per = ci * kh * kw, n = co * per;
    double *wd = malloc(sizeof(double) * (size_t)n), *bn = malloc(sizeof(double) * (size_t)(4 * co));
    hart_status s = wd && bn ? HART_OK : hart_fail(HART_ENOMEM, "out of memory loading %s", name);
    if (!s) s = hart_tensor_read_f64(&w, wd);
    hart_ckpt_release(ck, &w);
    double *g = bn, *beta = bn + co, *mean = bn + 2 * co, *var = bn + 3 * co;
    if (!s) s = bn_vec(ck, prefix, "weight", co, g);
    if (!s) s = bn_vec(ck, prefix, "bias", co, beta);
    if (!s) s = bn_vec(ck, prefix, "running_mean", co, mean);
    if (!s) s = bn_vec(ck, prefix, "running_var", co, var);
    for (int64_t o = 0; !s && o < co; o++) {
        if (!(var[o] >= 0)) {
            s = hart_fail(HART_EFORMAT, "%s: %s.bn.running_var[%lld] is %g (must be >= 0)", ck->dir, prefix, (long long)o, var[o]);
            break;
        }
        double k = g[o] / sqrt(var[o] + BN_EPS);
        for (int64_t i = 0; i < per; i++) wd[o * per + i] *= k;
        beta[o] -= mean[o] * k; /* the folded bias */
    }
    memset(c, 0, sizeof *c);
    c->ci = ci; c->co = co; c->kh = kh; c->kw = kw; c->stride = stride; c->ph = ph; c->pw = pw;
    if (!s) s = hart_tensor_new4(m->be, HART_F32, &c->w, 4, co, ci, kh, kw);
    if (!s) s = hart_tensor_write_f64(&c->w, wd);
    if (!s) s = hart_tensor_new4(m->be, HART_F32, &c->b, 1, co, 0, 0, 0);
    if (!s) s = hart_tensor_write_f64(&c->b, beta);
    free(wd);
    free(bn);
    if (s) conv_free(c);
    return s;
}

static hart_status block_load(hart_inception *m, const hart_checkpoint *ck, int bi, int64_t in_ch) {
    inc_block *b = &m->blk[bi];
    b->d = BLOCKS[bi].d;
    b->pool = BLOCKS[bi].pool;
    b->in_ch = in_ch;
    snprintf(b->name, sizeof b->name, "%s", BLOCKS[bi].name);
    for (int i = 0; i < b->d->n_convs; i++) {
        const inc_conv_desc *cd = &b->d->convs[i];
        int64_t ci = cd->src < 0 ? in_ch : b->c[cd->src].co;
        int same = cd->stride == 1; /* stride-1 convs keep the size; stride-2 ones are unpadded */
        char prefix[96];
        snprintf(prefix, sizeof prefix, "%s.%s", b->name, cd->name);
        HART_TRY(conv_load(m, ck, prefix, ci, cd->kh, cd->kw, cd->stride, same ? cd->kh / 2 : 0, same ? cd->kw / 2 : 0,
                           &b->c[i]));
    }
    b->out_ch = 0;
    for (int i = 0; i < b->d->n_outs; i++) b->out_ch += b->d->outs[i] == INC_OUT_MAXPOOL ? in_ch : b->c[b->d->outs[i]].co;
    return HART_OK;
}

void hart_inception_free(hart_inception *m) {
    if (!m) return;
    for (int i = 0; i < INC_STEM; i++) conv_free(&m->stem[i]);
    for (int i = 0; i < INC_BLOCKS; i++)
        for (int j = 0; j < INC_MAX_CONVS; j++) conv_free(&m->blk[i].c[j]);
    free(m);
}

hart_backend *hart_inception_backend(const hart_inception *m) { return m->be; }

hart_status hart_inception_load(hart_backend *be, const char *path, hart_inception **out) {
    *out = NULL;
    hart_inception *m = calloc(1, sizeof *m);
    if (!m) return hart_fail(HART_ENOMEM, "out of memory");
    m->be = be ? be : hart_backend_cpu();
    hart_checkpoint ck;
    hart_status s = hart_ckpt_open_file(path, &ck);
    if (s) { free(m); return s; }
    int64_t ch = 3;
    for (int i = 0; i < INC_STEM && !s; i++) {
        s = conv_load(m, &ck, STEM[i].name, ch, STEM[i].k, STEM[i].k, STEM[i].stride, STEM[i].pad, STEM[i].pad,
                      &m->stem[i]);
        if (!s) ch = m->stem[i].co;
    }
    for (int i = 0; i < INC_BLOCKS && !s; i++) {
        s = block_load(m, &ck, i, ch);
        if (!s) ch = m->blk[i].out_ch;
    }
    if (!s && ch != HART_INCEPTION_DIM)
        s = hart_fail(HART_EFORMAT, "%s: the network ends in %lld channels, not %d (not a FID Inception weights file?)",
                      path, (long long)ch, HART_INCEPTION_DIM);
    hart_ckpt_close(&ck);
    if (s) { hart_inception_free(m); return s; }
    *out = m;
    return HART_OK;
}
