/* A cheap identity of a model file or folder for batch manifests: FNV-1a 64
 * over every regular file under the path (sorted relative names, sizes, and
 * the first and last 64 KiB of each). Two copies of one checkpoint agree
 * wherever they live; a different checkpoint (other shapes, config or
 * weights at either end of a file) almost surely does not. Not a content
 * hash of every byte: a 10 GB model is fingerprinted in milliseconds. */
#ifndef HART_IO_FINGERPRINT_H
#define HART_IO_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* FNV-1a 64 over data[0..n), continuing from h (start: HART_FNV_INIT). */
#define HART_FNV_INIT 0xcbf29ce484222325ull
uint64_t hart_fnv1a(uint64_t h, const void *data, size_t n);

/* hex: 16 hex digits + NUL. Errors name the path. */
hart_status hart_fingerprint_path(const char *path, char hex[17]);

#endif
