/* Hopper (sm_90a) wgmma f16 GEMM for NVIDIA's OpenCL: PTX text generated
 * here, loaded through clCreateProgramWithBinary (OpenCL C cannot emit wgmma:
 * the compiler writes `.target sm_90`). The PTX generation and the splice
 * into the driver's own program binary are plain string work (cl_wgmma_ptx.c,
 * tested on the host); building, selection and launch are in cl_wgmma.c. */
#ifndef HART_CL_WGMMA_H
#define HART_CL_WGMMA_H

#include <stddef.h>
#include <stdint.h>

/* One kernel variant: wgm warpgroups of 128 threads, each owning 64 rows
 * (block tile 64*wgm x bn), K step 32 halves, st local-memory stages. */
typedef struct {
    const char *name;
    int wgm, bn, st;
} clb_wg_variant;
extern const clb_wg_variant hart_cl_wg_variants[];
extern const int hart_cl_wg_nvariants;

#define CLB_WG_BK 32       /* halves per K step = one 64-byte swizzle row */
#define CLB_WG_NPARAMS 26  /* kernel arguments, same list as the hgemm_nv kernels */

/* local memory of a variant in bytes (stages x (A tile + B tile)) */
int hart_cl_wg_smem(const clb_wg_variant *v);
/* upper bits of a wgmma shared-memory matrix descriptor for our tiles:
 * K-major rows of 64 bytes with the 64-byte swizzle, leading byte offset 16
 * (unused when swizzled), stride byte offset 512 (8 rows of 64 bytes) */
uint64_t hart_cl_wg_desc_hi(void);

/* OpenCL C placeholder with the kernel's signature, local memory and work-group
 * size: the driver compiles it and its program binary (PTX text) gets the
 * generated body spliced in. Returns bytes written (< n) or -1. */
int hart_cl_wg_placeholder(const clb_wg_variant *v, char *out, size_t n);

/* The kernel's `.entry` (header, parameters and body) in PTX. pnames: the
 * CLB_WG_NPARAMS parameter names (NULL: NAME_param_I, the driver's style).
 * Returns bytes written (< n) or -1 when out is too small. */
int hart_cl_wg_entry(const clb_wg_variant *v, const char *const *pnames, char *out, size_t n);

/* The driver's program binary `bin` (PTX text) of the placeholders with each
 * placeholder's body replaced by the generated one and `.target` set to
 * sm_90a. Returns a malloc'd text (*out_len bytes, NUL after them), or NULL (with a reason in
 * why) when the text is not what we expect. */
char *hart_cl_wg_splice(const char *bin, size_t len, size_t *out_len, char *why, size_t why_n);

/* A standalone PTX module with all variants (.version ver, e.g. "8.0"):
 * the second route when the splice fails, and what ptxas checks. */
char *hart_cl_wg_module(const char *ver, int texmode_independent);

#endif
