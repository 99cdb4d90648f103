/* HART's image autoencoder (the release calls it the image tokenizer): convolutional autoencoder + hybrid multi-scale
 * residual quantizer (release folder `<model>/tokenizer/`, keys `vae.*`). */
#ifndef HART_MODELS_HART_AUTOENCODER_H
#define HART_MODELS_HART_AUTOENCODER_H

#include "backend/backend.h"

#define HART_MAX_SCALES 16

typedef struct hart_vae hart_vae;

typedef struct {
    int z_channels;          /* latent channels (Cvae) */
    int vocab_size;          /* codebook entries */
    int n_scales;            /* number of patch_nums */
    int patch_nums[HART_MAX_SCALES];
    int latent_hw;           /* last patch_num: latent is latent_hw × latent_hw */
    int downsample;          /* image pixels per latent pixel */
} hart_vae_info;

/* Load from a tokenizer folder (config.json + safetensors with `vae.*`
 * keys; unused keys such as `disc.*` are ignored). */
hart_status hart_vae_load(hart_backend *be, const char *tokenizer_dir, hart_vae **out);
void hart_vae_free(hart_vae *vae);
const hart_vae_info *hart_vae_get_info(const hart_vae *vae);

/* image [B,3,H,W] in [-1,1] -> f [B,z,h,w] (encoder + quant_conv) */
hart_status hart_vae_encode(hart_vae *vae, const hart_tensor *image, hart_tensor *f);
/* f_hat [B,z,h,w] -> image [B,3,H,W]: post_quant_conv + decoder, clamped to [-1,1] */
hart_status hart_vae_decode(hart_vae *vae, const hart_tensor *f_hat, hart_tensor *image);

/* Quantize f [B,z,h,w]: idx[k] I64 [B, pn_k²] for each scale (caller passes
 * n_scales preallocated tensors), residual [B, h·w, z] (what the last scale's
 * tokens + continuous residual represent), f_hat_discrete [B,z,h,w]. */
hart_status hart_vae_quantize(hart_vae *vae, const hart_tensor *f, hart_tensor *idx,
                              hart_tensor *residual, hart_tensor *f_hat_discrete);

/* Autoregressive inference helpers (what the transformer needs):
 * codebook vectors of indices idx I64 [B, pn²] -> h [B, z, pn, pn] */
hart_status hart_vae_embed_indices(hart_vae *vae, const hart_tensor *idx, hart_tensor *h);
/* Add scale `si`'s contribution h [B,z,pn,pn] (upsampled, phi-convolved) into
 * f_hat [B,z,h,w] in place; if si is not the last scale, write the next
 * scale's input map (f_hat resized to pn_{si+1}) into next_input
 * [B,z,pn_{si+1},pn_{si+1}] (may be NULL at the last scale). */
hart_status hart_vae_next_scale(hart_vae *vae, int si, hart_tensor *f_hat, const hart_tensor *h,
                                hart_tensor *next_input);

#endif
