/* The CPU backend: OpenBLAS + OpenMP fast paths; the reference code for the
 * few ops without one (copy, concat, slice, slice_assign, embedding: plain
 * memcpy loops already). */
#include <cblas.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>

#include "backend/cpu/cpu_internal.h"

/* The ops with a fast path here; the others run the reference code. */
#define HART_CPU_FAST_OPS(X)                                                                   \
    X(linear) X(matmul) X(conv2d) X(group_norm) X(layer_norm) X(rms_norm) X(softmax) X(act)      \
    X(binary) X(scale) X(transpose) X(attention) X(attention_sparse) X(rope) X(interpolate) X(pixel_shuffle)        \
    X(pixel_unshuffle) X(reduce) X(argmin_dist) X(pool2d) X(qlinear) X(quant_rows) X(qgemm) X(norm_mod) X(swiglu)    \
    X(rgb8_to_nchw)

static hart_backend_vt g_cpu_vt;
static hart_backend g_cpu = {.vt = &g_cpu_vt, .kind = HART_BACKEND_CPU, .name = "cpu"};
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void cpu_init(void) {
    g_cpu_vt = hart_ref_vt;
#define HART_CPU_SET(name) g_cpu_vt.name = hart_cpu_##name;
    HART_CPU_FAST_OPS(HART_CPU_SET)
#undef HART_CPU_SET
    g_cpu_vt.round_half = hart_cpu_round_half;
    /* our OpenMP threads drive OpenBLAS; its own pool stays idle (hart_cpu_sgemm) */
    openblas_set_num_threads(1);
    hart_cpu_heap_tune(); /* activations reuse heap memory instead of fresh mmaps (cpu_heap.c) */
    const char *cfg = openblas_get_config();
    int nt = omp_get_max_threads();
    snprintf(g_cpu.name, sizeof g_cpu.name, "cpu (%s, %d thread%s)", cfg ? cfg : "OpenBLAS", nt, nt == 1 ? "" : "s");
}

hart_backend *hart_backend_cpu(void) {
    pthread_once(&g_once, cpu_init);
    return &g_cpu;
}

int hart_cpu_threads(void) { return omp_get_max_threads(); }

