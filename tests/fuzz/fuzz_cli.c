/* libFuzzer entry point: command-line parsing of every `hart` subcommand.
 * The input is split at NUL bytes into arguments; the first names the
 * command (or, if it is none, its first byte picks one). The command runs
 * with hart_args_parse_only set, so it stops once its arguments are
 * validated, before opening a device, loading a model or writing a file.
 * Any argv must give exit code 0 or 2 (1: a path check failed) - no crash,
 * no UB, no leak. Messages go to /dev/null. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/commands.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
    const char *name;
    int (*fn)(int, char **);
} commands[] = {{"generate", cmd_generate}, {"batch", cmd_batch},   {"encode", cmd_encode},
                {"decode", cmd_decode},     {"reconstruct", cmd_reconstruct}, {"tokenize", cmd_tokenize},
                {"info", cmd_info},         {"fid", cmd_fid}};
#define N_COMMANDS (sizeof commands / sizeof commands[0])
#define MAX_ARGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    hart_args_parse_only = 1;
    FILE *null = fopen("/dev/null", "w");
    if (null) { stdout = null; stderr = null; } /* sanitizer reports write to fd 2 directly */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    for (char *p = buf; p <= buf + size && argc < MAX_ARGS; p += strlen(p) + 1) argv[argc++] = p;
    argv[argc] = NULL;
    size_t c = (unsigned char)buf[0] % N_COMMANDS;
    for (size_t k = 0; k < N_COMMANDS; k++)
        if (!strcmp(argv[0], commands[k].name)) c = k;
    int rc = commands[c].fn(argc, argv);
    if (rc < 0 || rc > 2) abort();
    free(buf);
    return 0;
}
