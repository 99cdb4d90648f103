/* hart batch: render every prompt of a .txt/.jsonl file into a folder of
 * numbered images, resumable (pipeline/batch.h) and shardable. The models
 * are loaded once; images go through the pipeline in device batches of
 * --batch-size, each keyed by its own seed, so image k equals `hart generate
 * -p PROMPT --seed <its seed>` with the same options whatever the batch. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/lpd_cli.h"
#include "io/image.h"
#include "io/prompts.h"
#include "pipeline/batch.h"
#include "pipeline/t2i.h"
#include "pipeline/t2i_prompts.h"
#include "pipeline/text_encode.h"

typedef struct {
    hart_t2i *t2i;
    hart_text_encoder te;
    hart_t2i_opts opts;
    const char *model;
    int verbose;
    hart_prompt_cache cache; /* the previous batch's last prompt, reused for its further copies */
} batch_ctx;

static hart_status write_image(const batch_ctx *b, const char *path, const hart_tensor *img, int i,
                               const char *prompt, uint64_t seed, int64_t index) {
    char idx[32], sd[32], cfg[32], tk[32], tp[32], temp[32];
    snprintf(idx, sizeof idx, "%lld", (long long)index);
    snprintf(sd, sizeof sd, "%llu", (unsigned long long)seed);
    snprintf(cfg, sizeof cfg, "%g", b->opts.cfg);
    if (b->opts.top_k) snprintf(tk, sizeof tk, "%d", b->opts.top_k);
    else snprintf(tk, sizeof tk, "600/300");
    snprintf(tp, sizeof tp, "%g", b->opts.top_p);
    snprintf(temp, sizeof temp, "%g", b->opts.temperature);
    const hart_image_text kv[] = {
        {"prompt", (char *)prompt}, {"model", (char *)b->model}, {"index", idx}, {"seed", sd},
        {"cfg", cfg}, {"top_k", tk}, {"top_p", tp}, {"smooth", b->opts.more_smooth ? "1" : "0"},
        {"temperature", temp}};
    char *params = hart_image_params_text(kv, (int)(sizeof kv / sizeof kv[0]));
    if (!params) return hart_fail(HART_ENOMEM, "%s: metadata", path);
    hart_image im;
    hart_status st = hart_image_from_tensor(img, i, &im);
    if (!st) {
        hart_image_text t = {"parameters", params};
        st = hart_image_write(path, &im, &t, 1, 0);
        hart_image_free(&im);
    }
    free(params);
    return st;
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
    /* image_index 0: the seed alone keys an image, as in `hart generate --seed` */
    hart_status st = hart_t2i_render_prompts(b->t2i, &b->te, &b->cache, prompts, seeds, n, &b->opts, &img);
    for (int i = 0; !st && i < n; i++) {
        st = write_image(b, items[i].path, &img, i, items[i].prompt, items[i].seed, items[i].index);
        if (!st && b->verbose)
            fprintf(stderr, "hart batch: wrote %s (seed %llu)\n", items[i].path, (unsigned long long)items[i].seed);
    }
    hart_tensor_free(&img);
    free(prompts);
    free(seeds);
    return st;
}

