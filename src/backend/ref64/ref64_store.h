/* Storage layout of the ref64 backend: float dtypes (F32, F16, BF16) are kept
 * as double, integer dtypes as themselves. A tensor's dev_offset counts bytes
 * of its logical dtype (as hart_tensor_rows computes it), so views map to
 * storage by element index. */
#ifndef HART_REF64_STORE_H
#define HART_REF64_STORE_H

#include "core/tensor.h"

static inline int ref64_is_float(hart_dtype dt) { return dt == HART_F32 || dt == HART_F16 || dt == HART_BF16; }

/* Bytes per stored element. */
static inline size_t ref64_elem_size(hart_dtype dt) {
    return ref64_is_float(dt) ? sizeof(double) : hart_dtype_size_bits(dt) / 8;
}

/* Storage address of t's first element. */
static inline void *ref64_ptr(const hart_tensor *t) {
    size_t lsize = hart_dtype_size_bits(t->dtype) / 8;
    return (char *)t->dev + t->dev_offset / lsize * ref64_elem_size(t->dtype);
}

#endif
