#include "pipeline/manifest.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/fileio.h"

#define MAX_EXACT 9007199254740992.0 /* 2^53: integers above are not exact in a double */

void hart_manifest_free(hart_manifest *m) {
    free(m->prompts_hash);
    free(m->indices);
    for (int i = 0; i < m->n_opts; i++) { free(m->opt_keys[i]); free(m->opt_vals[i]); }
    free(m->opt_keys);
    free(m->opt_vals);
    for (int i = 0; i < m->n; i++) { free(m->entries[i].file); free(m->entries[i].prompt); }
    free(m->entries);
    memset(m, 0, sizeof *m);
}

hart_status hart_manifest_add(hart_manifest *m, int64_t index, const char *file, uint64_t seed, const char *prompt) {
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 64;
        hart_manifest_entry *e = realloc(m->entries, sizeof *e * (size_t)cap);
        if (!e) return hart_fail(HART_ENOMEM, "out of memory");
        m->entries = e;
        m->cap = cap;
    }
    hart_manifest_entry *e = &m->entries[m->n];
    e->index = index;
    e->seed = seed;
    e->file = strdup(file);
    e->prompt = strdup(prompt);
    if (!e->file || !e->prompt) { free(e->file); free(e->prompt); return hart_fail(HART_ENOMEM, "out of memory"); }
    m->n++;
    return HART_OK;
}

hart_status hart_manifest_set_options(hart_manifest *m, const char *const *kv) {
    int n = 0;
    while (kv && kv[2 * n] && kv[2 * n + 1]) n++;
    char **k = calloc((size_t)n + 1, sizeof *k), **v = calloc((size_t)n + 1, sizeof *v);
    hart_status s = k && v ? HART_OK : hart_fail(HART_ENOMEM, "out of memory");
    for (int i = 0; !s && i < n; i++)
        if (!(k[i] = strdup(kv[2 * i])) || !(v[i] = strdup(kv[2 * i + 1]))) s = hart_fail(HART_ENOMEM, "out of memory");
    for (int i = 0; i < m->n_opts; i++) { free(m->opt_keys[i]); free(m->opt_vals[i]); }
    free(m->opt_keys);
    free(m->opt_vals);
    m->opt_keys = k;
    m->opt_vals = v;
    m->n_opts = s ? 0 : n;
    if (s) for (int i = 0; k && v && i < n; i++) { free(k[i]); free(v[i]); }
    return s;
}

static int by_index(const void *a, const void *b) {
    const hart_manifest_entry *x = a, *y = b;
    if (x->index != y->index) return x->index < y->index ? -1 : 1;
    return x < y ? -1 : x > y; /* qsort is not stable: fall back to the original order */
}

void hart_manifest_sort(hart_manifest *m) {
    if (m->n > 1) qsort(m->entries, (size_t)m->n, sizeof *m->entries, by_index);
}

/* A file name relative to the output folder (no "..", "." or empty parts),
 * or an absolute one (merged manifests name files in other folders so). */
static int rel_path_ok(const char *s) {
    if (*s == '/') s++;
    if (!*s) return 0;
    for (const char *p = s; *p; p++)
        if (*p == '\\' || (unsigned char)*p < 0x20) return 0;
    for (const char *p = s; p;) {
        const char *q = strchr(p, '/');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (len == 0 || (len == 2 && p[0] == '.' && p[1] == '.') || (len == 1 && p[0] == '.')) return 0;
        p = q ? q + 1 : NULL;
    }
    return 1;
}

/* The exact digits of the top-level "seed" (a double rounds above 2^53). */
static int exact_seed(const char *line, const cJSON *sd, uint64_t *seed) {
    double d = sd->valuedouble;
    if (!cJSON_IsNumber(sd) || !(d >= 0) || d > 18446744073709551616.0) return 0; /* 2^64 - 1 reads as 2^64 */
    if (d < MAX_EXACT) {
        if (d != (double)(uint64_t)d) return 0;
        *seed = (uint64_t)d;
        return 1;
    }
    /* "seed" cannot occur unescaped inside a JSON string, and entries have no nested objects */
    const char *p = strstr(line, "\"seed\"");
    if (!p) return 0;
    for (p += 6; *p == ' ' || *p == '\t' || *p == ':'; p++) {}
    if (*p < '0' || *p > '9') return 0;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno || (double)v != d) return 0;
    *seed = v;
    return 1;
}

