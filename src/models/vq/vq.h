/* LlamaGen VQ tokenizer (VQModel of LlamaGen's tokenizer/tokenizer_image/
 * vq_model.py, as vendored by LPD in models/vqgan.py; release file
 * vq_ds16_c2i.pt): a taming-style encoder and decoder (GroupNorm(32, eps
 * 1e-6), swish, attention only at the deepest level and in the middle),
 * 1x1 quant_conv / post_quant_conv, and a codebook whose rows are
 * l2-normalised before use.
 *
 * The architecture is read from the tensors' shapes (ch, ch_mult,
 * num_res_blocks, z_channels, codebook size and width); a config object
 * (the "vq" section of a golden set's config.json, keys ch, ch_mult or
 * encoder_ch_mult / decoder_ch_mult, num_res_blocks, z_channels,
 * codebook_size, codebook_embed_dim) is checked against them when given. */
#ifndef HART_MODELS_VQ_H
#define HART_MODELS_VQ_H

#include <cjson/cJSON.h>

#include "backend/backend.h"

#define HART_VQ_MAX_LEVELS 8

typedef struct {
    int ch, n_levels, ch_mult[HART_VQ_MAX_LEVELS], num_res_blocks, z_channels;
    int dec_ch_mult[HART_VQ_MAX_LEVELS];       /* the decoder's, in the same (shallow first) order */
    int codebook_size, embed_dim;
    int downsample; /* 2^(n_levels-1) */
} hart_vq_info;

typedef struct hart_vq hart_vq;

/* Load from a .pt/.pth (torch.save, `model` entry or bare state dict) or a
 * .safetensors file. cfg may be NULL. */
hart_status hart_vq_load(hart_backend *be, const char *path, const cJSON *cfg, hart_vq **out);
void hart_vq_free(hart_vq *vq);
const hart_vq_info *hart_vq_get_info(const hart_vq *vq);
hart_backend *hart_vq_backend(const hart_vq *vq);

/* img F32 [B,3,H,W] in [-1,1] (H, W multiples of the downsampling) ->
 * latent F32 [B,E,H/ds,W/ds]: encoder then quant_conv, before quantization. */
hart_status hart_vq_encode(hart_vq *vq, const hart_tensor *img, hart_tensor *latent);
/* latent [B,E,h,w] -> idx I64 [B,h*w] (row-major): nearest l2-normalised
 * codeword to the l2-normalised latent, first index on ties. */
hart_status hart_vq_quantize(hart_vq *vq, const hart_tensor *latent, hart_tensor *idx);
/* idx I64 [B,h*w] -> img F32 [B,3,h*ds,w*ds]: the decoder's output (about
 * [-1,1], not clamped). */
hart_status hart_vq_decode_codes(hart_vq *vq, const hart_tensor *idx, int h, int w, hart_tensor *img);

#endif
