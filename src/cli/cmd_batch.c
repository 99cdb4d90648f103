/* hart batch: render every prompt of a .txt/.jsonl file (or stdin) into a
 * folder of numbered images, resumable (pipeline/batch.h) and shardable. The
 * models are loaded once (pipeline/t2i_session.h); images go through the
 * pipeline in device batches of --batch-size, each keyed by its own seed, so
 * image k equals `hart generate -p PROMPT --seed <its seed>` with the same
 * options whatever the batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/lpd_cli.h"
#include "cli/outpath.h"
#include "cli/progress.h"
#include "cli/seed.h"
#include "io/grid.h"
#include "quant/qload.h"
#include "io/image.h"
#include "io/prompts.h"
#include "pipeline/batch.h"
#include "pipeline/t2i_session.h"

typedef struct {
    hart_t2i_session *s;
    hart_t2i_opts opts;
    const char *model, *neg;
    int verbose, quiet, done, todo;
    hart_progress pr;
    char **grid_paths; /* --grid: the files rendered by this run and their seeds */
    uint64_t *grid_seeds;
    int grid_n;
} batch_ctx;

static hart_status remember(batch_ctx *b, const hart_batch_item *it) {
    char **p = realloc(b->grid_paths, sizeof *p * (size_t)(b->grid_n + 1));
    if (!p) return hart_fail(HART_ENOMEM, "grid");
    b->grid_paths = p;
    uint64_t *s = realloc(b->grid_seeds, sizeof *s * (size_t)(b->grid_n + 1));
    if (!s) return hart_fail(HART_ENOMEM, "grid");
    b->grid_seeds = s;
    if (!(p[b->grid_n] = strdup(it->path))) return hart_fail(HART_ENOMEM, "grid");
    s[b->grid_n++] = it->seed;
    return HART_OK;
}

