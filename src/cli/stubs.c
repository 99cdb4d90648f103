/* Weak fallbacks so `hart` links while a subcommand is not yet implemented;
 * the real cmd_*.c files override them. */
#include <stdio.h>

#include "cli/commands.h"

#define STUB(name)                                                                   \
    __attribute__((weak)) int cmd_##name(int argc, char **argv) {                    \
        (void)argc; (void)argv;                                                      \
        fprintf(stderr, "hart: '%s' is not available in this build\n", #name);       \
        return 1;                                                                    \
    }
STUB(info)
STUB(generate)
STUB(encode)
STUB(decode)
STUB(reconstruct)
STUB(tokenize)
