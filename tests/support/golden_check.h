/* Golden checks with limits from measurement.
 *
 * A golden tensor was computed by the original code in float32; so is ours.
 * Neither is exact, and how far float32 strays depends on the tensor: a
 * GEMM output is tight, the diffusion head's output (guidance ×7.75,
 * √(1/ᾱ−1), a learned σ) amplifies round-off by orders of magnitude. So no
 * single tolerance is right. Instead every golden test first runs the same
 * model code in float64 (the "ref64" backend, the precision oracle), then on
 * each float32 backend, and for each tensor:
 *
 *   stray  = max over the float32 runs of  rel(f32 run, float64 run)
 *   limit  = GOLDEN_STRAY_MULTIPLE × max(stray, FLT_EPSILON)
 *   every float32 run and the float64 run itself must be within `limit` of
 *   the golden tensor (rel = max|a−b| / max|b|; NaN or Inf anywhere fails).
 *
 * The float64 run is the port in exact arithmetic: "float64 within the limit
 * of golden" says the math is the original's up to float32 round-off; a bug
 * moves the float32 and float64 runs together and fails both. The measured
 * values for the shipped sets are in tests/golden/LIMITS.md.
 *
 * Use: for each backend of test_backends (the oracle comes first),
 *   golden_run_begin(be); ...run...; golden_check(st, "name", &tensor); ...
 * and golden_verify() once all backends ran (asserts, prints the table). */
#ifndef HART_TEST_GOLDEN_CHECK_H
#define HART_TEST_GOLDEN_CHECK_H

#include "backend/backend.h"
#include "core/safetensors.h"

/* The multiple of the measured float32 stray that a result may be from the
 * golden value (see tests/golden/LIMITS.md for why this value). */
#define GOLDEN_STRAY_MULTIPLE 8.0

/* The limit for a measured float32 stray: GOLDEN_STRAY_MULTIPLE x max(stray, FLT_EPSILON). */
double golden_limit(double stray);

/* The float64 precision oracle (opened once, never NULL once opened). */
hart_backend *golden_oracle(void);
/* Start the run of one backend: results checked until the next call are
 * this backend's (the oracle's when be == golden_oracle()). */
void golden_run_begin(hart_backend *be);
/* Record `got` (any backend, float dtype) against golden tensor `name`:
 * shapes must be equal; prints the errors; returns rel(got, golden). */
double golden_check(const hart_safetensors *st, const char *name, const hart_tensor *got);
/* Assert every record since the last verify is within its limit. */
void golden_verify(void);

#endif
