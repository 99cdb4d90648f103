/* Sparse attention benchmark: one transformer layer's attention at HART's
 * three largest scales, dense (hart_op_attention, what the transformer calls
 * without --sparse-attn) against each policy through hart_sparse_attention
 * (the function the transformer calls with --sparse-attn: local's mask built
 * on the host and uploaded, quest's and xattn's made by op block_mask on the
 * backend, then hart_op_attention_sparse). Shapes of HART-0.7B
 * (24 heads of 64, guidance batch N = 2 for one image, context 300 tokens):
 * scale si attends its pn² queries to 300 + Σ_{k=1..si} pn_k² keys. The
 * backend is synced before every clock reading. Columns: "mask ms" the
 * policy alone (local: host builder; xattn/quest: op block_mask on the
 * backend), "op ms" hart_op_attention_sparse alone with that mask, "total
 * ms" the product path (hart_sparse_attention without a density, as the
 * generation loop runs it without -v); speedups
 * are dense / total and dense / op. Inputs are random, so the
 * data-dependent policies (xattn, quest) see flat attention: their density
 * here is what random logits give, not what a trained model gives.
 *
 *   bench_sparse_attn [--device SPEC] [--size 512|1024] [--reps N]
 *                     [--block N] [--policies LIST] [--images B] [--precision f32|f16]
 *
 *   --device SPEC    cpu, opencl, opencl:P:D, auto (default $HART_DEVICE, else cpu)
 *   --size S         512 (default) or 1024 px scale list
 *   --reps N         timed repetitions per row, median printed (default 3)
 *   --block N        tile size (default 64)
 *   --policies LIST  comma list of specs (default local:1,local:2,local:4,xattn:0.5,xattn:0.9,quest:4,quest:8;
 *                    "none": dense only)
 *   --images B       images per batch (N = 2B rows; default 1)
 *   --precision P    f32 (default) or f16 (the GPU default: on NVIDIA with $HART_CL_TENSOR_CORES=1
 *                    both ops run the tensor-core flash kernel)
 * "TFLOP/s": 4·N·H·Lq·Lk·D (the two products) per second for dense; for a
 * policy the kept fraction of that (× density) over the op's time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "models/hart/sparse_attn.h"
#include "ops/ops.h"
#include "pipeline/t2i_timings.h"
#include "support/golden.h"

static const int PN512[] = {1, 2, 3, 4, 6, 9, 13, 18, 24, 32};
static const int PN1024[] = {1, 2, 3, 4, 5, 7, 9, 12, 16, 21, 27, 36, 48, 64};
#define CTX 300
#define HEADS 24
#define HD 64

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what) {
    fprintf(stderr, "bench_sparse_attn: %s: %s\n", what, hart_errmsg());
    exit(1);
}

/* the policy's mask on host copies (q, k host tensors), its density */
static uint8_t *build_mask(const hart_sparse_cfg *c, const hart_sparse_geom *g, const hart_tensor *q,
                           const hart_tensor *k, int64_t *nb, int64_t *nh, double *dens) {
    int N = (int)q->shape[0], H = (int)q->shape[1], D = (int)q->shape[3], Hkv = (int)k->shape[1];
    int per_head = c->kind != HART_SPARSE_LOCAL;
    *nb = per_head ? N : 1;
    *nh = per_head ? H : 1;
    uint8_t *m = malloc((size_t)(*nb * *nh * hart_sparse_nqb(g) * hart_sparse_nkb(g)));
    if (!m) die("mask");
    hart_status st = HART_OK;
    if (c->kind == HART_SPARSE_LOCAL) hart_sparse_local(g, c->param, m);
    else if (c->kind == HART_SPARSE_XATTN) st = hart_sparse_xattn(g, c->param, q->data, k->data, N, H, Hkv, D, 0.03125f, m);
    else st = hart_sparse_quest(g, (int)c->param, q->data, k->data, N, H, Hkv, D, m);
    if (st) die("policy");
    *dens = hart_sparse_density(g, m, *nb, *nh);
    return m;
}

static double median(double *t, int n) {
    qsort(t, (size_t)n, sizeof t[0], cmp_d);
    return t[n / 2];
}

