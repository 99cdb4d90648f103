/* Prompts -> images in one device batch: the entry point `hart generate -p`
 * (-n N copies) and `hart batch` (--batch-size K) share. The distinct
 * prompts of the batch are encoded once, in one text-encoder call (a prompt
 * equal to the previous batch's last one reuses its cached encoding), their
 * context rows are gathered into [n,T,D], and hart_t2i_generate renders all
 * n images together, image i keyed by seeds[i] alone: it equals the image
 * rendered by itself with that seed (same tokens; pixels within float
 * rounding), whatever the batch around it. */
#ifndef HART_PIPELINE_T2I_PROMPTS_H
#define HART_PIPELINE_T2I_PROMPTS_H

#include <stdint.h>

#include "pipeline/t2i.h"
#include "pipeline/text_encode.h"

/* The last prompt encoded and its context rows (host), reused across calls. */
typedef struct {
    char *prompt;
    float *ctx;      /* [T*D] */
    uint8_t *mask;   /* [T] */
    int64_t *pos;    /* [T] */
    char *neg;       /* the negative prompt encoded last, and its rows */
    float *neg_ctx;
    uint8_t *neg_mask;
    int64_t *neg_pos;
} hart_prompt_cache;

void hart_prompt_cache_free(hart_prompt_cache *c);

/* Render n >= 1 images: image i from prompts[i] with RNG key (seeds[i],
 * opts->image_index) (opts->seed and opts->seeds are ignored). cache may be
 * NULL. With opts->timings, the text encoder's time (waited for) goes to
 * timings->text_s and the rest as hart_t2i_generate records it. A non-empty
 * opts->negative_prompt is encoded like a prompt (once per cache) and its
 * context, mask and position ids fill the unconditional half of guidance of
 * every image; NULL or "" keeps the null context. image: host
 * F32 [n,3,H,W] in [0,1], allocated here. */
hart_status hart_t2i_render_prompts(hart_t2i *p, const hart_text_encoder *te, hart_prompt_cache *cache,
                                    const char *const *prompts, const uint64_t *seeds, int n,
                                    const hart_t2i_opts *opts, hart_tensor *image);

#endif
