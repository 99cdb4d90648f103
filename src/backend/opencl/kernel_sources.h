/* OpenCL sources embedded at build time from the kernels folder. */
#ifndef HART_KERNEL_SOURCES_H
#define HART_KERNEL_SOURCES_H
typedef struct {
    const char *name; /* file name without .cl */
    const char *text; /* NUL-terminated source */
} hart_kernel_source;
extern const hart_kernel_source hart_kernel_sources[]; /* ends with {NULL, NULL} */
#endif
