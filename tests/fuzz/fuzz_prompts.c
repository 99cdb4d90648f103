/* libFuzzer entry point: prompt files (hart_prompts_parse, what `hart batch`
 * reads). The first byte picks the format (% 3: plain text, JSON Lines,
 * MJHQ-30K meta_data.json) and, in bit 2, a category filter ("people,art");
 * the rest is the file. Any input must parse into a consistent list or fail
 * with a status, leaving nothing allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/prompts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int format = data[0] % 3, jsonl = format == HART_PROMPTS_JSONL, filter = data[0] & 4;
    size_t n = size - 1;
    char *text = malloc(n + 1); /* exact size + the NUL hart_file_read_all adds */
    if (!text) return 0;
    memcpy(text, data + 1, n);
    text[n] = 0;
    hart_prompt_list l;
    if (hart_prompts_parse(jsonl ? "fuzz.jsonl" : "fuzz.txt", text, n, format, &l) == HART_OK) {
        if (l.n < 1 || !l.items) abort();
        if (filter && hart_prompts_filter_categories(&l, "people,art") == HART_OK) {
            for (int i = 0; i < l.n; i++)
                if (!l.items[i].category || (strcmp(l.items[i].category, "people") && strcmp(l.items[i].category, "art")))
                    abort();
        }
        for (int i = 0; i < l.n; i++) {
            const hart_prompt *p = &l.items[i];
            if (!p->prompt || !hart_utf8_valid(p->prompt, strlen(p->prompt))) abort();
            if (i && (p->line <= l.items[i - 1].line || p->index <= l.items[i - 1].index)) abort();
            if (format == HART_PROMPTS_TEXT && (p->name || p->has_seed || p->category || p->json)) abort();
            if (format == HART_PROMPTS_MJHQ && (!p->name || p->has_seed || p->json)) abort();
            if (p->category && (!*p->category || strchr(p->category, '/'))) abort();
            if (p->name && (!*p->name || strchr(p->name, '/'))) abort();
            for (int j = 0; j < i && p->name; j++)
                if (l.items[j].name && !strcmp(l.items[j].name, p->name)) abort();
        }
        hart_prompts_free(&l);
    } else if (l.items || l.n) {
        abort();
    }
    free(text);
    return 0;
}
