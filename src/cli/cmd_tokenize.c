/* hart tokenize: print the Qwen2 token ids of a text (or decode ids). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "pipeline/text_encode.h"
#include "tokenizer/bpe.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: hart tokenize --text-model DIR [options] TEXT...\n"
            "       hart tokenize --text-model DIR --decode ID...\n\n"
            "Prints the token ids of TEXT (several TEXT arguments are joined with one space;\n"
            "'-' reads the text from standard input), one line, separated by spaces.\n\n"
            "options:\n"
            "  --text-model DIR   Qwen2 text-encoder folder holding tokenizer.json\n"
            "  --tokenizer FILE   a tokenizer.json file instead of --text-model\n"
            "  --decode           arguments are ids: print the decoded text\n"
            "  --skip-special     with --decode: leave out special tokens\n"
            "  --hart             print HART's prompt form: --max-len ids (right truncation and\n"
            "                     padding with <|endoftext|>), then the mask and position ids\n"
            "  --max-len N        length of the --hart form (default 300)\n"
            "  --count            print only the number of ids\n");
}

static char *read_stdin(void) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n - 1, stdin)) > 0;) {
        n += r;
        if (n + 1 == cap) { char *nb = realloc(buf, cap *= 2); if (!nb) { free(buf); return NULL; } buf = nb; }
    }
    if (buf) buf[n] = 0;
    return buf;
}

static int fail(const char *what) {
    fprintf(stderr, "hart tokenize: %s%s%s\n", what ? what : "", what ? ": " : "", hart_errmsg());
    return 1;
}

int cmd_tokenize(int argc, char **argv) {
    const char *dir = NULL, *file = NULL;
    int decode = 0, skip = 0, hart = 0, count = 0, max_len = HART_TEXT_MAX_LEN, first = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--")) { first = i + 1; break; }
        if (!strcmp(a, "--text-model") || !strcmp(a, "--tokenizer") || !strcmp(a, "--max-len")) {
            if (i + 1 >= argc) { fprintf(stderr, "hart tokenize: %s needs a value\n", a); return 2; }
            const char *v = argv[++i];
            if (!strcmp(a, "--text-model")) dir = v;
            else if (!strcmp(a, "--tokenizer")) file = v;
            else {
                char *end;
                errno = 0;
                long l = strtol(v, &end, 10);
                if (errno || *end || l < 1 || l > 1000000) {
                    fprintf(stderr, "hart tokenize: --max-len must be an integer in 1..1000000, got '%s'\n", v);
                    return 2;
                }
                max_len = (int)l;
            }
        } else if (!strcmp(a, "--decode")) decode = 1;
        else if (!strcmp(a, "--skip-special")) skip = 1;
        else if (!strcmp(a, "--hart")) hart = 1;
        else if (!strcmp(a, "--count")) count = 1;
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "hart tokenize: unknown option '%s' (see 'hart tokenize --help')\n", a); return 2; }
        else { first = i; break; }
    }
    if (!dir == !file) { fprintf(stderr, "hart tokenize: give exactly one of --text-model DIR or --tokenizer FILE\n"); return 2; }
    if (!first || first >= argc) { fprintf(stderr, "hart tokenize: no text given (see 'hart tokenize --help')\n"); return 2; }
    if (decode && (hart || count)) { fprintf(stderr, "hart tokenize: --decode cannot be combined with --hart or --count\n"); return 2; }

    if (hart_args_parse_only) return 0;
    char path[4096];
    if (dir) snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    else snprintf(path, sizeof path, "%s", file);
    hart_bpe *tok;
    if (hart_bpe_load(path, &tok)) return fail(NULL);

    int rc = 0;
    if (decode) {
        int n = argc - first;
        int64_t *ids = malloc(sizeof *ids * (size_t)n);
        for (int i = 0; ids && i < n; i++) {
            char *end;
            errno = 0;
            long long v = strtoll(argv[first + i], &end, 10);
            if (errno || *end || end == argv[first + i]) {
                fprintf(stderr, "hart tokenize: --decode: '%s' is not an id\n", argv[first + i]);
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
    if (argc - first == 1 && !strcmp(argv[first], "-")) {
        text = read_stdin();
    } else {
        size_t total = 1;
        for (int i = first; i < argc; i++) total += strlen(argv[i]) + 1;
        text = malloc(total);
        if (text) {
            text[0] = 0;
            for (int i = first; i < argc; i++) { if (i > first) strcat(text, " "); strcat(text, argv[i]); }
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
