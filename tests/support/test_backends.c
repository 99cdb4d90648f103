#include "test_backends.h"
#include "test_skip.h"
#include "golden_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void test_backends_open(test_backends *tb) {
    memset(tb, 0, sizeof *tb);
    const char *env = getenv("HART_TEST_DEVICES");
    char list[512];
    /* the float64 oracle first: golden checks measure float32's stray against it */
    snprintf(list, sizeof list, "ref64,%s", env && *env ? env : "cpu,opencl");
    char *save = NULL;
    for (char *s = strtok_r(list, ",", &save); s && tb->n < TEST_MAX_BACKENDS; s = strtok_r(NULL, ",", &save)) {
        while (*s == ' ') s++;
        if (!*s) continue;
        hart_backend *be = NULL;
        char why[256] = "";
        int dup = 0;
        for (int i = 0; i < tb->n; i++) dup |= !strcmp(tb->spec[i], s);
        if (dup) continue;
        if (!strcmp(s, "ref64")) be = golden_oracle();
        else if (!strcmp(s, "cpu")) be = hart_backend_cpu();
        else if (!strcmp(s, "ref")) be = hart_backend_ref();
        else if (hart_backend_open(s, &be, why, sizeof why) != HART_OK) {
            test_skip_part("backend %s does not open (%s); its part of the test is skipped", s, hart_errmsg());
            continue;
        }
        printf("backend %s: %s\n", s, be->name);
        tb->be[tb->n] = be;
        snprintf(tb->spec[tb->n], sizeof tb->spec[0], "%s", s);
        tb->n++;
    }
}

void test_backends_close(test_backends *tb) {
    for (int i = 0; i < tb->n; i++)
        if (tb->be[i] != hart_backend_cpu() && tb->be[i] != hart_backend_ref() && tb->be[i] != golden_oracle())
            hart_backend_close(tb->be[i]);
    tb->n = 0;
}

/* PoCL's kernel compiler (LLVM) keeps allocations alive until exit when it
 * builds a program that is not in its cache yet; LeakSanitizer would fail
 * every golden test on a machine with a cold PoCL cache. Weak, so a test
 * with its own list (test_opencl_ops) keeps it. */
__attribute__((weak)) const char *__lsan_default_suppressions(void);
__attribute__((weak)) const char *__lsan_default_suppressions(void) {
    return "leak:libpocl\nleak:libLLVM\nleak:libOpenCL\n";
}
