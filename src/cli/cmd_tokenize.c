/* hart tokenize: print the Qwen2 token ids of a text (or decode ids). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "io/read_stdin.h"
#include "pipeline/text_encode.h"
#include "tokenizer/bpe.h"

static int fail(const char *what) {
    fprintf(stderr, "hart tokenize: %s%s%s\n", what ? what : "", what ? ": " : "", hart_errmsg());
    return 1;
}

int cmd_tokenize(int argc, char **argv) {
    const char *dir = NULL, *file = NULL;
    int decode = 0, skip = 0, hart = 0, count = 0, max_len = HART_TEXT_MAX_LEN;
    const hart_opt opts[] = {
        {"text-model", 0, HART_ARG_STR, &dir, "DIR", "Qwen2 text encoder folder holding tokenizer.json", NULL, 0, 0,
         NULL},
        {"tokenizer", 0, HART_ARG_STR, &file, "FILE", "a tokenizer.json file instead of --text-model", NULL, 0, 0, NULL},
        {"decode", 0, HART_ARG_FLAG, &decode, NULL, "arguments are ids: print the decoded text", NULL, 0, 0, NULL},
        {"skip-special", 0, HART_ARG_FLAG, &skip, NULL, "with --decode: leave out special tokens", NULL, 0, 0, NULL},
        {"hart", 0, HART_ARG_FLAG, &hart, NULL,
         "print HART's prompt form: --max-len ids (right truncation, <|endoftext|> padding), the mask and position "
         "ids", NULL, 0, 0, NULL},
        {"max-len", 0, HART_ARG_INT, &max_len, "N", "length of the --hart form", "300", 1, 1000000, NULL},
        {"count", 0, HART_ARG_FLAG, &count, NULL, "print only the number of ids", NULL, 0, 0, NULL},
        HART_OPT_END};
    const hart_cmd_spec spec = {
        "tokenize", "(--text-model DIR | --tokenizer FILE) [options] TEXT... | --decode ID...",
        "Prints the token ids of TEXT (several TEXT arguments are joined with one space; '-' reads the text from "
        "standard input), one line, separated by spaces. Options end at the first TEXT (or at '--').",
        opts, 0, -1, 1};
    hart_args a;
    int prc = hart_args_parse(&spec, argc, argv, &a);
    if (prc >= 0) return prc;
    if (!dir == !file) return hart_args_usage_error(&spec, "give exactly one of --text-model DIR or --tokenizer FILE");
    if (a.npos == 0) return hart_args_usage_error(&spec, "no text given");
    if (decode && (hart || count)) return hart_args_usage_error(&spec, "--decode cannot be combined with --hart or --count");
    char **args = a.pos;
    int nargs = a.npos;

    if (hart_args_parse_only) return 0;
    char path[4096];
    if (dir) snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    else snprintf(path, sizeof path, "%s", file);
    hart_bpe *tok;
    if (hart_bpe_load(path, &tok)) return fail(NULL);

    int rc = 0;
    if (decode) {
        int n = nargs;
        int64_t *ids = malloc(sizeof *ids * (size_t)n);
        for (int i = 0; ids && i < n; i++) {
            char *end;
            errno = 0;
            long long v = strtoll(args[i], &end, 10);
            if (errno || *end || end == args[i]) {
                fprintf(stderr, "hart tokenize: --decode: '%s' is not an id\n", args[i]);
                free(ids);
                hart_bpe_free(tok);
                return 2;
            }
            ids[i] = v;
        }
        char *text;
        size_t len;
        if (!ids) rc = (fprintf(stderr, "hart tokenize: out of memory\n"), 1);
        else if (hart_bpe_decode(tok, ids, (size_t)n, skip, &text, &len)) rc = fail(NULL);
        else { fwrite(text, 1, len, stdout); fputc('\n', stdout); free(text); }
        free(ids);
        hart_bpe_free(tok);
        return rc;
    }

    /* join the text arguments with single spaces ("-" = stdin) */
    char *text = NULL;
    if (nargs == 1 && !strcmp(args[0], "-")) {
        size_t size;
        if (hart_read_stdin(&text, &size)) text = NULL;
    } else {
        size_t total = 1;
        for (int i = 0; i < nargs; i++) total += strlen(args[i]) + 1;
        text = malloc(total);
        if (text) {
            text[0] = 0;
            for (int i = 0; i < nargs; i++) { if (i) strcat(text, " "); strcat(text, args[i]); }
        }
    }
    if (!text) { hart_bpe_free(tok); fprintf(stderr, "hart tokenize: out of memory or unreadable input\n"); return 1; }

    if (hart) {
        int64_t pad = hart_bpe_token_id(tok, "<|endoftext|>");
        int64_t *ids = malloc(sizeof *ids * (size_t)max_len), *pos = malloc(sizeof *pos * (size_t)max_len);
        uint8_t *mask = malloc((size_t)max_len);
        const char *p[1] = {text};
        if (pad < 0) rc = (fprintf(stderr, "hart tokenize: --hart needs the <|endoftext|> token, not in %s\n", path), 1);
        else if (!ids || !pos || !mask) rc = (fprintf(stderr, "hart tokenize: out of memory\n"), 1);
        else if (hart_text_tokenize(tok, p, 1, max_len, pad, ids, mask, pos)) rc = fail(NULL);
        else {
            const char *names[3] = {"ids:", "mask:", "position_ids:"};
            for (int r = 0; r < 3; r++) {
                fputs(names[r], stdout);
                for (int i = 0; i < max_len; i++)
                    printf(" %lld", (long long)(r == 0 ? ids[i] : r == 1 ? mask[i] : pos[i]));
                fputc('\n', stdout);
            }
        }
        free(ids); free(pos); free(mask);
    } else {
        int64_t *ids;
        size_t n;
        if (hart_bpe_encode(tok, text, strlen(text), &ids, &n)) rc = fail(NULL);
        else {
            if (count) printf("%zu\n", n);
            else {
                for (size_t i = 0; i < n; i++) printf(i ? " %lld" : "%lld", (long long)ids[i]);
                fputc('\n', stdout);
            }
            free(ids);
        }
    }
    free(text);
    hart_bpe_free(tok);
    return rc;
}
