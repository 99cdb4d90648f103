/* The op interface every model uses. All activations are float32 and dense
 * row-major. Each op dispatches on the backend of its output tensor `y`
 * (NULL backend = CPU); all inputs must live on that same backend (host
 * tensors count as CPU). Weights may be f32, f16 or bf16 where noted.
 * Shapes are validated; a mismatch is HART_EINVAL with a message naming the
 * op and both shapes. `y` is always preallocated by the caller with the
 * result shape; ops never allocate their output.
 *
 * The ops and their contracts are listed once, in backend/op_list.h. */
#ifndef HART_OPS_H
#define HART_OPS_H

#include "backend/op_list.h"

/* The front-ends op_<name>, one for each entry of the op list (documented
 * there). */
#define HART_OP_FRONT_END(P, name, params) hart_status P##name params;
HART_OP_LIST(HART_OP_FRONT_END, hart_op_)
#undef HART_OP_FRONT_END

/* 1 when `be` is in f16 precision mode and takes half activations
 * (hart_backend_vt.half_activations): a model may then let norm_mod and
 * swiglu write F16 tensors and feed them to linear. */
int hart_half_activations(const struct hart_backend *be);

/* Calibration hook (quant/qload.h): when set, hart_op_linear calls it with
 * each float weight and its input before running. */
extern void (*hart_linear_observer)(const hart_tensor *w, const hart_tensor *x);

#endif
