#include "test_skip.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

int test_strict(void) {
    const char *ci = getenv("CI"), *st = getenv("HART_TEST_STRICT");
    if (st && *st) return strcmp(st, "0") != 0;
    return ci && !strcmp(ci, "true");
}

static void vformat(char *buf, size_t n, const char *fmt, va_list ap) { vsnprintf(buf, n, fmt, ap); }

void test_skip(const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vformat(why, sizeof why, fmt, ap);
    va_end(ap);
    if (test_strict()) fail_msg("unexpected skip under CI=true / HART_TEST_STRICT: %s", why);
    printf("skipped: %s\n", why); /* counted from cmocka's summary */
    skip();
}

void test_skip_part(const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vformat(why, sizeof why, fmt, ap);
    va_end(ap);
    if (test_strict()) {
        printf("FAIL: unexpected skip under CI=true / HART_TEST_STRICT: %s\n", why);
        fflush(stdout);
        exit(1);
    }
    printf("SKIP: %s\n", why);
}
