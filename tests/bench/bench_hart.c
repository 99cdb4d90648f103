/* HART generation benchmark: `hart generate`'s own code path
 * (hart_t2i_load + hart_t2i_generate, the loop `generate` and `batch` run)
 * on a random-weight model built from an llm config.json, timed by the
 * pipeline's stage hook (hart_t2i_timings: the backend is synced before
 * every clock reading, so device work is included): per scale the
 * transformer forward (guidance batch 2B), the host sampling (guidance mix,
 * top-k, categorical draw) and the tokenizer's next-scale step; then the
 * residual diffusion head, the tokenizer decode and the whole batch. The
 * text encoder is excluded (random context). Analytic FLOPs per stage (2 per
 * multiply-add of the linear layers and the attention products; the
 * decoder's convolutions), achieved GFLOP/s, the process's peak RSS
 * (getrusage; the model files are written by a child process so they do not
 * count) and, on a device backend, the peak device memory of live tensors.
 *
 *   bench_hart [--device SPEC] [--size 512[,1024]] [--layers N] [--config FILE]
 *              [--batch B] [--runs N] [--no-decode] [--small] [--warmup]
 *
 *   --device SPEC  cpu, opencl, opencl:P, opencl:P:D, auto (default $HART_DEVICE, else cpu)
 *   --size LIST    image sizes, 256, 512 and/or 1024 (default 512)
 *   --layers N     build and time only N of the config's `depth` blocks and
 *                  extrapolate the transformer time of every scale to the
 *                  full depth by the FLOP ratio (printed as "est."); 0 = all
 *                  (default 1, so that `make bench` finishes in about a minute
 *                  on a 2-core machine)
 *   --config FILE  llm config.json (default configs/hart-0.7b-1024px-llm.json,
 *                  the release 0.7B configuration; tokenizer: the HART
 *                  autoencoder config class defaults, ch 160, ch_mult
 *                  1,1,2,2,4, z 32, vocab 4096)
 *   --batch B      images per batch (default 1; the figures per image are
 *                  printed too)
 *   --runs N       timed images (batches) per size, each reported; the RESULT
 *                  line gives the median of each figure (default 1)
 *   --no-decode    skip the tokenizer decode (its FLOPs are still printed)
 *   --warmup       render one untimed image first (GPU kernel compilation etc.)
 *   --quant LIST   comma-separated none, w8a8, w4a16, w4a8: the runs are
 *                  repeated per entry on the same model files, every linear
 *                  layer quantized on load (round to nearest) as `hart
 *                  generate --quant FMT` does (hart_quant_set_on_load before
 *                  hart_t2i_load); none = the float weights (default)
 *   --small        a small built-in config (width 256, depth 2, context
 *                  32x256, diffusion head 128x2, tokenizer ch 32)
 *
 * Scale lists (patch_nums) per image size: the VAR/HART convention (VAR's
 * utils/arg_util.py maps 256/512/1024 to these; the HART 1024 px release uses
 * the 1024 list):
 *   256 px  1,2,3,4,5,6,8,10,13,16
 *   512 px  1,2,3,4,6,9,13,18,24,32
 *   1024 px 1,2,3,4,5,7,9,12,16,21,27,36,48,64
 *
 * After the runs of each size one machine-readable line (tools/side_by_side_table.py
 * reads it; the keys follow tools/hart_torch_bench.py, which times the original):
 *   RESULT impl=hart config=NAME px=P B=B total_s= per_image_s= img_per_s= tf_s=
 *          tf_last_s= diff_s= decode_s= other_s= runs=N tc=0|1 depth=D
 *          precision=P [quant=FMT]
 * (medians over the runs; tc: $HART_CL_TENSOR_CORES as the OpenCL backend reads it;
 * with --layers N < depth the figures are the measured ones, not the estimates). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/checkpoint.h"
#include "core/qweight.h"
#include "quant/qload.h"
#include "models/hart/diffusion_head.h"
#include "models/hart/autoencoder_internal.h"
#include "pipeline/t2i.h"
#include "support/hart_random.h"

static const char *SMALL_CFG =
    "{\"model_type\":\"hart_transformer_t2i\",\"attn_type\":\"llama\",\"mlp_type\":\"llama\",\"depth\":2,"
    "\"embed_dim\":256,\"num_heads\":4,\"context_token\":32,\"context_dim\":256,\"mlp_ratio\":4.0,\"norm_eps\":1e-6,"
    "\"use_context_norm\":true,\"sep_aln_pooling_mode\":\"max\",\"diff_width\":128,\"diff_depth\":2,"
    "\"num_sampling_steps\":\"8\",\"sampler\":\"iddpm\",\"patch_nums\":[1]}";

static double peak_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static uint64_t rs = 88172645463325252ULL;
static float rnd(void) {
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return (float)((rs >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}

typedef hart_random_llm sizes;

#define CK(x) do { if ((st = (x)) != HART_OK) goto done; } while (0)

/* transformer FLOPs of scale si with `depth` blocks: l new tokens (N rows
 * each), kv keys so far, logits for lo rows */
