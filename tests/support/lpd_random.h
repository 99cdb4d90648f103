/* Test/bench helper: an LPD transformer and a LlamaGen VQ with random weights
 * (xorshift, uniform) at any shape, written as safetensors files with the
 * release checkpoints' tensor names (the loaders read them like the .pth files). */
#ifndef HART_TEST_LPD_RANDOM_H
#define HART_TEST_LPD_RANDOM_H

#include "core/tensor.h"

typedef struct {
    const char *name;
    int D, depth, H, V, classes, px;
    int vq_ch, vq_z, vq_e, vq_nrb, n_mult, mult[8];
    hart_dtype wdt;
} lpd_random_shape;

/* The LPD transformer (N = tokens per image, (px/16)^2). 0 on success. */
int lpd_random_write_lpd(const char *path, const lpd_random_shape *s, int N);
/* The VQ (encoder, decoder, quantizer). 0 on success. */
int lpd_random_write_vq(const char *path, const lpd_random_shape *s);

#endif
