/* LPD class-to-image benchmark: `hart generate -m LPD.pth --vq VQ.pt`'s own
 * code path (hart_lpd_load + hart_vq_load + hart_c2i_generate, the loop the
 * CLI, `batch` and the golden tests run) on an LPD transformer and a LlamaGen
 * VQ with random weights at a release shape, written once as temporary
 * safetensors files (the loaders read those like the release .pth files).
 *
 * Per (steps, batch) configuration: W untimed warm-up runs, then N timed runs
 * of hart_c2i_generate with guidance (cfg 4.9, linear schedule, as the
 * release's evaluation), sampling and the VQ decode; each clock stops after
 * the backend's sync (hart_backend_wait), so device work is included. The
 * median, min and max are printed. With --split also: the tokens alone
 * (hart_c2i_generate without an image) and the decode alone
 * (hart_vq_decode_codes, the call hart_c2i_generate makes). Orders (the
 * locality-aware order, computed on the host like `hart generate` does
 * before calling hart_c2i_generate) are not timed: the original's evaluation
 * reads them from a file, also outside its clock.
 *
 *   bench_lpd [--device SPEC] [--model l|xl|xxl|tiny] [--size 256|512]
 *             [--steps LIST] [--batch LIST] [--runs N] [--warmup N] [--split]
 *             [--no-decode] [--weights f32|bf16|f16] [--cfg X] [--tc LIST] [--max-seconds S]
 *             [--width D] [--depth L] [--heads H] [--vocab V] [--classes C]
 *             [--group-sizes LIST] [--vq-ch C] [--vq-z Z]
 *
 *   --model        l: width 1024, depth 24, 16 heads; xl: 1280/36/20;
 *                  xxl: 1536/48/24 (vocabulary 16384, 1000 classes, MLP 4x);
 *                  VQ: ch 128, ch_mult 1,1,2,2,4, 2 res blocks, z 256,
 *                  codebook 16384 x 8 (vq_ds16_c2i). tiny: width 128, depth 2,
 *                  2 heads, vocabulary 512, 10 classes, VQ ch 32, z 32,
 *                  128 px (8x8 tokens), group sizes 1,2,3,5,7,9,11,12,14.
 *                  Default: tiny (so that `make bench` is quick).
 *   --size         image side: 256 (16x16 tokens) or 512 (32x32); tiny: 128
 *   --steps LIST   schedules of configs/lpd-group-sizes.json (default 20 at
 *                  256 px, 48 at 512 px), e.g. 256,64,32,20 for latency vs steps
 *   --batch LIST   images per batch, e.g. 1,64 (default 1)
 *   --runs N       timed runs per configuration (default 5; median printed)
 *   --warmup N     untimed runs first (default 1: kernel builds, GEMM tuning, pools)
 *   --max-seconds S  stop a configuration's timed runs once they took S seconds
 *                  (at least one timed run; default 0 = always --runs)
 *   --tc LIST      OpenCL: tensor-core GEMMs off/on, e.g. 1,0 (each
 *                  configuration is run in that order; default: as
 *                  $HART_CL_TENSOR_CORES says); ignored on the CPU
 *   --split        also time the tokens alone and the decode alone
 *   --split-only   only those two (e.g. where the whole batch's decode does
 *                  not fit in one call)
 *   --decode-chunk N  the decode alone in calls of N images (default: the
 *                  whole batch in one call, as hart_c2i_generate does)
 *   --no-decode    time hart_c2i_generate without the decode only
 *   --weights      dtype of the LPD matrices in the file (the loader keeps
 *                  it on the device; default f32, as the release files)
 *   --width/--depth/--heads/--vocab/--classes/--vq-ch/--vq-z  override a shape
 *   --group-sizes  an explicit schedule instead of --steps
 *   --model-cache DIR  keep the random model files in DIR, named by shape, and
 *                  reuse them in later runs (default: a temporary file, removed)
 *
 * Every configuration ends with one line
 *   RESULT impl=hart.c device=... tc=0|1 model=... px=... steps=... B=... total_s=... per_image_s=...
 *          img_per_s=... [tokens_s=... decode_s=...]
 * (or `RESULT ... error="..."`), which tools/lpd_gpu_run.sh collects. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "core/safetensors.h"
#include "models/lpd/lpd.h"
#include "models/lpd/lpd_order.h"
#include "models/vq/vq.h"
#include "backend/opencl/opencl.h"
#include "pipeline/c2i.h"
#include "pipeline/t2i_timings.h"
#include "support/lpd_random.h"

#define MAXLIST 16
#define MAXK 1100

/* ---- timing ---- */
static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
typedef struct { double med, min, max; int n; } stat3;
static stat3 stats(double *t, int n) {
    qsort(t, (size_t)n, sizeof *t, cmpd);
    stat3 s = {n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]), t[0], t[n - 1], n};
    return s;
}

