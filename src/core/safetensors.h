/* safetensors reader: mmap + full header validation.
 * Validates: 8-byte header length (capped at 100 MB, inside the file), JSON
 * object, every entry's dtype/shape/data_offsets, shape × dtype size equals
 * the byte range, ranges inside the data section, no overlap. Any failure is
 * HART_EFORMAT with a message naming the file and the tensor. */
#ifndef HART_SAFETENSORS_H
#define HART_SAFETENSORS_H

#include "core/tensor.h"

typedef struct {
    char *name;
    hart_dtype dtype;
    int ndim;
    int64_t shape[HART_MAX_DIMS];
    size_t offset; /* into the data section */
    size_t nbytes;
} hart_st_entry;

typedef struct hart_safetensors {
    char *path;
    void *map;          /* whole file, read-only */
    size_t map_size;
    const unsigned char *data; /* start of data section */
    size_t data_size;
    hart_st_entry *entries;
    int n_entries;
    char *metadata_json; /* the "__metadata__" object as text, or NULL */
    int file_backed;     /* map is the file's own read-only mapping (not a copy) */
} hart_safetensors;

hart_status hart_st_open(const char *path, hart_safetensors *st);
/* Bytes to place before a copy of the file at an 8-aligned address so that
 * its data section (8 + header length) is 8-aligned too (0..7). */
size_t hart_st_align_pad(const void *file, size_t size);
/* Parse from memory (no mmap; `buf` must outlive st). Used by the fuzzer.
 * The data section (buf + 8 + header length) must be 8-byte aligned in
 * memory (hart_st_align_pad); otherwise HART_EINVAL. */
hart_status hart_st_parse(const void *buf, size_t size, const char *label, hart_safetensors *st);
void hart_st_close(hart_safetensors *st);
/* Drop this process's resident pages of bytes [p, p+n) of a file-backed
 * mapping (whole pages inside the range only): call once a tensor has been
 * copied out, so the mapping does not double the memory of a loaded model.
 * The bytes stay readable (they fault in from the file again). A no-op for
 * ranges outside the mapping and for files read into memory. */
void hart_st_release(const hart_safetensors *st, const void *p, size_t n);
const hart_st_entry *hart_st_find(const hart_safetensors *st, const char *name);
/* Host tensor view into the mapping (no copy, owns = 0). */
hart_status hart_st_tensor(const hart_safetensors *st, const char *name, hart_tensor *out);

/* Writer: collect tensors (host data copied at add time) then write
 * atomically (temp file + rename). */
typedef struct hart_st_writer hart_st_writer;
hart_st_writer *hart_st_writer_new(void);
hart_status hart_st_writer_add(hart_st_writer *w, const char *name, const hart_tensor *t);
hart_status hart_st_writer_add_raw(hart_st_writer *w, const char *name, hart_dtype dt,
                                   int ndim, const int64_t *shape, const void *data);
hart_status hart_st_writer_save(hart_st_writer *w, const char *path);
void hart_st_writer_free(hart_st_writer *w);

#endif
