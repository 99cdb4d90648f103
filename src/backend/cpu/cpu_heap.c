/* Activations from the heap instead of fresh mmaps. glibc serves blocks above
 * its mmap threshold (at most 32 MiB when left dynamic) with mmap and gives
 * them back on free, so every large tensor of a decoder step, and every oneDNN
 * reorder buffer, arrives as untouched pages: a page fault and a zeroed page
 * per 4 KiB, each time. Measured on the 2-core VM, HART decoder at 256²: 5.7 s
 * of system time per process without, 1.5 s with (docs/cpu.md). The CPU
 * backend therefore raises the mmap and trim thresholds to 1 GiB at start, so
 * freed activations stay in the heap for the next op (the peak is unchanged;
 * memory is returned when the top of the heap has more than 1 GiB free).
 * Left alone when the user tunes malloc through the environment, and off with
 * HART_CPU_HEAP_KEEP=0. */
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "backend/cpu/cpu_internal.h"

int hart_cpu_heap_wanted(const char *keep, const char *tunables, const char *mmap_env, const char *trim_env) {
    if (keep && *keep && !atoi(keep)) return 0;
    return !(tunables && *tunables) && !(mmap_env && *mmap_env) && !(trim_env && *trim_env);
}

int hart_cpu_heap_tune(void) {
#ifdef __GLIBC__
    if (!hart_cpu_heap_wanted(getenv("HART_CPU_HEAP_KEEP"), getenv("GLIBC_TUNABLES"), getenv("MALLOC_MMAP_THRESHOLD_"),
                              getenv("MALLOC_TRIM_THRESHOLD_")))
        return 0;
    return mallopt(M_MMAP_THRESHOLD, 1 << 30) && mallopt(M_TRIM_THRESHOLD, 1 << 30);
#else
    return 0;
#endif
}
