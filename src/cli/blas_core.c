/* OpenBLAS kernel choice on CPUs newer than the library (cli/blas_core.h).
 * Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) picks its kernels by CPU model when
 * it loads; a model it does not know (seen on the H100/H200 hosts' Xeons)
 * gets the generic "Prescott" SSE3 kernels, several times slower than the
 * AVX2/AVX-512 ones the CPU has. The library reads OPENBLAS_CORETYPE only at
 * load time, so the fix is to set it and start the program again. */
#include "cli/blas_core.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void hart_blas_core_fix(char **argv) {
    if (getenv("OPENBLAS_CORETYPE")) return; /* the user's (or our earlier) choice stands */
    const char *e = getenv("HART_BLAS_CORE_FIX");
    if (e && !strcmp(e, "0")) return;
    const char *core = openblas_get_corename();
    int fallback = core && !strcasecmp(core, "prescott");
    if (e && !strcmp(e, "force")) fallback = 1; /* tests: act as if OpenBLAS had fallen back */
    if (!fallback) return;
#if defined(__x86_64__) && defined(__linux__)
    __builtin_cpu_init(); /* (libgcc also checks that the OS saves the AVX/AVX-512 registers) */
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    int avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const char *want = avx512 ? "SkylakeX" : avx2_fma ? "Haswell" : NULL;
    if (!want) return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    setenv("HART_BLAS_CORE_WAS", core ? core : "?", 1); /* for `hart info` */
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc): carry on with the kernels OpenBLAS chose */
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv("HART_BLAS_CORE_WAS");
#else
    (void)argv;
#endif
}