typedef enum { RUN_FULL, RUN_TOKENS, RUN_DECODE } run_kind;

static int decode_chunk;
/* one timed call of the product's code path; *dt its wall time up to the device's completion */
static hart_status run_once(hart_lpd *m, hart_vq *vq, const hart_c2i_params *p, run_kind k, int64_t *tokens,
                            int grid, double *dt) {
    hart_backend *be = hart_lpd_backend(m);
    hart_tensor img = {0};
    hart_status st;
    const hart_vq_info *vi = hart_vq_get_info(vq);
    HART_TRY(hart_backend_wait(be));
    double t0 = hart_clock();
    if (k == RUN_DECODE) { /* in calls of decode_chunk images (0: the whole batch at once) */
        int64_t hw = (int64_t)grid * vi->downsample, N = (int64_t)grid * grid;
        int c = decode_chunk > 0 && decode_chunk < p->B ? decode_chunk : p->B;
        st = HART_OK;
        for (int b0 = 0; b0 < p->B && !st; b0 += c) {
            int nb = p->B - b0 < c ? p->B - b0 : c;
            hart_tensor idx = hart_tensor_wrap(tokens + (size_t)b0 * N, HART_I64, 2, (int64_t[]){nb, N});
            st = hart_tensor_new4(hart_vq_backend(vq), HART_F32, &img, 4, nb, 3, hw, hw);
            if (!st) st = hart_vq_decode_codes(vq, &idx, grid, grid, &img);
            hart_tensor_free(&img);
        }
    } else {
        st = hart_c2i_generate(m, k == RUN_FULL ? vq : NULL, p, tokens, k == RUN_FULL ? &img : NULL);
    }
    if (!st) st = hart_backend_wait(be);
    *dt = hart_clock() - t0;
    hart_tensor_free(&img);
    return st;
}

/* warm-up + n timed runs of kind k; 0 on success */
static double max_seconds;
static int timed(hart_lpd *m, hart_vq *vq, const hart_c2i_params *p, run_kind k, int64_t *tokens, int grid, int warm,
                 int n, stat3 *out, char *err, size_t errn) {
    double t[64], spent = 0;
    for (int i = 0; i < warm + n; i++) {
        double dt;
        if (run_once(m, vq, p, k, tokens, grid, &dt)) {
            snprintf(err, errn, "%s", hart_errmsg());
            for (char *c = err; *c; c++)
                if (*c == '"' || *c == '\n') *c = '\'';
            return 1;
        }
        if (i >= warm) t[i - warm] = dt, spent += dt;
        if (i >= warm && max_seconds > 0 && spent >= max_seconds) { n = i - warm + 1; break; }
    }
    *out = stats(t, n);
    out->n = n;
    return 0;
}

static int parse_list(const char *s, int *v, int max, int lo, int hi) {
    int n = 0;
    for (const char *p = s; *p;) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || x < lo || x > hi || (*end && *end != ',') || n == max) return -1;
        v[n++] = (int)x;
        p = *end ? end + 1 : end;
    }
    return n;
}

static int usage(void) {
    fprintf(stderr,
            "usage: bench_lpd [--device SPEC] [--model l|xl|xxl|tiny] [--size 256|512] [--steps LIST] [--batch LIST]\n"
            "                 [--runs N] [--warmup N] [--max-seconds S] [--split] [--no-decode] [--weights f32|bf16|f16]\n"
            "                 [--cfg X] [--tc LIST] [--split-only] [--decode-chunk N]\n"
            "                 [--model-cache DIR] [--precision f32|f16 (default: f16 on a GPU, else f32)]\n"
            "                 [--width D] [--depth L] [--heads H] [--vocab V] [--classes C] [--group-sizes LIST]\n"
            "                 [--vq-ch C] [--vq-z Z]\n");
    return 2;
}

