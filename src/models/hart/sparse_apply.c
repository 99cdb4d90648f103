/* The transformer's sparse attention call: policy -> block mask ->
 * hart_op_attention_sparse on out's backend. local's mask is built on the
 * host and kept per scale; quest's and xattn's are made by op block_mask
 * where q and k live (on OpenCL: on the device). The benchmark
 * (tests/bench/bench_sparse_attn.c) times this same function. */
#include "models/hart/sparse_attn.h"

#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

void hart_sparse_cache_free(hart_sparse_cache *cache) {
    if (!cache) return;
    for (int i = 0; i < HART_SPARSE_CACHE_SCALES; i++) hart_tensor_free(&cache->blocks[i]);
    memset(cache, 0, sizeof *cache);
}

/* the cached local mask of scale g->si, if it was made for this call's policy, geometry and backend */
static int cache_hit(const hart_sparse_cache *cache, const hart_sparse_cfg *c, const hart_sparse_geom *g,
                     const hart_tensor *out) {
    int si = g->si;
    return cache && c->kind == HART_SPARSE_LOCAL && si >= 0 && si < HART_SPARSE_CACHE_SCALES &&
           cache->blocks[si].ndim && cache->blocks[si].be == out->be && cache->param[si] == c->param &&
           cache->block[si] == g->block && cache->nq[si] == hart_sparse_nq(g) && cache->nk[si] == hart_sparse_nk(g);
}

hart_status hart_sparse_attention(const hart_sparse_cfg *c, const hart_sparse_geom *g, hart_tensor *out,
                                  const hart_tensor *q, const hart_tensor *k, const hart_tensor *v, float scale,
                                  hart_sparse_cache *cache, double *density) {
    int N = (int)q->shape[0], H = (int)q->shape[1], Hkv = (int)k->shape[1];
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g), nqb = hart_sparse_nqb(g), nkb = hart_sparse_nkb(g);
    if (q->ndim != 4 || k->ndim != 4 || q->shape[2] != nq || k->shape[2] != nk || g->block < 1 || Hkv < 1 || H % Hkv)
        return hart_fail(HART_EINVAL, "sparse attention: q/k do not match scale %d's layout (%lld queries, %lld keys)",
                         g->si, (long long)nq, (long long)nk);
    if (cache_hit(cache, c, g, out)) {
        if (density) *density = cache->density[g->si];
        return hart_op_attention_sparse(out, q, k, v, NULL, &cache->blocks[g->si], g->block, g->block, scale);
    }
    hart_status st = HART_OK;
    hart_tensor blocks = {0};
    uint8_t *m = NULL;
    if (c->kind == HART_SPARSE_XATTN || c->kind == HART_SPARSE_QUEST) {
        /* made where q and k are (op block_mask): no host copy unless the density is asked for */
        hart_block_mask_spec spec = hart_sparse_mask_spec(c, g, scale);
        HART_TRY(hart_tensor_new_uninit(out->be, HART_U8, 4, (int64_t[]){N, H, nqb, nkb}, &blocks));
        HART_TRY_GOTO(st, hart_op_block_mask(&blocks, q, k, &spec));
        if (density) {
            m = malloc((size_t)hart_tensor_nbytes(&blocks) + 1);
            if (!m) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "sparse attention: block mask"));
            HART_TRY_GOTO(st, hart_tensor_read(&blocks, m, hart_tensor_nbytes(&blocks)));
            *density = hart_sparse_density(g, m, N, H);
        }
        HART_TRY_GOTO(st, hart_op_attention_sparse(out, q, k, v, NULL, &blocks, g->block, g->block, scale));
        goto done;
    }
    if (c->kind != HART_SPARSE_LOCAL) return hart_fail(HART_EINVAL, "sparse attention: no policy");
    m = malloc((size_t)(nqb * nkb) + 1);
    if (!m) return hart_fail(HART_ENOMEM, "sparse attention: block mask");
    hart_sparse_local(g, c->param, m);
    double dens = hart_sparse_density(g, m, 1, 1);
    if (density) *density = dens;
    hart_tensor mh = hart_tensor_wrap(m, HART_U8, 4, (int64_t[]){1, 1, nqb, nkb});
    HART_TRY_GOTO(st, hart_tensor_to(out->be, &mh, &blocks));
    HART_TRY_GOTO(st, hart_op_attention_sparse(out, q, k, v, NULL, &blocks, g->block, g->block, scale));
    if (cache && g->si >= 0 && g->si < HART_SPARSE_CACHE_SCALES) {
        int si = g->si; /* keep the uploaded mask for the scale's other layers */
        hart_tensor_free(&cache->blocks[si]);
        cache->blocks[si] = blocks;
        blocks = (hart_tensor){0};
        cache->density[si] = dens;
        cache->param[si] = c->param;
        cache->block[si] = g->block;
        cache->nq[si] = nq;
        cache->nk[si] = nk;
    }
done:
    hart_tensor_free(&blocks);
    free(m);
    return st;
}