int cmd_batch(int argc, char **argv) {
    if (lpd_cli_wanted(argc, argv)) return cmd_batch_lpd(argc, argv);
    const char *model = NULL, *text_model = NULL, *out_dir = NULL, *device = NULL, *shard_s = NULL;
    const char *format = "png";
    uint64_t seed = 0;
    int per_prompt = 1, digits = 5, smooth = 0, verbose = 0, top_k = 0, batch_size = 1;
    double cfg = 4.5, top_p = 0, temperature = 1.0;
    const hart_opt opts[] = {
        {"output", 'o', HART_ARG_STR, &out_dir, "DIR", "output folder (created if missing)", NULL, 0, 0, NULL},
        HART_OPT_MODEL(&model),
        {"text-model", 0, HART_ARG_STR, &text_model, "DIR", "Qwen2 text encoder folder", "MODEL/text_encoder", 0, 0,
         NULL},
        {"seed", 's', HART_ARG_U64, &seed, "N", "base seed: image k gets N + k unless its line sets \"seed\"", "0", 0,
         0, NULL},
        {"per-prompt", 'n', HART_ARG_INT, &per_prompt, "N", "images per prompt", "1", 1, 100000, NULL},
        {"batch-size", 'b', HART_ARG_INT, &batch_size, "K",
         "images per device batch (consecutive missing images; same files as K = 1)", "1", 1, 4096, NULL},
        {"shard", 0, HART_ARG_STR, &shard_s, "I/N", "render only images with index % N == I", "0/1", 0, 0, NULL},
        {"format", 'f', HART_ARG_CHOICE, &format, "EXT", "image format", "png", 0, 0, "png|jpg"},
        {"digits", 0, HART_ARG_INT, &digits, "N", "zero padding of numbered file names", "5", 1, 18, NULL},
        {"cfg", 0, HART_ARG_FLOAT, &cfg, "X", "classifier-free guidance scale", "4.5", 0, 1000, NULL},
        {"top-k", 0, HART_ARG_INT, &top_k, "N", "top-k at every scale (0: 600 then 300, as the reference)", "0", 0,
         1 << 30, NULL},
        {"top-p", 0, HART_ARG_FLOAT, &top_p, "P", "nucleus sampling (0: off)", "0", 0, 1, NULL},
        {"smooth", 0, HART_ARG_FLAG, &smooth, NULL, "Gumbel-softmax smoothed codes", NULL, 0, 0, NULL},
        {"temperature", 0, HART_ARG_FLOAT, &temperature, "T", "diffusion sampler temperature", "1", 0, 100, NULL},
        HART_OPT_DEVICE(&device),
        HART_OPT_VERBOSE(&verbose),
        HART_OPT_END};
    const hart_cmd_spec spec = {
        "batch", "[options] PROMPTS.txt|PROMPTS.jsonl -m MODEL -o DIR",
        "Render every prompt of a file. Text files: one prompt per line ('#' comments and empty lines skipped). "
        "JSON Lines: {\"prompt\": ..., \"seed\": N (optional), \"name\": \"file stem\" (optional)}. Images are "
        "DIR/00000.png, DIR/00001.png, ... (index = prompt number x per-prompt + copy) or NAME[_copy].png; each is "
        "written atomically and listed in DIR/manifest.jsonl. A killed run loses nothing already written: run the "
        "same command again and it renders only what is missing. Image k equals `hart generate -p PROMPT --seed "
        "<its seed>` with the same options. LPD class-to-image models: hart batch -m LPD.pth --vq VQ.pt --classes "
        "0-999 -n 50 -o DIR [--npz FILE] (see 'hart batch --vq x --help').",
        opts, 1, 1};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    if (!model) return hart_args_usage_error(&spec, "-m/--model is required");
    if (!out_dir) return hart_args_usage_error(&spec, "-o/--output DIR is required");
    hart_batch_opts bo = {.out_dir = out_dir, .ext = format, .seed = seed, .per_prompt = per_prompt,
                          .shard = 0, .n_shards = 1, .digits = digits, .batch_size = batch_size};
    if (shard_s && (rc = hart_args_parse_shard(&spec, shard_s, &bo.shard, &bo.n_shards)) >= 0) return rc;
    if (hart_args_parse_only) return 0;

    hart_prompt_list prompts = {0};
    batch_ctx b;
    memset(&b, 0, sizeof b);
    hart_backend *be = NULL;
    int have_te = 0;
    hart_status st;
    char why[256] = "";
    rc = 1;
    if ((st = hart_prompts_load(a.pos[0], &prompts)) != HART_OK) goto fail;
    if (prompts.n == 0) {
        fprintf(stderr, "hart batch: %s has no prompts\n", a.pos[0]);
        goto done;
    }
    if ((st = hart_backend_open(device, &be, why, sizeof why)) != HART_OK) goto fail;
    if (verbose && why[0]) fprintf(stderr, "hart batch: device: %s\n", why);
    if ((st = hart_t2i_load(be, model, &b.t2i)) != HART_OK) goto fail;
    int T, D;
    hart_t2i_context_shape(b.t2i, &T, &D);
    char tdir[PATH_MAX];
    snprintf(tdir, sizeof tdir, "%s", text_model ? text_model : "");
    if (!text_model) snprintf(tdir, sizeof tdir, "%s/text_encoder", model);
    if ((st = hart_text_encoder_load(tdir, be, &b.te)) != HART_OK) goto fail;
    have_te = 1;
    if (b.te.model.hidden != D) {
        st = hart_fail(HART_EINVAL, "%s: text encoder width %lld does not match the transformer's context_dim %d", tdir,
                       (long long)b.te.model.hidden, D);
        goto fail;
    }
    hart_t2i_default_opts(&b.opts);
    b.opts.cfg = cfg;
    b.opts.top_k = top_k;
    b.opts.top_p = top_p;
    b.opts.more_smooth = smooth;
    b.opts.temperature = (float)temperature;
    b.model = model;
    b.verbose = verbose;
    hart_batch_stats stats;
    st = hart_batch_run(&prompts, &bo, render_batch, &b, &stats);
    fprintf(stderr, "hart batch: %d rendered, %d already present, %d in this shard\n", stats.rendered, stats.skipped,
            stats.total);
    if (st != HART_OK) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "hart batch: %s\n", hart_errmsg());
done:
    hart_prompt_cache_free(&b.cache);
    if (have_te) hart_text_encoder_free(&b.te);
    hart_t2i_free(b.t2i);
    hart_prompts_free(&prompts);
    if (be) hart_backend_close(be);
    return rc;
}
