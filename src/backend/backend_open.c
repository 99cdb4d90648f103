/* Backend selection from a spec string / $HART_DEVICE:
 * "cpu", "opencl", "opencl:P", "opencl:P:D", "ref64", "auto" (OpenCL if it works, else CPU). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/opencl/opencl.h"

static int parse_index(const char *s, int *v, const char **end) {
    char *e;
    long x = strtol(s, &e, 10);
    if (e == s || x < 0 || x > 1000) return 0;
    *v = (int)x;
    *end = e;
    return 1;
}

hart_status hart_backend_open(const char *spec, hart_backend **out, char *why, size_t why_n) {
    const char *src = "argument";
    if (!spec || !*spec) { spec = getenv("HART_DEVICE"); src = "$HART_DEVICE"; }
    if (!spec || !*spec) { spec = "cpu"; src = "default"; }
    if (why && why_n) why[0] = 0;
    if (!strcmp(spec, "cpu")) {
        *out = hart_backend_cpu();
        if (why) snprintf(why, why_n, "%s (%s '%s')", (*out)->name, src, spec);
        return HART_OK;
    }
    if (!strcmp(spec, "ref64")) {
        *out = hart_backend_ref64();
        if (why) snprintf(why, why_n, "%s (%s '%s')", (*out)->name, src, spec);
        return HART_OK;
    }
    if (!strcmp(spec, "auto")) {
        char w[512];
        if (!hart_opencl_has_gpu()) {
            *out = hart_backend_cpu();
            if (why) snprintf(why, why_n, "auto: %s (no OpenCL GPU/accelerator; use 'opencl' to force a CPU OpenCL device)", (*out)->name);
            return HART_OK;
        }
        if (hart_opencl_open(-1, -1, out, w, sizeof w) == HART_OK) {
            if (why) snprintf(why, why_n, "auto: %s", w);
            return HART_OK;
        }
        const char *msg = hart_errmsg();
        *out = hart_backend_cpu();
        if (why) snprintf(why, why_n, "auto: %s, because OpenCL is unusable: %.300s", (*out)->name, msg);
        hart_clear_error();
        return HART_OK;
    }
    if (!strncmp(spec, "opencl", 6)) {
        const char *p = spec + 6;
        int plat = -1, dev = -1;
        if (*p == ':') {
            if (!parse_index(p + 1, &plat, &p)) goto bad;
            if (*p == ':' && !parse_index(p + 1, &dev, &p)) goto bad;
        }
        if (*p) goto bad;
        char w[512];
        hart_status s = hart_opencl_open(plat, dev, out, w, sizeof w);
        if (s) return hart_fail_ctx(s, "device '%s' (from %s)", spec, src);
        if (why) snprintf(why, why_n, "%s", w);
        return HART_OK;
    }
bad:
    return hart_fail(HART_EINVAL, "unknown device '%s' from %s (expected cpu, opencl, opencl:P, opencl:P:D, ref64 or auto)",
                     spec, src);
}

void hart_backend_close(hart_backend *be) {
    if (be && be->vt->destroy) be->vt->destroy(be);
}
