#include "pipeline/batch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline/batch_internal.h"
#include "pipeline/manifest.h"

void hart_batch_filename(const hart_batch_opts *o, const hart_prompt *p, int64_t index, int j,
                         char *buf, size_t n) {
    const char *ext = o->ext ? o->ext : "png";
    char stem[1100];
    if (o->layout == HART_LAYOUT_GENEVAL) {
        snprintf(buf, n, "%05d/samples/%04d.%s", p->index, j, ext);
        return;
    }
    if (p->name && o->per_prompt > 1) snprintf(stem, sizeof stem, "%s_%d", p->name, j);
    else if (p->name) snprintf(stem, sizeof stem, "%s", p->name);
    else snprintf(stem, sizeof stem, "%0*lld", o->digits > 0 ? o->digits : 5, (long long)index);
    if (o->layout == HART_LAYOUT_CATEGORY) snprintf(buf, n, "%s/%s.%s", p->category ? p->category : "", stem, ext);
    else snprintf(buf, n, "%s.%s", stem, ext);
}

void hart_batch_manifest_path(const hart_batch_opts *o, char *buf, size_t n) {
    if (o->n_shards > 1) snprintf(buf, n, "%s/manifest.%d-of-%d.jsonl", o->out_dir, o->shard, o->n_shards);
    else snprintf(buf, n, "%s/manifest.jsonl", o->out_dir);
}

typedef struct {
    batch_job *all;   /* every image of the job (all shards), index order */
    int64_t n_all;
    batch_job **mine; /* this shard's */
    int64_t n_mine;
    hart_manifest want; /* this run's header */
} job_set;

static void job_set_free(job_set *js) {
    for (int64_t i = 0; i < js->n_all; i++) { free(js->all[i].file); free(js->all[i].path); }
    free(js->all);
    free(js->mine);
    hart_manifest_free(&js->want);
}

static hart_status build_jobs(const hart_prompt_list *pl, const hart_batch_opts *o, job_set *js) {
    int per = o->per_prompt > 0 ? o->per_prompt : 1, nsh = o->n_shards > 0 ? o->n_shards : 1;
    memset(js, 0, sizeof *js);
    js->n_all = (int64_t)pl->n * per;
    js->all = calloc((size_t)(js->n_all ? js->n_all : 1), sizeof *js->all);
    js->mine = calloc((size_t)(js->n_all ? js->n_all : 1), sizeof *js->mine);
    int64_t *idx = malloc(sizeof *idx * (size_t)(js->n_all ? js->n_all : 1));
    if (!js->all || !js->mine || !idx) { free(idx); return hart_fail(HART_ENOMEM, "out of memory"); }
    uint64_t h = HART_FNV_INIT;
    char file[1200];
    int64_t k = 0, prev = -1;
    for (int i = 0; i < pl->n; i++) {
        const hart_prompt *p = &pl->items[i];
        if (o->layout == HART_LAYOUT_CATEGORY && !p->category) {
            free(idx);
            return hart_fail(HART_EINVAL, "prompt on line %d has no category (needed by the category layout)", p->line);
        }
        for (int j = 0; j < per; j++, k++) {
            int64_t index = (int64_t)p->index * per + j;
            if (index <= prev) { free(idx); return hart_fail(HART_EINVAL, "prompt indices must ascend (line %d)", p->line); }
            prev = index;
            batch_job *b = &js->all[k];
            b->p = p;
            b->copy = j;
            b->index = index;
            b->seed = p->has_seed ? p->seed + (uint64_t)j : o->seed + (uint64_t)index;
            hart_batch_filename(o, p, index, j, file, sizeof file);
            b->file = strdup(file);
            size_t pn = strlen(o->out_dir) + strlen(file) + 2;
            b->path = malloc(pn);
            js->n_all = k + 1; /* what job_set_free must free */
            if (!b->file || !b->path) { free(idx); return hart_fail(HART_ENOMEM, "out of memory"); }
            snprintf(b->path, pn, "%s/%s", o->out_dir, file);
            idx[k] = index;
            if (index % nsh == o->shard) js->mine[js->n_mine++] = b;
            /* the prompt set: what each image is (its own seed only when the prompt set gives it;
             * the base seed is an option) */
            char num[64];
            int len = snprintf(num, sizeof num, "%" PRId64 ":%d:%" PRIu64 ";", index, p->has_seed, p->has_seed ? b->seed : 0);
            h = hart_fnv1a(h, num, (size_t)len);
            h = hart_fnv1a(h, file, strlen(file) + 1);
            h = hart_fnv1a(h, p->prompt, strlen(p->prompt) + 1);
        }
    }
    js->n_all = k;
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, h);
    js->want.prompts_hash = strdup(hex);
    js->want.indices = hart_ranges_format(idx, k);
    free(idx);
    js->want.has_header = 1;
    js->want.images = k;
    js->want.shard = o->shard;
    js->want.n_shards = nsh;
    if (!js->want.prompts_hash || !js->want.indices) return hart_fail(HART_ENOMEM, "out of memory");
    return hart_manifest_set_options(&js->want, o->options);
}

