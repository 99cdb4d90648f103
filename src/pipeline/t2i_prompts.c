/* Prompts -> one device batch of images (see t2i_prompts.h). */
#include "pipeline/t2i_prompts.h"

#include <stdlib.h>
#include <string.h>

void hart_prompt_cache_free(hart_prompt_cache *c) {
    if (!c) return;
    free(c->prompt);
    free(c->ctx);
    free(c->mask);
    free(c->pos);
    free(c->neg);
    free(c->neg_ctx);
    free(c->neg_mask);
    free(c->neg_pos);
    memset(c, 0, sizeof *c);
}

/* Encode the distinct prompts not in the cache; gather rows into host
 * context [n,T,D], mask U8 [n,T], pos I64 [n,T]. */
static hart_status encode_rows(const hart_text_encoder *te, hart_prompt_cache *cache, const char *const *prompts,
                               int n, int T, int D, float *ctx, uint8_t *mask, int64_t *pos) {
    const char **uniq = malloc(sizeof(char *) * (size_t)n);
    int *src = malloc(sizeof(int) * (size_t)n); /* row i: -1 = cache, else index into uniq */
    hart_tensor ec = {0}, em = {0}, ep = {0};
    float *eh = NULL;
    hart_status st = HART_OK;
    int U = 0;
    if (!uniq || !src) { st = hart_fail(HART_ENOMEM, "prompt batch"); goto done; }
    for (int i = 0; i < n; i++) {
        if (cache && cache->prompt && !strcmp(cache->prompt, prompts[i])) { src[i] = -1; continue; }
        int u = 0;
        while (u < U && strcmp(uniq[u], prompts[i])) u++;
        if (u == U) uniq[U++] = prompts[i];
        src[i] = u;
    }
    size_t row = (size_t)T * D;
    if (U) {
        st = hart_text_encode(te, uniq, U, T, &ec, &em, &ep);
        if (!st && (em.dtype != HART_U8 || ep.dtype != HART_I64))
            st = hart_fail(HART_EINVAL, "text encoder: unexpected mask/position dtypes");
        if (st) goto done;
        eh = malloc(sizeof(float) * row * (size_t)U);
        if (!eh) { st = hart_fail(HART_ENOMEM, "context"); goto done; }
        if ((st = hart_tensor_read_f32(&ec, eh)) != HART_OK) goto done;
    }
    for (int i = 0; i < n; i++) {
        const float *c = src[i] < 0 ? cache->ctx : eh + row * (size_t)src[i];
        const uint8_t *m = src[i] < 0 ? cache->mask : (const uint8_t *)em.data + (size_t)T * src[i];
        const int64_t *q = src[i] < 0 ? cache->pos : (const int64_t *)ep.data + (size_t)T * src[i];
        memcpy(ctx + row * i, c, sizeof(float) * row);
        memcpy(mask + (size_t)T * i, m, (size_t)T);
        memcpy(pos + (size_t)T * i, q, sizeof(int64_t) * (size_t)T);
    }
    if (cache && src[n - 1] >= 0) { /* keep the last prompt's rows (the negative prompt's stay) */
        free(cache->prompt); free(cache->ctx); free(cache->mask); free(cache->pos);
        cache->prompt = strdup(prompts[n - 1]);
        cache->ctx = malloc(sizeof(float) * row);
        cache->mask = malloc((size_t)T);
        cache->pos = malloc(sizeof(int64_t) * (size_t)T);
        if (!cache->prompt || !cache->ctx || !cache->mask || !cache->pos) {
            hart_prompt_cache_free(cache);
            st = hart_fail(HART_ENOMEM, "prompt cache");
            goto done;
        }
        memcpy(cache->ctx, ctx + row * (size_t)(n - 1), sizeof(float) * row);
        memcpy(cache->mask, mask + (size_t)T * (n - 1), (size_t)T);
        memcpy(cache->pos, pos + (size_t)T * (n - 1), sizeof(int64_t) * (size_t)T);
    }
done:
    free(uniq);
    free(src);
    free(eh);
    hart_tensor_free(&ec);
    hart_tensor_free(&em);
    hart_tensor_free(&ep);
    return st;
}

