/* Internals of the FID Inception (inception.h): the layer table and the
 * folded convs. */
#ifndef HART_MODELS_INCEPTION_INTERNAL_H
#define HART_MODELS_INCEPTION_INTERNAL_H

#include "models/inception/inception.h"

#define INC_MAX_CONVS 10
#define INC_MAX_OUTS 6
#define INC_OUT_MAXPOOL (-2) /* a block output: max_pool2d(x, 3, stride 2) */
#define INC_IN_POOLED (-2)   /* a conv input: the block's 3x3 stride-1 pool of x */
#define INC_IN_X (-1)        /* a conv input: the block input x */

/* Conv + BatchNorm(eps 1e-3) folded into weight and bias, then ReLU. */
typedef struct {
    hart_tensor w, b; /* F32 [co, ci, kh, kw], [co] on the model's backend */
    int64_t ci, co, kh, kw;
    int stride, ph, pw;
} inc_conv;

/* One conv of a block kind: its name under the block, kernel, stride and input. */
typedef struct {
    const char *name;
    int kh, kw, stride, src; /* src: INC_IN_X, INC_IN_POOLED or the index of an earlier conv */
} inc_conv_desc;

typedef struct {
    char kind;                   /* 'A', 'B', 'C', 'D', 'E' (torchvision's InceptionA..E) */
    int n_convs;
    inc_conv_desc convs[INC_MAX_CONVS];
    int n_outs;
    int outs[INC_MAX_OUTS];      /* concatenated along channels: conv index or INC_OUT_MAXPOOL */
} inc_block_desc;

typedef struct {
    const inc_block_desc *d;
    char name[16];               /* "Mixed_5b" */
    hart_pool pool;              /* the 3x3 stride-1 pool of branch_pool: avg, or max in Mixed_7c */
    inc_conv c[INC_MAX_CONVS];
    int64_t in_ch, out_ch;
} inc_block;

#define INC_STEM 5
#define INC_BLOCKS 11

struct hart_inception {
    hart_backend *be;
    inc_conv stem[INC_STEM];
    inc_block blk[INC_BLOCKS];
};

/* y = relu(conv(x)) (new tensor on the model's backend). */
hart_status hart_inc_conv_fwd(hart_inception *m, const inc_conv *c, const hart_tensor *x, hart_tensor *y);

#endif
