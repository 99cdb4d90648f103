/* hart quantize: write a quantized copy of a model folder (pipeline/quantize_model.h, docs/quant.md). */
#include <stdio.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "pipeline/quantize_model.h"

int cmd_quantize(int argc, char **argv) {
    const char *model = NULL, *text_model = NULL, *out = NULL, *calib = NULL, *format = NULL, *device = NULL;
    double alpha = -1;
    int rows = 128, group = 0, verbose = 0, quiet = 0;
    const hart_opt opts[] = {
        HART_OPT_MODEL(&model),
        HART_OPT_TEXT_MODEL(&text_model),
        {"format", 0, HART_ARG_CHOICE, &format, "FMT", "w8a8 (SmoothQuant), w4a16 (AWQ) or w4a8 (QServe progressive)", NULL,
         0, 0, "w8a8|w4a16|w4a8"},
        {"output", 'o', HART_ARG_STR, &out, "DIR", "output model folder (must not exist)", NULL, 0, 0, NULL},
        {"calib", 0, HART_ARG_STR, &calib, "PROMPTS.txt",
         "calibration prompts (e.g. samples/calib_prompts.txt); without: round-to-nearest", NULL, 0, 0, NULL},
        {"alpha", 0, HART_ARG_FLOAT, &alpha, "A", "SmoothQuant migration strength (w8a8, w4a8)", "searched per layer",
         0, 1, NULL},
        {"calib-rows", 0, HART_ARG_INT, &rows, "N", "activation rows kept per layer for the scale search", "128", 2,
         65536, NULL},
        {"group-size", 0, HART_ARG_INT, &group, "N",
         "k per scale group of the 4-bit formats (even; a layer narrower than N is one group)", "128", 2, 65536, NULL},
        HART_OPT_DEVICE(&device),
        HART_OPT_VERBOSE(&verbose),
        HART_OPT_QUIET(&quiet),
        HART_OPT_END};
    const hart_cmd_spec spec = {
        "quantize", "-m MODEL --format FMT [--calib PROMPTS.txt] [--alpha A] [--group-size N] -o OUTDIR",
        "Write a quantized copy of a HART model folder: every linear layer of the transformer, the diffusion head and "
        "the Qwen2 text encoder (embeddings, output heads and norms stay float). With --calib the prompts are "
        "rendered first and each layer's inputs recorded for SmoothQuant / AWQ scales. The folder appears complete "
        "or not at all (built as .OUTDIR.partial-PID beside it, then renamed). `hart generate -m OUTDIR` runs it.",
        opts, 0, 0, 0};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    if (!model) return hart_args_usage_error(&spec, "-m/--model is required");
    if (!format) return hart_args_usage_error(&spec, "--format is required (w8a8, w4a16 or w4a8)");
    if (!out) return hart_args_usage_error(&spec, "-o/--output DIR is required");
    if (verbose && quiet) return hart_args_usage_error(&spec, "-v and -q are exclusive");
    hart_quantize_model_opts o = {model, text_model, out, calib, device, HART_QF_NONE, alpha, rows, verbose, group};
    if (hart_qformat_parse(format, &o.fmt)) return hart_args_usage_error(&spec, "%s", hart_errmsg());
    if (alpha >= 0 && o.fmt == HART_QF_W4A16) return hart_args_usage_error(&spec, "--alpha applies to w8a8 and w4a8");
    if (group && o.fmt == HART_QF_W8A8) return hart_args_usage_error(&spec, "--group-size applies to w4a16 and w4a8");
    if (group % 2) return hart_args_usage_error(&spec, "--group-size must be even (two 4-bit values per byte)");
    if (hart_args_parse_only) return 0;
    if (hart_quantize_model(&o, quiet ? NULL : stdout)) {
        fprintf(stderr, "hart quantize: %s\n", hart_errmsg());
        return 1;
    }
    if (!quiet) printf("wrote %s\n", out);
    return 0;
}
