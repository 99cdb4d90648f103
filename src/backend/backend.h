/* A backend: storage + an implementation of the ops in ops/ops.h.
 * The front-ends in src/ops/ validate shapes and then call the backend's
 * function pointer; a NULL pointer means "not implemented here" and the
 * front-end falls back to the CPU implementation through host copies
 * (correct, slow; logged once per op). */
#ifndef HART_BACKEND_H
#define HART_BACKEND_H

#include "core/storage.h"
#include "ops/ops.h"

typedef struct hart_backend hart_backend;

typedef struct hart_backend_vt {
    hart_status (*sync)(hart_backend *be);
    void (*destroy)(hart_backend *be);

    /* ops: same contracts as the op_* front-ends */
    hart_status (*linear)(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *);
    hart_status (*matmul)(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, int, int, float);
    hart_status (*conv2d)(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, int, int, int);
    hart_status (*group_norm)(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, int, float);
    hart_status (*layer_norm)(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, float);
    hart_status (*rms_norm)(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, float);
    hart_status (*softmax)(hart_backend *, hart_tensor *, const hart_tensor *);
    hart_status (*act)(hart_backend *, hart_tensor *, const hart_tensor *, hart_act);
    hart_status (*binary)(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, hart_binop);
    hart_status (*scale)(hart_backend *, hart_tensor *, const hart_tensor *, float, float);
    hart_status (*copy)(hart_backend *, hart_tensor *, const hart_tensor *);
    hart_status (*transpose)(hart_backend *, hart_tensor *, const hart_tensor *, const int *);
    hart_status (*concat)(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, int);
    hart_status (*slice)(hart_backend *, hart_tensor *, const hart_tensor *, int, int64_t);
    hart_status (*slice_assign)(hart_backend *, hart_tensor *, const hart_tensor *, int, int64_t);
    hart_status (*embedding)(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *);
    hart_status (*attention)(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, float);
    hart_status (*rope)(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *, const hart_tensor *, int);
    hart_status (*interpolate)(hart_backend *, hart_tensor *, const hart_tensor *, hart_interp);
    hart_status (*pixel_shuffle)(hart_backend *, hart_tensor *, const hart_tensor *, int);
    hart_status (*pixel_unshuffle)(hart_backend *, hart_tensor *, const hart_tensor *, int);
    hart_status (*reduce)(hart_backend *, hart_tensor *, const hart_tensor *, int, hart_reduce);
    hart_status (*argmin_dist)(hart_backend *, hart_tensor *, const hart_tensor *, const hart_tensor *);
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
