/* Batch rendering: many prompts -> numbered image files, resumable.
 * Each image is written atomically (temp + rename), so after a kill every
 * file present is complete; a rerun with the same arguments skips those and
 * renders the rest. A manifest (<out_dir>/manifest.jsonl) records one line per
 * finished image: index, file, seed, prompt. The missing images are handed
 * to the renderer in groups of up to batch_size (consecutive in index order:
 * one device batch each); a group killed mid-way is rendered again whole by
 * the next run, and every image is keyed by its own seed, so the files are
 * the same whatever the grouping. */
#ifndef HART_BATCH_H
#define HART_BATCH_H

#include "io/prompts.h"

typedef struct {
    const char *out_dir;
    const char *ext;        /* "png" (default) or "jpg" */
    uint64_t seed;          /* base seed: image k gets seed + k unless the prompt sets one */
    int per_prompt;         /* images per prompt (>= 1) */
    int shard, n_shards;    /* render only images with index % n_shards == shard */
    int digits;             /* zero padding of numbered names (default 5) */
    int batch_size;         /* images per render call (device batch); <= 0 means 1 */
} hart_batch_opts;

typedef struct {
    int rendered, skipped, total;
} hart_batch_stats;

/* One image to render: its prompt, seed, global index and output file. */
typedef struct {
    const char *prompt;
    uint64_t seed;
    int64_t index;
    const char *path;
    int line;               /* line of the prompt in its file (error messages) */
} hart_batch_item;

/* Render n >= 1 images, items[i] to items[i].path (the callback must write
 * each file atomically). On failure, the files already written count as
 * done (they are complete). */
typedef hart_status (*hart_render_fn)(void *ctx, const hart_batch_item *items, int n);

/* File name of image `index` (prompt p, copy j): "<name>[_j].<ext>" when the
 * prompt has a name, else "<index zero-padded>.<ext>". */
void hart_batch_filename(const hart_batch_opts *o, const hart_prompt *p, int64_t index, int j,
                         char *buf, size_t n);
hart_status hart_batch_run(const hart_prompt_list *prompts, const hart_batch_opts *opts,
                           hart_render_fn render, void *ctx, hart_batch_stats *stats);

#endif
