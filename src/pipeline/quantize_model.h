/* `hart quantize`: a quantized copy of a HART model folder (docs/quant.md).
 * Calibration (optional) renders the prompts of a file with the real text
 * encoder and transformer while every linear layer's inputs are recorded
 * (quant/qload.h); each linear weight of llm/ (transformer + diffusion head)
 * and text_encoder/ is then quantized (quant/smooth.h) and written in the
 * release layout: model.safetensors with the packed tensors (names in
 * quant/qload.h; the text encoder's W4A16 weights in the AutoAWQ layout),
 * config.json with a "quantization_config", every other file copied. The
 * folder is built under ".<out>.partial-<pid>" beside it and renamed to <out>
 * at the end; a failure removes it, so <out> either is complete or does not
 * exist (a killed run's folder is removed by the next run for the same <out>). */
#ifndef HART_PIPELINE_QUANTIZE_MODEL_H
#define HART_PIPELINE_QUANTIZE_MODEL_H

#include <stdio.h>

#include "core/qweight.h"

typedef struct {
    const char *model_dir;  /* HART model folder (llm/, tokenizer/, text_encoder/) */
    const char *text_model; /* text encoder folder; NULL = <model_dir>/text_encoder when present */
    const char *out_dir;    /* must not exist */
    const char *calib;      /* prompt file, NULL = round-to-nearest only */
    const char *device;     /* backend for calibration */
    hart_qformat fmt;
    double alpha;           /* SmoothQuant α; < 0 = searched per layer */
    int sample_rows;        /* calibration rows kept per layer (default 128) */
    int verbose;
    int group;              /* k per group of the 4-bit formats; 0 = HART_QGROUP (128) */
} hart_quantize_model_opts;

hart_status hart_quantize_model(const hart_quantize_model_opts *o, FILE *log);

#endif
