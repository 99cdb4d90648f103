/* Start-up fix for OpenBLAS builds that do not recognise the CPU (see
 * blas_core.c): when OpenBLAS reports its generic Prescott kernels on a CPU
 * with AVX2+FMA (or AVX-512), set OPENBLAS_CORETYPE to Haswell (SkylakeX)
 * and exec the program again. A set OPENBLAS_CORETYPE is left alone;
 * HART_BLAS_CORE_FIX=0 turns the fix off. After a re-exec,
 * $HART_BLAS_CORE_WAS holds the core OpenBLAS had picked. */
#ifndef HART_CLI_BLAS_CORE_H
#define HART_CLI_BLAS_CORE_H

/* Call first thing in main(); returns only when nothing is to be done (or exec failed). */
void hart_blas_core_fix(char **argv);

#endif
