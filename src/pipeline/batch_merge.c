#include "pipeline/batch_merge.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/image.h"
#include "pipeline/manifest.h"

enum { SHOW = 20, MAX_IMAGES = 1 << 26 }; /* an untrusted header must not ask for gigabytes */

typedef struct {
    const hart_manifest_entry *e;
    const char *dir;
    const char *manifest;
} found;

static int by_index(const void *a, const void *b) {
    const found *x = a, *y = b;
    if (x->e->index != y->e->index) return x->e->index < y->e->index ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int is_manifest_name(const char *n) {
    int i, k, len = 0;
    if (!strcmp(n, "manifest.jsonl")) return 1;
    return sscanf(n, "manifest.%d-of-%d.jsonl%n", &i, &k, &len) == 2 && len > 0 && !n[len];
}

static int same_entry(const hart_manifest_entry *a, const hart_manifest_entry *b) {
    return a->seed == b->seed && !strcmp(a->file, b->file) && !strcmp(a->prompt, b->prompt);
}

/* The manifests of the folders (not `out` itself), read. */
static hart_status read_all(const char *const *dirs, int n_dirs, const char *out_real, hart_manifest **ms,
                            char ***paths, const char ***mdirs, int *n) {
    *n = 0;
    hart_status s = HART_OK;
    for (int d = 0; d < n_dirs && !s; d++) {
        struct dirent **list;
        int k = scandir(dirs[d], &list, NULL, alphasort);
        if (k < 0) return hart_fail(HART_EIO, "%s: cannot list: %s", dirs[d], strerror(errno));
        for (int i = 0; i < k; i++) {
            if (!s && is_manifest_name(list[i]->d_name)) {
                size_t pl = strlen(dirs[d]) + strlen(list[i]->d_name) + 2;
                char *p = malloc(pl), real[PATH_MAX];
                hart_manifest *nm = realloc(*ms, sizeof **ms * (size_t)(*n + 1));
                char **np = realloc(*paths, sizeof **paths * (size_t)(*n + 1));
                const char **nd = realloc(*mdirs, sizeof **mdirs * (size_t)(*n + 1));
                if (nm) *ms = nm;
                if (np) *paths = np;
                if (nd) *mdirs = nd;
                if (!p || !nm || !np || !nd) { free(p); s = hart_fail(HART_ENOMEM, "out of memory"); }
                else {
                    snprintf(p, pl, "%s/%s", dirs[d], list[i]->d_name);
                    if (out_real && realpath(p, real) && !strcmp(real, out_real)) free(p); /* an earlier merge */
                    else {
                        int exists;
                        s = hart_manifest_read(p, &(*ms)[*n], &exists);
                        if (!s && !(*ms)[*n].has_header) {
                            hart_manifest_free(&(*ms)[*n]);
                            s = hart_fail(HART_EFORMAT, "%s: no manifest header (written by an older hart?)", p);
                        }
                        if (s) free(p);
                        else { (*paths)[*n] = p; (*mdirs)[*n] = dirs[d]; (*n)++; }
                    }
                }
            }
            free(list[i]);
        }
        free(list);
    }
    if (!s && !*n) s = hart_fail(HART_EIO, "no manifest.jsonl or manifest.I-of-N.jsonl in the folder%s given", n_dirs > 1 ? "s" : "");
    return s;
}

static int file_ok(const char *dir, const char *file, int verify, char *path, size_t pn) {
    if (file[0] == '/') snprintf(path, pn, "%s", file);
    else snprintf(path, pn, "%s/%s", dir, file);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) return 0;
    if (!verify) return 1;
    hart_image im;
    if (hart_image_read(path, &im) != HART_OK) { hart_clear_error(); return 0; }
    hart_image_free(&im);
    return 1;
}

