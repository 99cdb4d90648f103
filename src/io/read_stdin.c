/* Standard input into memory (see read_stdin.h). */
#include "io/read_stdin.h"

#include <stdio.h>
#include <stdlib.h>

hart_status hart_read_stdin(char **text, size_t *size) {
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf) return hart_fail(HART_ENOMEM, "standard input: out of memory");
    for (size_t r; (r = fread(buf + n, 1, cap - n - 1, stdin)) > 0;) {
        n += r;
        if (n + 1 == cap) {
            char *nb = cap < ((size_t)1 << 30) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                return hart_fail(HART_ENOMEM, "standard input: more than 1 GiB or out of memory");
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (ferror(stdin)) {
        free(buf);
        return hart_fail(HART_EIO, "standard input: read error");
    }
    buf[n] = 0;
    *text = buf;
    *size = n;
    return HART_OK;
}
