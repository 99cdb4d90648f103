/* hart generate: render images from a prompt (or a recorded text context).
 * Parsing through cli/args.c; the prompt -> image work is the library's
 * (pipeline/t2i_session.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/lpd_cli.h"
#include "cli/outpath.h"
#include "quant/qload.h"
#include "cli/progress.h"
#include "cli/seed.h"
#include "core/safetensors.h"
#include "io/grid.h"
#include "io/image.h"
#include "pipeline/t2i_session.h"

typedef struct {
    const char *model, *ctx_path, *prompt, *text_model, *out, *replay, *dump, *device, *neg, *grid, *precision;
    const char *sparse, *quant;
    hart_seed_arg seed;
    int n_images, timings, verbose, quiet, smooth, top_k, sparse_from, sparse_block;
    double cfg, top_p, temperature;
} gen_args;

/* The recorded context of --context FILE (kept open: tensors point into it). */
typedef struct {
    hart_safetensors st;
    int open;
    hart_tensor ctx, mask, pos;
    int has_pos;
} ctx_file;

static hart_status ctx_file_open(const char *path, int T, int D, ctx_file *c) {
    HART_TRY(hart_st_open(path, &c->st));
    c->open = 1;
    HART_TRY(hart_st_tensor(&c->st, "gen.context", &c->ctx));
    HART_TRY(hart_st_tensor(&c->st, "gen.context_mask", &c->mask));
    if (hart_st_find(&c->st, "gen.context_position_ids")) {
        HART_TRY(hart_st_tensor(&c->st, "gen.context_position_ids", &c->pos));
        c->has_pos = 1;
    }
    if (c->ctx.dtype != HART_F32 || c->ctx.ndim != 3)
        return hart_fail(HART_EINVAL, "%s: gen.context must be float32 [B,T,D]", path);
    if (c->ctx.shape[1] != T || c->ctx.shape[2] != D)
        return hart_fail(HART_EINVAL, "%s: gen.context is [%lld,%lld,%lld] but the model expects [B,%d,%d]", path,
                         (long long)c->ctx.shape[0], (long long)c->ctx.shape[1], (long long)c->ctx.shape[2], T, D);
    return HART_OK;
}

/* image files (+ --grid sheet) of img [B,3,H,W] */
static hart_status write_outputs(const gen_args *g, const hart_t2i_opts *o, const hart_tensor *img,
                                 const uint64_t *seeds) {
    int B = (int)img->shape[0];
    const char *extra[] = {"context", g->ctx_path ? g->ctx_path : "(prompt)", "replay", g->replay ? g->replay : "no",
                           NULL};
    for (int i = 0; i < B; i++) {
        char path[4096];
        hart_cli_numbered(g->out, i, B, path, sizeof path);
        hart_t2i_image_meta m = {g->prompt, g->neg, g->model, seeds[i], i, o, extra};
        HART_TRY(hart_t2i_save_image(path, img, i, &m));
        if (!g->quiet) printf("wrote %s (seed %llu)\n", path, (unsigned long long)seeds[i]);
    }
    if (!g->grid) return HART_OK;
    hart_image *ims = calloc((size_t)B, sizeof *ims);
    hart_status st = ims ? HART_OK : hart_fail(HART_ENOMEM, "grid");
    for (int i = 0; !st && i < B; i++) st = hart_image_from_tensor(img, i, &ims[i]);
    if (!st) st = hart_grid_write_seeds(g->grid, ims, seeds, B);
    for (int i = 0; ims && i < B; i++) hart_image_free(&ims[i]);
    free(ims);
    if (!st && !g->quiet) printf("wrote %s (grid of %d images)\n", g->grid, B);
    return st;
}

