/* The linear-algebra CPU-vs-reference tests again with the converted-weight
 * cache disabled ($HART_CPU_WCACHE_MB=0), so the per-call conversion path of
 * F16/BF16 weights (linear, conv2d, codebooks) is checked too. */
#include <stdlib.h>

#define main linalg_main
#include "unit/test_ops_cpu_linalg.c"
#undef main

int main(void) {
    setenv("HART_CPU_WCACHE_MB", "0", 1);
    return linalg_main();
}
