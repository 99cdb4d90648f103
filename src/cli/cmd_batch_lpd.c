/* hart batch for LPD class-to-image models (selected by --vq): every class
 * of --classes, -n images each, into numbered files, resumable and
 * shardable like prompt batches (pipeline/batch.h); --npz writes all
 * images as the uint8 `arr_0` [N,H,W,3] of ImageNet FID evaluators. Image
 * k is rendered alone with seed base + k, so it equals
 * `hart generate --class C --seed <its seed>` with the same options (an
 * order file gives image k its k-th order, as the release's evaluation). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/lpd_cli.h"
#include "core/npz.h"
#include "io/image.h"
#include "pipeline/batch.h"

typedef struct {
    lpd_cli_opts o;
    lpd_cli c;
    int verbose;
} batch_lpd;

/* One image (LPD renders one image per call). */
static hart_status render_one(void *vctx, const char *prompt, uint64_t seed, int64_t index, const char *path) {
    batch_lpd *b = vctx;
    const hart_lpd_config *lc = hart_lpd_get_config(b->c.m);
    int64_t label = atoll(prompt), *order = malloc(sizeof(int64_t) * (size_t)lc->N);
    if (!order) return hart_fail(HART_ENOMEM, "out of memory");
    lpd_cli_opts o = b->o;
    o.seed = seed;
    int file = strcmp(o.order, "lpd") && strcmp(o.order, "random");
    hart_status s = lpd_cli_orders(&o, &b->c, file ? index : 0, 1, order);
    hart_c2i_params p;
    lpd_cli_params(&o, &b->c, &p);
    p.B = 1;
    p.labels = &label;
    p.orders = order;
    hart_tensor img = {0};
    if (!s) s = hart_c2i_generate(b->c.m, b->c.vq, &p, NULL, &img);
    if (!s) s = lpd_save_image(path, &img, 0, o.model, label, seed, index);
    if (!s && b->verbose) fprintf(stderr, "hart batch: wrote %s (class %lld, seed %llu)\n", path, (long long)label, (unsigned long long)seed);
    hart_tensor_free(&img);
    free(order);
    return s;
}

static hart_status render(void *vctx, const hart_batch_item *items, int n) {
    hart_status s = HART_OK;
    for (int i = 0; i < n && !s; i++) s = render_one(vctx, items[i].prompt, items[i].seed, items[i].index, items[i].path);
    return s;
}

/* "0-999", "1,5,7", "0-9,20" -> classes */
static hart_status parse_classes(const char *s, int n_classes, int **out, int *n) {
    *n = 0;
    *out = NULL;
    for (const char *p = s; *p;) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p) goto bad;
        if (*end == '-') {
            const char *q = end + 1;
            b = strtol(q, &end, 10);
            if (end == q) goto bad;
        }
        if (a < 0 || b < a || b >= n_classes || (*end && *end != ','))
            return hart_fail(HART_EINVAL, "--classes '%s': classes must lie in 0..%d, ranges ascending", s, n_classes - 1);
        int *g = realloc(*out, sizeof(int) * (size_t)(*n + (b - a + 1)));
        if (!g) return hart_fail(HART_ENOMEM, "out of memory");
        *out = g;
        for (long c = a; c <= b; c++) (*out)[(*n)++] = (int)c;
        p = *end ? end + 1 : end;
    }
    if (*n) return HART_OK;
bad:
    return hart_fail(HART_EINVAL, "--classes '%s': expected a list like 0-999 or 1,5,7", s);
}

/* every image of the run, in index order, into the npz */
static hart_status write_npz(const char *npz, const hart_batch_opts *bo, const hart_prompt_list *pl) {
    int64_t total = (int64_t)pl->n * bo->per_prompt;
    hart_npz_writer w;
    hart_status s = HART_OK;
    char file[1024], path[4096];
    for (int64_t k = 0; k < total && !s; k++) {
        hart_batch_filename(bo, &pl->items[k / bo->per_prompt], k, (int)(k % bo->per_prompt), file, sizeof file);
        snprintf(path, sizeof path, "%s/%s", bo->out_dir, file);
        hart_image im;
        s = hart_image_read(path, &im);
        if (s) { s = hart_fail_ctx(s, "--npz needs every image of the run (other shards not finished?)"); break; }
        if (k == 0) s = hart_npz_begin_u8(&w, npz, "arr_0", 4, (int64_t[]){total, im.height, im.width, 3});
        if (!s) s = hart_npz_put(&w, im.rgb, (size_t)im.width * im.height * 3);
        hart_image_free(&im);
        if (s && k) hart_npz_abort(&w);
    }
    if (!s) s = hart_npz_finish(&w);
    return s;
}

