/* Qwen2 decoder-only transformer used as a frozen text encoder (no LM head).
 *
 * Loads a Hugging Face snapshot folder: config.json (flat Qwen2 config, or a
 * Qwen2-VL config whose text part may sit under "text_config") and
 * model.safetensors or sharded weights with model.safetensors.index.json.
 * Tensor names are found under the first prefix that holds
 * "<prefix>embed_tokens.weight": "model.", "" (bare Qwen2Model),
 * "model.language_model." (Qwen2-VL, new layout) or "language_model.model.".
 * Vision tower / lm_head tensors are ignored.
 *
 * forward: embeddings -> N x (RMSNorm, q/k/v with bias, RoPE, GQA attention
 * with causal + key-padding mask, o_proj, residual, RMSNorm, SwiGLU MLP,
 * residual) -> final RMSNorm. Position ids are 0..L-1 (what the reference
 * uses when it is given no position ids). */
#ifndef HART_MODELS_QWEN2_H
#define HART_MODELS_QWEN2_H

#include <stdint.h>

#include "core/tensor.h"

struct hart_backend;

typedef struct {
    hart_tensor in_norm, post_norm;                 /* [D] f32 */
    hart_tensor q_w, k_w, v_w, o_w;                 /* hart_weight_dtype (stored, or f16 in f16 mode) */
    hart_tensor q_b, k_b, v_b;                      /* f32 */
    hart_tensor gate_w, up_w, down_w;
} hart_qwen2_layer;

typedef struct hart_qwen2 {
    int64_t vocab, hidden, n_layers, n_heads, n_kv_heads, head_dim, inter;
    double rope_theta, eps;
    struct hart_backend *be;
    hart_tensor embed;      /* [vocab, D] on be (stored dtype) */
    hart_tensor norm;       /* [D] f32 */
    hart_qwen2_layer *layers;
} hart_qwen2;

/* Load from a snapshot folder onto backend `be` (NULL = CPU). */
hart_status hart_qwen2_load(const char *dir, struct hart_backend *be, hart_qwen2 *m);
void hart_qwen2_free(hart_qwen2 *m);

/* Run the encoder.
 * ids [B*L] (row-major [B, L]); every id must be < vocab.
 * mask [B*L] 1 = real token, 0 = padding (NULL = all real).
 * out: preallocated F32 [B, L, D] on m->be: the last hidden state after the
 *      final norm.
 * hidden: NULL, or an array of n_layers + 1 preallocated F32 [B, L, D]
 *      tensors receiving the hidden states as the reference's
 *      output_hidden_states lists them (0 = embeddings, i = after layer i,
 *      the last one after the final norm). */
hart_status hart_qwen2_forward(const hart_qwen2 *m, const int64_t *ids, const uint8_t *mask,
                               int64_t B, int64_t L, hart_tensor *out, hart_tensor *hidden);

#endif
