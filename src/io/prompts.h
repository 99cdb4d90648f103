/* Prompt files for batch rendering.
 * Plain text: one prompt per line; empty lines and lines starting with '#'
 * are skipped. JSON Lines (.jsonl): one object per line with "prompt"
 * (required), optional "seed" (integer) and "name" (output file stem).
 * Errors name the file and line (invalid UTF-8 included). */
#ifndef HART_PROMPTS_H
#define HART_PROMPTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct {
    char *prompt;
    char *name;     /* NULL = derived from the index */
    int has_seed;
    uint64_t seed;
    int line;       /* 1-based line in the file */
} hart_prompt;

typedef struct {
    hart_prompt *items;
    int n;
} hart_prompt_list;

/* path "-": standard input, plain text (named "(stdin)" in errors). */
hart_status hart_prompts_load(const char *path, hart_prompt_list *out);
/* Same from the file's text (NUL-terminated at text[size], modified in
 * place); `jsonl` selects JSON Lines, `path` names it in errors. */
hart_status hart_prompts_parse(const char *path, char *text, size_t size, int jsonl, hart_prompt_list *out);
void hart_prompts_free(hart_prompt_list *list);
/* 1 if s[0..n) is valid UTF-8 */
int hart_utf8_valid(const char *s, size_t n);

#endif
