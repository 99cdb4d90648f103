/* The render loop of pipeline/batch.c and its worker processes. Several
 * devices get one forked process each, not threads: every worker owns a
 * whole device context (OpenCL context, weights, OpenBLAS/OpenMP pools) with
 * no state shared by accident, one that crashes or is killed takes only its
 * current group with it, and the parent touches neither OpenCL nor OpenMP
 * before forking (neither survives a fork). The workers take the next group
 * of missing images from a counter in shared memory, so a fast device
 * renders more groups and the groups of a failed worker go to the others.
 * Each worker appends to the manifest through its own descriptor under
 * flock (a lock shared through an inherited descriptor would not exclude). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/batch_internal.h"
#include "pipeline/manifest.h"

typedef struct {
    int64_t next_group; /* the next group to take */
    int64_t done;       /* images written */
} shared_counters;

/* Take groups until none is left; append every written image to the manifest. */
static hart_status work(const hart_batch_renderer *r, batch_job *const *jobs, int64_t n, int k,
                        const char *manifest_path, shared_counters *c) {
    int fd = open(manifest_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) return hart_fail(HART_EIO, "%s: cannot append: %s", manifest_path, strerror(errno));
    hart_batch_item *items = calloc((size_t)k, sizeof *items);
    hart_status s = items ? HART_OK : hart_fail(HART_ENOMEM, "out of memory");
    while (!s) {
        int64_t g = __atomic_fetch_add(&c->next_group, 1, __ATOMIC_RELAXED), first = g * k;
        if (first >= n) break;
        int m = (int)(n - first < k ? n - first : k);
        for (int i = 0; i < m; i++) {
            const batch_job *j = jobs[first + i];
            items[i] = (hart_batch_item){j->p->prompt, j->seed, j->index, j->path, j->p->line};
        }
        s = r->render(r->ctx, items, m);
        hart_status a = HART_OK;
        for (int i = 0; i < m && !a; i++) {
            const batch_job *j = jobs[first + i];
            if (!batch_exists(j->path)) continue;
            a = hart_manifest_append_fd(fd, manifest_path, j->index, j->file, j->seed, j->p->prompt);
            if (!a) __atomic_fetch_add(&c->done, 1, __ATOMIC_RELAXED);
        }
        if (s && m == 1)
            s = hart_fail_ctx(s, "image %lld (prompt on line %d)", (long long)items[0].index, items[0].line);
        else if (s)
            s = hart_fail_ctx(s, "images %lld..%lld (one batch, prompts on lines %d..%d)", (long long)items[0].index,
                              (long long)items[m - 1].index, items[0].line, items[m - 1].line);
        if (!s) s = a;
    }
    free(items);
    close(fd);
    return s;
}

static hart_status one_worker(const hart_batch_renderer *r, const char *device, int w, int nw, batch_job *const *jobs,
                              int64_t n, int k, const char *manifest_path, shared_counters *c) {
    hart_status s = r->open ? r->open(r->ctx, device, w, nw) : HART_OK;
    if (!s) s = work(r, jobs, n, k, manifest_path, c);
    if (r->close) r->close(r->ctx);
    return s;
}

hart_status batch_render_all(const hart_batch_opts *o, const hart_batch_renderer *r, batch_job *const *jobs, int64_t n,
                             int k, const char *manifest_path, int64_t *rendered) {
    *rendered = 0;
    int nw = o->n_devices > 1 ? o->n_devices : 1;
    if (nw == 1) {
        shared_counters c = {0, 0};
        hart_status s = one_worker(r, o->n_devices ? o->devices[0] : NULL, 0, 1, jobs, n, k, manifest_path, &c);
        *rendered = c.done;
        return s;
    }
    shared_counters *c = mmap(NULL, sizeof *c, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) return hart_fail(HART_ENOMEM, "shared counters: %s", strerror(errno));
    c->next_group = c->done = 0;
    pid_t *pids = calloc((size_t)nw, sizeof *pids);
    if (!pids) { munmap(c, sizeof *c); return hart_fail(HART_ENOMEM, "out of memory"); }
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    hart_status s = HART_OK;
    int started = 0;
    for (int w = 0; w < nw; w++) {
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGTERM); /* the parent killed: stop too */
            if (getppid() != parent) _exit(1);
            hart_status ws = one_worker(r, o->devices[w], w, nw, jobs, n, k, manifest_path, c);
            if (ws) fprintf(stderr, "hart batch: worker %d (%s): %s\n", w, o->devices[w], hart_errmsg());
            fflush(stderr);
            _exit(ws ? 1 : 0);
        }
        if (pid < 0) { s = hart_fail(HART_EIO, "cannot start worker %d: %s", w, strerror(errno)); break; }
        pids[w] = pid;
        started++;
    }
    int failed = 0, running = started;
    char failed_list[512] = "";
    while (running > 0) {
        int status;
        pid_t p = waitpid(-1, &status, WNOHANG);
        if (p < 0 && errno == EINTR) continue;
        if (p < 0) break;
        if (p == 0) {
            if (r->progress) r->progress(r->ctx, __atomic_load_n(&c->done, __ATOMIC_RELAXED), n);
            struct timespec ts = {0, 200 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        for (int w = 0; w < nw; w++) {
            if (pids[w] != p) continue;
            running--;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                failed++;
                size_t l = strlen(failed_list);
                char why[64];
                if (WIFSIGNALED(status)) snprintf(why, sizeof why, "signal %d", WTERMSIG(status));
                else snprintf(why, sizeof why, "exit %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
                snprintf(failed_list + l, sizeof failed_list - l, "%s%d (%s, %s)", l ? ", " : "", w, o->devices[w], why);
            }
        }
    }
    *rendered = c->done;
    if (!s && failed)
        s = hart_fail(HART_EIO, "worker%s %s failed; %lld of %lld images rendered (run the same command again for the rest)",
                      failed > 1 ? "s" : "", failed_list, (long long)c->done, (long long)n);
    free(pids);
    munmap(c, sizeof *c);
    return s;
}
