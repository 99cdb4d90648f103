/* hart generate: render images from a text context (file) or a prompt. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/lpd_cli.h"
#include "core/safetensors.h"
#include "pipeline/t2i.h"

#include "io/image.h"
#include "pipeline/t2i_prompts.h"
#include "pipeline/text_encode.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: hart generate --context CTX.safetensors -m MODEL [options]\n"
            "       hart generate -p PROMPT --text-model DIR -m MODEL [options]\n\n"
            "  -m, --model DIR        HART model folder (llm/ + tokenizer/)\n"
            "  --context FILE         safetensors with gen.context [B,T,D], gen.context_mask [B,T]\n"
            "                         and optionally gen.context_position_ids [B,T]\n"
            "  -p, --prompt TEXT      text prompt (needs --text-model)\n"
            "  --text-model DIR       Qwen2 text encoder folder\n"
            "  -o, --output FILE      output image, .png, .jpg or .jpeg (default out.png;\n"
            "                         several images: FILE_0.png, FILE_1.png, ...)\n"
            "  -n, --images N         N images of the prompt in one batch, seeds S, S+1, ...\n"
            "                         (each equals the image rendered alone with its seed)\n"
            "  --seed N               random seed (default 0)\n"
            "  --cfg X                guidance scale (default 4.5)\n"
            "  --top-k N              top-k for every scale (default 0: 600 below scale 7, 300 after)\n"
            "  --top-p P              nucleus sampling threshold in (0,1) (default 0 = off)\n"
            "  --smooth               Gumbel-softmax \"more smooth\" codes\n"
            "  --temperature T        diffusion head temperature (default 1.0)\n"
            "  --replay FILE          replay sampled indices and noise from a golden file\n"
            "  --dump FILE            write intermediate tensors (golden names) to FILE\n"
            "  -d, --device SPEC      cpu, opencl[:P[:D]], auto, ref64 (default $HART_DEVICE or cpu)\n"
            "  --timings              per-stage times on stderr (text encoding, each scale,\n"
            "                         diffusion head, decode, total), waited for the device\n"
            "  -v, --verbose          progress on stderr\n\n"
            "LPD class-to-image models: hart generate -m LPD.pth --vq VQ.pt --class N [options]\n"
            "(see 'hart generate --vq x --help')\n");
}

static int parse_num(const char *flag, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "hart generate: invalid value '%s' for %s (expected a number in [%g, %g])\n", s, flag, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

static int parse_u64(const char *flag, const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    if (!*s || *s == '-') goto bad;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end || errno) goto bad;
    *out = v;
    return 1;
bad:
    fprintf(stderr, "hart generate: invalid value '%s' for %s (expected an integer >= 0)\n", s, flag);
    return 0;
}

/* --top-k: an integer in [0, 2^30]; 0 keeps the per-scale default, as in
 * `hart batch` */
static int parse_top_k(const char *s, int *out) {
    double d;
    if (!parse_num("--top-k", s, 0, 1 << 30, &d)) return 0;
    if (d != floor(d)) {
        fprintf(stderr, "hart generate: invalid value '%s' for --top-k (expected an integer)\n", s);
        return 0;
    }
    *out = (int)d;
    return 1;
}

/* image `i` of `img` [B,3,H,W] in [0,1] -> file (PNG/JPEG by extension with
 * the shared image API), "parameters" metadata */
static hart_status save_image(const char *path, const hart_tensor *img, int i, const char *const *kv, int n) {
    hart_image_text pairs[16];
    for (int k = 0; k < n && k < 16; k++) { pairs[k].key = (char *)kv[2 * k]; pairs[k].value = (char *)kv[2 * k + 1]; }
    char *params = hart_image_params_text(pairs, n < 16 ? n : 16);
    if (!params) return hart_fail(HART_ENOMEM, "%s: metadata", path);
    hart_image im;
    hart_status st = hart_image_from_tensor(img, i, &im);
    if (!st) {
        hart_image_text t = {(char *)"parameters", params};
        st = hart_image_write(path, &im, &t, 1, 0);
        hart_image_free(&im);
    }
    free(params);
    return st;
}

