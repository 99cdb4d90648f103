/* A backend: storage (core/storage.h) + an implementation of the ops of the
 * op list (backend/op_list.h). The front-ends in src/ops/ validate shapes and
 * then call the backend's function pointer; a NULL pointer, or `supports`
 * saying no, means "not here" and the front-end runs the op on the CPU
 * through host copies (correct, slow; logged once per op) — the one
 * fallback path. */
#ifndef HART_BACKEND_H
#define HART_BACKEND_H

#include "backend/op_list.h"
#include "core/storage.h"

typedef struct hart_backend hart_backend;

/* A backend's function for an op of the list takes the backend first:
 * hart_status P##name(hart_backend *be, the op's params). A backend declares
 * its functions with HART_OP_LIST(HART_BE_DECLARE, prefix) and fills its table
 * with HART_OP_LIST(HART_BE_ENTRY, prefix). */
#define HART_BE_PARAMS(...) (hart_backend *be, __VA_ARGS__)
#define HART_BE_DECLARE(P, name, params) hart_status P##name HART_BE_PARAMS params;
#define HART_BE_ENTRY(P, name, params) .name = P##name,
#define HART_BE_FIELD(P, name, params) hart_status (*name) HART_BE_PARAMS params;
#define HART_BE_ID(P, name, params) HART_OP_##name,

/* Op ids, in list order. */
typedef enum { HART_OP_LIST(HART_BE_ID, ) HART_OP_COUNT } hart_op;

typedef struct hart_backend_vt {
    hart_status (*sync)(hart_backend *be);
    void (*destroy)(hart_backend *be);

    /* Optional: whether op `op` runs here for these operands (NULL: every op
     * the table has). Where it does not, the front-end runs it on the CPU. */
    int (*supports)(hart_backend *be, hart_op op, const hart_tensor *y, const hart_tensor *const *in);
    /* the ops, from the op list: same contracts as the op_* front-ends */
    HART_OP_LIST(HART_BE_FIELD, )
} hart_backend_vt;

typedef enum { HART_BACKEND_CPU = 0, HART_BACKEND_OPENCL } hart_backend_kind;

struct hart_backend {
    hart_storage storage; /* first: core reaches a tensor's storage through it */
    const hart_backend_vt *vt;
    hart_backend_kind kind;
    char name[128];  /* e.g. "cpu (OpenBLAS, 2 threads)" or "opencl:0:0 NVIDIA H100" */
    void *impl;      /* backend private state */
};

/* The process-wide CPU backend (never NULL, never freed). */
hart_backend *hart_backend_cpu(void);
/* The naive reference implementation (test oracle), same vtable shape.
 * Host tensors only. */
hart_backend *hart_backend_ref(void);

/* The reference ops evaluated in double (floats stored as double, integer
 * dtypes as themselves), a device-style backend: the measure of how far
 * float32 strays. Never freed. */
hart_backend *hart_backend_ref64(void);

/* Open a backend from a spec: "cpu", "opencl", "opencl:P", "opencl:P:D",
 * "ref64", "auto" (OpenCL if it works, else CPU). NULL/"" reads $HART_DEVICE, default cpu.
 * `why` (may be NULL) receives a one-line explanation of the choice. */
hart_status hart_backend_open(const char *spec, hart_backend **out, char *why, size_t why_n);
void hart_backend_close(hart_backend *be); /* no-op for the CPU backend */

#endif
