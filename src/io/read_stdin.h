/* All of standard input in memory (prompt lists, `hart tokenize -`). */
#ifndef HART_IO_READ_STDIN_H
#define HART_IO_READ_STDIN_H

#include <stddef.h>

#include "core/status.h"

/* *text: malloc'd, NUL-terminated at (*text)[*size]; at most 1 GiB. */
hart_status hart_read_stdin(char **text, size_t *size);

#endif
