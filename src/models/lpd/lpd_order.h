/* Generation orders and step schedules of LPD.
 *
 * hart_lpd_order_lpd is the locality-aware order of the original
 * (orders/lpd_order.py, lpd_order_schedule): step 0 takes a random cell;
 * each later step scores every free cell by proximity (sum of 1/distance to
 * the already generated cells among its 8 neighbours), visits them from the
 * highest score (ties in random order), takes those scoring at least
 * `proximity` whose repulsion box (|dr| <= repulsion and |dc| <= repulsion)
 * holds no pick of this step, and fills the rest of the group by farthest
 * point sampling from this step's picks. Its randomness is our Philox
 * stream (seed, stream): the same seed gives the same order, but not the
 * bits of Python's Mersenne Twister; the release's precomputed order files
 * are read with hart_lpd_orders_load. */
#ifndef HART_MODELS_LPD_ORDER_H
#define HART_MODELS_LPD_ORDER_H

#include <stdint.h>

#include "core/status.h"

/* The RNG draw site of order generation (stream = hart_rng_stream(image, site, 0)). */
#define HART_LPD_RNG_SITE_ORDER 17

/* order[0..grid²-1] raster indices; g[0] must be 1 (as in the original).
 * n_prox (may be NULL): per step, how many of its picks came from the
 * proximity phase (they come first in the step). */
hart_status hart_lpd_order_lpd(const int *g, int K, int grid, double proximity, double repulsion, uint64_t seed,
                               uint64_t stream, int64_t *order, int *n_prox);
/* A uniformly random permutation of 0..N-1. */
void hart_lpd_order_random(int N, uint64_t seed, uint64_t stream, int64_t *order);
/* Orders from a release order file (JSON list of lists, each a permutation
 * of 0..N-1): entries first .. first+count-1 into order[count*N]. */
hart_status hart_lpd_orders_load(const char *path, int N, int64_t first, int count, int64_t *order);
/* The step schedule of the original's lookup table for an image of
 * `image_size` pixels and `steps` steps (configs/lpd-group-sizes.json, found
 * in $HART_CONFIG_DIR, ./configs, <bin>/../configs or
 * <bin>/../share/hart/configs); g holds up to max entries. */
hart_status hart_lpd_schedule(int image_size, int steps, int *g, int max, int *K);

#endif
