/* hart batch --merge DIR...: check that the shard manifests of a job (in
 * one or several folders) cover its images exactly once, and write the
 * merged manifest (pipeline/batch_merge.h). */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "pipeline/batch_merge.h"

int cmd_batch_merge(int argc, char **argv) {
    const char *out = NULL;
    int merge = 0, quiet = 0, verify = 0;
    const hart_opt opts[] = {
        {"merge", 0, HART_ARG_FLAG, &merge, NULL, "merge the manifests found in the folders DIR...", NULL, 0, 0, NULL},
        {"output", 'o', HART_ARG_STR, &out, "FILE", "merged manifest", "DIR/manifest.jsonl (first DIR)", 0, 0, NULL},
        {"verify", 0, HART_ARG_FLAG, &verify, NULL, "also decode every image (slow; exists and non-empty otherwise)",
         NULL, 0, 0, NULL},
        HART_OPT_QUIET(&quiet),
        HART_OPT_END};
    const hart_cmd_spec spec = {
        "batch", "--merge DIR... [-o FILE]",
        "Read every manifest.jsonl and manifest.I-of-N.jsonl in the folders (the shards of one job: `hart batch "
        "--shard I/N`), check that they belong to one job (same prompt set and settings) and together list each of "
        "its images exactly once with the image file there; report missing, duplicate and conflicting entries "
        "(exit 1 unless complete), and write the merged manifest (sorted by index) atomically.",
        opts, 1, -1, 0};
    hart_args a;
    int rc = hart_args_parse(&spec, argc, argv, &a);
    if (rc >= 0) return rc;
    char def[4200];
    if (!out) {
        snprintf(def, sizeof def, "%s/manifest.jsonl", a.pos[0]);
        out = def;
    }
    if (hart_args_parse_only) return 0;
    hart_merge_report rep;
    hart_status s = hart_batch_merge((const char *const *)a.pos, a.npos, out, verify, stderr, &rep);
    if (s) {
        fprintf(stderr, "hart batch: %s\n", hart_errmsg());
        return 1;
    }
    if (!quiet)
        fprintf(stderr, "hart batch: merged %d manifest%s: %lld of %lld images, wrote %s\n", rep.manifests,
                rep.manifests == 1 ? "" : "s", (long long)rep.present, (long long)rep.images, out);
    return 0;
}
