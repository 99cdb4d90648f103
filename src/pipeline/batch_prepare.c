/* Resume housekeeping of pipeline/batch.c: folders, stale temporary files,
 * verification of the images already there, GenEval metadata files. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"
#include "io/image.h"
#include "pipeline/batch_internal.h"
#include "pipeline/manifest.h"

int batch_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* sorted unique folders (relative, "" = out_dir itself) of the jobs' files */
static char **job_dirs(batch_job *const *jobs, int64_t n, int64_t *nd) {
    char **d = malloc(sizeof *d * (size_t)(n + 1));
    int64_t k = 0;
    if (!d) return NULL;
    d[k++] = strdup("");
    for (int64_t i = 0; i < n; i++) {
        const char *f = jobs[i]->file, *slash = strrchr(f, '/');
        if (!slash) continue;
        if (k > 1 && strlen(d[k - 1]) == (size_t)(slash - f) && !memcmp(d[k - 1], f, (size_t)(slash - f))) continue;
        d[k++] = strndup(f, (size_t)(slash - f));
    }
    for (int64_t i = 0; i < k; i++)
        if (!d[i]) { for (int64_t j = 0; j < k; j++) free(d[j]); free(d); return NULL; }
    qsort(d, (size_t)k, sizeof *d, cmp_str);
    int64_t u = 0;
    for (int64_t i = 0; i < k; i++) {
        if (u && !strcmp(d[u - 1], d[i])) { free(d[i]); continue; }
        d[u++] = d[i];
    }
    *nd = u;
    return d;
}

static void free_list(char **d, int64_t n) {
    for (int64_t i = 0; d && i < n; i++) free(d[i]);
    free(d);
}

hart_status batch_make_dirs(const char *out_dir, batch_job *const *jobs, int64_t n) {
    int64_t nd;
    char **d = job_dirs(jobs, n, &nd);
    if (!d) return hart_fail(HART_ENOMEM, "out of memory");
    hart_status s = HART_OK;
    char path[8192];
    for (int64_t i = 0; i < nd && !s; i++) {
        if (!*d[i]) continue;
        int len = snprintf(path, sizeof path, "%s/%s", out_dir, d[i]);
        for (int c = (int)strlen(out_dir) + 1; c <= len && !s; c++) {
            if (path[c] != '/' && path[c]) continue;
            char keep = path[c];
            path[c] = 0;
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                s = hart_fail(HART_EIO, "%s: cannot create folder: %s", path, strerror(errno));
            path[c] = keep;
        }
    }
    free_list(d, nd);
    return s;
}

/* "<base>.tmp.<digits>" -> length of base, else 0 */
static size_t tmp_base_len(const char *name) {
    const char *t = strstr(name, ".tmp.");
    while (t) {
        const char *q = t + 5;
        if (*q) {
            while (*q >= '0' && *q <= '9') q++;
            if (!*q) return (size_t)(t - name);
        }
        t = strstr(t + 1, ".tmp.");
    }
    return 0;
}

int batch_clean_temporaries(const char *out_dir, const char *manifest, batch_job *const *jobs, int64_t n) {
    /* the run lock makes every temporary of this shard's files a leftover */
    char **names = malloc(sizeof *names * (size_t)(n + 1));
    int64_t nd;
    char **d = job_dirs(jobs, n, &nd);
    int removed = 0;
    if (!names || !d) { free(names); free_list(d, d ? nd : 0); return 0; }
    for (int64_t i = 0; i < n; i++) names[i] = jobs[i]->file;
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    char folder[8192], rel[8192], full[16384];
    for (int64_t i = 0; i < nd; i++) {
        snprintf(folder, sizeof folder, "%s%s%s", out_dir, *d[i] ? "/" : "", d[i]);
        DIR *dir = opendir(folder);
        if (!dir) continue;
        struct dirent *e;
        while ((e = readdir(dir))) {
            size_t bl = tmp_base_len(e->d_name);
            if (!bl) continue;
            snprintf(rel, sizeof rel, "%s%s%.*s", d[i], *d[i] ? "/" : "", (int)bl, e->d_name);
            const char *key = rel;
            int mine = (!*d[i] && !strcmp(rel, manifest)) || bsearch(&key, names, (size_t)n, sizeof *names, cmp_str);
            snprintf(full, sizeof full, "%s/%s", folder, e->d_name);
            if (mine && unlink(full) == 0) removed++;
        }
        closedir(dir);
    }
    free(names);
    free_list(d, nd);
    return removed;
}

typedef struct {
    batch_job *const *jobs;
    int64_t n, next;
    const unsigned char *check;
    unsigned char *ok;
    char **why;
} verify_pool;

static void *verify_thread(void *arg) {
    verify_pool *v = arg;
    for (;;) {
        int64_t k = __atomic_fetch_add(&v->next, 1, __ATOMIC_RELAXED);
        if (k >= v->n) break;
        if (!v->check[k]) continue;
        hart_image im;
        if (hart_image_read(v->jobs[k]->path, &im) == HART_OK) {
            v->ok[k] = 1;
            hart_image_free(&im);
        } else {
            v->why[k] = strdup(hart_errmsg());
            hart_clear_error();
        }
    }
    return NULL;
}

void batch_verify(batch_job *const *jobs, int64_t n, const unsigned char *check, unsigned char *ok, char **why) {
    verify_pool v = {jobs, n, 0, check, ok, why};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = cpus < 1 ? 1 : cpus > 16 ? 16 : (int)cpus, started = 0;
    pthread_t th[16];
    /* plain threads, joined before any fork: OpenMP is not touched in the parent */
    for (int t = 1; t < nt; t++)
        if (pthread_create(&th[started], NULL, verify_thread, &v) == 0) started++;
    verify_thread(&v);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
}

/* {"prompt": "..."} + newline, for prompts that came without a JSON line */
static char *json_prompt_line(const char *prompt) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "prompt", prompt);
    return hart_json_line(o);
}

hart_status batch_write_geneval_metadata(const char *out_dir, batch_job *const *jobs, int64_t n) {
    char path[8192];
    hart_status s = HART_OK;
    for (int64_t i = 0; i < n && !s; i++) {
        const hart_prompt *p = jobs[i]->p;
        if (i && jobs[i - 1]->p == p) continue;
        char *line = NULL;
        if (p->json) {
            line = malloc(strlen(p->json) + 2);
            if (line) sprintf(line, "%s\n", p->json);
        } else {
            line = json_prompt_line(p->prompt);
        }
        if (!line) return hart_fail(HART_ENOMEM, "out of memory");
        snprintf(path, sizeof path, "%s/%05d/metadata.jsonl", out_dir, p->index);
        char *have = NULL;
        size_t hn = 0;
        int same = hart_file_read_all(path, &have, &hn) == HART_OK && hn == strlen(line) && !memcmp(have, line, hn);
        hart_clear_error();
        free(have);
        if (!same) {
            hart_file_writer w;
            s = hart_file_begin(&w, path);
            if (!s) s = hart_file_put(&w, line, strlen(line));
            if (!s) s = hart_file_commit(&w);
            else if (w.f) hart_file_abort(&w);
        }
        free(line);
    }
    return s;
}
