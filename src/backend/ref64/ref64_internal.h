/* The ref64 backend's storage functions (ref64_backend.c) and vtable
 * (ref64_ops.c, which instantiates the reference ops in double). */
#ifndef HART_REF64_INTERNAL_H
#define HART_REF64_INTERNAL_H

#include "backend/backend.h"

hart_status ref64_alloc(hart_backend *be, size_t nbytes, void **dev);
void ref64_release(hart_backend *be, void *dev);
hart_status ref64_write(hart_backend *be, void *dev, size_t off, const void *src, size_t n);
hart_status ref64_read(hart_backend *be, const void *dev, size_t off, void *dst, size_t n);
hart_status ref64_sync(hart_backend *be);
hart_status ref64_alloc_tensor(hart_backend *be, hart_tensor *t);
hart_status ref64_write_tensor(hart_backend *be, hart_tensor *t, const void *src, int f64);
hart_status ref64_read_tensor(hart_backend *be, const hart_tensor *t, void *dst, int f64);

extern const hart_backend_vt hart_ref64_vt;

#endif
