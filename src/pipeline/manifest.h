/* Batch manifests: DIR/manifest.jsonl (DIR/manifest.I-of-N.jsonl for shard
 * I of N), JSON Lines. Line 1 is a header that names the job:
 *   {"hart_manifest":1,"prompts":"<hash>","images":N,"indices":"0-9,20-29",
 *    "shard":"I/N","options":{"cfg":"4.5",...}}
 * ("prompts": FNV-1a 64 of every image's index, file, seed and prompt;
 * "indices": every image index of the job, all shards, as ascending ranges;
 * "options": the settings that change pixels, as strings). Every further
 * line is one finished image: {"index":K,"file":"F","seed":S,"prompt":"P"}.
 *
 * Appends are a single write(2) of a whole line under flock(2), so workers
 * sharing a manifest never interleave; a kill or a crash can at worst leave
 * the last line torn, and the reader drops it (`torn`). The reader takes an
 * untrusted file: damaged entry lines are dropped and counted, a damaged
 * header is an error. */
#ifndef HART_PIPELINE_MANIFEST_H
#define HART_PIPELINE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "io/fingerprint.h" /* hart_fnv1a */

typedef struct {
    int64_t index;
    char *file;
    uint64_t seed;
    char *prompt;
} hart_manifest_entry;

typedef struct {
    int has_header;
    char *prompts_hash;       /* 16 hex digits */
    int64_t images;           /* images of the whole job (all shards) */
    char *indices;            /* range list, e.g. "0-9,20-29" */
    int shard, n_shards;
    char **opt_keys, **opt_vals; /* the "options" object, in file order */
    int n_opts;
    hart_manifest_entry *entries;
    int n, cap;
    int dropped;              /* entry lines that were not valid entries */
    int torn;                 /* 1: the last line had no newline or did not parse */
} hart_manifest;

/* Parse a manifest's text (NUL-terminated at text[size]). An empty text is
 * an empty manifest without header. `label` names the file in errors. */
hart_status hart_manifest_parse(const char *label, const char *text, size_t size, hart_manifest *m);
/* Read and parse `path`; *exists = 0 (and an empty manifest) when missing. */
hart_status hart_manifest_read(const char *path, hart_manifest *m, int *exists);
void hart_manifest_free(hart_manifest *m);

/* Add an entry (strings copied). */
hart_status hart_manifest_add(hart_manifest *m, int64_t index, const char *file, uint64_t seed, const char *prompt);
/* Set the header's options from a NULL-terminated key, value, ... list. */
hart_status hart_manifest_set_options(hart_manifest *m, const char *const *kv);
/* Sort the entries by index (stable for equal indices). */
void hart_manifest_sort(hart_manifest *m);

/* malloc'd lines with a trailing newline */
char *hart_manifest_header_line(const hart_manifest *m);
/* o printed on one line plus a newline (malloc'd; NULL when out of memory);
 * takes o (deleted). Every JSON line batch writes goes through it. */
struct cJSON;
char *hart_json_line(struct cJSON *o);
char *hart_manifest_entry_line(int64_t index, const char *file, uint64_t seed, const char *prompt);
/* Write header + entries (in their order) atomically to `path`. */
hart_status hart_manifest_write(const char *path, const hart_manifest *m);
/* Append one entry line to the manifest open as `fd` (O_APPEND): one
 * write(2) under an exclusive flock, then fsync. */
hart_status hart_manifest_append_fd(int fd, const char *path, int64_t index, const char *file, uint64_t seed,
                                    const char *prompt);

/* Header comparison: NULL when `want` (this run) and `have` (the file)
 * describe the same job, else a malloc'd description of the differences. */
char *hart_manifest_header_diff(const hart_manifest *have, const hart_manifest *want);

/* Ascending int64 list <-> "a-b,c,d-e". Parsing refuses anything else
 * (descending or overlapping ranges, more than `max_n` values). */
char *hart_ranges_format(const int64_t *v, int64_t n);
hart_status hart_ranges_parse(const char *s, int64_t max_n, int64_t **v, int64_t *n);

#endif