/* The folder that will receive `path` must exist and be writable: checked
 * before any model is loaded so a typo costs nothing. 0 on success, else an
 * error printed naming `flag` and the folder. */
static int check_dir_of(const char *flag, const char *path) {
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        fprintf(stderr, "hart generate: %s %s: folder '%s' does not exist (%s)\n", flag, path, dir, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "hart generate: %s %s: '%s' is not a folder\n", flag, path, dir);
        return 1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "hart generate: %s %s: folder '%s' is not writable (%s)\n", flag, path, dir, strerror(errno));
        return 1;
    }
    return 0;
}

static void out_name(const char *base, int i, int n, char *buf, size_t sz) {
    if (n == 1) { snprintf(buf, sz, "%s", base); return; }
    const char *dot = strrchr(base, '.'), *slash = strrchr(base, '/');
    if (dot && (!slash || dot > slash))
        snprintf(buf, sz, "%.*s_%d%s", (int)(dot - base), base, i, dot);
    else
        snprintf(buf, sz, "%s_%d", base, i);
}

int cmd_generate(int argc, char **argv) {
    if (lpd_cli_wanted(argc, argv)) return cmd_generate_lpd(argc, argv);
    const char *model = NULL, *ctx_path = NULL, *prompt = NULL, *text_model = NULL, *out = "out.png";
    const char *replay_path = NULL, *dump_path = NULL, *device = NULL;
    hart_t2i_opts o;
    hart_t2i_default_opts(&o);
    int n_images = 1, want_timings = 0;
    hart_t2i_timings timings;
    memset(&timings, 0, sizeof timings);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
#define VAL() (has ? argv[++i] : NULL)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--smooth")) o.more_smooth = 1;
        else if (!strcmp(a, "--timings")) want_timings = 1;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) o.verbose = 1;
        else if (!strcmp(a, "-m") || !strcmp(a, "--model") || !strcmp(a, "--context") || !strcmp(a, "-p") ||
                 !strcmp(a, "--prompt") || !strcmp(a, "--text-model") || !strcmp(a, "-o") || !strcmp(a, "--output") ||
                 !strcmp(a, "--seed") || !strcmp(a, "--cfg") || !strcmp(a, "--top-k") || !strcmp(a, "--top-p") ||
                 !strcmp(a, "--temperature") || !strcmp(a, "--replay") || !strcmp(a, "--dump") ||
                 !strcmp(a, "--device") || !strcmp(a, "-d") || !strcmp(a, "-n") || !strcmp(a, "--images")) {
            const char *v = VAL();
            if (!v) { fprintf(stderr, "hart generate: %s needs a value (see 'hart generate --help')\n", a); return 2; }
            double d;
            if (!strcmp(a, "-m") || !strcmp(a, "--model")) model = v;
            else if (!strcmp(a, "--context")) ctx_path = v;
            else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) prompt = v;
            else if (!strcmp(a, "--text-model")) text_model = v;
            else if (!strcmp(a, "-o") || !strcmp(a, "--output")) out = v;
            else if (!strcmp(a, "--replay")) replay_path = v;
            else if (!strcmp(a, "--dump")) dump_path = v;
            else if (!strcmp(a, "--device") || !strcmp(a, "-d")) {
                if (!hart_args_device_ok(v)) {
                    fprintf(stderr, "hart generate: invalid value '%s' for --device (expected cpu, opencl, opencl:P, "
                                    "opencl:P:D, auto or ref64)\n", v);
                    return 2;
                }
                device = v;
            }
            else if (!strcmp(a, "--seed")) { if (!parse_u64(a, v, &o.seed)) return 2; }
            else if (!strcmp(a, "--cfg")) { if (!parse_num(a, v, 0, 1000, &o.cfg)) return 2; }
            else if (!strcmp(a, "--top-k")) { if (!parse_top_k(v, &o.top_k)) return 2; }
            else if (!strcmp(a, "--top-p")) { if (!parse_num(a, v, 0, 1, &o.top_p)) return 2; }
            else if (!strcmp(a, "--temperature")) { if (!parse_num(a, v, 0, 100, &d)) return 2; o.temperature = (float)d; }
            else if (!strcmp(a, "-n") || !strcmp(a, "--images")) {
                if (!parse_num(a, v, 1, 4096, &d) || d != floor(d)) {
                    if (d != floor(d)) fprintf(stderr, "hart generate: %s must be an integer\n", a);
                    return 2;
                }
                n_images = (int)d;
            }
        } else {
            fprintf(stderr, "hart generate: unknown option '%s' (see 'hart generate --help')\n", a);
            return 2;
        }
