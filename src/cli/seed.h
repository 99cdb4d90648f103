/* --seed -1 / no seed: a random seed, chosen once and printed so the run can
 * be repeated. */
#ifndef HART_CLI_SEED_H
#define HART_CLI_SEED_H

#include <stdint.h>

#include "cli/args.h"

/* If s->random: pick a seed (/dev/urandom, else the clock and the process
 * id), store it in s->value, clear s->random and return 1; else return 0. */
int hart_seed_resolve(hart_seed_arg *s);

#endif