hart_status hart_batch_merge(const char *const *dirs, int n_dirs, const char *out, int verify, FILE *log,
                             hart_merge_report *rep) {
    memset(rep, 0, sizeof *rep);
    char out_real[PATH_MAX], out_dir[PATH_MAX], out_dir_real[PATH_MAX];
    int have_out = realpath(out, out_real) != NULL;
    snprintf(out_dir, sizeof out_dir, "%s", out);
    char *slash = strrchr(out_dir, '/');
    if (slash) *slash = 0;
    else snprintf(out_dir, sizeof out_dir, ".");
    if (!realpath(out_dir, out_dir_real)) return hart_fail(HART_EIO, "%s: no such folder for the merged manifest", out_dir);
    hart_manifest *ms = NULL;
    char **paths = NULL;
    const char **mdirs = NULL;
    int n = 0;
    found *all = NULL;
    int64_t *want = NULL, n_want = 0;
    hart_status s = read_all(dirs, n_dirs, have_out ? out_real : NULL, &ms, &paths, &mdirs, &n);
    rep->manifests = n;
    /* one job: the headers agree, the shard aside */
    for (int i = 1; i < n && !s; i++) {
        hart_manifest h = ms[i];
        h.shard = ms[0].shard;
        h.n_shards = ms[0].n_shards;
        char *diff = hart_manifest_header_diff(&ms[0], &h); /* "first -> this one" */
        if (diff) s = hart_fail(HART_EINVAL, "%s and %s are not shards of one job: %s", paths[0], paths[i], diff);
        free(diff);
    }
    if (!s && ms[0].images > MAX_IMAGES)
        s = hart_fail(HART_EFORMAT, "%s: %lld images: more than this merge takes (%d)", paths[0], (long long)ms[0].images,
                      MAX_IMAGES);
    if (!s) s = hart_ranges_parse(ms[0].indices, ms[0].images, &want, &n_want);
    if (!s && n_want != ms[0].images)
        s = hart_fail(HART_EFORMAT, "%s: header lists %lld indices for %lld images", paths[0], (long long)n_want,
                      (long long)ms[0].images);
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += ms[i].n;
    if (!s && !(all = malloc(sizeof *all * (size_t)(total ? total : 1)))) s = hart_fail(HART_ENOMEM, "out of memory");
    int64_t k = 0;
    for (int i = 0; i < n && !s; i++)
        for (int j = 0; j < ms[i].n; j++) all[k++] = (found){&ms[i].entries[j], mdirs[i], paths[i]};
    if (!s) qsort(all, (size_t)total, sizeof *all, by_index);
    hart_manifest merged = {0};
    if (!s) {
        rep->images = n_want;
        merged = ms[0];
        merged.entries = NULL;
        merged.n = merged.cap = 0;
        merged.shard = 0;
        merged.n_shards = 1;
    }
    char path[PATH_MAX * 2], real[PATH_MAX * 2 + 2];
    int64_t shown_m = 0, shown_d = 0, shown_c = 0;
    /* walk the expected indices and the sorted entries together */
    for (int64_t w = 0, e = 0; !s && (w < n_want || e < total);) {
        if (e < total && (w >= n_want || all[e].e->index < want[w])) {
            rep->conflicts++;
            if (shown_c++ < SHOW)
                fprintf(log, "conflict: %s: image %lld is not part of the job\n", all[e].manifest, (long long)all[e].e->index);
            e++;
            continue;
        }
        int64_t e0 = e;
        while (e < total && all[e].e->index == want[w]) e++;
        int64_t idx = want[w++];
        if (e == e0) {
            rep->missing++;
            if (shown_m++ < SHOW) fprintf(log, "missing: image %lld (no manifest lists it)\n", (long long)idx);
            continue;
        }
        int conflict = 0;
        for (int64_t x = e0 + 1; x < e; x++) conflict |= !same_entry(all[x].e, all[e0].e);
        if (conflict) {
            rep->conflicts++;
            if (shown_c++ < SHOW)
                fprintf(log, "conflict: image %lld: %s says %s (seed %llu), %s says %s (seed %llu)\n", (long long)idx,
                        all[e0].manifest, all[e0].e->file, (unsigned long long)all[e0].e->seed, all[e - 1].manifest,
                        all[e - 1].e->file, (unsigned long long)all[e - 1].e->seed);
            continue;
        }
        if (e - e0 > 1) {
            rep->duplicates++;
            if (shown_d++ < SHOW)
                fprintf(log, "duplicate: image %lld (%s) is listed by %s and %s\n", (long long)idx, all[e0].e->file,
                        all[e0].manifest, all[e0 + 1].manifest);
            continue;
        }
        const found *f = &all[e0];
        if (!file_ok(f->dir, f->e->file, verify, path, sizeof path)) {
            rep->missing++;
            if (shown_m++ < SHOW)
                fprintf(log, "missing: image %lld: %s %s\n", (long long)idx, path, verify ? "is absent or damaged" : "is absent or empty");
            continue;
        }
        rep->present++;
        const char *file = f->e->file;
        if (file[0] != '/') {
            char dir_real[PATH_MAX];
            if (!realpath(f->dir, dir_real)) snprintf(dir_real, sizeof dir_real, "%s", f->dir);
            if (strcmp(dir_real, out_dir_real)) {
                snprintf(real, sizeof real, "%s/%s", dir_real, f->e->file);
                file = real;
            }
        }
        s = hart_manifest_add(&merged, idx, file, f->e->seed, f->e->prompt);
    }
    if (!s && (rep->missing || rep->duplicates || rep->conflicts))
        s = hart_fail(HART_EINVAL, "incomplete: %lld of %lld images present; %lld missing, %lld duplicate, %lld conflicting "
                      "(nothing written)", (long long)rep->present, (long long)rep->images, (long long)rep->missing,
                      (long long)rep->duplicates, (long long)rep->conflicts);
    if (!s) s = hart_manifest_write(out, &merged);
    for (int i = 0; i < merged.n; i++) { free(merged.entries[i].file); free(merged.entries[i].prompt); }
    free(merged.entries);
    for (int i = 0; i < n; i++) { hart_manifest_free(&ms[i]); free(paths[i]); }
    free(ms);
    free(paths);
    free(mdirs);
    free(all);
    free(want);
    return s;
}