/* median seconds of: the policy alone (*mask_s) and the op alone with its mask (*op_s) */
static void time_parts(hart_backend *be, const hart_sparse_cfg *c, const hart_sparse_geom *g, hart_tensor *o,
                       const hart_tensor *hq, const hart_tensor *hk, const hart_tensor *q, const hart_tensor *k,
                       const hart_tensor *v, int reps, double *mask_s, double *op_s) {
    double tm[64], to[64];
    if (reps > 64) reps = 64;
    for (int r = 0; r < reps; r++) {
        int64_t nb, nh;
        double dens, t0 = hart_clock();
        hart_tensor md;
        uint8_t *m = NULL;
        if (c->kind == HART_SPARSE_LOCAL) { /* host builder + upload (cached per scale in the transformer) */
            m = build_mask(c, g, hq, hk, &nb, &nh, &dens);
            tm[r] = hart_clock() - t0;
            hart_tensor mh = hart_tensor_wrap(m, HART_U8, 4, (int64_t[]){nb, nh, hart_sparse_nqb(g), hart_sparse_nkb(g)});
            if (hart_tensor_to(be, &mh, &md) || hart_backend_wait(be)) die("mask upload");
        } else { /* op block_mask where q and k are, as hart_sparse_attention does */
            hart_block_mask_spec sp = hart_sparse_mask_spec(c, g, 0.03125f);
            if (hart_tensor_new_uninit(be, HART_U8, 4, (int64_t[]){q->shape[0], q->shape[1], hart_sparse_nqb(g),
                                                                  hart_sparse_nkb(g)}, &md) || hart_backend_wait(be))
                die("mask tensor");
            t0 = hart_clock();
            if (hart_op_block_mask(&md, q, k, &sp) || hart_backend_wait(be)) die("block_mask");
            tm[r] = hart_clock() - t0;
        }
        t0 = hart_clock();
        if (hart_op_attention_sparse(o, q, k, v, NULL, &md, g->block, g->block, 0.03125f) || hart_backend_wait(be))
            die("attention_sparse");
        to[r] = hart_clock() - t0;
        hart_tensor_free(&md);
        free(m);
    }
    *mask_s = median(tm, reps);
    *op_s = median(to, reps);
}

/* median seconds of reps runs; c NULL = dense */
static double time_one(hart_backend *be, const hart_sparse_cfg *c, const hart_sparse_geom *g, hart_tensor *o,
                       const hart_tensor *q, const hart_tensor *k, const hart_tensor *v, int reps, double *density) {
    double t[64];
    float scale = 0.03125f; /* HART: 0.25 / sqrt(64) */
    if (reps > 64) reps = 64;
    for (int r = -1; r < reps; r++) { /* one untimed warm-up run */
        if (hart_backend_wait(be)) die("sync");
        double t0 = hart_clock();
        /* per call: mask built each time; the density (a mask copy to the host) from the warm-up only */
        hart_status st = c ? hart_sparse_attention(c, g, o, q, k, v, scale, NULL, r < 0 ? density : NULL)
                           : hart_op_attention(o, q, k, v, NULL, scale);
        if (st || hart_backend_wait(be)) die("attention");
        if (r >= 0) t[r] = hart_clock() - t0;
    }
    return median(t, reps);
}

