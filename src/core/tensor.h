/* One tensor type for every backend.
 * Tensors are dense and row-major (C order). `shape[0]` is the outermost dim.
 * A tensor either lives on the host (`data` != NULL, be == NULL or the CPU
 * backend) or on a device backend (`dev` holds the backend's buffer handle).
 * Models never touch `dev`: they use ops (ops/ops.h) and the read/write
 * helpers below. */
#ifndef HART_TENSOR_H
#define HART_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define HART_MAX_DIMS 4

typedef enum {
    HART_F32 = 0,
    HART_F16,
    HART_BF16,
    HART_I64,
    HART_I32,
    HART_I8,
    HART_U8,
    HART_Q4, /* two signed/unsigned 4-bit values per byte, low nibble first */
    HART_DTYPE_COUNT
} hart_dtype;

struct hart_backend;

typedef struct hart_tensor {
    hart_dtype dtype;
    int ndim;
    int64_t shape[HART_MAX_DIMS];
    void *data;               /* host memory (CPU backend or plain host tensor) */
    void *dev;                /* device buffer handle (e.g. cl_mem) or NULL */
    size_t dev_offset;        /* byte offset inside dev */
    struct hart_backend *be;  /* backend that owns the storage; NULL = host */
    int owns;                 /* storage freed by hart_tensor_free */
    struct hart_qweight *quant; /* non-NULL: a quantized linear weight [N, K]
                                   (core/qweight.h); data/dev unused */
} hart_tensor;

size_t hart_dtype_size_bits(hart_dtype dt); /* 4 for Q4 */
const char *hart_dtype_name(hart_dtype dt);
int64_t hart_tensor_numel(const hart_tensor *t);
size_t hart_tensor_nbytes(const hart_tensor *t);
/* "[2,3,4]" into buf */
const char *hart_shape_str(const hart_tensor *t, char *buf, size_t n);
int hart_tensor_same_shape(const hart_tensor *a, const hart_tensor *b);

/* Allocate a zeroed tensor on backend `be` (NULL = host). */
hart_status hart_tensor_new(struct hart_backend *be, hart_dtype dt, int ndim,
                            const int64_t *shape, hart_tensor *out);
/* Convenience: hart_tensor_new with up to 4 explicit dims (unused = 0). */
/* hart_tensor_new for a tensor whose every element the caller writes before
 * reading any (an op's full output): on a device backend that offers it, no
 * zero fill is queued; elsewhere the same as hart_tensor_new. */
hart_status hart_tensor_new_uninit(struct hart_backend *be, hart_dtype dt, int ndim, const int64_t *shape,
                                   hart_tensor *out);
hart_status hart_tensor_new4(struct hart_backend *be, hart_dtype dt,
                             hart_tensor *out, int ndim, int64_t d0, int64_t d1,
                             int64_t d2, int64_t d3);
/* Wrap existing host memory without taking ownership. */
hart_tensor hart_tensor_wrap(void *data, hart_dtype dt, int ndim,
                             const int64_t *shape);
void hart_tensor_free(hart_tensor *t);

/* Reinterpret with a new shape of the same numel (no copy; view). */
hart_status hart_tensor_reshape(const hart_tensor *t, int ndim,
                                const int64_t *shape, hart_tensor *view);
/* View rows [start, start+count) of dim 0 (no copy). */
hart_status hart_tensor_rows(const hart_tensor *t, int64_t start,
                             int64_t count, hart_tensor *view);

/* Copy between host memory and a tensor on any backend (raw bytes, the
 * tensor's own dtype). */
hart_status hart_tensor_write(hart_tensor *t, const void *src, size_t nbytes);
hart_status hart_tensor_read(const hart_tensor *t, void *dst, size_t nbytes);
/* Read any float tensor (f32/f16/bf16) as float32 into dst (numel floats). */
hart_status hart_tensor_read_f32(const hart_tensor *t, float *dst);
/* Read any float tensor as double into dst (numel doubles): full precision
 * on the ref64 backend, widened float32 elsewhere. */
hart_status hart_tensor_read_f64(const hart_tensor *t, double *dst);
/* Write numel doubles into a float tensor: kept as is on ref64, rounded to
 * the tensor's dtype elsewhere. */
hart_status hart_tensor_write_f64(hart_tensor *t, const double *src);
/* New tensor on backend `be` holding a copy of `src` (any backend). */
hart_status hart_tensor_to(struct hart_backend *be, const hart_tensor *src,
                           hart_tensor *out);

/* half / bfloat16 conversions (round to nearest even) */
float hart_f16_to_f32(uint16_t h);
uint16_t hart_f32_to_f16(float f);
float hart_bf16_to_f32(uint16_t h);
uint16_t hart_f32_to_bf16(float f);

/* Inside a function with `hart_tensor h`, `hart_status s` and a `done:`
 * label: h = the tensor that `call` writes to nx_, freeing the old h (a
 * chain of layers, each output the next one's input). */
#define HART_TENSOR_STEP(call)                                                      \
    do {                                                                            \
        hart_tensor nx_ = {0};                                                      \
        s = (call);                                                                 \
        if (s) goto done;                                                           \
        hart_tensor_free(&h);                                                       \
        h = nx_;                                                                    \
    } while (0)

#endif
