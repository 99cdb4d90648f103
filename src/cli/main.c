/* hart: command-line entry point. `hart --help`, `hart --version`, and
 * dispatch to the subcommands of cli/commands.h (each parses its own flags
 * with cli/args.h). Exit codes: 0 ok, 1 runtime failure, 2 usage error. */
#include <stdio.h>
#include <string.h>

#include "cli/blas_core.h"
#include "cli/commands.h"
#include "cli/version.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} command;

static const command commands[] = {
    {"generate", cmd_generate, "render an image from a prompt"},
    {"batch", cmd_batch, "render many prompts from a file (resumable, shardable)"},
    {"encode", cmd_encode, "image -> latent tokens (autoencoder + quantizer)"},
    {"decode", cmd_decode, "latent tokens -> image"},
    {"reconstruct", cmd_reconstruct, "image -> latent -> image, prints PSNR/SSIM"},
    {"fid", cmd_fid, "Frechet Inception Distance of image folders / stats (.npz)"},
    {"tokenize", cmd_tokenize, "print the Qwen2 token ids of a text"},
    {"quantize", cmd_quantize, "write a quantized model folder (w8a8, w4a16, w4a8)"},
    {"info", cmd_info, "list compute devices and backend settings"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f,
            "hart %s - text-to-image generation with HART (hybrid autoregressive transformer)\n\n"
            "usage: hart <command> [options]\n"
            "       hart <command> --help     options of one command\n"
            "       hart --version\n\ncommands:\n",
            HART_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f,
            "\nenvironment:\n"
            "  HART_DEVICE   default compute device (cpu, opencl, opencl:P:D, auto, ref64)\n"
            "  OMP_NUM_THREADS, OPENBLAS_NUM_THREADS   CPU threads\n"
            "  OPENBLAS_CORETYPE   OpenBLAS kernels (set by hart to Haswell/SkylakeX when OpenBLAS does not know\n"
            "                      the CPU and falls back to Prescott; HART_BLAS_CORE_FIX=0 keeps the fallback)\n");
}

int main(int argc, char **argv) {
    hart_blas_core_fix(argv);
    if (argc < 2) {
        fprintf(stderr, "hart: missing command\n\n");
        usage(stderr);
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        if (!strcmp(c, "help") && argc > 2) { /* `hart help generate` == `hart generate --help` */
            for (size_t i = 0; i < N_COMMANDS; i++)
                if (!strcmp(argv[2], commands[i].name)) {
                    char *av[] = {argv[2], "--help", NULL};
                    return commands[i].fn(2, av);
                }
            fprintf(stderr, "hart: unknown command '%s' (see 'hart --help')\n", argv[2]);
            return 2;
        }
        usage(stdout);
        return 0;
    }
    if (!strcmp(c, "--version") || !strcmp(c, "-V") || !strcmp(c, "version")) {
        printf("hart %s\n", HART_VERSION);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(c, commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    if (c[0] == '-')
        fprintf(stderr, "hart: unknown option '%s' (see 'hart --help')\n", c);
    else
        fprintf(stderr, "hart: unknown command '%s' (see 'hart --help')\n", c);
    return 2;
}

/* Sanitizer builds only (the CLI tests run build/san/hart): PoCL's kernel
 * compiler (LLVM) keeps allocations until exit whenever it compiles a kernel
 * its cache lacks, which LeakSanitizer would report as our leak on a machine
 * with a cold PoCL cache (same list as tests/support/test_backends.c). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libpocl\nleak:libLLVM\nleak:libOpenCL\n"; }
