/* The misc CPU-vs-reference tests again with the AVX2 kernels switched off
 * ($HART_CPU_NO_AVX2=1), so the portable 4-lane exp/softmax/activation code is
 * checked on machines that would otherwise always take the AVX2 path. */
#include <stdlib.h>

#define main misc_main
#include "unit/test_ops_cpu_misc.c"
#undef main

int main(void) {
    setenv("HART_CPU_NO_AVX2", "1", 1);
    return misc_main();
}
