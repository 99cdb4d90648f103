/* libFuzzer entry point: the safetensors header parser (hart_st_parse).
 * Any input must either be rejected with a status, or parse into entries
 * whose byte ranges lie inside the buffer, are findable by name and do not
 * overlap; every accepted tensor's bytes are touched so ASan checks them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* heap copy ending exactly at the end of the allocation (reads past the
     * end are caught by ASan), placed as hart_st_open places a file: with the
     * data section 8-byte aligned */
    size_t pad = hart_st_align_pad(data, size);
    uint8_t *mem = malloc(size + pad ? size + pad : 1);
    if (!mem) return 0;
    uint8_t *buf = mem + pad;
    if (size) memcpy(buf, data, size);
    hart_safetensors st;
    if (hart_st_parse(buf, size, "fuzz", &st) == HART_OK) {
        volatile unsigned sum = 0;
        for (int i = 0; i < st.n_entries; i++) {
            const hart_st_entry *e = &st.entries[i];
            if (e->offset > st.data_size || e->nbytes > st.data_size - e->offset) abort();
            if (st.data < buf || st.data + st.data_size != buf + size) abort();
            if (hart_st_find(&st, e->name) != e) abort(); /* names are unique */
            hart_tensor t;
            if (hart_st_tensor(&st, e->name, &t) != HART_OK) abort();
            if (hart_tensor_nbytes(&t) != e->nbytes) abort();
            const uint8_t *p = t.data;
            for (size_t k = 0; k < e->nbytes; k++) sum += p[k];
        }
        for (int i = 0; i < st.n_entries; i++) /* pairwise no overlap (small inputs only) */
            for (int j = i + 1; j < st.n_entries && st.n_entries < 256; j++) {
                const hart_st_entry *a = &st.entries[i], *b = &st.entries[j];
                if (a->nbytes && b->nbytes && a->offset < b->offset + b->nbytes && b->offset < a->offset + a->nbytes)
                    abort();
            }
        (void)sum;
        hart_st_close(&st);
    } else if (st.entries || st.n_entries || st.metadata_json) {
        abort(); /* a failed parse must leave nothing allocated */
    }
    free(mem);
    return 0;
}
