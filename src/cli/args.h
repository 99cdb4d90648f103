/* Shared flag parsing for `hart <command>` so every subcommand accepts the
 * same spellings and prints the same errors.
 *
 *   const char *out = "out.png", *model = NULL, *device = NULL;
 *   uint64_t seed = 0; int steps = 10; double cfg = 4.5;
 *   const hart_opt opts[] = {
 *       HART_OPT_OUTPUT(&out, "out.png"),
 *       HART_OPT_MODEL(&model),
 *       HART_OPT_SEED(&seed),
 *       HART_OPT_DEVICE(&device),
 *       {"steps", 0, HART_ARG_INT, &steps, "N", "sampling steps", "10", 1, 1000},
 *       {"cfg", 0, HART_ARG_FLOAT, &cfg, "X", "guidance scale", "4.5", 0, 100},
 *       HART_OPT_END};
 *   const hart_cmd_spec spec = {"generate", "[options] PROMPT", "Render ...", opts, 1, 1};
 *   hart_args a;
 *   int rc = hart_args_parse(&spec, argc, argv, &a);
 *   if (rc >= 0) return rc;          // --help printed (0) or usage error (2)
 *   const char *prompt = a.pos[0];
 *
 * Accepted forms: --name VALUE, --name=VALUE, -x VALUE, -xVALUE, flags
 * (--name, -x), "--" ends options, a lone "-" is a positional argument.
 * Every command gets -h/--help. Errors name the command and the flag, e.g.
 *   hart generate: invalid value 'abc' for --seed (expected an integer >= 0)
 * and end with "(see 'hart generate --help')". argv is not modified. */
#ifndef HART_CLI_ARGS_H
#define HART_CLI_ARGS_H

#include <stdint.h>
#include <stdio.h>

#include "models/hart/sparse_attn.h"

typedef enum {
    HART_ARG_FLAG,   /* int*: set to 1 when given, no value */
    HART_ARG_STR,    /* const char**: points into argv */
    HART_ARG_STR0,   /* same, the empty string allowed */
    HART_ARG_INT,    /* int*: decimal, checked against [min, max] when min < max */
    HART_ARG_INT64,  /* int64_t*: same */
    HART_ARG_U64,    /* uint64_t*: decimal or 0x hex (seeds) */
    HART_ARG_FLOAT,  /* double*: finite, checked against [min, max] when min < max */
    HART_ARG_CHOICE, /* const char**: one of the '|'-separated words in `choices` */
    HART_ARG_DEVICE, /* const char**: cpu, auto, opencl, opencl:P or opencl:P:D (syntax checked) */
    HART_ARG_SEED    /* hart_seed_arg*: decimal or 0x hex, or -1 = pick a random seed */
} hart_arg_kind;

typedef struct {
    uint64_t value;
    int random; /* 1: "-1" given (or the command's default is random): call hart_seed_resolve */
} hart_seed_arg;

typedef struct {
    const char *name;    /* long name without "--" (NULL ends the table) */
    char short_name;     /* e.g. 'o' for -o, 0 for none */
    hart_arg_kind kind;
    void *dest;
    const char *metavar; /* value placeholder in help, e.g. "FILE" */
    const char *help;
    const char *dflt;    /* default shown in help (NULL: none shown) */
    double min, max;     /* numeric range (ignored when min >= max) */
    const char *choices; /* HART_ARG_CHOICE: "cpu|opencl|auto" */
} hart_opt;

#define HART_OPT_END {0}
/* The common options, spelled identically in every subcommand. */
#define HART_OPT_OUTPUT(dest, dflt) \
    {"output", 'o', HART_ARG_STR, (dest), "FILE", "output file", (dflt), 0, 0, NULL}
#define HART_OPT_MODEL(dest) \
    {"model", 'm', HART_ARG_STR, (dest), "DIR", "model folder (checkpoint directory)", NULL, 0, 0, NULL}
/* dest: hart_seed_arg*; dflt "random" or "0" (set dest accordingly). */
#define HART_OPT_SEED(dest, dflt) \
    {"seed", 's', HART_ARG_SEED, (dest), "N", "random seed (decimal or 0x hex; -1 = random, printed)", (dflt), 0, 0, NULL}
#define HART_OPT_DEVICE(dest)                                                        \
    {"device", 'd', HART_ARG_DEVICE, (dest), "SPEC",                                    \
     "compute device: cpu, opencl, opencl:P, opencl:P:D or auto ($HART_DEVICE)", "cpu", 0, 0, NULL}
/* dest: const char** ("f32", "f16" or NULL = the device's default); see docs/precision.md */
#define HART_OPT_PRECISION(dest)                                                                         \
    {"precision", 0, HART_ARG_CHOICE, (dest), "P",                                                      \
     "f32 (exact) or f16 (half weights and GEMM/attention values, f32 sums; tensor cores on NVIDIA)",     \
     "f16 on a GPU, else f32", 0, 0, "f32|f16"}

#define HART_OPT_QUANT(dest)                                                                                \
    {"quant", 0, HART_ARG_CHOICE, (dest), "FMT",                                                            \
     "quantize the linear layers on load, round-to-nearest (docs/quant.md); a quantized model folder "      \
     "needs no flag", NULL, 0, 0, "w8a8|w4a16|w4a8"}
#define HART_OPT_THREADS(dest) \
    {"threads", 't', HART_ARG_INT, (dest), "N", "CPU threads (0 = all cores)", "0", 0, 4096, NULL}
