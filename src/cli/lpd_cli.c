/* Shared LPD setup of the CLI (see lpd_cli.h). */
#include "cli/lpd_cli.h"
#include "cli/seed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checkpoint.h"
#include "io/image.h"
#include "models/lpd/lpd_order.h"

int lpd_cli_options(lpd_cli_opts *o, hart_opt *r) {
    memset(o, 0, sizeof *o);
    o->order = "lpd";
    o->schedule = "linear";
    o->cfg = 4.9;
    o->temperature = 1.0;
    o->top_p = 1.0;
    o->proximity = 1.0;
    o->repulsion = -1; /* 2 up to 16x16 tokens, 4 above, as the release's order files */
    const hart_opt rows[] = {
        {"model", 'm', HART_ARG_STR, &o->model, "FILE", "LPD checkpoint (.pth as released, or .safetensors)", NULL, 0, 0, NULL},
        {"vq", 0, HART_ARG_STR, &o->vq, "FILE", "LlamaGen VQ tokenizer (vq_ds16_c2i.pt)", NULL, 0, 0, NULL},
        {"config", 0, HART_ARG_STR, &o->config, "FILE", "JSON with \"lpd\" / \"vq\" sections checked against the tensors", NULL, 0, 0, NULL},
        {"steps", 0, HART_ARG_INT, &o->steps, "N", "generation steps (a schedule of configs/lpd-group-sizes.json)", "20 (256 px), 48 (512 px)", 1, 4096, NULL},
        {"group-sizes", 0, HART_ARG_STR, &o->group_sizes, "LIST", "explicit schedule, e.g. 1,2,4,... (sums to the token count)", NULL, 0, 0, NULL},
        {"order", 0, HART_ARG_STR, &o->order, "lpd|random|FILE", "generation order: locality-aware, random, or a release order file", "lpd", 0, 0, NULL},
        {"repulsion", 0, HART_ARG_FLOAT, &o->repulsion, "X", "repulsion box of --order lpd", "2 (<= 16x16 tokens), 4", 0, 64, NULL},
        {"proximity", 0, HART_ARG_FLOAT, &o->proximity, "X", "proximity threshold of --order lpd", "1", 0, 16, NULL},
        {"cfg", 0, HART_ARG_FLOAT, &o->cfg, "X", "guidance scale (1 = off)", "4.9", 1, 100, NULL},
        {"cfg-schedule", 0, HART_ARG_CHOICE, &o->schedule, "S", "guidance schedule", "linear", 0, 0, "linear|constant"},
        {"temperature", 0, HART_ARG_FLOAT, &o->temperature, "T", "sampling temperature", "1", 0, 100, NULL},
        {"top-k", 0, HART_ARG_INT, &o->top_k, "N", "top-k filtering (0 = off)", "0", 0, 1 << 30, NULL},
        {"top-p", 0, HART_ARG_FLOAT, &o->top_p, "P", "nucleus filtering (1 = off)", "1", 0, 1, NULL},
        HART_OPT_SEED(&o->seed_arg, "0"),
        HART_OPT_DEVICE(&o->device),
        HART_OPT_PRECISION(&o->precision),
        HART_OPT_QUIET(&o->quiet),
    };
    memcpy(r, rows, sizeof rows);
    return (int)(sizeof rows / sizeof rows[0]);
}

void lpd_cli_seed(lpd_cli_opts *o, const char *cmd) {
    if (hart_seed_resolve(&o->seed_arg) && !o->quiet)
        fprintf(stderr, "hart %s: seed %llu (random; --seed %llu repeats this run)\n", cmd,
                (unsigned long long)o->seed_arg.value, (unsigned long long)o->seed_arg.value);
    o->seed = o->seed_arg.value;
}

int lpd_cli_wanted(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--vq") || !strncmp(argv[i], "--vq=", 5)) return 1;
    }
    return 0;
}

