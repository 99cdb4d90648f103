/* Prompt files for batch rendering.
 * Plain text: one prompt per line; empty lines and lines starting with '#'
 * are skipped. JSON Lines (.jsonl): one object per line with "prompt"
 * (required), optional "seed" (integer), "name" (output file stem) and
 * "category" (or GenEval's "tag": a category name); the line itself is kept
 * (GenEval's per-prompt metadata.jsonl); a batch manifest's header line is
 * skipped, so a manifest is a prompt file. JSON (.json): MJHQ-30K's
 * meta_data.json, one object {"<id>": {"prompt": ..., "category": ...}, ...};
 * the id becomes the name. Errors name the file and line (or the id). */
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
    int line;       /* 1-based line in the file (.json: entry number) */
    int index;      /* 0-based position among the file's prompts (kept by filters) */
    char *category; /* NULL = none */
    char *json;     /* .jsonl: the line as read (NULL otherwise) */
} hart_prompt;

typedef struct {
    hart_prompt *items;
    int n;
} hart_prompt_list;

/* path "-": standard input, plain text (named "(stdin)" in errors). */
hart_status hart_prompts_load(const char *path, hart_prompt_list *out);
typedef enum { HART_PROMPTS_TEXT = 0, HART_PROMPTS_JSONL = 1, HART_PROMPTS_MJHQ = 2 } hart_prompts_format;
/* Same from the file's text (NUL-terminated at text[size], modified in
 * place); `format` a hart_prompts_format, `path` names it in errors. */
hart_status hart_prompts_parse(const char *path, char *text, size_t size, int format, hart_prompt_list *out);
/* Keep only the prompts whose category is one of the comma-separated
 * `categories`; a name that no prompt has is an error that lists the
 * categories there are. */
hart_status hart_prompts_filter_categories(hart_prompt_list *list, const char *categories);
void hart_prompts_free(hart_prompt_list *list);
/* 1 if s[0..n) is valid UTF-8 */
int hart_utf8_valid(const char *s, size_t n);

#endif