static hart_status render_batch(void *vctx, const hart_batch_item *items, int n) {
    batch_ctx *b = vctx;
    const char **prompts = calloc((size_t)n, sizeof(char *));
    uint64_t *seeds = calloc((size_t)n, sizeof(uint64_t));
    hart_tensor img = {0};
    if (!prompts || !seeds) {
        free(prompts);
        free(seeds);
        return hart_fail(HART_ENOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        prompts[i] = items[i].prompt;
        seeds[i] = items[i].seed;
    }
    hart_progress_note(&b->pr, "images %d-%d of %d", b->done + 1, b->done + n, b->todo);
    hart_status st = hart_t2i_session_render(b->s, prompts, seeds, n, &b->opts, &img);
    for (int i = 0; !st && i < n; i++) {
        hart_t2i_image_meta m = {items[i].prompt, b->neg, b->model, items[i].seed, items[i].index, &b->opts, NULL};
        st = hart_t2i_save_image(items[i].path, &img, i, &m);
        if (!st && b->grid_seeds) st = remember(b, &items[i]);
        if (!st && b->verbose) {
            hart_progress_clear(&b->pr);
            fprintf(stderr, "hart batch: wrote %s (seed %llu)\n", items[i].path, (unsigned long long)items[i].seed);
        }
    }
    b->done += n;
    hart_tensor_free(&img);
    free(prompts);
    free(seeds);
    return st;
}

/* --grid: the images this run wrote, read back and tiled */
static hart_status write_grid(const batch_ctx *b, const char *path) {
    if (b->grid_n == 0) return hart_fail(HART_EINVAL, "--grid %s: no image was rendered by this run", path);
    hart_image *ims = calloc((size_t)b->grid_n, sizeof *ims);
    hart_status st = ims ? HART_OK : hart_fail(HART_ENOMEM, "grid");
    for (int i = 0; !st && i < b->grid_n; i++) st = hart_image_read(b->grid_paths[i], &ims[i]);
    if (!st) st = hart_grid_write_seeds(path, ims, b->grid_seeds, b->grid_n);
    for (int i = 0; ims && i < b->grid_n; i++) hart_image_free(&ims[i]);
    free(ims);
    return st;
}

int cmd_batch(int argc, char **argv) {
    if (lpd_cli_wanted(argc, argv)) return cmd_batch_lpd(argc, argv);
    const char *model = NULL, *text_model = NULL, *out_dir = NULL, *device = NULL, *shard_s = NULL, *neg = NULL;
    const char *precision = NULL, *quant = NULL;
    const char *format = "png", *grid = NULL, *sparse_s = NULL;
    hart_seed_arg seed = {0, 0};
    int sparse_from = -1, sparse_block = 0;
    int per_prompt = 1, digits = 5, smooth = 0, verbose = 0, quiet = 0, top_k = 0, batch_size = 1;
    double cfg = 4.5, top_p = 0, temperature = 1.0;
    const hart_opt opts[] = {
        {"output", 'o', HART_ARG_STR, &out_dir, "DIR", "output folder (created if missing)", NULL, 0, 0, NULL},
        HART_OPT_MODEL(&model),
        HART_OPT_TEXT_MODEL(&text_model),
        HART_OPT_QUANT(&quant),
        HART_OPT_SEED(&seed, "0"),
        {"per-prompt", 'n', HART_ARG_INT, &per_prompt, "N", "images per prompt", "1", 1, 100000, NULL},
        {"batch-size", 'b', HART_ARG_INT, &batch_size, "K",
         "images per device batch (consecutive missing images; same files as K = 1)", "1", 1, 4096, NULL},
        {"shard", 0, HART_ARG_STR, &shard_s, "I/N", "render only images with index % N == I", "0/1", 0, 0, NULL},
        {"format", 'f', HART_ARG_CHOICE, &format, "EXT", "image format", "png", 0, 0, "png|jpg"},
        {"digits", 0, HART_ARG_INT, &digits, "N", "zero padding of numbered file names", "5", 1, 18, NULL},
        HART_OPT_NEGATIVE(&neg),
        HART_OPT_CFG(&cfg),
        HART_OPT_TOP_K(&top_k),
        HART_OPT_TOP_P(&top_p),
        HART_OPT_SMOOTH(&smooth),
        HART_OPT_TEMPERATURE(&temperature),
        HART_OPT_GRID(&grid),
        HART_OPT_SPARSE_ATTN(&sparse_s),
        HART_OPT_SPARSE_FROM(&sparse_from),
        HART_OPT_SPARSE_BLOCK(&sparse_block),
        HART_OPT_DEVICE(&device),
        HART_OPT_PRECISION(&precision),
        HART_OPT_VERBOSE(&verbose),
        HART_OPT_QUIET(&quiet),
        HART_OPT_END};
    const hart_cmd_spec spec = {
        "batch", "[options] PROMPTS.txt|PROMPTS.jsonl|- -m MODEL -o DIR",
        "Render every prompt of a file ('-': standard input, plain text). Text files: one prompt per line ('#' "
        "comments and empty lines skipped). JSON Lines: {\"prompt\": ..., \"seed\": N (optional), \"name\": \"file "
        "stem\" (optional)}. Images are DIR/00000.png, DIR/00001.png, ... (index = prompt number x per-prompt + "
        "copy) or NAME[_copy].png; each is written atomically and listed in DIR/manifest.jsonl. A killed run loses "
        "nothing already written: run the same command again and it renders only what is missing. Image k gets seed "
        "N + k (--seed N, default 0, so a rerun resumes the same images; -1 picks a random N and prints it) and "
        "equals `hart generate -p PROMPT --seed <its seed>` with the same options. LPD class-to-image models: hart "
        "batch -m LPD.pth --vq VQ.pt --classes 0-999 -n 50 -o DIR [--npz FILE] (see 'hart batch --vq x --help').",
        opts, 1, 1, 0};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    if (!model) return hart_args_usage_error(&spec, "-m/--model is required");
    if (!out_dir) return hart_args_usage_error(&spec, "-o/--output DIR is required");
    if (verbose && quiet) return hart_args_usage_error(&spec, "-v and -q are exclusive");
    hart_sparse_cfg sparse;
    if ((rc = hart_args_parse_sparse(&spec, sparse_s, sparse_from, sparse_block, &sparse)) >= 0) return rc;
    if (grid && hart_image_format_of(grid) == HART_IMG_UNKNOWN)
        return hart_args_usage_error(&spec, "--grid %s: unknown image extension (expected .png, .jpg or .jpeg)", grid);
    hart_batch_opts bo = {.out_dir = out_dir, .ext = format, .seed = 0, .per_prompt = per_prompt,
                          .shard = 0, .n_shards = 1, .digits = digits, .batch_size = batch_size};
    if (shard_s && (rc = hart_args_parse_shard(&spec, shard_s, &bo.shard, &bo.n_shards)) >= 0) return rc;
    /* checks before work: output paths, then the model folders */
    if (hart_cli_check_out_dir("batch", "-o", out_dir) || (grid && hart_cli_check_out_file("batch", "--grid", grid)))
        return 1;
    if (quant) {
        hart_qformat qf;
        if (hart_qformat_parse(quant, &qf)) return hart_args_usage_error(&spec, "%s", hart_errmsg());
        hart_quant_set_on_load(qf);
    }
    hart_t2i_session_opts so = {device, model, text_model, 1, precision};
    if (hart_t2i_session_check(&so)) {
        fprintf(stderr, "hart batch: %s\n", hart_errmsg());
        return 1;
    }
    if (hart_args_parse_only) return 0;

    hart_prompt_list prompts = {0};
    batch_ctx b;
    memset(&b, 0, sizeof b);
    hart_progress_init(&b.pr, "batch", quiet);
    hart_status st;
    rc = 1;
    if ((st = hart_prompts_load(a.pos[0], &prompts)) != HART_OK) goto fail;
    if (hart_seed_resolve(&seed) && !quiet)
        fprintf(stderr, "hart batch: base seed %llu (random; --seed %llu renders the same images)\n",
                (unsigned long long)seed.value, (unsigned long long)seed.value);
    bo.seed = seed.value;
    hart_progress_note(&b.pr, "loading %s", model);
    if ((st = hart_t2i_session_open(&so, &b.s)) != HART_OK) goto fail;
    hart_progress_clear(&b.pr);
    const char *dev = device ? device : getenv("HART_DEVICE");
    if ((verbose || (dev && !strcmp(dev, "auto"))) && !quiet)
        fprintf(stderr, "hart batch: device: %s\n", hart_t2i_session_device_why(b.s));
    hart_t2i_default_opts(&b.opts);
    b.opts.cfg = cfg;
    b.opts.top_k = top_k;
    b.opts.top_p = top_p;
    b.opts.more_smooth = smooth;
    b.opts.temperature = (float)temperature;
    b.opts.negative_prompt = neg;
    b.opts.sparse = &sparse;
    b.opts.verbose = verbose && sparse.kind != HART_SPARSE_NONE; /* -v: the density per scale */
    b.model = model;
    b.neg = neg;
    b.verbose = verbose;
    b.quiet = quiet;
    if (grid && !(b.grid_seeds = malloc(sizeof(uint64_t)))) {
        st = hart_fail(HART_ENOMEM, "grid");
        goto fail;
    }
    int64_t total = (int64_t)prompts.n * per_prompt;
    b.todo = (int)((total - bo.shard + bo.n_shards - 1) / bo.n_shards);
    hart_batch_stats stats = {0, 0, 0};
    double t0 = hart_clock();
    st = hart_batch_run(&prompts, &bo, render_batch, &b, &stats);
    hart_progress_clear(&b.pr);
    if (!quiet || st)
        fprintf(stderr, "hart batch: %d rendered, %d already present, %d in this shard (%.2f s)\n", stats.rendered,
                stats.skipped, stats.total, hart_clock() - t0);
    if (st != HART_OK) goto fail;
    if (grid) {
        if ((st = write_grid(&b, grid)) != HART_OK) goto fail;
        if (!quiet) fprintf(stderr, "hart batch: wrote %s (grid of %d)\n", grid, b.grid_n);
    }
    rc = 0;
    goto done;
fail:
    hart_progress_clear(&b.pr);
    fprintf(stderr, "hart batch: %s\n", hart_errmsg());
done:
    for (int i = 0; i < b.grid_n; i++) free(b.grid_paths[i]);
    free(b.grid_paths);
    free(b.grid_seeds);
    hart_t2i_session_close(b.s);
    hart_prompts_free(&prompts);
    return rc;
}
