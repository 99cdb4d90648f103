/* Byte-level BPE tokenizer (Qwen2 / GPT-2 family) loaded from a Hugging Face
 * tokenizer.json.
 *
 * Supported tokenizer.json features (anything else is rejected with
 * HART_EUNSUPPORTED naming the field):
 *   model: BPE with "vocab" and "merges" (either "a b" strings or [a, b]
 *          pairs), no dropout, no continuing-subword prefix / end-of-word
 *          suffix, no byte fallback;
 *   normalizer: null or NFC (utf8proc);
 *   pre_tokenizer: Sequence[Split(Regex, Isolated), ByteLevel(use_regex
 *          false, add_prefix_space false)] or a lone ByteLevel with the same
 *          flags; the split regex runs on PCRE2 (UTF + UCP, JIT);
 *   added_tokens: matched in the raw text before anything else, leftmost
 *          then longest, whether "special" or not (lstrip/rstrip/
 *          single_word must be false; "normalized" is ignored because
 *          every Qwen added token has normalized=false).
 * Input text must be valid UTF-8: the reference takes Python str and cannot
 * be given invalid UTF-8, so invalid input is HART_EINVAL with the byte
 * offset of the first bad sequence. */
#ifndef HART_TOKENIZER_BPE_H
#define HART_TOKENIZER_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct hart_bpe hart_bpe;

hart_status hart_bpe_load(const char *path, hart_bpe **out);
/* Same from a JSON text in memory (`label` names it in error messages). */
hart_status hart_bpe_load_mem(const char *json, size_t len, const char *label, hart_bpe **out);
void hart_bpe_free(hart_bpe *t);

/* Encode UTF-8 text; *ids is malloc'd (free() it), *n its length. */
hart_status hart_bpe_encode(const hart_bpe *t, const char *text, size_t len, int64_t **ids, size_t *n);
/* Decode ids to bytes (NUL-terminated, malloc'd). Byte-level tokens are
 * turned back into their raw bytes; when skip_special, added tokens marked
 * special are left out. An id outside the vocabulary is HART_EINVAL.
 * Bytes that do not form valid UTF-8 (e.g. ids covering half of a
 * character) become U+FFFD, one per maximal invalid subsequence, as the
 * reference's lossy UTF-8 conversion does. */
hart_status hart_bpe_decode(const hart_bpe *t, const int64_t *ids, size_t n, int skip_special, char **text,
                            size_t *len);

/* Id of a token (its text as in tokenizer.json, e.g. "<|endoftext|>" or
 * "Ġthe"), or -1. */
int64_t hart_bpe_token_id(const hart_bpe *t, const char *token);
/* Number of ids (max id + 1). */
int64_t hart_bpe_vocab_size(const hart_bpe *t);

#endif
