/* Open-addressing hash maps used by the tokenizer: byte string -> int32 and
 * uint64 -> (int32, int32). */
#ifndef HART_TOKENIZER_STRMAP_H
#define HART_TOKENIZER_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char **keys;       /* owned copies, NULL = empty slot */
    uint32_t *lens;
    int32_t *vals;
    size_t cap, count; /* cap is a power of two */
} hart_strmap;

int hart_strmap_init(hart_strmap *m, size_t expected);
void hart_strmap_free(hart_strmap *m);
/* Insert or overwrite; 0 on success, -1 on out of memory. */
int hart_strmap_put(hart_strmap *m, const char *key, size_t len, int32_t val);
/* Value or -1. */
int32_t hart_strmap_get(const hart_strmap *m, const char *key, size_t len);

typedef struct {
    uint64_t *keys;    /* UINT64_MAX = empty */
    int32_t *a, *b;
    size_t cap, count;
} hart_pairmap;

int hart_pairmap_init(hart_pairmap *m, size_t expected);
void hart_pairmap_free(hart_pairmap *m);
int hart_pairmap_put(hart_pairmap *m, uint64_t key, int32_t a, int32_t b);
/* 1 and *a, *b when found, else 0. */
int hart_pairmap_get(const hart_pairmap *m, uint64_t key, int32_t *a, int32_t *b);

#endif
