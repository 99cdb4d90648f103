/* Terminal progress line (see progress.h). */
#include "cli/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void hart_progress_init(hart_progress *p, const char *cmd, int quiet) {
    p->cmd = cmd;
    p->shown = 0;
    const char *env = getenv("HART_PROGRESS");
    if (env && (env[0] == '0' || env[0] == '1') && !env[1]) p->on = env[0] == '1';
    else p->on = isatty(STDERR_FILENO);
    if (quiet) p->on = 0;
}

void hart_progress_note(hart_progress *p, const char *fmt, ...) {
    if (!p || !p->on) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "\r\033[Khart %s: ", p->cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fflush(stderr);
    p->shown = 1;
}

void hart_progress_clear(hart_progress *p) {
    if (!p || !p->shown) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = 0;
}

void hart_progress_t2i(void *arg, int done, int total) {
    hart_progress *p = arg;
    if (done < total) hart_progress_note(p, "scale %d/%d", done, total - 1);
    else hart_progress_note(p, "decoding");
}