int cmd_batch_lpd(int argc, char **argv) {
    batch_lpd b;
    const char *out_dir = NULL, *classes = NULL, *shard_s = NULL, *npz = NULL, *format = "png";
    int per_class = 1, digits = 5;
    hart_opt opts[40];
    int k = lpd_cli_options(&b.o, opts);
    b.verbose = 0;
    const hart_opt more[] = {
        {"output", 'o', HART_ARG_STR, &out_dir, "DIR", "output folder (created if missing)", NULL, 0, 0, NULL},
        {"classes", 0, HART_ARG_STR, &classes, "LIST", "classes, e.g. 0-999 or 1,5,7", NULL, 0, 0, NULL},
        {"num-images", 'n', HART_ARG_INT, &per_class, "N", "images per class", "1", 1, 1000000, NULL},
        {"shard", 0, HART_ARG_STR, &shard_s, "I/N", "render only images with index % N == I", "0/1", 0, 0, NULL},
        {"format", 'f', HART_ARG_CHOICE, &format, "EXT", "image format", "png", 0, 0, "png|jpg"},
        {"digits", 0, HART_ARG_INT, &digits, "N", "zero padding of numbered file names", "5", 1, 18, NULL},
        {"npz", 0, HART_ARG_STR, &npz, "FILE", "also write all images as uint8 arr_0 [N,H,W,3]", NULL, 0, 0, NULL},
        HART_OPT_VERBOSE(&b.verbose),
        HART_OPT_END};
    memcpy(opts + k, more, sizeof more);
    const hart_cmd_spec spec = {"batch", "-m LPD.pth --vq VQ.pt --classes LIST -o DIR [options]",
                                "Render -n images of each class with an LPD model (image k: seed base + k); "
                                "a rerun skips the images already written.", opts, 0, 0, 0};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    if (!out_dir) return hart_args_usage_error(&spec, "missing -o DIR");
    if (!classes) return hart_args_usage_error(&spec, "missing --classes LIST");
    int shard = 0, nsh = 1;
    if (shard_s && (rc = hart_args_parse_shard(&spec, shard_s, &shard, &nsh)) >= 0) return rc;
    if (hart_args_parse_only) return 0;
    lpd_cli_seed(&b.o, "batch");
    int *cls = NULL, ncls = 0;
    hart_prompt_list pl = {NULL, 0};
    hart_status s = lpd_cli_open(&b.o, &b.c);
    if (!s && b.verbose) fprintf(stderr, "hart batch: device: %s\n", b.c.why);
    if (!s) s = parse_classes(classes, hart_lpd_get_config(b.c.m)->n_classes, &cls, &ncls);
    if (!s) {
        pl.items = calloc((size_t)ncls, sizeof *pl.items);
        if (!pl.items) s = hart_fail(HART_ENOMEM, "out of memory");
    }
    for (int i = 0; !s && i < ncls; i++) {
        char t[16];
        snprintf(t, sizeof t, "%d", cls[i]);
        pl.items[i].prompt = strdup(t);
        pl.items[i].line = i + 1;
        pl.n++;
        if (!pl.items[i].prompt) s = hart_fail(HART_ENOMEM, "out of memory");
    }
    if (!s && mkdir(out_dir, 0777) != 0 && access(out_dir, W_OK) != 0)
        s = hart_fail(HART_EIO, "%s: cannot create the output folder", out_dir);
    hart_batch_opts bo = {out_dir, format, b.o.seed, per_class, shard, nsh, digits, 1};
    hart_batch_stats stats = {0, 0, 0};
    if (!s) s = hart_batch_run(&pl, &bo, render, &b, &stats);
    if (!s) fprintf(stderr, "hart batch: %d rendered, %d already present, %d in this shard\n", stats.rendered, stats.skipped, stats.total);
    if (!s && npz) s = write_npz(npz, &bo, &pl);
    if (s) fprintf(stderr, "hart batch: %s\n", hart_errmsg());
    for (int i = 0; i < pl.n; i++) free(pl.items[i].prompt);
    free(pl.items);
    free(cls);
    lpd_cli_close(&b.c);
    return s ? 1 : 0;
}