static int run(const gen_args *g, hart_t2i_opts *o) {
    int rc = 1;
    hart_status st;
    hart_t2i_session *s = NULL;
    ctx_file cf;
    memset(&cf, 0, sizeof cf);
    hart_safetensors rst;
    int have_r = 0;
    hart_tensor img = {0};
    uint64_t *seeds = NULL;
    hart_t2i_timings timings;
    memset(&timings, 0, sizeof timings);
    hart_progress pr;
    hart_progress_init(&pr, "generate", g->quiet);
    o->progress = hart_progress_t2i;
    o->progress_arg = &pr;
    if (g->timings) o->timings = &timings;
    double t0 = hart_clock();
    hart_t2i_session_opts so = {g->device, g->model, g->text_model, g->prompt != NULL, g->precision};
    hart_progress_note(&pr, "loading %s", g->model);
    if ((st = hart_t2i_session_open(&so, &s)) != HART_OK) goto fail;
    hart_progress_clear(&pr);
    const char *dev = g->device ? g->device : getenv("HART_DEVICE");
    if ((g->verbose || (dev && !strcmp(dev, "auto"))) && !g->quiet)
        fprintf(stderr, "hart generate: device: %s\n", hart_t2i_session_device_why(s));
    if (g->replay) {
        if ((st = hart_st_open(g->replay, &rst)) != HART_OK) goto fail;
        have_r = 1;
        o->replay = &rst;
    }
    if (g->dump && !(o->dump = hart_st_writer_new())) {
        st = hart_fail(HART_ENOMEM, "dump writer");
        goto fail;
    }
    if (g->prompt) {
        const char **prompts = malloc(sizeof(char *) * (size_t)g->n_images);
        seeds = malloc(sizeof(uint64_t) * (size_t)g->n_images);
        if (!prompts || !seeds) {
            free(prompts);
            st = hart_fail(HART_ENOMEM, "out of memory");
            goto fail;
        }
        for (int i = 0; i < g->n_images; i++) {
            prompts[i] = g->prompt;
            seeds[i] = o->seed + (uint64_t)i;
        }
        st = hart_t2i_session_render(s, prompts, seeds, g->n_images, o, &img);
        free(prompts);
        if (st) goto fail;
    } else {
        int T, D;
        hart_t2i_context_shape(hart_t2i_session_pipeline(s), &T, &D);
        if ((st = ctx_file_open(g->ctx_path, T, D, &cf)) != HART_OK) goto fail;
        if ((st = hart_t2i_generate(hart_t2i_session_pipeline(s), &cf.ctx, &cf.mask, cf.has_pos ? &cf.pos : NULL, o,
                                    &img)) != HART_OK)
            goto fail;
        int B = (int)img.shape[0];
        if (!(seeds = malloc(sizeof(uint64_t) * (size_t)B))) {
            st = hart_fail(HART_ENOMEM, "out of memory");
            goto fail;
        }
        for (int i = 0; i < B; i++) seeds[i] = o->seed; /* keyed (seed, index i) */
    }
    hart_progress_clear(&pr);
    if (g->timings) hart_t2i_timings_print(stderr, &timings);
    if ((st = write_outputs(g, o, &img, seeds)) != HART_OK) goto fail;
    if (o->dump && (st = hart_st_writer_save(o->dump, g->dump)) != HART_OK) goto fail;
    if (!g->quiet)
        printf("%d image%s in %.2f s\n", (int)img.shape[0], img.shape[0] == 1 ? "" : "s", hart_clock() - t0);
    rc = 0;
    goto done;
fail:
    hart_progress_clear(&pr);
    fprintf(stderr, "hart generate: %s\n", hart_errmsg());
done:
    hart_tensor_free(&img);
    free(seeds);
    if (cf.open) hart_st_close(&cf.st);
    if (have_r) hart_st_close(&rst);
    if (o->dump) hart_st_writer_free(o->dump);
    hart_t2i_session_close(s);
    return rc;
}

