/* Contact sheet of labelled images (see grid.h). */
#include "io/grid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 3x5 digit glyphs, one row per 3-bit number (bit 2 = left column). */
static const unsigned char digit_rows[10][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
    {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};

static int font_scale(int w) { return w / 64 > 1 ? w / 64 : 1; }

static int label_width(const char *l, int s) {
    size_t n = l ? strlen(l) : 0;
    return n ? (int)n * 4 * s - s : 0;
}

static void layout(int n, int w, int h, const char *const *labels, int *cols, int *rows, int *cw, int *ch) {
    int s = font_scale(w);
    *cols = n > 0 ? (int)ceil(sqrt((double)n)) : 1;
    while (*cols > 1 && (*cols - 1) * (*cols - 1) >= n) (*cols)--; /* guard against sqrt rounding */
    while (*cols * *cols < n) (*cols)++;
    *rows = n > 0 ? (n + *cols - 1) / *cols : 1;
    *cw = w;
    for (int i = 0; labels && i < n; i++) {
        int lw = label_width(labels[i], s) + 2 * s;
        if (lw > *cw) *cw = lw;
    }
    *ch = h + 7 * s;
}

void hart_grid_size(int n, int w, int h, const char *const *labels, int *width, int *height) {
    int cols, rows, cw, ch;
    layout(n, w, h, labels, &cols, &rows, &cw, &ch);
    *width = cols * cw;
    *height = rows * ch;
}

static void draw_label(hart_image *out, int x0, int y0, const char *l, int s) {
    for (int k = 0; l[k]; k++) {
        if (l[k] < '0' || l[k] > '9') continue;
        const unsigned char *g = digit_rows[l[k] - '0'];
        for (int r = 0; r < 5 * s; r++)
            for (int c = 0; c < 3 * s; c++) {
                if (!(g[r / s] >> (2 - c / s) & 1)) continue;
                int x = x0 + k * 4 * s + c, y = y0 + r;
                if (x < 0 || y < 0 || x >= out->width || y >= out->height) continue;
                memset(out->rgb + ((size_t)y * out->width + x) * 3, 0, 3);
            }
    }
}

hart_status hart_grid_make(const hart_image *imgs, const char *const *labels, int n, hart_image *out) {
    memset(out, 0, sizeof *out);
    if (n < 1) return hart_fail(HART_EINVAL, "grid: no images");
    int w = imgs[0].width, h = imgs[0].height, s = font_scale(w);
    for (int i = 1; i < n; i++)
        if (imgs[i].width != w || imgs[i].height != h)
            return hart_fail(HART_EINVAL, "grid: image %d is %dx%d, the first is %dx%d", i, imgs[i].width,
                             imgs[i].height, w, h);
    int cols, rows, cw, ch;
    layout(n, w, h, labels, &cols, &rows, &cw, &ch);
    if ((double)cols * cw * (double)rows * ch > (double)HART_IMAGE_MAX_PIXELS ||
        cols * cw > HART_IMAGE_MAX_SIDE || rows * ch > HART_IMAGE_MAX_SIDE)
        return hart_fail(HART_EINVAL, "grid: a %dx%d sheet of %d images is too large", cols * cw, rows * ch, n);
    HART_TRY(hart_image_new(cols * cw, rows * ch, out));
    memset(out->rgb, 255, (size_t)out->width * out->height * 3);
    for (int i = 0; i < n; i++) {
        int x0 = (i % cols) * cw, y0 = (i / cols) * ch, xo = x0 + (cw - w) / 2;
        for (int y = 0; y < h; y++)
            memcpy(out->rgb + ((size_t)(y0 + y) * out->width + xo) * 3, imgs[i].rgb + (size_t)y * w * 3,
                   (size_t)w * 3);
        if (labels && labels[i]) {
            int lw = label_width(labels[i], s);
            draw_label(out, x0 + (cw - lw) / 2, y0 + h + s, labels[i], s);
        }
    }
    return HART_OK;
}

hart_status hart_grid_write_seeds(const char *path, const hart_image *imgs, const uint64_t *seeds, int n) {
    if (n < 1) return hart_fail(HART_EINVAL, "grid: no images");
    char (*txt)[24] = malloc(sizeof *txt * (size_t)n);
    const char **labels = malloc(sizeof *labels * (size_t)n);
    hart_status st = txt && labels ? HART_OK : hart_fail(HART_ENOMEM, "grid labels");
    for (int i = 0; !st && i < n; i++) {
        snprintf(txt[i], sizeof txt[i], "%llu", (unsigned long long)seeds[i]);
        labels[i] = txt[i];
    }
    hart_image sheet = {0};
    if (!st) st = hart_grid_make(imgs, labels, n, &sheet);
    if (!st) st = hart_image_write(path, &sheet, NULL, 0, 0);
    hart_image_free(&sheet);
    free(labels);
    free(txt);
    return st;
}
