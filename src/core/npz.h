/* Writing a NumPy .npz with one uint8 array (what ImageNet FID evaluators
 * read: `arr_0` [N,H,W,3]), streamed: the array's bytes are passed in
 * pieces, so 50,000 images never sit in memory at once. The archive is a
 * stored (uncompressed) zip with ZIP64 records (the arrays exceed 4 GiB),
 * written to a temp file and renamed on success (core/fileio.h). */
#ifndef HART_NPZ_H
#define HART_NPZ_H

#include <stdint.h>

#include "core/fileio.h"

typedef struct {
    hart_file_writer f;
    char name[64];
    uint32_t crc;
    uint64_t size, want; /* bytes of the .npy entry written / expected */
} hart_npz_writer;

/* Start `path` with array `name` (e.g. "arr_0") of uint8 and the given shape. */
hart_status hart_npz_begin_u8(hart_npz_writer *w, const char *path, const char *name, int ndim, const int64_t *shape);
/* Append the next n bytes of the array (C order). */
hart_status hart_npz_put(hart_npz_writer *w, const void *data, size_t n);
/* All bytes given: write the directory and commit the file. */
hart_status hart_npz_finish(hart_npz_writer *w);
void hart_npz_abort(hart_npz_writer *w);

#endif
