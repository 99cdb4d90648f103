/* libFuzzer entry point: tokenizer.json loading (hart_bpe_load_mem).
 * Any input must load or fail with a status and leave nothing allocated;
 * a loaded tokenizer must encode and decode a fixed text without crashing,
 * and every byte must decode back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/bpe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size ? size : 1); /* exact size: ASan sees over-reads */
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    hart_bpe *t = (hart_bpe *)1;
    if (hart_bpe_load_mem(buf, size, "fuzz", &t) != HART_OK) {
        if (t) abort(); /* a failed load must return NULL */
        free(buf);
        return 0;
    }
    static const char text[] = "Hello, the cat\xc3\xa9 e\xcc\x81 <|endoftext|> 123\n\n  x";
    int64_t *ids;
    size_t n;
    if (hart_bpe_encode(t, text, sizeof text - 1, &ids, &n) == HART_OK) {
        char *out;
        size_t len;
        if (hart_bpe_decode(t, ids, n, 0, &out, &len) == HART_OK) free(out);
        free(ids);
    }
    for (int b = 0; b < 256; b++) { /* the loader guarantees a token per byte */
        unsigned char c = (unsigned char)b;
        int64_t *one;
        size_t k;
        if (hart_bpe_encode(t, (const char *)&c, 1, &one, &k) != HART_OK) continue; /* invalid UTF-8 alone */
        if (k != 1 || one[0] < 0 || one[0] >= hart_bpe_vocab_size(t)) abort();
        free(one);
    }
    (void)hart_bpe_token_id(t, "<|endoftext|>");
    hart_bpe_free(t);
    free(buf);
    return 0;
}
