/* What `hart batch` (prompts) and its LPD form share: --devices parsing
 * (a comma list of device specs, or "all": every OpenCL GPU/accelerator,
 * found by a short-lived child process so that this process has not
 * touched OpenCL when it forks its workers), --layout, and the progress
 * line of a multi-worker run. */
#ifndef HART_CLI_BATCH_CLI_H
#define HART_CLI_BATCH_CLI_H

#include <stdint.h>

#include "cli/progress.h"
#include "core/status.h"

typedef struct {
    char **specs;
    int n;
} batch_devices;

/* "cpu,opencl:0:1", "all" -> specs; each checked like --device. */
hart_status batch_devices_parse(const char *list, batch_devices *out);
void batch_devices_free(batch_devices *d);
/* "auto" | "flat" | "category" | "geneval" -> hart_batch_layout; auto picks
 * category for MJHQ .json files, else flat. -1 when unknown. */
int batch_layout_parse(const char *s, const char *prompt_path);
const char *batch_layout_name(int layout);
/* hart_batch_renderer.progress for a hart_progress* */
void batch_progress_note(void *pr, int64_t done, int64_t todo);

#endif
