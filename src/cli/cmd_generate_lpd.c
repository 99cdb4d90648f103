/* hart generate for LPD class-to-image models (selected by --vq):
 *   hart generate -m lpd.pth --vq vq.pt --class 207 [-n N] -o out.png
 *   hart generate -m lpd.pth --vq vq.pt --replay golden.safetensors --dump t.safetensors -o x.png
 * A replay file gives the labels, orders, group sizes and tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/lpd_cli.h"
#include "core/safetensors.h"

typedef struct {
    hart_st_writer *w;
} dump_ctx;

static hart_status dump_tensor(void *ctx, const char *name, const hart_tensor *t) {
    return hart_st_writer_add(((dump_ctx *)ctx)->w, name, t);
}

static void out_name(const char *base, int i, int n, char *buf, size_t sz) {
    const char *dot = strrchr(base, '.'), *slash = strrchr(base, '/');
    if (n == 1) snprintf(buf, sz, "%s", base);
    else if (dot && (!slash || dot > slash)) snprintf(buf, sz, "%.*s_%d%s", (int)(dot - base), base, i, dot);
    else snprintf(buf, sz, "%s_%d", base, i);
}

/* I64 tensor `name` of the replay file with `n` entries (n < 0: any) */
static hart_status replay_i64(const hart_safetensors *st, const char *name, int64_t n, hart_tensor *t) {
    HART_TRY(hart_st_tensor(st, name, t));
    if (t->dtype != HART_I64 || (n >= 0 && hart_tensor_numel(t) != n))
        return hart_fail(HART_EFORMAT, "%s: %s must be I64 with %lld entries", st->path, name, (long long)n);
    return HART_OK;
}

int cmd_generate_lpd(int argc, char **argv) {
    lpd_cli_opts o;
    const char *out = "out.png", *replay = NULL, *dump = NULL;
    int label = -1, n = 1, verbose = 0;
    hart_opt opts[40];
    int k = lpd_cli_options(&o, opts);
    const hart_opt more[] = {
        HART_OPT_OUTPUT(&out, "out.png"),
        {"class", 0, HART_ARG_INT, &label, "N", "ImageNet class of the images", NULL, 0, 1 << 30, NULL},
        {"num-images", 'n', HART_ARG_INT, &n, "N", "images of that class (FILE_0.png, FILE_1.png, ...)", "1", 1, 4096, NULL},
        {"replay", 0, HART_ARG_STR, &replay, "FILE", "rerun a golden file: its labels, orders, group sizes and tokens", NULL, 0, 0, NULL},
        {"dump", 0, HART_ARG_STR, &dump, "FILE", "write every step's tensors under the golden names", NULL, 0, 0, NULL},
        HART_OPT_VERBOSE(&verbose),
        HART_OPT_END};
    memcpy(opts + k, more, sizeof more);
    const hart_cmd_spec spec = {"generate", "-m LPD.pth --vq VQ.pt --class N [options]",
                                "Class-to-image generation with an LPD model and the LlamaGen VQ decoder.", opts, 0, 0, 0};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    if (!replay && label < 0) return hart_args_usage_error(&spec, "give --class N (or --replay FILE)");
    if (replay && (hart_args_given(&spec, &a, "class") || hart_args_given(&spec, &a, "num-images")))
        return hart_args_usage_error(&spec, "--replay takes the labels from the file; drop --class and -n");
    if (hart_args_parse_only) return 0;
    lpd_cli_seed(&o, "generate");
    lpd_cli c;
    hart_safetensors rst;
    int have_r = 0;
    int64_t *labels = NULL, *orders = NULL;
    hart_tensor img = {0};
    dump_ctx dc = {NULL};
    hart_c2i_params p;
    hart_status st;
    rc = 1;
    if (replay) {
        if ((st = hart_st_open(replay, &rst))) goto fail;
        have_r = 1;
        hart_tensor gs;
        if ((st = replay_i64(&rst, "lpd.group_sizes", -1, &gs))) goto fail;
        char list[LPD_CLI_MAX_STEPS * 8] = "";
        for (int64_t i = 0; i < hart_tensor_numel(&gs) && i < LPD_CLI_MAX_STEPS; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%lld", i ? "," : "", (long long)((int64_t *)gs.data)[i]);
        o.group_sizes = list;
        if ((st = lpd_cli_open(&o, &c))) goto fail;
    } else if ((st = lpd_cli_open(&o, &c))) {
        goto fail;
    }
    const hart_lpd_config *lc = hart_lpd_get_config(c.m);
    lpd_cli_params(&o, &c, &p);
    if (replay) {
        hart_tensor lt, ot;
        if ((st = replay_i64(&rst, "lpd.labels", -1, &lt))) goto fail;
        n = (int)hart_tensor_numel(&lt);
        if ((st = replay_i64(&rst, "lpd.order", (int64_t)n * lc->N, &ot))) goto fail;
        labels = malloc(sizeof(int64_t) * (size_t)n);
        orders = malloc(sizeof(int64_t) * (size_t)n * lc->N);
        if (!labels || !orders) { st = hart_fail(HART_ENOMEM, "out of memory"); goto fail; }
        memcpy(labels, lt.data, sizeof(int64_t) * (size_t)n);
        memcpy(orders, ot.data, sizeof(int64_t) * (size_t)n * lc->N);
        p.replay = &rst;
    } else {
        if (label >= lc->n_classes) {
            st = hart_fail(HART_EINVAL, "--class %d: the model has classes 0..%d", label, lc->n_classes - 1);
            goto fail;
        }
        labels = malloc(sizeof(int64_t) * (size_t)n);
        orders = malloc(sizeof(int64_t) * (size_t)n * lc->N);
        if (!labels || !orders) { st = hart_fail(HART_ENOMEM, "out of memory"); goto fail; }
        for (int i = 0; i < n; i++) labels[i] = label;
        if ((st = lpd_cli_orders(&o, &c, 0, n, orders))) goto fail;
    }
    p.B = n;
    p.labels = labels;
    p.orders = orders;
    if (dump) {
        dc.w = hart_st_writer_new();
        if (!dc.w) { st = hart_fail(HART_ENOMEM, "out of memory"); goto fail; }
        p.observe = dump_tensor;
        p.observe_ctx = &dc;
    }
    if (verbose) fprintf(stderr, "hart generate: device: %s\n", c.why);
    if (verbose) fprintf(stderr, "hart: LPD %d blocks, width %d, %d tokens, %d steps, %d image(s)\n", lc->depth, lc->D, lc->N, c.K, n);
    if ((st = hart_c2i_generate(c.m, c.vq, &p, NULL, &img))) goto fail;
    for (int i = 0; i < n; i++) {
        char path[4096];
        out_name(out, i, n, path, sizeof path);
        if ((st = lpd_save_image(path, &img, i, o.model, labels[i], o.seed, i))) goto fail;
        if (verbose) fprintf(stderr, "hart: wrote %s\n", path);
    }
    if (dc.w && (st = hart_st_writer_save(dc.w, dump))) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "hart generate: %s\n", hart_errmsg());
done:
    hart_tensor_free(&img);
    free(labels);
    free(orders);
    if (dc.w) hart_st_writer_free(dc.w);
    if (have_r) hart_st_close(&rst);
    lpd_cli_close(&c);
    return rc;
}
