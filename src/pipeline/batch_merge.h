/* Joining the shards of a batch job (`hart batch --shard I/N` on several
 * machines, into one shared folder or several): read every manifest.jsonl
 * and manifest.I-of-N.jsonl of the folders, check that their headers name
 * one job (prompt set, indices, settings; the shard may differ), and that
 * together they list each image of the job exactly once, its file present
 * (and decodable with `verify`). Missing, duplicate (the same entry twice)
 * and conflicting entries (one index, different file/seed/prompt; or an
 * index outside the job) are reported on `log`, up to 20 of each kind; the
 * job is then incomplete (HART_EINVAL) and nothing is written. Otherwise
 * the merged manifest goes atomically to `out`: the common header as shard
 * 0/1 and the entries by index, file names relative to out's folder when
 * they are in it, else absolute. */
#ifndef HART_PIPELINE_BATCH_MERGE_H
#define HART_PIPELINE_BATCH_MERGE_H

#include <stdint.h>
#include <stdio.h>

#include "core/status.h"

typedef struct {
    int manifests;
    int64_t images, present, missing, duplicates, conflicts;
} hart_merge_report;

hart_status hart_batch_merge(const char *const *dirs, int n_dirs, const char *out, int verify, FILE *log,
                             hart_merge_report *rep);

#endif
