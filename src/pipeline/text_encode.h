/* HART's prompt encoding (reference: hart/utils/tools.py encode_prompts with
 * use_llm_system_prompt=True, the default of sample.py and app.py).
 *
 * Per prompt: tokenize (no special tokens added), truncate on the right to
 * max_len (HART: 300 = the transformer's context_token), pad on the right
 * with the pad token (<|endoftext|>) up to max_len. mask = (id != pad id),
 * so a literal "<|endoftext|>" in a prompt is masked too; position ids =
 * cumsum(mask) - 1. The system prompt (HART's llm_system_prompt, tokenized
 * alone, truncated to max_len, no padding) is prepended with a full mask; the
 * text model runs on [system ; prompt] and the context is the final normed
 * hidden state of the prompt positions only: [B, max_len, D].
 *
 * The null context used for classifier-free guidance (zeros, mask 1 only at
 * position 0, position ids 0) is built by hart_text_null_context. */
#ifndef HART_PIPELINE_TEXT_ENCODE_H
#define HART_PIPELINE_TEXT_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "models/qwen2/qwen2.h"
#include "tokenizer/bpe.h"

struct hart_backend;

#define HART_TEXT_MAX_LEN 300

/* HART's system prompt, byte for byte. */
extern const char hart_text_system_prompt[];

typedef struct {
    hart_bpe *tok;
    hart_qwen2 model;
    int64_t pad_id;
    int pad_left;           /* tokenizer_config.json padding_side "left" (default right) */
    int trunc_left;         /* tokenizer_config.json truncation_side "left" (default right) */
    int use_system_prompt;  /* 1 (HART default) */
} hart_text_encoder;

/* Load `<dir>/tokenizer.json` and the Qwen2 model in `dir`. The pad token is
 * tokenizer_config.json's "pad_token" if present, else "<|endoftext|>";
 * its "padding_side" / "truncation_side" are honoured (default right). */
hart_status hart_text_encoder_load(const char *dir, struct hart_backend *be, hart_text_encoder *te);
void hart_text_encoder_free(hart_text_encoder *te);

/* Tokenize B prompts as HART does. ids/pos: B*max_len int64, mask:
 * B*max_len bytes (caller-allocated). */
hart_status hart_text_tokenize(const hart_bpe *tok, const char *const *prompts, int B, int max_len, int64_t pad_id,
                               int64_t *ids, uint8_t *mask, int64_t *pos);
/* Same with the padding / truncation side chosen (0 = right, 1 = left). */
hart_status hart_text_tokenize_sides(const hart_bpe *tok, const char *const *prompts, int B, int max_len,
                                     int64_t pad_id, int pad_left, int trunc_left, int64_t *ids, uint8_t *mask,
                                     int64_t *pos);
/* Position ids from a mask: cumsum(mask) - 1 per row. */
void hart_text_position_ids(const uint8_t *mask, int B, int T, int64_t *pos);

/* Run the text model on [sys_ids ; ids] (sys part fully unmasked) and keep
 * the last T positions: context F32 [B, T, D] preallocated on the model's
 * backend. n_sys may be 0. */
hart_status hart_text_encode_ids(const hart_qwen2 *m, const int64_t *sys_ids, size_t n_sys, const int64_t *ids,
                                 const uint8_t *mask, int B, int T, hart_tensor *context);

/* Whole path: prompts -> context F32 [B, max_len, D] on the model's backend,
 * mask U8 [B, max_len] and position ids I64 [B, max_len] on the host. All
 * three are allocated here (free with hart_tensor_free). */
hart_status hart_text_encode(const hart_text_encoder *te, const char *const *prompts, int B, int max_len,
                             hart_tensor *context, hart_tensor *mask, hart_tensor *pos);

/* One shot for callers such as `hart generate -p`: load the text model in
 * `dir` on `be`, check that its width is D (the transformer's context_dim;
 * D <= 0 skips the check), encode B prompts to max_len tokens as above, free
 * the model. */
hart_status hart_text_encode_from_dir(const char *dir, struct hart_backend *be, const char *const *prompts, int B,
                                      int max_len, int D, hart_tensor *context, hart_tensor *mask, hart_tensor *pos);

/* The guidance null context: context zeros F32 [B,T,D] on `be`, mask U8
 * [B,T] with only position 0 set, position ids I64 [B,T] all zero (host). */
hart_status hart_text_null_context(struct hart_backend *be, int B, int T, int D, hart_tensor *context,
                                   hart_tensor *mask, hart_tensor *pos);

#endif
