/* quest:B — query-aware page selection (after Quest, Tang et al. 2024).
 * A page is a key block; its element-wise minimum and maximum of K bound
 * every q·k in it from above by Σ_d max(q_d·max_d, q_d·min_d). A query
 * block ranks the pages by the largest bound over its queries and keeps the
 * B best pages that are not sinks, plus the sinks (ties: the earlier page).
 * B at least the number of non-sink pages keeps everything. The scoring is
 * op block_mask (fixed-point sums, the same mask on every backend); this is
 * its host entry for host arrays. */
#include "models/hart/sparse_attn.h"

#include "ops/ops.h"

hart_block_mask_spec hart_sparse_mask_spec(const hart_sparse_cfg *c, const hart_sparse_geom *g, float scale) {
    hart_block_mask_spec s = {.block = g->block, .nsink = hart_sparse_nsink(g), .scale = scale};
    if (c->kind == HART_SPARSE_QUEST) {
        s.kind = HART_BLOCK_MASK_QUEST;
        s.budget = c->param >= 1e9 ? 1000000000 : (int)c->param;
    } else {
        s.kind = HART_BLOCK_MASK_XATTN;
        s.threshold = c->param;
    }
    return s;
}

/* the op on host tensors wrapping the caller's arrays */
hart_status hart_sparse_host_mask(const hart_sparse_cfg *c, const hart_sparse_geom *g, const float *q, const float *k,
                                  int N, int H, int Hkv, int D, float scale, uint8_t *mask) {
    hart_block_mask_spec s = hart_sparse_mask_spec(c, g, scale);
    hart_tensor qt = hart_tensor_wrap((void *)q, HART_F32, 4, (int64_t[]){N, H, hart_sparse_nq(g), D});
    hart_tensor kt = hart_tensor_wrap((void *)k, HART_F32, 4, (int64_t[]){N, Hkv, hart_sparse_nk(g), D});
    hart_tensor mt = hart_tensor_wrap(mask, HART_U8, 4, (int64_t[]){N, H, hart_sparse_nqb(g), hart_sparse_nkb(g)});
    return hart_op_block_mask(&mt, &qt, &kt, &s);
}

hart_status hart_sparse_quest(const hart_sparse_geom *g, int B, const float *q, const float *k, int N, int H, int Hkv,
                              int D, uint8_t *mask) {
    hart_sparse_cfg c = {.kind = HART_SPARSE_QUEST, .param = B, .block = g->block};
    return hart_sparse_host_mask(&c, g, q, k, N, H, Hkv, D, 1.0f, mask);
}
