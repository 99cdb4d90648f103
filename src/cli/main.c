/* hart: command-line entry point; dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} command;

static const command commands[] = {
    {"generate", cmd_generate, "render an image from a prompt or a context file"},
    {"batch", cmd_batch, "render many prompts from a file (resumable)"},
    {"encode", cmd_encode, "image -> latent (autoencoder + quantizer)"},
    {"decode", cmd_decode, "latent -> image"},
    {"reconstruct", cmd_reconstruct, "image -> latent -> image, prints PSNR/SSIM"},
    {"tokenize", cmd_tokenize, "print Qwen2 token ids of a text"},
    {"info", cmd_info, "list compute devices and backend settings"},
    {"bench", cmd_bench, "run micro-benchmarks"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: hart <command> [options]   (hart <command> --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return 2; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) { usage(stdout); return 0; }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "hart: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
