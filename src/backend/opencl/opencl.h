/* The OpenCL backend: device selection, listing. Models never see cl_mem;
 * they use ops (ops/ops.h) on tensors whose backend is the one opened here. */
#ifndef HART_OPENCL_H
#define HART_OPENCL_H

#include <stdio.h>

#include "backend/backend.h"

/* Open platform `plat`, device `dev` (-1 = pick: first GPU of any platform,
 * else the first device). `why` (may be NULL) receives the reason. */
hart_status hart_opencl_open(int plat, int dev, hart_backend **out, char *why, size_t why_n);
/* Print every platform/device ("opencl:P:D name (type, CUs, memory)") to f.
 * Returns the number of devices found (0 when there is no OpenCL runtime). */
int hart_opencl_list(FILE *f);

#endif
