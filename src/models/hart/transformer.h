/* HART text-to-image autoregressive transformer (release folder `<model>/llm/`,
 * model_type hart_transformer_t2i): context embedding, AdaLN self-attention
 * blocks with a KV cache over the context prefix and every scale so far,
 * AdaLN head -> logits. Every config.json field is read; values the port
 * does not implement are rejected with an error naming the key.
 *
 * Usage per batch (N = 2B rows: conditional batch then the null context):
 *   hart_tf_begin(tf, ctx, mask, pos)          context [N,T,ctx_dim]
 *   hart_tf_first_input(tf, x)                 x [N,T,C]
 *   hart_tf_forward(tf, 0, x, hidden, logits)  hidden [N,l,C], logits [N,l,V]
 *   hart_tf_embed_next(tf, si, next_in, x)     next_in [B,z,pn,pn] -> x [N,pn²,C]
 *   ... hart_tf_forward(tf, si, ...) for si = 1..S-1
 *   hart_tf_diff_cond(tf, hidden, codes, cond) decoder_norm(h + word_embed(codes)) */
#ifndef HART_MODELS_HART_TRANSFORMER_H
#define HART_MODELS_HART_TRANSFORMER_H

#include "backend/backend.h"
#include "core/checkpoint.h"
#include "models/hart/autoencoder.h"
#include "models/hart/sparse_attn.h"

typedef struct {
    int depth, C, H, hd;          /* blocks, embed_dim, heads, head dim */
    int ctx_tokens, ctx_dim;      /* context_token, context_dim */
    int n_scales;
    int patch_nums[HART_MAX_SCALES];
    int V, Cvae;                  /* vocab and codebook vector size (from the tokenizer) */
    int mlp_hidden;               /* FFN hidden width derived from mlp_ratio and mlp_type */
    int mlp_llama;                /* 1: gate/up/down SiLU MLP, 0: fc1/gelu-tanh/fc2 */
    int attn_llama;               /* 1: llama (RMSNorm, RoPE), 0: gpt2 (LayerNorm, absolute positions) */
    int attn_l2_norm;
    int use_context_norm;
    int pool_avg;                 /* sep_aln_pooling_mode: 0 max, 1 avg */
    int disable_aln, shared_aln;
    int use_timestep_embed;       /* level embedding by a timestep MLP */
    float norm_eps;
    int diff_width, diff_depth;
    char sampling_steps[64];      /* num_sampling_steps as a string ("8", "ddim25", "10,5") */
} hart_tf_config;

typedef struct hart_transformer hart_transformer;

/* Load from `llm_dir` (config.json + safetensors). V and Cvae come from the
 * tokenizer (its vocab_size and z_channels). */
hart_status hart_tf_load(hart_backend *be, const char *llm_dir, int V, int Cvae,
                         hart_transformer **out);
void hart_tf_free(hart_transformer *tf);
const hart_tf_config *hart_tf_get_config(const hart_transformer *tf);
/* The open checkpoint (the diffusion head loads its `diffloss.*` tensors from it). */
const hart_checkpoint *hart_tf_checkpoint(const hart_transformer *tf);
/* Unmap the weight files once every module that reads them has loaded: the
 * loaded tensors are copies, and the mapped pages would otherwise stay
 * resident beside them (twice the weights' memory). hart_tf_checkpoint()
 * must not be used afterwards. */
void hart_tf_release_checkpoint(hart_transformer *tf);

/* Start a batch. context F32 [N,T,ctx_dim] (N even: conditional rows then
 * null rows), mask U8/I64/F32 [N,T] (1 = real token), pos I64 [N,T]. Resets
 * the KV cache and precomputes conditioning. */
hart_status hart_tf_begin(hart_transformer *tf, const hart_tensor *context,
                          const hart_tensor *mask, const hart_tensor *pos);
/* Same with the unconditional half given (ucontext F32 [B,T,ctx_dim], umask
 * and upos [B,T]) instead of the null context (zeros, mask 1 at position 0,
 * position ids 0); all three NULL = hart_tf_begin. */
hart_status hart_tf_begin_uncond(hart_transformer *tf, const hart_tensor *context, const hart_tensor *mask,
                                 const hart_tensor *pos, const hart_tensor *ucontext, const hart_tensor *umask,
                                 const hart_tensor *upos);
/* x [N,T,C]: the first step's input (context embedding + level embedding). */
hart_status hart_tf_first_input(hart_transformer *tf, hart_tensor *x);
/* next_in [N/2,Cvae,pn,pn] (scale si's input map) -> x [N,pn²,C] (word
 * embedding + level embedding, repeated for both halves). si >= 1. */
hart_status hart_tf_embed_next(hart_transformer *tf, int si, const hart_tensor *next_in,
                               hart_tensor *x);
/* Run the blocks on scale si's tokens (appending to the KV cache); hidden
 * [N,l,C] = last block output, logits [N,l,V] or [N,1,V] (the last position
 * only, what scale 0 needs); either may be NULL. */
hart_status hart_tf_forward(hart_transformer *tf, int si, const hart_tensor *x,
                            hart_tensor *hidden, hart_tensor *logits);
/* Sparse attention for the following forwards (models/hart/sparse_attn.h);
 * NULL or kind NONE: dense. hart_tf_begin resets the densities. */
void hart_tf_set_sparse(hart_transformer *tf, const hart_sparse_cfg *c);
/* Mean kept fraction over the layers of scale si's last forward; -1 when
 * that scale ran dense. */
double hart_tf_sparse_density(const hart_transformer *tf, int si);
/* Whether the forwards measure that density (default on). Off, xattn/quest
 * masks made on a device never come to the host (density then reads -1). */
void hart_tf_sparse_measure(hart_transformer *tf, int on);
/* cond [N,l,C] = decoder_norm(hidden + word_embed(codes)), codes [N/2,l,Cvae]
 * used for both halves. */
hart_status hart_tf_diff_cond(hart_transformer *tf, const hart_tensor *hidden,
                              const hart_tensor *codes, hart_tensor *cond);

#endif
