/* Block-sparse attention for HART's next-scale transformer: the policies
 * that choose which (query block x key block) tiles of a scale's attention
 * to compute, and the call the transformer makes (mask + op
 * attention_sparse). See docs/sparse.md.
 *
 * Token layout of scale si's attention (the KV cache at that step):
 *   keys    = [text prefix: T tokens][scale 1: pn1²] ... [scale si: pn_si²]
 *   queries = scale si's pn_si² tokens, row-major over its grid; query i is
 *             key position Lk - pn_si² + i.
 * Sinks (kept by every policy): the text prefix and scales 1 ..
 * HART_SPARSE_SINK_SCALES - 1. A key block is a sink when any of its keys is.
 *
 * Policies (one file each):
 *   local:R  (sparse_local.c)  geometry: keep key tokens within radius R
 *            (current grid units, L-inf, point-to-cell) of some query of
 *            the block, every scale mapped onto the current grid; same
 *            mask for every layer, head and image.
 *   xattn:T  (sparse_xattn.c)  antidiagonal scoring: strided antidiagonal
 *            sums of the logits, softmax per strided row, summed per block;
 *            keep sinks + the block's own diagonal + the best blocks until
 *            their normalised mass reaches T. Per image and head.
 *   quest:B  (sparse_quest.c)  per key page (= key block) element-wise min
 *            and max of K; bound(page) = max over the block's queries of
 *            Σ_d max(q_d·max_d, q_d·min_d); keep the top B non-sink pages +
 *            sinks. Per image and head. */
#ifndef HART_MODELS_HART_SPARSE_ATTN_H
#define HART_MODELS_HART_SPARSE_ATTN_H

#include <stdint.h>

#include "backend/op_list.h"
#include "core/tensor.h"

/* text prefix + scales 1..3 (2x2, 3x3, 4x4 in HART) are sinks */
#define HART_SPARSE_SINK_SCALES 4
#define HART_SPARSE_DEFAULT_BLOCK 64
/* XAttention's stride: 8 for 64-token blocks (smaller blocks: the largest
 * power of two <= 8 dividing the block size; bm_xattn_stride in
 * backend/block_mask_fix.h). */

typedef enum { HART_SPARSE_NONE = 0, HART_SPARSE_LOCAL, HART_SPARSE_XATTN, HART_SPARSE_QUEST } hart_sparse_kind;

typedef struct {
    hart_sparse_kind kind;
    double param;   /* local: R >= 0; xattn: T in (0, 1]; quest: B >= 1 pages */
    int from_scale; /* scales si >= from_scale are sparse; -1: the last three */
    int block;      /* query and key block size (tokens) */
} hart_sparse_cfg;

/* Defaults: none, last three scales, 64-token blocks. */
void hart_sparse_default(hart_sparse_cfg *c);
/* "none" | "local:R" | "xattn:T" | "quest:B" into c->kind/param (other
 * fields untouched); HART_EINVAL with a message saying what is wrong. */
hart_status hart_sparse_parse(const char *spec, hart_sparse_cfg *c);
/* c->kind/param back as text, e.g. "local:2" ("none"). */
void hart_sparse_format(const hart_sparse_cfg *c, char *buf, size_t n);
/* Whether scale si of an n_scales model runs sparse under c. */
int hart_sparse_active(const hart_sparse_cfg *c, int si, int n_scales);

/* One scale's attention layout. */
typedef struct {
    int ctx_tokens;
    int n_scales;
    const int *patch_nums; /* patch_nums[0] is the text step (its tokens are the prefix) */
    int si;                /* the query scale, >= 1 */
    int block;
} hart_sparse_geom;

int64_t hart_sparse_nq(const hart_sparse_geom *g);     /* queries: pn_si² */
int64_t hart_sparse_nk(const hart_sparse_geom *g);     /* keys: T + Σ_{k=1..si} pn_k² */
int64_t hart_sparse_nsink(const hart_sparse_geom *g);  /* sink keys (a prefix of the keys) */
int64_t hart_sparse_nqb(const hart_sparse_geom *g);
int64_t hart_sparse_nkb(const hart_sparse_geom *g);
/* Key position where scale s (1..si) starts. */
int64_t hart_sparse_scale_start(const hart_sparse_geom *g, int s);

/* Fraction of the score matrix the kept tiles cover (tiles weighted by their
 * real size), averaged over the mask's [nb, nh] leading dims. */
double hart_sparse_density(const hart_sparse_geom *g, const uint8_t *mask, int64_t nb, int64_t nh);

/* The policies. mask: [nqb, nkb] (local) or [N, H, nqb, nkb] (xattn, quest),
 * 1 = kept. q host floats [N, H, nq, D], k [N, Hkv, nk, D] (H % Hkv == 0),
 * scale: the attention's logit scale. */
void hart_sparse_local(const hart_sparse_geom *g, double R, uint8_t *mask);
hart_status hart_sparse_xattn(const hart_sparse_geom *g, double T, const float *q, const float *k, int N, int H,
                              int Hkv, int D, float scale, uint8_t *mask);
hart_status hart_sparse_quest(const hart_sparse_geom *g, int B, const float *q, const float *k, int N, int H, int Hkv,
                              int D, uint8_t *mask);
/* The op block_mask spec of a quest/xattn policy on scale g (sparse_quest.c),
 * and the op run on host arrays (hart_sparse_xattn and _quest call it). */
hart_block_mask_spec hart_sparse_mask_spec(const hart_sparse_cfg *c, const hart_sparse_geom *g, float scale);
hart_status hart_sparse_host_mask(const hart_sparse_cfg *c, const hart_sparse_geom *g, const float *q, const float *k,
                                  int N, int H, int Hkv, int D, float scale, uint8_t *mask);

/* Masks of the geometry-only policy (local:R), kept on the backend per query
 * scale: every layer, head and image of a scale uses the same mask, so the
 * generation loop builds and uploads it once per scale instead of once per
 * layer (on the H200 the host builder and upload took 4.6 ms per call at the
 * last 1024 px scale, more than the sparse attention itself). Zero-initialise;
 * an entry made for another R, block size, geometry or backend is rebuilt;
 * hart_sparse_cache_free releases every entry. */
#define HART_SPARSE_CACHE_SCALES 32
typedef struct {
    hart_tensor blocks[HART_SPARSE_CACHE_SCALES]; /* [1, 1, nqb, nkb] U8 on the backend */
    double density[HART_SPARSE_CACHE_SCALES];
    double param[HART_SPARSE_CACHE_SCALES];
    int64_t nq[HART_SPARSE_CACHE_SCALES], nk[HART_SPARSE_CACHE_SCALES];
    int block[HART_SPARSE_CACHE_SCALES];
} hart_sparse_cache;
void hart_sparse_cache_free(hart_sparse_cache *cache);

/* out = attention(q, k, v) over scale g->si under policy c: the block mask
 * (local: built on the host and uploaded; xattn/quest: op block_mask on out's
 * backend, from q and k where they are), then hart_op_attention_sparse.
 * q [N,H,nq,D], k/v [N,Hkv,nk,D] on any backend. cache (may be NULL): local
 * masks reused across calls. density (may be NULL): the kept fraction
 * (hart_sparse_density); for xattn/quest on a device asking for it copies the
 * mask to the host. */
hart_status hart_sparse_attention(const hart_sparse_cfg *c, const hart_sparse_geom *g, hart_tensor *out,
                                  const hart_tensor *q, const hart_tensor *k, const hart_tensor *v, float scale,
                                  hart_sparse_cache *cache, double *density);

#endif
