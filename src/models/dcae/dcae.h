/* DC-AE (deep compression autoencoder, efficientvit) on the op interface.
 *
 * Loads a folder in either layout:
 *  - original efficientvit naming: model.safetensors (`encoder.*`, `decoder.*`)
 *    plus either dcae_config.json (full architecture) or config.json that only
 *    names a released model ({"model_name": "dc-ae-f32c32-in-1.0"}); the name
 *    is looked up as configs/<name>.json (see hart_dcae_config_dirs);
 *  - diffusers AutoencoderDC: config.json (_class_name AutoencoderDC) +
 *    diffusion_pytorch_model.safetensors; keys are renamed on load.
 * Every tensor's name and shape is checked against the architecture; tensors
 * under encoder./decoder. that the architecture does not use are an error. */
#ifndef HART_DCAE_H
#define HART_DCAE_H

#include <stdint.h>

#include "backend/backend.h"

typedef struct hart_dcae hart_dcae;

typedef struct {
    char name[96];           /* released name, or "custom" */
    int in_channels;         /* image channels (3) */
    int latent_channels;     /* decoder input channels */
    int enc_out_channels;    /* encoder output channels (2x latent if double_latent) */
    int ratio;               /* spatial compression: image pixels per latent pixel */
    int has_scaling_factor;  /* config gives a scaling factor */
    float scaling_factor;    /* 1 if none */
    int diffusers;           /* loaded from the diffusers layout */
} hart_dcae_info;

/* 1 if `dir` looks like a DC-AE folder (dcae_config.json, or a config.json
 * naming AutoencoderDC or a dc-ae model). */
int hart_dcae_detect(const char *dir);

hart_status hart_dcae_load(hart_backend *be, const char *dir, hart_dcae **out);
/* A model with deterministic random weights from an architecture description
 * (a dcae_config.json-style or diffusers config file path, or a released name
 * looked up in configs/), for benchmarks and memory tests. */
hart_status hart_dcae_create_random(hart_backend *be, const char *config, uint64_t seed, hart_dcae **out);
void hart_dcae_free(hart_dcae *m);
const hart_dcae_info *hart_dcae_get_info(const hart_dcae *m);

/* image [B,C,H,W] in [-1,1] (H, W multiples of ratio) -> latent
 * [B,enc_out_channels,H/ratio,W/ratio], NOT multiplied by the scaling factor.
 * `latent` is allocated here on the model's backend. */
hart_status hart_dcae_encode(hart_dcae *m, const hart_tensor *image, hart_tensor *latent);
/* latent [B,latent_channels,h,w] (unscaled) -> raw decoder output
 * [B,C,h·ratio,w·ratio] (not clamped), allocated here. */
hart_status hart_dcae_decode(hart_dcae *m, const hart_tensor *latent, hart_tensor *image);

/* Tiled decoding: overlapping latent tiles of `tile` × `tile` latent pixels
 * (stride tile - overlap), decoded one by one and blended linearly in the
 * overlap. tile <= 0 or a latent no larger than one tile = plain decode. */
hart_status hart_dcae_decode_tiled(hart_dcae *m, const hart_tensor *latent, int tile, int overlap,
                                   hart_tensor *image);
/* Default tile for the decoder so that one tile's activations stay well
 * under 4 GB (in latent pixels; 0 = no tiling needed for this latent size). */
int hart_dcae_default_tile(const hart_dcae *m, int lat_h, int lat_w);

/* FLOP (2 per multiply-add of convs and attention matmuls) of one encode of
 * an img_h x img_w image / one decode of a lat_h x lat_w latent. */
double hart_dcae_encode_flops(const hart_dcae *m, int img_h, int img_w);
double hart_dcae_decode_flops(const hart_dcae *m, int lat_h, int lat_w);

/* x *= scaling_factor (inverse = 0) or x /= scaling_factor (inverse = 1), in place. */
hart_status hart_dcae_scale_latent(const hart_dcae *m, hart_tensor *x, int inverse);

/* Directories searched for configs/<name>.json, in order:
 * $HART_CONFIG_DIR, ./configs, <exe dir>/../configs, <exe dir>/../share/hart/configs. */
hart_status hart_dcae_find_config(const char *name, char *path, size_t n);

#endif
