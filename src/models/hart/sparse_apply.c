/* The transformer's sparse attention call: policy -> block mask on the
 * host -> hart_op_attention_sparse on out's backend. The benchmark
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
    int N = (int)q->shape[0], H = (int)q->shape[1], D = (int)q->shape[3], Hkv = (int)k->shape[1];
    int64_t nq = hart_sparse_nq(g), nk = hart_sparse_nk(g), nqb = hart_sparse_nqb(g), nkb = hart_sparse_nkb(g);
    if (q->ndim != 4 || k->ndim != 4 || q->shape[2] != nq || k->shape[2] != nk || g->block < 1 || Hkv < 1 || H % Hkv)
        return hart_fail(HART_EINVAL, "sparse attention: q/k do not match scale %d's layout (%lld queries, %lld keys)",
                         g->si, (long long)nq, (long long)nk);
    if (cache_hit(cache, c, g, out)) {
        if (density) *density = cache->density[g->si];
        return hart_op_attention_sparse(out, q, k, v, NULL, &cache->blocks[g->si], g->block, g->block, scale);
    }
    int per_head = c->kind != HART_SPARSE_LOCAL;
    int64_t nb = per_head ? N : 1, nh = per_head ? H : 1;
    hart_status st = HART_OK;
    float *qh = NULL, *kh = NULL;
    hart_tensor blocks = {0};
    uint8_t *m = malloc((size_t)(nb * nh * nqb * nkb) + 1);
    if (!m) return hart_fail(HART_ENOMEM, "sparse attention: block mask");
    if (c->kind == HART_SPARSE_LOCAL) {
        hart_sparse_local(g, c->param, m);
    } else if (c->kind == HART_SPARSE_XATTN || c->kind == HART_SPARSE_QUEST) {
        qh = malloc(sizeof(float) * (size_t)hart_tensor_numel(q));
        kh = malloc(sizeof(float) * (size_t)hart_tensor_numel(k));
        if (!qh || !kh) HART_TRY_GOTO(st, hart_fail(HART_ENOMEM, "sparse attention: host copies of q, k"));
        HART_TRY_GOTO(st, hart_tensor_read_f32(q, qh));
        HART_TRY_GOTO(st, hart_tensor_read_f32(k, kh));
        if (c->kind == HART_SPARSE_XATTN) HART_TRY_GOTO(st, hart_sparse_xattn(g, c->param, qh, kh, N, H, Hkv, D, scale, m));
        else HART_TRY_GOTO(st, hart_sparse_quest(g, (int)c->param, qh, kh, N, H, Hkv, D, m));
    } else {
        HART_TRY_GOTO(st, hart_fail(HART_EINVAL, "sparse attention: no policy"));
    }
    double dens = hart_sparse_density(g, m, nb, nh);
    if (density) *density = dens;
    hart_tensor mh = hart_tensor_wrap(m, HART_U8, 4, (int64_t[]){nb, nh, nqb, nkb});
    HART_TRY_GOTO(st, hart_tensor_to(out->be, &mh, &blocks));
    HART_TRY_GOTO(st, hart_op_attention_sparse(out, q, k, v, NULL, &blocks, g->block, g->block, scale));
    if (cache && c->kind == HART_SPARSE_LOCAL && g->si >= 0 && g->si < HART_SPARSE_CACHE_SCALES) {
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
    free(qh);
    free(kh);
    return st;
}
