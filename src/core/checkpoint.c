#include "core/checkpoint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fileio.h"

static int file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

hart_status hart_json_load(const char *path, cJSON **out) {
    char *text;
    size_t n;
    HART_TRY(hart_file_read_all(path, &text, &n));
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!j) {
        size_t at = end ? (size_t)(end - text) : 0;
        free(text);
        return hart_fail(HART_EFORMAT, "%s: invalid JSON near byte %zu", path, at);
    }
    free(text);
    *out = j;
    return HART_OK;
}

static hart_status add_file(hart_checkpoint *ck, const char *path) {
    for (int i = 0; i < ck->n_files; i++)
        if (!strcmp(ck->files[i].path, path)) return HART_OK;
    hart_safetensors *f = realloc(ck->files, sizeof *f * (size_t)(ck->n_files + 1));
    if (!f) return hart_fail(HART_ENOMEM, "out of memory");
    ck->files = f;
    HART_TRY(hart_st_open(path, &ck->files[ck->n_files]));
    ck->n_files++;
    return HART_OK;
}

static hart_status open_index(hart_checkpoint *ck, const char *index_path) {
    cJSON *idx;
    HART_TRY(hart_json_load(index_path, &idx));
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(idx, "weight_map");
    hart_status s = HART_OK;
    if (!cJSON_IsObject(map)) s = hart_fail(HART_EFORMAT, "%s: no \"weight_map\" object", index_path);
    for (const cJSON *it = map ? map->child : NULL; it && !s; it = it->next) {
        if (!cJSON_IsString(it) || strchr(it->valuestring, '/')) {
            s = hart_fail(HART_EFORMAT, "%s: bad shard name for tensor '%s'", index_path, it->string);
            break;
        }
        size_t n = strlen(ck->dir) + strlen(it->valuestring) + 2;
        char *p = malloc(n);
        if (!p) { s = hart_fail(HART_ENOMEM, "out of memory"); break; }
        snprintf(p, n, "%s/%s", ck->dir, it->valuestring);
        s = add_file(ck, p);
        if (s) s = hart_fail_ctx(s, "%s lists shard '%s' (for tensor '%s')", index_path, it->valuestring, it->string);
        free(p);
    }
    /* every tensor the index names must be in its shard */
    for (const cJSON *it = map ? map->child : NULL; it && !s; it = it->next)
        if (!hart_ckpt_has(ck, it->string))
            s = hart_fail(HART_EFORMAT, "%s: tensor '%s' is listed for shard %s but not stored there",
                          index_path, it->string, it->valuestring);
    cJSON_Delete(idx);
    return s;
}

hart_status hart_ckpt_open(const char *dir, const char *config_name, const char *weights_name,
                           hart_checkpoint *ck) {
    memset(ck, 0, sizeof *ck);
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return hart_fail(HART_EIO, "%s: not a model folder (does not exist or is not a directory)", dir);
    ck->dir = strdup(dir);
    if (!ck->dir) return hart_fail(HART_ENOMEM, "out of memory");
    char path[4096];
    hart_status s = HART_OK;
    if (config_name) {
        snprintf(path, sizeof path, "%s/%s", dir, config_name);
        if (!file_exists(path)) s = hart_fail(HART_EIO, "%s: missing %s", dir, config_name);
        else s = hart_json_load(path, &ck->config);
        if (!s && !cJSON_IsObject(ck->config))
            s = hart_fail(HART_EFORMAT, "%s: not a JSON object", path);
    }
    if (!s) {
        snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
        if (!weights_name && file_exists(path)) s = open_index(ck, path);
        else {
            const char *cands[] = {weights_name, "model.safetensors", "diffusion_pytorch_model.safetensors"};
            int found = 0;
            for (int i = weights_name ? 0 : 1; i < (weights_name ? 1 : 3) && !found; i++) {
                snprintf(path, sizeof path, "%s/%s", dir, cands[i]);
                if (file_exists(path)) { found = 1; s = add_file(ck, path); }
            }
            if (!found)
                s = hart_fail(HART_EIO, "%s: no weights (%s)", dir,
                              weights_name ? weights_name
                                           : "model.safetensors, model.safetensors.index.json or "
                                             "diffusion_pytorch_model.safetensors");
        }
    }
    if (s) hart_ckpt_close(ck);
    return s;
}

void hart_ckpt_release(const hart_checkpoint *ck, const hart_tensor *view) {
    if (!ck || !view || !view->data) return;
    for (int i = 0; i < ck->n_files; i++) hart_st_release(&ck->files[i], view->data, hart_tensor_nbytes(view));
}

void hart_ckpt_close(hart_checkpoint *ck) {
    if (!ck) return;
    for (int i = 0; i < ck->n_files; i++) hart_st_close(&ck->files[i]);
    free(ck->files);
    cJSON_Delete(ck->config);
    free(ck->dir);
    memset(ck, 0, sizeof *ck);
}

static const hart_safetensors *find_file(const hart_checkpoint *ck, const char *name) {
    for (int i = 0; i < ck->n_files; i++)
        if (hart_st_find(&ck->files[i], name)) return &ck->files[i];
    return NULL;
}

int hart_ckpt_has(const hart_checkpoint *ck, const char *name) { return find_file(ck, name) != NULL; }

