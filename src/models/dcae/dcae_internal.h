/* DC-AE internals shared by dcae_*.c (not a public API). */
#ifndef HART_DCAE_INTERNAL_H
#define HART_DCAE_INTERNAL_H

#include <cjson/cJSON.h>

#include "core/checkpoint.h"
#include "models/dcae/dcae.h"

#define DCAE_MAX_STAGES 10
#define DCAE_MAX_DEPTH 32
#define DCAE_MAX_SCALES 4

typedef enum { DN_NONE = 0, DN_BN2D, DN_TRMS2D, DN_LN2D } dcae_norm_t;
typedef enum { DA_NONE = 0, DA_RELU, DA_RELU6, DA_HSWISH, DA_SILU, DA_GELU } dcae_act_t;
typedef enum { DB_RES = 0, DB_EVIT } dcae_block_t;
/* how a sampler changes resolution */
typedef enum {
    DS_CONV = 0,      /* 3x3 conv, stride 1 (factor 1) */
    DS_CONV_S2,       /* "Conv": 3x3 conv stride 2 */
    DS_CONV_UNSHUF,   /* "ConvPixelUnshuffle": conv to C/4 then pixel_unshuffle(2) */
    DS_CONV_SHUF,     /* "ConvPixelShuffle": conv to 4C then pixel_shuffle(2) */
    DS_INTERP_CONV    /* "InterpolateConv": nearest 2x then conv */
} dcae_samp_t;
typedef enum { DSC_NONE = 0, DSC_AVG, DSC_DUP } dcae_shortcut_t;

/* one side (encoder or decoder) of the architecture */
typedef struct {
    int in_channels, latent_channels, n_stages;
    int width[DCAE_MAX_STAGES], depth[DCAE_MAX_STAGES];
    dcae_block_t block[DCAE_MAX_STAGES][DCAE_MAX_DEPTH];
    int n_scales[DCAE_MAX_STAGES][DCAE_MAX_DEPTH];
    int scales[DCAE_MAX_STAGES][DCAE_MAX_DEPTH][DCAE_MAX_SCALES];
    dcae_norm_t norm[DCAE_MAX_STAGES];
    dcae_act_t act[DCAE_MAX_STAGES];
    dcae_samp_t sample;        /* DS_CONV_S2/DS_CONV_UNSHUF (enc) or DS_CONV_SHUF/DS_INTERP_CONV (dec) */
    int match_channel;
    dcae_shortcut_t sample_shortcut;
    dcae_shortcut_t io_shortcut; /* encoder out_shortcut / decoder in_shortcut */
    dcae_norm_t out_norm;
    dcae_act_t out_act;
    int double_latent;
    int head_dim;               /* attention head dim (32) */
} dcae_side_cfg;

typedef struct {
    char name[96];
    int in_channels, latent_channels;
    dcae_side_cfg enc, dec;
    int has_scaling_factor;
    double scaling_factor;
    int diffusers; /* weights use the diffusers naming */
} dcae_cfg;

typedef struct {
    hart_tensor w, b; /* b.data/dev NULL if no bias */
    int has_b, k, stride, pad, groups, cin, cout;
} dcae_conv;

typedef struct {
    dcae_norm_t kind;
    int c;
    float eps;
    hart_tensor w, b; /* trms2d/ln2d: [C]; bn2d: folded scale/shift [C,1,1] */
} dcae_norm;

typedef struct {
    dcae_samp_t kind;
    dcae_shortcut_t shortcut;
    int factor; /* shortcut factor (1 or 2) */
    int cin, cout;
    dcae_norm pre_norm; /* applied to the main path only */
    dcae_act_t pre_act;
    dcae_conv conv;
} dcae_sampler;

typedef struct {
    dcae_block_t type;
    int c;
    dcae_act_t act;
    /* ResBlock */
    dcae_conv c1, c2;
    dcae_norm n2;
    /* EfficientViT block */
    int heads, dim, n_scales;
    dcae_conv qkv, agg_dw[DCAE_MAX_SCALES], agg_pw[DCAE_MAX_SCALES], proj;
    dcae_norm proj_norm;
    dcae_conv inv, dw, pw;
    dcae_norm pw_norm;
} dcae_block;

/* a layer of the flat program: a block or a sampler */
typedef struct {
    int is_block;
    dcae_block blk;
    dcae_sampler smp;
} dcae_layer;

typedef struct {
    dcae_layer *layers;
    int n;
} dcae_net;

struct hart_dcae {
    hart_backend *be;
    dcae_cfg cfg;
    dcae_net enc, dec;
    hart_dcae_info info;
};

/* config (dcae_config.c) */
hart_status hart_dcae_cfg_from_dir(const char *dir, dcae_cfg *cfg);
hart_status hart_dcae_cfg_parse_original(const cJSON *j, const char *label, dcae_cfg *cfg);
hart_status hart_dcae_cfg_parse_diffusers(const cJSON *j, const char *label, dcae_cfg *cfg);

/* weights (dcae_load.c) */
/* ck NULL: deterministic random weights from `seed` (benchmarks) */
hart_status hart_dcae_build(hart_backend *be, const hart_checkpoint *ck, const dcae_cfg *cfg, dcae_net *enc,
                       dcae_net *dec, uint64_t seed);
void hart_dcae_net_free(dcae_net *n);

/* layers (dcae_layers.c): x is consumed (freed) in every case, out is new */
hart_status hart_dcae_layer_forward(hart_backend *be, const dcae_layer *l, hart_tensor *x, hart_tensor *out);
hart_status hart_dcae_net_forward(hart_backend *be, const dcae_net *n, const hart_tensor *x, hart_tensor *out);

/* flops (dcae_flops.c): FLOP of one pass over an h x w input */
double hart_dcae_net_flops(const dcae_net *n, int64_t h, int64_t w);

#endif
