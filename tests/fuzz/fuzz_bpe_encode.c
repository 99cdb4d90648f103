/* libFuzzer entry point: BPE encoding of arbitrary bytes (hart_bpe_encode)
 * with a small Qwen2-style tokenizer (NFC, Qwen split regex, added tokens)
 * loaded once. Invalid UTF-8 must be rejected with a status; valid input
 * must round-trip: decode(encode(x)) == NFC(x). An input starting with
 * 0x01 is repeated to 16 KiB to exercise huge runs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/status.h"
#include "tokenizer/bpe.h"

#ifndef FUZZ_TOKENIZER
#define FUZZ_TOKENIZER "tests/fuzz/corpus/fuzz_bpe_load/tiny.json"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hart_bpe *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    const char *path = getenv("FUZZ_TOKENIZER") ? getenv("FUZZ_TOKENIZER") : FUZZ_TOKENIZER;
    if (hart_bpe_load(path, &tok) != HART_OK) {
        fprintf(stderr, "fuzz_bpe_encode: %s (run from the repository root)\n", hart_errmsg());
        exit(1);
    }
    return 0;
}

/* NFC as the tokenizer applies it: per segment between added tokens; the
 * added tokens here end in '>', which composes with nothing, so whole-text
 * NFC is the same. */
static char *nfc(const char *s, size_t n, size_t *len) {
    utf8proc_uint8_t *out = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &out,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (r < 0) return NULL;
    *len = (size_t)r;
    return (char *)out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t n = size;
    if (size > 1 && data[0] == 1) n = 16384;
    char *text = malloc(n ? n : 1);
    if (!text) return 0;
    if (n == size) memcpy(text, data, size);
    else for (size_t i = 0; i < n; i++) text[i] = (char)data[1 + i % (size - 1)];
    int64_t *ids = (int64_t *)1;
    size_t k = 1;
    size_t nl;
    char *want = nfc(text, n, &nl);
    if (hart_bpe_encode(tok, text, n, &ids, &k) != HART_OK) {
        if (ids || k) abort();
        /* utf8proc accepts the same UTF-8 as the tokenizer's validator */
        if (want) abort();
    } else {
        char *out;
        size_t len;
        if (hart_bpe_decode(tok, ids, k, 0, &out, &len) != HART_OK) abort();
        if (!want || len != nl || memcmp(out, want, nl)) abort();
        free(out);
        free(ids);
    }
    free(want);
    free(text);
    return 0;
}
