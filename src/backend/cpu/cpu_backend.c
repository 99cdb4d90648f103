/* The CPU backend: OpenBLAS + OpenMP fast paths; the reference code for the
 * few ops without one (copy, concat, slice, slice_assign, embedding: plain
 * memcpy loops already). */
#include <cblas.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>

#include "backend/cpu/cpu_internal.h"

static hart_backend_vt g_cpu_vt;
static hart_backend g_cpu = {.vt = &g_cpu_vt, .kind = HART_BACKEND_CPU, .name = "cpu"};
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void cpu_init(void) {
    g_cpu_vt = hart_ref_vt;
    g_cpu_vt.linear = cpu_linear;
    g_cpu_vt.matmul = cpu_matmul;
    g_cpu_vt.conv2d = cpu_conv2d;
    g_cpu_vt.group_norm = cpu_group_norm;
    g_cpu_vt.layer_norm = cpu_layer_norm;
    g_cpu_vt.rms_norm = cpu_rms_norm;
    g_cpu_vt.softmax = cpu_softmax;
    g_cpu_vt.act = cpu_act;
    g_cpu_vt.binary = cpu_binary;
    g_cpu_vt.scale = cpu_scale;
    g_cpu_vt.transpose = cpu_transpose;
    g_cpu_vt.attention = cpu_attention;
    g_cpu_vt.rope = cpu_rope;
    g_cpu_vt.interpolate = cpu_interpolate;
    g_cpu_vt.pixel_shuffle = cpu_pixel_shuffle;
    g_cpu_vt.pixel_unshuffle = cpu_pixel_unshuffle;
    g_cpu_vt.reduce = cpu_reduce;
    g_cpu_vt.argmin_dist = cpu_argmin_dist;
    /* our OpenMP threads drive OpenBLAS; its own pool stays idle (cpu_sgemm) */
    openblas_set_num_threads(1);
    const char *cfg = openblas_get_config();
    int nt = omp_get_max_threads();
    snprintf(g_cpu.name, sizeof g_cpu.name, "cpu (%s, %d thread%s)", cfg ? cfg : "OpenBLAS", nt, nt == 1 ? "" : "s");
}

hart_backend *hart_backend_cpu(void) {
    pthread_once(&g_once, cpu_init);
    return &g_cpu;
}

int cpu_threads(void) { return omp_get_max_threads(); }

