#include "pipeline/batch.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"

void hart_batch_filename(const hart_batch_opts *o, const hart_prompt *p, int64_t index, int j,
                         char *buf, size_t n) {
    const char *ext = o->ext ? o->ext : "png";
    if (p->name && o->per_prompt > 1) snprintf(buf, n, "%s_%d.%s", p->name, j, ext);
    else if (p->name) snprintf(buf, n, "%s.%s", p->name, ext);
    else snprintf(buf, n, "%0*lld.%s", o->digits > 0 ? o->digits : 5, (long long)index, ext);
}

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
}

/* File names already listed in the manifest (one malloc'd string, lines). */
static char *load_manifest_names(const char *path) {
    char *text;
    size_t n;
    if (hart_file_read_all(path, &text, &n) != HART_OK) { hart_clear_error(); return NULL; }
    return text;
}

static int manifest_has(const char *manifest, const char *file) {
    if (!manifest) return 0;
    char needle[1100];
    snprintf(needle, sizeof needle, "\"file\":\"%s\"", file);
    return strstr(manifest, needle) != NULL;
}

static hart_status manifest_append(const char *path, int64_t index, const char *file, uint64_t seed,
                                   const char *prompt) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", (double)index);
    cJSON_AddStringToObject(o, "file", file);
    char seed_text[32]; /* as an exact integer: a double would round seeds above 2^53 */
    snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
    cJSON_AddRawToObject(o, "seed", seed_text);
    cJSON_AddStringToObject(o, "prompt", prompt);
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line) return hart_fail(HART_ENOMEM, "out of memory");
    FILE *f = fopen(path, "a");
    hart_status s = HART_OK;
    if (!f) s = hart_fail(HART_EIO, "%s: cannot append: %s", path, strerror(errno));
    else {
        if (fprintf(f, "%s\n", line) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0)
            s = hart_fail(HART_EIO, "%s: write failed: %s", path, strerror(errno));
        fclose(f);
    }
    free(line);
    return s;
}

/* Render the pending group; record every file it wrote (even on failure:
 * each was written atomically, so it is complete). */
static hart_status flush(const hart_batch_item *items, int n, hart_render_fn render, void *ctx,
                         const char *manifest_path, const char *manifest, const char *const *files,
                         hart_batch_stats *st) {
    if (!n) return HART_OK;
    hart_status s = render(ctx, items, n);
    hart_status m = HART_OK;
    for (int i = 0; i < n && !m; i++) {
        if (!exists(items[i].path)) continue;
        if (!manifest_has(manifest, files[i]))
            m = manifest_append(manifest_path, items[i].index, files[i], items[i].seed, items[i].prompt);
        st->rendered++;
    }
    if (s) {
        if (n == 1)
            return hart_fail_ctx(s, "image %lld (prompt on line %d)", (long long)items[0].index, items[0].line);
        return hart_fail_ctx(s, "images %lld..%lld (one batch, prompts on lines %d..%d)", (long long)items[0].index,
                             (long long)items[n - 1].index, items[0].line, items[n - 1].line);
    }
    return m;
}

hart_status hart_batch_run(const hart_prompt_list *prompts, const hart_batch_opts *o,
                           hart_render_fn render, void *ctx, hart_batch_stats *stats) {
    hart_batch_stats st = {0};
    int per = o->per_prompt > 0 ? o->per_prompt : 1;
    int nsh = o->n_shards > 0 ? o->n_shards : 1;
    int K = o->batch_size > 0 ? o->batch_size : 1;
    if (o->shard < 0 || o->shard >= nsh) return hart_fail(HART_EINVAL, "--shard %d is not in 0..%d", o->shard, nsh - 1);
    if (mkdir(o->out_dir, 0777) != 0 && errno != EEXIST)
        return hart_fail(HART_EIO, "%s: cannot create output folder: %s", o->out_dir, strerror(errno));
    if (access(o->out_dir, W_OK) != 0)
        return hart_fail(HART_EIO, "%s: output folder is not writable", o->out_dir);
    enum { FILE_MAX = 1024, PATH_LEN = 8192 };
    char manifest_path[4096];
    if (nsh > 1) snprintf(manifest_path, sizeof manifest_path, "%s/manifest.%d-of-%d.jsonl", o->out_dir, o->shard, nsh);
    else snprintf(manifest_path, sizeof manifest_path, "%s/manifest.jsonl", o->out_dir);
    hart_batch_item *items = calloc((size_t)K, sizeof *items);
    char *names = malloc((size_t)K * FILE_MAX), *paths = malloc((size_t)K * PATH_LEN);
    const char **files = calloc((size_t)K, sizeof *files);
    if (!items || !names || !paths || !files) {
        free(items); free(names); free(paths); free(files);
        return hart_fail(HART_ENOMEM, "batch of %d", K);
    }
    char *manifest = load_manifest_names(manifest_path);
    hart_status s = HART_OK;
    int pending = 0;
    for (int i = 0; i < prompts->n && !s; i++) {
        const hart_prompt *p = &prompts->items[i];
        for (int j = 0; j < per && !s; j++) {
            int64_t index = (int64_t)i * per + j;
            if (index % nsh != o->shard) continue;
            st.total++;
            uint64_t seed = (p->has_seed ? p->seed : o->seed + (uint64_t)index) + (p->has_seed ? (uint64_t)j : 0);
            char *file = names + (size_t)pending * FILE_MAX, *path = paths + (size_t)pending * PATH_LEN;
            hart_batch_filename(o, p, index, j, file, FILE_MAX);
            snprintf(path, PATH_LEN, "%s/%s", o->out_dir, file);
            if (exists(path)) {
                st.skipped++;
                if (!manifest_has(manifest, file)) s = manifest_append(manifest_path, index, file, seed, p->prompt);
                continue;
            }
            items[pending] = (hart_batch_item){p->prompt, seed, index, path, p->line};
            files[pending] = file;
            if (++pending == K) {
                s = flush(items, pending, render, ctx, manifest_path, manifest, files, &st);
                pending = 0;
            }
        }
    }
    if (!s) s = flush(items, pending, render, ctx, manifest_path, manifest, files, &st);
    free(manifest);
    free(items);
    free(names);
    free(paths);
    free(files);
    if (stats) *stats = st;
    return s;
}
