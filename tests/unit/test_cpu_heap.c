/* cpu_heap.c: when the CPU backend keeps freed activations in the heap
 * (glibc mallopt) and when it leaves malloc alone. The speed effect is a
 * benchmark figure (docs/cpu.md), not tested here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "backend/cpu/cpu_internal.h"

static void test_heap_decision(void **st) {
    (void)st;
    assert_int_equal(hart_cpu_heap_wanted(NULL, NULL, NULL, NULL), 1);       /* nothing set: tune */
    assert_int_equal(hart_cpu_heap_wanted("", "", "", ""), 1);               /* empty counts as unset */
    assert_int_equal(hart_cpu_heap_wanted("1", NULL, NULL, NULL), 1);
    assert_int_equal(hart_cpu_heap_wanted("0", NULL, NULL, NULL), 0);        /* switched off */
    assert_int_equal(hart_cpu_heap_wanted(NULL, "glibc.malloc.trim_threshold=0", NULL, NULL), 0); /* user's tuning */
    assert_int_equal(hart_cpu_heap_wanted(NULL, NULL, "65536", NULL), 0);
    assert_int_equal(hart_cpu_heap_wanted(NULL, NULL, NULL, "65536"), 0);
}

static void test_heap_tune_env(void **st) {
    (void)st;
    unsetenv("GLIBC_TUNABLES");
    unsetenv("MALLOC_MMAP_THRESHOLD_");
    unsetenv("MALLOC_TRIM_THRESHOLD_");
    setenv("HART_CPU_HEAP_KEEP", "0", 1);
    assert_int_equal(hart_cpu_heap_tune(), 0);
    unsetenv("HART_CPU_HEAP_KEEP");
#if defined(__SANITIZE_ADDRESS__)
    assert_int_equal(hart_cpu_heap_tune(), 0); /* AddressSanitizer's allocator refuses mallopt */
#elif defined(__GLIBC__)
    assert_int_equal(hart_cpu_heap_tune(), 1); /* glibc accepts both thresholds */
#else
    assert_int_equal(hart_cpu_heap_tune(), 0);
#endif
}

int main(void) {
    const struct CMUnitTest t[] = {cmocka_unit_test(test_heap_decision), cmocka_unit_test(test_heap_tune_env)};
    return cmocka_run_group_tests(t, NULL, NULL);
}
