#include "slurp.h"

#include <stdio.h>
#include <stdlib.h>

char *slurp_cmd(const char *cmd, size_t *n) {
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + len, 1, cap - len, p)) > 0;) {
        len += r;
        if (len == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); buf = NULL; } else buf = nb;
        }
    }
    if (pclose(p) != 0) { free(buf); return NULL; }
    *n = len;
    return buf;
}
