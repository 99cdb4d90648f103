/* The CPU backend: OpenBLAS + OpenMP fast paths; the reference code for any
 * op without one. */
#include <stdio.h>

#include "backend/ref/ref_util.h"

static hart_backend_vt g_cpu_vt;
static hart_backend g_cpu = {.vt = &g_cpu_vt, .kind = HART_BACKEND_CPU, .name = "cpu"};

hart_backend *hart_backend_cpu(void) {
    static int init;
    if (!init) { /* first call happens before any threads are started */
        g_cpu_vt = hart_ref_vt;
        init = 1;
    }
    return &g_cpu;
}
