/* Test helper: the whole standard output of a shell command (e.g. "xz -dc
 * FILE") in a malloc'd buffer of *n bytes; NULL when it fails. */
#ifndef HART_TEST_SLURP_H
#define HART_TEST_SLURP_H

#include <stddef.h>

char *slurp_cmd(const char *cmd, size_t *n);

#endif
