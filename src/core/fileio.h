/* File helpers. Atomic file writing: data goes to "<path>.tmp.<pid>" and is renamed over
 * <path> only on commit, so a killed process never leaves a half file. */
#ifndef HART_FILEIO_H
#define HART_FILEIO_H

#include <stdio.h>

#include "core/status.h"

typedef struct {
    FILE *f;
    char *path;
    char *tmp;
} hart_file_writer;

hart_status hart_file_begin(hart_file_writer *w, const char *path);
hart_status hart_file_put(hart_file_writer *w, const void *data, size_t n);
hart_status hart_file_commit(hart_file_writer *w); /* flush, fsync, rename */
void hart_file_abort(hart_file_writer *w);         /* remove the temp file */
/* Map a regular file read-only (private): *map = NULL for an empty file;
 * unmap with munmap(*map, *size). Errors name the file. */
hart_status hart_file_map(const char *path, void **map, size_t *size);
/* Read a whole file into a NUL-terminated malloc'd buffer. */
hart_status hart_file_read_all(const char *path, char **data, size_t *size);

#endif