static double tf_flops(const sizes *z, int depth, int N, int l, int kv, int lo, int V) {
    double C = z->C;
    double lin = 2.0 * N * l * (4.0 * C * C + (z->llama_mlp ? 3.0 : 2.0) * C * z->Hd);
    double att = 4.0 * N * (double)l * kv * C;
    return depth * (lin + att) + 2.0 * N * lo * C * V;
}

/* Device memory of the tensors (non-CPU backends): the bench wraps the
 * backend's alloc/release (a copy of its vtable) and tracks live bytes per
 * buffer, so the peak covers every hart_tensor on the device (weights, KV
 * cache, activations) but not the backend's private scratch or its pool. */
#define DEVMAP 65536
static struct { void *p; size_t n; } devmap[DEVMAP];
static size_t dev_live, dev_peak, dev_count;
static hart_storage_vt wrapped_vt;
static const hart_storage_vt *orig_vt;

static size_t devslot(void *p) {
    size_t h = ((uintptr_t)p >> 4) * 11400714819323198485ull % DEVMAP;
    while (devmap[h].p && devmap[h].p != p) h = (h + 1) % DEVMAP;
    return h;
}
static hart_status count_alloc(hart_backend *be, size_t n, void **dev) {
    hart_status st = orig_vt->alloc(be, n, dev);
    if (st == HART_OK) {
        size_t h = devslot(*dev);
        if (!devmap[h].p && dev_count < DEVMAP / 2) { devmap[h].p = *dev; devmap[h].n = n; dev_live += n; dev_count++; }
        if (dev_live > dev_peak) dev_peak = dev_live;
    }
    return st;
}
static void count_release(hart_backend *be, void *dev) {
    size_t h = devslot(dev);
    if (devmap[h].p) { /* remove with backward-shift deletion */
        dev_live -= devmap[h].n;
        dev_count--;
        devmap[h].p = NULL;
        for (size_t j = (h + 1) % DEVMAP; devmap[j].p; j = (j + 1) % DEVMAP) {
            void *q = devmap[j].p;
            size_t m = devmap[j].n;
            devmap[j].p = NULL;
            size_t k = devslot(q);
            devmap[k].p = q;
            devmap[k].n = m;
        }
    }
    orig_vt->release(be, dev);
}
static void count_device_memory(hart_backend *be) {
    if (!be->storage.vt || !be->storage.vt->alloc || !be->storage.vt->release) return;
    orig_vt = be->storage.vt;
    wrapped_vt = *be->storage.vt;
    wrapped_vt.alloc = count_alloc;
    wrapped_vt.release = count_release;
    be->storage.vt = &wrapped_vt;
}

static double gfs(double flop, double s) { return s > 0 ? flop * 1e-9 / s : 0; }

