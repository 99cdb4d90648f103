/* The autoencoder behind `hart encode|decode|reconstruct`: resolves the
 * MODEL argument (a release folder with tokenizer/, or the autoencoder
 * folder itself), detects the kind from config.json's model_type and loads
 * it. Other autoencoders (e.g. DC-AE) add a kind here. */
#ifndef HART_CLI_AE_MODEL_H
#define HART_CLI_AE_MODEL_H

#include "backend/backend.h"
#include "models/vae_hart.h"

typedef enum { CLI_AE_HART = 1 } cli_ae_kind;

typedef struct {
    cli_ae_kind kind;
    hart_backend *be;
    hart_vae *hart;     /* CLI_AE_HART */
    char dir[4096];     /* the folder actually loaded */
} cli_ae;

/* Open device `device` (NULL = $HART_DEVICE / cpu) and load the model.
 * Prints "hart CMD: ..." on failure and returns 1; 0 on success. */
int cli_ae_open(const char *cmd, const char *model, const char *device, cli_ae *ae);
void cli_ae_close(cli_ae *ae);

/* Pixels per latent pixel, and the image side the quantizer needs (0 = any). */
int cli_ae_downsample(const cli_ae *ae);
int cli_ae_native_side(const cli_ae *ae);

/* Read PNG/JPEG `path` as the model input: host F32 [1,3,H,W] in [-1,1].
 * Sides must be multiples of the downsampling factor, and equal to the
 * native side when `need_native`. Prints the error and returns 1. */
int cli_ae_read_image(const char *cmd, const cli_ae *ae, const char *path, int need_native, hart_tensor *x);
/* Write image `index` of x [B,3,H,W] in [-1,1] to `path` (PNG/JPEG). */
int cli_ae_write_image(const char *cmd, const char *path, const hart_tensor *x, int index);
/* 8-bit RGB of image `index` of x [B,3,H,W] in [-1,1] (as written to PNG):
 * malloc'd H*W*3 bytes, or NULL. */
unsigned char *cli_ae_to_rgb8(const hart_tensor *x, int index);

#endif
