/* PSNR / SSIM on 8-bit RGB images. */
#include "io/metrics.h"

#include <math.h>
#include <stdlib.h>

double hart_psnr_u8(const uint8_t *a, const uint8_t *b, size_t n) {
    if (n == 0) return NAN;
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        se += d * d;
    }
    if (se == 0) return INFINITY;
    return 10.0 * log10(255.0 * 255.0 / (se / (double)n));
}

/* separable Gaussian blur, "valid" region: in [h][w] -> out [h-k+1][w-k+1] */
static void blur_valid(const double *in, int w, int h, const double *g, int k, double *tmp, double *out) {
    int wo = w - k + 1, ho = h - k + 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < wo; x++) {
            double s = 0;
            for (int i = 0; i < k; i++) s += g[i] * in[(size_t)y * w + x + i];
            tmp[(size_t)y * wo + x] = s;
        }
    for (int y = 0; y < ho; y++)
        for (int x = 0; x < wo; x++) {
            double s = 0;
            for (int i = 0; i < k; i++) s += g[i] * tmp[(size_t)(y + i) * wo + x];
            out[(size_t)y * wo + x] = s;
        }
}

double hart_ssim_rgb8(const uint8_t *a, const uint8_t *b, int w, int h) {
    if (w < 1 || h < 1) return NAN;
    int k = 11, m = w < h ? w : h;
    if (m < k) k = (m % 2) ? m : m - 1;
    if (k < 1) k = 1;
    double sigma = 1.5 * k / 11.0, g[11], gs = 0;
    for (int i = 0; i < k; i++) {
        double d = i - (k - 1) / 2.0;
        g[i] = exp(-d * d / (2 * sigma * sigma));
        gs += g[i];
    }
    for (int i = 0; i < k; i++) g[i] /= gs;
    const double C1 = (0.01 * 255) * (0.01 * 255), C2 = (0.03 * 255) * (0.03 * 255);
    size_t n = (size_t)w * h;
    int wo = w - k + 1, ho = h - k + 1;
    size_t no = (size_t)wo * ho;
    double *buf = malloc(sizeof(double) * (5 * n + n + 5 * no));
    if (!buf) return NAN;
    double *x = buf, *y = x + n, *xx = y + n, *yy = xx + n, *xy = yy + n, *tmp = xy + n;
    double *mx = tmp + n, *my = mx + no, *sxx = my + no, *syy = sxx + no, *sxy = syy + no;
    double total = 0;
    for (int c = 0; c < 3; c++) {
        for (size_t i = 0; i < n; i++) {
            x[i] = a[i * 3 + c];
            y[i] = b[i * 3 + c];
            xx[i] = x[i] * x[i];
            yy[i] = y[i] * y[i];
            xy[i] = x[i] * y[i];
        }
        blur_valid(x, w, h, g, k, tmp, mx);
        blur_valid(y, w, h, g, k, tmp, my);
        blur_valid(xx, w, h, g, k, tmp, sxx);
        blur_valid(yy, w, h, g, k, tmp, syy);
        blur_valid(xy, w, h, g, k, tmp, sxy);
        double sum = 0;
        for (size_t i = 0; i < no; i++) {
            double vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cv = sxy[i] - mx[i] * my[i];
            sum += ((2 * mx[i] * my[i] + C1) * (2 * cv + C2)) /
                   ((mx[i] * mx[i] + my[i] * my[i] + C1) * (vx + vy + C2));
        }
        total += sum / (double)no;
    }
    free(buf);
    return total / 3.0;
}
