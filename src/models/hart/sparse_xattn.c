/* xattn:T — antidiagonal block scoring (after XAttention, Xu et al. 2025).
 * With stride S, strided row a of the queries and strided column b of the
 * keys meet in an S x S sub-block of the logits; its antidiagonal sum
 *   A[a][b] = Σ_u q[aS+u] · k[bS+S-1-u]
 * sees every query row and every key of the sub-block once, so it is a cheap
 * proxy of the sub-block's mass. Rows of scale·A/S are softmax-normalised,
 * summed per (query block, key block) over the block's strided rows. Kept:
 * the sinks, the key blocks holding the block's own positions (its
 * diagonal), then the best-scoring blocks until the kept mass reaches T times
 * the block's strided rows. T = 1 keeps every block. The scoring is op
 * block_mask (fixed-point, the same mask on every backend: docs/sparse.md);
 * this is its host entry for host arrays. */
#include "models/hart/sparse_attn.h"

hart_status hart_sparse_xattn(const hart_sparse_geom *g, double T, const float *q, const float *k, int N, int H,
                              int Hkv, int D, float scale, uint8_t *mask) {
    hart_sparse_cfg c = {.kind = HART_SPARSE_XATTN, .param = T, .block = g->block};
    return hart_sparse_host_mask(&c, g, q, k, N, H, Hkv, D, scale, mask);
}