static int by_index(const void *a, const void *b) {
    const hart_manifest_entry *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The entry of the old manifest for `index`, or NULL (entries sorted). */
static const hart_manifest_entry *old_entry(const hart_manifest *m, int64_t index) {
    hart_manifest_entry key = {index, NULL, 0, NULL};
    return m->n ? bsearch(&key, m->entries, (size_t)m->n, sizeof key, by_index) : NULL;
}

/* Steps 1-3 of batch.h: returns the manifest to start from (header = this
 * run's, entries = the verified images) and which of `mine` are done. */
static hart_status prepare(const hart_batch_opts *o, job_set *js, const char *manifest_path, const char *manifest_name,
                           unsigned char *done, hart_batch_stats *st) {
    hart_manifest have;
    int exists;
    HART_TRY(hart_manifest_read(manifest_path, &have, &exists));
    hart_status s = HART_OK;
    if ((have.torn || have.dropped) && !o->quiet)
        fprintf(stderr, "hart batch: %s: dropped %d damaged line%s%s (repaired)\n", manifest_path,
                have.dropped + have.torn, have.dropped + have.torn == 1 ? "" : "s", have.torn ? " (a torn last line)" : "");
    st->cleaned = batch_clean_temporaries(o->out_dir, manifest_name, js->mine, js->n_mine);
    if (st->cleaned && !o->quiet)
        fprintf(stderr, "hart batch: removed %d temporary file%s of an interrupted run\n", st->cleaned,
                st->cleaned == 1 ? "" : "s");
    unsigned char *check = calloc((size_t)(js->n_mine ? js->n_mine : 1), 1);
    char **why = calloc((size_t)(js->n_mine ? js->n_mine : 1), sizeof *why);
    if (!check || !why) { s = hart_fail(HART_ENOMEM, "out of memory"); goto out; }
    int64_t present = 0;
    for (int64_t i = 0; i < js->n_mine; i++) present += check[i] = (unsigned char)batch_exists(js->mine[i]->path);
    /* the header decides whether the files there belong to this job */
    char *diff = exists && have.has_header ? hart_manifest_header_diff(&have, &js->want) : NULL;
    if (diff || (exists && !have.has_header && (have.n || present)) || (!exists && present)) {
        char why_text[256];
        if (!diff)
            snprintf(why_text, sizeof why_text, "%lld image%s there but %s", (long long)present, present == 1 ? " is" : "s are",
                     exists ? "the manifest has no header (an older hart, or damaged)"
                            : "no manifest; the shards of a job are joined by `hart batch --merge DIR`");
        if (!o->force) {
            s = hart_fail(HART_EINVAL,
                          "%s: this folder holds another job's images (%s); use another -o folder, or --force to keep the "
                          "images whose manifest entry still matches and render the rest with these settings",
                          manifest_path, diff ? diff : why_text);
            free(diff);
            goto out;
        }
        if (!o->quiet) fprintf(stderr, "hart batch: --force: %s: %s\n", manifest_path, diff ? diff : why_text);
        free(diff);
    }
    hart_manifest_sort(&have);
    batch_verify(js->mine, js->n_mine, check, done, why);
    for (int64_t i = 0; i < js->n_mine; i++) {
        const batch_job *b = js->mine[i];
        const hart_manifest_entry *e = old_entry(&have, b->index);
        int stale = done[i] && e && (strcmp(e->file, b->file) || e->seed != b->seed || strcmp(e->prompt, b->p->prompt));
        if (check[i] && (!done[i] || stale)) {
            st->damaged++;
            if (!o->quiet)
                fprintf(stderr, "hart batch: %s: %s; rendering it again\n", b->path,
                        stale ? "its manifest entry names another prompt, seed or file" : why[i] ? why[i] : "unreadable");
            done[i] = 0;
            if (unlink(b->path) != 0 && errno != ENOENT) {
                s = hart_fail(HART_EIO, "%s: cannot remove the damaged file: %s", b->path, strerror(errno));
                goto out;
            }
        }
    }
    /* the manifest to start from: this run's header and the verified images */
    for (int64_t i = 0; i < js->n_mine && !s; i++)
        if (done[i]) s = hart_manifest_add(&js->want, js->mine[i]->index, js->mine[i]->file, js->mine[i]->seed,
                                           js->mine[i]->p->prompt);
    if (!s) s = hart_manifest_write(manifest_path, &js->want);
out:
    for (int64_t i = 0; why && i < js->n_mine; i++) free(why[i]);
    free(why);
    free(check);
    hart_manifest_free(&have);
    return s;
}

/* Step 5: the manifest sorted by index, each image once. */
static hart_status finalize(const char *manifest_path) {
    hart_manifest m;
    int exists;
    HART_TRY(hart_manifest_read(manifest_path, &m, &exists));
    hart_manifest_sort(&m);
    int k = 0;
    for (int i = 0; i < m.n; i++) {
        if (k && m.entries[k - 1].index == m.entries[i].index) {
            free(m.entries[i].file);
            free(m.entries[i].prompt);
            continue;
        }
        m.entries[k++] = m.entries[i];
    }
    m.n = k;
    hart_status s = hart_manifest_write(manifest_path, &m);
    hart_manifest_free(&m);
    return s;
}

hart_status hart_batch_run(const hart_prompt_list *prompts, const hart_batch_opts *o, const hart_batch_renderer *r,
                           hart_batch_stats *stats) {
    hart_batch_stats st = {0};
    if (stats) *stats = st;
    int nsh = o->n_shards > 0 ? o->n_shards : 1;
    int K = o->batch_size > 0 ? o->batch_size : 1;
    if (o->shard < 0 || o->shard >= nsh) return hart_fail(HART_EINVAL, "--shard %d is not in 0..%d", o->shard, nsh - 1);
    if (mkdir(o->out_dir, 0777) != 0 && errno != EEXIST)
        return hart_fail(HART_EIO, "%s: cannot create output folder: %s", o->out_dir, strerror(errno));
    if (access(o->out_dir, W_OK) != 0)
        return hart_fail(HART_EIO, "%s: output folder is not writable", o->out_dir);
    char manifest_path[4096], lock_path[4200];
    hart_batch_manifest_path(o, manifest_path, sizeof manifest_path);
    const char *manifest_name = strrchr(manifest_path, '/') + 1;
    snprintf(lock_path, sizeof lock_path, "%s.lock", manifest_path);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lock < 0) return hart_fail(HART_EIO, "%s: cannot create the run lock: %s", lock_path, strerror(errno));
    if (flock(lock, LOCK_EX | LOCK_NB) != 0) {
        close(lock);
        return hart_fail(HART_EIO, "%s: another hart batch is running on this folder%s (lock %s)", o->out_dir,
                         nsh > 1 ? " and shard" : "", lock_path);
    }
    job_set js;
    hart_status s = build_jobs(prompts, o, &js);
    unsigned char *done = s ? NULL : calloc((size_t)(js.n_mine ? js.n_mine : 1), 1);
    batch_job **todo = s ? NULL : calloc((size_t)(js.n_mine ? js.n_mine : 1), sizeof *todo);
    if (!s && (!done || !todo)) s = hart_fail(HART_ENOMEM, "out of memory");
    if (!s) s = prepare(o, &js, manifest_path, manifest_name, done, &st);
    /* folders and GenEval metadata once the folder is known to be this job's */
    if (!s) s = batch_make_dirs(o->out_dir, js.mine, js.n_mine);
    if (!s && o->layout == HART_LAYOUT_GENEVAL) s = batch_write_geneval_metadata(o->out_dir, js.mine, js.n_mine);
    int64_t n_todo = 0, rendered = 0;
    for (int64_t i = 0; !s && i < js.n_mine; i++) {
        if (done[i]) st.skipped++;
        else todo[n_todo++] = js.mine[i];
    }
    st.total = (int)js.n_mine;
    if (!s && n_todo) {
        s = batch_render_all(o, r, todo, n_todo, K, manifest_path, &rendered);
        st.rendered = (int)rendered;
        hart_status f = finalize(manifest_path);
        if (!s) s = f;
    }
    free(done);
    free(todo);
    job_set_free(&js);
    flock(lock, LOCK_UN);
    close(lock);
    if (stats) *stats = st;
    return s;
}
