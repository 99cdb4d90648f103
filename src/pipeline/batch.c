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

hart_status hart_batch_run(const hart_prompt_list *prompts, const hart_batch_opts *o,
                           hart_render_fn render, void *ctx, hart_batch_stats *stats) {
    hart_batch_stats st = {0};
    int per = o->per_prompt > 0 ? o->per_prompt : 1;
    int nsh = o->n_shards > 0 ? o->n_shards : 1;
    if (o->shard < 0 || o->shard >= nsh) return hart_fail(HART_EINVAL, "--shard %d is not in 0..%d", o->shard, nsh - 1);
    if (mkdir(o->out_dir, 0777) != 0 && errno != EEXIST)
        return hart_fail(HART_EIO, "%s: cannot create output folder: %s", o->out_dir, strerror(errno));
    if (access(o->out_dir, W_OK) != 0)
        return hart_fail(HART_EIO, "%s: output folder is not writable", o->out_dir);
    char manifest_path[4096], file[1024], path[8192];
    if (nsh > 1) snprintf(manifest_path, sizeof manifest_path, "%s/manifest.%d-of-%d.jsonl", o->out_dir, o->shard, nsh);
    else snprintf(manifest_path, sizeof manifest_path, "%s/manifest.jsonl", o->out_dir);
    char *manifest = load_manifest_names(manifest_path);
    hart_status s = HART_OK;
    for (int i = 0; i < prompts->n && !s; i++) {
        const hart_prompt *p = &prompts->items[i];
        for (int j = 0; j < per && !s; j++) {
            int64_t index = (int64_t)i * per + j;
            if (index % nsh != o->shard) continue;
            st.total++;
            uint64_t seed = (p->has_seed ? p->seed : o->seed + (uint64_t)index) + (p->has_seed ? (uint64_t)j : 0);
            hart_batch_filename(o, p, index, j, file, sizeof file);
            snprintf(path, sizeof path, "%s/%s", o->out_dir, file);
            if (exists(path)) {
                st.skipped++;
                if (!manifest_has(manifest, file)) s = manifest_append(manifest_path, index, file, seed, p->prompt);
                continue;
            }
            s = render(ctx, p->prompt, seed, index, path);
            if (s) { hart_fail_ctx(s, "image %lld (prompt on line %d)", (long long)index, p->line); break; }
            if (!manifest_has(manifest, file)) s = manifest_append(manifest_path, index, file, seed, p->prompt);
            st.rendered++;
        }
    }
    free(manifest);
    if (stats) *stats = st;
    return s;
}
