/* libFuzzer entry point: the PyTorch checkpoint reader (hart_pth_parse:
 * zip directory, restricted unpickler, tensor/storage checks). Any input
 * must be rejected with a status, or give entries whose bytes lie inside
 * the archive (or the reader's own copy); every accepted tensor's bytes are
 * touched so ASan checks them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1); /* exact size: overreads are caught */
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    hart_safetensors st;
    if (hart_pth_parse(buf, size, "fuzz", &st) == HART_OK) {
        volatile unsigned sum = 0;
        for (int i = 0; i < st.n_entries; i++) {
            const hart_st_entry *e = &st.entries[i];
            if (e->offset > st.data_size || e->nbytes > st.data_size - e->offset) abort();
            hart_tensor t;
            if (hart_st_tensor(&st, e->name, &t) != HART_OK) abort();
            if (hart_tensor_nbytes(&t) != e->nbytes) abort();
            const uint8_t *p = t.data;
            for (size_t k = 0; k < e->nbytes; k++) sum += p[k];
        }
        (void)sum;
        hart_st_close(&st);
    } else if (st.entries || st.n_entries || st.map) {
        abort(); /* a failed parse must leave nothing allocated */
    }
    free(buf);
    return 0;
}
