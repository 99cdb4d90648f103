/* Backend selection from a spec string / $HART_DEVICE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

hart_status hart_backend_open(const char *spec, hart_backend **out, char *why, size_t why_n) {
    if (!spec || !*spec) spec = getenv("HART_DEVICE");
    if (!spec || !*spec) spec = "cpu";
    if (!strcmp(spec, "cpu") || !strcmp(spec, "auto")) {
        *out = hart_backend_cpu();
        if (why) snprintf(why, why_n, "cpu: %s", !strcmp(spec, "auto") ? "no OpenCL backend in this build" : "requested");
        return HART_OK;
    }
    return hart_fail(HART_EINVAL, "unknown device '%s' (expected cpu, opencl[:P[:D]] or auto)", spec);
}

void hart_backend_close(hart_backend *be) {
    if (be && be->vt->destroy) be->vt->destroy(be);
}
