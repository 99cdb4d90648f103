/* Test helpers: locating ../shared/golden and comparing tensors with the
 * project's tolerance rule max|a-b| / max|b|. */
#ifndef HART_TEST_GOLDEN_H
#define HART_TEST_GOLDEN_H

#include "core/checkpoint.h"
#include "core/safetensors.h"

/* Path of a golden set file: $HART_GOLDEN/<rel> or ../shared/golden/<rel>
 * relative to the repo root (tests run from the repo root). */
const char *golden_path(const char *rel, char *buf, size_t n);
/* 1 if the golden folder exists (tests skip with a message otherwise). */
int golden_available(void);

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
