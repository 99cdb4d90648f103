/* CPU integer GEMM kernels of the quantized ops (cpu_quant.c), exposed for
 * the tests and benchmarks: every kernel variant the CPU can run is tested
 * against the reference. */
#ifndef HART_CPU_QUANT_H
#define HART_CPU_QUANT_H

typedef enum { HART_CPU_QISA_AUTO = -1, HART_CPU_QISA_C = 0, HART_CPU_QISA_AVX2, HART_CPU_QISA_VNNI, HART_CPU_QISA_COUNT } hart_cpu_qisa;

/* Whether this CPU can run the variant; its name ("c", "avx2", "avx512-vnni"). */
int hart_cpu_qisa_available(hart_cpu_qisa isa);
const char *hart_cpu_qisa_name(hart_cpu_qisa isa);
/* Force a variant for the int8 kernels (AUTO: the best available; the
 * default, also settable with $HART_CPU_QISA=c|avx2|avx512-vnni). Returns 0 if
 * the variant is not available here (nothing changes). Not thread-safe: for
 * tests and benchmarks. */
int hart_cpu_qisa_force(hart_cpu_qisa isa);
hart_cpu_qisa hart_cpu_qisa_current(void);

#endif
