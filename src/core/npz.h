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

/* ---- reading (npz_read.c) ----
 * A NumPy .npz: a zip of <name>.npy members, stored (np.savez) or deflated
 * (np.savez_compressed). Arrays of dtype float64, float32 or uint8,
 * little-endian, C order, at most 8 dims. Every size, offset and header is
 * checked; errors name the file and the member. */
typedef struct {
    int dtype;             /* 'd' float64, 'f' float32, 'B' uint8 */
    int ndim;
    int64_t shape[8];
    const void *data;      /* numel × element size bytes */
    size_t nbytes;
    void *owned;           /* inflated copy (freed by hart_npy_free) or NULL */
} hart_npy;

typedef struct hart_npz_file hart_npz_file;

hart_status hart_npz_open(const char *path, hart_npz_file **out);
/* Parse from memory (`buf` must outlive the file). Used by the fuzzer. */
hart_status hart_npz_parse(const void *buf, size_t size, const char *label, hart_npz_file **out);
void hart_npz_close(hart_npz_file *f);
/* 1 if the archive has member `name` ("mu" for mu.npy). */
int hart_npz_has(const hart_npz_file *f, const char *name);
/* Array `name`: points into the file when stored, else inflated. */
hart_status hart_npz_get(const hart_npz_file *f, const char *name, hart_npy *a);
void hart_npy_free(hart_npy *a);
/* numel of a (product of its shape) */
int64_t hart_npy_numel(const hart_npy *a);

/* Write float64 arrays names[i] (ndims[i] dims, shapes[i]) as a stored .npz
 * (what np.load reads), atomically. */
hart_status hart_npz_save_f64(const char *path, int n, const char *const *names, const int *ndims,
                              const int64_t *const *shapes, const double *const *data);
