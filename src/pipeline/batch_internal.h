/* Internals of pipeline/batch.c shared with its helpers (batch_prepare.c:
 * temporary files, folders, verification; batch_workers.c: the render loop
 * and the worker processes). */
#ifndef HART_PIPELINE_BATCH_INTERNAL_H
#define HART_PIPELINE_BATCH_INTERNAL_H

#include "pipeline/batch.h"

typedef struct {
    const hart_prompt *p;
    int copy;
    int64_t index;
    uint64_t seed;
    char *file; /* relative to the output folder */
    char *path; /* out_dir/file */
} batch_job;

/* 1: a regular non-empty file */
int batch_exists(const char *path);
/* Create the folders of jobs[0..n) under out_dir (mkdir -p). */
hart_status batch_make_dirs(const char *out_dir, batch_job *const *jobs, int64_t n);
/* Remove <file>.tmp.<digits> for the files of jobs[0..n) and the manifest
 * (named `manifest`, in out_dir); returns how many. */
int batch_clean_temporaries(const char *out_dir, const char *manifest, batch_job *const *jobs, int64_t n);
/* Decode jobs[k]->path for every k with check[k] set (several threads);
 * sets ok[k], and on failure why[k] (malloc'd). */
void batch_verify(batch_job *const *jobs, int64_t n, const unsigned char *check, unsigned char *ok, char **why);
/* GenEval layout: <prompt index>/metadata.jsonl of each prompt in jobs. */
hart_status batch_write_geneval_metadata(const char *out_dir, batch_job *const *jobs, int64_t n);

/* Render jobs[0..n) in groups of k with the renderer's workers (one per
 * device; several: processes), appending each finished image to the
 * manifest at manifest_path. *rendered: images written. */
hart_status batch_render_all(const hart_batch_opts *o, const hart_batch_renderer *r, batch_job *const *jobs, int64_t n,
                             int k, const char *manifest_path, int64_t *rendered);

#endif
