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
    if (!cJSON_IsObject(j)) s = hart_fail(HART_EFORMAT, "%s:%d: not a JSON object", path, lineno);
    else if (!cJSON_IsString(pr)) s = hart_fail(HART_EFORMAT, "%s:%d: \"prompt\" (a string) is required", path, lineno);
    else if (sd && (!cJSON_IsNumber(sd) || sd->valuedouble < 0 || sd->valuedouble > 9007199254740991.0 ||
                    sd->valuedouble != (double)(uint64_t)sd->valuedouble))
        s = hart_fail(HART_EFORMAT, "%s:%d: \"seed\" must be a non-negative integer", path, lineno);
    else if (nm && (!cJSON_IsString(nm) || !name_ok(nm->valuestring)))
        s = hart_fail(HART_EFORMAT, "%s:%d: \"name\" must be a file stem without '/'", path, lineno);
    if (!s) {
        p->prompt = strdup(pr->valuestring);
        p->name = nm ? strdup(nm->valuestring) : NULL;
        p->has_seed = sd != NULL;
        p->seed = sd ? (uint64_t)sd->valuedouble : 0;
        if (!p->prompt || (nm && !p->name)) s = hart_fail(HART_ENOMEM, "out of memory");
    }
    cJSON_Delete(j);
    return s;
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

hart_status hart_prompts_parse(const char *path, char *text, size_t size, int jsonl, hart_prompt_list *out) {
    memset(out, 0, sizeof *out);
    hart_status s = HART_OK;
    if (memchr(text, 0, size)) s = hart_fail(HART_EFORMAT, "%s: contains a NUL byte (binary file?)", path);
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
            if (jsonl) s = parse_json_line(path, lineno, t, &p);
            else if (!(p.prompt = strdup(line))) s = hart_fail(HART_ENOMEM, "out of memory");
            if (!s) s = push(out, &p);
            if (s) { free(p.prompt); free(p.name); }
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
    int jsonl = plen >= 6 && !strcmp(path + plen - 6, ".jsonl");
    hart_status s = hart_prompts_parse(path, text, size, jsonl, out);
    free(text);
    return s;
}

void hart_prompts_free(hart_prompt_list *l) {
    for (int i = 0; i < l->n; i++) { free(l->items[i].prompt); free(l->items[i].name); }
    free(l->items);
    memset(l, 0, sizeof *l);
}
