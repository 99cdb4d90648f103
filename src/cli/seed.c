/* Random seeds for --seed -1 (see seed.h). */
#include "cli/seed.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

int hart_seed_resolve(hart_seed_arg *s) {
    if (!s->random) return 0;
    uint64_t v = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    int ok = f && fread(&v, sizeof v, 1, f) == 1;
    if (f) fclose(f);
    if (!ok) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        v = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
    }
    /* keep it short enough to type: 0 .. 2^53 - 1 (exact in JSON and doubles) */
    s->value = v & ((1ull << 53) - 1);
    s->random = 0;
    return 1;
}