#undef VAL
    }
    if (!model) { fprintf(stderr, "hart generate: -m/--model is required (see 'hart generate --help')\n"); return 2; }
    if (!ctx_path && !prompt) { fprintf(stderr, "hart generate: give --context FILE or -p PROMPT\n"); return 2; }
    if (ctx_path && prompt) { fprintf(stderr, "hart generate: --context and -p are exclusive\n"); return 2; }
    if (ctx_path && n_images > 1) {
        fprintf(stderr, "hart generate: -n applies to -p (a --context file gives its own batch)\n");
        return 2;
    }
    if (want_timings) o.timings = &timings;
    if (hart_image_format_of(out) == HART_IMG_UNKNOWN) {
        fprintf(stderr, "hart generate: -o %s: unknown image extension (expected .png, .jpg or .jpeg)\n", out);
        return 2;
    }
    if (check_dir_of("-o", out) || (dump_path && check_dir_of("--dump", dump_path))) return 1;
    struct stat osb;
    if (stat(out, &osb) == 0 && S_ISDIR(osb.st_mode)) {
        fprintf(stderr, "hart generate: -o %s: is a folder (give a file name, e.g. %s/out.png)\n", out, out);
        return 1;
    }
    char tdir[PATH_MAX] = ""; /* text encoder: --text-model, default MODEL/text_encoder; checked before loading */
    if (prompt) {
        if (text_model) snprintf(tdir, sizeof tdir, "%s", text_model);
        else snprintf(tdir, sizeof tdir, "%s/text_encoder", model);
        struct stat tsb;
        if (stat(tdir, &tsb) != 0 || !S_ISDIR(tsb.st_mode)) {
            fprintf(stderr, "hart generate: text encoder folder '%s' not found (give --text-model DIR)\n", tdir);
            return 1;
        }
    }
    if (hart_args_parse_only) return 0;
    int rc = 1;
    hart_status st;
    hart_backend *be = NULL;
    hart_t2i *p = NULL;
    hart_safetensors cst, rst;
    int have_c = 0, have_r = 0;
    hart_tensor ctx = {0}, mask = {0}, pos = {0}, *posp = NULL;
    hart_text_encoder te;
    int have_te = 0;
    hart_tensor img = {0};
    const char **prompts = NULL;
    uint64_t *seeds = NULL;
    o.dump = NULL;
    char why[256] = "";
    if ((st = hart_backend_open(device, &be, why, sizeof why)) != HART_OK) goto fail;
    if (ctx_path) {
        if ((st = hart_st_open(ctx_path, &cst)) != HART_OK) goto fail;
        have_c = 1;
        if ((st = hart_st_tensor(&cst, "gen.context", &ctx)) != HART_OK ||
            (st = hart_st_tensor(&cst, "gen.context_mask", &mask)) != HART_OK)
            goto fail;
        if (hart_st_find(&cst, "gen.context_position_ids")) {
            if ((st = hart_st_tensor(&cst, "gen.context_position_ids", &pos)) != HART_OK) goto fail;
            posp = &pos;
        }
        if (ctx.dtype != HART_F32 || ctx.ndim != 3) {
            st = hart_fail(HART_EINVAL, "%s: gen.context must be float32 [B,T,D]", ctx_path);
            goto fail;
        }
    }
    if (replay_path) {
        if ((st = hart_st_open(replay_path, &rst)) != HART_OK) goto fail;
        have_r = 1;
        o.replay = &rst;
    }
    if (dump_path) {
        o.dump = hart_st_writer_new();
        if (!o.dump) { st = hart_fail(HART_ENOMEM, "dump writer"); goto fail; }
    }
    if ((st = hart_t2i_load(be, model, &p)) != HART_OK) goto fail;
    int T, D;
    hart_t2i_context_shape(p, &T, &D);
    if (prompt) {
        if ((st = hart_text_encoder_load(tdir, be, &te)) != HART_OK) goto fail;
        have_te = 1;
        prompts = malloc(sizeof(char *) * (size_t)n_images);
        seeds = malloc(sizeof(uint64_t) * (size_t)n_images);
        if (!prompts || !seeds) { st = hart_fail(HART_ENOMEM, "out of memory"); goto fail; }
        for (int i = 0; i < n_images; i++) {
            prompts[i] = prompt;
            seeds[i] = o.seed + (uint64_t)i;
        }
        ctx_path = "(prompt)";
        if ((st = hart_t2i_render_prompts(p, &te, NULL, prompts, seeds, n_images, &o, &img)) != HART_OK) goto fail;
    } else {
        if (ctx.shape[1] != T || ctx.shape[2] != D) {
            st = hart_fail(HART_EINVAL, "%s: gen.context is [%lld,%lld,%lld] but the model expects [B,%d,%d]",
                           ctx_path, (long long)ctx.shape[0], (long long)ctx.shape[1], (long long)ctx.shape[2], T, D);
            goto fail;
        }
        if ((st = hart_t2i_generate(p, &ctx, &mask, posp, &o, &img)) != HART_OK) goto fail;
    }
    if (want_timings) hart_t2i_timings_print(stderr, &timings);
    int B = (int)img.shape[0];
    for (int i = 0; i < B; i++) {
        char path[PATH_MAX], tk[32], idx[32], seed[32], cfg[32], tp[32], temp[32];
        out_name(out, i, B, path, sizeof path);
        if (o.top_k) snprintf(tk, sizeof tk, "%d", o.top_k);
        else snprintf(tk, sizeof tk, "600/300");
        snprintf(idx, sizeof idx, "%d", i);
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)(seeds ? seeds[i] : o.seed));
        snprintf(cfg, sizeof cfg, "%g", o.cfg);
        snprintf(tp, sizeof tp, "%g", o.top_p);
        snprintf(temp, sizeof temp, "%g", o.temperature);
        const char *kv[] = {"prompt", prompt ? prompt : "", "context", ctx_path, "model", model, "index", idx,
                            "seed", seed, "cfg", cfg, "top_k", tk, "top_p", tp, "smooth", o.more_smooth ? "1" : "0",
                            "temperature", temp, "replay", replay_path ? replay_path : "no"};
        if ((st = save_image(path, &img, i, kv, (int)(sizeof kv / sizeof kv[0] / 2))) != HART_OK) goto fail;
        if (o.verbose) fprintf(stderr, "hart: wrote %s\n", path);
    }
    if (o.dump && (st = hart_st_writer_save(o.dump, dump_path)) != HART_OK) goto fail;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "hart generate: %s\n", hart_errmsg());
done:
    hart_tensor_free(&img);
    free(prompts);
    free(seeds);
    if (have_te) hart_text_encoder_free(&te);
    hart_t2i_free(p);
    if (o.dump) hart_st_writer_free(o.dump);
    if (have_c) hart_st_close(&cst);
    if (have_r) hart_st_close(&rst);
    if (be) hart_backend_close(be);
    return rc;
}