static hart_status parse_groups(const char *s, int *g, int *K) {
    *K = 0;
    for (const char *p = s; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1 << 20 || (*end && *end != ',') || *K == LPD_CLI_MAX_STEPS)
            return hart_fail(HART_EINVAL, "--group-sizes '%s': expected positive integers separated by commas", s);
        g[(*K)++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (!*K) return hart_fail(HART_EINVAL, "--group-sizes is empty");
    return HART_OK;
}

hart_status lpd_cli_open(const lpd_cli_opts *o, lpd_cli *c) {
    memset(c, 0, sizeof *c);
    if (!o->model) return hart_fail(HART_EINVAL, "missing -m/--model (the LPD checkpoint)");
    if (!o->vq) return hart_fail(HART_EINVAL, "missing --vq (the VQ tokenizer checkpoint)");
    cJSON *cfg = NULL;
    if (o->config) HART_TRY(hart_json_load(o->config, &cfg));
    hart_precision prec;
    hart_status s = hart_precision_parse(o->precision, &prec);
    if (!s) s = hart_backend_open_prec(o->device, prec, &c->be, c->why, sizeof c->why);
    if (!s) s = hart_lpd_load(c->be, o->model, cJSON_GetObjectItem(cfg, "lpd"), &c->m);
    if (!s) s = hart_vq_load(c->be, o->vq, cJSON_GetObjectItem(cfg, "vq"), &c->vq);
    cJSON_Delete(cfg);
    if (s) return s;
    const hart_lpd_config *lc = hart_lpd_get_config(c->m);
    const hart_vq_info *vi = hart_vq_get_info(c->vq);
    if (vi->codebook_size != lc->V)
        return hart_fail(HART_EMISMATCH, "%s has a codebook of %d entries but %s a vocabulary of %d", o->vq, vi->codebook_size,
                         o->model, lc->V);
    if (o->group_sizes) return parse_groups(o->group_sizes, c->g, &c->K);
    /* the table is keyed by the release image size, 16 px per token: a schedule depends only on the
     * token count, so a VQ of another downsampling (models/lpd-shapes: 64 px, 16x16 tokens) uses the
     * 256-token schedules */
    int px = lc->grid * 16, steps = o->steps ? o->steps : px > 256 ? 48 : 20;
    s = hart_lpd_schedule(px, steps, c->g, LPD_CLI_MAX_STEPS, &c->K);
    if (s) return hart_fail_ctx(s, "pick another --steps or give --group-sizes");
    return HART_OK;
}

hart_status lpd_cli_orders(const lpd_cli_opts *o, const lpd_cli *c, int64_t first, int count, int64_t *orders) {
    const hart_lpd_config *lc = hart_lpd_get_config(c->m);
    int N = lc->N;
    double rep = o->repulsion >= 0 ? o->repulsion : lc->grid <= 16 ? 2.0 : 4.0;
    if (strcmp(o->order, "lpd") && strcmp(o->order, "random")) return hart_lpd_orders_load(o->order, N, first, count, orders);
    for (int i = 0; i < count; i++) {
        uint64_t stream = hart_rng_stream((uint32_t)(first + i), HART_LPD_RNG_SITE_ORDER, 0);
        if (!strcmp(o->order, "random")) hart_lpd_order_random(N, o->seed, stream, orders + (size_t)i * N);
        else HART_TRY(hart_lpd_order_lpd(c->g, c->K, lc->grid, o->proximity, rep, o->seed, stream, orders + (size_t)i * N, NULL));
    }
    return HART_OK;
}

void lpd_cli_params(const lpd_cli_opts *o, const lpd_cli *c, hart_c2i_params *p) {
    memset(p, 0, sizeof *p);
    p->group_sizes = c->g;
    p->K = c->K;
    p->cfg = o->cfg;
    p->schedule = strcmp(o->schedule, "constant") ? HART_CFG_LINEAR : HART_CFG_CONSTANT;
    p->sample.temperature = (float)(o->temperature > 1e-5 ? o->temperature : 1e-5);
    p->sample.top_k = o->top_k;
    p->sample.top_p = (float)o->top_p;
    p->seed = o->seed;
}

void lpd_cli_close(lpd_cli *c) {
    hart_lpd_free(c->m);
    hart_vq_free(c->vq);
    if (c->be) hart_backend_close(c->be);
    memset(c, 0, sizeof *c);
}

/* image i of img [B,3,H,W] in [0,1] -> path, with its parameters as metadata */
hart_status lpd_save_image(const char *path, const hart_tensor *img, int i, const char *model, int64_t label,
                           uint64_t seed, int64_t index) {
    char params[512];
    snprintf(params, sizeof params, "model: %s, class: %lld, seed: %llu, index: %lld", model, (long long)label,
             (unsigned long long)seed, (long long)index);
    hart_image im;
    HART_TRY(hart_image_from_tensor(img, i, &im));
    hart_image_text t = {(char *)"parameters", params};
    hart_status s = hart_image_write(path, &im, &t, 1, 0);
    hart_image_free(&im);
    return s;
}
