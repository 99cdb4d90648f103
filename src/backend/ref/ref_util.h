/* The float reference backend (the test oracle): its ops, instantiated from
 * the ref_*.inc sources by ref_ops_f32.c, and its vtable. */
#ifndef HART_REF_UTIL_H
#define HART_REF_UTIL_H

#include "backend/ref/ref_real.h"

HART_OP_LIST(HART_BE_DECLARE, hart_ref_)

/* The reference vtable (also the CPU backend's fallback for ops it has no fast path for). */
extern const hart_backend_vt hart_ref_vt;

#endif
