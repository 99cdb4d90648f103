/* libFuzzer entry point: the .npz reader (hart_npz_parse: zip directory with
 * stored and deflated members, .npy headers) and the FID statistics checks on
 * top of it. Any input must be rejected with a status or give arrays whose
 * bytes all lie in the buffer or the reader's own inflated copy; every
 * accepted array's bytes are touched so ASan checks them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/npz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1); /* exact size: overreads are caught */
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    hart_npz_file *f = NULL;
    if (hart_npz_parse(buf, size, "fuzz", &f) == HART_OK) {
        static const char *names[] = {"mu", "sigma", "arr_0"};
        for (int i = 0; i < 3; i++) {
            if (!hart_npz_has(f, names[i])) continue;
            hart_npy a;
            if (hart_npz_get(f, names[i], &a) != HART_OK) {
                if (a.owned || a.data) abort(); /* a failed get leaves nothing */
                continue;
            }
            int es = a.dtype == 'd' ? 8 : a.dtype == 'f' ? 4 : 1;
            if ((size_t)hart_npy_numel(&a) * (size_t)es != a.nbytes) abort();
            volatile unsigned sum = 0;
            const uint8_t *p = a.data;
            for (size_t k = 0; k < a.nbytes; k++) sum += p[k];
            (void)sum;
            hart_npy_free(&a);
        }
        hart_npz_close(f);
    } else if (f) {
        abort();
    }
    free(buf);
    return 0;
}