static int parse_entry(const char *line, hart_manifest *m, hart_status *err) {
    cJSON *j = cJSON_Parse(line);
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(j, "index"), *f = cJSON_GetObjectItemCaseSensitive(j, "file"),
                *sd = cJSON_GetObjectItemCaseSensitive(j, "seed"), *p = cJSON_GetObjectItemCaseSensitive(j, "prompt");
    uint64_t seed = 0;
    int ok = cJSON_IsObject(j) && cJSON_IsNumber(ix) && ix->valuedouble >= 0 && ix->valuedouble < MAX_EXACT &&
             ix->valuedouble == (double)(int64_t)ix->valuedouble && cJSON_IsString(f) && rel_path_ok(f->valuestring) &&
             cJSON_IsNumber(sd) && exact_seed(line, sd, &seed) && cJSON_IsString(p);
    for (const cJSON *c = j ? j->child : NULL; ok && c; c = c->next) ok = !cJSON_IsObject(c) && !cJSON_IsArray(c);
    if (ok) *err = hart_manifest_add(m, (int64_t)ix->valuedouble, f->valuestring, seed, p->valuestring);
    cJSON_Delete(j);
    return ok;
}

static int shard_parse(const char *s, int *i, int *n) {
    char *e1, *e2;
    if (*s < '0' || *s > '9') return 0;
    long a = strtol(s, &e1, 10);
    if (*e1 != '/' || e1[1] < '0' || e1[1] > '9') return 0;
    long b = strtol(e1 + 1, &e2, 10);
    if (*e2 || b < 1 || b > 1000000 || a < 0 || a >= b) return 0;
    *i = (int)a;
    *n = (int)b;
    return 1;
}

static hart_status parse_header(const char *label, const cJSON *j, hart_manifest *m) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "hart_manifest"),
                *ph = cJSON_GetObjectItemCaseSensitive(j, "prompts"), *im = cJSON_GetObjectItemCaseSensitive(j, "images"),
                *ix = cJSON_GetObjectItemCaseSensitive(j, "indices"), *sh = cJSON_GetObjectItemCaseSensitive(j, "shard"),
                *op = cJSON_GetObjectItemCaseSensitive(j, "options");
    if (!cJSON_IsNumber(v) || v->valuedouble != 1)
        return hart_fail(HART_EFORMAT, "%s: manifest version %s is not supported (this hart reads version 1)", label,
                         cJSON_IsNumber(v) ? "other than 1" : "missing");
    if (!cJSON_IsString(ph) || !cJSON_IsNumber(im) || im->valuedouble < 0 || im->valuedouble >= MAX_EXACT ||
        im->valuedouble != (double)(int64_t)im->valuedouble || !cJSON_IsString(ix) || !cJSON_IsString(sh) ||
        !shard_parse(sh->valuestring, &m->shard, &m->n_shards) || !cJSON_IsObject(op))
        return hart_fail(HART_EFORMAT, "%s:1: damaged manifest header (prompts, images, indices, shard, options)", label);
    int n = 0;
    for (const cJSON *c = op->child; c; c = c->next) {
        if (!cJSON_IsString(c) || !c->string)
            return hart_fail(HART_EFORMAT, "%s:1: manifest header option values must be strings", label);
        n++;
    }
    const char **kv = calloc((size_t)(2 * n + 2), sizeof *kv);
    if (!kv) return hart_fail(HART_ENOMEM, "out of memory");
    int k = 0;
    for (const cJSON *c = op->child; c; c = c->next) { kv[k++] = c->string; kv[k++] = c->valuestring; }
    hart_status s = hart_manifest_set_options(m, kv);
    free(kv);
    HART_TRY(s);
    m->images = (int64_t)im->valuedouble;
    m->prompts_hash = strdup(ph->valuestring);
    m->indices = strdup(ix->valuestring);
    if (!m->prompts_hash || !m->indices) return hart_fail(HART_ENOMEM, "out of memory");
    m->has_header = 1;
    return HART_OK;
}

hart_status hart_manifest_parse(const char *label, const char *text, size_t size, hart_manifest *m) {
    memset(m, 0, sizeof *m);
    m->shard = 0;
    m->n_shards = 1;
    hart_status s = HART_OK;
    int first = 1;
    char *buf = NULL;
    size_t cap = 0;
    for (size_t pos = 0; pos < size && !s;) {
        const char *nl = memchr(text + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (text + pos)) : size - pos;
        int complete = nl != NULL;
        const char *line = text + pos;
        pos += len + (nl ? 1 : 0);
        if (len == 0) continue;
        if (!complete) { m->torn = 1; break; } /* a write cut short: always the last line */
        if (len + 1 > cap) {
            char *nb = realloc(buf, len + 1);
            if (!nb) { s = hart_fail(HART_ENOMEM, "out of memory"); break; }
            buf = nb;
            cap = len + 1;
        }
        memcpy(buf, line, len);
        buf[len] = 0;
        if (strlen(buf) != len) { m->dropped++; first = 0; continue; } /* a NUL byte */
        if (first) {
            first = 0;
            cJSON *j = cJSON_Parse(buf);
            if (cJSON_IsObject(j) && cJSON_GetObjectItemCaseSensitive(j, "hart_manifest")) {
                s = parse_header(label, j, m);
                cJSON_Delete(j);
                continue;
            }
            cJSON_Delete(j);
        }
        hart_status e = HART_OK;
        if (!parse_entry(buf, m, &e)) m->dropped++;
        if (e) s = e;
    }
    free(buf);
    if (s) hart_manifest_free(m);
    return s;
}

