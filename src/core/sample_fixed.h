/* Token sampling on one row of logits, defined in integer arithmetic
 * (kernels/sample_math.cl, shared with the OpenCL kernels) so that every
 * backend keeps the same set and draws the same token from the same logits.
 * The backends' topk_topp and multinomial ops are these functions applied
 * row by row (the OpenCL kernels reach the same results by other routes:
 * threshold searches and prefix sums instead of selection and sorting).
 *
 * Filter (HART's top-k then top-p, applied to a row in place):
 *  - top-k (0 < k < V): entries below the k-th largest value become -inf
 *    (entries tied with it stay; -0 and +0 are one value).
 *  - top-p (0 < p < 1): with weights w = sm_row_weight (2^40·exp(x − max)),
 *    S their sum and LIM = floor(floor((1−p)·2^32) · S / 2^32), the entries
 *    are taken in ascending (value, index) order and each whose cumulative
 *    weight (itself included) is <= LIM becomes -inf; the largest never does.
 * Draw: with U a 32-bit fraction (u = U / 2^32), target = floor(U · S / 2^32);
 * the first index (in index order) whose cumulative weight exceeds target. */
#ifndef HART_CORE_SAMPLE_FIXED_H
#define HART_CORE_SAMPLE_FIXED_H

#include <stdint.h>

#include "core/status.h"

/* 2^40 · exp(x − mx), the integer weight of logit x in a row of maximum mx. */
uint64_t hart_sample_weight(float x, float mx);
/* floor((1 − p) · 2^32) for 0 < p < 1: the top-p limit as a 32-bit fraction. */
uint64_t hart_sample_topp_frac(double p);
/* The filter above; V < 1, V > HART_SAMPLE_MAX_V or a NaN logit is EINVAL. */
hart_status hart_sample_filter_row(float *row, int V, int k, double p);
/* The draw above (U = u·2^32 for the uniform u); all -inf: index 0. */
int64_t hart_sample_draw_row(const float *row, int V, uint64_t U);

/* probs = softmax((logits·scale + g) / tau), g = −log(E), E = −log(1−u[i])
 * ("more smooth" codes; continuous, so devices may differ by rounding). */
void hart_sample_gumbel_row(float *probs, const float *logits, int V, float scale, float tau, const double *u);

#define HART_SAMPLE_MAX_V (1 << 22) /* row sums of weights stay below 2^63 */

#endif
