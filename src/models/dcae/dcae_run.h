/* DC-AE whole-file operations for `hart encode/decode/reconstruct` (the CLI
 * parses flags and reads/writes images; these do the rest). Images are host
 * F32 tensors [B,3,H,W] in [0,1] (as io/image.h converts them).
 *
 * Latent files are safetensors with
 *   "latent"        F32 [B,C,h,w]
 *   "latent_scale"  F32 [1]: the factor the stored latent was multiplied by
 *                   (the model's scaling_factor with --scaled, else 1). */
#ifndef HART_DCAE_RUN_H
#define HART_DCAE_RUN_H

#include "models/dcae/dcae.h"

/* image01 -> latent file. scaled: multiply by the model's scaling factor
 * (error if the config has none). Image sides must be multiples of the
 * compression ratio (clear error otherwise). */
hart_status hart_dcae_encode_file(hart_dcae *m, const hart_tensor *image01, int scaled, const char *out_path);

/* latent file -> image01 (new host tensor, clamped to [0,1]). name: the
 * tensor to decode (NULL = "latent"); "latent_scale" is undone when present.
 * A double latent (2·latent_channels, as a double_latent encoder writes)
 * decodes its first half. tile < 0: the default tile for this size
 * (hart_dcae_default_tile), 0: no tiling; overlap < 0: tile / 4. */
hart_status hart_dcae_decode_file(hart_dcae *m, const char *latent_path, const char *name, int tile, int overlap,
                                  hart_tensor *image01);

/* image01 -> encode -> decode -> image01 (new host tensor). */
hart_status hart_dcae_reconstruct(hart_dcae *m, const hart_tensor *image01, int tile, int overlap, hart_tensor *out01);

#endif