int cmd_generate(int argc, char **argv) {
    if (lpd_cli_wanted(argc, argv)) return cmd_generate_lpd(argc, argv);
    gen_args g = {.out = "out.png", .seed = {0, 1}, .n_images = 1, .cfg = 4.5, .temperature = 1.0, .sparse_from = -1};
    const hart_opt opts[] = {
        HART_OPT_MODEL(&g.model),
        {"prompt", 'p', HART_ARG_STR, &g.prompt, "TEXT", "text prompt (or give it as the argument)", NULL, 0, 0, NULL},
        HART_OPT_TEXT_MODEL(&g.text_model),
        HART_OPT_QUANT(&g.quant),
        {"context", 0, HART_ARG_STR, &g.ctx_path, "FILE",
         "instead of a prompt: safetensors with gen.context [B,T,D], gen.context_mask [B,T] (and "
         "gen.context_position_ids)", NULL, 0, 0, NULL},
        HART_OPT_OUTPUT(&g.out, "out.png"),
        {"images", 'n', HART_ARG_INT, &g.n_images, "N",
         "N images of the prompt in one batch, seeds S, S+1, ... (FILE_0.png, FILE_1.png, ...)", "1", 1, 4096, NULL},
        HART_OPT_SEED(&g.seed, "random"),
        HART_OPT_NEGATIVE(&g.neg),
        HART_OPT_CFG(&g.cfg),
        HART_OPT_TOP_K(&g.top_k),
        HART_OPT_TOP_P(&g.top_p),
        HART_OPT_SMOOTH(&g.smooth),
        HART_OPT_TEMPERATURE(&g.temperature),
        HART_OPT_GRID(&g.grid),
        HART_OPT_SPARSE_ATTN(&g.sparse),
        HART_OPT_SPARSE_FROM(&g.sparse_from),
        HART_OPT_SPARSE_BLOCK(&g.sparse_block),
        {"replay", 0, HART_ARG_STR, &g.replay, "FILE", "replay sampled indices and noise from a golden file", NULL, 0,
         0, NULL},
        {"dump", 0, HART_ARG_STR, &g.dump, "FILE", "write intermediate tensors (golden names) to FILE", NULL, 0, 0,
         NULL},
        HART_OPT_DEVICE(&g.device),
        HART_OPT_PRECISION(&g.precision),
        {"timings", 0, HART_ARG_FLAG, &g.timings, NULL, "per-stage times on stderr, waited for the device", NULL, 0, 0,
         NULL},
        HART_OPT_VERBOSE(&g.verbose),
        HART_OPT_QUIET(&g.quiet),
        HART_OPT_END};
    const hart_cmd_spec spec = {
        "generate", "[options] -m MODEL (-p PROMPT | PROMPT | --context FILE)",
        "Render images of a prompt with a HART model. Prints each file written with its seed and the time taken "
        "(stdout; -q: errors only); no --seed or --seed -1 picks a random seed (printed on stderr). A progress line "
        "is drawn on stderr while it is a terminal. LPD class-to-image models: hart generate -m LPD.pth --vq VQ.pt --class N [options] "
        "(see 'hart generate --vq x --help').",
        opts, 0, 1, 0};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    if (a.npos == 1) {
        if (g.prompt) return hart_args_usage_error(&spec, "give the prompt once (-p or as the argument)");
        g.prompt = a.pos[0];
    }
    if (!g.model) return hart_args_usage_error(&spec, "-m/--model is required");
    if (!g.ctx_path && !g.prompt) return hart_args_usage_error(&spec, "give -p PROMPT (or the prompt) or --context FILE");
    if (g.ctx_path && g.prompt) return hart_args_usage_error(&spec, "--context and -p are exclusive");
    if (g.ctx_path && g.n_images > 1)
        return hart_args_usage_error(&spec, "-n applies to -p (a --context file gives its own batch)");
    if (g.ctx_path && g.neg && *g.neg) return hart_args_usage_error(&spec, "--negative-prompt needs -p (a prompt)");
    if (g.ctx_path && g.text_model) return hart_args_usage_error(&spec, "--text-model needs -p (a prompt)");
    if (g.verbose && g.quiet) return hart_args_usage_error(&spec, "-v and -q are exclusive");
    hart_sparse_cfg sparse;
    if ((rc = hart_args_parse_sparse(&spec, g.sparse, g.sparse_from, g.sparse_block, &sparse)) >= 0) return rc;
    if (hart_image_format_of(g.out) == HART_IMG_UNKNOWN)
        return hart_args_usage_error(&spec, "-o %s: unknown image extension (expected .png, .jpg or .jpeg)", g.out);
    if (g.grid && hart_image_format_of(g.grid) == HART_IMG_UNKNOWN)
        return hart_args_usage_error(&spec, "--grid %s: unknown image extension (expected .png, .jpg or .jpeg)",
                                     g.grid);
    /* checks before work: output paths, then the model folders */
    if (hart_cli_check_out_file("generate", "-o", g.out) ||
        (g.dump && hart_cli_check_out_file("generate", "--dump", g.dump)) ||
        (g.grid && hart_cli_check_out_file("generate", "--grid", g.grid)))
        return 1;
    if (g.quant) {
        hart_qformat qf;
        if (hart_qformat_parse(g.quant, &qf)) return hart_args_usage_error(&spec, "%s", hart_errmsg());
        hart_quant_set_on_load(qf);
    }
    hart_t2i_session_opts so = {g.device, g.model, g.text_model, g.prompt != NULL, g.precision};
    if (hart_t2i_session_check(&so)) {
        fprintf(stderr, "hart generate: %s\n", hart_errmsg());
        return 1;
    }
    if (hart_args_parse_only) return 0;
    if (hart_seed_resolve(&g.seed) && !g.quiet)
        fprintf(stderr, "hart generate: seed %llu (random; --seed %llu repeats this run)\n",
                (unsigned long long)g.seed.value, (unsigned long long)g.seed.value);
    hart_t2i_opts o;
    hart_t2i_default_opts(&o);
    o.seed = g.seed.value;
    o.cfg = g.cfg;
    o.top_k = g.top_k;
    o.top_p = g.top_p;
    o.more_smooth = g.smooth;
    o.temperature = (float)g.temperature;
    o.verbose = g.verbose;
    o.negative_prompt = g.neg;
    o.sparse = &sparse;
    return run(&g, &o);
}