int main(int argc, char **argv) {
    const char *dev = NULL, *policies = "local:1,local:2,local:4,xattn:0.5,xattn:0.9,quest:4,quest:8";
    int size = 512, reps = 3, block = 64, images = 1;
    const char *prec_s = "f32";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((!strcmp(a, "--device") || !strcmp(a, "-d")) && v) dev = argv[++i];
        else if (!strcmp(a, "--size") && v) size = atoi(argv[++i]);
        else if (!strcmp(a, "--reps") && v) reps = atoi(argv[++i]);
        else if (!strcmp(a, "--block") && v) block = atoi(argv[++i]);
        else if (!strcmp(a, "--policies") && v) policies = argv[++i];
        else if (!strcmp(a, "--images") && v) images = atoi(argv[++i]);
        else if (!strcmp(a, "--precision") && v) prec_s = argv[++i];
        else {
            fprintf(stderr, "usage: bench_sparse_attn [--device SPEC] [--size 512|1024] [--reps N] [--block N] "
                            "[--policies LIST] [--images B] [--precision f32|f16]\n");
            return 2;
        }
    }
    if ((size != 512 && size != 1024) || reps < 1 || block < 1 || images < 1) {
        fprintf(stderr, "bench_sparse_attn: bad --size/--reps/--block/--images\n");
        return 2;
    }
    hart_precision prec;
    if (hart_precision_parse(prec_s, &prec)) die("--precision");
    if (!strcmp(policies, "none")) policies = "";
    hart_backend *be;
    char why[512];
    if (hart_backend_open_prec(dev, prec, &be, why, sizeof why)) die("device");
    const int *pn = size == 512 ? PN512 : PN1024;
    int S = size == 512 ? 10 : 14, N = 2 * images;
    printf("sparse attention, one layer of HART-0.7B (N=%d rows, %d heads x %d), %d px, block %d, precision %s, "
           "device %s\n", N, HEADS, HD, size, block, hart_precision_name(be->precision), why);
    printf("%-5s %-7s %-7s %-12s %8s %9s %9s %9s %8s %8s %8s\n", "scale", "queries", "keys", "policy", "density",
           "mask ms", "op ms", "total ms", "speedup", "op spdup", "TFLOP/s");
    double sum_dense = 0;
    char list[1024];
    int np = 0;
    double sum_pol[32] = {0}, sum_op[32] = {0};
    for (int si = S - 3; si < S; si++) {
        hart_sparse_geom g = {CTX, S, pn, si, block};
        int64_t nq = hart_sparse_nq(&g), nk = hart_sparse_nk(&g);
        hart_tensor hq, hk, hv, q, k, v, o;
        if (hart_tensor_new4(NULL, HART_F32, &hq, 4, N, HEADS, nq, HD) ||
            hart_tensor_new4(NULL, HART_F32, &hk, 4, N, HEADS, nk, HD) ||
            hart_tensor_new4(NULL, HART_F32, &hv, 4, N, HEADS, nk, HD))
            die("inputs");
        fill_random(hq.data, hart_tensor_numel(&hq), 1u + (unsigned)si, -2, 2);
        fill_random(hk.data, hart_tensor_numel(&hk), 101u + (unsigned)si, -2, 2);
        fill_random(hv.data, hart_tensor_numel(&hv), 201u + (unsigned)si, -1, 1);
        if (hart_tensor_to(be, &hq, &q) || hart_tensor_to(be, &hk, &k) || hart_tensor_to(be, &hv, &v) ||
            hart_tensor_new4(be, HART_F32, &o, 4, N, HEADS, nq, HD))
            die("upload");
        double td = time_one(be, NULL, &g, &o, &q, &k, &v, reps, NULL);
        double flop = 4.0 * N * HEADS * (double)nq * (double)nk * HD;
        sum_dense += td;
        printf("%-5d %-7lld %-7lld %-12s %8.3f %9s %9.3f %9.3f %8s %8s %8.3g\n", si, (long long)nq, (long long)nk,
               "dense", 1.0, "-", td * 1e3, td * 1e3, "1.00", "1.00", flop / td * 1e-12);
        snprintf(list, sizeof list, "%s", policies);
        np = 0;
        for (char *tok = strtok(list, ","); tok && np < 32; tok = strtok(NULL, ","), np++) {
            double dens_op;
            hart_sparse_cfg c;
            hart_sparse_default(&c);
            c.block = block;
            if (hart_sparse_parse(tok, &c)) die("policy");
            double dens = 1, ts = time_one(be, &c, &g, &o, &q, &k, &v, reps, &dens), tmask, top;
            time_parts(be, &c, &g, &o, &hq, &hk, &q, &k, &v, reps, &tmask, &top);
            sum_pol[np] += ts;
            sum_op[np] += top;
            dens_op = dens;
            printf("%-5d %-7lld %-7lld %-12s %8.3f %9.2f %9.3f %9.3f %8.2f %8.2f %8.3g\n", si, (long long)nq,
                   (long long)nk, tok, dens, tmask * 1e3, top * 1e3, ts * 1e3, td / ts, td / top,
                   flop * dens_op / top * 1e-12);
        }
        hart_tensor *ts[] = {&hq, &hk, &hv, &q, &k, &v, &o};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) hart_tensor_free(ts[i]);
    }
    printf("three largest scales, one layer: dense %.2f ms", sum_dense * 1e3);
    snprintf(list, sizeof list, "%s", policies);
    int i = 0;
    for (char *tok = strtok(list, ","); tok && i < np; tok = strtok(NULL, ","), i++)
        printf("; %s %.2f ms (%.2fx; op alone %.2fx)", tok, sum_pol[i] * 1e3, sum_dense / sum_pol[i],
               sum_dense / sum_op[i]);
    printf("\n");
    hart_backend_close(be);
    return 0;
}
