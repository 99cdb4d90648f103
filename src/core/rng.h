/* Counter-based random numbers: Philox-4x32-10 (Salmon et al., "Parallel
 * random numbers: as easy as 1, 2, 3", SC'11).
 *
 * Every random value is a pure function of (seed, stream, index):
 *   key     = seed  (key[0] = low 32 bits, key[1] = high 32 bits)
 *   counter = (block lo, block hi, stream lo, stream hi)  with block = index / 4
 * so a value never depends on how many other values were drawn before it,
 * on the batch size, the thread count or the backend. The generator runs on
 * the host; backends receive the drawn noise / uniforms as tensors, which
 * keeps results bit-identical on every device.
 *
 * Streams: derive them with hart_rng_stream(image, site, step) so that image
 * i of a batch draws the same numbers whether rendered alone or with others
 * (the caller passes the image's global index), and different draw sites
 * (token sampling at scale k, diffusion noise at step j, ...) never share
 * numbers. Within a stream, index j is element j of the draw (e.g. token
 * position j, or element j of a noise tensor). */
#ifndef HART_RNG_H
#define HART_RNG_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"

/* One Philox-4x32 block with 10 rounds. */
void hart_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* Draw sites (the `site` part of a stream id). */
enum {
    HART_RNG_SITE_TOKENS = 1,    /* categorical sampling of the tokens of scale `step` */
    HART_RNG_SITE_DIFFUSION = 2, /* Gaussian noise of diffusion sampler draw `step` */
    HART_RNG_SITE_LATENT = 3,    /* initial noise / misc Gaussian draws */
    HART_RNG_SITE_USER = 16      /* first id free for other uses */
};

/* Stream id from (image index, draw site, step): image in the high 32 bits,
 * site in bits 16..31, step in bits 0..15 (site and step must be < 65536). */
uint64_t hart_rng_stream(uint32_t image, uint32_t site, uint32_t step);

/* The 32-bit word number `index` of (seed, stream). */
uint32_t hart_rng_u32_at(uint64_t seed, uint64_t stream, uint64_t index);
/* Uniform float in [0, 1) with 24 random bits: (word >> 8) * 2^-24. */
float hart_rng_uniform_at(uint64_t seed, uint64_t stream, uint64_t index);
/* Standard normal: Box-Muller on word pairs (w0,w1), (w2,w3) of block
 * index / 4, computed in double; even index -> r*cos, odd index -> r*sin. */
float hart_rng_normal_at(uint64_t seed, uint64_t stream, uint64_t index);

/* x[j] = *_at(seed, stream, offset + j) for j < n (block-wise, fast). */
void hart_rng_fill_uniform(uint64_t seed, uint64_t stream, uint64_t offset, float *x, size_t n);
void hart_rng_fill_normal(uint64_t seed, uint64_t stream, uint64_t offset, float *x, size_t n);

/* Fill an F32 tensor on any backend (drawn on the host, then written):
 * element j (row-major) = hart_rng_{normal,uniform}_at(seed, stream, offset + j). */
hart_status hart_rng_normal_tensor(hart_tensor *t, uint64_t seed, uint64_t stream, uint64_t offset);
hart_status hart_rng_uniform_tensor(hart_tensor *t, uint64_t seed, uint64_t stream, uint64_t offset);

/* Sampling from logits. */
typedef struct {
    int top_k;         /* keep the k largest logits (values tied with the k-th are kept); <= 0: off */
    float top_p;       /* nucleus: keep the fewest most likely tokens whose mass reaches top_p
                          (tokens tied with the last one kept are kept); <= 0 or >= 1: off */
    float temperature; /* logits / temperature; <= 0: greedy (argmax, lowest index on ties) */
} hart_sample_cfg;

/* Sample one index from `logits` [V] using the uniform u in [0, 1): the
 * kept tokens are walked in index order and the first whose cumulative
 * probability exceeds u * total is returned. `scratch` must hold 2*V floats
 * (NULL: allocated internally). Errors: V <= 0, non-finite u, all logits
 * -inf or NaN. Deterministic: no dependence on sort stability. */
hart_status hart_sample_logits(const float *logits, int V, const hart_sample_cfg *cfg, float u, float *scratch,
                               int *out);
/* Sample each of the n rows of logits [n, V]; row r uses
 * u = hart_rng_uniform_at(seed, stream, offset + r). */
hart_status hart_sample_rows(const float *logits, int64_t n, int V, const hart_sample_cfg *cfg, uint64_t seed,
                             uint64_t stream, uint64_t offset, int64_t *out);

#endif
