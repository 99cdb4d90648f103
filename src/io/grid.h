/* Contact sheet: the images of one run tiled into one image, each with a
 * label (its seed: digits only) under it, for a person comparing samples.
 *
 * Layout: cols = ceil(sqrt(n)), rows = ceil(n / cols); every cell is
 * cw x (h + 7s) with s = max(1, w / 64) the font scale, cw = max(w, widest
 * label + 2s); the image sits at the cell's top centre, its label in black
 * on a white strip of 7s rows below it (a built-in 3x5 digit font, 4s
 * pixels per character). Unused cells are white. */
#ifndef HART_IO_GRID_H
#define HART_IO_GRID_H

#include "io/image.h"

/* Sheet size for n images of w x h with the given labels. */
void hart_grid_size(int n, int w, int h, const char *const *labels, int *width, int *height);
/* All images must have the same size; labels may be NULL (no text) and hold
 * digits only (other characters are drawn as blanks). */
hart_status hart_grid_make(const hart_image *imgs, const char *const *labels, int n, hart_image *out);
/* hart_grid_make, labels = the seeds in decimal, written to path (PNG/JPEG,
 * atomically). */
hart_status hart_grid_write_seeds(const char *path, const hart_image *imgs, const uint64_t *seeds, int n);

#endif