hart_status hart_ckpt_get(const hart_checkpoint *ck, const char *name, int ndim,
                          const int64_t *shape, hart_tensor *out) {
    const hart_safetensors *f = find_file(ck, name);
    if (!f) return hart_fail(HART_EMISMATCH, "%s: tensor '%s' is missing from the checkpoint", ck->dir, name);
    HART_TRY(hart_st_tensor(f, name, out));
    if (ndim > 0) {
        hart_tensor want = hart_tensor_wrap(NULL, out->dtype, ndim, shape);
        if (!hart_tensor_same_shape(out, &want)) {
            char a[96], b[96];
            return hart_fail(HART_EMISMATCH, "%s: tensor '%s' has shape %s but the config implies %s",
                             f->path, name, hart_shape_str(out, a, sizeof a), hart_shape_str(&want, b, sizeof b));
        }
    }
    return HART_OK;
}

hart_status hart_ckpt_getf(const hart_checkpoint *ck, hart_tensor *out, int ndim,
                           const int64_t *shape, const char *fmt, ...) {
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return hart_ckpt_get(ck, name, ndim, shape, out);
}

static const cJSON *cfg_item(const cJSON *cfg, const char *key) {
    const cJSON *it = cfg ? cJSON_GetObjectItemCaseSensitive(cfg, key) : NULL;
    return (it && !cJSON_IsNull(it)) ? it : NULL;
}

hart_status hart_cfg_num_or(const cJSON *cfg, const char *key, double dflt, double *out) {
    const cJSON *it = cfg_item(cfg, key);
    if (!it) { *out = dflt; return HART_OK; }
    if (cJSON_IsString(it)) { /* some configs store numbers as strings, e.g. "8" */
        char *end;
        double v = strtod(it->valuestring, &end);
        if (end == it->valuestring || *end) return hart_fail(HART_EFORMAT, "config key '%s': '%s' is not a number", key, it->valuestring);
        *out = v;
        return HART_OK;
    }
    if (cJSON_IsBool(it)) { *out = cJSON_IsTrue(it); return HART_OK; }
    if (!cJSON_IsNumber(it)) return hart_fail(HART_EFORMAT, "config key '%s' is not a number", key);
    *out = it->valuedouble;
    return HART_OK;
}

hart_status hart_cfg_num(const cJSON *cfg, const char *key, double *out) {
    if (!cfg_item(cfg, key)) return hart_fail(HART_EFORMAT, "config key '%s' is missing", key);
    return hart_cfg_num_or(cfg, key, 0, out);
}

hart_status hart_cfg_int_or(const cJSON *cfg, const char *key, int64_t dflt, int64_t *out) {
    double v;
    HART_TRY(hart_cfg_num_or(cfg, key, (double)dflt, &v));
    if (!(v >= -9.0e18 && v <= 9.0e18) || v != (double)(int64_t)v) return hart_fail(HART_EFORMAT, "config key '%s' = %g is not an integer", key, v);
    *out = (int64_t)v;
    return HART_OK;
}

hart_status hart_cfg_int(const cJSON *cfg, const char *key, int64_t *out) {
    if (!cfg_item(cfg, key)) return hart_fail(HART_EFORMAT, "config key '%s' is missing", key);
    return hart_cfg_int_or(cfg, key, 0, out);
}

hart_status hart_cfg_bool_or(const cJSON *cfg, const char *key, int dflt, int *out) {
    const cJSON *it = cfg_item(cfg, key);
    if (!it) { *out = dflt; return HART_OK; }
    if (cJSON_IsBool(it)) { *out = cJSON_IsTrue(it); return HART_OK; }
    if (cJSON_IsNumber(it) && (it->valuedouble == 0 || it->valuedouble == 1)) { *out = it->valuedouble != 0; return HART_OK; }
    return hart_fail(HART_EFORMAT, "config key '%s' is not a boolean", key);
}

hart_status hart_cfg_str_or(const cJSON *cfg, const char *key, const char *dflt, const char **out) {
    const cJSON *it = cfg_item(cfg, key);
    if (!it) { *out = dflt; return HART_OK; }
    if (!cJSON_IsString(it)) return hart_fail(HART_EFORMAT, "config key '%s' is not a string", key);
    *out = it->valuestring;
    return HART_OK;
}

hart_status hart_cfg_int_array(const cJSON *cfg, const char *key, int64_t *out, int max, int *n) {
    const cJSON *it = cfg_item(cfg, key);
    if (!it || !cJSON_IsArray(it)) return hart_fail(HART_EFORMAT, "config key '%s' is missing or not an array", key);
    int c = cJSON_GetArraySize(it);
    if (c > max) return hart_fail(HART_EFORMAT, "config key '%s' has %d entries (max %d)", key, c, max);
    for (int i = 0; i < c; i++) {
        const cJSON *e = cJSON_GetArrayItem(it, i);
        if (!cJSON_IsNumber(e) || !(e->valuedouble >= -9.0e18 && e->valuedouble <= 9.0e18) ||
            e->valuedouble != (double)(int64_t)e->valuedouble)
            return hart_fail(HART_EFORMAT, "config key '%s'[%d] is not an integer", key, i);
        out[i] = (int64_t)e->valuedouble;
    }
    *n = c;
    return HART_OK;
}
