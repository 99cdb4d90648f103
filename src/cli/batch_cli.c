#include "cli/batch_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/opencl/opencl.h"
#include "cli/args.h"
#include "pipeline/batch.h"

void batch_devices_free(batch_devices *d) {
    for (int i = 0; i < d->n; i++) free(d->specs[i]);
    free(d->specs);
    d->specs = NULL;
    d->n = 0;
}

static hart_status push(batch_devices *d, const char *s, size_t n) {
    char **g = realloc(d->specs, sizeof *g * (size_t)(d->n + 1));
    if (!g) return hart_fail(HART_ENOMEM, "out of memory");
    d->specs = g;
    if (!(g[d->n] = strndup(s, n))) return hart_fail(HART_ENOMEM, "out of memory");
    d->n++;
    return HART_OK;
}

/* "all": the OpenCL devices, listed by a child process (the listing loads the
 * OpenCL driver, which must not be loaded in a process that forks workers).
 * GPUs and accelerators when there are any, else every device. */
static hart_status list_all(batch_devices *d) {
    int fds[2];
    if (pipe(fds) != 0) return hart_fail(HART_EIO, "pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) { close(fds[0]); close(fds[1]); return hart_fail(HART_EIO, "fork: %s", strerror(errno)); }
    if (pid == 0) {
        close(fds[0]);
        FILE *f = fdopen(fds[1], "w");
        if (f) { hart_opencl_list(f); fclose(f); }
        _exit(0);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[1024];
    batch_devices gpus = {0}, every = {0};
    hart_status s = f ? HART_OK : hart_fail(HART_EIO, "fdopen: %s", strerror(errno));
    while (!s && fgets(line, sizeof line, f)) {
        const char *p = line;
        while (*p == ' ') p++;
        if (strncmp(p, "opencl:", 7) || strncmp(line, "  ", 2)) continue; /* device lines are indented */
        size_t n = strcspn(p, " \n");
        s = push(&every, p, n);
        if (!s && (strstr(p, "(GPU, ") || strstr(p, "(accelerator, "))) s = push(&gpus, p, n);
    }
    if (f) fclose(f);
    else close(fds[0]);
    waitpid(pid, NULL, 0);
    if (!s && !every.n) s = hart_fail(HART_EDEVICE, "--devices all: no OpenCL device found (see `hart info`)");
    if (!s) {
        *d = gpus.n ? gpus : every;
        if (gpus.n) batch_devices_free(&every);
        else batch_devices_free(&gpus);
        return HART_OK;
    }
    batch_devices_free(&gpus);
    batch_devices_free(&every);
    return s;
}

hart_status batch_devices_parse(const char *list, batch_devices *out) {
    memset(out, 0, sizeof *out);
    if (!strcmp(list, "all")) return list_all(out);
    hart_status s = HART_OK;
    for (const char *p = list; !s;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        char spec[128];
        if (n == 0 || n >= sizeof spec) s = hart_fail(HART_EINVAL, "--devices '%s': empty or overlong entry", list);
        else {
            memcpy(spec, p, n);
            spec[n] = 0;
            if (!hart_args_device_ok(spec) || !strcmp(spec, "auto"))
                s = hart_fail(HART_EINVAL, "--devices '%s': '%s' is not a device (cpu, opencl, opencl:P, opencl:P:D; or all)",
                              list, spec);
            else s = push(out, spec, n);
        }
        if (!c) break;
        p = c + 1;
    }
    if (s) batch_devices_free(out);
    return s;
}

int batch_layout_parse(const char *s, const char *prompt_path) {
    if (!strcmp(s, "flat")) return HART_LAYOUT_FLAT;
    if (!strcmp(s, "category")) return HART_LAYOUT_CATEGORY;
    if (!strcmp(s, "geneval")) return HART_LAYOUT_GENEVAL;
    if (strcmp(s, "auto")) return -1;
    size_t n = prompt_path ? strlen(prompt_path) : 0;
    return n >= 5 && !strcmp(prompt_path + n - 5, ".json") ? HART_LAYOUT_CATEGORY : HART_LAYOUT_FLAT;
}

const char *batch_layout_name(int layout) {
    return layout == HART_LAYOUT_CATEGORY ? "category" : layout == HART_LAYOUT_GENEVAL ? "geneval" : "flat";
}

void batch_progress_note(void *pr, int64_t done, int64_t todo) {
    hart_progress_note(pr, "%lld of %lld images", (long long)done, (long long)todo);
}
