/* Test helpers: locating ../shared/golden and comparing tensors with the
 * project's tolerance rule max|a-b| / max|b|. */
#ifndef HART_TEST_GOLDEN_H
#define HART_TEST_GOLDEN_H

#include "core/checkpoint.h"
#include "core/safetensors.h"

#include <cjson/cJSON.h>

/* Path of a golden set file: the first of $HART_GOLDEN/<rel> (or
 * ../shared/golden/<rel> when that folder exists) and tests/data/golden/<rel>
 * that exists, relative to the repo root (tests run from the repo root). */
const char *golden_path(const char *rel, char *buf, size_t n);
/* 1 if the golden folder exists (tests skip with a message otherwise). */
int golden_available(void);
/* Every golden set folder named <prefix>* that holds file `marker`, in
 * $HART_GOLDEN (or ../shared/golden) and tests/data/golden (a name found in
 * both counts once): full paths in dirs[0..n-1], sorted; returns n (<= max). */
int golden_sets(const char *prefix, const char *marker, char dirs[][1024], int max);

/* Every HART generation set (hart-* with llm/config.json), as golden_sets. */
int golden_hart_sets(char dirs[][1024], int max);

/* Copy the golden model folder `rel` (config.json + one safetensors file)
 * to `dir` with its F32 tensors of rank `ndim` rounded to `dt` (BF16/F16):
 * stored as `dt` (upcast = 0) or as the same rounded values in F32
 * (upcast = 1); other tensors unchanged. all_f32: assert every tensor is F32. */
void golden_write_rounded_copy(const char *rel, const char *dir, int ndim, hart_dtype dt, int upcast,
                               int all_f32);

/* Write JSON `c` to `path` (test helper: asserts it worked). */
void golden_write_json(const char *path, const cJSON *c);

/* max|a-b| / max|b| over n floats (0 when both are all zero). */
double rel_err(const float *a, const float *b, int64_t n);
/* Compare tensor `got` (any backend, F32) with golden tensor `name` of
 * `st`: shapes must match; prints "name: rel err X" and returns the error
 * (or 1e30 on shape mismatch / missing). */
double golden_compare(const hart_safetensors *st, const char *name, const hart_tensor *got);
/* Exact comparison of an integer tensor (I64) with golden; returns the
 * number of differing entries (or -1 on shape mismatch / missing). */
int64_t golden_compare_idx(const hart_safetensors *st, const char *name, const hart_tensor *got);

/* Fill with deterministic pseudo-random floats in [lo, hi). */
void fill_random(float *x, int64_t n, unsigned seed, float lo, float hi);
/* Fill with NaN (poison output buffers). */
void fill_nan(float *x, int64_t n);

#endif
