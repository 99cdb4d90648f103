/* Batch rendering: many prompts -> image files, resumable, over several
 * devices and machines.
 *
 * Every image of a job has an index (prompt position x per_prompt + copy),
 * a seed (base + index unless the prompt sets one) and a file. A run:
 *  1. takes the folder's run lock (one `hart batch` per folder and shard:
 *     a second one is refused), removes the temporary files of killed runs
 *     (<file>.tmp.<pid>, this shard's files only) and repairs the manifest
 *     (pipeline/manifest.h: a torn last line or damaged lines dropped);
 *  2. compares the manifest header (prompt-set hash, indices, shard, the
 *     options that change pixels) with this run's: a difference is refused
 *     unless `force`; images present without a manifest too;
 *  3. decodes every image already there (PNG/JPEG, fully): a damaged file is
 *     removed and rendered again, and so is one whose manifest entry names
 *     another prompt, seed or file;
 *  4. hands the missing images, in index order and groups of batch_size, to
 *     one worker per device (n_devices > 1: forked processes, each opening
 *     its own device, taking the next group from a shared counter); each
 *     finished image is written atomically by the renderer, then appended to
 *     the manifest (one locked write per line);
 *  5. rewrites the manifest sorted by index, so a finished job's manifest is
 *     the same whatever the devices, groups or interruptions.
 * Shards (index % n_shards == shard) keep their own manifest
 * (manifest.I-of-N.jsonl); pipeline/batch_merge.h checks and joins them. */
#ifndef HART_BATCH_H
#define HART_BATCH_H

#include "io/prompts.h"

/* Where image (prompt p, copy j) goes, relative to the output folder:
 *  FLAT:     NAME[_j].EXT when the prompt has a name, else <index>.EXT
 *  CATEGORY: <category>/NAME[_j].EXT (MJHQ-30K: one folder per category)
 *  GENEVAL:  <prompt index %05d>/samples/<j %04d>.EXT, plus
 *            <prompt index %05d>/metadata.jsonl (the prompt's line) */
typedef enum { HART_LAYOUT_FLAT = 0, HART_LAYOUT_CATEGORY, HART_LAYOUT_GENEVAL } hart_batch_layout;

typedef struct {
    const char *out_dir;
    const char *ext;        /* "png" (default) or "jpg" */
    uint64_t seed;          /* base seed: image k gets seed + k unless the prompt sets one */
    int per_prompt;         /* images per prompt (>= 1) */
    int shard, n_shards;    /* render only images with index % n_shards == shard */
    int digits;             /* zero padding of numbered names (default 5) */
    int batch_size;         /* images per render call (device batch); <= 0 means 1 */
    int layout;             /* hart_batch_layout */
    const char *const *devices; /* one worker per entry (n_devices > 1: one process each) */
    int n_devices;              /* 0: one worker, open(ctx, NULL, 0, 1) */
    const char *const *options; /* NULL-terminated key, value, ...: what changes pixels (manifest header) */
    int force;              /* resume even when the manifest header differs */
    int quiet;              /* no notes on stderr (repairs, removed files) */
} hart_batch_opts;

typedef struct {
    int rendered, skipped, total;
    int damaged;            /* images found damaged (or stale) and rendered again */
    int cleaned;            /* stale temporary files removed */
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

typedef struct {
    /* In the worker (its own process when there are several), before its
     * first render: open `device` (NULL: the default). May be NULL. */
    hart_status (*open)(void *ctx, const char *device, int worker, int n_workers);
    hart_render_fn render;
    void (*close)(void *ctx); /* in the worker, after its last render; may be NULL */
    /* In the parent while several workers run (about 5 times a second); may be NULL. */
    void (*progress)(void *ctx, int64_t done, int64_t todo);
    void *ctx;
} hart_batch_renderer;

/* Relative file name of image `index` (prompt p, copy j), see the layouts. */
void hart_batch_filename(const hart_batch_opts *o, const hart_prompt *p, int64_t index, int j,
                         char *buf, size_t n);
hart_status hart_batch_run(const hart_prompt_list *prompts, const hart_batch_opts *opts,
                           const hart_batch_renderer *r, hart_batch_stats *stats);
/* The manifest of a run with these options: DIR/manifest.jsonl or
 * DIR/manifest.I-of-N.jsonl. */
void hart_batch_manifest_path(const hart_batch_opts *o, char *buf, size_t n);

#endif