static int geti(const char *opt, const char *v, int lo, int hi, int *dst) {
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || x < lo || x > hi) {
        fprintf(stderr, "bench_lpd: %s '%s': expected an integer in %d..%d\n", opt, v ? v : "", lo, hi);
        return 1;
    }
    *dst = (int)x;
    return 0;
}

int main(int argc, char **argv) {
    const char *dev = NULL, *model = "tiny", *steps_s = NULL, *batch_s = "1", *gs_s = NULL, *wdt_s = "f32", *tc_s = NULL, *cache_dir = NULL, *prec_s = NULL;
    int px = 0, runs = 5, warm = 1, split = 0, decode = 1, D = 0, depth = 0, H = 0, V = 0, C = 0, vqch = 0, vqz = 0;
    double cfg = 4.9;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if ((!strcmp(a, "--device") || !strcmp(a, "-d")) && v) dev = argv[++i];
        else if (!strcmp(a, "--model") && v) model = argv[++i];
        else if (!strcmp(a, "--steps") && v) steps_s = argv[++i];
        else if (!strcmp(a, "--batch") && v) batch_s = argv[++i];
        else if (!strcmp(a, "--group-sizes") && v) gs_s = argv[++i];
        else if (!strcmp(a, "--weights") && v) wdt_s = argv[++i];
        else if (!strcmp(a, "--tc") && v) tc_s = argv[++i];
        else if (!strcmp(a, "--precision") && v) prec_s = argv[++i];
        else if (!strcmp(a, "--max-seconds") && v) { max_seconds = atof(v); i++; if (max_seconds < 0) bad = 1; }
        else if (!strcmp(a, "--cfg") && v) { cfg = atof(v); i++; if (cfg < 1) bad = 1; }
        else if (!strcmp(a, "--size")) bad = geti(a, v, 16, 4096, &px), i++;
        else if (!strcmp(a, "--runs")) bad = geti(a, v, 1, 64, &runs), i++;
        else if (!strcmp(a, "--warmup")) bad = geti(a, v, 0, 64, &warm), i++;
        else if (!strcmp(a, "--width")) bad = geti(a, v, 8, 65536, &D), i++;
        else if (!strcmp(a, "--depth")) bad = geti(a, v, 1, 1000, &depth), i++;
        else if (!strcmp(a, "--heads")) bad = geti(a, v, 1, 1024, &H), i++;
        else if (!strcmp(a, "--vocab")) bad = geti(a, v, 2, 1 << 24, &V), i++;
        else if (!strcmp(a, "--classes")) bad = geti(a, v, 1, 1 << 20, &C), i++;
        else if (!strcmp(a, "--vq-ch")) bad = geti(a, v, 32, 4096, &vqch), i++;
        else if (!strcmp(a, "--vq-z")) bad = geti(a, v, 1, 4096, &vqz), i++;
        else if (!strcmp(a, "--split")) split = 1;
        else if (!strcmp(a, "--split-only")) split = 2;
        else if (!strcmp(a, "--decode-chunk")) bad = geti(a, v, 1, 4096, &decode_chunk), i++;
        else if (!strcmp(a, "--no-decode")) decode = 0;
        else if (!strcmp(a, "--model-cache") && v) cache_dir = argv[++i];
        else return usage();
        if (bad) return 2;
    }
    lpd_random_shape s = {"tiny", 128, 2, 2, 512, 10, 128, 32, 32, 8, 2, 5, {1, 1, 2, 2, 4}, HART_F32};
    if (!strcmp(model, "l")) s = (lpd_random_shape){"LPD-L", 1024, 24, 16, 16384, 1000, 256, 128, 256, 8, 2, 5, {1, 1, 2, 2, 4}, HART_F32};
    else if (!strcmp(model, "xl")) s = (lpd_random_shape){"LPD-XL", 1280, 36, 20, 16384, 1000, 256, 128, 256, 8, 2, 5, {1, 1, 2, 2, 4}, HART_F32};
    else if (!strcmp(model, "xxl")) s = (lpd_random_shape){"LPD-XXL", 1536, 48, 24, 16384, 1000, 256, 128, 256, 8, 2, 5, {1, 1, 2, 2, 4}, HART_F32};
    else if (strcmp(model, "tiny")) { fprintf(stderr, "bench_lpd: --model '%s': expected l, xl, xxl or tiny\n", model); return 2; }
    if (D) s.D = D;
    if (depth) s.depth = depth;
    if (H) s.H = H;
    if (V) s.V = V;
    if (C) s.classes = C;
    if (vqch) s.vq_ch = vqch;
    if (vqz) s.vq_z = vqz;
    if (px) s.px = px;
    if (!strcmp(wdt_s, "bf16")) s.wdt = HART_BF16;
    else if (!strcmp(wdt_s, "f16")) s.wdt = HART_F16;
    else if (strcmp(wdt_s, "f32")) { fprintf(stderr, "bench_lpd: --weights '%s': expected f32, bf16 or f16\n", wdt_s); return 2; }
    if (s.D % s.H || s.vq_ch % 32 || s.px % 16) {
        fprintf(stderr, "bench_lpd: width %% heads, VQ ch %% 32 (GroupNorm) and size %% 16 must be 0\n");
        return 2;
    }
    if (!strcmp(model, "tiny") && !steps_s && !gs_s && s.px == 128) gs_s = "1,2,3,5,7,9,11,12,14";
    int grid = s.px / 16, N = grid * grid;
    int steps[MAXLIST], batches[MAXLIST], ns = 0, nb;
    if (!gs_s) {
        ns = parse_list(steps_s ? steps_s : s.px > 256 ? "48" : "20", steps, MAXLIST, 1, 4096);
        if (ns < 1) { fprintf(stderr, "bench_lpd: --steps '%s': expected a list of step counts\n", steps_s); return 2; }
    }
    nb = parse_list(batch_s, batches, MAXLIST, 1, 4096);
    if (nb < 1) { fprintf(stderr, "bench_lpd: --batch '%s': expected a list of batch sizes\n", batch_s); return 2; }
    int tcs[MAXLIST], ntc = 1;
    tcs[0] = -1; /* as the backend was opened */
    if (tc_s && (ntc = parse_list(tc_s, tcs, MAXLIST, 0, 1)) < 1) {
        fprintf(stderr, "bench_lpd: --tc '%s': expected a list of 0 and 1\n", tc_s);
        return 2;
    }

    hart_backend *be = NULL;
    hart_precision prec;
    if (hart_precision_parse(prec_s, &prec)) { fprintf(stderr, "%s: --precision: %s\n", argv[0], hart_errmsg()); return 2; }
    char why[768];
    if (hart_backend_open_prec(dev, prec, &be, why, sizeof why) != HART_OK) { fprintf(stderr, "bench_lpd: %s\n", hart_errmsg()); return 1; }
    const char *tc_env = getenv("HART_CL_TENSOR_CORES");
    /* f16 precision turns the tensor cores on where there are some */
    int tc0 = be->kind == HART_BACKEND_OPENCL &&
              hart_opencl_set_tensor_cores(be, (tc_env && atoi(tc_env)) || be->precision == HART_PREC_F16);
    double params = (double)s.depth * 12.0 * s.D * s.D + 2.0 * s.V * s.D + (double)s.classes * s.D;
    printf("bench_lpd: %s width %d, depth %d, %d heads, vocabulary %d, %d classes (~%.0fM parameters, %s matrices); "
           "VQ ch %d, ch_mult 1,1,2,2,4, z %d, codebook %dx%d; %d px (%dx%d tokens); cfg %.2f linear; backend %s\n",
           s.name, s.D, s.depth, s.H, s.V, s.classes, params * 1e-6, wdt_s, s.vq_ch, s.vq_z, s.V, s.vq_e, s.px, grid,
           grid, cfg, why);
    fflush(stdout);
    const char *tmp = cache_dir ? cache_dir : getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char lp[768], vp[768];
    if (cache_dir) { /* named by shape: a later run with the same shape reuses them */
        snprintf(lp, sizeof lp, "%s/lpd-D%d-L%d-H%d-V%d-C%d-px%d-%s.safetensors", cache_dir, s.D, s.depth, s.H, s.V,
                 s.classes, s.px, wdt_s);
        snprintf(vp, sizeof vp, "%s/vq-ch%d-z%d-V%d.safetensors", cache_dir, s.vq_ch, s.vq_z, s.V);
    } else {
        snprintf(lp, sizeof lp, "%s/bench_lpd_%d_lpd.safetensors", tmp, (int)getpid());
        snprintf(vp, sizeof vp, "%s/bench_lpd_%d_vq.safetensors", tmp, (int)getpid());
    }
    double t0 = hart_clock();
    int rc = 0;
    hart_lpd *m = NULL;
    hart_vq *vq = NULL;
    if ((!cache_dir || access(lp, R_OK)) && lpd_random_write_lpd(lp, &s, N)) {
        fprintf(stderr, "bench_lpd: cannot write %s: %s\n", lp, hart_errmsg());
        rc = 1;
        goto out;
    }
    if ((!cache_dir || access(vp, R_OK)) && lpd_random_write_vq(vp, &s)) {
        fprintf(stderr, "bench_lpd: cannot write %s: %s\n", vp, hart_errmsg());
        rc = 1;
        goto out;
    }
    printf("  random model files %s in %.1f s\n", cache_dir ? "written or reused" : "written", hart_clock() - t0);
    t0 = hart_clock();
    cJSON *lcfg = cJSON_CreateObject();
    cJSON_AddNumberToObject(lcfg, "decoder_num_heads", s.H);
    hart_status st = hart_lpd_load(be, lp, lcfg, &m);
    cJSON_Delete(lcfg);
    if (!st) st = hart_vq_load(be, vp, NULL, &vq);
    if (!st) st = hart_backend_wait(be);
    if (!cache_dir) unlink(lp), unlink(vp);
    if (st) { fprintf(stderr, "bench_lpd: %s\n", hart_errmsg()); rc = 1; goto out; }
    printf("  loaded in %.1f s (hart_lpd_load + hart_vq_load)\n", hart_clock() - t0);
    fflush(stdout);
    int g[MAXK], K = 0;
    if (gs_s) {
        K = parse_list(gs_s, g, MAXK, 1, 1 << 20);
        if (K < 1) { fprintf(stderr, "bench_lpd: --group-sizes '%s': bad list\n", gs_s); rc = 2; goto out; }
        ns = 1;
        steps[0] = K;
    }
    for (int si = 0; si < ns && rc != 2; si++) {
        if (!gs_s && hart_lpd_schedule(s.px, steps[si], g, MAXK, &K)) {
            fprintf(stderr, "bench_lpd: %s (run from the repository root, or set HART_CONFIG_DIR)\n", hart_errmsg());
            rc = 1;
            continue;
        }
        for (int bi = 0; bi < nb * ntc; bi++) {
            int B = batches[bi / ntc], tc = tc0;
            if (tcs[bi % ntc] >= 0) {
                tc = be->kind == HART_BACKEND_OPENCL ? hart_opencl_set_tensor_cores(be, tcs[bi % ntc]) : 0;
                if (tcs[bi % ntc] && !tc && be->kind == HART_BACKEND_OPENCL)
                    printf("  (tensor cores requested but not available on this device: portable GEMM)\n");
            }
            int64_t *labels = malloc(sizeof(int64_t) * (size_t)B), *orders = malloc(sizeof(int64_t) * (size_t)B * N);
            int64_t *tokens = malloc(sizeof(int64_t) * (size_t)B * N);
            if (!labels || !orders || !tokens) { free(labels); free(orders); free(tokens); rc = 1; break; }
            double to = hart_clock();
            for (int b = 0; b < B && !st; b++) {
                labels[b] = (b * 97 + 207) % s.classes;
                st = hart_lpd_order_lpd(g, K, grid, 1.0, grid <= 16 ? 2.0 : 4.0, 1,
                                        hart_rng_stream((uint32_t)b, HART_LPD_RNG_SITE_ORDER, 0), orders + (size_t)b * N, NULL);
            }
            to = hart_clock() - to;
            hart_c2i_params p;
            memset(&p, 0, sizeof p);
            p.B = B;
            p.labels = labels;
            p.orders = orders;
            p.group_sizes = g;
            p.K = K;
            p.cfg = cfg;
            p.schedule = HART_CFG_LINEAR;
            p.sample.temperature = 1.0f;
            p.sample.top_p = 1.0f;
            p.seed = 1;
            char head[256], err[512] = "";
            const char *wc = getenv("HART_CL_TC_WEIGHT_CACHE");
            snprintf(head, sizeof head, "impl=hart.c device=%.*s tc=%d%s precision=%s weights=%s model=%s px=%d steps=%d B=%d",
                     (int)strcspn(be->name, " "), be->name, tc, tc && wc && atoi(wc) ? " wcache=1" : "",
                     hart_precision_name(be->precision), wdt_s, s.name, s.px, K, B);
            printf("== %s %d px, %d steps, batch %d, tensor cores %s (orders on the host %.3f s, not timed)\n", s.name, s.px, K,
                   B, tc ? "on" : "off", to);
            fflush(stdout);
            stat3 full = {0}, tok = {0}, dec = {0};
            int ok_full = 0, ok_tok = 0, ok_dec = 0;
            if (st) snprintf(err, sizeof err, "%s", hart_errmsg());
            else if (decode && split < 2) {
                ok_full = !timed(m, vq, &p, RUN_FULL, tokens, grid, warm, runs, &full, err, sizeof err);
                if (ok_full)
                    printf("  tokens + decode (hart_c2i_generate): median %.4f s (min %.4f, max %.4f, %d runs), %.4f s per image, %.2f images/s\n",
                           full.med, full.min, full.max, full.n, full.med / B, B / full.med);
                else printf("  tokens + decode FAILED: %s\n", err);
                fflush(stdout);
            }
            if (!st && (split || !decode || !ok_full)) {
                char e2[512];
                ok_tok = !timed(m, vq, &p, RUN_TOKENS, tokens, grid, decode && ok_full ? 0 : warm, runs, &tok, e2, sizeof e2);
                if (ok_tok) printf("  tokens only (hart_c2i_generate, no image): median %.4f s (min %.4f, max %.4f)\n", tok.med, tok.min, tok.max);
                else printf("  tokens only FAILED: %s\n", e2);
                if (!*err && !ok_tok) snprintf(err, sizeof err, "%s", e2);
                if (ok_tok && decode) {
                    ok_dec = !timed(m, vq, &p, RUN_DECODE, tokens, grid, ok_full ? 0 : 1, runs, &dec, e2, sizeof e2);
                    if (ok_dec)
                        printf("  decode only (hart_vq_decode_codes, %d images in calls of %d): median %.4f s (min %.4f, max %.4f)\n",
                               B, decode_chunk > 0 && decode_chunk < B ? decode_chunk : B, dec.med, dec.min, dec.max);
                    else printf("  decode only FAILED: %s\n", e2);
                }
                fflush(stdout);
            }
            printf("RESULT %s", head);
            if (ok_full) printf(" total_s=%.4f per_image_s=%.5f img_per_s=%.2f", full.med, full.med / B, B / full.med);
            if (ok_tok) printf(" tokens_s=%.4f", tok.med);
            if (ok_dec) printf(" decode_s=%.4f decode_chunk=%d", dec.med, decode_chunk > 0 && decode_chunk < B ? decode_chunk : B);
            if (!ok_full && *err) printf(" error=\"%s\"", err);
            printf(" runs=%d warmup=%d\n", ok_full ? full.n : ok_tok ? tok.n : 0, warm);
            fflush(stdout);
            if (!ok_full && decode && !ok_tok) rc = 1;
            st = HART_OK;
            free(labels);
            free(orders);
            free(tokens);
        }
    }
out:
    if (!cache_dir) unlink(lp), unlink(vp);
    hart_lpd_free(m);
    hart_vq_free(vq);
    hart_backend_close(be);
    return rc;
}
