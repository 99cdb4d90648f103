/* libFuzzer entry point: PNG and JPEG decoding (hart_image_read_mem, what
 * `hart encode` and `hart reconstruct` read images with). Any input must
 * decode into a consistent image or fail with a status, leaving nothing
 * allocated; decoded pixels and metadata are touched so ASan checks them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1); /* exact size: ASan sees over-reads */
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    hart_image img;
    if (hart_image_read_mem(buf, size, "fuzz", &img) == HART_OK) {
        if (img.width < 1 || img.height < 1 || img.width > HART_IMAGE_MAX_SIDE || img.height > HART_IMAGE_MAX_SIDE ||
            (unsigned long)img.width * (unsigned long)img.height > HART_IMAGE_MAX_PIXELS ||
            !img.rgb || img.n_text < 0)
            abort();
        volatile unsigned sum = 0;
        size_t n = (size_t)img.width * (size_t)img.height * 3;
        for (size_t i = 0; i < n; i += 61) sum += img.rgb[i];
        sum += img.rgb[n - 1];
        for (int i = 0; i < img.n_text; i++) {
            if (!img.text[i].key || !img.text[i].value) abort();
            sum += (unsigned)strlen(img.text[i].key) + (unsigned)strlen(img.text[i].value);
            if (hart_image_get_text(&img, img.text[i].key) == NULL) abort();
        }
        (void)sum;
        if (n <= (1u << 16) * 3) { /* small images: the tensor conversion too */
            hart_tensor t;
            if (hart_image_to_tensor(&img, &t) != HART_OK) abort();
            hart_tensor_free(&t);
        }
        hart_image_free(&img);
    } else if (img.rgb || img.text || img.n_text) {
        abort();
    }
    free(buf);
    return 0;
}