#define HART_OPT_VERBOSE(dest) \
    {"verbose", 'v', HART_ARG_FLAG, (dest), NULL, "print every step on stderr (not only a progress line)", NULL, 0, 0, NULL}
#define HART_OPT_QUIET(dest) \
    {"quiet", 'q', HART_ARG_FLAG, (dest), NULL, "print only errors", NULL, 0, 0, NULL}

typedef struct {
    const char *cmd;     /* "generate" (shown as "hart generate") */
    const char *usage;   /* after the command name: "[options] PROMPT" */
    const char *desc;    /* one paragraph shown by --help (may be NULL) */
    const hart_opt *opts;
    int min_pos, max_pos; /* allowed number of positional args (max < 0: unlimited) */
    int stop_at_pos;      /* 1: options end at the first positional argument (TEXT... commands) */
} hart_cmd_spec;

#define HART_ARGS_MAX_OPTS 64

typedef struct {
    char **pos;          /* positional arguments (pointers into argv) */
    int npos;
    unsigned char given[HART_ARGS_MAX_OPTS]; /* given[i]: opts[i] appeared */
    char *pos_store_[1024];
} hart_args;

/* Parse argv[1..argc-1] (argv[0] is the command name). Returns -1 when the
 * command should go on; otherwise the exit code the command must return:
 * 0 after printing --help to stdout, 2 after printing a usage error to
 * stderr. */
int hart_args_parse(const hart_cmd_spec *spec, int argc, char **argv, hart_args *out);
/* 1 if option `name` (long name) was given on the command line. */
int hart_args_given(const hart_cmd_spec *spec, const hart_args *a, const char *name);
/* 1 if `s` is a syntactically valid device spec (see HART_ARG_DEVICE). */
int hart_args_device_ok(const char *s);
/* Set by the CLI fuzzer: each command returns 0 once its arguments are
 * validated, before it opens a device, loads a model or writes a file. */
extern int hart_args_parse_only;
/* Print the help text of `spec` to f. */
void hart_args_help(const hart_cmd_spec *spec, FILE *f);
/* Print "hart CMD: <message>\n(see 'hart CMD --help')" to stderr and return 2;
 * for checks a command does after parsing (e.g. two flags that conflict). */
int hart_args_usage_error(const hart_cmd_spec *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Common option rows shared by generate and batch (same text everywhere). */
#define HART_OPT_CFG(dest) \
    {"cfg", 0, HART_ARG_FLOAT, (dest), "X", "classifier-free guidance scale", "4.5", 0, 1000, NULL}
#define HART_OPT_TOP_K(dest)                                                                                   \
    {"top-k", 0, HART_ARG_INT, (dest), "N", "top-k at every scale (0: 600 below scale 7, then 300, as the reference)", \
     "0", 0, 1 << 30, NULL}
#define HART_OPT_TOP_P(dest) \
    {"top-p", 0, HART_ARG_FLOAT, (dest), "P", "nucleus sampling threshold in [0,1] (0: off)", "0", 0, 1, NULL}
#define HART_OPT_SMOOTH(dest) \
    {"smooth", 0, HART_ARG_FLAG, (dest), NULL, "Gumbel-softmax smoothed codes", NULL, 0, 0, NULL}
#define HART_OPT_TEMPERATURE(dest) \
    {"temperature", 0, HART_ARG_FLOAT, (dest), "T", "diffusion sampler temperature", "1", 0, 100, NULL}
#define HART_OPT_TEXT_MODEL(dest) \
    {"text-model", 0, HART_ARG_STR, (dest), "DIR", "Qwen2 text encoder folder", "MODEL/text_encoder", 0, 0, NULL}
#define HART_OPT_NEGATIVE(dest)                                                                                  \
    {"negative-prompt", 0, HART_ARG_STR0, (dest), "TEXT",                                                        \
     "encoded like a prompt, replaces the empty context of guidance's unconditional half (\"\" = none)", NULL, 0, 0, \
     NULL}
#define HART_OPT_GRID(dest)                                                                                       \
    {"grid", 0, HART_ARG_STR, (dest), "FILE", "also tile this run's images into one sheet (PNG/JPEG), seed under each", \
     NULL, 0, 0, NULL}

/* Sparse attention (docs/sparse.md), spelled the same in generate and batch. */
#define HART_OPT_SPARSE_ATTN(dest)                                                                          \
    {"sparse-attn", 0, HART_ARG_STR, (dest), "SPEC",                                                        \
     "block-sparse attention on the largest scales: none, local:R, xattn:T or quest:B (docs/sparse.md)", "none", 0, \
     0, NULL}
#define HART_OPT_SPARSE_FROM(dest)                                                                              \
    {"sparse-from-scale", 0, HART_ARG_INT, (dest), "N", "first scale with sparse attention (0 = the text step)", \
     "the last three scales", 1, 1000, NULL}
#define HART_OPT_SPARSE_BLOCK(dest) \
    {"sparse-block", 0, HART_ARG_INT, (dest), "N", "sparse attention tile size in tokens", "64", 1, 4096, NULL}

/* --sparse-attn SPEC (NULL: none), --sparse-from-scale (-1: not given) and
 * --sparse-block (0: not given) into *cfg: -1 when valid, else the usage error's exit code. */
int hart_args_parse_sparse(const hart_cmd_spec *spec, const char *s, int from, int block, hart_sparse_cfg *cfg);

/* --shard "I/N" (0 <= I < N, decimals without overflow) into *shard, *n:
 * -1 when valid, else the usage error's exit code. */
int hart_args_parse_shard(const hart_cmd_spec *spec, const char *s, int *shard, int *n);

#endif
