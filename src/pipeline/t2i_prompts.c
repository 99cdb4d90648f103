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
    if (cache && src[n - 1] >= 0) { /* keep the last prompt's rows */
        hart_prompt_cache_free(cache);
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
    hart_tensor ctx = {0}, mask = {0}, pos = {0};
    hart_status st = hart_tensor_new4(NULL, HART_F32, &ctx, 3, n, T, D, 0);
    if (!st) st = hart_tensor_new4(NULL, HART_U8, &mask, 2, n, T, 0, 0);
    if (!st) st = hart_tensor_new4(NULL, HART_I64, &pos, 2, n, T, 0, 0);
    double t0 = hart_clock();
    if (!st) st = encode_rows(te, cache, prompts, n, T, D, ctx.data, mask.data, pos.data);
    if (!st && o.timings) {
        st = hart_backend_wait(te->model.be);
        o.timings->text_s = hart_clock() - t0;
    }
    if (!st) st = hart_t2i_generate(p, &ctx, &mask, &pos, &o, image);
    hart_tensor_free(&ctx);
    hart_tensor_free(&mask);
    hart_tensor_free(&pos);
    return st;
}
