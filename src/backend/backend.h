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

    /* f16 precision mode's services (src/ops/ops.c), both optional.
     * round_half: y = x rounded to half (round to nearest even) and widened
     * back, F32 tensors of equal numel, y may alias x; one pass, no
     * temporary (NULL: two copies through an F16 tensor).
     * gemm_rounds_to_half: 1 while the GEMMs of linear and conv2d round their
     * float operands to half (RNE) themselves, e.g. on the tensor cores, so
     * that the front-end need not round their inputs (NULL: 0).
     * gemm_rounds_output: 1 while those GEMMs also round their outputs to
     * half in their epilogue (no output pass; NULL: 0).
     * attention_rounds_to_half: 1 when attention with this q rounds q, k, v
     * to half itself, e.g. a tensor-core kernel (NULL: 0).
     * half_activations: 1 when norm_mod and swiglu may write an F16 y and
     * linear takes an F16 x in place (the GEMM's half operand: no conversion
     * pass); NULL: 0 (the front-ends convert through f32). */
    hart_status (*round_half)(hart_backend *be, hart_tensor *y, const hart_tensor *x);
    int (*gemm_rounds_to_half)(hart_backend *be);
    int (*gemm_rounds_output)(hart_backend *be);
    int (*attention_rounds_to_half)(hart_backend *be, const hart_tensor *q);
    int (*half_activations)(hart_backend *be);
} hart_backend_vt;

typedef enum { HART_BACKEND_CPU = 0, HART_BACKEND_OPENCL } hart_backend_kind;

/* Precision mode of a backend (docs/precision.md). F32 (zero, what every
 * backend starts in) is the exact path. F16: GEMM and convolution weights are
 * stored as half (converted once at load, hart_weight_to), and the values
 * between GEMMs are rounded to half — the inputs of linear/conv2d and the
 * attention's q, k, v, and the outputs of linear/conv2d — while every sum
 * (GEMM, norm, softmax) accumulates in f32, as PyTorch's fp16 autocast does.
 * matmul (two activations: DC-AE's linear attention, which the original runs
 * with autocast off) stays f32. The op front-ends (src/ops/ops.c) apply it, so it means the
 * same on every backend; on NVIDIA sm_80+ the GEMMs run on the tensor cores.
 * AUTO: the device's default, F16 on a GPU and F32 elsewhere. */
typedef enum { HART_PREC_F32 = 0, HART_PREC_F16 = 1, HART_PREC_AUTO = -1 } hart_precision;

struct hart_backend {
    hart_storage storage; /* first: core reaches a tensor's storage through it */
    const hart_backend_vt *vt;
    hart_backend_kind kind;
    char name[128];  /* e.g. "cpu (OpenBLAS, 2 threads)" or "opencl:0:0 NVIDIA H100" */
    void *impl;      /* backend private state */
    hart_precision precision; /* HART_PREC_F32 or HART_PREC_F16 (hart_backend_set_precision) */
    int gpu;         /* a GPU device: its default precision is f16 */
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

/* hart_backend_open, then hart_backend_set_precision(prec); the choice and
 * its reason are appended to `why` ("; precision f16 (default on a GPU)"). */
hart_status hart_backend_open_prec(const char *spec, hart_precision prec, hart_backend **out, char *why, size_t why_n);
/* Switch the precision mode (AUTO: the device's default). Weights loaded
 * before keep their dtype: set it before loading models. The CPU backend is
 * one per process, so its mode is too. The reference backends (ref, ref64)
 * are oracles and stay F32 (HART_EUNSUPPORTED for F16). On NVIDIA, F16 turns
 * the tensor-core GEMM on; F32 leaves it as $HART_CL_TENSOR_CORES says. */
hart_status hart_backend_set_precision(hart_backend *be, hart_precision prec);
/* The device's default: F16 on a GPU, F32 elsewhere. */
hart_precision hart_precision_default(const hart_backend *be);
const char *hart_precision_name(hart_precision p); /* "f32", "f16", "auto" */
/* "f32" / "f16" / "auto" (NULL or "" = auto) into *p; HART_EINVAL otherwise. */
hart_status hart_precision_parse(const char *s, hart_precision *p);
/* The dtype a GEMM/convolution weight stored as `stored` (f32/f16/bf16) is
 * kept in on `be`: `stored` itself in F32 mode, HART_F16 in F16 mode. */
hart_dtype hart_weight_dtype(const hart_backend *be, hart_dtype stored);
/* A new tensor on `be` holding the GEMM/convolution weight `src` (host
 * float tensor) in hart_weight_dtype: converted once here (round to nearest
 * even; a value beyond half's range is HART_EFORMAT, naming no tensor: the
 * caller adds the name). Norm weights, biases and embedding tables are not
 * GEMM weights: load them with hart_tensor_to. */
hart_status hart_weight_to(hart_backend *be, const hart_tensor *src, hart_tensor *dst);

#endif
