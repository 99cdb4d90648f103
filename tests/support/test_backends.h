/* Test helper: the backends a golden test runs on: first the float64 oracle
 * "ref64" (golden_check.h), then $HART_TEST_DEVICES, a comma list of backend
 * specs (default "cpu,opencl"); "cpu" is the
 * process CPU backend, "ref" the naive reference ops. A spec that does not
 * open (no OpenCL platform, no device, a kernel that does not compile) is a
 * counted skip ("SKIP:" line) and, under CI=true / HART_TEST_STRICT=1, a
 * failure (see test_skip.h). */
#ifndef HART_TEST_BACKENDS_H
#define HART_TEST_BACKENDS_H

#include "backend/backend.h"

#define TEST_MAX_BACKENDS 8

typedef struct {
    int n;
    hart_backend *be[TEST_MAX_BACKENDS];
    char spec[TEST_MAX_BACKENDS][64];
} test_backends;

/* Open every listed backend that works; prints one line per spec. */
void test_backends_open(test_backends *tb);
void test_backends_close(test_backends *tb);

#endif
