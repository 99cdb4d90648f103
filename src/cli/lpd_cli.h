/* What `hart generate` and `hart batch` share for LPD models: the options,
 * loading the LPD checkpoint and the VQ, the step schedule and the orders. */
#ifndef HART_CLI_LPD_CLI_H
#define HART_CLI_LPD_CLI_H

#include "backend/backend.h"
#include "cli/args.h"
#include "pipeline/c2i.h"

#define LPD_CLI_MAX_STEPS 4096

typedef struct {
    const char *model, *vq, *config, *device, *order, *group_sizes, *schedule;
    const char *precision;  /* --precision: f32, f16 or NULL (the device's default) */
    int steps, top_k;
    double cfg, temperature, top_p, repulsion, proximity;
    uint64_t seed;          /* seed_arg resolved (lpd_cli_seed) */
    hart_seed_arg seed_arg; /* --seed: default 0, -1 = random */
    int quiet;              /* -q: print only errors */
} lpd_cli_opts;

typedef struct {
    hart_backend *be;
    hart_lpd *m;
    hart_vq *vq;
    int g[LPD_CLI_MAX_STEPS], K;
    char why[768];          /* why this device and precision (printed with -v) */
} lpd_cli;

/* The option rows shared by both commands (kept in one place so they are
 * spelled the same); fills o's defaults. Returns the number of rows written. */
int lpd_cli_options(lpd_cli_opts *o, hart_opt *rows);
/* --seed -1: pick and print a random seed ("hart CMD: seed N"); o->seed = the seed. */
void lpd_cli_seed(lpd_cli_opts *o, const char *cmd);
/* 1 when argv asks for an LPD run (--vq given). */
int lpd_cli_wanted(int argc, char **argv);
/* Open the device and load both models; the schedule from --group-sizes or
 * the lookup table (image size and --steps). */
hart_status lpd_cli_open(const lpd_cli_opts *o, lpd_cli *c);
/* Orders of images first .. first+count-1 into orders[count*N]. */
hart_status lpd_cli_orders(const lpd_cli_opts *o, const lpd_cli *c, int64_t first, int count, int64_t *orders);
/* Generation parameters (labels/orders/replay/observe left to the caller). */
void lpd_cli_params(const lpd_cli_opts *o, const lpd_cli *c, hart_c2i_params *p);
void lpd_cli_close(lpd_cli *c);
/* Image i of img [B,3,H,W] in [0,1] to `path` (PNG/JPEG), its class, seed and
 * index as metadata. */
hart_status lpd_save_image(const char *path, const hart_tensor *img, int i, const char *model, int64_t label,
                           uint64_t seed, int64_t index);

/* cmd_reconstruct_vq.c: 1 if path is a regular file (a VQ checkpoint file,
 * where other autoencoders are folders); the VQ round trip of `reconstruct`. */
int cli_is_file(const char *path);
int reconstruct_vq(const char *image, const char *model, const char *device, const char *precision, const char *out);

#endif
