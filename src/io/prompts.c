#include "io/prompts.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "io/read_stdin.h"

int hart_utf8_valid(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n) return 0;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += len;
    }
    return 1;
}

static int name_ok(const char *s) {
    if (!*s || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (; *s; s++)
        if (*s == '/' || *s == '\\' || (unsigned char)*s < 0x20) return 0;
    return 1;
}

static hart_status push(hart_prompt_list *l, hart_prompt *p) {
    hart_prompt *it = realloc(l->items, sizeof *it * (size_t)(l->n + 1));
    if (!it) return hart_fail(HART_ENOMEM, "out of memory");
    l->items = it;
    l->items[l->n++] = *p;
    return HART_OK;
}

static hart_status parse_json_line(const char *path, int lineno, const char *line, hart_prompt *p) {
    cJSON *j = cJSON_Parse(line);
    hart_status s = HART_OK;
    const cJSON *pr = j ? cJSON_GetObjectItemCaseSensitive(j, "prompt") : NULL;
    const cJSON *sd = j ? cJSON_GetObjectItemCaseSensitive(j, "seed") : NULL;
    const cJSON *nm = j ? cJSON_GetObjectItemCaseSensitive(j, "name") : NULL;
    const cJSON *ct = j ? cJSON_GetObjectItemCaseSensitive(j, "category") : NULL;
    if (!ct && j) ct = cJSON_GetObjectItemCaseSensitive(j, "tag");
    if (!cJSON_IsObject(j)) s = hart_fail(HART_EFORMAT, "%s:%d: not a JSON object", path, lineno);
    else if (!cJSON_IsString(pr)) s = hart_fail(HART_EFORMAT, "%s:%d: \"prompt\" (a string) is required", path, lineno);
    else if (sd && (!cJSON_IsNumber(sd) || sd->valuedouble < 0 || sd->valuedouble > 9007199254740991.0 ||
                    sd->valuedouble != (double)(uint64_t)sd->valuedouble))
        s = hart_fail(HART_EFORMAT, "%s:%d: \"seed\" must be a non-negative integer", path, lineno);
    else if (nm && (!cJSON_IsString(nm) || !name_ok(nm->valuestring)))
        s = hart_fail(HART_EFORMAT, "%s:%d: \"name\" must be a file stem without '/'", path, lineno);
    else if (ct && (!cJSON_IsString(ct) || !name_ok(ct->valuestring)))
        s = hart_fail(HART_EFORMAT, "%s:%d: \"%s\" must be a folder name without '/'", path, lineno, ct->string);
    if (!s) {
        p->prompt = strdup(pr->valuestring);
        p->name = nm ? strdup(nm->valuestring) : NULL;
        p->category = ct ? strdup(ct->valuestring) : NULL;
        p->json = strdup(line);
        p->has_seed = sd != NULL;
        p->seed = sd ? (uint64_t)sd->valuedouble : 0;
        if (!p->prompt || (nm && !p->name) || (ct && !p->category) || !p->json) s = hart_fail(HART_ENOMEM, "out of memory");
    }
    cJSON_Delete(j);
    return s;
}

/* The header line of a batch manifest (pipeline/manifest.h): an object with
 * "hart_manifest" and no "prompt". */
static int is_manifest_header(const char *line) {
    if (!strstr(line, "\"hart_manifest\"")) return 0;
    cJSON *j = cJSON_Parse(line);
    int yes = cJSON_IsObject(j) && cJSON_GetObjectItemCaseSensitive(j, "hart_manifest") &&
              !cJSON_GetObjectItemCaseSensitive(j, "prompt");
    cJSON_Delete(j);
    return yes;
}

static int by_name(const void *a, const void *b) {
    const hart_prompt *x = *(const hart_prompt *const *)a, *y = *(const hart_prompt *const *)b;
    return strcmp(x->name, y->name);
}

/* Two prompts with one "name" would write the same file: the second would
 * be skipped as already rendered. Refuse that up front. */
static hart_status check_unique_names(const char *path, const hart_prompt_list *l) {
    int n = 0;
    const hart_prompt **named = malloc(sizeof *named * (size_t)(l->n ? l->n : 1));
    if (!named) return hart_fail(HART_ENOMEM, "out of memory");
    for (int i = 0; i < l->n; i++)
        if (l->items[i].name) named[n++] = &l->items[i];
    qsort(named, (size_t)n, sizeof *named, by_name);
    hart_status s = HART_OK;
    for (int i = 1; i < n && !s; i++)
        if (!strcmp(named[i - 1]->name, named[i]->name))
            s = hart_fail(HART_EFORMAT, "%s:%d: \"name\" \"%s\" is also used on line %d (output files would collide)",
                          path, named[i - 1]->line > named[i]->line ? named[i - 1]->line : named[i]->line,
                          named[i]->name, named[i - 1]->line < named[i]->line ? named[i - 1]->line : named[i]->line);
    free(named);
    return s;
}

static void prompt_free(hart_prompt *p) {
    free(p->prompt);
    free(p->name);
    free(p->category);
    free(p->json);
}

/* MJHQ-30K meta_data.json: {"<id>": {"prompt": "...", "category": "..."}, ...} */
static hart_status parse_mjhq(const char *path, const char *text, hart_prompt_list *out) {
    cJSON *j = cJSON_Parse(text);
    hart_status s = HART_OK;
    if (!cJSON_IsObject(j)) s = hart_fail(HART_EFORMAT, "%s: not a JSON object of {\"<id>\": {\"prompt\": ...}}", path);
    int k = 0;
    for (const cJSON *e = j ? j->child : NULL; !s && e; e = e->next, k++) {
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(e, "prompt"), *ct = cJSON_GetObjectItemCaseSensitive(e, "category");
        const char *id = e->string ? e->string : "";
        if (!name_ok(id) || !hart_utf8_valid(id, strlen(id)))
            s = hart_fail(HART_EFORMAT, "%s: entry %d: the id must be a file stem without '/'", path, k + 1);
        else if (!cJSON_IsObject(e) || !cJSON_IsString(pr))
            s = hart_fail(HART_EFORMAT, "%s: entry \"%s\": \"prompt\" (a string) is required", path, id);
        else if (ct && (!cJSON_IsString(ct) || !name_ok(ct->valuestring)))
            s = hart_fail(HART_EFORMAT, "%s: entry \"%s\": \"category\" must be a folder name without '/'", path, id);
        else if (!hart_utf8_valid(pr->valuestring, strlen(pr->valuestring)))
            s = hart_fail(HART_EFORMAT, "%s: entry \"%s\": not valid UTF-8", path, id);
        if (s) break;
        hart_prompt p = {0};
        p.line = k + 1;
        p.index = k;
        p.prompt = strdup(pr->valuestring);
        p.name = strdup(id);
        p.category = ct ? strdup(ct->valuestring) : NULL;
        if (!p.prompt || !p.name || (ct && !p.category)) s = hart_fail(HART_ENOMEM, "out of memory");
        if (!s) s = push(out, &p);
        if (s) prompt_free(&p);
    }
    cJSON_Delete(j);
    return s;
}

hart_status hart_prompts_parse(const char *path, char *text, size_t size, int format, hart_prompt_list *out) {
    memset(out, 0, sizeof *out);
    hart_status s = HART_OK;
    int jsonl = format == HART_PROMPTS_JSONL;
    if (memchr(text, 0, size)) s = hart_fail(HART_EFORMAT, "%s: contains a NUL byte (binary file?)", path);
    else if (format == HART_PROMPTS_MJHQ) {
        s = parse_mjhq(path, text, out);
        size = 0; /* skip the line loop */
    }
    char *line = text;
    for (int lineno = 1; !s && line < text + size; lineno++) {
        char *end = strchr(line, '\n');
        if (end) *end = 0;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r') line[--n] = 0;
        if (!hart_utf8_valid(line, n)) {
            s = hart_fail(HART_EFORMAT, "%s:%d: not valid UTF-8", path, lineno);
            break;
        }
        char *t = line;
        while (*t == ' ' || *t == '\t') t++;
        if (*t && *t != '#') {
            hart_prompt p = {0};
            p.line = lineno;
            p.index = out->n;
            if (jsonl && is_manifest_header(t)) { /* a batch manifest is a prompt file too */
                if (!end) break;
                line = end + 1;
                continue;
            }
            if (jsonl) s = parse_json_line(path, lineno, t, &p);
            else if (!(p.prompt = strdup(line))) s = hart_fail(HART_ENOMEM, "out of memory");
            if (!s) s = push(out, &p);
            if (s) prompt_free(&p);
        }
        if (!end) break;
        line = end + 1;
    }
    if (!s && out->n == 0) s = hart_fail(HART_EFORMAT, "%s: no prompts in the file", path);
    if (!s) s = check_unique_names(path, out);
    if (s) hart_prompts_free(out);
    return s;
}

hart_status hart_prompts_load(const char *path, hart_prompt_list *out) {
    memset(out, 0, sizeof *out);
    char *text;
    size_t size;
    if (!strcmp(path, "-")) {
        HART_TRY(hart_read_stdin(&text, &size));
        hart_status s = hart_prompts_parse("(stdin)", text, size, 0, out);
        free(text);
        return s;
    }
    HART_TRY(hart_file_read_all(path, &text, &size));
    size_t plen = strlen(path);
    int format = plen >= 6 && !strcmp(path + plen - 6, ".jsonl") ? HART_PROMPTS_JSONL
                 : plen >= 5 && !strcmp(path + plen - 5, ".json") ? HART_PROMPTS_MJHQ
                                                                   : HART_PROMPTS_TEXT;
    hart_status s = hart_prompts_parse(path, text, size, format, out);
    free(text);
    return s;
}

void hart_prompts_free(hart_prompt_list *l) {
    for (int i = 0; i < l->n; i++) prompt_free(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int in_list(const char *list, const char *word) {
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        if (len == n && !memcmp(p, word, n)) return 1;
        p = c ? c + 1 : p + len;
    }
    return 0;
}

hart_status hart_prompts_filter_categories(hart_prompt_list *l, const char *cats) {
    /* every requested name must exist */
    for (const char *p = cats; *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        int found = 0;
        for (int i = 0; i < l->n && !found; i++)
            found = l->items[i].category && strlen(l->items[i].category) == len && !memcmp(l->items[i].category, p, len);
        if (!found) {
            char known[1024] = "";
            size_t kl = 0;
            for (int i = 0; i < l->n; i++) {
                const char *k = l->items[i].category;
                if (!k || in_list(known, k) || kl + strlen(k) + 2 >= sizeof known) continue;
                kl += (size_t)snprintf(known + kl, sizeof known - kl, "%s%s", kl ? "," : "", k);
            }
            return hart_fail(HART_EINVAL, "--category: no prompt has category '%.*s' (categories here: %s)", (int)len, p,
                             kl ? known : "none");
        }
        p = c ? c + 1 : p + len;
    }
    int k = 0;
    for (int i = 0; i < l->n; i++) {
        if (l->items[i].category && in_list(cats, l->items[i].category)) l->items[k++] = l->items[i];
        else prompt_free(&l->items[i]);
    }
    l->n = k;
    return HART_OK;
}
