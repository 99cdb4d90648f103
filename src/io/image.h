/* 8-bit RGB images: PNG (libpng) and JPEG (libjpeg) read/write, text
 * metadata, and conversion to/from float tensors.
 *
 * Writing picks the format from the extension (.png, .jpg, .jpeg, any case;
 * anything else is an error) and is atomic (temp file + rename, see
 * core/fileio.h). Reading detects the format from the file's signature.
 * Metadata: key/value text pairs. PNG stores each as a tEXt chunk (iTXt,
 * UTF-8, when the value is not plain ASCII); JPEG stores each as a COM
 * marker "key\0value". Reading returns the pairs found (PNG tEXt/zTXt/iTXt,
 * JPEG COM markers of that form). The generator writes a "parameters" entry
 * built with hart_image_params_text(). */
#ifndef HART_IO_IMAGE_H
#define HART_IO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

#define HART_IMAGE_MAX_SIDE 32768
/* At most 64 Mpixel (e.g. 8192 x 8192) per image read. */
#define HART_IMAGE_MAX_PIXELS (1ul << 26)
/* Most memory libjpeg may use for one image's coefficient buffers. */
#define HART_IMAGE_JPEG_MAX_MEMORY (768 << 20)
/* Largest PNG ancillary chunk (text, ICC profile...) read, in bytes. */
#define HART_IMAGE_MAX_CHUNK (16u << 20)

typedef struct {
    char *key;
    char *value;
} hart_image_text;

typedef struct {
    int width, height;
    uint8_t *rgb;          /* height * width * 3, row-major, interleaved RGB */
    hart_image_text *text; /* metadata pairs read from the file (owned) */
    int n_text;
} hart_image;

typedef enum { HART_IMG_UNKNOWN = 0, HART_IMG_PNG, HART_IMG_JPEG } hart_image_format;

/* Format from the extension of `path` (.png / .jpg / .jpeg, any case). */
hart_image_format hart_image_format_of(const char *path);

/* Allocate a black width x height image (no metadata). */
hart_status hart_image_new(int width, int height, hart_image *img);
void hart_image_free(hart_image *img);

/* Read a PNG or JPEG file as 8-bit RGB (gray, palette, 16-bit and alpha are
 * converted; alpha is dropped). Errors name the file: missing, unreadable,
 * not PNG/JPEG, truncated or corrupt, a side larger than HART_IMAGE_MAX_SIDE
 * or more than HART_IMAGE_MAX_PIXELS pixels, a PNG chunk larger than
 * HART_IMAGE_MAX_CHUNK. */
hart_status hart_image_read(const char *path, hart_image *img);
/* Same from a file's bytes in memory (`label` names it in errors). */
hart_status hart_image_read_mem(const void *data, size_t size, const char *label, hart_image *img);

/* Write `img` to `path` (format from the extension) with the metadata pairs
 * `text[0..n_text)` (may be NULL/0; img->text is not written). Keys: 1..79
 * printable characters, no leading/trailing space. `jpeg_quality` 1..100
 * (0 = 95; ignored for PNG). */
hart_status hart_image_write(const char *path, const hart_image *img, const hart_image_text *text, int n_text,
                             int jpeg_quality);

/* Value of metadata key `key` read from a file, or NULL. */
const char *hart_image_get_text(const hart_image *img, const char *key);

/* The "parameters" text from key/value pairs: one "key: value" line each
 * (newlines inside values are written as "\n"). Returns a malloc'd string or
 * NULL when out of memory. */
char *hart_image_params_text(const hart_image_text *pairs, int n);

/* Float tensor -> image. `t` is F32 (any backend) of shape [3,H,W] or
 * [B,3,H,W] (then image `index` of the batch), values in [0,1]; each value
 * becomes clamp(round_half_even(x * 255), 0, 255) (NaN -> 0), as PyTorch's
 * (x * 255).round().clamp(0, 255).to(uint8). */
hart_status hart_image_from_tensor(const hart_tensor *t, int index, hart_image *img);
/* Image -> new host F32 tensor [1,3,H,W] with values v / 255 in [0,1]. */
hart_status hart_image_to_tensor(const hart_image *img, hart_tensor *out);

#endif
