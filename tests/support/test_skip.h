/* Skips that are counted and, where nothing should be missing, fail.
 * A test that cannot run prints "SKIP: <why>" (the runner counts those
 * lines and cmocka's skipped cases). Under CI=true or HART_TEST_STRICT=1
 * every skip is a failure: the golden sets ship with the repository and
 * the Makefile installs PoCL, so on a prepared machine nothing may skip. */
#ifndef HART_TEST_SKIP_H
#define HART_TEST_SKIP_H

/* 1 under CI=true or HART_TEST_STRICT=1 (not 0). */
int test_strict(void);
/* Skip the current cmocka test case with a reason (fails it when strict). */
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a counted "SKIP:" line for a part of a test that cannot run
 * (e.g. a backend that does not open); exits with status 1 when strict. */
void test_skip_part(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
