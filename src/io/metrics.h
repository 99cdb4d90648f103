/* Image quality metrics on 8-bit interleaved RGB images (as read by
 * io/image.h): PSNR and SSIM. */
#ifndef HART_IO_METRICS_H
#define HART_IO_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* PSNR in dB over all n bytes: 10·log10(255² / MSE); INFINITY when equal. */
double hart_psnr_u8(const uint8_t *a, const uint8_t *b, size_t n);

/* Mean SSIM (Wang et al. 2004) of two w×h interleaved RGB images: Gaussian
 * window 11×11, σ = 1.5, K1 = 0.01, K2 = 0.03, L = 255, statistics over the
 * "valid" window positions only, averaged over the 3 channels. Images with a
 * side below 11 use the largest odd window that fits (σ scaled alike).
 * Returns NAN for an empty image. */
double hart_ssim_rgb8(const uint8_t *a, const uint8_t *b, int w, int h);

#endif
