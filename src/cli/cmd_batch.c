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
#include "cli/batch_cli.h"
#include "cli/commands.h"
#include "cli/lpd_cli.h"
#include "cli/outpath.h"
#include "cli/progress.h"
#include "cli/seed.h"
#include "io/fingerprint.h"
#include "io/grid.h"
#include "quant/qload.h"
#include "io/image.h"
#include "io/prompts.h"
#include "pipeline/batch.h"
#include "pipeline/t2i_session.h"

typedef struct {
    hart_t2i_session *s;
    hart_t2i_session_opts so;
    hart_t2i_opts opts;
    const char *model, *neg;
    int verbose, quiet, done, todo, workers, device_note;
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
    if (b->workers == 1) hart_progress_note(&b->pr, "images %d-%d of %d", b->done + 1, b->done + n, b->todo);
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

/* In the worker: load the models onto its device. */
static hart_status open_worker(void *vctx, const char *device, int worker, int n_workers) {
    batch_ctx *b = vctx;
    b->workers = n_workers;
    if (device) b->so.device = device;
    if (n_workers > 1) b->pr.on = 0; /* the parent draws the progress line */
    hart_progress_note(&b->pr, "loading %s", b->model);
    HART_TRY(hart_t2i_session_open(&b->so, &b->s));
    hart_progress_clear(&b->pr);
    if (b->device_note && !b->quiet)
        fprintf(stderr, "hart batch: %sdevice: %s\n", n_workers > 1 ? "worker " : "", hart_t2i_session_device_why(b->s));
    return HART_OK;
}

static void close_worker(void *vctx) {
    batch_ctx *b = vctx;
    hart_t2i_session_close(b->s);
    b->s = NULL;
}

static void progress(void *vctx, int64_t done, int64_t todo) {
    batch_ctx *b = vctx;
    batch_progress_note(&b->pr, done, todo);
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

/* The settings that change pixels or names (the manifest header). */
typedef struct {
    char model_fp[17], text_fp[17], seed[32], per[16], cfg[32], top_k[16], top_p[32], temp[32], digits[16];
    char sparse[160];
    const char *kv[48];
} header_options;

static hart_status header_options_fill(header_options *h, const char *model, const char *text_model,
                                       const hart_batch_opts *bo, const hart_t2i_opts *t, const char *neg,
                                       const char *categories, const char *precision, const char *sparse_s,
                                       int sparse_from, int sparse_block) {
    char text_dir[4096];
    if (!text_model) snprintf(text_dir, sizeof text_dir, "%s/text_encoder", model);
    HART_TRY(hart_fingerprint_path(model, h->model_fp));
    HART_TRY(hart_fingerprint_path(text_model ? text_model : text_dir, h->text_fp));
    snprintf(h->seed, sizeof h->seed, "%llu", (unsigned long long)bo->seed);
    snprintf(h->per, sizeof h->per, "%d", bo->per_prompt);
    snprintf(h->cfg, sizeof h->cfg, "%.17g", t->cfg);
    snprintf(h->top_k, sizeof h->top_k, "%d", t->top_k);
    snprintf(h->top_p, sizeof h->top_p, "%.17g", t->top_p);
    snprintf(h->temp, sizeof h->temp, "%.9g", (double)t->temperature);
    snprintf(h->digits, sizeof h->digits, "%d", bo->digits);
    snprintf(h->sparse, sizeof h->sparse, "%s from %d block %d", sparse_s ? sparse_s : "none", sparse_from, sparse_block);
    const char *kv[] = {"generator", "hart t2i", "model", h->model_fp, "text_model", h->text_fp, "seed", h->seed,
                        "per_prompt", h->per, "cfg", h->cfg, "top_k", h->top_k, "top_p", h->top_p,
                        "smooth", t->more_smooth ? "1" : "0", "temperature", h->temp,
                        "negative_prompt", neg ? neg : "", "format", bo->ext, "digits", h->digits,
                        "layout", batch_layout_name(bo->layout), "categories", categories ? categories : "",
                        "precision", precision ? precision : "(device default)", "sparse_attn", h->sparse, NULL};
    memcpy(h->kv, kv, sizeof kv);
    return HART_OK;
}

int cmd_batch(int argc, char **argv) {
    if (lpd_cli_wanted(argc, argv)) return cmd_batch_lpd(argc, argv);
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--merge")) return cmd_batch_merge(argc, argv);
    const char *model = NULL, *text_model = NULL, *out_dir = NULL, *device = NULL, *shard_s = NULL, *neg = NULL;
    const char *format = "png", *grid = NULL, *devices_s = NULL, *layout_s = "auto", *categories = NULL;
    const char *precision = NULL, *sparse_s = NULL, *quant = NULL;
    hart_seed_arg seed = {0, 0};
    int sparse_from = -1, sparse_block = 0;
    int per_prompt = 1, digits = 5, smooth = 0, verbose = 0, quiet = 0, top_k = 0, batch_size = 1, force = 0;
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
        {"devices", 0, HART_ARG_STR, &devices_s, "LIST",
         "one worker process per device, e.g. opencl:0:0,opencl:0:1 or all (every OpenCL GPU); same files as one device",
         NULL, 0, 0, NULL},
        {"layout", 0, HART_ARG_CHOICE, &layout_s, "L",
         "file names: flat (NNNNN.png or NAME.png), category (CATEGORY/ID.png, MJHQ-30K), geneval "
         "(NNNNN/samples/CCCC.png + metadata.jsonl); auto: category for .json, else flat",
         "auto", 0, 0, "auto|flat|category|geneval"},
        {"category", 0, HART_ARG_STR, &categories, "LIST",
         "render only prompts of these categories (MJHQ \"category\", JSONL \"category\" or \"tag\"), e.g. people,animals",
         NULL, 0, 0, NULL},
        {"force", 0, HART_ARG_FLAG, &force, NULL,
         "resume although the folder's manifest was written for other prompts or settings", NULL, 0, 0, NULL},
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
        "batch", "[options] PROMPTS.txt|PROMPTS.jsonl|meta_data.json|- -m MODEL -o DIR",
        "Render every prompt of a file ('-': standard input, plain text). Text files: one prompt per line ('#' "
        "comments and empty lines skipped). JSON Lines: {\"prompt\": ..., \"seed\": N (optional), \"name\": \"file "
        "stem\" (optional), \"category\"/\"tag\" (optional)} (GenEval's evaluation_metadata.jsonl with --layout geneval). "
        "JSON: MJHQ-30K's meta_data.json ({id: {prompt, category}}), images DIR/CATEGORY/ID.png. Flat layout: "
        "DIR/00000.png, DIR/00001.png, ... (index = prompt number x per-prompt + copy) or NAME[_copy].png; each is "
        "written atomically and listed in DIR/manifest.jsonl, whose header records the prompt set and the settings. "
        "A killed run loses nothing already written: run the same command again and it checks the images there "
        "(damaged ones are rendered again) and renders only what is missing; other prompts or settings are refused "
        "(--force). Image k gets seed N + k (--seed N, default 0, so a rerun resumes the same images; -1 picks a "
        "random N and prints it) and equals `hart generate -p PROMPT --seed <its seed>` with the same options. "
        "Several GPUs: --devices; several machines: --shard I/N, then `hart batch --merge DIR` checks the shards. "
        "LPD class-to-image models: hart batch -m LPD.pth --vq VQ.pt --classes 0-999 -n 50 -o DIR [--npz FILE] "
        "(see 'hart batch --vq x --help'). See docs/batch.md.",
        opts, 1, 1, 0};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    if (!model) return hart_args_usage_error(&spec, "-m/--model is required");
    if (!out_dir) return hart_args_usage_error(&spec, "-o/--output DIR is required");
    if (verbose && quiet) return hart_args_usage_error(&spec, "-v and -q are exclusive");
    if (devices_s && device) return hart_args_usage_error(&spec, "--device and --devices are exclusive");
    if (grid && devices_s) return hart_args_usage_error(&spec, "--grid needs a single device (not --devices)");
    hart_sparse_cfg sparse;
    if ((rc = hart_args_parse_sparse(&spec, sparse_s, sparse_from, sparse_block, &sparse)) >= 0) return rc;
    if (grid && hart_image_format_of(grid) == HART_IMG_UNKNOWN)
        return hart_args_usage_error(&spec, "--grid %s: unknown image extension (expected .png, .jpg or .jpeg)", grid);
    hart_batch_opts bo = {.out_dir = out_dir, .ext = format, .seed = 0, .per_prompt = per_prompt,
                          .shard = 0, .n_shards = 1, .digits = digits, .batch_size = batch_size, .force = force,
                          .quiet = quiet};
    bo.layout = batch_layout_parse(layout_s, a.pos[0]);
    batch_devices devs = {0};
    if (devices_s && strcmp(devices_s, "all")) { /* syntax now; "all" asks the driver later */
        if (batch_devices_parse(devices_s, &devs)) return hart_args_usage_error(&spec, "%s", hart_errmsg());
        batch_devices_free(&devs);
    }
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
    header_options ho;
    batch_ctx b;
    memset(&b, 0, sizeof b);
    hart_progress_init(&b.pr, "batch", quiet);
    hart_status st;
    rc = 1;
    if (devices_s && (st = batch_devices_parse(devices_s, &devs)) != HART_OK) goto fail;
    if ((st = hart_prompts_load(a.pos[0], &prompts)) != HART_OK) goto fail;
    if (categories && (st = hart_prompts_filter_categories(&prompts, categories)) != HART_OK) goto fail;
    if (hart_seed_resolve(&seed) && !quiet)
        fprintf(stderr, "hart batch: base seed %llu (random; --seed %llu renders the same images)\n",
                (unsigned long long)seed.value, (unsigned long long)seed.value);
    bo.seed = seed.value;
    const char *dev = device ? device : getenv("HART_DEVICE");
    b.device_note = verbose || (dev && !strcmp(dev, "auto"));
    b.so = so;
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
    b.workers = 1;
    if ((st = header_options_fill(&ho, model, text_model, &bo, &b.opts, neg, categories, precision, sparse_s, sparse_from,
                                  sparse_block)) != HART_OK)
        goto fail;
    bo.options = ho.kv;
    bo.devices = (const char *const *)devs.specs;
    bo.n_devices = devs.n;
    if (grid && !(b.grid_seeds = malloc(sizeof(uint64_t)))) {
        st = hart_fail(HART_ENOMEM, "grid");
        goto fail;
    }
    int64_t total = (int64_t)prompts.n * per_prompt;
    b.todo = (int)((total - bo.shard + bo.n_shards - 1) / bo.n_shards);
    hart_batch_stats stats = {0};
    hart_batch_renderer r = {open_worker, render_batch, close_worker, progress, &b};
    double t0 = hart_clock();
    st = hart_batch_run(&prompts, &bo, &r, &stats);
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
    batch_devices_free(&devs);
    return rc;
}
