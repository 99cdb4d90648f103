/* The ref64 backend's sync (ref64_backend.c, which also holds its storage) and
 * vtable (ref64_ops.c, which instantiates the reference ops in double). */
#ifndef HART_REF64_INTERNAL_H
#define HART_REF64_INTERNAL_H

#include "backend/backend.h"

hart_status hart_ref64_sync(hart_backend *be);

extern const hart_backend_vt hart_ref64_vt;

#endif