/* The negative prompt's rows (host) in the cache, encoded unless already there. */
static hart_status encode_negative(const hart_text_encoder *te, hart_prompt_cache *c, const char *neg, int T, int D) {
    if (c->neg && !strcmp(c->neg, neg)) return HART_OK;
    free(c->neg); free(c->neg_ctx); free(c->neg_mask); free(c->neg_pos);
    c->neg = NULL; c->neg_ctx = NULL; c->neg_mask = NULL; c->neg_pos = NULL;
    hart_tensor ec = {0}, em = {0}, ep = {0};
    const char *one[1] = {neg};
    hart_status st = hart_text_encode(te, one, 1, T, &ec, &em, &ep);
    if (!st && (em.dtype != HART_U8 || ep.dtype != HART_I64))
        st = hart_fail(HART_EINVAL, "text encoder: unexpected mask/position dtypes");
    if (!st) {
        c->neg = strdup(neg);
        c->neg_ctx = malloc(sizeof(float) * (size_t)T * D);
        c->neg_mask = malloc((size_t)T);
        c->neg_pos = malloc(sizeof(int64_t) * (size_t)T);
        if (!c->neg || !c->neg_ctx || !c->neg_mask || !c->neg_pos) st = hart_fail(HART_ENOMEM, "negative prompt");
    }
    if (!st) st = hart_tensor_read_f32(&ec, c->neg_ctx);
    if (!st) {
        memcpy(c->neg_mask, em.data, (size_t)T);
        memcpy(c->neg_pos, ep.data, sizeof(int64_t) * (size_t)T);
    } else {
        free(c->neg);
        c->neg = NULL; /* not a valid cache entry */
    }
    hart_tensor_free(&ec);
    hart_tensor_free(&em);
    hart_tensor_free(&ep);
    return st;
}

/* uncond rows [n,T,D] / [n,T] from the cached negative prompt */
static hart_status negative_rows(const hart_prompt_cache *c, int n, int T, int D, hart_tensor *ctx, hart_tensor *mask,
                                 hart_tensor *pos) {
    HART_TRY(hart_tensor_new4(NULL, HART_F32, ctx, 3, n, T, D, 0));
    HART_TRY(hart_tensor_new4(NULL, HART_U8, mask, 2, n, T, 0, 0));
    HART_TRY(hart_tensor_new4(NULL, HART_I64, pos, 2, n, T, 0, 0));
    size_t row = (size_t)T * D;
    for (int i = 0; i < n; i++) {
        memcpy((float *)ctx->data + row * i, c->neg_ctx, sizeof(float) * row);
        memcpy((uint8_t *)mask->data + (size_t)T * i, c->neg_mask, (size_t)T);
        memcpy((int64_t *)pos->data + (size_t)T * i, c->neg_pos, sizeof(int64_t) * (size_t)T);
    }
    return HART_OK;
}

hart_status hart_t2i_render_prompts(hart_t2i *p, const hart_text_encoder *te, hart_prompt_cache *cache,
                                    const char *const *prompts, const uint64_t *seeds, int n,
                                    const hart_t2i_opts *opts, hart_tensor *image) {
    memset(image, 0, sizeof *image);
    if (n < 1) return hart_fail(HART_EINVAL, "render: no prompts");
    int T, D;
    hart_t2i_context_shape(p, &T, &D);
    if (te->model.hidden != D)
        return hart_fail(HART_EMISMATCH, "text encoder width %lld does not match the transformer's context_dim %d",
                         (long long)te->model.hidden, D);
    hart_t2i_opts o = *opts;
    o.seeds = seeds;
    hart_tensor ctx = {0}, mask = {0}, pos = {0}, uctx = {0}, umask = {0}, upos = {0};
    hart_prompt_cache local = {0};
    if (!cache) cache = &local;
    hart_status st = hart_tensor_new4(NULL, HART_F32, &ctx, 3, n, T, D, 0);
    if (!st) st = hart_tensor_new4(NULL, HART_U8, &mask, 2, n, T, 0, 0);
    if (!st) st = hart_tensor_new4(NULL, HART_I64, &pos, 2, n, T, 0, 0);
    double t0 = hart_clock();
    if (!st) st = encode_rows(te, cache, prompts, n, T, D, ctx.data, mask.data, pos.data);
    if (!st && o.negative_prompt && *o.negative_prompt) {
        st = encode_negative(te, cache, o.negative_prompt, T, D);
        if (!st) st = negative_rows(cache, n, T, D, &uctx, &umask, &upos);
        o.uncond_context = &uctx;
        o.uncond_mask = &umask;
        o.uncond_pos = &upos;
    }
    if (!st && o.timings) {
        st = hart_backend_wait(te->model.be);
        o.timings->text_s = hart_clock() - t0;
    }
    if (!st) st = hart_t2i_generate(p, &ctx, &mask, &pos, &o, image);
    hart_tensor_free(&ctx);
    hart_tensor_free(&mask);
    hart_tensor_free(&pos);
    hart_tensor_free(&uctx);
    hart_tensor_free(&umask);
    hart_tensor_free(&upos);
    hart_prompt_cache_free(&local);
    return st;
}