/* report stream (a warm-up run writes to /dev/null) */
static FILE *out;

/* B images (guidance batch 2B) through hart_t2i_generate, the code path of
 * `hart generate`, with its stage timings (each waited for the device). */
/* figures of one run, for the RESULT line */
enum { R_TOTAL, R_TF, R_TF_LAST, R_DIFF, R_DECODE, R_OTHER, R_N };

static int run(hart_backend *be, const char *dir, const sizes *z, int B, int decode, double res[R_N]) {
    hart_status st = HART_OK;
    hart_t2i *p = NULL;
    hart_tensor ctx = {0}, mask = {0}, img = {0};
    int D = z->full_depth, Nl = z->depth, extrap = Nl < D, N = 2 * B;
    dev_peak = dev_live;
    double t0 = hart_clock();
    CK(hart_t2i_load(be, dir, &p));
    double t_load = hart_clock() - t0;
    int T, Dc;
    hart_t2i_context_shape(p, &T, &Dc);
    CK(hart_tensor_new4(NULL, HART_F32, &ctx, 3, B, T, Dc, 0));
    CK(hart_tensor_new4(NULL, HART_U8, &mask, 2, B, T, 0, 0));
    for (int64_t i = 0; i < hart_tensor_numel(&ctx); i++) ((float *)ctx.data)[i] = rnd();
    memset(mask.data, 1, (size_t)B * T);
    hart_t2i_timings tm;
    memset(&tm, 0, sizeof tm);
    hart_t2i_opts o;
    hart_t2i_default_opts(&o);
    o.seed = 1;
    o.timings = &tm;
    o.skip_decode = !decode;
    CK(hart_t2i_generate(p, &ctx, &mask, NULL, &o, &img));
    const int V = 4096, Z = 32;
    int S = tm.n_scales, P = tm.patch_nums[S - 1];
    fprintf(out, "  load %.2f s; begin (context embedding, AdaLN conditions) %.3f s; batch %d image%s\n", t_load,
            tm.begin_s, B, B == 1 ? "" : "s");
    if (extrap)
        fprintf(out, "  transformer: %d of %d blocks built and timed; 'est.' = measured x FLOP(%d blocks)/FLOP(%d blocks)\n",
                Nl, D, D, Nl);
    fprintf(out, "  scale  pn       tokens     KV | transformer s   GFLOP GFLOP/s %s| sample s | tokenizer s\n",
            extrap ? "  est. s   est.GFLOP " : "");
    int kv = 0;
    double f_tf = 0, f_tf_full = 0, t_tf_est = 0;
    for (int si = 0; si < S; si++) {
        int pn = tm.patch_nums[si], l = si == 0 ? T : pn * pn, lo = si == 0 ? 1 : l;
        double dt = tm.transformer_s[si];
        kv += l;
        double fl = tf_flops(z, Nl, N, l, kv, lo, V), flD = tf_flops(z, D, N, l, kv, lo, V);
        double est = dt * flD / fl;
        f_tf += fl;
        f_tf_full += flD;
        t_tf_est += est;
        char ests[64] = "";
        if (extrap) snprintf(ests, sizeof ests, "%8.3f %10.1f  ", est, flD * 1e-9);
        fprintf(out, "  %3d  %3dx%-3d %6d %6d | %13.3f %7.1f %7.1f %s| %8.3f | %8.3f\n", si, pn, pn, l, kv, dt,
                fl * 1e-9, gfs(fl, dt), ests, tm.sample_s[si], tm.next_s[si]);
    }
    int l = P * P, steps = hart_t2i_diffusion_steps(p);
    double rows = (double)N * l, C = z->C, DW = z->DW;
    /* per step and row: cond_embed, input_proj, time MLP, res blocks (2 linears + AdaLN 3x), final AdaLN + linear */
    double f_diff = steps * 2.0 * rows *
                    (C * DW + (double)Z * DW + 256.0 * DW + DW * DW + z->DD * 5.0 * DW * DW + 2.0 * DW * DW +
                     2.0 * DW * Z);
    fprintf(out, "  diffusion head: %d steps x %d rows: %.3f s, %.1f GFLOP, %.1f GFLOP/s\n", steps, N * l,
            tm.diffusion_s, f_diff * 1e-9, gfs(f_diff, tm.diffusion_s));
    int side = hart_t2i_image_size(p);
    double f_dec = B * hart_vae_decode_flops(hart_t2i_tokenizer(p), P, P);
    if (decode)
        fprintf(out, "  tokenizer decode %dx%d x %d: %.3f s, %.1f GFLOP, %.1f GFLOP/s\n", side, side, B, tm.decode_s,
                f_dec * 1e-9, gfs(f_dec, tm.decode_s));
    else
        fprintf(out, "  tokenizer decode %dx%d: skipped (--no-decode), %.1f GFLOP\n", side, side, f_dec * 1e-9);
    double t_tf = hart_t2i_timings_transformer(&tm), other = tm.begin_s + hart_t2i_timings_sampling(&tm) +
                                                             hart_t2i_timings_next(&tm);
    fprintf(out, "  split: transformer %.3f s (%.1f GFLOP, %.1f GFLOP/s)", t_tf, f_tf * 1e-9, gfs(f_tf, t_tf));
    if (extrap) fprintf(out, " [est. %d blocks: %.3f s, %.1f GFLOP]", D, t_tf_est, f_tf_full * 1e-9);
    fprintf(out, "; diffusion head %.3f s; decoder %s%.3f s; other %.3f s (begin %.3f, sampling %.3f, tokenizer steps %.3f)\n",
            tm.diffusion_s, decode ? "" : "(skipped) ", tm.decode_s, other, tm.begin_s, hart_t2i_timings_sampling(&tm),
            hart_t2i_timings_next(&tm));
    double f_all = f_tf + f_diff + (decode ? f_dec : 0), f_all_full = f_tf_full + f_diff + (decode ? f_dec : 0);
    double total = tm.total_s;
    res[R_TOTAL] = total;
    res[R_TF] = t_tf;
    res[R_TF_LAST] = tm.transformer_s[S - 1];
    res[R_DIFF] = tm.diffusion_s;
    res[R_DECODE] = decode ? tm.decode_s : 0;
    res[R_OTHER] = other;
    fprintf(out, "  whole batch (hart_t2i_generate, begin .. %s): measured %.3f s (%.3f s per image), %.1f GFLOP",
            decode ? "image on the host" : "final f_hat", total, total / B, f_all * 1e-9);
    if (extrap)
        fprintf(out, "; est. with all %d blocks: %.3f s (%.3f s per image), %.1f GFLOP", D, total - t_tf + t_tf_est,
                (total - t_tf + t_tf_est) / B, f_all_full * 1e-9);
    fprintf(out, "\n");
    /* peak memory: measured; with omitted blocks, add theirs: fp32 weights
     * and KV cache on the CPU backend (the checkpoint is unmapped after
     * loading), the checkpoint's pages while loading otherwise */
    double aln = z->disable_aln ? (z->shared_aln ? 6.0 * C : 0) : 6.0 * C * C;
    double blk_w = (4.0 * C * C + (z->llama_mlp ? 3.0 : 2.0) * C * z->Hd + aln + 4.0 * C) * 4;
    double kv_bytes = 2.0 * N * (double)kv * C * 4, MiB = 1048576.0;
    int on_host = be->kind == HART_BACKEND_CPU;
    double pk = peak_mib(), add = (D - Nl) * (blk_w + (on_host ? kv_bytes : 0)) / MiB;
    fprintf(out, "  peak RSS %.0f MiB", pk);
    if (extrap) {
        fprintf(out, " (%d blocks); est. with all %d blocks: %.0f MiB (+ %d x (", Nl, D, pk + add, D - Nl);
        if (on_host) fprintf(out, "%.0f MiB weights + %.1f MiB KV cache))", blk_w / MiB, kv_bytes / MiB);
        else fprintf(out, "%.0f MiB checkpoint pages))", blk_w / MiB);
    }
    fprintf(out, "\n");
    if (orig_vt) {
        double dp = dev_peak / MiB;
        fprintf(out, "  peak device memory of live tensors %.0f MiB", dp);
        if (extrap)
            fprintf(out, " (%d blocks); est. with all %d blocks: %.0f MiB (+ %d x (%.0f MiB weights + %.1f MiB KV cache))",
                    Nl, D, dp + (D - Nl) * (blk_w + kv_bytes) / MiB, D - Nl, blk_w / MiB, kv_bytes / MiB);
        fprintf(out, " (backend scratch and buffer pool not counted)\n");
    }
done:
    if (st != HART_OK) fprintf(stderr, "bench_hart: %s\n", hart_errmsg());
    hart_tensor_free(&ctx);
    hart_tensor_free(&mask);
    hart_tensor_free(&img);
    hart_t2i_free(p);
    return st != HART_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median of v[0..n) (sorts v) */
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* the RESULT line of one size: medians over `runs` runs of res[run][R_*] */
static void print_result(const char *cfg_path, long px, int B, int runs, int depth, const hart_backend *be,
                         double res[][R_N]) {
    double m[R_N], col[64];
    for (int k = 0; k < R_N; k++) {
        for (int r = 0; r < runs; r++) col[r] = res[r][k];
        m[k] = median(col, runs);
    }
    const char *name = cfg_path ? strrchr(cfg_path, '/') : NULL;
    name = name ? name + 1 : cfg_path ? cfg_path : "small";
    int nl = (int)strlen(name);
    if (nl > 5 && !strcmp(name + nl - 5, ".json")) nl -= 5;
    /* tc: an OpenCL device in f16 mode or with $HART_CL_TENSOR_CORES (the tensor cores where it has them) */
    const char *tce = getenv("HART_CL_TENSOR_CORES");
    int tc = be->kind == HART_BACKEND_OPENCL && (be->precision == HART_PREC_F16 || (tce && atoi(tce)));
    printf("RESULT impl=hart config=%.*s px=%ld B=%d total_s=%.4f per_image_s=%.5f img_per_s=%.3f tf_s=%.4f "
           "tf_last_s=%.4f diff_s=%.4f decode_s=%.4f other_s=%.4f runs=%d tc=%d depth=%d precision=%s%s%s\n",
           nl, name, px, B, m[R_TOTAL], m[R_TOTAL] / B, m[R_TOTAL] > 0 ? B / m[R_TOTAL] : 0, m[R_TF], m[R_TF_LAST],
           m[R_DIFF], m[R_DECODE], m[R_OTHER], runs, tc, depth, hart_precision_name(be->precision),
           hart_quant_on_load() != HART_QF_NONE ? " quant=" : "",
           hart_quant_on_load() != HART_QF_NONE ? hart_qformat_name(hart_quant_on_load()) : "");
    fflush(stdout);
}

static int usage(void) {
    fprintf(stderr, "usage: bench_hart [--device SPEC] [--size 256|512|1024[,...]] [--layers N (0 = all)]\n"
                    "                  [--config llm-config.json] [--batch B] [--runs N] [--no-decode] [--small]\n"
                    "                  [--warmup] [--precision f32|f16 (default: f16 on a GPU, else f32)]\n"
                    "                  [--quant none|w8a8|w4a16|w4a8[,...]]\n");
    return 2;
}

int main(int argc, char **argv) {
    const char *dev = NULL, *res_list = "512", *cfg_path = NULL, *prec_s = NULL;
    int decode = 1, small = 0, layers = 1, warmup = 0, batch = 1, runs = 1, nq = 1;
    hart_qformat qfs[8] = {HART_QF_NONE};
    out = stdout;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((!strcmp(a, "--device") || !strcmp(a, "-d")) && v) dev = argv[++i];
        else if ((!strcmp(a, "--size") || !strcmp(a, "--res")) && v) res_list = argv[++i];
        else if (!strcmp(a, "--config") && v) cfg_path = argv[++i];
        else if (!strcmp(a, "--precision") && v) prec_s = argv[++i];
        else if (!strcmp(a, "--quant") && v) {
            char qb[128];
            snprintf(qb, sizeof qb, "%s", argv[++i]);
            nq = 0;
            for (char *q = strtok(qb, ","); q; q = strtok(NULL, ",")) {
                if (nq == 8) { fprintf(stderr, "bench_hart: --quant: at most 8 entries\n"); return 2; }
                if (!strcmp(q, "none")) qfs[nq++] = HART_QF_NONE;
                else if (hart_qformat_parse(q, &qfs[nq++])) {
                    fprintf(stderr, "bench_hart: --quant: %s\n", hart_errmsg());
                    return 2;
                }
            }
            if (!nq) { fprintf(stderr, "bench_hart: --quant: empty list\n"); return 2; }
        }
        else if (!strcmp(a, "--layers") && v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 0 || n > 1000) {
                fprintf(stderr, "bench_hart: --layers '%s': expected an integer >= 0 (0 = all)\n", v);
                return 2;
            }
            layers = (int)n;
            i++;
        } else if (!strcmp(a, "--batch") && v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 64) {
                fprintf(stderr, "bench_hart: --batch '%s': expected an integer in 1..64\n", v);
                return 2;
            }
            batch = (int)n;
            i++;
        } else if (!strcmp(a, "--runs") && v) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 64) {
                fprintf(stderr, "bench_hart: --runs '%s': expected an integer in 1..64\n", v);
                return 2;
            }
            runs = (int)n;
            i++;
        } else if (!strcmp(a, "--no-decode")) decode = 0;
        else if (!strcmp(a, "--warmup")) warmup = 1;
        else if (!strcmp(a, "--small")) small = 1;
        else return usage();
    }
    if (small && cfg_path) { fprintf(stderr, "bench_hart: --small and --config are exclusive\n"); return 2; }
    if (!small && !cfg_path) cfg_path = "configs/hart-0.7b-1024px-llm.json";
    cJSON *cfg = NULL;
    if (cfg_path) {
        if (hart_json_load(cfg_path, &cfg) != HART_OK) {
            fprintf(stderr, "bench_hart: %s (run from the repository root or give --config)\n", hart_errmsg());
            return 1;
        }
    } else if (!(cfg = cJSON_Parse(SMALL_CFG))) {
        fprintf(stderr, "bench_hart: built-in config does not parse\n");
        return 1;
    }
    sizes z;
    if (hart_random_llm_from_config(cfg, &z)) {
        fprintf(stderr, "bench_hart: %s: %s\n", cfg_path ? cfg_path : "built-in config", hart_errmsg());
        return 1;
    }
    z.depth = layers && layers < z.full_depth ? layers : z.full_depth;
    hart_backend *be = NULL;
    hart_precision prec;
    if (hart_precision_parse(prec_s, &prec)) { fprintf(stderr, "%s: --precision: %s\n", argv[0], hart_errmsg()); return 2; }
    char why[768];
    if (hart_backend_open_prec(dev, prec, &be, why, sizeof why) != HART_OK) { fprintf(stderr, "bench_hart: %s\n", hart_errmsg()); return 1; }
    printf("bench_hart: precision %s\n", hart_precision_name(be->precision));
    count_device_memory(be);
    const int V = 4096, Zc = 32;
    double aln = z.disable_aln ? (z.shared_aln ? 6.0 * z.C : 0) : 6.0 * z.C * z.C;
    double params = z.full_depth * (4.0 * z.C * z.C + (z.llama_mlp ? 3.0 : 2.0) * z.C * z.Hd + aln) +
                    (double)z.C * z.Dc + 2.0 * z.C * z.C + (double)z.C * V +
                    ((double)z.C * z.DW + 256.0 * z.DW + (double)z.DW * z.DW + z.DD * 5.0 * z.DW * z.DW + 2.0 * z.DW * z.DW);
    printf("bench_hart: %s: depth %d (%d built), width %d, %d heads, %s, MLP %s %d, context %dx%d, diffusion head "
           "%dx%d, vocab %d, z %d (~%.0fM parameters); batch %d; backend %s\n",
           cfg_path ? cfg_path : "small built-in config", z.full_depth, z.depth, z.C, z.H,
           z.disable_aln ? (z.shared_aln ? "shared AdaLN table" : "no AdaLN (disable_aln)") : "per-block AdaLN",
           z.llama_mlp ? "llama" : "gpt2", z.Hd, z.T, z.Dc, z.DW, z.DD, V, Zc, params * 1e-6, batch, be->name);
    char buf[128];
    snprintf(buf, sizeof buf, "%s", res_list);
    int rc = 0;
    for (char *tok = strtok(buf, ","); tok && !rc; tok = strtok(NULL, ",")) {
        static const int pn256[] = {1, 2, 3, 4, 5, 6, 8, 10, 13, 16};
        static const int pn512[] = {1, 2, 3, 4, 6, 9, 13, 18, 24, 32};
        static const int pn1024[] = {1, 2, 3, 4, 5, 7, 9, 12, 16, 21, 27, 36, 48, 64};
        char *end;
        long res = strtol(tok, &end, 10);
        const int *pn = *end ? NULL : res == 256 ? pn256 : res == 512 ? pn512 : res == 1024 ? pn1024 : NULL;
        if (!pn) { fprintf(stderr, "bench_hart: --size '%s': expected 256, 512 or 1024\n", tok); rc = 2; break; }
        z.S = res == 1024 ? 14 : 10;
        memcpy(z.pn, pn, sizeof(int) * (size_t)z.S);
        char dir[256];
        snprintf(dir, sizeof dir, "/tmp/hart_bench_%d_%ld", (int)getpid(), res);
        printf("== %ld px (%d scales, last %dx%d, tokenizer ch %d)\n", res, z.S, pn[z.S - 1], pn[z.S - 1],
               small ? 32 : 160);
        double t0 = hart_clock();
        if (hart_random_model_write(dir, cfg, &z, V, Zc, small ? 32 : 160)) {
            fprintf(stderr, "bench_hart: cannot write the random model in %s\n", dir);
            rc = 1;
        } else {
            printf("  (random model written in %.1f s)\n", hart_clock() - t0);
            hart_quant_set_on_load(qfs[0]);
            if (warmup) { /* one untimed image first (kernel compilation, allocator, caches) */
                FILE *null = fopen("/dev/null", "w");
                if (null) {
                    out = null;
                    t0 = hart_clock();
                    double junk[R_N];
                    rc = run(be, dir, &z, batch, decode, junk);
                    out = stdout;
                    fclose(null);
                    printf("  (warm-up image %.1f s)\n", hart_clock() - t0);
                }
            }
            for (int qi = 0; qi < nq && !rc; qi++) {
                hart_quant_set_on_load(qfs[qi]);
                if (nq > 1) printf("  -- weights: %s\n", qfs[qi] ? hart_qformat_name(qfs[qi]) : "float");
                double fig[64][R_N];
                for (int r = 0; r < runs && !rc; r++) {
                    if (runs > 1) printf("  -- run %d of %d\n", r + 1, runs);
                    rc = run(be, dir, &z, batch, decode, fig[r]);
                }
                if (!rc) print_result(cfg_path, res, batch, runs, z.depth, be, fig);
            }
        }
        hart_random_model_remove(dir);
    }
    cJSON_Delete(cfg);
    hart_backend_close(be);
    return rc;
}