hart_status hart_manifest_read(const char *path, hart_manifest *m, int *exists) {
    memset(m, 0, sizeof *m);
    m->n_shards = 1;
    *exists = 0;
    if (access(path, F_OK) != 0) return HART_OK;
    *exists = 1;
    char *text;
    size_t n;
    HART_TRY(hart_file_read_all(path, &text, &n));
    hart_status s = hart_manifest_parse(path, text, n, m);
    free(text);
    return s;
}

char *hart_manifest_header_line(const hart_manifest *m) {
    cJSON *o = cJSON_CreateObject(), *op = cJSON_CreateObject();
    char shard[32];
    snprintf(shard, sizeof shard, "%d/%d", m->shard, m->n_shards > 0 ? m->n_shards : 1);
    cJSON_AddNumberToObject(o, "hart_manifest", 1);
    cJSON_AddStringToObject(o, "prompts", m->prompts_hash ? m->prompts_hash : "");
    cJSON_AddNumberToObject(o, "images", (double)m->images);
    cJSON_AddStringToObject(o, "indices", m->indices ? m->indices : "");
    cJSON_AddStringToObject(o, "shard", shard);
    for (int i = 0; i < m->n_opts; i++) cJSON_AddStringToObject(op, m->opt_keys[i], m->opt_vals[i]);
    cJSON_AddItemToObject(o, "options", op);
    return hart_json_line(o);
}

char *hart_json_line(cJSON *o) {
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *line = t ? malloc(strlen(t) + 2) : NULL;
    if (line) sprintf(line, "%s\n", t);
    free(t);
    return line;
}

char *hart_manifest_entry_line(int64_t index, const char *file, uint64_t seed, const char *prompt) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", (double)index);
    cJSON_AddStringToObject(o, "file", file);
    char seed_text[32]; /* as an exact integer: a double would round seeds above 2^53 */
    snprintf(seed_text, sizeof seed_text, "%" PRIu64, seed);
    cJSON_AddRawToObject(o, "seed", seed_text);
    cJSON_AddStringToObject(o, "prompt", prompt);
    return hart_json_line(o);
}

hart_status hart_manifest_write(const char *path, const hart_manifest *m) {
    hart_file_writer w;
    HART_TRY(hart_file_begin(&w, path));
    hart_status s = HART_OK;
    char *h = hart_manifest_header_line(m);
    if (!h) s = hart_fail(HART_ENOMEM, "out of memory");
    else s = hart_file_put(&w, h, strlen(h));
    free(h);
    for (int i = 0; i < m->n && !s; i++) {
        const hart_manifest_entry *e = &m->entries[i];
        char *l = hart_manifest_entry_line(e->index, e->file, e->seed, e->prompt);
        s = l ? hart_file_put(&w, l, strlen(l)) : hart_fail(HART_ENOMEM, "out of memory");
        free(l);
    }
    if (s) {
        hart_file_abort(&w);
        return s;
    }
    return hart_file_commit(&w);
}

hart_status hart_manifest_append_fd(int fd, const char *path, int64_t index, const char *file, uint64_t seed,
                                    const char *prompt) {
    char *l = hart_manifest_entry_line(index, file, seed, prompt);
    if (!l) return hart_fail(HART_ENOMEM, "out of memory");
    hart_status s = HART_OK;
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) { s = hart_fail(HART_EIO, "%s: cannot lock: %s", path, strerror(errno)); break; }
    size_t n = strlen(l), done = 0;
    while (!s && done < n) {
        ssize_t k = write(fd, l + done, n - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) s = hart_fail(HART_EIO, "%s: write failed: %s", path, strerror(errno));
        else done += (size_t)k;
    }
    if (!s && fsync(fd) != 0) s = hart_fail(HART_EIO, "%s: write failed: %s", path, strerror(errno));
    flock(fd, LOCK_UN);
    free(l);
    return s;
}

static const char *opt_get(const hart_manifest *m, const char *key) {
    for (int i = 0; i < m->n_opts; i++)
        if (!strcmp(m->opt_keys[i], key)) return m->opt_vals[i];
    return NULL;
}

