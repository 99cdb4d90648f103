/* Internal state of the byte-level BPE tokenizer (shared by bpe_load.c and
 * bpe_encode.c). */
#ifndef HART_TOKENIZER_BPE_INTERNAL_H
#define HART_TOKENIZER_BPE_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tokenizer/bpe.h"
#include "tokenizer/strmap.h"

typedef struct {
    char *text;   /* raw bytes */
    size_t len;
    int32_t id;
    int special;
} hart_bpe_added;

struct hart_bpe {
    int64_t n_ids;          /* max id + 1 */
    char **tok_bytes;       /* id -> raw bytes (byte-level decoded), NULL for gaps */
    uint32_t *tok_len;
    unsigned char *is_special; /* id -> 1 for special added tokens */
    hart_strmap vocab;      /* raw bytes -> id (BPE vocabulary only) */
    hart_strmap by_name;    /* tokenizer.json text -> id (vocab + added tokens) */
    hart_pairmap merges;    /* (left id << 32 | right id) -> (rank, merged id) */
    int32_t byte_id[256];   /* id of each single byte */
    hart_bpe_added *added;
    int n_added;
    int nfc;
    pcre2_code *re;         /* NULL: no split (whole segments go to BPE) */
};

#endif
