#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char g_msg[2048];

hart_status hart_fail(hart_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return code;
}

hart_status hart_fail_ctx(hart_status code, const char *fmt, ...) {
    char prefix[1024], old[sizeof g_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof g_msg - 3) n = sizeof g_msg - 3;
    memcpy(g_msg, prefix, n);
    memcpy(g_msg + n, ": ", 2);
    size_t m = strlen(old);
    if (m > sizeof g_msg - n - 3) m = sizeof g_msg - n - 3;
    memcpy(g_msg + n + 2, old, m);
    g_msg[n + 2 + m] = 0;
    return code;
}

const char *hart_errmsg(void) { return g_msg[0] ? g_msg : "no error"; }
void hart_clear_error(void) { g_msg[0] = 0; }

const char *hart_status_name(hart_status s) {
    switch (s) {
    case HART_OK: return "ok";
    case HART_EINVAL: return "invalid argument";
    case HART_EIO: return "i/o error";
    case HART_EFORMAT: return "bad format";
    case HART_ENOMEM: return "out of memory";
    case HART_EDEVICE: return "device error";
    case HART_EUNSUPPORTED: return "unsupported";
    case HART_EMISMATCH: return "config/tensor mismatch";
    }
    return "unknown status";
}