/* append to a growing message */
static void say(char **buf, size_t *len, const char *fmt, const char *a, const char *b, const char *c) {
    char piece[1024];
    int k = snprintf(piece, sizeof piece, fmt, a, b, c);
    if (k < 0) return;
    if ((size_t)k >= sizeof piece) k = sizeof piece - 1;
    char *nb = realloc(*buf, *len + (size_t)k + 3);
    if (!nb) return;
    *buf = nb;
    if (*len) { memcpy(nb + *len, "; ", 2); *len += 2; }
    memcpy(nb + *len, piece, (size_t)k + 1);
    *len += (size_t)k;
}

char *hart_manifest_header_diff(const hart_manifest *have, const hart_manifest *want) {
    char *buf = NULL;
    size_t len = 0;
    char a[32], b[32];
    if (!have->has_header) {
        say(&buf, &len, "it has no header (written by an older hart, or damaged)", "", "", "");
        return buf ? buf : strdup("no header");
    }
    if (have->images != want->images) {
        snprintf(a, sizeof a, "%lld", (long long)have->images);
        snprintf(b, sizeof b, "%lld", (long long)want->images);
        say(&buf, &len, "images: %s -> %s", a, b, "");
    }
    if (strcmp(have->prompts_hash, want->prompts_hash))
        say(&buf, &len, "prompt set (prompts, seeds, file names) changed: hash %s -> %s", have->prompts_hash,
            want->prompts_hash, "");
    else if (strcmp(have->indices, want->indices))
        say(&buf, &len, "image indices changed", "", "", "");
    if (have->shard != want->shard || have->n_shards != want->n_shards) {
        snprintf(a, sizeof a, "%d/%d", have->shard, have->n_shards);
        snprintf(b, sizeof b, "%d/%d", want->shard, want->n_shards);
        say(&buf, &len, "shard: %s -> %s", a, b, "");
    }
    for (int i = 0; i < want->n_opts; i++) {
        const char *h = opt_get(have, want->opt_keys[i]);
        if (!h || strcmp(h, want->opt_vals[i]))
            say(&buf, &len, "%s: %s -> %s", want->opt_keys[i], h ? h : "(unset)", want->opt_vals[i]);
    }
    for (int i = 0; i < have->n_opts; i++)
        if (!opt_get(want, have->opt_keys[i])) say(&buf, &len, "%s: %s -> (unset)", have->opt_keys[i], have->opt_vals[i], "");
    return buf;
}

char *hart_ranges_format(const int64_t *v, int64_t n) {
    size_t cap = 64, len = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    s[0] = 0;
    for (int64_t i = 0; i < n;) {
        int64_t j = i;
        while (j + 1 < n && v[j + 1] == v[j] + 1) j++;
        char piece[48];
        int k = j > i ? snprintf(piece, sizeof piece, "%s%lld-%lld", len ? "," : "", (long long)v[i], (long long)v[j])
                      : snprintf(piece, sizeof piece, "%s%lld", len ? "," : "", (long long)v[i]);
        if (len + (size_t)k + 1 > cap) {
            while (len + (size_t)k + 1 > cap) cap *= 2;
            char *ns = realloc(s, cap);
            if (!ns) { free(s); return NULL; }
            s = ns;
        }
        memcpy(s + len, piece, (size_t)k + 1);
        len += (size_t)k;
        i = j + 1;
    }
    return s;
}

static int read_i64(const char **p, int64_t *out) {
    const char *s = *p;
    if (*s < '0' || *s > '9') return 0;
    int64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (INT64_MAX - 9) / 10) return 0;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    *p = s;
    return 1;
}

hart_status hart_ranges_parse(const char *s, int64_t max_n, int64_t **v, int64_t *n) {
    *v = NULL;
    *n = 0;
    int64_t count = 0, prev = -1, cap = 0;
    for (const char *p = s; *p;) {
        int64_t a, b;
        if (!read_i64(&p, &a)) goto bad;
        b = a;
        if (*p == '-') {
            p++;
            if (!read_i64(&p, &b) || b < a) goto bad;
        }
        if (a <= prev || b - a >= max_n - count) goto bad;
        if (*p == ',' && p[1]) p++;
        else if (*p) goto bad;
        int64_t need = count + (b - a + 1);
        if (need > cap) {
            int64_t nc = cap ? cap : 256;
            while (nc < need) nc *= 2;
            int64_t *nv = realloc(*v, sizeof **v * (size_t)nc);
            if (!nv) { free(*v); *v = NULL; return hart_fail(HART_ENOMEM, "out of memory"); }
            *v = nv;
            cap = nc;
        }
        for (int64_t x = a; x <= b; x++) (*v)[count++] = x;
        prev = b;
    }
    *n = count;
    return HART_OK;
bad:
    free(*v);
    *v = NULL;
    return hart_fail(HART_EFORMAT, "bad index ranges (want ascending \"a-b,c,...\", at most %lld values)", (long long)max_n);
}
