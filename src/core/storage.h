/* Where a tensor's elements live: the storage half of a backend, as core sees
 * it. A device backend fills a hart_storage_vt; struct hart_backend (see
 * backend/backend.h) begins with a hart_storage, so core reaches a tensor's
 * storage through `t->be` without knowing anything above it. A NULL table
 * means host memory (the CPU and reference backends). */
#ifndef HART_CORE_STORAGE_H
#define HART_CORE_STORAGE_H

#include <stddef.h>

#include "core/status.h"

struct hart_backend;
struct hart_tensor;

typedef struct hart_storage_vt {
    hart_status (*alloc)(struct hart_backend *be, size_t nbytes, void **dev);
    void (*release)(struct hart_backend *be, void *dev);
    /* Optional: alloc without the zero fill, for a tensor the caller
     * overwrites whole before reading it (hart_tensor_new_uninit). */
    hart_status (*alloc_uninit)(struct hart_backend *be, size_t nbytes, void **dev);
    hart_status (*write)(struct hart_backend *be, void *dev, size_t off, const void *src, size_t n);
    hart_status (*read)(struct hart_backend *be, const void *dev, size_t off, void *dst, size_t n);
    /* Optional typed storage, for a backend that keeps elements in another
     * type than the tensor's dtype (ref64: floats as double). When set,
     * hart_tensor_new/write/read(_f64) use these instead of alloc/write/read.
     * f64 != 0: src/dst hold doubles (float dtypes only), else t's dtype. */
    hart_status (*alloc_tensor)(struct hart_backend *be, struct hart_tensor *t);
    hart_status (*write_tensor)(struct hart_backend *be, struct hart_tensor *t, const void *src, int f64);
    hart_status (*read_tensor)(struct hart_backend *be, const struct hart_tensor *t, void *dst, int f64);
} hart_storage_vt;

/* The first member of every struct hart_backend. */
typedef struct hart_storage {
    const hart_storage_vt *vt; /* NULL: host memory */
} hart_storage;

/* The storage table of backend `be`, NULL for host memory (be NULL included). */
static inline const hart_storage_vt *hart_storage_of(const struct hart_backend *be) {
    return be ? ((const hart_storage *)(const void *)be)->vt : NULL;
}

#endif
