/* The autoencoder behind `hart encode|decode|reconstruct`: resolves the
 * MODEL argument (a release folder with tokenizer/, or the autoencoder
 * folder itself), detects the kind from config.json's model_type and loads
 * it. A folder that hart_dcae_detect recognises (dcae_config.json, a
 * config.json naming a dc-ae-* model, or a diffusers AutoencoderDC folder)
 * is loaded as a DC-AE (CLI_AE_DCAE). */
#ifndef HART_CLI_AE_MODEL_H
#define HART_CLI_AE_MODEL_H

#include "backend/backend.h"
#include "models/dcae/dcae.h"
#include "models/hart/autoencoder.h"

typedef enum { CLI_AE_HART = 1, CLI_AE_DCAE = 2 } cli_ae_kind;

typedef struct {
    cli_ae_kind kind;
    hart_backend *be;
    hart_vae *hart;     /* CLI_AE_HART */
    hart_dcae *dcae;    /* CLI_AE_DCAE */
    char dir[4096];     /* the folder actually loaded */
} cli_ae;

/* Open device `device` (NULL = $HART_DEVICE / cpu) and load the model.
 * Prints "hart CMD: ..." on failure and returns 1; 0 on success. */
int cli_ae_open(const char *cmd, const char *model, const char *device, const char *precision, cli_ae *ae);
void cli_ae_close(cli_ae *ae);

/* 1 if MODEL is a folder holding a DC-AE (decided before loading, so a
 * command can pick its DC-AE path and flags). */
int cli_ae_is_dcae(const char *model);

/* Pixels per latent pixel, and the image side the quantizer needs (0 = any). */
int cli_ae_downsample(const cli_ae *ae);
int cli_ae_native_side(const cli_ae *ae);

/* Read PNG/JPEG `path` as the model input: host F32 [1,3,H,W] in [-1,1].
 * Sides must be multiples of the downsampling factor, and equal to the
 * native side when `need_native`. Prints the error and returns 1. */
int cli_ae_read_image(const char *cmd, const cli_ae *ae, const char *path, int need_native, hart_tensor *x);
/* The same with the image in [0,1] (what the DC-AE file functions take). */
int cli_ae_read_image01(const char *cmd, const cli_ae *ae, const char *path, hart_tensor *x);
/* Write image `index` of x [B,3,H,W] in [-1,1] to `path` (PNG/JPEG). */
int cli_ae_write_image(const char *cmd, const char *path, const hart_tensor *x, int index);
/* 8-bit RGB of image `index` of x [B,3,H,W] in [-1,1] (as written to PNG):
 * malloc'd H*W*3 bytes, or NULL. */
unsigned char *cli_ae_to_rgb8(const hart_tensor *x, int index);
/* The same two for images in [0,1]. */
int cli_ae_write_image01(const char *cmd, const char *path, const hart_tensor *x01, int index);
unsigned char *cli_ae_to_rgb8_01(const hart_tensor *x01, int index);

/* The --tile / --tile-overlap entries of a hart_opt table (decode and
 * reconstruct share them; cli/args.h). */
#define AE_TILE_OPTIONS(tile_ptr, overlap_ptr)                                                                   \
    {"tile", 0, HART_ARG_INT, (tile_ptr), "N",                                                                   \
     "DC-AE only: decode in overlapping tiles of NxN latent pixels (0 = whole latent at once; "                  \
     "default: automatic, the largest tile whose activations fit in about 2 GB)",                                \
     "auto", 0, 1 << 20, NULL},                                                                                  \
    {"tile-overlap", 0, HART_ARG_INT, (overlap_ptr), "N",                                                        \
     "DC-AE only: overlap of neighbouring tiles in latent pixels, blended linearly (default: tile/4; must be < "  \
     "tile)",                                                                                                    \
     "tile/4", 0, 1 << 20, NULL}

#endif
